#!/bin/bash
# Quorum (quorum: {min_up, on_loss}) under live client traffic: web has 3 backends and min_up 2;
# with 2 of them killed the service has lost quorum and
#   on_loss sorry:     only the sorry server (b4, an echo server named "sorry") takes new
#                      connections; when the backends return, they take the traffic again and
#                      the sorry server drains away; if quorum is lost again while it still
#                      drains (a connection held to it), it takes the new connections again;
#   on_loss fail_open: every configured backend is in the table with its weight;
#   on_loss empty:     no destination has a positive weight.
# And a sorry server that is also a backend address (b3): it stays in the table throughout,
# at the sorry weight while quorum is lost, at its backend weight otherwise, never drained.
# "quorum lost" / "quorum back" are logged once per transition and STATUS= names the service.
# The failed client connections during each switch are printed as "quorum switch: ..." notes.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"
backend_add 4 || not_ok "namespace b4"
pid=$(nsrun b4 lbnet serve -e -d "[::]:8080" sorry) || not_ok "the sorry server" # echo: lbnet hold works
track_pid "$pid"

VIP=10.0.0.1:80
B1=10.1.1.2:8080 B2=10.1.2.2:8080 B3=10.1.3.2:8080 SORRY=10.1.4.2:8080
CFG=$WORK/ezlb.yaml
LOG=$WORK/ezlb.log
FULL='-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 3
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 2
-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 1'

# write ON_LOSS [SORRY_ADDR SORRY_WEIGHT]: the config, saved by rename (a reload when running).
write() {
	{
		cat <<EOF_
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    drain_timeout: 10s
    health_check: {interval: 500ms, timeout: 300ms, fail_count: 1, rise_count: 1}
    quorum: {min_up: 2, on_loss: $1}
    backends:
      - {address: 10.1.1.2:8080, weight: 3}
      - {address: 10.1.2.2:8080, weight: 2}
      - {address: 10.1.3.2:8080, weight: 1}
EOF_
		if [ -n "${2:-}" ]; then printf '    sorry_servers:\n      - {address: %s, weight: %s}\n' "$2" "$3"; fi
	} >"$CFG.new" && mv "$CFG.new" "$CFG"
}

# reload ARGS...: write ARGS, then wait until the daemon has loaded the file (and 200 ms more
# for its reconcile).
loaded_more() { [ "$(log_count "$LOG" 'configuration loaded: ')" -gt "$1" ]; }
reload() {
	local m
	m=$(log_count "$LOG" 'configuration loaded: ')
	write "$@"
	wait_for 5000 loaded_more "$m" || not_ok "reload ($*): the file was not loaded 5 s later" "$(tail -n 5 "$LOG")"
	sleep 0.2
}

# positive: the destinations of web with a weight > 0, sorted, space-separated.
positive() {
	ipvsadm -Sn | awk -v v="$VIP" '$1 == "-a" && $3 == v && $8 > 0 { print $5 }' | LC_ALL=C sort | tr '\n' ' ' |
		sed 's/ $//'
}
positive_is() { [ "$(positive)" == "$1" ]; }
quorum_lost_count() { log_count "$LOG" 'service web: quorum lost: '; }
quorum_back_count() { log_count "$LOG" 'service web: quorum back: '; }
# lost_at_least N / back_at_least N: that many transitions logged so far (for wait_for).
lost_at_least() { [ "$(quorum_lost_count)" -ge "$1" ]; }
back_at_least() { [ "$(quorum_back_count)" -ge "$1" ]; }
kill_two() { unserve 1; unserve 2; }
revive_two() { serve 1 && serve 2; }

# switch NAME ACTION WANT: a background `lbnet client --for 4` against the VIP; 0.5 s into it,
# ACTION runs, then waits (8 s at most) until the destinations with positive weight are WANT
# (through positive_is, or SAMPLE_FN when set: it samples and then tests). Sets FAILS, TOTAL,
# OUTAGE and SWITCH_MS (ACTION -> WANT), notes "quorum switch: NAME: ..." and the answers.
switch() {
	local name=$1 action=$2 want=$3 out t_a
	client -t 300 "$VIP" --for 4 >"$WORK/bg.out" 2>&1 &
	local bg=$!
	track_pid "$bg"
	sleep 0.5
	t_a=$(now_ms)
	$action
	if wait_for 8000 "${SAMPLE_FN:-positive_is}" "$want"; then
		SWITCH_MS=$(($(now_ms) - t_a))
	else
		SWITCH_MS=-1
		not_ok "$name: destinations with weight > 0 not \"$want\" 8 s later" "$(ipvsadm -Ln)"
	fi
	wait "$bg"
	out=$(cat "$WORK/bg.out")
	FAILS=$(count fail "$out")
	OUTAGE=$(count longest_outage_ms "$out")
	TOTAL=$(printf '%s\n' "$out" | awk '$1 != "longest_outage_ms" { n += $2 } END { print n + 0 }')
	note "quorum switch: $name: $FAILS failed connections of $TOTAL in 4 s, longest outage $OUTAGE ms," \
		"action -> table switched in $SWITCH_MS ms; answers: $(printf '%s\n' "$out" | grep -v '^longest' | tr '\n' ' ')"
}

# ---- on_loss sorry ----
write sorry "$SORRY" 1
dstart "$LOG" "$CFG"
D=$DPID
dready "start" "$D" "$LOG" || finish
assert_table "quorum held: the three backends, no sorry server" <<<"$FULL"

switch "sorry on (b1, b2 killed)" kill_two "$SORRY"
SORRY_ON_FAILS=$FAILS
assert_eq "sorry: quorum lost logged once" 1 "$(quorum_lost_count)"
assert_match "sorry: the log line says why and what" \
	'service web: quorum lost: 1 of 3 backends up, min_up 2; only the sorry servers take new connections$' "$(cat "$LOG")"
r=$(client -t 500 "$VIP" 100)
note "after the switch, 100 connections: $(printf '%s ' $r)"
assert_eq "sorry: every new connection is answered by the sorry server" "100 0" "$(count sorry "$r") $(count fail "$r")"
if wait_for 3000 notify_has "$D" 'STATUS=.*quorum lost: web.*'; then
	ok "sorry: STATUS names the service: $(notify_lines "$D" 'STATUS=.*quorum lost: web.*' | tail -n 1 | cut -d' ' -f4-)"
else
	not_ok "sorry: no STATUS with 'quorum lost: web'" "$(notify_fields "$D" | tail -n 5)"
fi
sleep 1
assert_eq "sorry: still one 'quorum lost' line after more failed checks" 1 "$(quorum_lost_count)"

switch "sorry off (b1, b2 revived)" revive_two "$B1 $B2 $B3"
SORRY_OFF_FAILS=$FAILS
assert_eq "sorry off: no connection failed while the backends came back" 0 "$FAILS"
assert_eq "sorry off: quorum back logged once" 1 "$(quorum_back_count)"
t_b=$(now_ms)
if wait_for 5000 no_dest "$VIP" "$SORRY"; then
	ok "sorry off: the sorry server (short connections only) drained away $(($(now_ms) - t_b)) ms after the backends were back"
else
	not_ok "sorry off: the sorry server is still in the table" "$(ipvsadm -Ln)"
fi
assert_table "sorry off: the three backends again" <<<"$FULL"
r=$(client -t 500 "$VIP" 120)
note "after the switch, 120 connections: $(printf '%s ' $r)"
assert_eq "sorry off: the sorry server answers no more, no failure" "0 0" "$(count sorry "$r") $(count fail "$r")"
# wrr 3:2:1 is an exact cycle; a client port that repeats while IPVS still holds its entry may
# pin one connection to an earlier backend, hence +- 3.
spread_ok() { local d=$(($1 - $2)); [ "${d#-}" -le 3 ]; }
if spread_ok "$(count b1 "$r")" 60 && spread_ok "$(count b2 "$r")" 40 && spread_ok "$(count b3 "$r")" 20; then
	ok "sorry off: the backends answer by weight 3:2:1"
else
	not_ok "sorry off: the backends do not answer by weight 3:2:1 (want 60 40 20 +- 3)" "$r"
fi
last_status() { notify_lines "$D" 'STATUS=.*' | tail -n 1; }
status_clear() { ! last_status | grep -q 'quorum lost'; }
if wait_for 3000 status_clear; then ok "sorry off: STATUS no longer says quorum lost"; else not_ok "sorry off: STATUS still says quorum lost" "$(last_status)"; fi

# ---- quorum lost again while the sorry server still drains (a connection is held to it) ----
kill_two
wait_for 8000 positive_is "$SORRY" || not_ok "flap: not switched to the sorry server" "$(ipvsadm -Ln)"
hold_start s "$VIP"
if wait_for 5000 hold_connected s; then
	assert_eq "flap: the held connection reached the sorry server" sorry "$(hold_name s)"
else
	not_ok "flap: the held connection did not connect" "$(cat "$WORK/hold.s.out")"
fi
revive_two
wait_for 8000 positive_is "$B1 $B2 $B3" || not_ok "flap: the backends did not come back" "$(ipvsadm -Ln)"
s=$(dest_stats "$VIP" "$SORRY")
note "flap: the sorry server after quorum back (weight active inactive): $s"
if [ "${s%% *}" == 0 ] && [ "$(echo "$s" | cut -d' ' -f2)" -ge 1 ]; then
	ok "flap: quorum back: the sorry server drains at weight 0 with its live connection"
else
	not_ok "flap: quorum back: the sorry server is not draining with its connection: \"$s\"" "$(ipvsadm -Ln)"
fi
r=$(client -t 500 "$VIP" 60)
note "flap: 60 connections while the sorry server drains: $(printf '%s ' $r)"
assert_eq "flap: no new connection reaches the draining sorry server, no failure" "0 0" "$(count sorry "$r") $(count fail "$r")"
switch "sorry on again while the sorry server still drains (b1, b2 killed)" kill_two "$SORRY"
FLAP_ON_FAILS=$FAILS
r=$(client -t 500 "$VIP" 60)
note "flap: 60 connections: $(printf '%s ' $r)"
assert_eq "flap: the draining sorry server takes every new connection again" "60 0" "$(count sorry "$r") $(count fail "$r")"
revive_two
wait_for 8000 positive_is "$B1 $B2 $B3" || not_ok "flap: the backends did not come back again" "$(ipvsadm -Ln)"
assert_eq "flap: no failed exchange on the connection held to the sorry server" "" "$(hold_failures s)"
t_c=$(now_ms)
hold_stop s
note "flap: the held connection: $(printf '%s\n' "$HOLD_OUT" | tr '\n' ';')"
if wait_for 5000 no_dest "$VIP" "$SORRY"; then
	ok "flap: the sorry server deleted $(($(now_ms) - t_c)) ms after its last connection closed"
else
	not_ok "flap: the sorry server still in the table 5 s after its last connection closed" "$(ipvsadm -Ln)"
fi
assert_table "flap: the three backends" <<<"$FULL"

# ---- on_loss fail_open ----
nl=$(quorum_lost_count) nb=$(quorum_back_count)
reload fail_open
assert_table "fail_open: quorum held, the three backends" <<<"$FULL"
kill_two
wait_for 8000 lost_at_least $((nl + 1)) || not_ok "fail_open: no 'quorum lost'" "$(tail -n 20 "$LOG")"
wait_for 3000 table_is "$FULL"
assert_table "fail_open: with 2 of 3 down, all three backends at their weights" <<<"$FULL"
assert_match "fail_open: the log says fail_open" \
	'service web: quorum lost: 1 of 3 backends up, min_up 2; fail_open: ' "$(cat "$LOG")"
r=$(client -t 300 "$VIP" 60)
note "fail_open with b1, b2 dead, 60 connections (expect about 5 of 6 failing): $(printf '%s ' $r)"
revive_two
wait_for 8000 back_at_least $((nb + 1)) || not_ok "fail_open: no 'quorum back'" "$(tail -n 20 "$LOG")"
wait_for 3000 table_is "$FULL" # quorum is back with the first revived backend up
assert_table "fail_open: quorum back, the three backends" <<<"$FULL"

# ---- on_loss empty ----
nl=$(quorum_lost_count) nb=$(quorum_back_count)
reload empty
kill_two
wait_for 8000 lost_at_least $((nl + 1)) || not_ok "empty: no 'quorum lost'" "$(tail -n 20 "$LOG")"
wait_for 3000 positive_is ""
note "empty: $(ipvsadm -Ln -t "$VIP" | tail -n +3 | tr -s ' ' | tr '\n' ';')"
assert_eq "empty: no destination with weight > 0" "" "$(positive)"
assert_match "empty: the log says empty" 'service web: quorum lost: 1 of 3 backends up, min_up 2; empty: ' "$(cat "$LOG")"
r=$(client -t 300 "$VIP" 10)
assert_eq "empty: no connection is answered" "10" "$(count fail "$r")"
revive_two
wait_for 8000 back_at_least $((nb + 1)) || not_ok "empty: no 'quorum back'" "$(tail -n 20 "$LOG")"
wait_for 3000 table_is "$FULL"
assert_table "empty: quorum back, the three backends" <<<"$FULL"

# ---- a sorry server that is also a backend (b3, sorry weight 5) ----
reload sorry "$B3" 5
assert_table "b3 also sorry: quorum held, b3 at its backend weight 1" <<<"$FULL"
m=$(wc -l <"$LOG")
B3W=()
# b3_sample WANT: records b3's weight, then tests positive_is WANT.
b3_sample() { local w; w=$(dest_weight "$VIP" "$B3"); B3W+=("${w:-absent}"); positive_is "$1"; }
SAMPLE_FN=b3_sample switch "b3 also sorry: sorry on" kill_two "$B3"
DUAL_ON_FAILS=$FAILS
assert_eq "b3 also sorry: b3 at the sorry weight 5, alone with a positive weight" \
	"-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 5" "$(ipvsadm -Sn | grep -- "-r $B3 ")"
assert_eq "b3 also sorry: b3 never left the table nor went to weight 0 (weights seen: $(printf '%s\n' "${B3W[@]}" | sort -u | tr '\n' ' '))" \
	"" "$(printf '%s\n' "${B3W[@]}" | grep -Ex 'absent|0')"
r=$(client -t 500 "$VIP" 60)
note "after the switch, 60 connections: $(printf '%s ' $r)"
assert_eq "b3 also sorry: every new connection answered by b3" "60 0" "$(count b3 "$r") $(count fail "$r")"
B3W=()
SAMPLE_FN=b3_sample switch "b3 also sorry: sorry off" revive_two "$B1 $B2 $B3"
DUAL_OFF_FAILS=$FAILS
assert_eq "b3 also sorry, back: no connection failed" 0 "$FAILS"
assert_eq "b3 also sorry, back: b3 never left the table nor went to weight 0 (weights seen: $(printf '%s\n' "${B3W[@]}" | sort -u | tr '\n' ' '))" \
	"" "$(printf '%s\n' "${B3W[@]}" | grep -Ex 'absent|0')"
sleep 1.5
assert_table "b3 also sorry, back: the three backends, b3 at weight 1" <<<"$FULL"
after=$(tail -n +$((m + 1)) "$LOG")
note "b3 also sorry: log:" "$after"
assert_no_match "b3 also sorry: b3 never drained nor deleted" '(draining|drain of) 10\.1\.3\.2' "$after"

note "quorum switch summary: sorry on $SORRY_ON_FAILS, sorry off $SORRY_OFF_FAILS, sorry on again while it drains $FLAP_ON_FAILS," \
	"b3-also-sorry on $DUAL_ON_FAILS, off $DUAL_OFF_FAILS failed connections"
dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
finish
