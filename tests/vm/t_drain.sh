#!/bin/bash
# Draining (drain_timeout): a backend that leaves the config goes to weight 0 (no new connection)
# while its live connections go on, and is deleted when the kernel shows none left (ActiveConn 0)
# or when its drain_timeout has passed; one without a live connection is deleted at once. The
# drain survives a daemon restart (state dir file `drains`: no re-add, no early delete, the
# timeout counts from the original start) and spans two `ezlb once` runs; a drained backend that
# returns gets its weight back without a delete and re-add. Traffic is real: NAT through the VIPs
# from namespace cl to echo servers (lbnet serve -e), with long-lived connections (lbnet hold).
#
# Two services, each with one backend at first so that a held connection lands on a known one:
#   web  10.0.0.1:80  drain_timeout 30s   B = b2 (weight 3), the other b1
#   tmo  10.0.0.2:80  drain_timeout 3s/6s B = b4, the other b3
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 0 || not_ok "network setup"
vip_add 10.0.0.2 || not_ok "second VIP"
for i in 1 2 3 4; do
	{ backend_add "$i" && serve_echo "$i"; } || not_ok "backend b$i with an echo server"
done

WEB=10.0.0.1:80 TMO=10.0.0.2:80
B1=10.1.1.2:8080 B2=10.1.2.2:8080 B3=10.1.3.2:8080 B4=10.1.4.2:8080
CFG=$WORK/ezlb.yaml

# backends_yaml "I[:W] ...": the backends list (weight W, default 1); [] when empty.
backends_yaml() {
	if [ -z "$1" ]; then echo "    backends: []"; return; fi
	echo "    backends:"
	local b
	for b in $1; do
		if [[ $b == *:* ]]; then echo "      - {address: 10.1.${b%%:*}.2:8080, weight: ${b#*:}}"
		else echo "      - {address: 10.1.$b.2:8080}"; fi
	done
}
# write WEB_BACKENDS WEB_DRAIN TMO_BACKENDS TMO_DRAIN: the config, saved by rename (a reload).
write() {
	{
		cat <<EOF_
global: {drain_timeout: 60s}
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    drain_timeout: $2
    health_check: {interval: 1s, timeout: 500ms, fail_count: 2, rise_count: 1}
EOF_
		backends_yaml "$1"
		cat <<EOF_
  - name: tmo
    listen: 10.0.0.2:80
    scheduler: rr
    drain_timeout: $4
    health_check: {interval: 1s, timeout: 500ms, fail_count: 2, rise_count: 1}
EOF_
		backends_yaml "$3"
	} >"$CFG.new" && mv "$CFG.new" "$CFG"
}
# held NAME ID WANT: hold ID connected (within 5 s) and to backend WANT.
held() {
	if wait_for 5000 hold_connected "$2"; then
		assert_eq "$1: the held connection reached $3" "$3" "$(hold_name "$2")"
	else
		not_ok "$1: the held connection did not connect" "$(cat "$WORK/hold.$2.out")"
	fi
}
# live_drain NAME VIP RIP: RIP is at weight 0 with at least one active connection.
live_drain() {
	local s
	s=$(dest_stats "$1" "$2")
	[ "${s%% *}" == 0 ] && [ "$(echo "$s" | cut -d' ' -f2)" -ge 1 ]
}
assert_live_drain() {
	local s
	s=$(dest_stats "$2" "$3")
	if live_drain "$2" "$3"; then ok "$1: weight 0, ActiveConn >= 1 (weight active inactive: $s)"
	else not_ok "$1: want weight 0 with ActiveConn >= 1, got \"$s\"" "$(ipvsadm -Ln)"; fi
}
# assert_hold_clean NAME: HOLD_RC / HOLD_OUT of a hold_stop show no failure.
assert_hold_clean() {
	note "$1: $(printf '%s\n' "$HOLD_OUT" | tr '\n' ';')"
	if [ "$HOLD_RC" -eq 0 ] && printf '%s\n' "$HOLD_OUT" | grep -Eq '^closed b[0-9] exchanges [1-9][0-9]* failures 0$'; then
		ok "$1: the held connection exchanged data to the end, no failure"
	else
		not_ok "$1: the held connection failed (exit $HOLD_RC)" "$HOLD_OUT"
	fi
}
# within_ms NAME D LO HI: LO <= D <= HI.
within_ms() {
	if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1: ${2} ms (want $3..$4 ms)"
	else not_ok "$1: ${2} ms, want $3..$4 ms"; fi
}

# ---- a (drain ends when the client closes), b (drain timeout 3s), at once ----
LOG=$WORK/ezlb.log
write "2:3" 30s "4" 3s
dstart "$LOG" "$CFG"
D=$DPID
dready "start" "$D" "$LOG" || finish
assert_table "b2 alone in web, b4 alone in tmo" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 3
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.1.4.2:8080 -m -w 1
EOF_
hold_start a "$WEB"
hold_start b "$TMO"
held "a" a b2
held "b" b b4

t_r=$(now_ms)
write "1" 30s "3" 3s # b2 and b4 leave with a live connection each; b1 and b3 come
wait_for 5000 log_has "$LOG" 'service web: draining 10\.1\.2\.2:8080: ' &&
	wait_for 5000 log_has "$LOG" 'service tmo: draining 10\.1\.4\.2:8080: ' ||
	not_ok "no 'draining' lines 5 s after the reload" "$(tail -n 20 "$LOG")"
note "drain lines:" "$(grep -E 'draining|drain of' "$LOG")"
assert_match "a: the log says web drains b2 from weight 3, one live connection, 30s" \
	'service web: draining 10\.1\.2\.2:8080: weight 3 -> 0, 1 live connections?, timeout 30s$' "$(cat "$LOG")"
assert_match "b: the log says tmo drains b4, timeout 3s" \
	'service tmo: draining 10\.1\.4\.2:8080: weight 1 -> 0, 1 live connections?, timeout 3s$' "$(cat "$LOG")"
assert_live_drain "a: b2 draining" "$WEB" "$B2"
assert_eq "a: b1 added at weight 1" 1 "$(dest_weight "$WEB" "$B1")"
r=$(client -t 1000 "$WEB" 50)
note "web, 50 connections: $(printf '%s ' $r)"
assert_eq "a: 50 new connections all reach b1, none b2, no failure" "50 0 0" \
	"$(count b1 "$r") $(count b2 "$r") $(count fail "$r")"
r=$(client -t 1000 "$TMO" 50)
note "tmo, 50 connections: $(printf '%s ' $r)"
assert_eq "b: 50 new connections all reach b3, none b4, no failure" "50 0 0" \
	"$(count b3 "$r") $(count b4 "$r") $(count fail "$r")"

# b: deleted at the drain timeout although its connection is still open.
if wait_for 10000 no_dest "$TMO" "$B4"; then
	d_b=$(($(now_ms) - t_r))
	note "b: reload -> b4 deleted (drain_timeout 3s, connection open): $d_b ms"
	within_ms "b: b4 deleted at the drain timeout" "$d_b" 3000 6000
else
	not_ok "b: b4 still in tmo 10 s after the reload (drain_timeout 3s)" "$(ipvsadm -Ln)"
fi
wait_for 2000 log_has "$LOG" 'service tmo: drain of 10\.1\.4\.2:8080 ended after '
assert_match "b: the log says drain timeout, one connection left" \
	'service tmo: drain of 10\.1\.4\.2:8080 ended after [3-5]\.[0-9] s: drain timeout, 1 live connections? left$' "$(cat "$LOG")"

# a: still there with its live connection (3+ s later), and the connection still works.
assert_live_drain "a: b2 still draining $((($(now_ms) - t_r) / 1000)) s after the reload" "$WEB" "$B2"
assert_eq "a: no failed exchange so far on the held connection" "" "$(hold_failures a)"
sleep 0.5
t_c=$(now_ms)
hold_stop a
assert_hold_clean "a"
if wait_for 10000 no_dest "$WEB" "$B2"; then
	d_a=$(($(now_ms) - t_c))
	note "a: client closed -> b2 deleted: $d_a ms"
	within_ms "a: b2 deleted soon after its last connection closed" "$d_a" 0 4999
else
	not_ok "a: b2 still in web 10 s after its last connection closed" "$(ipvsadm -Ln)"
fi
wait_for 2000 log_has "$LOG" 'service web: drain of 10\.1\.2\.2:8080 ended after '
assert_match "a: the log says no live connection" \
	'service web: drain of 10\.1\.2\.2:8080 ended after [0-9]+\.[0-9] s: no live connection$' "$(cat "$LOG")"
hold_stop b
note "b: the connection held across the timeout deletion: $(printf '%s\n' "$HOLD_OUT" | tr '\n' ';')"

# ---- e: leaving without a live connection: deleted at once, in the reload's own reconcile ----
# b1 and b3 served only closed connections (InActConn, not live).
note "before e: $(dest_stats "$WEB" "$B1") (b1) / $(dest_stats "$TMO" "$B3") (b3) weight active inactive"
m=$(wc -l <"$LOG")
write "2:3" 30s "4" 6s
wait_for 5000 has_dest "$WEB" "$B2" && wait_for 5000 has_dest "$TMO" "$B4" ||
	not_ok "e: b2 and b4 not back 5 s after the reload" "$(table)"
assert_table "e: b1 and b3 gone as b2 and b4 came (no drain)" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 3
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.1.4.2:8080 -m -w 1
EOF_
after=$(tail -n +$((m + 1)) "$LOG")
note "e: log:" "$after"
assert_no_match "e: no drain for b1 or b3" 'draining 10\.1\.[13]\.2' "$after"
assert_match "e: one reconcile: 2 added, 2 deleted" 'reconcile: 4 changes \(2 added, 0 edited, 2 deleted\)' "$after"

# ---- c: restart mid-drain; f: the drained backend returns ----
hold_start c "$WEB"
hold_start d "$TMO"
held "c" c b2
held "c" d b4
t0=$(now_ms)
write "1" 30s "3" 6s # b2 drains (30s), b4 drains (6s)
wait_for 5000 log_has "$LOG" 'service tmo: draining 10\.1\.4\.2:8080: weight 1 -> 0, 1 live' ||
	not_ok "c: tmo did not start draining b4" "$(tail -n 20 "$LOG")"
wait_for 5000 live_drain "$WEB" "$B2" || not_ok "c: b2 not draining" "$(ipvsadm -Ln)"
note "c: drain record: $(cat "$DSTATE/drains" 2>&1 | tr '\n' ';')"
# Restart 3 s into the drains: a timeout counted from the restart would end b4's 3 s too late.
_now
[ $((t0 + 3000 - NOW)) -gt 0 ] && sleep "$(((t0 + 3000 - NOW) / 1000)).$(printf '%03d' $(((t0 + 3000 - NOW) % 1000)))"
dstop "$D"
assert_eq "c: SIGTERM: exit status 0" 0 "$DRC"
assert_live_drain "c: b2 at weight 0 while no daemon runs" "$WEB" "$B2"
LOG2=$WORK/ezlb2.log
t_rs=$(now_ms)
dstart "$LOG2" "$CFG"
D=$DPID
# Watch b2's weight from the restart on, and time b4's deletion.
w2=()
t_b4=""
_now
until [ -n "$t_b4" ] || [ $((NOW - t0)) -gt 14000 ]; do
	w2+=("$(dest_weight "$WEB" "$B2")")
	no_dest "$TMO" "$B4" && { _now; t_b4=$NOW; }
	sleep 0.1
	_now
done
dready "restart" "$D" "$LOG2"
note "c: restart at +$((t_rs - t0)) ms; b2's weights seen from then on: $(printf '%s\n' "${w2[@]}" | sort | uniq -c | tr '\n' ' ')"
assert_eq "c: b2 never re-added at weight 3 nor deleted after the restart" "0" "$(printf '%s\n' "${w2[@]}" | sort -u)"
if [ -n "$t_b4" ]; then
	d_c=$((t_b4 - t0))
	note "c: drain start -> b4 deleted (drain_timeout 6s, restart at +$((t_rs - t0)) ms): $d_c ms"
	within_ms "c: b4 deleted at 6 s counted from the original start, not from the restart" \
		"$d_c" 6000 $((t_rs - t0 + 6000 - 1))
else
	not_ok "c: b4 still in tmo 14 s after the drain began (drain_timeout 6s)" "$(ipvsadm -Ln)"
fi
wait_for 2000 log_has "$LOG2" 'service tmo: drain of 10\.1\.4\.2:8080 ended after '
note "c: the restarted daemon's log:" "$(cat "$LOG2")"
assert_match "c: the restarted daemon ends b4's drain at its timeout, counted from the start" \
	'service tmo: drain of 10\.1\.4\.2:8080 ended after ([6-9]|1[0-9])\.[0-9] s: drain timeout, 1 live connections? left$' "$(cat "$LOG2")"
assert_no_match "c: the restarted daemon does not start b2's drain again" 'draining 10\.1\.2\.2:8080' "$(cat "$LOG2")"
assert_live_drain "c: b2 still draining $((($(now_ms) - t0) / 1000)) s in (its connection is live)" "$WEB" "$B2"
assert_eq "c: no failed exchange on b2's held connection across the restart" "" "$(hold_failures c)"

# f: b2 comes back (weight 3): an edit of the same destination, the connection goes on.
m=$(wc -l <"$LOG2")
write "1 2:3" 30s "3" 6s
weight_is() { [ "$(dest_weight "$1" "$2")" == "$3" ]; }
wait_for 5000 weight_is "$WEB" "$B2" 3 ||
	not_ok "f: b2 not back at weight 3 5 s after the reload" "$(ipvsadm -Ln)"
s=$(dest_stats "$WEB" "$B2")
note "f: b2 (weight active inactive): $s"
if [ "$(echo "$s" | cut -d' ' -f2)" -ge 1 ]; then ok "f: b2 back at weight 3 with its live connection"; else not_ok "f: b2 back without its connection: $s"; fi
after=$(tail -n +$((m + 1)) "$LOG2")
note "f: log:" "$after"
assert_match "f: the log says the drain is cancelled, weight 0 -> 3" \
	'service web: 10\.1\.2\.2:8080 is back in the config: drain cancelled after [0-9.]+ s, weight 0 -> 3' "$after"
assert_no_match "f: b2 neither deleted nor re-added" '(drain of 10\.1\.2\.2|\([1-9][0-9]* added|, [1-9][0-9]* deleted\))' "$after"
r=$(client -t 1000 "$WEB" 40)
note "web, 40 connections: $(printf '%s ' $r)"
if [ "$(count b2 "$r")" -ge 10 ] && [ "$(count fail "$r")" -eq 0 ]; then ok "f: new connections reach b2 again"; else not_ok "f: new connections: $(printf '%s ' $r)"; fi
sleep 0.5
hold_stop c
assert_hold_clean "c+f: b2's held connection across the drain, the restart and the return"
hold_stop d
note "c: tmo's connection held across the timeout deletion: $(printf '%s\n' "$HOLD_OUT" | tr '\n' ';')"
sleep 1.5
assert_eq "f: b2 stays after its connection closed (in the config again)" 3 "$(dest_weight "$WEB" "$B2")"
dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"

# ---- d: `ezlb once` across runs ----
hold_start e "$TMO"
held "d" e b3
write "1 2:3" 30s "4" 60s # b3 leaves with its connection
ez once --dry-run -c "$CFG" --state-dir "$DSTATE"
assert_rc "d: dry-run" 0
assert_match "d: dry-run prints the drain" \
	'^~ drain dest tmo tcp 10\.0\.0\.2:80 -> 10\.1\.3\.2:8080: weight 1 -> 0, 1 active connections?, timeout 60s$' "$OUT"
assert_eq "d: dry-run left b3 at weight 1" 1 "$(dest_weight "$TMO" "$B3")"
ez once -c "$CFG" --state-dir "$DSTATE"
assert_rc "d: run 1" 0
assert_match "d: run 1 logs the drain" 'service tmo: draining 10\.1\.3\.2:8080: weight 1 -> 0, 1 live connections?, timeout 60s$' "$ERR"
assert_live_drain "d: after run 1, b3" "$TMO" "$B3"
assert_eq "d: b4 added" 1 "$(dest_weight "$TMO" "$B4")"
ez once --dry-run -c "$CFG" --state-dir "$DSTATE"
assert_rc "d: dry-run while the connection is held" 0
assert_no_match "d: dry-run while held: nothing for b3 (no delete, no re-add)" '10\.1\.3\.2' "$OUT"
ez once -c "$CFG" --state-dir "$DSTATE"
assert_rc "d: another run while held" 0
assert_live_drain "d: a run while held keeps b3 draining" "$TMO" "$B3"
hold_stop e
assert_hold_clean "d"
no_active() { [ "$(dest_stats "$1" "$2" | cut -d' ' -f2)" == 0 ]; }
wait_for 5000 no_active "$TMO" "$B3" ||
	not_ok "d: b3 still has an active connection" "$(ipvsadm -Ln)"
ez once --dry-run -c "$CFG" --state-dir "$DSTATE"
assert_match "d: dry-run after the close: b3's delete" \
	'^- dest tmo tcp 10\.0\.0\.2:80 -> 10\.1\.3\.2:8080 \(drained: no live connection( after [0-9.]+ ?s)?\)$' "$OUT"
ez once -c "$CFG" --state-dir "$DSTATE"
assert_rc "d: run 2" 0
assert_true "d: run 2 deleted b3" no_dest "$TMO" "$B3"
assert_match "d: run 2 logs the end of the drain" \
	'service tmo: drain of 10\.1\.3\.2:8080 ended after [0-9]+\.[0-9] s: no live connection$' "$ERR"
ez once -c "$CFG" --state-dir "$DSTATE"
assert_eq "d: then nothing to do" "once: no changes" "$(last_line "$OUT")"
finish
