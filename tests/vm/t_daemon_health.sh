#!/bin/bash
# The daemon's health checks under continuous client traffic: a killed backend is out of the table
# within interval x fail_count + one interval, and from then on no client connection fails; revived,
# it is back after rise_count successes (not sooner, and within rise_count x interval + one
# interval). Each transition is logged exactly once, with its reason.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"

INTERVAL=1000 FAILS=2 RISES=2 # interval in ms, fail_count, rise_count: as in web3_config
web3_config "$WORK/ezlb.yaml"
ALL=$WEB3_TABLE
LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
assert_table "three backends in the table after start-up" <<<"$ALL"

# Continuous traffic from the client namespace, in 1 s windows.
traffic_start "$WORK/traffic"
wait_for 10000 traffic_has 0 1 || not_ok "the client recorded no window"
note "first window (start end fail ok): $(head -n 1 "$WORK/traffic")"

# Kill b2 (its servers exit: connections are refused) and time its removal.
t_kill=$(now_ms)
unserve 2
if wait_for 10000 no_dest 10.0.0.1:80 10.1.2.2:8080; then
	t_out=$(now_ms)
	d=$((t_out - t_kill))
	bound=$((INTERVAL * FAILS + INTERVAL))
	note "kill -> removal: ${d} ms (bound ${bound} ms)"
	if [ "$d" -le "$bound" ]; then
		ok "killed b2 out of the table in ${d} ms (<= interval x fail_count + interval = ${bound} ms)"
	else
		not_ok "killed b2 out of the table in ${d} ms, more than ${bound} ms"
	fi
else
	not_ok "killed b2 still in the table 10 s later" "$(table)"
	t_out=$(now_ms)
fi
assert_table "b1 and b3 stay" <<<"$(printf '%s\n' "$ALL" | grep -v 10.1.2.2)"

# After the removal (plus 300 ms for a connection already under way), no connection fails.
# Three full windows after that point.
grace=$((t_out + 300))
wait_for 15000 traffic_has "$grace" 3 ||
	not_ok "fewer than 3 client windows after the removal"
traffic_stop
note "client windows (start_ms end_ms fail ok), kill at $t_kill, removal at $t_out:" "$(cat "$WORK/traffic")"
read -r f_before o_before < <(traffic_sum 0 "$t_out")
note "windows that ended before the removal: $f_before failed, $o_before answered"
read -r f_after o_after < <(traffic_sum "$grace")
# The client does see a dead backend: the windows around the kill have failures (else the zero
# below would prove nothing).
if [ "$(traffic_sum "$((t_kill - 1000))" | cut -d' ' -f1)" -gt 0 ]; then
	ok "the client saw failures while b2 was dead and still in the table"
else
	not_ok "no client failure between the kill and the removal: the traffic check is blind"
fi
if [ "$o_after" -ge 30 ]; then ok "$o_after connections after the removal"; else not_ok "only $o_after connections after the removal"; fi
assert_eq "no connection failed after the removal (+300 ms)" 0 "$f_after"

# Revive b2: back after rise_count successes: not before (rise_count - 1) intervals, and within
# rise_count x interval + one interval.
t_up=$(now_ms)
serve 2
if wait_for 10000 has_dest 10.0.0.1:80 10.1.2.2:8080; then
	d=$(($(now_ms) - t_up))
	lo=$(((RISES - 1) * INTERVAL - 100)) hi=$((RISES * INTERVAL + INTERVAL))
	note "revive -> back in the table: ${d} ms (expected ${lo}..${hi} ms)"
	if [ "$d" -ge "$lo" ] && [ "$d" -le "$hi" ]; then
		ok "revived b2 back in ${d} ms (after rise_count successes, <= ${hi} ms)"
	else
		not_ok "revived b2 back in ${d} ms, expected ${lo}..${hi} ms"
	fi
else
	not_ok "revived b2 not back 10 s later" "$(table)"
fi
assert_table "all three backends again" <<<"$ALL"
r=$(client -t 1000 10.0.0.1:80 300)
note "300 connections: $(printf '%s ' $r)"
assert_eq "no connection failed with b2 back" 0 "$(count fail "$r")"
n=$(count b2 "$r")
if [ "$n" -ge 90 ] && [ "$n" -le 110 ]; then ok "b2 gets its share (rr): $n of 300"; else not_ok "b2 got $n of 300 connections, want 100 +- 10"; fi

# The log: each transition exactly once, with its reason; nothing about b1 and b3.
note "daemon log:" "$(cat "$LOG")"
assert_eq "one 'up -> down (2 failures: connection refused)' line for b2" 1 \
	"$(log_count "$LOG" 'ezlb\[warn\]: web 10\.1\.2\.2:8080 up -> down \(2 failures: connection refused\)$')"
assert_eq "one 'down -> up (2 successes)' line for b2" 1 \
	"$(log_count "$LOG" 'ezlb\[notice\]: web 10\.1\.2\.2:8080 down -> up \(2 successes\)$')"
assert_eq "two transitions in all" 2 "$(log_count "$LOG" ' -> (up|down) \(')"
assert_eq "no transition for b1 or b3" 0 "$(log_count "$LOG" '10\.1\.[13]\.2:8080 [a-z]+ -> ')"

dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
assert_table "the table stays after the daemon exits" <<<"$ALL"
finish
