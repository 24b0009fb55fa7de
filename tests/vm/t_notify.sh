#!/bin/bash
# Event hooks (global.notify) from the daemon: a killed backend gives backend_down with a reason,
# revived backend_up, in that order; a good reload gives config_loaded, a broken file
# config_error with the reason. Each hook gets only the variables that apply; a hook that
# succeeds is not logged; no hook process is left behind. Budget: well under 30 s.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"

EVENTS=$WORK/events # one line per hook run: "$EZLB_EVENT $EZLB_SERVICE $EZLB_BACKEND $EZLB_REASON"
ENVS=$WORK/envs     # the same runs: the names of the EZLB_ variables that were set
HOOK=$WORK/hook.sh
cat >"$HOOK" <<EOF_
#!/bin/sh
printf '%s %s %s %s\n' "\$EZLB_EVENT" "\$EZLB_SERVICE" "\$EZLB_BACKEND" "\$EZLB_REASON" >>"$EVENTS"
echo "\$EZLB_EVENT \$(env | sed -n 's/^\(EZLB_[A-Z]*\)=.*/\1/p' | sort | tr '\n' ' ')" >>"$ENVS"
EOF_
chmod 755 "$HOOK"
: >"$EVENTS"
: >"$ENVS"

CFG=$WORK/ezlb.yaml
# cfg W3: web3_config with global.notify, and b3's weight W3 (a reload changes it).
cfg() {
	cat <<EOF_
global:
  notify: ["$HOOK"]
  notify_timeout: 5s
EOF_
	web3_services "" "" "weight: $1"
}
rename_over() { printf '%s\n' "$1" >"$CFG.tmp" && mv "$CFG.tmp" "$CFG"; }
# events_after N ERE: the lines of EVENTS after line N that match ERE.
events_after() { tail -n +"$(($1 + 1))" "$EVENTS" | grep -E -- "$2"; }
has_event() { [ -n "$(events_after "$1" "$2")" ]; }
mark() { wc -l <"$EVENTS"; }

printf '%s\n' "$(cfg 1)" >"$CFG"
LOG=$WORK/ezlb.log
dstart "$LOG" "$CFG"
D=$DPID
dready "start" "$D" "$LOG" || finish
note "events at start-up:" "$(cat "$EVENTS")"

# Kill b2: backend_down with a reason (within interval x fail_count + slack).
m=$(mark)
unserve 2
if wait_for 6000 has_event "$m" '^backend_down web 10\.1\.2\.2:8080 '; then
	line=$(events_after "$m" '^backend_down web 10\.1\.2\.2:8080 ' | head -n 1)
	note "down: $line"
	assert_match "backend_down for b2 has a reason" '^backend_down web 10\.1\.2\.2:8080 [^ ].*' "$line"
	assert_match "the reason says why (connection refused)" 'connection refused' "$line"
else
	not_ok "no backend_down for b2 within 6 s" "events:" "$(cat "$EVENTS")" "log:" "$(tail -n 20 "$LOG")"
fi

# Revive b2: backend_up, after the backend_down.
serve 2
if wait_for 6000 has_event "$m" '^backend_up web 10\.1\.2\.2:8080'; then
	ok "backend_up for b2"
else
	not_ok "no backend_up for b2 within 6 s" "events:" "$(cat "$EVENTS")"
fi
assert_eq "b2's events in order: down, then up" "backend_down
backend_up" "$(events_after "$m" ' web 10\.1\.2\.2:8080' | cut -d' ' -f1)"
assert_eq "no event about b1 or b3" "" "$(events_after "$m" '10\.1\.[13]\.2:8080')"

# A good reload: config_loaded.
m=$(mark)
rename_over "$(cfg 3)"
if wait_for 5000 has_event "$m" '^config_loaded '; then
	ok "reload: config_loaded"
else
	not_ok "reload: no config_loaded within 5 s" "events:" "$(cat "$EVENTS")" "log:" "$(tail -n 20 "$LOG")"
fi
wait_for 3000 table_is "$(printf '%s\n' "$WEB3_TABLE" | sed 's/10.1.3.2:8080 -m -w 1/10.1.3.2:8080 -m -w 3/')" ||
	not_ok "reload: weight 3 not applied" "$(table)"

# A broken file: config_error, its reason naming the file and the problem.
m=$(mark)
rename_over "$(cfg 3 | sed 's/10\.1\.3\.2:8080/10.1.3.300:8080/')"
if wait_for 5000 has_event "$m" '^config_error '; then
	line=$(events_after "$m" '^config_error ' | head -n 1)
	note "error: $line"
	assert_contains "config_error: the reason names the bad value" '10.1.3.300:8080' "$line"
else
	not_ok "broken file: no config_error within 5 s" "events:" "$(cat "$EVENTS")" "log:" "$(tail -n 20 "$LOG")"
fi
assert_true "the daemon is running" dalive "$D"

# Only the variables that apply: a backend event has all four, config_loaded only the event.
assert_match "backend_down: EZLB_BACKEND, EZLB_EVENT, EZLB_REASON, EZLB_SERVICE" \
	'^backend_down EZLB_BACKEND EZLB_EVENT EZLB_REASON EZLB_SERVICE $' "$(cat "$ENVS")"
assert_match "config_loaded: EZLB_EVENT alone" '^config_loaded EZLB_EVENT $' "$(cat "$ENVS")"
assert_match "config_error: EZLB_EVENT and EZLB_REASON" '^config_error EZLB_EVENT EZLB_REASON $' \
	"$(cat "$ENVS")"

# Successful hooks are not logged; nothing of them is left (every hook was reaped).
assert_eq "no 'notify:' line in the log (every hook succeeded)" 0 "$(log_count "$LOG" 'notify: ')"
children() {
	local s
	for s in /proc/[0-9]*/status; do
		awk -v p="$D" '$1 == "PPid:" && $2 == p { f = 1 } END { exit !f }' "$s" 2>/dev/null && echo "$s"
	done
}
no_children() { [ -z "$(children)" ]; }
wait_for 2000 no_children
assert_eq "no child of the daemon left (hooks reaped)" "" "$(children)"
note "all events:" "$(cat "$EVENTS")"

dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
finish
