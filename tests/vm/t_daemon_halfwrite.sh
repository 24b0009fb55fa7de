#!/bin/bash
# A config written slowly in place (scp, `cat >`, rsync --inplace) is never loaded half-way: a
# valid prefix is written, 3 s pass with the file still open, then the rest and the close. The
# table never shows the prefix's state (which would delete two services); after the close the
# new version (one weight changed at the end of the file) is in force.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

svc() { # svc N WEIGHT
	printf '  - name: s%s\n    listen: 10.0.0.1:%s\n    health_check: {enabled: false}\n    backends:\n      - {address: 10.1.1.2:8080, weight: %s}\n' "$1" "$((80 + $1))" "$2"
}
{ echo "services:"; svc 1 1; svc 2 1; svc 3 1; } >"$WORK/ezlb.yaml"
LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
wait_for 3000 eval '[ "$(ipvsadm -Sn | grep -c "^-A")" -eq 3 ]'
assert_eq "three services at the start" 3 "$(ipvsadm -Sn | grep -c '^-A')"

# the prefix: a complete, valid config with service 1 only
exec 3>"$WORK/ezlb.yaml"
{ echo "services:"; svc 1 1; } >&3
min=3 samples=0
end=$(($(now_ms) + 3000))
while [ "$(now_ms)" -lt "$end" ]; do
	n=$(ipvsadm -Sn | grep -c '^-A')
	[ "$n" -lt "$min" ] && min=$n
	samples=$((samples + 1))
	sleep 0.1
done
assert_eq "while the file was open for 3 s ($samples samples): never fewer than 3 services" 3 "$min"
{ svc 2 1; svc 3 7; } >&3
exec 3>&-
if wait_for 5000 eval 'ipvsadm -Sn | grep -q -- "-a -t 10.0.0.1:83 -r 10.1.1.2:8080 -m -w 7"'; then
	ok "after the close the whole new file is in force (s3 weight 7)"
else
	not_ok "the new version was not loaded after the close" "$(ipvsadm -Sn)" "$(tail -n 20 "$LOG")"
fi
assert_eq "still three services" 3 "$(ipvsadm -Sn | grep -c '^-A')"
assert_eq "the daemon logged no deletion" 0 "$(grep -cE ', [1-9][0-9]* deleted\)' "$LOG")"
assert_eq "one load, after the close" 1 "$(log_count "$LOG" 'configuration loaded')"
dstop "$D"
finish
