#!/bin/bash
# A tiny netlink receive buffer (EZLB_NETLINK_RCVBUF=2048, the kernel doubles it): dumps still
# complete and the pipelined apply shrinks its batches to what the buffer holds, so `ezlb once`
# programs a 40 x 50 table (2040 ops) exactly, a second run plans nothing (the dump read all of
# it), and a foreign service is untouched.
. /tests/lib.sh
cd "$WORK" || exit 1
{
	echo "services:"
	for i in $(seq 1 40); do
		printf '  - name: s%d\n    listen: 10.0.1.%d:80\n    health_check: {enabled: false}\n    backends:\n' "$i" "$i"
		for j in $(seq 1 50); do printf '      - {address: 10.1.%d.%d:8080}\n' "$i" "$j"; done
	done
} >"$WORK/big.yaml"
ipvsadm -A -t 10.0.0.9:80 -s rr
export EZLB_NETLINK_RCVBUF=2048
ez once -c big.yaml --state-dir "$WORK/st"
assert_rc "once with a 2 KiB receive buffer" 0
assert_eq "once: every op applied" "once: 2040 changes (2040 added, 0 edited, 0 deleted), 0 failed" "$(last_line "$OUT")"
assert_contains "the knob is announced in the log" "EZLB_NETLINK_RCVBUF" "$ERR"
assert_eq "the kernel holds 40 services and 2000 destinations" "41 2000" \
	"$(ipvsadm -Sn | grep -c '^-A') $(ipvsadm -Sn | grep -c '^-a')"
ez once --dry-run -c big.yaml --state-dir "$WORK/st"
assert_rc "dry-run with the tiny buffer" 0
assert_eq "the dump read the whole table: nothing to do" "plan: no changes" "$(last_line "$OUT")"
assert_eq "the foreign service is untouched" "-A -t 10.0.0.9:80 -s rr" "$(ipvsadm -Sn | grep '10\.0\.0\.9')"
finish
