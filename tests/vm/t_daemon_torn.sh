#!/bin/bash
# A torn kernel dump never makes ezlb change its own services or forget one it owns. ezlb owns
# 300 services (resync every 1 s) while a foreign tool adds and deletes 1000 other services in a
# loop for 60 s, so every resync reads a table of up to 1300 services, far more than one reply
# packet, while it changes (IPVS resumes such a dump by counting entries: entries come back twice
# or are skipped). Counted from ezlb's log and from ipvsadm snapshots: zero changes to ezlb's
# services, all 300 always in the kernel and in the ownership record. ipvsadm -Sn is a dump too
# and is torn the same way: a service a snapshot lacks is asked for by its key (ipvsadm -L -t,
# answered under one lock) before it counts as gone.
# Budget: about 80 s (60 s of churn); the ASan build churns 20 s (about 20 torn dumps: the race is
# still run, and its share of the suite stays small).
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
CHURN_S=${CHURN_S:-60}
[ "${EZLB_BUILD:-rel}" = asan ] && CHURN_S=20

{
	echo "global: {resync_interval: 1s}"
	echo "services:"
	for i in $(seq 0 299); do
		printf '  - {name: s%d, listen: "10.0.%d.%d:80", scheduler: rr, health_check: {enabled: false}, backends: [{address: "10.1.1.2:8080"}]}\n' \
			"$i" $((1 + i / 200)) $((1 + i % 200))
	done
} >"$WORK/ezlb.yaml"
for i in $(seq 0 999); do echo "-A -t 10.9.$((i / 250)).$((1 + i % 250)):80 -s rr"; done >"$WORK/add.rules"
sed 's/^-A \(-t [^ ]*\) .*/-D \1/' "$WORK/add.rules" >"$WORK/del.rules"

LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml" --log-level debug
D=$DPID
dready "start" "$D" "$LOG" || finish
ours() { ipvsadm -Sn | grep -c '^-A -t 10\.0\.'; }
for i in $(seq 0 299); do echo "-A -t 10.0.$((1 + i / 200)).$((1 + i % 200)):80 -s rr"; done >"$WORK/ours.rules"
# present: ezlb's services in the kernel now, each one a snapshot lacks confirmed by its key
present() {
	local snap vip n=300
	snap=$(ipvsadm -Sn | grep '^-A -t 10\.0\.')
	for vip in $(printf '%s\n' "$snap" | grep -vxFf - "$WORK/ours.rules" | cut -d' ' -f3); do
		ipvsadm -L -n -t "$vip" >/dev/null 2>&1 || n=$((n - 1))
	done
	echo "$n"
}
wait_for 5000 eval '[ "$(ours)" -eq 300 ]'
assert_eq "300 services of ezlb's at the start" 300 "$(ours)"
owned() { grep -c '^tcp 10\.0\.' "$DSTATE/owned"; }
assert_eq "300 services in the ownership record" 300 "$(owned)"
L0=$(wc -l <"$LOG")

# the foreign tool: add 1000 services, delete them, again and again
(
	end=$(($(now_ms) + CHURN_S * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		ipvsadm -R <"$WORK/add.rules"
		ipvsadm -R <"$WORK/del.rules"
	done
) &
CH=$!
track_pid "$CH"
min_k=300 min_o=300 samples=0 rounds=0
while kill -0 "$CH" 2>/dev/null; do
	k=$(present) o=$(owned)
	[ "$k" -lt "$min_k" ] && min_k=$k
	[ "$o" -lt "$min_o" ] && min_o=$o
	samples=$((samples + 1))
	sleep 0.2
done
wait "$CH"
note "$samples snapshots over ${CHURN_S}s"
NEW=$(tail -n +$((L0 + 1)) "$LOG")
resyncs=$(printf '%s\n' "$NEW" | grep -c 'ipvs: .*fwmark\|ownership record .*: 300 owned' )
torn=$(printf '%s\n' "$NEW" | grep -c 'service list changed while read')
note "dumps that listed a service twice and were read again: $torn"
assert_eq "ezlb's services in the kernel never fewer than 300 ($samples ipvsadm snapshots, gaps asked by key)" 300 "$min_k"
assert_eq "the ownership record never lost an entry ($samples snapshots)" 300 "$min_o"
assert_eq "ezlb logged no change of its own during the churn" "" \
	"$(printf '%s\n' "$NEW" | grep -E 'reconcile: [1-9][0-9]* changes')"
assert_eq "no ownership entry dropped (log)" "" "$(printf '%s\n' "$NEW" | grep 'no longer owned')"
if [ "$torn" -gt 0 ]; then ok "the churn tore $torn dumps: the race was really run"
else not_ok "no torn dump seen in ${CHURN_S}s: the test did not exercise the race"; fi
assert_eq "after the churn: 300 services" 300 "$(ours)"
assert_eq "after the churn: no foreign service left" 0 "$(ipvsadm -Sn | grep -c '^-A -t 10\.9\.')"
dstop "$D"
finish
