#!/bin/bash
# The application health checks (http, https, exec, dns) against real servers (tools/hcsrv.c) in
# the backend namespaces, all in one daemon, probes every 1 s (500 ms between states), timeout
# 500 ms, fail_count 2, rise_count 2:
# - http (service web, 3 backends, path /healthz, expect "ok"): a backend answering 500, a body
#   without "ok", or a response cut short leaves the table with that reason and comes back when
#   fixed, each transition logged exactly once; a chunked "ok" split across chunks stays up; the
#   live client traffic through the VIP never reaches a backend after its removal (+300 ms).
# - https, probed on another port than the backend's (health_check.port): a certificate from
#   another CA is down under tls_verify (reason "TLS: certificate verify failed ...") and up
#   without; one for another name is down; the right one (ca_file = the test CA) is up; Host and
#   SNI are the configured host. A server that accepts the handshake but never answers is down
#   with "timeout reading headers", and up again when it answers.
# - exec: a script failing while a flag file exists ("exit status 1: flag set"), one hanging past
#   the timeout; its environment names the service and backend; no child of ezlb is left.
# - dns (a udp service): down on RCODE 3 (NXDOMAIN), up again on NOERROR.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
T_START=$(now_ms)
BUDGET_MS=150000 # the whole test, VM time under TCG (the runner kills it at 180 s)

INTERVAL=1000 FAST=500 TIMEOUT=500 FAILS=2 RISES=2
DOWN_BOUND=$((INTERVAL * FAILS + INTERVAL + TIMEOUT)) # break -> out of the table, ms
UP_LO=$(((RISES - 1) * FAST - 100)) UP_HI=$((RISES * INTERVAL + INTERVAL)) # fix -> back, ms
CLIENT=10.2.0.2 # the client namespace's address, as the backends see it (NAT keeps it)

vm_net_setup 5 || not_ok "network setup"
# b1..b3: hcsrv on 8080 instead of lbnet (it serves the client traffic and the http checks).
# b4, b5 keep lbnet on 8080 (the service port) and serve TLS on 8443 / 9443 (health_check.port),
# b4 also DNS on 53.
for i in 1 2 3; do
	unserve "$i"
	echo ok >"$WORK/ctl.b$i"
done
echo ok >"$WORK/ctl.dns"
echo ok >"$WORK/ctl.b4tls"
# hc NS ARGS...: a detached hcsrv in namespace NS.
hc() {
	local ns=$1 pid
	shift
	pid=$(nsrun "$ns" hcsrv -d "$@") || { not_ok "hcsrv $* in $ns did not start"; return 1; }
	track_pid "$pid"
}
C=/etc/ezlb-test
for i in 1 2 3; do hc "b$i" -c "$WORK/ctl.b$i" -l "$WORK/req.b$i" "[::]:8080" "b$i"; done
hc b4 -c "$WORK/ctl.b4tls" -l "$WORK/req.b4.8443" --tls $C/otherca.pem $C/otherca.key "[::]:8443" b4
hc b4 -c "$WORK/ctl.dns" -l "$WORK/req.dns" --dns "[::]:53"
hc b5 -l "$WORK/req.b5.8443" --tls $C/good.pem $C/good.key "[::]:8443" b5
hc b5 -l "$WORK/req.b5.9443" --tls $C/wrongname.pem $C/wrongname.key "[::]:9443" b5
# A real DNS server on b5: dnsmasq knows example.com only and has no upstream, so it answers that
# name and refuses (or fails) any other: services nsreal (up) and nsmiss (down) probe it.
nsrun b5 dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv --user=root \
	--pid-file= --port=53 --listen-address=10.1.5.2 --bind-interfaces \
	--address=/example.com/10.9.9.9 --log-facility="$WORK/dnsmasq.log" &
track_pid $!

# The exec check: fails while flag.ADDRESS exists, hangs (a child sleeping 60 s) while
# slow.ADDRESS exists; records its pid and environment.
cat >"$WORK/check.sh" <<EOF_
#!/bin/sh
echo "\$\$ \$EZLB_SERVICE \$EZLB_BACKEND_ADDRESS \$EZLB_BACKEND_PORT" >>$WORK/exec.calls
if [ -e "$WORK/flag.\$EZLB_BACKEND_ADDRESS" ]; then
	echo "flag set" >&2
	echo "second line" >&2
	exit 1
fi
if [ -e "$WORK/slow.\$EZLB_BACKEND_ADDRESS" ]; then
	sleep 60 &
	echo \$! >>$WORK/exec.sleeps
	wait
fi
exit 0
EOF_
chmod +x "$WORK/check.sh"
: >"$WORK/exec.calls"
: >"$WORK/exec.sleeps"

HC="interval: 1s, timeout: 500ms, fail_count: 2, rise_count: 2, fast_interval: 500ms"
cat >"$WORK/ezlb.yaml" <<EOF_
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    health_check: {type: http, $HC, http: {path: /healthz, expect: "ok"}}
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.2.2:8080}
      - {address: 10.1.3.2:8080}
  - name: tls
    listen: 10.0.0.1:443
    scheduler: rr
    health_check:
      {type: https, port: 8443, $HC,
       http: {path: /tls, host: backend.test, tls_verify: true, ca_file: $C/ca.pem}}
    backends:
      - {address: 10.1.4.2:8080}
      - {address: 10.1.5.2:8080}
  - name: tlslax
    listen: 10.0.0.1:444
    scheduler: rr
    health_check: {type: https, port: 8443, $HC, http: {path: /lax, tls_verify: false}}
    backends:
      - {address: 10.1.4.2:8080}
  - name: tlsname
    listen: 10.0.0.1:445
    scheduler: rr
    health_check:
      {type: https, port: 9443, $HC, http: {path: /name, tls_verify: true, ca_file: $C/ca.pem}}
    backends:
      - {address: 10.1.5.2:8080}
  - name: db
    listen: 10.0.0.1:81
    scheduler: rr
    health_check: {type: exec, $HC, exec: {command: ["$WORK/check.sh"]}}
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.2.2:8080}
  - name: ns
    listen: 10.0.0.1:53
    protocol: udp
    scheduler: rr
    health_check: {type: dns, $HC, dns: {name: example.com, qtype: A}}
    backends:
      - {address: 10.1.4.2:53}
  - name: nsreal
    listen: 10.0.0.2:53
    protocol: udp
    health_check: {type: dns, $HC, dns: {name: example.com, qtype: A}}
    backends:
      - {address: 10.1.5.2:53}
  - name: nsmiss
    listen: 10.0.0.3:53
    protocol: udp
    health_check: {type: dns, $HC, dns: {name: missing.invalid, qtype: AAAA}}
    backends:
      - {address: 10.1.5.2:53}
EOF_
ez check -c "$WORK/ezlb.yaml"
assert_rc "ezlb check accepts the http, https, exec and dns checks" 0
[ "$RC" -eq 0 ] || finish

LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
T_READY=$(now_ms)
note "setup to READY=1: $((T_READY - T_START)) ms"

has_udest() { ipvsadm -Sn | grep -q -- "^-a -u $1 -r $2 "; }
no_udest() { ! has_udest "$@"; }
both() { "$1" "$2" "$3" && "$4" "$5" "$6"; }
# zombies PID: the children of PID that are zombies (bash builtins only: no fork per process).
zombies() {
	local f k v pp st
	for f in /proc/[0-9]*/status; do
		pp="" st=""
		while read -r k v _; do
			case $k in State:) st=$v ;; PPid:) pp=$v && break ;; esac
		done 2>/dev/null <"$f"
		if [ "$pp" == "$1" ] && [ "$st" == Z ]; then
			f=${f#/proc/}
			echo "${f%/status}"
		fi
	done
}
# no_lasting_zombie NAME: no child of the daemon is a zombie in two samples 600 ms apart.
no_lasting_zombie() {
	local z1 z2 z lasting=""
	z1=" $(zombies "$D" | tr '\n' ' ') "
	sleep 0.6
	z2=$(zombies "$D")
	for z in $z2; do [[ "$z1" == *" $z "* ]] && lasting="$lasting $z"; done
	note "$1: zombie children of ezlb: [${z1// /}] then [${z2//$'\n'/ }]"
	if [ -z "$lasting" ]; then ok "$1: no lasting zombie child of ezlb"; else not_ok "$1: zombie children of ezlb for 600 ms:$lasting"; fi
}

# bounded NAME MS LO HI: MS within LO..HI, noted.
bounded() {
	note "$1: $2 ms (expected $3..$4 ms)"
	if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1 in $2 ms ($3..$4 ms)"; else not_ok "$1 in $2 ms, expected $3..$4 ms"; fi
}
# goes_out NAME T0 CHECK ARGS...: waits (8 s) for CHECK ARGS (a "no longer in the table"
# condition); sets T_OUT; asserts the time since T0.
goes_out() {
	local name=$1 t0=$2
	shift 2
	if wait_for 8000 "$@"; then
		T_OUT=$(now_ms)
		bounded "$name: out of the table" $((T_OUT - t0)) 0 "$DOWN_BOUND"
	else
		T_OUT=$(now_ms)
		not_ok "$name: still in the table 8 s later" "$(table)" "log:" "$(tail -n 20 "$LOG")"
	fi
}
comes_back() {
	local name=$1 t0=$2
	shift 2
	if wait_for 8000 "$@"; then
		bounded "$name: back in the table" $(($(now_ms) - t0)) "$UP_LO" "$UP_HI"
	else
		not_ok "$name: not back in the table 8 s later" "$(table)" "log:" "$(tail -n 20 "$LOG")"
	fi
}
# client_reqs I FROM_MS [TO_MS]: requests from the client namespace that backend I's hcsrv
# received at or after FROM_MS (and before TO_MS).
client_reqs() {
	awk -v c="$CLIENT" -v a="$2" -v b="${3:-0}" '$2 == c && $1 >= a && (b == 0 || $1 < b)' "$WORK/req.b$1" | wc -l
}
# hold_until MS: sleeps until the clock reads MS (a backend stays broken at least that long).
hold_until() {
	local d=$(($1 - $(now_ms)))
	[ "$d" -gt 0 ] && sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
	return 0
}
HOLD=1500 # a removed backend stays broken this long after removal + 300 ms, under traffic
# never_after_removal I T_OUT T_FIX T_BREAK: the client reached backend I while it was broken and
# still in the table (the check is not blind), and never from its removal (+300 ms) to its fix.
never_after_removal() {
	local i=$1 before after
	before=$(client_reqs "$i" "$4" "$2")
	after=$(client_reqs "$i" $(($2 + 300)) "$3")
	note "b$i: $before client requests broken but in the table, $after from removal + 300 ms to the fix ($(($3 - $2 - 300)) ms)"
	if [ "$before" -gt 0 ]; then ok "b$i: the client reached it while broken and in the table"; else not_ok "b$i: no client request reached it between the break and its removal: the traffic check is blind"; fi
	assert_eq "b$i: no client request reached it after its removal (+300 ms)" 0 "$after"
	[ $(($3 - $2 - 300)) -ge "$HOLD" ] || not_ok "b$i: only $(($3 - $2 - 300)) ms between removal + 300 ms and the fix (want >= $HOLD)"
}

# ---- https: decided within the first probes, before anything else changes ----
T0=$T_READY
if wait_for 8000 both no_dest 10.0.0.1:443 10.1.4.2:8080 no_dest 10.0.0.1:445 10.1.5.2:8080; then
	ok "https: the other CA's certificate and the wrong name are out in $(($(now_ms) - T0)) ms after READY=1"
else
	not_ok "https: bad certificates still in the table 8 s after READY=1" "$(table)" "log:" "$(tail -n 20 "$LOG")"
fi

# ---- http under client traffic ----
TRAFFIC=$WORK/traffic
# shellcheck disable=SC2034 # read by lib_daemon.sh's traffic_has
TRAFFIC_FILE=$TRAFFIC
: >"$TRAFFIC"
: >"$TRAFFIC.fails"
(
	while [ ! -e "$TRAFFIC.stop" ]; do
		s=$(now_ms)
		r=$(nsrun cl hcsrv client -v -t 1000 10.0.0.1:80 --for 1)
		e=$(now_ms)
		echo "$s $e $(count fail "$r") $(count b1 "$r") $(count b2 "$r") $(count b3 "$r")"
		[[ "$r" == *fail_at* ]] && printf '%s\n' "$r" | awk '$1 == "fail_at" { print $2 }' >>"$TRAFFIC.fails"
	done >>"$TRAFFIC"
) &
TRAFFIC_PID=$!
track_pid "$TRAFFIC_PID"
wait_for 10000 traffic_has 0 1 || not_ok "the client recorded no window"
note "first client window (start end fail b1 b2 b3): $(head -n 1 "$TRAFFIC")"

# 1: b1 answers 500; b3 answers chunked ("b3 o" + "k\n": only the decoded body holds "ok").
T_PHASES=$(now_ms)
t_break1=$(now_ms)
echo "status 500" >"$WORK/ctl.b1"
echo chunked >"$WORK/ctl.b3"
goes_out "b1 (HTTP 500)" "$t_break1" no_dest 10.0.0.1:80 10.1.1.2:8080
t_out1=$T_OUT
# 2: b2's body lacks "ok"; once it is out, b1 is fixed. A request under way at b1's removal may
# stall the client for its 1 s timeout: b2 breaks only after that, so that the client does reach
# it while it is broken and still in the table.
hold_until $((t_out1 + 1300))
t_break2=$(now_ms)
echo "body nope" >"$WORK/ctl.b2"
goes_out "b2 (body lacks \"ok\")" "$t_break2" no_dest 10.0.0.1:80 10.1.2.2:8080
t_out2=$T_OUT
hold_until $((t_out1 + 300 + HOLD))
t_fix1=$(now_ms)
echo ok >"$WORK/ctl.b1"
comes_back "b1 fixed" "$t_fix1" has_dest 10.0.0.1:80 10.1.1.2:8080
# 3: b3 cuts its answers short (Content-Length 1000, 10 bytes, close); once out, b2 is fixed.
hold_until $((t_out2 + 1300))
t_break3=$(now_ms)
echo cut >"$WORK/ctl.b3"
goes_out "b3 (cut short)" "$t_break3" no_dest 10.0.0.1:80 10.1.3.2:8080
t_out3=$T_OUT
hold_until $((t_out2 + 300 + HOLD))
t_fix2=$(now_ms)
echo ok >"$WORK/ctl.b2"
comes_back "b2 fixed" "$t_fix2" has_dest 10.0.0.1:80 10.1.2.2:8080
note "http phases: $(($(now_ms) - T_PHASES)) ms"

# ---- exec, dns and an https server that never answers, while b3 stays cut (out of web) ----
T_EX=$(now_ms)
touch "$WORK/flag.10.1.1.2" "$WORK/slow.10.1.2.2"
echo "rcode 3" >"$WORK/ctl.dns"
echo hang >"$WORK/ctl.b4tls"
goes_out "exec b1 (exit status 1)" "$T_EX" no_dest 10.0.0.1:81 10.1.1.2:8080
goes_out "exec b2 (hangs)" "$T_EX" no_dest 10.0.0.1:81 10.1.2.2:8080
goes_out "dns (NXDOMAIN)" "$T_EX" no_udest 10.0.0.1:53 10.1.4.2:53
goes_out "https b4 without verification (never answers)" "$T_EX" no_dest 10.0.0.1:444 10.1.4.2:8080
no_lasting_zombie "exec failing"
T_EXFIX=$(now_ms)
rm -f "$WORK/flag.10.1.1.2" "$WORK/slow.10.1.2.2"
echo ok >"$WORK/ctl.dns"
echo ok >"$WORK/ctl.b4tls"
echo ok >"$WORK/ctl.b4tls"
comes_back "exec b1 fixed" "$T_EXFIX" has_dest 10.0.0.1:81 10.1.1.2:8080
comes_back "exec b2 fixed" "$T_EXFIX" has_dest 10.0.0.1:81 10.1.2.2:8080
comes_back "dns fixed" "$T_EXFIX" has_udest 10.0.0.1:53 10.1.4.2:53
comes_back "https b4 answers again" "$T_EXFIX" has_dest 10.0.0.1:444 10.1.4.2:8080
note "exec, dns and https hang phases: $(($(now_ms) - T_EX)) ms"
no_lasting_zombie "exec passing"

# 4: b3 fixed.
t_fix3=$(now_ms)
echo ok >"$WORK/ctl.b3"
comes_back "b3 fixed" "$t_fix3" has_dest 10.0.0.1:80 10.1.3.2:8080

# One more window with all three back, then the traffic's verdict.
t_all=$(now_ms)
wait_for 5000 traffic_has "$t_all" 1 || not_ok "no client window after b3 came back"
touch "$TRAFFIC.stop"
wait "$TRAFFIC_PID"
note "client windows (start_ms end_ms fail b1 b2 b3):" "$(cat "$TRAFFIC")"
read -r tf t1 t2 t3 <<<"$(awk '{ f += $3; a += $4; b += $5; c += $6 } END { print f + 0, a + 0, b + 0, c + 0 }' "$TRAFFIC")"
note "client answers in all: b1 $t1, b2 $t2, b3 $t3, failed $tf"
# A client request fails only if it was under way when its backend left the table (the kernel
# drops the packets of a connection to a removed destination): it started at most 1 s (its
# timeout) before a removal and 300 ms after. 500s, wrong bodies and cut answers still name their
# server: they are answers.
bad=$(awk -v r="$t_out1 $t_out2 $t_out3" 'BEGIN { n = split(r, o, " ") }
	{ for (i = 1; i <= n; i++) if ($1 >= o[i] - 1000 && $1 <= o[i] + 300) next; print }' "$TRAFFIC.fails")
note "client requests failed at: $(tr '\n' ' ' <"$TRAFFIC.fails")(removals at $t_out1 $t_out2 $t_out3)"
assert_eq "no client request failed but those under way at a removal (-1 s..+300 ms)" "" "$bad"
last=$(tail -n 1 "$TRAFFIC")
read -r _ _ _ l1 l2 l3 <<<"$last"
if [ "$l1" -gt 0 ] && [ "$l2" -gt 0 ] && [ "$l3" -gt 0 ]; then ok "the last window reached all three: $last"; else not_ok "the last window did not reach all three backends: $last"; fi
never_after_removal 1 "$t_out1" "$t_fix1" "$t_break1"
never_after_removal 2 "$t_out2" "$t_fix2" "$t_break2"
never_after_removal 3 "$t_out3" "$t_fix3" "$t_break3"

# The probes: path /healthz from the director; https on port 8443 with Host and SNI backend.test.
n=$(awk '$2 == "10.1.1.1" && $5 == "/healthz"' "$WORK/req.b1" | wc -l)
other=$(awk '$2 == "10.1.1.1" && $5 != "/healthz"' "$WORK/req.b1" | wc -l)
if [ "$n" -ge 5 ] && [ "$other" -eq 0 ]; then ok "http probes: $n GET /healthz to b1, no other path"; else not_ok "http probes to b1: $n GET /healthz, $other other" "$(grep -v "^[0-9]* $CLIENT " "$WORK/req.b1" | tail -n 5)"; fi
n=$(awk '$2 == "10.1.3.1" && $3 == "chunked"' "$WORK/req.b3" | wc -l)
if [ "$n" -ge 3 ]; then ok "b3 stayed up through $n chunked answers (\"b3 o\" + \"k\")"; else not_ok "only $n probes of b3 got a chunked answer"; fi
assert_match "https probes of b5 on port 8443: GET /tls, Host and SNI backend.test" \
	'^[0-9]+ 10\.1\.5\.1 ok GET /tls host=backend\.test(:8443)? sni=backend\.test$' "$(tail -n 3 "$WORK/req.b5.8443")"
assert_match "https probes of b4 without verification (tlslax) complete: GET /lax" \
	'^[0-9]+ 10\.1\.4\.1 ok GET /lax ' "$(tail -n 5 "$WORK/req.b4.8443")"
assert_match "https probes of b4 reached the server while it hung" '^[0-9]+ 10\.1\.4\.1 hang GET /lax ' \
	"$(cat "$WORK/req.b4.8443")"
n=$(grep -c ' GET /tls ' "$WORK/req.b4.8443")
assert_eq "https probes of b4 under tls_verify (tls) never got to send a request" 0 "$n"
n=$(wc -l <"$WORK/req.dns")
if [ "$n" -ge 5 ]; then ok "dns: $n queries"; else not_ok "dns: only $n queries"; fi
assert_match "dns queries: example.com type A (1)" '^[0-9]+ 10\.1\.4\.1 [a-z0-9:]+ example\.com 1$' "$(tail -n 3 "$WORK/req.dns")"

# The exec environment: service db, each backend's address and port; nothing else.
envs=$(cut -d' ' -f2- "$WORK/exec.calls" | LC_ALL=C sort -u)
assert_eq "exec environment: EZLB_SERVICE, EZLB_BACKEND_ADDRESS, EZLB_BACKEND_PORT" \
	"$(printf '%s\n' "db 10.1.1.2 8080" "db 10.1.2.2 8080")" "$envs"
n=$(wc -l <"$WORK/exec.sleeps")
note "exec runs: $(wc -l <"$WORK/exec.calls"), of which $n hung (each with a child sleeping 60 s)"
[ "$n" -gt 0 ] || not_ok "no exec check hung: the leftover-process check below is blind"

# ---- the table and the log ----
assert_table "the table at the end" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 1
-A -t 10.0.0.1:81 -s rr
-a -t 10.0.0.1:81 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.1:81 -r 10.1.2.2:8080 -m -w 1
-A -t 10.0.0.1:443 -s rr
-a -t 10.0.0.1:443 -r 10.1.5.2:8080 -m -w 1
-A -t 10.0.0.1:444 -s rr
-a -t 10.0.0.1:444 -r 10.1.4.2:8080 -m -w 1
-A -t 10.0.0.1:445 -s rr
-A -u 10.0.0.1:53 -s rr
-a -u 10.0.0.1:53 -r 10.1.4.2:53 -m -w 1
-A -u 10.0.0.2:53 -s wlc
-a -u 10.0.0.2:53 -r 10.1.5.2:53 -m -w 1
-A -u 10.0.0.3:53 -s wlc
EOF_
note "daemon log:" "$(cat "$LOG")"
# once NAME ERE: exactly one log line matches.
once() { assert_eq "log: one '$1' line" 1 "$(log_count "$LOG" "$2")"; }
UP='down -> up \(2 successes\)$'
once "web b1 up -> down (HTTP 500)" ': web 10\.1\.1\.2:8080 up -> down \(2 failures: HTTP 500\)$'
once "web b1 down -> up" ": web 10\\.1\\.1\\.2:8080 $UP"
once "web b2 up -> down (body lacks \"ok\")" ': web 10\.1\.2\.2:8080 up -> down \(2 failures: body lacks "ok"\)$'
once "web b2 down -> up" ": web 10\\.1\\.2\\.2:8080 $UP"
once "web b3 up -> down (cut short: closed or timeout in the body)" \
	': web 10\.1\.3\.2:8080 up -> down \(2 failures: (connection closed in the body|timeout reading (the )?body)\)$'
once "web b3 down -> up" ": web 10\\.1\\.3\\.2:8080 $UP"
assert_eq "log: six transitions for web" 6 "$(log_count "$LOG" ': web [0-9.:]+ [a-z]+ -> ')"
once "tls b4 up -> down (TLS: certificate verify failed (unknown issuer))" \
	': tls 10\.1\.4\.2:8080 up -> down \(2 failures: TLS: certificate verify failed \(unable to get local issuer certificate\)\)$'
once "tlsname b5 up -> down (TLS: certificate verify failed (IP address mismatch))" \
	': tlsname 10\.1\.5\.2:8080 up -> down \(2 failures: TLS: certificate verify failed \(IP address mismatch\)\)$'
once "tlslax b4 up -> down (timeout reading headers)" ': tlslax 10\.1\.4\.2:8080 up -> down \(2 failures: timeout reading headers\)$'
once "tlslax b4 down -> up" ": tlslax 10\\.1\\.4\\.2:8080 $UP"
assert_eq "log: no other https transition (tls b5 stays up, the bad ones stay down)" 4 \
	"$(log_count "$LOG" ': tls(lax|name)? [0-9.:]+ [a-z]+ -> ')"
once "db b1 up -> down (exit status 1: flag set)" ': db 10\.1\.1\.2:8080 up -> down \(2 failures: exit status 1: flag set\)$'
once "db b1 down -> up" ": db 10\\.1\\.1\\.2:8080 $UP"
once "db b2 up -> down (timeout)" ': db 10\.1\.2\.2:8080 up -> down \(2 failures: timeout( \(killed\))?\)$'
once "db b2 down -> up" ": db 10\\.1\\.2\\.2:8080 $UP"
assert_eq "log: four transitions for db" 4 "$(log_count "$LOG" ': db [0-9.:]+ [a-z]+ -> ')"
once "ns up -> down (DNS rcode 3)" ': ns 10\.1\.4\.2:53 up -> down \(2 failures: DNS rcode 3 \(NXDOMAIN\)\)$'
once "ns down -> up" ": ns 10\\.1\\.4\\.2:53 $UP"
assert_eq "log: two transitions for ns" 2 "$(log_count "$LOG" ': ns [0-9.:]+ [a-z]+ -> ')"
# dnsmasq: example.com answered (never a transition), missing.invalid refused or failed.
assert_eq "log: no transition for nsreal (dnsmasq answers example.com)" 0 \
	"$(log_count "$LOG" ': nsreal [0-9.:]+ [a-z]+ -> ')"
once "nsmiss up -> down (dnsmasq: DNS rcode for missing.invalid)" \
	': nsmiss 10\.1\.5\.2:53 up -> down \(2 failures: DNS rcode [0-9]+ \([A-Z]+\)\)$'
note "dnsmasq log:" "$(tail -n 6 "$WORK/dnsmasq.log" 2>/dev/null)"
assert_no_match "log: no probe that could not run" 'not run|Function not implemented' "$(cat "$LOG")"

# ---- stop: nothing of the exec checks is left ----
dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
# exec_left: the processes of the exec checks still there (script, its sleep child, zombie);
# sets LEFT, fails if any.
exec_left() {
	local pid st cmd
	LEFT=""
	for pid in $(cut -d' ' -f1 "$WORK/exec.calls") $(cat "$WORK/exec.sleeps"); do
		[ -r "/proc/$pid/status" ] || continue
		st=$(awk '$1 == "State:" { print $2 }' "/proc/$pid/status" 2>/dev/null)
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
		case "$st:$cmd" in Z:* | *check.sh* | *"sleep 60"*) LEFT="$LEFT $pid($st $cmd)" ;; esac
	done
	[ -z "$LEFT" ]
}
if wait_for 1000 exec_left; then
	ok "no exec check process (script, its sleep child, zombie) left after the daemon exits"
else
	not_ok "exec check processes left 1 s after the daemon exited:$LEFT"
	for pid in $(cat "$WORK/exec.sleeps"); do kill -KILL "$pid" 2>/dev/null; done
fi

elapsed=$(($(now_ms) - T_START))
note "whole test: $elapsed ms (budget $BUDGET_MS ms)"
if [ "$elapsed" -le "$BUDGET_MS" ]; then ok "finished in $elapsed ms (<= $BUDGET_MS ms)"; else not_ok "took $elapsed ms, more than $BUDGET_MS ms"; fi
finish
