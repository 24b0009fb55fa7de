# shellcheck shell=bash disable=SC2034 # DRC, DENV and friends are read by the tests
# Helpers for the daemon tests (tests/vm/t_daemon_*.sh); source it after lib.sh.
#
# - The daemon (`ezlb run`) runs in the background with its stdout and stderr appended to a log
#   file, and NOTIFY_SOCKET pointing at one listener per test (tools/sdnotify.c), which appends
#   every sd_notify datagram to $NOTIFY_OUT as "MONO_USEC REAL_USEC PID FIELD<TAB>FIELD...".
# - Waits are polls with a deadline (wait_for), so a test never hangs and never hopes.
# - Times are milliseconds of CLOCK_REALTIME from bash's $EPOCHREALTIME (no fork); `sdnotify now`
#   gives CLOCK_MONOTONIC microseconds, the clock of the listener's first column.

NOTIFY_SOCK=$WORK/notify.sock
NOTIFY_OUT=$WORK/notify.out
DSTATE=$WORK/state # --state-dir of every daemon a test starts (unless it says otherwise)
DENV=()            # extra VAR=VALUE for the next dstart; "@PID@" becomes the daemon's pid

# now_ms: prints the time in ms; _now: sets NOW to it (no fork, for tight polling loops).
_now() {
	local t=${EPOCHREALTIME/./}
	NOW=$((t / 1000))
}
now_ms() { _now; echo "$NOW"; }

# wait_for MS CMD...: runs CMD (in this shell: functions work) until it succeeds, every 50 ms, for
# at most MS. Returns 1 on timeout.
wait_for() {
	local limit
	_now
	limit=$((NOW + $1))
	shift
	until "$@"; do
		_now
		[ "$NOW" -ge "$limit" ] && return 1
		sleep 0.05
	done
}

# ---- the NOTIFY_SOCKET listener ----

notify_listen() {
	[ -n "${NOTIFY_PID:-}" ] && return 0
	: >"$NOTIFY_OUT"
	NOTIFY_PID=$(sdnotify -d "$NOTIFY_SOCK" "$NOTIFY_OUT") || return 1
	track_pid "$NOTIFY_PID"
}

# notify_lines PID ERE [FROM]: the lines (timestamps included) recorded after line FROM (default 0)
# for datagrams sent by PID that hold a field matching ^ERE$ (e.g. "READY=1", "STATUS=.*up.*").
notify_lines() {
	awk -F'\t' -v p="$1" -v re="^($2)\$" -v from="${3:-0}" '
		NR <= from { next }
		{
			split($1, h, " ")
			if (h[3] != p) next
			first = $1
			sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", first)
			if (first ~ re) { print; next }
			for (i = 2; i <= NF; i++) if ($i ~ re) { print; next }
		}' "$NOTIFY_OUT"
}

# notify_count PID ERE [FROM]: how many such datagrams.
notify_count() { notify_lines "$@" | wc -l; }

# notify_has PID ERE [FROM]: at least one (for wait_for).
notify_has() { [ -n "$(notify_lines "$@")" ]; }

# notify_mark: the number of lines recorded so far (a FROM for the functions above).
notify_mark() { wc -l <"$NOTIFY_OUT"; }

# notify_fields PID [FROM]: the datagrams of PID, one per line, without timestamps.
notify_fields() { awk -v p="$1" -v from="${2:-0}" 'NR > from && $3 == p { sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); print }' "$NOTIFY_OUT"; }

# notify_value LINE KEY: the value of field KEY in one recorded line ("" if absent).
notify_value() {
	printf '%s\n' "$1" | awk -F'\t' -v k="$2=" '{
		sub(/^[^ ]+ [^ ]+ [^ ]+ /, "")
		for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit }
	}'
}

# ---- the daemon ----

# web3_config FILE: the daemon tests' common config, written to FILE: service web, 10.0.0.1:80,
# rr, health checks every 1 s (timeout 500 ms, fail_count 2, rise_count 2), the three backends
# of vm_net_setup 3. WEB3_TABLE is what `ipvsadm -Sn` shows for it.
WEB3_TABLE='-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 1'
# shellcheck disable=SC2119 # web3_services without OPTS
web3_config() { web3_services >"$1"; }

# web3_services [OPTS1 [OPTS2 [OPTS3]]]: prints web3_config's YAML, the "services:" line and the
# web service, its backends last, so that a caller can append backends or services to it. OPTSn,
# if given and not empty, is added to backend n's flow mapping (e.g. "weight: 2").
# shellcheck disable=SC2120 # the tests that source this file pass OPTS
web3_services() {
	local opts=("$@") b
	cat <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    health_check: {interval: 1s, timeout: 500ms, fail_count: 2, rise_count: 2}
    backends:
EOF_
	for b in 1 2 3; do
		printf '      - {address: 10.1.%s.2:8080%s}\n' "$b" "${opts[b - 1]:+, ${opts[b - 1]}}"
	done
}

# dstart LOG CONFIG [ARGS...]: starts `ezlb run -c CONFIG --state-dir $DSTATE ARGS` in the
# background (NOTIFY_SOCKET set, DENV added) and sets DPID to the daemon's own pid: the subshell
# execs ezlb, so $BASHPID in it is the daemon's pid, for WATCHDOG_PID=@PID@.
dstart() {
	local log=$1 cfg=$2
	shift 2
	notify_listen || { not_ok "sdnotify listener did not start"; return 1; }
	(
		export NOTIFY_SOCKET="$NOTIFY_SOCK"
		for kv in "${DENV[@]}"; do export "${kv//@PID@/$BASHPID}"; done
		exec "$EZLB" run -c "$cfg" --state-dir "$DSTATE" "$@" >>"$log" 2>&1
	) &
	DPID=$!
	track_pid "$DPID"
	note "started ezlb run -c $cfg ($*) as pid $DPID, log $log"
}

# dready NAME PID LOG [SECONDS]: asserts that PID sends READY=1 within SECONDS (default 30: the
# ASan build under TCG starts slowly).
dready() {
	if wait_for $((${4:-30} * 1000)) notify_has "$2" 'READY=1'; then
		ok "$1: READY=1"
	else
		not_ok "$1: no READY=1 from pid $2 within ${4:-30}s" "log:" "$(tail -n 30 "$3")" \
			"notify:" "$(tail -n 10 "$NOTIFY_OUT")"
		return 1
	fi
}

# dstop PID [SIGNAL]: sends SIGNAL (default TERM) and waits for the exit; DRC is the exit status
# (137 if it was still running 20 s later and had to be killed).
dstop() {
	local pid=$1 sig=${2:-TERM} wd
	kill -"$sig" "$pid" 2>/dev/null
	# Short sleeps, so that once this watchdog is killed nothing is left to kill a reused pid.
	(for _ in $(seq 1 100); do sleep 0.2; done; kill -KILL "$pid" 2>/dev/null) &
	wd=$!
	wait "$pid"
	DRC=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
}

# dalive PID: the process exists and is not a zombie.
dalive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# log_count LOG ERE: lines of LOG matching ERE.
log_count() { grep -cE -- "$2" "$1"; }

# log_has LOG ERE (for wait_for).
log_has() { grep -qE -- "$2" "$1"; }

# san_reports: the sanitizer reports written so far (names), empty when none.
san_reports() { ls "$SAN_DIR" 2>/dev/null; }

# ---- the table ----

# has_dest VIP:PORT RIP:PORT: the tcp service VIP:PORT has that destination.
has_dest() { ipvsadm -Sn | grep -q -- "^-a -t $1 -r $2 "; }
no_dest() { ! has_dest "$@"; }

# table_is EXPECTED: the table (sorted, as lib.sh's table) equals EXPECTED (any order).
table_is() { [ "$(table)" == "$(printf '%s\n' "$1" | sed '/^$/d; s/^[ \t]*//' | LC_ALL=C sort)" ]; }

# svc_conns VIP:PORT: the service's connection counter (exact).
svc_conns() { ipvsadm -Ln --stats --exact -t "$1" | awk '$1 == "TCP" { print $3 }'; }

# ---- traffic ----

# traffic_start FILE [VIP:PORT]: a continuous client from namespace cl, in windows of one second
# (one lbnet client --for 1 each, back to back); each window appends "START_MS END_MS FAIL OK" to
# FILE. traffic_stop ends it after the window in progress.
traffic_start() {
	TRAFFIC_FILE=$1
	local vip=${2:-10.0.0.1:80}
	: >"$TRAFFIC_FILE"
	rm -f "$TRAFFIC_FILE.stop"
	(
		while [ ! -e "$TRAFFIC_FILE.stop" ]; do
			s=$(now_ms)
			r=$(client -t 1000 "$vip" --for 1)
			e=$(now_ms)
			echo "$s $e $(count fail "$r") $(printf '%s\n' "$r" | awk '$1 ~ /^b[0-9]+$/ { n += $2 } END { print n + 0 }')"
		done >>"$TRAFFIC_FILE"
	) &
	TRAFFIC_PID=$!
	track_pid "$TRAFFIC_PID"
}
traffic_stop() {
	touch "$TRAFFIC_FILE.stop"
	wait "$TRAFFIC_PID"
}
# traffic_has FROM_MS N: at least N windows started at or after FROM_MS (for wait_for).
traffic_has() { [ "$(awk -v a="$1" '$1 >= a' "$TRAFFIC_FILE" | wc -l)" -ge "$2" ]; }
# traffic_sum FROM_MS [TO_MS]: "FAIL OK" summed over the windows that start at or after FROM_MS
# (and end at or before TO_MS).
traffic_sum() {
	awk -v a="$1" -v b="${2:-0}" '$1 >= a && (b == 0 || $2 <= b) { f += $3; o += $4 } END { print f + 0, o + 0 }' \
		"$TRAFFIC_FILE"
}

# ---- long-lived connections (lbnet hold, against lbnet serve -e) ----

declare -A HOLD_PIDS=()
# hold_start ID VIP:PORT: a held TCP connection from namespace cl, exchanging a line every
# HOLD_INTERVAL ms (default 200) with a timeout of HOLD_TIMEOUT ms (default 1000) until
# hold_stop ID; its output goes to $WORK/hold.ID.out.
hold_start() {
	rm -f "$WORK/hold.$1.stop"
	ip netns exec cl lbnet hold -i "${HOLD_INTERVAL:-200}" -t "${HOLD_TIMEOUT:-1000}" "$2" "$WORK/hold.$1.stop" \
		>"$WORK/hold.$1.out" 2>&1 &
	HOLD_PIDS[$1]=$!
	track_pid "$!"
}
# hold_connected ID: it printed "connected NAME" (for wait_for); hold_name ID: that NAME.
hold_connected() { grep -q '^connected ' "$WORK/hold.$1.out"; }
hold_name() { sed -n 's/^connected //p' "$WORK/hold.$1.out" | head -n 1; }
# hold_failures ID: its "failed ..." lines so far (empty: none).
hold_failures() { grep '^failed' "$WORK/hold.$1.out"; }
# hold_stop ID: closes the connection; HOLD_RC is lbnet's exit status, HOLD_OUT its output.
hold_stop() {
	touch "$WORK/hold.$1.stop"
	wait "${HOLD_PIDS[$1]}"
	HOLD_RC=$?
	HOLD_OUT=$(cat "$WORK/hold.$1.out")
}

# dest_stats VIP:PORT RIP:PORT: "WEIGHT ACTIVECONN INACTCONN" of a tcp destination, empty when absent.
dest_stats() { ipvsadm -Ln -t "$1" 2>/dev/null | awk -v r="$2" '$1 == "->" && $2 == r { print $4, $5, $6 }'; }
# dest_weight VIP:PORT RIP:PORT: its weight, empty when absent.
dest_weight() { dest_stats "$1" "$2" | cut -d' ' -f1; }

# ---- network ----

# blackhole I: backend I stops answering without a word: its side of the veth goes down, so
# every packet the director sends it (SYNs included) is dropped. The director first gets a
# permanent neighbour entry, so no ARP failure ever turns the silence into "host unreachable".
blackhole() {
	local mac
	mac=$(nsrun "b$1" cat /sys/class/net/eth0/address) || return 1
	ip neigh replace "10.1.$1.2" lladdr "$mac" dev "vb$1" nud permanent || return 1
	nsrun "b$1" ip link set eth0 down
}
# unblackhole I: the link back up; the link going down removed the backend's default route.
unblackhole() {
	nsrun "b$1" ip link set eth0 up && nsrun "b$1" ip route replace default via "10.1.$1.1"
}
