#!/bin/bash
# sd_notify, read from a NOTIFY_SOCKET this test listens on (tools/sdnotify.c): READY=1 once, after
# the first reconcile (the table is programmed when it arrives); STATUS= summaries that follow
# health; RELOADING=1 with a current MONOTONIC_USEC and then READY=1 on SIGHUP; WATCHDOG=1 every
# WATCHDOG_USEC/2 when WATCHDOG_PID names the daemon, never when it names another process;
# STOPPING=1 last, on SIGTERM.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"

web3_config "$WORK/ezlb.yaml"
WANT=$WEB3_TABLE
LOG=$WORK/ezlb.log
DENV=(WATCHDOG_USEC=1000000 WATCHDOG_PID=@PID@)
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
DENV=()
# Poll tightly for READY=1 and read the table the moment it shows up.
if wait_for 30000 notify_has "$D" 'READY=1'; then
	tb=$(table)
	ok "READY=1 received"
	assert_eq "READY=1: the table was already programmed" "$(LC_ALL=C sort <<<"$WANT")" "$tb"
else
	not_ok "no READY=1 within 30 s" "$(cat "$LOG")"
	finish
fi
# And by the clocks: the log line of the first reconcile (written after the kernel answered)
# is not later than READY=1's reception (ms, CLOCK_REALTIME on both sides).
rl=$(grep -m1 -E 'ezlb\[info\]: reconcile: 4 changes \(4 added, 0 edited, 0 deleted\), 0 failed' "$LOG")
ready_line=$(notify_lines "$D" 'READY=1' | head -n 1)
if [ -n "$rl" ]; then
	stamp=${rl%% *} # 2026-11-21T14:19:39.842, local time (UTC in the VM)
	rec_ms=$(($(date -u -d "$(echo "${stamp%.*}" | tr T ' ')" +%s) * 1000 + 10#${stamp##*.}))
	ready_ms=$(($(echo "$ready_line" | cut -d' ' -f2) / 1000))
	note "first reconcile logged at $rec_ms ms, READY=1 received at $ready_ms ms"
	if [ "$rec_ms" -le "$ready_ms" ]; then ok "READY=1 came after the first reconcile"; else not_ok "READY=1 ($ready_ms) came before the first reconcile ($rec_ms)"; fi
else
	not_ok "no 'reconcile: 4 changes' line in the log" "$(cat "$LOG")"
fi
assert_eq "exactly one READY=1 so far" 1 "$(notify_count "$D" 'READY=1')"
assert_eq "every datagram came from the daemon's pid" "$(wc -l <"$NOTIFY_OUT")" "$(awk -v p="$D" '$3 == p' "$NOTIFY_OUT" | wc -l)"
wait_for 3000 notify_has "$D" 'STATUS=.*'
assert_match "first STATUS: services, backends up/total, last reconcile" \
	'^STATUS=1 services, 3/3 backends up, last reconcile [0-9]{2}:[0-9]{2}:[0-9]{2}: 4 changes, 0 failed$' \
	"$(notify_fields "$D" | tr '\t' '\n' | grep '^STATUS=' | head -n 1)"

# WATCHDOG=1 every WATCHDOG_USEC / 2 = 500 ms: count them over 3 s, and check every gap.
sleep 1
w0=$(sdnotify now)
sleep 3
w1=$(sdnotify now)
pings=$(awk -v p="$D" -v a="$w0" -v b="$w1" '$3 == p && $1 >= a && $1 < b && $4 == "WATCHDOG=1" { print $1 }' "$NOTIFY_OUT")
n=$(printf '%s\n' "$pings" | grep -c .)
span=$(((w1 - w0) / 1000)) # ms; a little over 3 s
want=$((span / 500))
if [ "$n" -ge $((want - 1)) ] && [ "$n" -le $((want + 1)) ]; then
	ok "WATCHDOG=1 $n times in $span ms (every 500 ms)"
else
	not_ok "WATCHDOG=1 $n times in $span ms, expected $want +- 1"
fi
gaps=$(printf '%s\n' "$pings" | awk 'NR > 1 { printf "%d ", ($1 - prev) / 1000 } { prev = $1 }')
note "gaps between WATCHDOG=1 (ms): $gaps"
bad=$(for g in $gaps; do [ "$g" -lt 400 ] || [ "$g" -gt 700 ] && echo "$g"; done)
assert_eq "every WATCHDOG=1 gap is 500 ms (400..700)" "" "$bad"

# Health in the status line: b3 killed -> 2/3 up, and the reconcile that removed it.
m=$(notify_mark)
unserve 3
if wait_for 8000 notify_has "$D" 'STATUS=1 services, 2/3 backends up.*' "$m"; then
	assert_match "STATUS after b3 went down" \
		'^STATUS=1 services, 2/3 backends up, last reconcile [0-9:]{8}: 1 changes, 0 failed$' \
		"$(notify_lines "$D" 'STATUS=.*' "$m" | tail -n 1 | sed 's/^[^ ]* [^ ]* [^ ]* //')"
else
	not_ok "no STATUS with 2/3 backends up after b3 was killed" "$(notify_fields "$D" "$m")"
fi

# SIGHUP: RELOADING=1 with MONOTONIC_USEC taken between the kill and its reception, then READY=1.
m=$(notify_mark)
t0=$(sdnotify now)
kill -HUP "$D"
wait_for 5000 notify_has "$D" 'READY=1' "$m" || not_ok "no READY=1 after SIGHUP" "$(notify_fields "$D" "$m")"
rel=$(notify_lines "$D" 'RELOADING=1' "$m")
assert_eq "SIGHUP: one RELOADING=1" 1 "$(printf '%s\n' "$rel" | grep -c .)"
mono=$(notify_value "$rel" MONOTONIC_USEC)
recv=$(printf '%s\n' "$rel" | cut -d' ' -f1)
note "kill -HUP at $t0, MONOTONIC_USEC=$mono, received at $recv (CLOCK_MONOTONIC us)"
if [ -n "$mono" ] && [ "$mono" -ge "$t0" ] && [ "$mono" -le "$recv" ]; then
	ok "RELOADING=1 carries MONOTONIC_USEC of the reload ($((mono - t0)) us after the signal)"
else
	not_ok "RELOADING=1: MONOTONIC_USEC=$mono not between $t0 and $recv" "$rel"
fi
assert_eq "SIGHUP: RELOADING=1 then READY=1" "RELOADING=1 READY=1" \
	"$(notify_fields "$D" "$m" | grep -oE '^(RELOADING|READY)=1' | tr '\n' ' ' | sed 's/ $//')"
assert_eq "SIGHUP: one READY=1" 1 "$(notify_count "$D" 'READY=1' "$m")"

# WATCHDOG_PID naming another process: no WATCHDOG=1 from that daemon (it manages nothing).
cat >"$WORK/empty.yaml" <<'EOF_'
services: []
EOF_
DENV=(WATCHDOG_USEC=1000000 WATCHDOG_PID=1)
DSTATE=$WORK/state-other dstart "$WORK/other.log" "$WORK/empty.yaml"
O=$DPID
DENV=()
dready "daemon with WATCHDOG_PID=1" "$O" "$WORK/other.log"
sleep 2
assert_eq "WATCHDOG_PID of another process: no WATCHDOG=1" 0 "$(notify_count "$O" 'WATCHDOG=1')"
dstop "$O"
assert_eq "the other daemon: exit status 0" 0 "$DRC"

# SIGTERM: STOPPING=1, and nothing after it.
m=$(notify_mark)
dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
assert_eq "SIGTERM: STOPPING=1 is the last message" "STOPPING=1" "$(notify_fields "$D" "$m" | tail -n 1)"
assert_eq "SIGTERM: one STOPPING=1" 1 "$(notify_count "$D" 'STOPPING=1')"
finish
