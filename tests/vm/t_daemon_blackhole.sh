#!/bin/bash
# Backends whose SYNs are dropped (their side of the veth is down, so nothing ever answers) go
# down because their probes time out: not before (fail_count - 1) x interval + timeout, not after
# fail_count x interval + timeout (+ slack), with the reason "timeout". Meanwhile the other probes
# keep their schedule: a third backend killed at the same moment (refused) is out within
# fail_count x interval (+ slack) although two probes hang for 800 ms of every 1 s interval, the
# healthy backend is probed once per interval all along (counted in its namespace) and never
# flaps. A blackholed backend that answers again comes back.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 4 || not_ok "network setup"

INTERVAL=1000 TIMEOUT=800 FAILS=2 RISES=2 # as in the config below
SLACK=500 # ms: reconcile, ipvsadm polling (every 50 ms) and a busy emulated CPU
cat >"$WORK/ezlb.yaml" <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    health_check: {interval: 1s, timeout: 800ms, fail_count: 2, rise_count: 2}
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.2.2:8080}
      - {address: 10.1.3.2:8080}
      - {address: 10.1.4.2:8080}
EOF_
LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
assert_table "four backends after start-up" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.4.2:8080 -m -w 1
EOF_
sleep 1.5 # every backend probed at least once

# b2 and b4 go silent; b3 is killed (refused) right after.
declare -A t_bh=()
t_bh[2]=$(now_ms)
blackhole 2 || not_ok "blackhole b2"
t_bh[4]=$(now_ms)
blackhole 4 || not_ok "blackhole b4"
t_kill=$(now_ms)
unserve 3
note "blackhole b2 at ${t_bh[2]}, b4 at ${t_bh[4]}, kill b3 at $t_kill"

# Poll the table; record when each one leaves it.
declare -A gone=()
deadline=$((t_kill + 10000))
while [ "${#gone[@]}" -lt 3 ] && [ "$(now_ms)" -lt "$deadline" ]; do
	tb=$(ipvsadm -Sn)
	_now
	for i in 2 3 4; do
		[ -z "${gone[$i]:-}" ] && ! grep -q -- "-r 10.1.$i.2:8080 " <<<"$tb" && gone[$i]=$NOW
	done
	sleep 0.05
done

# within NAME VALUE LO HI
within() {
	if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1: $2 ms (in $3..$4)"; else not_ok "$1: $2 ms, expected $3..$4"; fi
}
lo=$(((FAILS - 1) * INTERVAL + TIMEOUT - 100)) hi=$((FAILS * INTERVAL + TIMEOUT + SLACK))
for i in 2 4; do
	if [ -n "${gone[$i]:-}" ]; then
		within "blackholed b$i out after its probes timed out" $((gone[$i] - t_bh[$i])) "$lo" "$hi"
	else
		not_ok "blackholed b$i still in the table 10 s later" "$(table)"
	fi
done
if [ -n "${gone[3]:-}" ]; then
	within "killed b3 out on schedule while two probes hang" $((gone[3] - t_kill)) 0 $((FAILS * INTERVAL + SLACK))
else
	not_ok "killed b3 still in the table 10 s later" "$(table)"
fi
assert_table "only b1 left" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
EOF_

# b1's probes keep their 1 s period while b2's and b4's hang for 800 ms of every second: count
# the connections b1's kernel accepts (PassiveOpens; no client traffic now) over 6 s. Probes
# queued behind the hanging ones would come at most every 1.6 s: 4 or fewer.
passive_opens() {
	nsrun b1 awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "PassiveOpens") c = i } else print $c }' /proc/net/snmp
}
p0=$(passive_opens)
sleep 6
n=$(($(passive_opens) - p0))
if [ "$n" -ge 5 ] && [ "$n" -le 7 ]; then
	ok "b1 probed $n times in 6 s while two probes hang (one per interval)"
else
	not_ok "b1 probed $n times in 6 s while two probes hang, expected 6 +- 1"
fi

# Three more intervals of hanging probes: nothing else changes, and traffic flows to b1 alone.
r=$(client -t 1000 10.0.0.1:80 --for 3)
note "3 s of traffic: $(printf '%s ' $r)"
assert_eq "no connection failed while b2 and b4 hang" 0 "$(count fail "$r")"
assert_eq "only b1 answered" "$(count b1 "$r")" "$(($(count b1 "$r") + $(count b2 "$r") + $(count b3 "$r") + $(count b4 "$r")))"
assert_true "the daemon is alive" dalive "$D"

# b2 answers again: back after rise_count successes.
t_up=$(now_ms)
unblackhole 2 || not_ok "unblackhole b2"
if wait_for 10000 has_dest 10.0.0.1:80 10.1.2.2:8080; then
	within "b2 back after answering again" $(($(now_ms) - t_up)) $(((RISES - 1) * INTERVAL - 100)) $((RISES * INTERVAL + INTERVAL))
else
	not_ok "b2 not back 10 s after answering again" "$(table)"
fi

note "daemon log:" "$(cat "$LOG")"
for i in 2 4; do
	assert_eq "b$i: one 'up -> down (2 failures: timeout)' line" 1 \
		"$(log_count "$LOG" "ezlb\\[warn\\]: web 10\\.1\\.$i\\.2:8080 up -> down \\(2 failures: timeout\\)\$")"
done
assert_eq "b3: one 'up -> down (2 failures: connection refused)' line" 1 \
	"$(log_count "$LOG" 'ezlb\[warn\]: web 10\.1\.3\.2:8080 up -> down \(2 failures: connection refused\)$')"
assert_eq "b2: one 'down -> up (2 successes)' line" 1 \
	"$(log_count "$LOG" 'ezlb\[notice\]: web 10\.1\.2\.2:8080 down -> up \(2 successes\)$')"
assert_eq "four transitions in all (b1 never flapped, b4 stayed down)" 4 "$(log_count "$LOG" ' -> (up|down) \(')"

dstop "$D"
assert_eq "SIGTERM with probes hanging: exit status 0" 0 "$DRC"
finish
