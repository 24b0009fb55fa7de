#!/bin/bash
# The benchmark, inside the VM (started by /init with ezlb.run=bench; the host side is
# tests/vm/bench.sh). Every measurement runs in a network namespace of its own, made fresh for it:
# IPVS tables are per namespace, and so is the kernel's trash of deleted destinations, which would
# slow down every later add (see the flap section). ezlb and the reference tool take turns, in the
# same boot, on inputs made by one generator.
#
# Prints progress lines "bench: ...", "=== INFO/NOTE ..." lines for the host, and the result table
# between "=== TABLE BEGIN" and "=== TABLE END"; "=== BENCH OK" when every section ran.
# Sections (ezlb.bench_only=a,b on the kernel command line runs some):
#   program  100x10, 1000x10, 1000x100 from an empty table: ezlb once vs ipvsadm -R; on the biggest
#            file, ezlb check and libyaml's parser alone (yamlscan)
#   noop     reconcile the 100k table again: ezlb once vs ipvsadm -Ln
#   weights  change 1% of the weights: ezlb once, and the daemon on a file change, vs ipvsadm -R
#            of the -e lines
#   down     one backend goes down and up in the running daemon: latency and netlink cost
#   health   TCP checks of 1k targets every 1 s, 10k every 1 s, 10k every 10 s: ezlb run vs
#            keepalived -C (TCP_CHECK), CPU (the checker's and the whole VM's), checks done,
#            regularity, RSS
#   memory   peak RSS with 100k destinations and 10k checks; CPU of an idle daemon
#   flap     the kernel's trash of deleted destinations: remove vs quiesce
#   resync   1k checks/s while the 100k table is resynced (with BENCH_BEFORE: vs an older ezlb)
#   appcheck application checks, ezlb run vs keepalived -C: HTTP GET /healthz of 1k targets every
#            1 s and every 2 s (HTTP_GET), the same over TLS every 20 s (SSL_GET; full handshakes
#            per check counted by the target), exec /bin/true for 100 targets every 1 s
#            (MISC_CHECK): CPU per check, checks done, whole-VM CPU, RSS; then detection: one of 3
#            backends killed under client traffic through a NAT VIP, with and without fast
#            re-checks: time from the death to the removal, failed client connections
#   export   `ezlb export --all` of the 100k table vs `ipvsadm -Sn` of it; export's file is then
#            applied with `ezlb once` and must plan no change
#   include  the 1000x100 table as 1000 included files: `ezlb check` of them vs the single file,
#            and one weight edit in the running daemon, from the rename to the kernel change,
#            included file vs single file
#   multi    K = 1, 2, 3 directors behind an ECMP router (static multipath route), the same ezlb
#            config (udp, dr, mh) on each, a fixed UDP load (lbnet blast): each director's kernel
#            forwarding CPU (its threaded-NAPI kthread), packets, wake-ups; a control without
#            threads on the next hops
#
# `bash bench-guest.sh time IN OUT CMD...` is its own helper: runs CMD with stdin IN and output OUT
# and prints "EXIT_STATUS MICROSECONDS" (run inside a namespace, so entering it is not timed).
set -u
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
if [ "${1:-}" = time ]; then
	in=$2 out=$3
	shift 3
	t0=${EPOCHREALTIME/./}
	"$@" <"$in" >"$out" 2>&1
	rc=$?
	t1=${EPOCHREALTIME/./}
	echo "$rc $((t1 - t0))"
	exit 0
fi

SELF=$(readlink -f "$0")
W=/tmp/bench
HZ=100 # USER_HZ: /proc/PID/stat counts CPU time in 1/100 s
NCPU=$(grep -c '^cpu[0-9]' /proc/stat)
rm -rf "$W"
mkdir -p "$W"
only="" quick=""
for arg in $(cat /proc/cmdline); do
	case $arg in
	ezlb.bench_only=*) only=${arg#ezlb.bench_only=} ;;
	ezlb.bench_quick=*) quick=1 ;;
	esac
done
# Sizes: the real ones, or tiny ones to try the harness (BENCH_QUICK=1).
if [ -z "$quick" ]; then
	SIZES="100x10:5 1000x10:5 1000x100:3" BIG_S=1000 BIG_D=100 BIG_RUNS=3
	HEALTH="1000:1 10000:1 10000:10" HEALTH_RUNS=3 WINDOW=15 FLAP_S=10 TRASH="10000 100000" IDLE_WINDOW=10
	VM_IDLE=10 APP_HTTP="1000:1 1000:2" APP_HTTPS=1000:20 APP_EXEC=100 APP_RUNS=3 DET_RUNS=3
else
	SIZES="10x10:2 50x20:1" BIG_S=50 BIG_D=20 BIG_RUNS=1
	HEALTH="200:1 400:2" HEALTH_RUNS=2 WINDOW=4 FLAP_S=2 TRASH="1000" IDLE_WINDOW=3
	VM_IDLE=3 APP_HTTP="200:1" APP_HTTPS=200:4 APP_EXEC=20 APP_RUNS=1 DET_RUNS=1
fi
DET_FOR=25 # seconds of client traffic around each backend death (detection rows)
FAILED=0

say() { echo "bench: $*"; }
fail() { echo "bench: FAILED: $*"; FAILED=1; }
note() { echo "=== NOTE $*"; }

# ---- numbers ----

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# fmt_ms MS: "12.3 ms" or "1.23 s"
fmt_ms() {
	awk -v m="$1" 'BEGIN {
		if (m == "") print "n/a"
		else if (m >= 1000) printf "%.2f s\n", m / 1000
		else if (m >= 10) printf "%.0f ms\n", m
		else printf "%.2f ms\n", m
	}'
}
# ratio REF EZLB: "12.3x" (reference / ezlb)
ratio() {
	awk -v r="$1" -v e="$2" 'BEGIN { if (r == "" || e == "" || e == 0) print "n/a"; else printf "%.2fx\n", r / e }'
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); echo "=== ROW | $1 | $2 | $3 | $4 | $5 |"; }

# ---- namespaces and time ----

cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
# wait_idle: until the VM is quiet (<10% busy over 0.5 s), e.g. after a namespace with a big
# table was deleted and the kernel frees it in the background. At most 30 s.
wait_idle() {
	local b0 i0 b1 i1 n
	for n in $(seq 1 60); do
		read -r b0 i0 < <(cpu_jiffies)
		sleep 0.5
		read -r b1 i1 < <(cpu_jiffies)
		[ $(((b1 - b0) * 10)) -le $((b1 - b0 + i1 - i0)) ] && return 0
	done
	say "(the VM stayed busy for 30 s)"
}
ns_new() { ip netns add "$1" && ip netns exec "$1" ip link set lo up || fail "netns $1"; rm -rf "$W/st-$1"; }
ns_del() { ip netns delete "$1"; wait_idle; }

# tm NS IN OUT CMD...: runs CMD in NS; sets MS (wall time in ms) and RC.
tm() {
	local ns=$1 in=$2 out=$3 r
	shift 3
	r=$(ip netns exec "$ns" bash "$SELF" time "$in" "$out" "$@")
	RC=${r%% *}
	MS=$(awk -v u="${r#* }" 'BEGIN { printf "%.3f\n", u / 1000 }')
}
ez() { local ns=$1; shift; tm "$ns" /dev/null "$W/out" ezlb "$@" --state-dir "$W/st-$ns"; }
ezonce() { local ns=$1 cfg=$2; ez "$ns" once --no-health-check -c "$cfg"; }
# expect_out WHAT ERE: the last ez's output matches
expect_out() { grep -Eq -- "$2" "$W/out" || fail "$1: expected /$2/, got: $(tail -n 3 "$W/out" | tr '\n' ' ')"; }
expect_rc0() { [ "$RC" = 0 ] || fail "$1: exit status $RC: $(tail -n 3 "$W/out" | tr '\n' ' ')"; }
table() { ip netns exec "$1" ipvsadm -Sn | sed '/^$/d' | LC_ALL=C sort; }

# ---- the generator ----

# gen PREFIX S D A B PORT HC [I0]: S services x D destinations, weights 1..5.
#   PREFIX.yaml         ezlb config; HC is the health_check value of every service ("" = none)
#   PREFIX.ipvs         the same table as ipvsadm -R input
#   PREFIX.edit.yaml    1% of the weights changed (every destination k with k % 100 == 7)
#   PREFIX.edit.ipvs / PREFIX.revert.ipvs   those changes as ipvsadm -e lines, and back
#   PREFIX.ka.conf      with GEN_KA=1: keepalived, the same, checked every GEN_KA_DELAY seconds
#                       (default 1) by GEN_KA_CHECK, the checker block of each real_server (awk
#                       string: \n for newlines; default TCP_CHECK, connect_timeout 500 ms, retry 3)
# VIP of service i: 10.10+.x.y:80 (from I0 on); destination k: A.(B+k/62500).(k/250%250).(k%250+1):PORT
KA_TCP_CHECK='TCP_CHECK {\n            connect_timeout 0.5\n            retry 3\n            delay_before_retry 1\n        }'
gen() {
	awk -v P="$1" -v S="$2" -v D="$3" -v A="$4" -v B="$5" -v PORT="$6" -v HC="$7" -v I0="${8:-0}" \
		-v KA="${GEN_KA:-0}" -v KA_DELAY="${GEN_KA_DELAY:-1}" -v KA_CHK="${GEN_KA_CHECK:-$KA_TCP_CHECK}" '
	function dst(k) { return A "." (B + int(k / 62500)) "." (int(k / 250) % 250) "." (k % 250 + 1) }
	function vip(i) { return "10." (10 + int(i / 50000)) "." (int(i / 200) % 250) "." (i % 200 + 1) }
	BEGIN {
		y = P ".yaml"; ye = P ".edit.yaml"; r = P ".ipvs"; e = P ".edit.ipvs"; v = P ".revert.ipvs"
		ka = P ".ka.conf"
		print "services:" > y; print "services:" > ye
		printf("") > e; printf("") > v
		if (KA) print "global_defs {\n    router_id ezlb_bench\n}" > ka
		for (i = 0; i < S; i++) {
			va = vip(i + I0)
			for (f = 0; f < 2; f++) {
				out = f ? ye : y
				printf("  - name: s%d\n    listen: %s:80\n    scheduler: wrr\n", i + I0, va) > out
				if (HC != "") printf("    health_check: %s\n", HC) > out
				print "    backends:" > out
			}
			printf("-A -t %s:80 -s wrr\n", va) > r
			if (KA) printf("virtual_server %s 80 {\n    delay_loop %s\n    lb_algo wrr\n" \
				       "    lb_kind NAT\n    protocol TCP\n", va, KA_DELAY) > ka
			for (j = 0; j < D; j++) {
				k = i * D + j; d = dst(k); w = 1 + k % 5; w2 = (k % 100 == 7) ? w + 10 : w
				printf("      - {address: %s:%d, weight: %d}\n", d, PORT, w) > y
				printf("      - {address: %s:%d, weight: %d}\n", d, PORT, w2) > ye
				printf("-a -t %s:80 -r %s:%d -m -w %d\n", va, d, PORT, w) > r
				if (w2 != w) {
					printf("-e -t %s:80 -r %s:%d -m -w %d\n", va, d, PORT, w2) > e
					printf("-e -t %s:80 -r %s:%d -m -w %d\n", va, d, PORT, w) > v
				}
				if (KA) printf("    real_server %s %d {\n        weight %d\n        %s\n    }\n", \
					       d, PORT, w, KA_CHK) > ka
			}
			if (KA) print "}" > ka
		}
	}'
}

# ---- processes ----

# bg_in NS LOG CMD...: starts CMD in NS in the background; sets PID.
bg_in() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	PID=$!
}
# ticks PID: utime + stime so far
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_kb() { local v; v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null); echo "${v:-0}"; }
stop_pid() {
	kill "$1" 2>/dev/null
	local n
	for n in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# wait_lines FILE ERE N SECS: until FILE has N lines matching ERE; 1 on timeout.
wait_lines() {
	local end=$((${EPOCHSECONDS} + $4))
	while [ "$(grep -Ec -- "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
		[ "${EPOCHSECONDS}" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# ---- 1. program from an empty table ----

sec_program() {
	local spec s d runs p r ez_ms ref_ms ops
	for spec in $SIZES; do
		s=${spec%%x*} d=${spec#*x}
		runs=${d#*:} d=${d%%:*}
		p=$W/t${s}x$d
		[ -f "$p.yaml" ] || gen "$p" "$s" "$d" 100 64 8080 ""
		ops=$((s + s * d))
		say "program ${s}x$d ($ops ops), $runs runs each"
		ez_ms=() ref_ms=()
		for r in $(seq 1 "$runs"); do
			ns_new bp
			ezonce bp "$p.yaml"
			expect_rc0 "ezlb once ${s}x$d"
			expect_out "ezlb once ${s}x$d" "^once: $ops changes \\($ops added, 0 edited, 0 deleted\\), 0 failed$"
			ez_ms+=("$MS")
			[ "$r" = 1 ] && table bp >"$W/tab.ezlb"
			ns_del bp
			ns_new bp
			tm bp "$p.ipvs" "$W/out" ipvsadm -R
			expect_rc0 "ipvsadm -R ${s}x$d"
			ref_ms+=("$MS")
			[ "$r" = 1 ] && table bp >"$W/tab.ref"
			ns_del bp
			if [ "$r" = 1 ]; then
				if [ "$(wc -l <"$W/tab.ezlb")" = $ops ] && cmp -s "$W/tab.ezlb" "$W/tab.ref"; then
					say "  same table from both ($ops lines of ipvsadm -Sn)"
				else
					fail "${s}x$d: ezlb and ipvsadm -R made different tables:" \
						"$(diff "$W/tab.ezlb" "$W/tab.ref" | head -n 4 | tr '\n' ' ')"
				fi
			fi
			say "  run $r: ezlb ${ez_ms[-1]} ms, ipvsadm -R ${ref_ms[-1]} ms"
		done
		local e f
		e=$(median "${ez_ms[@]}") f=$(median "${ref_ms[@]}")
		row "Program $s x $d ($ops ops) into an empty table" "$(fmt_ms "$e")" "ipvsadm -R: $(fmt_ms "$f")" \
			"$(ratio "$f" "$e")" "$runs"
	done
	# Where the time of the biggest goes: reading and validating the file alone.
	ez_ms=()
	ns_new bp
	for r in $(seq 1 "$runs"); do
		tm bp /dev/null "$W/out" ezlb check -c "$p.yaml"
		expect_rc0 "ezlb check ${s}x$d"
		ez_ms+=("$MS")
	done
	# The floor under any loader built on libyaml: its event parser alone over the same file. The
	# event count proves it read all of it: gen without health checks writes 9 events around
	# the services and 11 + 6 per destination in each (see the YAML it prints).
	local ys_ms=() events=$((9 + s * (11 + 6 * d)))
	for r in $(seq 1 "$runs"); do
		tm bp /dev/null "$W/out" yamlscan "$p.yaml"
		expect_rc0 "yamlscan ${s}x$d"
		expect_out "yamlscan ${s}x$d" "^$events\$"
		ys_ms+=("$MS")
	done
	ns_del bp
	say "  ezlb check: ${ez_ms[*]} ms; yamlscan ($events events): ${ys_ms[*]} ms"
	row "... of which reading and validating the $((s * d / 1000))k file (\`ezlb check\`)" \
		"$(fmt_ms "$(median "${ez_ms[@]}")")" "—" "—" "$runs"
	row "... of which libyaml alone scanning the same file (no tree, no checks)" \
		"$(fmt_ms "$(median "${ys_ms[@]}")")" "—" "—" "$runs"
}

# ---- 2. no-op reconcile, 3. 1% weights (same namespace, the big table) ----

big_table_ns() {
	local p=$W/t${BIG_S}x$BIG_D
	[ -f "$p.yaml" ] || gen "$p" "$BIG_S" "$BIG_D" 100 64 8080 ""
	BIG=$p
	ns_new bb
	ezonce bb "$p.yaml"
	expect_rc0 "programming the ${BIG_S}x$BIG_D table"
}

sec_noop() {
	local r e f ez_ms=() ref_ms=()
	say "no-op reconcile of ${BIG_S}x$BIG_D, $BIG_RUNS runs each"
	for r in $(seq 1 "$BIG_RUNS"); do
		ezonce bb "$BIG.yaml"
		expect_rc0 "no-op ezlb once"
		expect_out "no-op ezlb once" '^once: no changes$'
		ez_ms+=("$MS")
		tm bb /dev/null /dev/null ipvsadm -Ln
		expect_rc0 "ipvsadm -Ln"
		ref_ms+=("$MS")
		say "  run $r: ezlb once ${ez_ms[-1]} ms, ipvsadm -Ln ${ref_ms[-1]} ms"
	done
	e=$(median "${ez_ms[@]}") f=$(median "${ref_ms[@]}")
	row "No-op reconcile of the $((BIG_S * BIG_D / 1000))k table (\`once: no changes\`)" "$(fmt_ms "$e")" \
		"ipvsadm -Ln: $(fmt_ms "$f")" "$(ratio "$f" "$e")" "$BIG_RUNS"
}

# export: the kernel's 100k table as ezlb YAML vs ipvsadm's own save format, each from one dump.
sec_export() {
	local r e f ez_ms=() ref_ms=()
	say "export of ${BIG_S}x$BIG_D, $BIG_RUNS runs each"
	for r in $(seq 1 "$BIG_RUNS"); do
		tm bb /dev/null "$W/export.yaml" ezlb export --all --state-dir "$W/st-bb"
		expect_rc0 "ezlb export --all"
		ez_ms+=("$MS")
		tm bb /dev/null "$W/saved.txt" ipvsadm -Sn
		expect_rc0 "ipvsadm -Sn"
		ref_ms+=("$MS")
		say "  run $r: ezlb export ${ez_ms[-1]} ms, ipvsadm -Sn ${ref_ms[-1]} ms"
	done
	ezonce bb "$W/export.yaml"
	expect_rc0 "ezlb once of the exported file"
	expect_out "the exported file plans nothing" '^once: no changes$'
	e=$(median "${ez_ms[@]}") f=$(median "${ref_ms[@]}")
	row "Export of the $((BIG_S * BIG_D / 1000))k table (\`ezlb export --all\`; its file then plans no change)" \
		"$(fmt_ms "$e")" "ipvsadm -Sn: $(fmt_ms "$f")" "$(ratio "$f" "$e")" "$BIG_RUNS"
}

sec_weights() {
	local r e f n ez_ms=() ref_ms=() cfg
	n=$(wc -l <"$BIG.edit.ipvs")
	say "change $n weights of ${BIG_S}x$BIG_D, $BIG_RUNS runs each"
	for r in $(seq 1 "$BIG_RUNS"); do # A -> B -> A -> B ...
		cfg=$BIG.edit.yaml
		[ $((r % 2)) = 0 ] && cfg=$BIG.yaml
		ezonce bb "$cfg"
		expect_rc0 "weights ezlb once"
		expect_out "weights ezlb once" "^once: $n changes \\(0 added, $n edited, 0 deleted\\), 0 failed$"
		ez_ms+=("$MS")
		say "  run $r: ezlb once ${ez_ms[-1]} ms"
	done
	for r in $(seq 1 "$BIG_RUNS"); do # the state is B when BIG_RUNS is odd: B -> A -> B ...
		cfg=$BIG.revert.ipvs
		[ $(((r + BIG_RUNS) % 2)) = 1 ] && cfg=$BIG.edit.ipvs
		tm bb "$cfg" "$W/out" ipvsadm -R
		expect_rc0 "weights ipvsadm -R"
		ref_ms+=("$MS")
		say "  run $r: ipvsadm -R ($(basename "$cfg")) ${ref_ms[-1]} ms"
	done
	# ipvsadm's runs end on the original weights: nothing left to change proves its edits right.
	ezonce bb "$BIG.yaml"
	expect_out "after the ipvsadm edits" '^once: no changes$'
	e=$(median "${ez_ms[@]}") f=$(median "${ref_ms[@]}")
	row "Change 1% of the weights ($n edits) in the $((BIG_S * BIG_D / 1000))k table" "$(fmt_ms "$e")" \
		"ipvsadm -R of the $n \`-e\` lines: $(fmt_ms "$f")" "$(ratio "$f" "$e")" "$BIG_RUNS"
	weights_daemon "$n" "$f"
}

# weights_daemon N REF_MS: the same edits made by the running daemon when its file changes: it
# keeps a view of the kernel table, so it plans against that instead of dumping.
weights_daemon() {
	local n=$1 ref=$2 r log=$W/weights-daemon.log daemon t0 t1 wall=() rec=() line cfg f
	# Health checks off, as with `once --no-health-check`: nothing listens on these backends.
	for f in "$BIG" "$BIG.edit"; do
		sed 's/^    scheduler: wrr$/&\n    health_check: {enabled: false}/' "$f.yaml" >"$f.nohc.yaml"
	done
	cp "$BIG.nohc.yaml" "$W/live.yaml"
	bg_in bb "$log" ezlb run -c "$W/live.yaml" --state-dir "$W/st-bb"
	daemon=$PID
	wait_lines "$log" 'running: ' 1 60 || fail "weights daemon: did not start"
	sleep 5 # its first reconcile (a dump and nothing to change, so nothing logged) is over...
	kill -USR1 "$daemon" # ...once the loop answers a signal
	wait_lines "$log" 'health: [0-9]+ targets' 1 120 || fail "weights daemon: no answer to SIGUSR1"
	for r in $(seq 1 "$BIG_RUNS"); do
		cfg=$BIG.edit.nohc.yaml
		[ $((r % 2)) = 0 ] && cfg=$BIG.nohc.yaml
		cp "$cfg" "$W/live.tmp"
		t0=${EPOCHREALTIME/./}
		mv "$W/live.tmp" "$W/live.yaml"
		if ! wait_lines "$log" "reconcile: $n changes" "$r" 60; then
			fail "weights daemon: run $r: no reconcile within 60 s; its log ends with:"
			tail -n 8 "$log" | sed 's/^/bench:     /'
			break
		fi
		t1=${EPOCHREALTIME/./}
		wall+=("$(awk -v u=$((t1 - t0)) 'BEGIN { print u / 1000 }')")
		line=$(grep "reconcile: $n changes" "$log" | tail -n 1)
		rec+=("$(echo "$line" | sed -n 's/.* dumps, \([0-9.]*\) ms.*/\1/p')")
		say "  daemon run $r: file renamed -> table changed ${wall[-1]} ms; ${line#*: }"
	done
	grep -q "reconcile: $n changes .*; $n netlink requests, 0 dumps" "$log" ||
		fail "weights daemon: expected $n requests and no dump: $(grep 'reconcile:' "$log" | tail -n 1)"
	stop_pid "$daemon"
	row "... the same edits by the running daemon when its file changes: plan and apply (no dump)" \
		"$(fmt_ms "$(median "${rec[@]}")")" "ipvsadm -R: $(fmt_ms "$ref")" "$(ratio "$ref" "$(median "${rec[@]}")")" "$BIG_RUNS"
	row "... the same, from the file's rename to the last change in the kernel (debounce and parsing included)" \
		"$(fmt_ms "$(median "${wall[@]}")")" "ipvsadm -R: $(fmt_ms "$ref")" "$(ratio "$ref" "$(median "${wall[@]}")")" "$BIG_RUNS"
}

# ---- include: the big table as 1000 included files ----

# tod_ms STAMP: milliseconds since local midnight of a log stamp "YYYY-MM-DDTHH:MM:SS.mmm".
tod_ms() {
	local t=${1#*T} h m sec ms
	IFS=:. read -r h m sec ms <<<"$t"
	echo $(((10#$h * 3600 + 10#$m * 60 + 10#$sec) * 1000 + 10#$ms))
}
# now_tod: sets TOD to tod_ms of now, in this shell (no fork before the timed command): the
# clock the daemon's stamps use (local time).
now_tod() {
	local e=$EPOCHREALTIME hms h m sec
	printf -v hms '%(%H:%M:%S)T' "${e%.*}"
	IFS=: read -r h m sec <<<"$hms"
	e=${e#*.}
	TOD=$(((10#$h * 3600 + 10#$m * 60 + 10#$sec) * 1000 + 10#${e:0:3}))
}

# include_split SRC DIR: SRC (a gen file, health checks off) as DIR/ezlb.yaml including
# DIR/conf.d/sNNNN.yaml, one service per file.
include_split() {
	rm -rf "$2" && mkdir -p "$2/conf.d"
	printf 'include: ["conf.d/*.yaml"]\n' >"$2/ezlb.yaml"
	awk -v d="$2/conf.d" '
		/^  - name: s/ { if (f) close(f); f = sprintf("%s/s%04d.yaml", d, substr($3, 2)); print "services:" > f }
		f { print > f }' "$1"
}

# edit_times LOG CFG_OF_RUN RUNS: for run r, renames CFG_OF_RUN(r)'s prepared file ($f.next) over
# it, waits for the daemon's "reconcile: 1 changes", and takes the time from just before the mv
# to that line's stamp (written once the kernel took the change). Sets TIMES and RECS (the
# reconcile's own ms) and LOADS (the reload's log line).
edit_times() {
	local log=$1 fn=$2 runs=$3 r f t0 line stamp d
	TIMES=() RECS=() LOADS=()
	for r in $(seq 1 "$runs"); do
		f=$("$fn" "$r")
		now_tod
		t0=$TOD
		mv "$f.next" "$f"
		if ! wait_lines "$log" 'reconcile: 1 changes \(0 added, 1 edited' "$r" 120; then
			fail "include: run $r: no reconcile within 120 s; its log ends with:"
			tail -n 8 "$log" | sed 's/^/bench:     /'
			return 1
		fi
		line=$(grep -E 'reconcile: 1 changes \(0 added, 1 edited' "$log" | sed -n "${r}p")
		stamp=${line%% *}
		d=$(($(tod_ms "$stamp") - t0))
		[ "$d" -lt -43200000 ] && d=$((d + 86400000))
		TIMES+=("$d")
		RECS+=("$(echo "$line" | sed -n 's/.* dumps, \([0-9.]*\) ms.*/\1/p')")
		LOADS+=("$(grep 'configuration loaded' "$log" | tail -n 1 | sed 's/.*configuration loaded: //')")
		say "  run $r: $(basename "$f") renamed -> kernel changed ${d} ms; ${line#*: }"
		say "    ${LOADS[-1]}"
		sleep 0.3
	done
}

# One weight of service s(7 + 13r) of 1000: the include file's next version, alternating.
INC_DIR=
inc_edit_file() {
	local i=$(((7 + 13 * $1) % BIG_S)) f
	f=$(printf '%s/conf.d/s%04d.yaml' "$INC_DIR" "$i")
	awk '!n && /weight: / { sub(/weight: /, "weight: 9"); n = 1 } { print }' "$f" >"$f.next"
	echo "$f"
}
SINGLE_LIVE=
single_edit_file() {
	local i=$(((7 + 13 * $1) % BIG_S))
	awk -v s="  - name: s$i" '$0 == s { n = 1 } n && /weight: / { sub(/weight: /, "weight: 9"); n = 0 } { print }' \
		"$SINGLE_LIVE" >"$SINGLE_LIVE.next"
	echo "$SINGLE_LIVE"
}

sec_include() {
	local p=$W/t${BIG_S}x$BIG_D single inc r e f ez_ms=() one_ms=() daemon log runs=$((BIG_RUNS * 2 + 1))
	[ -f "$p.yaml" ] || gen "$p" "$BIG_S" "$BIG_D" 100 64 8080 ""
	single=$W/inc-single.yaml inc=$W/inc
	sed 's/^    scheduler: wrr$/&\n    health_check: {enabled: false}/' "$p.yaml" >"$single"
	include_split "$single" "$inc"
	say "include: ${BIG_S}x$BIG_D as $(ls "$inc/conf.d" | wc -l) included files vs one file"
	ns_new bi
	for r in $(seq 1 "$BIG_RUNS"); do
		tm bi /dev/null "$W/out" ezlb check -c "$inc/ezlb.yaml"
		expect_rc0 "ezlb check of the included files"
		expect_out "ezlb check of the included files" "^configuration OK: $BIG_S services"
		ez_ms+=("$MS")
		tm bi /dev/null "$W/out" ezlb check -c "$single"
		expect_rc0 "ezlb check of the single file"
		one_ms+=("$MS")
		say "  run $r: ezlb check: $BIG_S files ${ez_ms[-1]} ms, one file ${one_ms[-1]} ms"
	done
	e=$(median "${ez_ms[@]}") f=$(median "${one_ms[@]}")
	row "Load the $((BIG_S * BIG_D / 1000))k table split into $BIG_S included files (\`ezlb check\`)" \
		"$(fmt_ms "$e")" "the same in one file: $(fmt_ms "$f")" "$(ratio "$f" "$e")" "$BIG_RUNS"
	ns_del bi
	# The daemon on the single file, then on the included files, each in a fresh namespace (the
	# trash of 100k deleted destinations would slow the second one's adds: see the flap rows).
	local kinds="single include" kind s_med s_rec i_med i_rec
	for kind in $kinds; do
		log=$W/include-$kind.log
		ns_new bi
		if [ "$kind" = single ]; then
			SINGLE_LIVE=$W/inc-live.yaml
			cp "$single" "$SINGLE_LIVE"
			bg_in bi "$log" ezlb run -c "$SINGLE_LIVE" --state-dir "$W/st-bi"
		else
			INC_DIR=$inc
			bg_in bi "$log" ezlb run -c "$inc/ezlb.yaml" --state-dir "$W/st-bi"
		fi
		daemon=$PID
		wait_lines "$log" 'running: ' 1 120 || fail "include $kind: the daemon did not start"
		wait_lines "$log" 'reconcile: ' 1 300 || fail "include $kind: no first reconcile"
		sleep 2
		if [ "$kind" = single ]; then
			edit_times "$log" single_edit_file "$BIG_RUNS"
			s_med=$(median "${TIMES[@]}") s_rec=$(median "${RECS[@]}")
		else
			edit_times "$log" inc_edit_file "$runs"
			i_med=$(median "${TIMES[@]}") i_rec=$(median "${RECS[@]}")
			grep -q 'configuration loaded: .*; 1 of [0-9]* files re-read, 1 services to plan' "$log" ||
				fail "include: no reload that re-read one file: $(grep 'configuration loaded' "$log" | tail -n 1)"
		fi
		stop_pid "$daemon"
		ns_del bi
	done
	row "One weight edit in one of $BIG_S included files ($((BIG_S * BIG_D / 1000))k destinations), running daemon: from the writer's rename (before its mv) to the kernel change" \
		"$(fmt_ms "$i_med")" "the same edit in the single file: $(fmt_ms "$s_med")" "$(ratio "$s_med" "$i_med")" \
		"$runs (single file: $BIG_RUNS)"
	row "... of which the reconcile (plan and apply; the reload's own time is in the log line)" \
		"$(fmt_ms "$i_rec")" "single file: $(fmt_ms "$s_rec")" "$(ratio "$s_rec" "$i_rec")" "$runs"
}

# ---- 4. one backend goes down in the running daemon ----

# down_run LABEL S D: a daemon holding S x D unchecked destinations plus one checked service whose
# backend 127.0.0.2:9002 goes down and up CYCLES times.
down_run() {
	local label=$1 s=$2 d=$3 p=$W/down${2}x$3 cycles=5 c srv daemon log n
	gen "$p" "$s" "$d" 100 64 8080 "{enabled: false}"
	cat >>"$p.yaml" <<EOF_
  - name: checked
    listen: 10.9.0.1:80
    scheduler: wrr
    health_check: {interval: 500ms, timeout: 250ms, fail_count: 1, rise_count: 1}
    backends:
      - {address: 127.0.0.2:9002}
      - {address: 127.0.0.3:9001}
EOF_
	ns_new bd
	bg_in bd "$W/bs9001.log" benchsrv 9001
	local srv1=$PID
	bg_in bd "$W/bs9002.log" benchsrv 9002
	srv=$PID
	log=$W/down-$s.log
	bg_in bd "$log" ezlb run -c "$p.yaml" --state-dir "$W/st-bd"
	daemon=$PID
	wait_lines "$log" 'reconcile: ' 1 300 || fail "down $label: the daemon never reconciled"
	sleep 1
	for c in $(seq 1 "$cycles"); do
		stop_pid "$srv"
		wait_lines "$log" 'checked 127\.0\.0\.2:9002 up -> down' "$c" 30 || fail "down $label: no down transition"
		wait_lines "$log" 'reconcile: .*after the health change' $((2 * c - 1)) 30 || fail "down $label: no reconcile"
		bg_in bd "$W/bs9002.log" benchsrv 9002
		srv=$PID
		wait_lines "$log" 'checked 127\.0\.0\.2:9002 down -> up' "$c" 30 || fail "down $label: no up transition"
		wait_lines "$log" 'reconcile: .*after the health change' $((2 * c)) 30 || fail "down $label: no reconcile"
	done
	stop_pid "$daemon"
	stop_pid "$srv"
	stop_pid "$srv1"
	grep 'reconcile: .*after the health change' "$log" | sed 's/^/  /'
	ns_del bd
	# "reconcile: 1 changes (0 added, 0 edited, 1 deleted), 0 failed; 1 netlink requests, 0 dumps, X ms, Y ms after ..."
	local kind
	for kind in deleted added; do
		local stats
		local pat='(0 added, 0 edited, 1 deleted)'
		[ "$kind" = added ] && pat='(1 added, 0 edited, 0 deleted)'
		stats=$(grep -F "reconcile: 1 changes $pat" "$log" | grep 'after the health change' |
			sed -n 's/.*; \([0-9]*\) netlink requests, \([0-9]*\) dumps, \([0-9.]*\) ms, \([0-9.]*\) ms after.*/\1 \2 \3 \4/p')
		n=$(printf '%s\n' "$stats" | grep -c .)
		if [ "$n" -lt "$cycles" ]; then
			fail "down $label: $n of $cycles '1 $kind' reconciles found"
			continue
		fi
		local req dumps after
		req=$(printf '%s\n' "$stats" | awk '{ print $1 }' | sort -un | tr '\n' '/' | sed 's,/$,,')
		dumps=$(printf '%s\n' "$stats" | awk '{ print $2 }' | sort -un | tr '\n' '/' | sed 's,/$,,')
		after=$(median $(printf '%s\n' "$stats" | awk '{ print $4 }'))
		local what="backend goes down (1 delete)"
		[ "$kind" = added ] && what="backend comes back (1 add)"
		row "Daemon, $label: $what; decisive probe to kernel change" "$(fmt_ms "$after"), $req netlink request(s), $dumps dumps" \
			"—" "—" "$cycles"
	done
}

sec_down() {
	say "one backend down and up in the daemon, 5 cycles, small and big table"
	down_run "100 x 10 table" 100 10
	down_run "$((BIG_S * BIG_D / 1000))k table" "$BIG_S" "$BIG_D"
}

# ---- 5. health checks: ezlb run vs keepalived ----

# utime_stime PID: "UTIME STIME" so far, in ticks
utime_stime() { awk '{ print $14, $15 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"; }
# child_ticks PID: cutime + cstime so far, in ticks: the CPU of the children PID has reaped
child_ticks() { awk '{ print $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# forks_mark: sets FORKS_NOW to the processes (and threads) the kernel has created since boot
# (the "processes" line of /proc/stat), read without a fork.
forks_mark() {
	local k v
	while read -r k v _; do
		[ "$k" = processes ] && { FORKS_NOW=$v; return; }
	done </proc/stat
}
# Where window takes the checks per second from: a field of benchsrv's report ("rate": accepted
# connections; "answer_rate": HTTP 200 answers), or "forks": the processes the kernel created
# over the window, minus the window's own sleep (exec checks: one process per check).
BS_RATE=rate
BS_ARGS=() # benchsrv's mode arguments (-m http...), for health_ezlb and health_keepalived

# window PID: CPU of PID over WINDOW seconds, with benchsrv's report (and ezlb's, on SIGUSR1, by
# the caller) at both ends. Sets CPU (percent of one core), USR and SYS (its user and kernel parts),
# PER (CPU ms per connection the targets saw), and the benchsrv figures RATE, GAP50, GAP99.
# On loopback the kernel runs both ends of a handshake in softirq context inside the system call
# that sends the packet, so how kernel work splits between checker and target depends on who
# sends what (a close with RST or with FIN): the busy CPU of the whole VM over the same window
# does not. Sets VM (percent of one core, every process and the kernel) and VMPER (ms per
# connection), the same way. "Connection" is a check as BS_RATE counts them. Also sets CH and
# CHPER (CPU and per check, with the children PID reaped in the window: exec checks), BSCPU
# (benchsrv's own CPU, %), HS ("full F resumed R failed X": TLS handshakes benchsrv saw), FULLPER
# (full handshakes per 200 answer) and BAD (benchsrv's other answers and incomplete requests).
window() {
	local u0 s0 u1 s1 c0 c1 f0 f1 m0 busy
	kill -USR1 "$BS"
	vm_mark
	m0=$VMC
	read -r u0 s0 < <(utime_stime "$1")
	c0=$(child_ticks "$1")
	forks_mark
	f0=$FORKS_NOW
	sleep "$WINDOW"
	forks_mark
	f1=$FORKS_NOW
	c1=$(child_ticks "$1")
	read -r u1 s1 < <(utime_stime "$1")
	vm_mark
	kill -USR2 "$BS"
	sleep 0.5
	pct() { awk -v t="$1" -v w="$WINDOW" -v hz=$HZ 'BEGIN { printf "%.1f\n", 100 * t / (w * hz) }'; }
	CPU=$(pct $((u1 - u0 + s1 - s0))) USR=$(pct $((u1 - u0))) SYS=$(pct $((s1 - s0)))
	if [ "$BS_RATE" = forks ]; then
		RATE=$(awk -v n=$((f1 - f0 - 1)) -v w="$WINDOW" 'BEGIN { printf "%.1f\n", n / w }')
	else
		RATE=$(bs_field "$BS_RATE")
	fi
	GAP50=$(bs_field gap_dev_p50_ms) GAP99=$(bs_field gap_dev_p99_ms)
	PER=$(per_conn $((u1 - u0 + s1 - s0)))
	CH=$(pct $((u1 - u0 + s1 - s0 + c1 - c0))) CHPER=$(per_conn $((u1 - u0 + s1 - s0 + c1 - c0)))
	busy=$(vm_busy "$m0" "$VMC")
	VM=$(pct "$busy") VMPER=$(per_conn "$busy")
	BSCPU=$(bs_field cpu_pct) BAD=$(bs_field bad)
	HS="full $(bs_field full_hs) resumed $(bs_field resumed_hs) failed $(bs_field hs_fail)"
	FULLPER=$(awk -v f="$(bs_field full_hs)" -v a="$(bs_field answers)" \
		'BEGIN { if (a > 0) printf "%.2f\n", f / a }')
}
# per_conn TICKS: ms of CPU per connection the targets saw in the window (after RATE is set)
per_conn() {
	awk -v t="$1" -v hz=$HZ -v r="$RATE" -v w="$WINDOW" \
		'BEGIN { if (r > 0) printf "%.2f\n", 1000 * t / hz / (r * w) }'
}

# vm_mark: sets VMC to "MICROSECONDS IDLE": the wall clock, and the idle + iowait time of all
# CPUs so far (/proc/stat, in USER_HZ ticks), read without a fork so that the two stay close.
vm_mark() {
	local idle iowait
	read -r _ _ _ _ idle iowait _ </proc/stat # cpu user nice system idle iowait irq...
	VMC="${EPOCHREALTIME/./} $((idle + iowait))"
}
# vm_busy MARK0 MARK1: busy CPU of the whole VM between two vm_marks, in USER_HZ ticks: the time of
# every CPU minus its idle and iowait. Not the sum of the busy fields of /proc/stat: this kernel
# samples those at each tick (no IRQ_TIME_ACCOUNTING; VIRT_CPU_ACCOUNTING_GEN only on nohz_full
# CPUs), which misses the short bursts of a process that wakes and sleeps between two ticks,
# while NO_HZ times idle exactly. Tried: over one 4 s window the busy fields added up to 83 ticks
# for the whole VM while ezlb alone had 106 (utime + stime, which follow the scheduler's clock).
vm_busy() {
	local w0 i0 w1 i1
	read -r w0 i0 <<<"$1"
	read -r w1 i1 <<<"$2"
	awk -v w=$((w1 - w0)) -v i=$((i1 - i0)) -v n="$NCPU" -v hz=$HZ \
		'BEGIN { printf "%.1f\n", n * w * hz / 1e6 - i }'
}
# vm_idle SECS: busy CPU of the whole VM over SECS with nothing running (once it is quiet), as
# percent of one core: the floor under the whole-VM rows (timers, this script's own sleeps).
vm_idle() {
	local m0
	wait_idle
	vm_mark
	m0=$VMC
	sleep "$1"
	vm_mark
	awk -v t="$(vm_busy "$m0" "$VMC")" -v w="$1" -v hz=$HZ 'BEGIN { printf "%.2f\n", 100 * t / (w * hz) }'
}

# bs_field NAME: from benchsrv's last report
bs_field() { tail -n 1 "$W/bs.out" 2>/dev/null | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

# dests NS: destinations in the kernel table of NS
dests() { ip netns exec "$1" ipvsadm -Sn | grep -c '^-a'; }

# health_ezlb N IV PREFIX: ezlb run probing N targets every IV seconds. Sets E_*.
health_ezlb() {
	local n=$1 iv=$2 p=$3 log=$W/health-ezlb-$1-$2.log daemon st
	ns_new bh
	rm -f "$W/bs.out"
	bg_in bh "$W/bs.log" benchsrv "${BS_ARGS[@]}" -i $((iv * 1000)) -o "$W/bs.out" 9000
	BS=$PID
	bg_in bh "$log" ezlb run -c "$p.yaml" --state-dir "$W/st-bh"
	daemon=$PID
	wait_lines "$log" 'reconcile: ' 1 120 || fail "health ezlb $n/$iv s: no first reconcile"
	sleep $((iv + 4)) # past the first round, which is spread over one interval
	kill -USR1 "$daemon"
	window "$daemon"
	kill -USR1 "$daemon"
	wait_lines "$log" 'health: [0-9]+ targets' 2 10 || fail "health ezlb $n/$iv s: no stats line"
	E_CPU=$CPU E_USR=$USR E_SYS=$SYS E_PER=$PER E_RATE=$RATE E_GAP50=$GAP50 E_GAP99=$GAP99
	# shellcheck disable=SC2034 # E_FULLPER: read by acc, through its name
	E_VM=$VM E_VMPER=$VMPER E_CH=$CH E_CHPER=$CHPER E_BSCPU=$BSCPU E_BAD=$BAD E_HS=$HS E_FULLPER=$FULLPER
	E_HWM=$(hwm_kb "$daemon") E_LEFT=$(dests bh)
	st=$(grep 'health: ' "$log" | tail -n 1)
	say "  ezlb: ${st#*: }"
	E_L50=$(echo "$st" | sed -n 's/.*lateness p50 \([0-9.]*\) ms.*/\1/p')
	E_L99=$(echo "$st" | sed -n 's/.*lateness p50 [0-9.]* ms p99 \([0-9.]*\) ms.*/\1/p')
	say "  ezlb: CPU ${E_CPU}% (user $E_USR, sys $E_SYS), targets saw $E_RATE conn/s ($E_PER ms CPU" \
		"each), whole VM ${E_VM}% ($E_VMPER ms each), gap deviation p50 $E_GAP50 ms p99 $E_GAP99 ms," \
		"VmHWM $E_HWM kB, $E_LEFT of $n destinations left, $(grep -c 'up -> down' "$log") down transitions"
	say "  ezlb: with reaped children ${E_CH}% ($E_CHPER ms per check); target: CPU ${E_BSCPU}%," \
		"$E_BAD bad, TLS handshakes $E_HS"
	stop_pid "$daemon"
	stop_pid "$BS"
	ns_del bh
}

# health_keepalived N IV PREFIX: keepalived -C (checker only) on the same targets. Sets K_*.
health_keepalived() {
	local n=$1 iv=$2 p=$3 log=$W/health-ka-$1-$2.log parent checker end
	K_CPU="" K_USR="" K_SYS="" K_PER="" K_RATE="" K_GAP50="" K_GAP99="" K_HWM="" K_LEFT="" K_VM="" K_VMPER=""
	K_CH="" K_CHPER="" K_BSCPU="" K_BAD="" K_HS="" K_FULLPER=""
	command -v keepalived >/dev/null || return 0
	ns_new bk
	rm -f "$W/bs.out" "$W/ka.pid" "$W/kac.pid"
	bg_in bk "$W/bs.log" benchsrv "${BS_ARGS[@]}" -i $((iv * 1000)) -o "$W/bs.out" 9000
	BS=$PID
	bg_in bk "$log" keepalived -n -l -G -C -f "$p.ka.conf" -p "$W/ka.pid" -c "$W/kac.pid"
	parent=$PID
	end=$((EPOCHSECONDS + 120))
	while [ ! -s "$W/kac.pid" ] && [ "$EPOCHSECONDS" -lt "$end" ]; do sleep 0.2; done
	checker=$(cat "$W/kac.pid" 2>/dev/null)
	if [ -z "$checker" ]; then
		fail "keepalived $n/$iv s: no checker process; its log: $(tail -n 5 "$log" | tr '\n' ' ')"
		stop_pid "$parent"; stop_pid "$BS"; ns_del bk
		return
	fi
	# Measured once every destination is in the kernel (keepalived adds them itself).
	end=$((EPOCHSECONDS + 120))
	while [ "$(dests bk)" -lt "$n" ] && [ "$EPOCHSECONDS" -lt "$end" ]; do sleep 1; done
	sleep $((iv + 4))
	window "$checker"
	K_CPU=$CPU K_USR=$USR K_SYS=$SYS K_PER=$PER K_RATE=$RATE K_GAP50=$GAP50 K_GAP99=$GAP99
	# shellcheck disable=SC2034 # K_FULLPER: read by acc, through its name
	K_VM=$VM K_VMPER=$VMPER K_CH=$CH K_CHPER=$CHPER K_BSCPU=$BSCPU K_BAD=$BAD K_HS=$HS K_FULLPER=$FULLPER
	K_HWM=$(($(hwm_kb "$checker") + $(hwm_kb "$parent"))) K_LEFT=$(dests bk)
	say "  keepalived: checker CPU ${K_CPU}% (user $K_USR, sys $K_SYS; parent $(utime_stime "$parent")" \
		"ticks in all), targets saw $K_RATE conn/s ($K_PER ms CPU each), whole VM ${K_VM}% ($K_VMPER" \
		"ms each), gap deviation p50 $K_GAP50 ms p99 $K_GAP99 ms, VmHWM $K_HWM kB (parent + checker)," \
		"$K_LEFT of $n destinations left"
	say "  keepalived: checker with reaped children ${K_CH}% ($K_CHPER ms per check); target: CPU" \
		"${K_BSCPU}%, $K_BAD bad, TLS handshakes $K_HS"
	stop_pid "$parent"
	stop_pid "$checker"
	stop_pid "$BS"
	ns_del bk
}

# acc VAR...: appends the values of VARs to their lists; med VAR: the median of a list.
declare -A ACC
acc() { local v; for v in "$@"; do ACC[$v]+="${!v} "; done; }
med() { local m; m=$(median ${ACC[$1]:-}); echo "${m:-n/a}"; }

sec_health() {
	local spec n iv p k h r
	# Whole-VM CPU counts everything, so say what the VM burns with nothing running.
	say "health: whole VM CPU with nothing running, over $VM_IDLE s"
	VM_IDLE_PCT=$(vm_idle "$VM_IDLE")
	say "  ${VM_IDLE_PCT}% of one core"
	for spec in $HEALTH; do
		n=${spec%%:*} iv=${spec#*:}
		p=$W/h$n-$iv
		GEN_KA=1 GEN_KA_DELAY=$iv gen "$p" $((n / 100)) 100 127 1 9000 "{interval: ${iv}s, timeout: 500ms}"
		say "health checks: $n targets every $iv s, $HEALTH_RUNS runs of ${WINDOW} s each"
		ACC=()
		for r in $(seq 1 "$HEALTH_RUNS"); do
			health_ezlb "$n" "$iv" "$p"
			acc E_CPU E_USR E_SYS E_PER E_RATE E_GAP50 E_GAP99 E_LEFT E_HWM E_L50 E_L99 E_VM E_VMPER
			health_keepalived "$n" "$iv" "$p"
			[ -n "$K_CPU" ] && acc K_CPU K_USR K_SYS K_PER K_RATE K_GAP50 K_GAP99 K_LEFT K_HWM K_VM K_VMPER
		done
		k="" h="Health, $((n / 1000))k targets every $iv s ($((n / iv))/s due)"
		[ "$n" -lt 1000 ] && h="Health, $n targets every $iv s ($((n / iv))/s due)"
		[ -n "${ACC[K_CPU]:-}" ] || k="n/a"
		local runs="$HEALTH_RUNS x ${WINDOW} s"
		row "$h: CPU, % of one core (user + kernel)" "$(med E_CPU)% ($(med E_USR) + $(med E_SYS))" \
			"keepalived TCP_CHECK, checker process: ${k:-$(med K_CPU)% ($(med K_USR) + $(med K_SYS))}" \
			"$(ratio "$(med K_CPU)" "$(med E_CPU)")" "$runs"
		row "$h: checks done per second, counted by the targets" "$(med E_RATE)" "keepalived: ${k:-$(med K_RATE)}" "—" "$runs"
		row "$h: CPU per check" "$(med E_PER) ms" "keepalived: ${k:-$(med K_PER) ms}" \
			"$(ratio "$(med K_PER)" "$(med E_PER)")" "$runs"
		row "$h: whole VM CPU, % of one core (every process and the kernel)" "$(med E_VM)%" \
			"keepalived: ${k:-$(med K_VM)%}" "$(ratio "$(med K_VM)" "$(med E_VM)")" "$runs"
		row "$h: whole VM CPU per check" "$(med E_VMPER) ms" "keepalived: ${k:-$(med K_VMPER) ms}" \
			"$(ratio "$(med K_VMPER)" "$(med E_VMPER)")" "$runs"
		row "$h: probe lateness (ezlb's own count: start minus due time, since the start)" \
			"p50 $(med E_L50) ms, p99 $(med E_L99) ms" "— (keepalived does not count it)" "—" "$runs"
		row "$h: gap between two checks of a target minus the interval, seen by the target" \
			"p50 $(med E_GAP50) ms, p99 $(med E_GAP99) ms" \
			"keepalived: ${k:-p50 $(med K_GAP50) ms, p99 $(med K_GAP99) ms}" "—" "$runs"
		row "$h: destinations left in the kernel at the end (every target listens)" "$(med E_LEFT) of $n" \
			"keepalived: ${k:-$(med K_LEFT) of $n}" "—" "$runs"
		row "$h: peak RSS" "$(($(med E_HWM) / 1024)) MB" \
			"keepalived, parent + checker: ${k:-$(($(med K_HWM) / 1024)) MB}" \
			"$(ratio "$(med K_HWM)" "$(med E_HWM)")" "$runs"
	done
}

# ---- 6. memory with 100k destinations and 10k checks; idle CPU ----

sec_memory() {
	local big=$W/m-big chk=$W/m-chk log=$W/memory.log daemon hwm rss
	local nchk=$((BIG_S * BIG_D / 10)) nbig=$((BIG_S * BIG_D - BIG_S * BIG_D / 10))
	say "memory: daemon with $((nbig + nchk)) destinations, $nchk of them checked every 10 s"
	gen "$big" $((nbig / BIG_D)) "$BIG_D" 100 64 8080 "{enabled: false}"
	# Every 10 s: 1k checks/s, which this VM sustains (10k/s it does not: see the health rows).
	gen "$chk" $((nchk / BIG_D)) "$BIG_D" 127 1 9000 "{interval: 10s, timeout: 2s}" $((nbig / BIG_D))
	{ cat "$big.yaml"; sed 1d "$chk.yaml"; } >"$W/m.yaml"
	ns_new bm
	bg_in bm "$W/bs.log" benchsrv 9000
	BS=$PID
	bg_in bm "$log" ezlb run -c "$W/m.yaml" --state-dir "$W/st-bm"
	daemon=$PID
	wait_lines "$log" 'reconcile: ' 1 300 || fail "memory: no first reconcile"
	sleep 10
	hwm=$(hwm_kb "$daemon") rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon/status")
	[ "$(ip netns exec bm ipvsadm -Sn | grep -c '^-a')" = $((nbig + nchk)) ] ||
		fail "memory: the kernel does not hold $((nbig + nchk)) destinations"
	say "  VmHWM $hwm kB, VmRSS $rss kB"
	stop_pid "$daemon"
	stop_pid "$BS"
	ns_del bm
	row "Peak RSS (VmHWM) of the daemon: $(((nbig + nchk) / 1000))k destinations, $((nchk / 1000))k of them checked every 10 s" \
		"$((hwm / 1024)) MB" "—" "—" "1"

	say "idle daemon: 100 x 10, no checks, CPU over $IDLE_WINDOW s"
	gen "$W/idle" 100 10 100 64 8080 "{enabled: false}"
	ns_new bi
	bg_in bi "$W/idle.log" ezlb run -c "$W/idle.yaml" --state-dir "$W/st-bi"
	daemon=$PID
	wait_lines "$W/idle.log" 'reconcile: ' 1 60 || fail "idle: no first reconcile"
	sleep 3
	local t0 t1
	t0=$(ticks "$daemon")
	sleep "$IDLE_WINDOW"
	t1=$(ticks "$daemon")
	stop_pid "$daemon"
	ns_del bi
	row "Idle daemon, 1k destinations, no checks: CPU ticks (1/100 s) in $IDLE_WINDOW s" "$((t1 - t0))" "—" "—" "1"
}

# ---- 8. probes during the resync of a 100k table ----

# resync_run BIN LABEL: BIN run with the 100k table (unchecked) plus 1k targets checked every 1 s
# and resync_interval 2s, over WINDOW s after the start has settled. Sets R_GAP99 and R_GAPMAX
# (the gap deviation between two checks of one target, seen by the targets).
resync_run() {
	local bin=$1 log=$W/resync-$2.log daemon
	ns_new br
	rm -f "$W/bs.out"
	bg_in br "$W/bs.log" benchsrv -i 1000 -o "$W/bs.out" 9000
	BS=$PID
	bg_in br "$log" "$bin" run -c "$W/r.yaml" --state-dir "$W/st-br" --log-level debug
	daemon=$PID
	wait_lines "$log" 'reconcile: ' 1 300 || fail "resync $2: no first reconcile"
	sleep 8 # past the first round and the first resyncs
	window "$daemon"
	kill -USR1 "$daemon"
	sleep 0.5
	R_GAP99=$GAP99 R_GAPMAX=$(bs_field gap_dev_max_ms)
	say "  $2: $(grep 'health: ' "$log" | tail -n 1 | sed 's/.*health: //')"
	grep -E 'reconcile|resync: kernel|ipvs: .*dump|took' "$log" | tail -n 6 | sed "s/^/bench:   $2 log: /"
	[ "$(dests br)" = $((BIG_S * BIG_D)) ] || fail "resync $2: the kernel does not hold $((BIG_S * BIG_D)) destinations"
	say "  $2: gap deviation p99 $R_GAP99 ms, max ${R_GAPMAX:-n/a} ms; $(grep 'resync: kernel table read' "$log" | tail -n 1 | sed 's/.*: //')"
	stop_pid "$daemon"
	stop_pid "$BS"
	ns_del br
}

sec_resync() {
	local nchk=1000 nbig=$((BIG_S * BIG_D - 1000))
	say "resync: $((BIG_S * BIG_D)) destinations, $nchk checked every 1 s, resync every 2 s"
	gen "$W/r-big" $((nbig / BIG_D)) "$BIG_D" 100 64 8080 "{enabled: false}"
	gen "$W/r-chk" $((nchk / BIG_D)) "$BIG_D" 127 1 9000 "{interval: 1s, timeout: 500ms}" $((nbig / BIG_D))
	{ echo "global: {resync_interval: 2s}"; sed 1q "$W/r-big.yaml"; sed 1d "$W/r-big.yaml"; sed 1d "$W/r-chk.yaml"; } >"$W/r.yaml"
	local label="1k checks/s while the 100k table is resynced every 2 s: gap deviation p99 (max) seen by the targets"
	resync_run ezlb after
	local after="$R_GAP99 ms ($R_GAPMAX ms)"
	if [ -x /usr/sbin/ezlb-before ]; then
		resync_run /usr/sbin/ezlb-before before
		row "$label; reference: ezlb before the fix, which read the table in one go" "$after" \
			"$R_GAP99 ms ($R_GAPMAX ms)" "$(ratio "$R_GAP99" "${after%% *}")" "1"
	else
		row "$label" "$after" "—" "—" "1"
	fi
}

# ---- 10. observing: /metrics and `ezlb status` of the 100k table ----

# http_get NS ADDR PORT PATH OUT: one HTTP/1.0 GET from inside NS (bash's /dev/tcp, busybox cat);
# prints "MS BYTES" (the whole answer, headers included).
http_get() {
	ip netns exec "$1" bash -c 't0=${EPOCHREALTIME/./}; exec 3<>/dev/tcp/$0/$1 || exit 1
		printf "GET %s HTTP/1.0\r\nHost: bench\r\n\r\n" "$2" >&3; cat <&3 >"$3"
		t1=${EPOCHREALTIME/./}; echo "$(((t1 - t0) / 1000)) $(wc -c <"$3")"' "$2" "$3" "$4" "$5"
}

# observe_load NS WHAT: every second, a scrape (metrics) or a full `ezlb status` (status), in the
# background until observe_stop.
observe_load() {
	local ns=$1 what=$2
	(while :; do
		if [ "$what" = metrics ]; then http_get "$ns" 127.0.0.1 9521 /metrics "$W/ol.out" >/dev/null
		else ip netns exec "$ns" ezlb status --state-dir "$W/st-$ns" >"$W/ol.out" 2>&1; fi
		sleep 1
	done) &
	OL=$!
}

# observe_lateness NS DAEMON LOG WHAT: probe lateness and the targets' gap deviation over WINDOW
# s, with WHAT (none, metrics, status) every second. Sets O_L99 (ezlb's own p99 over the window)
# and O_GAP99.
observe_lateness() {
	local ns=$1 daemon=$2 log=$3 what=$4
	[ "$what" != none ] && observe_load "$ns" "$what"
	kill -USR1 "$daemon"
	window "$daemon"
	kill -USR1 "$daemon"
	[ "$what" != none ] && { kill "$OL" 2>/dev/null; wait "$OL" 2>/dev/null; }
	sleep 0.5
	O_GAP99=$GAP99
	O_L99=$(grep 'health: ' "$log" | tail -n 1 | sed -n 's/.*lateness p50 [0-9.]* ms p99 \([0-9.]*\) ms.*/\1/p')
	say "  $what every second: gap deviation p99 $O_GAP99 ms; ezlb lateness p99 since the start $O_L99 ms"
}

sec_observe() {
	local nchk=1000 nbig=$((BIG_S * BIG_D - 1000)) log=$W/observe.log daemon ne i r
	local -a EM=() EB=() NM=() NB=() SM=() SB=() IM=() IB=()
	say "observe: $((BIG_S * BIG_D)) destinations, $nchk checked every 1 s, /metrics and ezlb status"
	gen "$W/o-big" $((nbig / BIG_D)) "$BIG_D" 100 64 8080 "{enabled: false}"
	gen "$W/o-chk" $((nchk / BIG_D)) "$BIG_D" 127 1 9000 "{interval: 1s, timeout: 500ms}" $((nbig / BIG_D))
	{ echo 'global: {metrics: {listen: "127.0.0.1:9521"}}'; sed 1q "$W/o-big.yaml"; sed 1d "$W/o-big.yaml"; sed 1d "$W/o-chk.yaml"; } >"$W/o.yaml"
	ns_new bo
	rm -f "$W/bs.out"
	bg_in bo "$W/bs.log" benchsrv -i 1000 -o "$W/bs.out" 9000
	BS=$PID
	bg_in bo "$log" ezlb run -c "$W/o.yaml" --state-dir "$W/st-bo"
	daemon=$PID
	wait_lines "$log" 'reconcile: ' 1 300 || fail "observe: no first reconcile"
	ne=""
	if command -v prometheus-node-exporter >/dev/null; then
		bg_in bo "$W/ne.log" prometheus-node-exporter --collector.disable-defaults --collector.ipvs \
			--web.listen-address=127.0.0.1:9100
		ne=$PID
	fi
	sleep 8 # past the first round
	for i in 1 2 3 4 5; do
		r=$(http_get bo 127.0.0.1 9521 /metrics "$W/m-ezlb.out"); EM+=("${r% *}"); EB+=("${r#* }")
		if [ -n "$ne" ]; then
			r=$(http_get bo 127.0.0.1 9100 /metrics "$W/m-ne.out"); NM+=("${r% *}"); NB+=("${r#* }")
		fi
		r=$("$SELF" time /dev/null "$W/s-ezlb.out" ip netns exec bo ezlb status --state-dir "$W/st-bo")
		SM+=("${r#* }"); SB+=("$(wc -c <"$W/s-ezlb.out")")
		r=$("$SELF" time /dev/null "$W/s-ipvsadm.out" ip netns exec bo ipvsadm -Ln --stats)
		IM+=("${r#* }"); IB+=("$(wc -c <"$W/s-ipvsadm.out")")
	done
	grep -q '^HTTP/1.[01] 200' "$W/m-ezlb.out" || fail "observe: ezlb /metrics did not answer 200: $(head -c 200 "$W/m-ezlb.out")"
	say "  ezlb /metrics: $(grep -c '^ezlb_backend_up{' "$W/m-ezlb.out") ezlb_backend_up series"
	local em eb nm nb sm sb im ib
	em=$(median "${EM[@]}") eb=$(median "${EB[@]}")
	sm=$(($(median "${SM[@]}") / 1000)) sb=$(median "${SB[@]}")
	im=$(($(median "${IM[@]}") / 1000)) ib=$(median "${IB[@]}")
	local runs="5 (median)"
	if [ -n "$ne" ]; then
		nm=$(median "${NM[@]}") nb=$(median "${NB[@]}")
		row "Scrape of /metrics, $((BIG_S * BIG_D / 1000))k destinations: time (bytes)" "$em ms ($((eb / 1024)) KiB)" \
			"prometheus-node-exporter --collector.ipvs: $nm ms ($((nb / 1024)) KiB)" "$(ratio "$nm" "$em")" "$runs"
	else
		row "Scrape of /metrics, $((BIG_S * BIG_D / 1000))k destinations: time (bytes)" "$em ms ($((eb / 1024)) KiB)" \
			"prometheus-node-exporter: n/a (not installed)" "—" "$runs"
	fi
	row "\`ezlb status\` of the $((BIG_S * BIG_D / 1000))k table (text): time (bytes)" "$sm ms ($((sb / 1024)) KiB)" \
		"ipvsadm -Ln --stats: $im ms ($((ib / 1024)) KiB)" "$(ratio "$im" "$sm")" "$runs"
	[ -n "$ne" ] && stop_pid "$ne"
	observe_lateness bo "$daemon" "$log" none
	local g0=$O_GAP99
	observe_lateness bo "$daemon" "$log" metrics
	local g1=$O_GAP99
	observe_lateness bo "$daemon" "$log" status
	local g2=$O_GAP99
	row "1k checks/s, $((BIG_S * BIG_D / 1000))k table: gap deviation p99 seen by the targets, with nothing / a scrape / a full \`ezlb status\` every second" \
		"$g0 ms / $g1 ms / $g2 ms" "—" "—" "1 x ${WINDOW} s each"
	stop_pid "$daemon"
	stop_pid "$BS"
	ns_del bo
}

# ---- 7. flapping: the kernel's trash of deleted destinations ----

# Every deleted destination goes to a per-namespace trash list (ip_vs_ctl.c: __ip_vs_del_dest) and
# stays there while connections use it and for 2 to 3 minutes after (IP_VS_DEST_TRASH_PERIOD is
# 120 s); every add first scans that list for the same destination (ip_vs_trash_get_dest).
flap_cfgs() { # flap set I: FLAP_S x 100 destinations up (flapI), removed (.down), quiesced (.q)
	local p=$W/flap$1
	gen "$p" "$FLAP_S" 100 100 $((120 + $1)) 8080 "" $((5000 + 100 * $1))
	awk '/^    backends:/ { print "    backends: []"; skip = 1; next } skip && /^      - / { next } { skip = 0; print }' \
		"$p.yaml" >"$p.down.yaml"
	sed 's/weight: [0-9]*}/weight: 0}/' "$p.yaml" >"$p.q.yaml"
}

# flap_add NS I: times adding flap set I (new destinations) in NS; appends to ADDS.
flap_add() {
	ezonce "$1" "$W/flap$2.yaml"
	expect_out "flap add" "^once: $((FLAP_S * 100 + FLAP_S)) changes \\($((FLAP_S * 100 + FLAP_S)) added"
	ADDS+=("$MS")
}

# flap_rounds NS LABEL: 3 rounds of "flap set 0 all down, then all up" with on_failure remove
# (deletes, re-adds) and quiesce (weight 0, weight back). Sets F_RM and F_Q (medians, ms).
flap_rounds() {
	local ns=$1 label=$2 r rm=() q=() n=$((FLAP_S * 100)) down up
	for r in 1 2 3; do
		ezonce "$ns" "$W/flap0.down.yaml"; down=$MS
		expect_out "flap remove ($label)" "^once: $n changes \\(0 added, 0 edited, $n deleted\\), 0 failed$"
		ezonce "$ns" "$W/flap0.yaml"; up=$MS
		expect_out "flap re-add ($label)" "^once: $n changes \\($n added, 0 edited, 0 deleted\\), 0 failed$"
		rm+=("$(awk -v a="$down" -v b="$up" 'BEGIN { print a + b }')")
		say "  $label round $r, remove: down $down ms, up $up ms"
		ezonce "$ns" "$W/flap0.q.yaml"; down=$MS
		expect_out "flap quiesce ($label)" "^once: $n changes \\(0 added, $n edited, 0 deleted\\), 0 failed$"
		ezonce "$ns" "$W/flap0.yaml"; up=$MS
		expect_out "flap unquiesce ($label)" "^once: $n changes \\(0 added, $n edited, 0 deleted\\), 0 failed$"
		q+=("$(awk -v a="$down" -v b="$up" 'BEGIN { print a + b }')")
		say "  $label round $r, quiesce: down $down ms, up $up ms"
	done
	F_RM=$(median "${rm[@]}") F_Q=$(median "${q[@]}")
}

sec_flap() {
	local n=$((FLAP_S * 100)) t i base_add
	for i in 0 1 2; do flap_cfgs $i; done
	echo "services: []" >"$W/empty.yaml"
	say "flap: $n destinations, trash empty (a fresh namespace for each add)"
	ADDS=()
	for i in 1 2 0; do
		ns_new bf
		flap_add bf 0
		[ "$i" = 0 ] || ns_del bf
	done
	base_add=$(median "${ADDS[@]}")
	say "  adds: ${ADDS[*]} ms"
	flap_rounds bf "trash empty"
	ns_del bf
	row "Flapping: $n backends down then up, on_failure: remove ($n deletes + $n re-adds), trash empty" \
		"$(fmt_ms "$F_RM")" "on_failure: quiesce ($((2 * n)) weight edits): $(fmt_ms "$F_Q")" "$(ratio "$F_Q" "$F_RM")" "3"
	for t in $TRASH; do
		say "flap: $n destinations after $t deletes (the trash holds $t)"
		local p=$W/trash$t
		gen "$p" $((t / 100)) 100 100 64 8080 ""
		ns_new bf
		ezonce bf "$p.yaml"
		expect_rc0 "flap: programming $t"
		ezonce bf "$W/empty.yaml"
		expect_out "flap: deleting $t" '^once: [0-9]+ changes \(0 added, 0 edited, [0-9]+ deleted\), 0 failed$'
		ADDS=()
		for i in 1 2 0; do # each set is new to the kernel; 1 and 2 are deleted again (+1k in trash)
			flap_add bf "$i"
			[ "$i" = 0 ] || ezonce bf "$W/empty.yaml"
		done
		say "  adds: ${ADDS[*]} ms"
		F_ADD=$(median "${ADDS[@]}")
		flap_rounds bf "trash $t"
		ns_del bf
		row "Add $n new destinations (ezlb once) after $t deletes (the kernel's trash holds $t)" \
			"$(fmt_ms "$F_ADD") ($(awk -v a="$F_ADD" -v b="$base_add" 'BEGIN { printf "%.1f", a / b }')x the time)" \
			"same adds, trash empty: $(fmt_ms "$base_add")" "$(ratio "$base_add" "$F_ADD")" "3"
		row "Flapping: $n backends down then up, on_failure: remove, trash holds $t" "$(fmt_ms "$F_RM")" \
			"on_failure: quiesce: $(fmt_ms "$F_Q")" "$(ratio "$F_Q" "$F_RM")" "3"
	done
}

# ---- 9. application checks: HTTP, HTTPS, exec vs keepalived; detection under traffic ----

# app_ka_url KIND TIMEOUT: keepalived's HTTP_GET or SSL_GET block (for GEN_KA_CHECK): GET
# /healthz, status_code 200, connect_timeout TIMEOUT, and section 5's retry 3, delay_before_retry 1.
app_ka_url() {
	# shellcheck disable=SC2028 # the \n stay as they are: awk -v turns them into newlines
	echo "$1"' {\n            url {\n                path /healthz\n                status_code 200\n            }\n            connect_timeout '"$2"'\n            retry 3\n            delay_before_retry 1\n        }'
}
APP_KA_MISC='MISC_CHECK {\n            misc_path /bin/true\n            misc_timeout 1\n        }'

# app_runs KIND N IV HC KA_CHECK: APP_RUNS runs of ezlb (health_check HC) and keepalived
# (KA_CHECK) checking N targets 127.1.x.y:9000 every IV s (services of 100); ACC holds their figures.
app_runs() {
	local kind=$1 n=$2 iv=$3 hc=$4 kachk=$5 p=$W/app-$1 r d=100
	[ "$n" -lt 100 ] && d=$n
	GEN_KA=1 GEN_KA_DELAY=$iv GEN_KA_CHECK=$kachk gen "$p" $((n / d)) "$d" 127 1 9000 "$hc"
	ACC=()
	for r in $(seq 1 "$APP_RUNS"); do
		say "  $kind run $r of $APP_RUNS"
		health_ezlb "$n" "$iv" "$p"
		# its stats before and after the window: probes failed in it show as a difference
		grep 'health: ' "$W/health-ezlb-$n-$iv.log" | sed 's/.*health: /bench:   ezlb stats: /'
		acc E_CPU E_USR E_SYS E_PER E_RATE E_LEFT E_HWM E_VM E_VMPER E_CH E_CHPER E_BSCPU E_FULLPER
		health_keepalived "$n" "$iv" "$p"
		[ -n "$K_CPU" ] && acc K_CPU K_USR K_SYS K_PER K_RATE K_LEFT K_HWM K_VM K_VMPER K_CH K_CHPER K_BSCPU K_FULLPER
	done
	[ -n "${ACC[K_CPU]:-}" ] && KNA="" || KNA=n/a
}

# app_url_rows KIND N IV LABEL KA_NAME: the rows of an http or https run
app_url_rows() {
	local kind=$1 n=$2 iv=$3 ka=$5 k=$KNA runs="$APP_RUNS x ${WINDOW} s" h
	h="$4, $(awk -v n="$n" 'BEGIN { if (n >= 1000) print n / 1000 "k"; else print n }') targets every $iv s ($((n / iv))/s due)"
	row "$h: CPU per check (checker process, user + kernel)" "$(med E_PER) ms" \
		"keepalived $ka, checker process: ${k:-$(med K_PER) ms}" "$(ratio "$(med K_PER)" "$(med E_PER)")" "$runs"
	row "$h: CPU, % of one core (user + kernel)" "$(med E_CPU)% ($(med E_USR) + $(med E_SYS))" \
		"keepalived: ${k:-$(med K_CPU)% ($(med K_USR) + $(med K_SYS))}" \
		"$(ratio "$(med K_CPU)" "$(med E_CPU)")" "$runs"
	row "$h: checks done per second (200 answers counted by the targets; the target process's own CPU)" \
		"$(med E_RATE) (target: $(med E_BSCPU)%)" "keepalived: ${k:-$(med K_RATE) (target: $(med K_BSCPU)%)}" "—" "$runs"
	row "$h: whole VM CPU per check (every process and the kernel, the target included)" "$(med E_VMPER) ms" \
		"keepalived: ${k:-$(med K_VMPER) ms}" "$(ratio "$(med K_VMPER)" "$(med E_VMPER)")" "$runs"
	[ "$kind" = https ] &&
		row "$h: full TLS handshakes per check (counted by the target: not SSL_session_reused)" \
			"$(med E_FULLPER)" "keepalived: ${k:-$(med K_FULLPER)}" "$(ratio "$(med K_FULLPER)" "$(med E_FULLPER)")" "$runs"
	row "$h: destinations left in the kernel at the end (every target answers 200)" "$(med E_LEFT) of $n" \
		"keepalived: ${k:-$(med K_LEFT) of $n}" "—" "$runs"
	row "$h: peak RSS" "$(($(med E_HWM) / 1024)) MB" \
		"keepalived, parent + checker: ${k:-$(($(med K_HWM) / 1024)) MB}" \
		"$(ratio "$(med K_HWM)" "$(med E_HWM)")" "$runs"
}

# ---- detection: a backend killed under client traffic ----

# det_link NS HOSTIF PREFIX: NS on a veth pair to the director ad: PREFIX.1 there, PREFIX.2 in NS
# (its default route).
det_link() {
	ns_new "$1"
	if ! { ip -n ad link add "$2" type veth peer name eth0 netns "$1" &&
		ip -n ad addr add "$3.1/24" dev "$2" && ip -n ad link set "$2" up &&
		ip -n "$1" addr add "$3.2/24" dev eth0 && ip -n "$1" link set eth0 up &&
		ip -n "$1" route add default via "$3.1"; }; then
		fail "detection: link $1"
	fi
}
# det_serve I: backend I's servers: lbnet on :8080 (the traffic: answers "bI") and benchsrv in
# http mode on :8081 (the health check, each probe logged in det-bsI.log); pids in DET_PIDS[I].
det_serve() {
	local pid
	pid=$(ip netns exec "ab$1" lbnet serve -d 0.0.0.0:8080 "b$1") || fail "detection: lbnet serve b$1"
	bg_in "ab$1" "$W/det-bs$1.log" benchsrv -a -m http 8081
	DET_PIDS[$1]="$pid $PID"
}
det_net() {
	ns_new ad
	if ! { ip -n ad link add vip0 type dummy && ip -n ad link set vip0 up &&
		ip -n ad addr add 10.0.0.1/32 dev vip0; }; then
		fail "detection: VIP"
	fi
	ip netns exec ad sysctl -qw net.ipv4.ip_forward=1 || fail "detection: forwarding"
	det_link ac vac 10.2.0
	local i
	for i in 1 2 3; do
		det_link "ab$i" "vb$i" "10.1.$i"
		det_serve "$i"
	done
}
det_net_del() {
	local i p
	for i in 1 2 3; do
		for p in ${DET_PIDS[$i]}; do stop_pid "$p"; done
		ip netns delete "ab$i"
	done
	ip netns delete ac
	ns_del ad
}
# det_up: backend 1 (10.1.1.2:8080) is in the table with a weight above 0
det_up() { ip netns exec ad ipvsadm -Sn | grep -Eq -- '-r 10\.1\.1\.2:8080 .*-w [1-9]'; }

# det_cycle LABEL OFFSET_MS: client traffic through the VIP for DET_FOR s; 1 s in, the script waits
# for the next check of backend 1 (a line in its benchsrv's log), and OFFSET_MS after that check
# kills backend 1's servers (SIGKILL: new connections to it are refused), then polls the table
# until backend 1 is out (deleted, or weight 0). Appends seconds to DT, failed connections to DF,
# all connections to DN. Then backend 1 is restarted and awaited back in the table.
det_cycle() {
	local label=$1 off=$2 out=$W/det-client.out blog=$W/det-bs1.log cpid t0 t1 tp n0 left p r
	ip netns exec ac lbnet client -t 1000 -w 10 10.0.0.1:80 --for "$DET_FOR" >"$out" 2>&1 &
	cpid=$!
	sleep 1
	n0=$(grep -c '^accept ' "$blog")
	wait_lines "$blog" '^accept ' $((n0 + 1)) 15 || fail "detection $label: no check of backend 1 in 15 s"
	tp=$(grep '^accept ' "$blog" | tail -n 1 | awk '{ print $2 }')
	left=$((tp + off - ${EPOCHREALTIME/./} / 1000))
	[ "$left" -gt 0 ] && sleep "$(awk -v ms="$left" 'BEGIN { printf "%.3f\n", ms / 1000 }')"
	t0=${EPOCHREALTIME/./}
	for p in ${DET_PIDS[1]}; do kill -KILL "$p"; done
	t1=""
	while [ $((${EPOCHREALTIME/./} - t0)) -lt $((DET_FOR * 1000000)) ]; do
		det_up || { t1=${EPOCHREALTIME/./}; break; }
		sleep 0.05
	done
	for p in ${DET_PIDS[1]}; do wait "$p" 2>/dev/null; done
	wait "$cpid"
	r=$(awk '$1 == "fail" { f = $2 } $1 ~ /^b[0-9]$/ { n += $2 } END { print f + 0, n + f }' "$out")
	if [ -z "$t1" ]; then
		fail "detection $label: backend 1 still in the table $DET_FOR s after its death"
	else
		DT+=("$(awk -v u=$((t1 - t0)) 'BEGIN { printf "%.2f\n", u / 1e6 }')")
		DF+=("${r% *}") DN+=("${r#* }")
		say "  $label: killed $((t0 / 1000 - tp)) ms after a check, removed" \
			"$(fmt_ms "$(awk -v u=$((t1 - t0)) 'BEGIN { print u / 1000 }')") after the kill; client: $(tr '\n' ' ' <"$out")"
	fi
	det_serve 1
	local end=$((EPOCHSECONDS + 60))
	until det_up; do
		[ "$EPOCHSECONDS" -ge "$end" ] && { fail "detection $label: backend 1 not back within 60 s"; break; }
		sleep 0.2
	done
	sleep 1
}

# det_tool TOOL FAST: DET_RUNS cycles with ezlb or keepalived, http check every 5 s on :8081,
# 3 failures to go down, re-checks after a failure every FAST s. Sets DT, DF, DN.
det_tool() {
	local tool=$1 fast=$2 log=$W/det-$1-$2.log pid end i
	DT=() DF=() DN=()
	rm -rf "$W/st-ad" "$W/ka.pid" "$W/kac.pid"
	if [ "$tool" = ezlb ]; then
		{
			echo "services:"
			echo "  - name: web"
			echo "    listen: 10.0.0.1:80"
			echo "    scheduler: wrr"
			# the defaults (interval 5s, timeout 3s, fail_count 3, rise_count 2, fast_interval 1s)
			if [ "$fast" = 1 ]; then
				echo '    health_check: {type: http, port: 8081, http: {path: /healthz, status: "200-299"}}'
			else
				echo "    health_check: {type: http, port: 8081, fast_interval: ${fast}s, http: {path: /healthz, status: \"200-299\"}}"
			fi
			echo "    backends:"
			for i in 1 2 3; do echo "      - {address: 10.1.$i.2:8080}"; done
		} >"$W/det.yaml"
		bg_in ad "$log" ezlb run -c "$W/det.yaml" --state-dir "$W/st-ad"
		pid=$PID
	else
		command -v keepalived >/dev/null || return 0
		{
			printf 'global_defs {\n    router_id ezlb_bench\n}\nvirtual_server 10.0.0.1 80 {\n'
			printf '    delay_loop 5\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n'
			for i in 1 2 3; do
				printf '    real_server 10.1.%d.2 8080 {\n        weight 1\n        HTTP_GET {\n' "$i"
				printf '            url {\n                path /healthz\n                status_code 200\n            }\n'
				printf '            connect_port 8081\n            connect_timeout 3\n            retry 2\n'
				printf '            delay_before_retry %d\n        }\n    }\n' "$fast"
			done
			printf '}\n'
		} >"$W/det.ka.conf"
		bg_in ad "$log" keepalived -n -l -G -C -f "$W/det.ka.conf" -p "$W/ka.pid" -c "$W/kac.pid"
		pid=$PID
	fi
	end=$((EPOCHSECONDS + 60))
	until [ "$(dests ad)" = 3 ]; do
		[ "$EPOCHSECONDS" -ge "$end" ] && { fail "detection $tool: 3 backends not in the table; log: $(tail -n 3 "$log" | tr '\n' ' ')"; break; }
		sleep 0.5
	done
	sleep 6 # past the first round of checks
	# Run i of R dies (2i - 1) / 2R of the 5 s interval after a check: the phases spread evenly.
	for i in $(seq 1 "$DET_RUNS"); do
		det_cycle "$tool, re-checks every $fast s, run $i" $(((2 * i - 1) * 5000 / (2 * DET_RUNS)))
	done
	grep -E 'down|up' "$log" | grep -E '10\.1\.1\.2' | tail -n 4 | sed "s/^/bench:   $tool log: /"
	[ "$tool" = keepalived ] && [ -s "$W/kac.pid" ] && stop_pid "$(cat "$W/kac.pid")"
	stop_pid "$pid"
	ip netns exec ad ipvsadm -C # ezlb leaves its table when it stops: the next tool starts empty
}

# det_rows FAST LABEL KA_LABEL: both tools with re-checks every FAST s, and their rows
det_rows() {
	local fast=$1 e_t e_f k_t="" k_f="" k_tc="n/a" k_fc="n/a" runs=$DET_RUNS
	det_tool ezlb "$fast"
	e_t=$(median "${DT[@]}") e_f=$(median "${DF[@]}")
	local e_tc e_fc
	e_tc="${e_t:-n/a} s (runs: ${DT[*]})" e_fc="$e_f of $(median "${DN[@]}") (runs: ${DF[*]})"
	det_tool keepalived "$fast"
	if [ "${#DT[@]}" -gt 0 ]; then
		k_t=$(median "${DT[@]}") k_f=$(median "${DF[@]}")
		k_tc="$k_t s (runs: ${DT[*]})" k_fc="$k_f of $(median "${DN[@]}") (runs: ${DF[*]})"
	fi
	local h="Detection, 1 of 3 backends killed under client traffic through the VIP (NAT), http check every 5 s, 3 failures, $2"
	row "$h: death to removal from the table, median" "$e_tc" "keepalived HTTP_GET, $3: $k_tc" \
		"$(ratio "$k_t" "$e_t")" "$runs"
	row "$h: failed client connections in ${DET_FOR} s (of all made), median" "$e_fc" "keepalived: $k_fc" \
		"$(ratio "$k_f" "$e_f")" "$runs"
}

sec_appcheck() {
	local n iv spec
	# HTTP at the rate asked for (1k/s), and at half of it, which keepalived keeps up with.
	for spec in $APP_HTTP; do
		n=${spec%%:*} iv=${spec#*:}
		say "appcheck: HTTP GET /healthz, $n targets every $iv s, $APP_RUNS runs of ${WINDOW} s each"
		BS_ARGS=(-m http) BS_RATE=answer_rate
		app_runs http "$n" "$iv" "{type: http, interval: ${iv}s, timeout: 500ms, http: {path: /healthz, status: \"200-299\"}}" \
			"$(app_ka_url HTTP_GET 0.5)"
		app_url_rows http "$n" "$iv" "App check HTTP GET /healthz" HTTP_GET
	done
	# TLS under TCG: a full handshake costs both ends milliseconds of CPU (see the notes), so this
	# runs at a rate the VM sustains with keepalived's full handshakes, with a 2 s timeout.
	n=${APP_HTTPS%%:*} iv=${APP_HTTPS#*:}
	say "appcheck: HTTPS GET /healthz, $n targets every $iv s, $APP_RUNS runs of ${WINDOW} s each"
	BS_ARGS=(-m https -c /etc/benchsrv/cert.pem -k /etc/benchsrv/key.pem)
	app_runs https "$n" "$iv" "{type: https, interval: ${iv}s, timeout: 2s, http: {path: /healthz, status: \"200-299\", tls_verify: false}}" \
		"$(app_ka_url SSL_GET 2)"
	app_url_rows https "$n" "$iv" "App check HTTPS GET /healthz" SSL_GET
	n=$APP_EXEC
	say "appcheck: exec /bin/true, $n targets every 1 s, $APP_RUNS runs of ${WINDOW} s each"
	BS_ARGS=() BS_RATE=forks
	app_runs exec "$n" 1 '{type: exec, interval: 1s, timeout: 500ms, exec: {command: [/bin/true]}}' "$APP_KA_MISC"
	local h="App check exec /bin/true, $n targets every 1 s ($n/s due)" k=$KNA runs="$APP_RUNS x ${WINDOW} s"
	row "$h: CPU per check, checker and the children it reaped (utime + stime + cutime + cstime)" \
		"$(med E_CHPER) ms" "keepalived MISC_CHECK, checker and its children: ${k:-$(med K_CHPER) ms}" \
		"$(ratio "$(med K_CHPER)" "$(med E_CHPER)")" "$runs"
	row "$h: CPU per check, checker process alone (user + kernel)" "$(med E_PER) ms" \
		"keepalived, checker process: ${k:-$(med K_PER) ms}" "$(ratio "$(med K_PER)" "$(med E_PER)")" "$runs"
	row "$h: checks done per second (processes the kernel created in the window)" "$(med E_RATE)" \
		"keepalived: ${k:-$(med K_RATE)}" "—" "$runs"
	row "$h: whole VM CPU per check (every process and the kernel)" "$(med E_VMPER) ms" \
		"keepalived: ${k:-$(med K_VMPER) ms}" "$(ratio "$(med K_VMPER)" "$(med E_VMPER)")" "$runs"
	row "$h: destinations left in the kernel at the end" "$(med E_LEFT) of $n" \
		"keepalived: ${k:-$(med K_LEFT) of $n}" "—" "$runs"
	row "$h: peak RSS" "$(($(med E_HWM) / 1024)) MB" \
		"keepalived, parent + checker: ${k:-$(($(med K_HWM) / 1024)) MB}" \
		"$(ratio "$(med K_HWM)" "$(med E_HWM)")" "$runs"
	BS_RATE=rate
	say "appcheck: detection, 1 of 3 backends killed under traffic, $DET_RUNS runs per tool and setting"
	declare -gA DET_PIDS=()
	det_net
	det_rows 1 "fast re-checks every 1 s (the defaults)" "delay_loop 5, retry 2, delay_before_retry 1"
	det_rows 5 "no fast re-checks (fast_interval 5s)" "delay_loop 5, retry 2, delay_before_retry 5"
	det_net_del
}

# ---- multi: K directors behind an ECMP router, each one's forwarding CPU ----

# The topology (made fresh for each K; addresses 10.33.x.y):
#   mcl (client) mcl0 10.33.1.2 -- mrc 10.33.1.1 mr (router: ip_forward, fib_multipath_hash_policy 1,
#     VIP/32 via every director, one nexthop each) mrl 10.33.0.1 -- pr [bridge mbr in ns mlan]
#   [mbr] pdI -- dlI 10.33.0.1I mdI (director I: VIP on lo, ezlb once: udp VIP:5000, dr, mh)
#   [mbr] pbJ -- blJ 10.33.0.2J mbJ (backend J: VIP on lo, arp_ignore 1, arp_announce 2, lbnet sink)
# Every veth end has GRO on and TSO off (veth then queues what it receives to its NAPI instance,
# Linux >= 5.13) and threaded NAPI (/sys/class/net/IF/threaded): each interface's receive
# processing runs in a kthread "napi/IF-ID", so the kernel's forwarding work of director I (IP
# input, IPVS, the DR transmit) is the CPU of the thread of dlI.
MULTI_VIP=10.33.9.1 MULTI_NB=3 MULTI_FLOWS=1024
MULTI_IV=10 # lbnet blast -i: ms between the client's wake-ups (bursts of PPS * IV / 1000)
# MULTI_REP windows of MULTI_WIN s each per K; a director's figure is its median window (one
# window disturbed by the host, which runs 2 emulated vCPUs on 2 cores, does not decide it).
if [ -z "$quick" ]; then MULTI_PPS=4000 MULTI_WIN=5 MULTI_REP=3 MULTI_KS="1 2 3"; else MULTI_PPS=2000 MULTI_WIN=2 MULTI_REP=1 MULTI_KS="1 2"; fi
MULTI_NS="mcl mr mlan md1 md2 md3 mb1 mb2 mb3"

# m_veth NS1 IF1 NS2 IF2: a veth pair, both ends up, TSO off on both: veth hands a packet to the
# receiver's NAPI only when the sending end has no TSO (or the packet is a local socket's and the
# receiver does UDP GRO forwarding), else the receiver takes it through the backlog, in the softirq
# of whoever sent it.
m_veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" && ip -n "$1" link set "$2" up &&
		ip -n "$3" link set "$4" up && ip netns exec "$1" ethtool -K "$2" tso off >/dev/null &&
		ip netns exec "$3" ethtool -K "$4" tso off >/dev/null
}
# m_napi NS IF: GRO on (veth then has a NAPI instance), threaded NAPI; 1 (with a message) when
# the kernel refuses.
m_napi() {
	local v
	ip netns exec "$1" ethtool -K "$2" gro on >"$W/ethtool.out" 2>&1 ||
		{ echo "ethtool -K $2 gro on: $(tr '\n' ' ' <"$W/ethtool.out")"; return 1; }
	ip netns exec "$1" sh -c "echo 1 >/sys/class/net/$2/threaded" 2>"$W/thr.out" ||
		{ echo "echo 1 >/sys/class/net/$2/threaded: $(tr '\n' ' ' <"$W/thr.out")"; return 1; }
	v=$(ip netns exec "$1" cat "/sys/class/net/$2/threaded")
	[ "$v" = 1 ] || { echo "/sys/class/net/$2/threaded reads $v after writing 1"; return 1; }
}
# napi_pid IF: the pid of the kthread napi/IF-ID (the newest if several), or nothing.
napi_pid() {
	grep -l "^napi/$1-[0-9]*\$" /proc/[0-9]*/comm 2>/dev/null | sed 's,^/proc/,,; s,/comm$,,' | sort -n | tail -n 1
}
# wakeups PID: context switches so far (a NAPI thread sleeps once per wake-up)
wakeups() { awk '/ctxt_switches/ { n += $2 } END { print n + 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# rx_packets NS IF: packets received by IF so far
rx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets" 2>/dev/null || echo 0; }
# ipvs_inpkts NS: InPkts of the UDP service (exact; the kernel sums its per-CPU counters into
# these every 2 s, in the rate estimator's timer, so they lag by up to 2 s).
ipvs_inpkts() {
	ip netns exec "$1" ipvsadm -Ln --stats --exact -u "$MULTI_VIP:5000" 2>/dev/null |
		awk '$1 == "UDP" { print $4; f = 1 } END { if (!f) print 0 }'
}

# multi_net K PLAIN: the topology with K directors; PLAIN=1 leaves the director-side bridge ports
# (pdI) and the backends' interfaces (blJ) without GRO and threads (the control). Sets MERR.
multi_net() {
	local k=$1 plain=$2 i nh="" cfg=$W/multi.yaml
	MERR=""
	for i in $MULTI_NS; do ns_new "$i"; done
	ip -n mlan link add mbr type bridge && ip -n mlan link set mbr up || { MERR="bridge"; return 1; }
	m_veth mcl mcl0 mr mrc && m_veth mr mrl mlan pr && ip -n mlan link set pr master mbr ||
		{ MERR="client/router links"; return 1; }
	ip -n mcl addr add 10.33.1.2/24 dev mcl0 && ip -n mcl route add default via 10.33.1.1 &&
		ip -n mr addr add 10.33.1.1/24 dev mrc && ip -n mr addr add 10.33.0.1/24 dev mrl ||
		{ MERR="client/router addresses"; return 1; }
	ip netns exec mr sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 ||
		{ MERR="router sysctls"; return 1; }
	{
		echo "services:"
		echo "  - name: blast"
		echo "    listen: $MULTI_VIP:5000"
		echo "    protocol: udp"
		echo "    forward: dr"
		echo "    scheduler: mh"
		echo "    scheduler_flags: [mh-port]"
		echo "    backends:"
		for i in $(seq 1 "$MULTI_NB"); do echo "      - {address: 10.33.0.2$i:5000}"; done
	} >"$cfg"
	for i in $(seq 1 "$MULTI_NB"); do
		m_veth "mb$i" "bl$i" mlan "pb$i" && ip -n mlan link set "pb$i" master mbr &&
			ip -n "mb$i" addr add "10.33.0.2$i/24" dev "bl$i" && ip -n "mb$i" addr add "$MULTI_VIP/32" dev lo &&
			ip -n "mb$i" route add default via 10.33.0.1 &&
			ip netns exec "mb$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 ||
			{ MERR="backend $i"; return 1; }
	done
	for i in $(seq 1 "$k"); do
		m_veth "md$i" "dl$i" mlan "pd$i" && ip -n mlan link set "pd$i" master mbr &&
			ip -n "md$i" addr add "10.33.0.1$i/24" dev "dl$i" && ip -n "md$i" addr add "$MULTI_VIP/32" dev lo &&
			ip -n "md$i" route add default via 10.33.0.1 || { MERR="director $i"; return 1; }
		ezonce "md$i" "$cfg"
		[ "$RC" = 0 ] || { MERR="ezlb once on director $i: $(tail -n 3 "$W/out" | tr '\n' ' ')"; return 1; }
		nh="$nh nexthop via 10.33.0.1$i"
	done
	# shellcheck disable=SC2086 # the nexthops are words
	ip -n mr route add "$MULTI_VIP/32" $nh || { MERR="the multipath route"; return 1; }
	# Threaded NAPI everywhere a packet is received (the control leaves out the hops after the director).
	local l ns ifc
	l="mr:mrc mlan:pr"
	for i in $(seq 1 "$MULTI_NB"); do l="$l mlan:pb$i"; [ "$plain" = 1 ] || l="$l mb$i:bl$i"; done
	for i in $(seq 1 "$k"); do l="$l md$i:dl$i"; [ "$plain" = 1 ] || l="$l mlan:pd$i"; done
	for ns in $l; do
		ifc=${ns#*:} ns=${ns%%:*}
		MERR=$(m_napi "$ns" "$ifc") || { MERR="threaded NAPI cannot be enabled: $MERR"; return 1; }
		[ -n "$(napi_pid "$ifc")" ] || { MERR="no kthread napi/$ifc-* after enabling threaded NAPI on $ifc"; return 1; }
	done
	MNAPI=$l
}
multi_del() { local n; for n in $MULTI_NS; do ip netns delete "$n" 2>/dev/null; done; wait_idle; }

# multi_run K PLAIN: builds the net, blasts MULTI_PPS for MULTI_REP * MULTI_WIN + 3 s, measures
# MULTI_REP consecutive MULTI_WIN windows from 2 s in. Sets M_CPU (per director %, the median of
# its windows, space-separated), M_CPUW (every window's, "w1/w2/w3" per director), M_PK (per director packets in
# the window), M_VM (% of one core), M_SENT, M_RECV, M_TOT (InPkts of all directors, whole run),
# M_LATE, M_WK (per director wake-ups of its thread per second), M_US (per director microseconds
# of its thread per packet), M_OTHER ("IF:%/wake-ups per s ..." for the other threads). 1 on failure.
multi_run() {
	local k=$1 plain=$2 i pids=() t0=() t1=() c0=() c1=() p0=() p1=() m0 w0 w1 busy blast sinks=() ifc
	multi_net "$k" "$plain" || { fail "multi K=$k: $MERR"; multi_del; return 1; }
	for i in $(seq 1 "$MULTI_NB"); do
		bg_in "mb$i" "$W/sink$i.out" lbnet sink -u 0.0.0.0:5000
		sinks+=("$PID")
	done
	sleep 0.5
	ip netns exec mcl lbnet blast -r "$MULTI_PPS" -f "$MULTI_FLOWS" -i "$MULTI_IV" -d $((MULTI_REP * MULTI_WIN + 3)) "$MULTI_VIP:5000" \
		>"$W/blast.out" 2>&1 &
	blast=$!
	sleep 2 # ARP, the IPVS connection of every flow, the threads awake
	local all=()
	for ifc in $MNAPI; do all+=("${ifc#*:}"); done
	for i in "${!all[@]}"; do pids[i]=$(napi_pid "${all[i]}"); done
	for i in $(seq 1 "$k"); do p0+=("$(rx_packets "md$i" "dl$i")"); done
	for i in "${!all[@]}"; do t0[i]=$(ticks "${pids[i]}") c0[i]=$(wakeups "${pids[i]}"); done
	vm_mark
	m0=$VMC
	w0=${EPOCHREALTIME/./}
	# per window: each director thread's ticks at its end (its start is the previous end)
	local r ta=() tb=() wa wb wins=()
	for i in "${!all[@]}"; do ta[i]=${t0[i]}; done
	wa=$w0
	for r in $(seq 1 "$MULTI_REP"); do
		sleep "$MULTI_WIN"
		wb=${EPOCHREALTIME/./}
		for i in "${!all[@]}"; do tb[i]=$(ticks "${pids[i]}"); done
		for i in "${!all[@]}"; do
			[[ ${all[i]} == dl* ]] || continue
			wins[i]="${wins[i]:-}${wins[i]:+ }$(awk -v t=$((tb[i] - ta[i])) -v u=$((wb - wa)) -v hz=$HZ \
				'BEGIN { printf "%.1f", 100 * t / hz / (u / 1e6) }')"
			ta[i]=${tb[i]}
		done
		wa=$wb
	done
	w1=$wb
	for i in "${!all[@]}"; do t1[i]=$(ticks "${pids[i]}") c1[i]=$(wakeups "${pids[i]}"); done
	vm_mark
	busy=$(vm_busy "$m0" "$VMC")
	for i in $(seq 1 "$k"); do p1+=("$(rx_packets "md$i" "dl$i")"); done
	wait "$blast"
	sleep 2.5 # the IPVS counters catch up (see ipvs_inpkts), the last datagrams reach the sinks
	for i in "${sinks[@]}"; do stop_pid "$i"; done
	local secs
	secs=$(awk -v u=$((w1 - w0)) 'BEGIN { print u / 1e6 }')
	M_CPU="" M_CPUW="" M_PK="" M_OTHER="" M_WK="" M_US=""
	for i in "${!all[@]}"; do
		local pct
		pct=$(awk -v t=$((t1[i] - t0[i])) -v s="$secs" -v hz=$HZ 'BEGIN { printf "%.1f", 100 * t / hz / s }')
		case ${all[i]} in
		dl*)
			local n=$((${all[i]#dl} - 1))
			# shellcheck disable=SC2086 # one value per window
			M_CPU="$M_CPU $(median ${wins[i]})" M_CPUW="$M_CPUW ${wins[i]// //}" M_WK="$M_WK $(((c1[i] - c0[i]) * 1000000 / (w1 - w0)))"
			M_US="$M_US $(awk -v t=$((t1[i] - t0[i])) -v p=$((p1[n] - p0[n])) -v hz=$HZ \
				'BEGIN { if (p > 0) printf "%.1f", 1e6 * t / hz / p; else print "n/a" }')"
			;;
		*) M_OTHER="$M_OTHER ${all[i]}:$pct%/$(((c1[i] - c0[i]) * 1000000 / (w1 - w0)))" ;;
		esac
	done
	for i in $(seq 0 $((k - 1))); do M_PK="$M_PK $((p1[i] - p0[i]))"; done
	M_CPU=${M_CPU# } M_CPUW=${M_CPUW# } M_PK=${M_PK# } M_OTHER=${M_OTHER# } M_WK=${M_WK# } M_US=${M_US# }
	M_VM=$(awk -v b="$busy" -v s="$secs" -v hz=$HZ 'BEGIN { printf "%.1f", 100 * b / hz / s }')
	M_SENT=$(awk '/^blast sent/ { print $3 }' "$W/blast.out")
	M_LATE=$(awk '/^blast sent/ { print $9 }' "$W/blast.out")
	M_RECV=$(cat "$W"/sink*.out | awk '/^sink received/ { n += $3 } END { print n + 0 }')
	M_TOT=0
	for i in $(seq 1 "$k"); do M_TOT=$((M_TOT + $(ipvs_inpkts "md$i"))); done
	[ -n "$M_SENT" ] || { fail "multi K=$k: blast: $(tr '\n' ' ' <"$W/blast.out")"; multi_del; return 1; }
	say "  K=$k$([ "$plain" = 1 ] && echo ' (control: next hops not threaded)') $MULTI_PPS pps -i $MULTI_IV: directors' threads ${M_CPU// /, }% (windows ${M_CPUW// /, })" \
		"(wake-ups/s ${M_WK// /, }; us per packet ${M_US// /, }) over ${secs}s; packets in the window: ${M_PK// /, }; whole VM $M_VM%; sent $M_SENT (late $M_LATE)," \
		"directors counted $M_TOT, backends received $M_RECV; other threads (CPU/wake-ups per s): $M_OTHER"
	multi_del
}
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { if (NR) printf "%.1f\n", s / NR }'; }
# m_list PREFIX VALUES SUFFIX: "d1 5.1%, d2 4.9%"
m_list() {
	local i=0 v out=""
	for v in $2; do i=$((i + 1)); out="$out${out:+, }$1$i $v$3"; done
	echo "$out"
}

sec_multi() {
	local k mk r
	declare -A MEAN
	command -v ethtool >/dev/null || { fail "multi: no ethtool in the image (tests/vm/bench.sh copies it from the host)"; return; }
	modprobe ip_vs_mh || { fail "multi: modprobe ip_vs_mh"; return; }
	modprobe bridge 2>/dev/null
	say "multi: K directors (K = ${MULTI_KS// /, }) behind an ECMP router, UDP at $MULTI_PPS pps from $MULTI_FLOWS flows (bursts every $MULTI_IV ms), ${MULTI_WIN} s windows"
	for k in $MULTI_KS; do
		multi_run "$k" 0 || return
		# shellcheck disable=SC2086 # one value per director
		mk=$(mean $M_CPU)
		MEAN[$k]=$mk
		[ "$M_RECV" = "$M_SENT" ] && [ "$M_TOT" = "$M_SENT" ] ||
			say "  (K=$k: sent $M_SENT, directors counted $M_TOT, backends received $M_RECV)"
		row "Scale-out, K=$k director(s) (ECMP, DR, mh), UDP $MULTI_PPS pps from $MULTI_FLOWS flows: kernel forwarding CPU of each director (its NAPI thread), % of one core" \
			"$(m_list d "$M_CPU" %) (mean $mk%)" \
			"each window (%): ${M_CPUW// /, }; packets per director in the ${MULTI_REP} windows: $(m_list d "$M_PK" ""); thread wake-ups/s: ${M_WK// /, }; us per packet: ${M_US// /, }; whole VM $M_VM%; directors' IPVS InPkts $M_TOT, backends received $M_RECV, of $M_SENT sent ($M_LATE late)" \
			"—" "$MULTI_REP x $MULTI_WIN s, median"
		if [ "$k" = 1 ]; then
			local k1=$mk
			# The control: the hops after the director (bridge port, backend) not threaded, so their
			# softirq work runs inside the director's thread.
			multi_run 1 1 || return
			row "... K=1 control: the bridge port after the director and the backends' interfaces without GRO and threaded NAPI (the next hops run in the director's thread)" \
				"d1 $M_CPU% (us per packet: $M_US)" "next hops threaded (the row above): $k1%; here backends received $M_RECV of $M_SENT sent ($M_LATE late)" \
				"$(ratio "$k1" "$M_CPU")" "$MULTI_REP x $MULTI_WIN s, median"
		fi
	done
	local out="" ref=""
	for k in $MULTI_KS; do
		[ "$k" = 1 ] && continue
		out="$out${out:+, }K=$k: $(awk -v a="${MEAN[$k]}" -v b="${MEAN[1]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
		ref="$ref${ref:+, }1/$k = $(awk -v k="$k" 'BEGIN { printf "%.2f", 1 / k }')"
	done
	row "Scale-out: mean director CPU at K directors as a fraction of K=1 ($MULTI_PPS pps; goal about 1/K)" \
		"$out" "goal: $ref (K=1: ${MEAN[1]}%)" "—" "$MULTI_REP x $MULTI_WIN s each, medians"
}

# ---- main ----

for m in ip_vs ip_vs_wrr; do modprobe "$m" || fail "modprobe $m"; done
sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 >/dev/null
ulimit -n 1048576 2>/dev/null || ulimit -n 65536
echo "=== INFO Tools: $(ezlb version 2>&1 | head -n1), $(ipvsadm --version 2>&1 | head -n1)," \
	"$(cat /etc/keepalived-version 2>/dev/null || echo 'keepalived: not installed')."
say "$(nproc) vCPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MB" }' /proc/meminfo)"
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
start=$EPOCHSECONDS
want program && sec_program
if want noop || want weights || want export; then
	big_table_ns
	want noop && sec_noop
	want export && sec_export
	want weights && sec_weights
	ns_del bb
fi
want down && sec_down
want health && sec_health
want memory && sec_memory
want flap && sec_flap
want resync && sec_resync
want appcheck && sec_appcheck
want observe && sec_observe
want include && sec_include
want multi && sec_multi
say "done in $((EPOCHSECONDS - start)) s"
note "Each measurement runs in a network namespace of its own, created for it (IPVS tables and" \
	"the kernel's trash of deleted destinations are per namespace); ezlb and the reference tool" \
	"take turns on inputs from one generator. \`ezlb once\` runs with --no-health-check."
note "Tables: service i is 10.10.x.y:80 (wrr), destination k is 100.64+.x.y:8080 (NAT, weights" \
	"1..5); ezlb and \`ipvsadm -R\` are checked to produce the same \`ipvsadm -Sn\`."
note "Health checks: every target is 127.1.x.y:9000, all served by one listener" \
	"(tests/vm/tools/benchsrv.c, which also times the gaps between checks); ezlb: interval as" \
	"shown, timeout 500 ms, fail_count 3; keepalived -C: delay_loop as shown, TCP_CHECK" \
	"connect_timeout 0.5, retry 3, delay_before_retry 1, same targets. CPU is utime + stime of" \
	"the process over the window (for keepalived its checker process; its parent is idle). On" \
	"loopback the kernel runs both ends of a TCP exchange in softirq context inside the system" \
	"call of whichever process sends the packet, so the kernel's work splits between checker" \
	"and target by who sends what: ezlb closes with RST, keepalived with FIN, so the target's" \
	"close and the TIME_WAIT work land elsewhere. The whole-VM rows are fairer: the busy CPU of" \
	"the VM over the same window, every process and the kernel, benchsrv the same in both" \
	"cases: the window's length times the $NCPU CPUs minus their idle and iowait time in" \
	"/proc/stat (idle is timed exactly; the busy fields are only sampled at each tick and miss" \
	"short bursts). It includes the kernel's entries into and exits from idle, costly under TCG," \
	"so a checker that wakes more often pays more for them here than it would on hardware."
if [ -n "${VM_IDLE_PCT:-}" ]; then
	note "Whole VM CPU with nothing running (measured once, at the start of the health section," \
		"over $VM_IDLE s): ${VM_IDLE_PCT}% of one core, i.e." \
		"$(awk -v p="$VM_IDLE_PCT" 'BEGIN { printf "%.1f", 10 * p }') ms of CPU per second;" \
		"subtract it from the whole-VM rows (per check: that divided by the checks per second)."
fi
if want appcheck; then
	note "Application checks: the targets are 127.1.x.y:9000, all served by one benchsrv process" \
		"(epoll, every socket non-blocking; its own CPU is shown in the checks-per-second rows) in" \
		"http mode (reads the request, answers \"HTTP/1.1 200 OK\" with Content-Length, body" \
		"\"ok\", Connection: close, and closes) or https mode (the same over TLS: OpenSSL 3, its" \
		"default server session cache and TLS 1.3 tickets, a self-signed EC P-256 certificate;" \
		"after each handshake SSL_session_reused tells a resumption from a full handshake). ezlb:" \
		"type http (interval 1s, timeout 500ms) or https (interval as shown, timeout 2s: TLS under TCG costs" \
		"both ends milliseconds of CPU per full handshake, so that section runs at a rate the VM" \
		"sustains with keepalived's handshakes), path /healthz, status 200-299, tls_verify false;" \
		"keepalived -C: HTTP_GET or SSL_GET, url path /healthz status_code 200, delay_loop as the" \
		"interval, connect_timeout as the timeout, retry 3, delay_before_retry 1, no SSL block (no" \
		"verification)." \
		"Checks per second are the 200 answers the target wrote; CPU per check is the checker" \
		"process's utime + stime over the window divided by them (keepalived: its checker process);" \
		"whole VM as in the health rows (benchsrv's work, TLS included, is in it for both)."
	note "Exec checks: ezlb type exec, command [/bin/true], interval 1s, timeout 500ms; keepalived" \
		"MISC_CHECK misc_path /bin/true, misc_timeout 1, delay_loop 1 (/bin/true is busybox, static)." \
		"Checks are counted by the kernel: the processes created in the VM over the window (the" \
		"processes line of /proc/stat) minus the window's own sleep. CPU per check counts the checker" \
		"process and the children it reaped in the window (utime + stime + cutime + cstime of" \
		"/proc/PID/stat: the child's exec and run land in cutime/cstime, its fork in the checker's" \
		"stime); the whole-VM row counts everything."
	note "Detection: network namespaces for a director (IPVS, NAT, VIP 10.0.0.1:80, wrr), a client" \
		"and 3 backends on veth pairs; each backend serves the traffic on :8080 (lbnet serve) and" \
		"its health check on :8081 (benchsrv, http mode: ezlb type http with port 8081, keepalived" \
		"HTTP_GET with connect_port 8081). The client (lbnet client -t 1000 -w 10: one connection at" \
		"a time, 10 ms apart) runs for $DET_FOR s; in it, backend 1's servers are SIGKILLed (its host" \
		"stays up, so new connections to it are refused at once) and ipvsadm -Sn is polled every" \
		"50 ms until backend 1 is out (deleted, or weight 0): the time from the kill to that poll," \
		"about 0.1 s coarse. Where the death falls in the 5 s check interval decides most of it, so" \
		"the kill is timed from a check of backend 1 (benchsrv logs each one): run i of N dies" \
		"(2i - 1)/2N of the interval after a check (3 runs: 0.83, 2.5 and 4.17 s), the same phases" \
		"for both tools; the median is then the middle phase (2.5 s to the next check, plus the" \
		"re-checks). ezlb: the defaults (interval 5s, timeout 3s, fail_count 3," \
		"rise_count 2, fast_interval 1s), then fast_interval 5s; keepalived: delay_loop 5," \
		"connect_timeout 3, retry 2 (3 failed checks, like fail_count 3) and delay_before_retry 1," \
		"then 5. Failed connections: the client's failures in its $DET_FOR s, all before the removal."
fi
if want multi; then
	note "Scale-out (multi): per K, fresh namespaces: a client, a router (ip_forward," \
		"fib_multipath_hash_policy 1; VIP/32 by a static multipath route, one nexthop per director:" \
		"in \`make test\` (t_ecmp) the same route is learned over BGP from BIRD, the forwarding path is" \
		"the same), a bridge, K directors and $MULTI_NB backends on veth pairs. Each director ran" \
		"\`ezlb once --no-health-check\` (its own state dir) with the same config: udp $MULTI_VIP:5000," \
		"forward dr, scheduler mh with mh-port, the $MULTI_NB backends; VIP on the directors' and the" \
		"backends' lo (backends: arp_ignore 1, arp_announce 2), each backend runs \`lbnet sink\`" \
		"(counts, never answers). ezlb's own CPU is not measured: it only programs the table and" \
		"exits; the directors forward in the kernel. Load: \`lbnet blast -r $MULTI_PPS -f" \
		"$MULTI_FLOWS -i $MULTI_IV -d $((MULTI_WIN + 3))\` (64-byte datagrams from $MULTI_FLOWS" \
		"sockets, round-robin, in bursts every $MULTI_IV ms; late = sent > 10 ms behind schedule);" \
		"the window is $MULTI_WIN s from 2 s in. Attribution: a director's forwarding runs in softirq," \
		"which /proc/stat cannot split by namespace; every veth has TSO off (veth hands a forwarded" \
		"packet to the receiver's NAPI only then) and every receiving end GRO on and threaded NAPI" \
		"(/sys/class/net/IF/threaded), so the receive processing of director I's interface dlI (IP" \
		"input, IPVS, the DR transmit) runs in the kthread napi/dlI-N: its utime + stime over the" \
		"window is the director's CPU, its context switches its wake-ups. The bridge ports and the" \
		"backends' interfaces are threaded too, so the next hop's work is queued to its own thread" \
		"(the control row shows what lands in the director's thread otherwise). Packets per director:" \
		"rx_packets of dlI over the window (a few ARP packets included); totals: IPVS InPkts" \
		"of the service, read 2.5 s after the end (the kernel sums them every 2 s). UDP datagrams" \
		"are not merged by GRO here (no UDP GRO socket, no rx-udp-gro-forwarding), so GRO changes no" \
		"count. Whole VM: as in the health rows."
fi
note "Lateness is ezlb's own count (SIGUSR1 logs it): probe start minus due time, histogram of" \
	"100 us buckets up to 100 ms; above that the maximum is shown."
note "Flapping: every deleted destination stays in the kernel's trash while connections use it" \
	"and for 2 to 3 minutes after (IP_VS_DEST_TRASH_PERIOD, 120 s), and every add of a" \
	"destination scans the whole trash unless it finds itself there (ip_vs_trash_get_dest). A" \
	"backend that comes back finds itself near the head of the trash, so flapping costs remove" \
	"and quiesce the same; what grows is the cost of adding any other destination while many" \
	"deleted ones sit in the trash."

echo "=== TABLE BEGIN"
echo "| Measurement | ezlb | Reference, same boot | Ratio (ref / ezlb) | Runs (median) |"
echo "|---|---|---|---|---|"
for r in "${ROWS[@]}"; do echo "$r"; done
echo "=== TABLE END"
[ "$FAILED" = 0 ] && echo "=== BENCH OK" || echo "=== BENCH FAILED"
