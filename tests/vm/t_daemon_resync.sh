#!/bin/bash
# Drift repair by the periodic resync (global.resync_interval: 2s): `ipvsadm -C` by hand, a
# weight edited with ipvsadm -e, a destination deleted with -d and a scheduler changed with -E are
# all restored within one resync interval (+ 1 s); a foreign service added with ipvsadm -A
# survives several resyncs untouched.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

RESYNC=2000 # ms, as in the config
cat >"$WORK/ezlb.yaml" <<'EOF_'
global: {resync_interval: 2s}
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    health_check: {enabled: false}
    backends:
      - {address: 10.1.1.2:8080, weight: 5}
      - {address: 10.1.2.2:8080, weight: 3}
  - name: dns
    listen: 10.0.0.1:53
    protocol: udp
    scheduler: rr
    health_check: {enabled: false}
    backends:
      - {address: 10.1.1.2:53}
EOF_
WANT='-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 5
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 3
-A -u 10.0.0.1:53 -s rr
-a -u 10.0.0.1:53 -r 10.1.1.2:53 -m -w 1'
FOREIGN='-A -t 10.0.0.9:80 -s rr
-a -t 10.0.0.9:80 -r 10.1.9.2:80 -m -w 1'
LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
assert_table "initial table" <<<"$WANT"

# repaired NAME WANT LOG_ERE: after a change by hand at T0, the table is WANT again within one
# resync interval + 1 s, and the daemon logged a reconcile matching LOG_ERE (after line L0).
repaired() {
	if wait_for $((RESYNC + 3000)) table_is "$2"; then
		local d=$(($(now_ms) - T0))
		if [ "$d" -le $((RESYNC + 1000)) ]; then
			ok "$1: repaired in ${d} ms (<= resync_interval + 1 s)"
		else
			not_ok "$1: repaired in ${d} ms, more than resync_interval + 1 s"
		fi
	else
		not_ok "$1: not repaired" "want:" "$2" "table:" "$(table)"
	fi
	wait_for 1000 log_since "$3"
	assert_match "$1: the log counts the repair" "$3" "$(tail -n +$((L0 + 1)) "$LOG")"
}
mark_log() { L0=$(wc -l <"$LOG"); }
log_since() { tail -n +$((L0 + 1)) "$LOG" | grep -qE -- "$1"; }

mark_log
T0=$(now_ms)
ipvsadm -C
assert_eq "ipvsadm -C emptied the table" "" "$(table)"
repaired "ipvsadm -C" "$WANT" 'reconcile: 5 changes \(5 added, 0 edited, 0 deleted\), 0 failed'

mark_log
T0=$(now_ms)
ipvsadm -e -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 9
assert_match "weight edited by hand" '^-a -t 10\.0\.0\.1:80 -r 10\.1\.1\.2:8080 -m -w 9$' "$(table)"
repaired "weight edited with ipvsadm -e" "$WANT" 'reconcile: 1 changes? \(0 added, 1 edited, 0 deleted\), 0 failed'

mark_log
T0=$(now_ms)
ipvsadm -d -t 10.0.0.1:80 -r 10.1.2.2:8080
ipvsadm -E -t 10.0.0.1:80 -s lc
assert_no_match "destination deleted by hand" '10\.1\.2\.2:8080' "$(table)"
repaired "destination deleted and scheduler changed by hand" "$WANT" \
	'reconcile: 2 changes \(1 added, 1 edited, 0 deleted\), 0 failed'

# A foreign service: ezlb never touches it. Drift on ezlb's own service at the same time shows
# when a resync has run; three resyncs in all.
ipvsadm -A -t 10.0.0.9:80 -s rr && ipvsadm -a -t 10.0.0.9:80 -r 10.1.9.2:80 -m
for i in 1 2 3; do
	mark_log
	T0=$(now_ms)
	ipvsadm -e -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w $((10 + i))
	repaired "resync #$i with a foreign service present" "$(printf '%s\n' "$WANT" "$FOREIGN")" \
		'reconcile: 1 changes? \(0 added, 1 edited, 0 deleted\), 0 failed'
done
assert_eq "the log never mentions the foreign service" 0 "$(log_count "$LOG" '10\.0\.0\.9')"

dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
assert_table "after exit: ezlb's services and the foreign one" <<<"$(printf '%s\n' "$WANT" "$FOREIGN")"
finish
