#!/bin/bash
# Signals. SIGHUP reloads the file (even unchanged) and re-reads the kernel table, so a table
# emptied by hand is back at once although the resync is 30 s away. SIGTERM under continuous
# traffic: the daemon exits 0 and leaves the table exactly as it was; a new daemon on the same
# config and state directory adopts it without changing anything (0 changes, connection counters
# not reset), and the client sees zero failures over the whole restart. `ezlb cleanup` then
# removes what ezlb owns and leaves a foreign service.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"

web3_config "$WORK/ezlb.yaml"
WANT=$WEB3_TABLE
LOG1=$WORK/ezlb1.log
dstart "$LOG1" "$WORK/ezlb.yaml"
D1=$DPID
dready "first daemon" "$D1" "$LOG1" || finish
assert_table "initial table" <<<"$WANT"

# SIGHUP with the file unchanged: reloaded all the same, and RELOADING=1 then READY=1.
m=$(notify_mark)
kill -HUP "$D1"
wait_for 5000 log_has "$LOG1" 'configuration loaded: 1 services' ||
	not_ok "SIGHUP: no 'configuration loaded' in the log" "$(tail -n 10 "$LOG1")"
assert_eq "SIGHUP: logged" 1 "$(log_count "$LOG1" "ezlb\\[info\\]: SIGHUP: reloading $WORK/ezlb.yaml\$")"
assert_eq "SIGHUP: the unchanged file was loaded again" 1 "$(log_count "$LOG1" 'ezlb\[info\]: configuration loaded: 1 services$')"
wait_for 3000 notify_has "$D1" 'READY=1' "$m"
assert_eq "SIGHUP: RELOADING=1 then READY=1" "RELOADING=1 READY=1" \
	"$(notify_fields "$D1" "$m" | grep -oE '^(RELOADING|READY)=1' | tr '\n' ' ' | sed 's/ $//')"

# SIGHUP re-reads the kernel: a table emptied by hand is repaired at once (resync is 30 s away).
ipvsadm -C
T0=$(now_ms)
kill -HUP "$D1"
if wait_for 5000 table_is "$WANT"; then
	d=$(($(now_ms) - T0))
	if [ "$d" -le 1000 ]; then ok "SIGHUP repaired ipvsadm -C in ${d} ms"; else not_ok "SIGHUP repaired ipvsadm -C only after ${d} ms"; fi
else
	not_ok "SIGHUP did not repair ipvsadm -C" "$(table)"
fi

# SIGHUP with an edited file: the new content is in force.
sed -i 's/- {address: 10.1.3.2:8080}/- {address: 10.1.3.2:8080, weight: 4}/' "$WORK/ezlb.yaml"
kill -HUP "$D1"
WANT=${WANT/%-r 10.1.3.2:8080 -m -w 1/-r 10.1.3.2:8080 -m -w 4}
wait_for 5000 table_is "$WANT"
assert_table "edited file and SIGHUP: weight 4 in force" <<<"$WANT"

# Restart under continuous traffic: one client process for the whole period.
nsrun cl lbnet client -t 1000 10.0.0.1:80 --for 10 >"$WORK/client.out" 2>&1 &
CL=$!
track_pid "$CL"
sleep 3
snapshot "$WORK/before-restart"
m=$(notify_mark)
dstop "$D1"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
assert_unchanged "SIGTERM: the table stays exactly as it was" "$WORK/before-restart"
assert_eq "SIGTERM: logged" 1 "$(log_count "$LOG1" 'ezlb\[info\]: Terminated: stopping; the IPVS table stays as it is$')"
assert_eq "SIGTERM: STOPPING=1 was the last message" "STOPPING=1" "$(notify_fields "$D1" "$m" | tail -n 1)"
sleep 1 # traffic flows with no daemon at all

LOG2=$WORK/ezlb2.log
m=$(notify_mark)
dstart "$LOG2" "$WORK/ezlb.yaml"
D2=$DPID
dready "second daemon" "$D2" "$LOG2"
wait_for 3000 notify_has "$D2" 'STATUS=.*' "$m"
assert_match "second daemon: its first reconcile made 0 changes" \
	'^STATUS=1 services, 3/3 backends up, last reconcile [0-9]{2}:[0-9]{2}:[0-9]{2}: 0 changes, 0 failed$' \
	"$(notify_fields "$D2" "$m" | tr '\t' '\n' | grep '^STATUS=' | head -n 1)"
assert_eq "second daemon: no reconcile with changes in its log" 0 "$(log_count "$LOG2" 'reconcile: [1-9]')"
assert_unchanged "second daemon: the table is untouched" "$WORK/before-restart"
wait "$CL"
r=$(cat "$WORK/client.out")
note "client over the restart: $(printf '%s ' $r)"
total=$(printf '%s\n' "$r" | awk '$1 ~ /^b[0-9]+$/ || $1 == "fail" { n += $2 } END { print n + 0 }')
if [ "$total" -ge 100 ]; then ok "$total connections over the restart"; else not_ok "only $total connections over the restart"; fi
assert_eq "zero failed connections over the restart" 0 "$(count fail "$r")"
assert_eq "no outage" 0 "$(count longest_outage_ms "$r")"
# The service was never re-created: its connection counter holds the connections of the whole
# period, not just those after the second start (the kernel folds its per-cpu counters into
# what it reports every 2 s, hence the wait).
sleep 2.5
conns=$(svc_conns 10.0.0.1:80)
note "service connection counter: $conns, client connections: $total"
if [ "$conns" -ge $((total * 95 / 100)) ]; then
	ok "the service's counter has the connections from before the restart ($conns for $total)"
else
	not_ok "the service's counter has $conns connections for the client's $total: re-created?"
fi

# cleanup removes what ezlb owns and nothing else.
ipvsadm -A -t 10.0.0.9:80 -s rr && ipvsadm -a -t 10.0.0.9:80 -r 10.1.9.2:80 -m
dstop "$D2"
assert_eq "second daemon: exit status 0" 0 "$DRC"
ez cleanup -c "$WORK/ezlb.yaml" --state-dir "$DSTATE"
assert_rc "cleanup" 0
assert_eq "cleanup: summary" "cleanup: 1 changes (0 added, 0 edited, 1 deleted), 0 failed" "$(last_line "$OUT")"
assert_table "cleanup: only the foreign service is left" <<'EOF_'
-A -t 10.0.0.9:80 -s rr
-a -t 10.0.0.9:80 -r 10.1.9.2:80 -m -w 1
EOF_
finish
