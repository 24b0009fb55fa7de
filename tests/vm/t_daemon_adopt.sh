#!/bin/bash
# Restart adoption follows on_failure. Under `remove` (the default) a backend someone set to
# weight 0 by hand while no daemon ran is still a backend in the table: the restarted daemon
# keeps it and repairs its weight, it never deletes it. Under `quiesce`, weight 0 is how ezlb
# takes a backend out, so the restarted daemon keeps it out (weight 0) until its checks pass.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 2 || { not_ok "network setup"; finish; }

config() { # config ON_FAILURE
	cat >"$WORK/ezlb.yaml" <<EOF_
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    health_check: {interval: 1s, timeout: 500ms, fail_count: 2, rise_count: 3, on_failure: $1}
    backends:
      - {address: 10.1.1.2:8080, weight: 3}
      - {address: 10.1.2.2:8080, weight: 3}
EOF_
}
WANT='-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 3
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 3'

for mode in remove quiesce; do
	config "$mode"
	ipvsadm -C
	rm -rf "$DSTATE"
	LOG=$WORK/ezlb-$mode-1.log
	dstart "$LOG" "$WORK/ezlb.yaml"
	dready "$mode: first start" "$DPID" "$LOG" || finish
	wait_for 3000 table_is "$WANT"
	assert_table "$mode: both backends in" <<<"$WANT"
	dstop "$DPID"
	ipvsadm -e -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 0 # by hand, no daemon running
	LOG=$WORK/ezlb-$mode-2.log
	dstart "$LOG" "$WORK/ezlb.yaml"
	D=$DPID
	dready "$mode: restart" "$D" "$LOG" || finish
	# the state right after the restart's first reconcile, sampled every 50 ms for 1.5 s: the
	# healthy backend must never leave the table
	gone=0 w0=0
	for _ in $(seq 30); do
		has_dest 10.0.0.1:80 10.1.2.2:8080 || gone=$((gone + 1))
		ipvsadm -Sn | grep -q -- '-r 10.1.2.2:8080 -m -w 0$' && w0=$((w0 + 1))
		sleep 0.05
	done
	assert_eq "$mode: the backend set to weight 0 by hand was never deleted" 0 "$gone"
	if [ "$mode" = remove ]; then
		assert_eq "remove: its weight is repaired at once (never seen at weight 0)" 0 "$w0"
		assert_eq "remove: the restart adopted every backend" 0 "$(log_count "$LOG" 'stay out until')"
	else
		if [ "$w0" -gt 0 ]; then ok "quiesce: kept at weight 0 after the restart ($w0 of 30 samples)"
		else not_ok "quiesce: never seen at weight 0 after the restart"; fi
		assert_match "quiesce: the log says it stays out until its checks pass" \
			'adopting the kernel table: 1 backends it does not carry stay out' "$(cat "$LOG")"
		wait_for 8000 table_is "$WANT"
		assert_table "quiesce: back to weight 3 once its checks passed" <<<"$WANT"
	fi
	dstop "$D"
done
finish
