#!/bin/bash
# The pipelined apply ties every kernel error to its op, even in the middle of a batch of
# thousands of requests sent without ACKs: one `ezlb once` of 3,052 ops where the kernel refuses
#   - a destination in the 8th of 30 services (224.0.0.7 is multicast: no IPVS destination),
#   - the 16th service (scheduler "ovf": ip_vs_ovf.ko is left out of the VM image on purpose),
#     and with it its 100 destinations,
#   - the last destination of an IPv6 service at the very end (fe80::1 is link-local),
# must print exactly those errors, apply every other op (ipvsadm is the oracle), and exit 1. The
# retry sends only the failed ops and reports the same errors.
. /tests/lib.sh
cd "$WORK" || exit 1

# 30 IPv4 services s00..s29 (10.0.0.1..30:80) x 100 destinations 10.1.I.1..100:8080, weights
# 1..5; s07's last destination is 224.0.0.7, s15 uses ovf. Then v6 with 20 good destinations and
# fe80::1. $1 = yaml: the config; $1 = table: the table the kernel must end with.
gen() {
	awk -v what="$1" '
	function dst(i, j) { return (i == 7 && j == 99) ? "224.0.0.7" : "10.1." i "." (j + 1) }
	BEGIN {
		if (what == "yaml") print "services:"
		for (i = 0; i < 30; i++) {
			vip = "10.0.0." (i + 1) ":80"
			sched = i == 15 ? "ovf" : "wrr"
			if (what == "yaml") printf("  - name: s%02d\n    listen: %s\n    scheduler: %s\n    backends:\n", i, vip, sched)
			else if (i != 15) printf("-A -t %s -s wrr\n", vip)
			for (j = 0; j < 100; j++) {
				d = dst(i, j) ":8080"; w = 1 + j % 5
				if (what == "yaml") printf("      - {address: %s, weight: %d}\n", d, w)
				else if (i != 15 && !(i == 7 && j == 99)) printf("-a -t %s -r %s -m -w %d\n", vip, d, w)
			}
		}
		if (what == "yaml") {
			print "  - name: v6\n    listen: \"[fd00::6]:80\"\n    scheduler: rr\n    backends:"
			for (j = 1; j <= 20; j++) printf("      - {address: \"[fd01::%x]:8080\"}\n", j)
			print "      - {address: \"[fe80::1]:8080\"}"
		} else {
			print "-A -t [fd00::6]:80 -s rr"
			for (j = 1; j <= 20; j++) printf("-a -t [fd00::6]:80 -r [fd01::%x]:8080 -m -w 1\n", j)
		}
	}'
}
gen yaml >p.yaml
gen table >want.table

# The error lines without their timestamp prefix, sorted.
errors() { printf '%s\n' "$ERR" | sed -n 's/^.* ezlb\[error\]: //p' | LC_ALL=C sort; }
want_errors=$(LC_ALL=C sort <<'EOF_'
service s07: add destination tcp 10.0.0.8:80 -> 224.0.0.7:8080: the kernel rejected the destination (not a unicast address it can forward to?)
service s15: add service tcp 10.0.0.16:80: scheduler "ovf" not in kernel (no module ip_vs_ovf)
service s15: 100 destinations not added because the service was not created
service v6: add destination tcp [fd00::6]:80 -> [fe80::1]:8080: the kernel rejected the destination (not a unicast address it can forward to?)
EOF_
)

ez check -c p.yaml
assert_rc "the config itself is valid" 0
assert_eq "it holds 31 services and 3,021 backends" "configuration OK: 31 services, 3021 backends" "$OUT"

ez once --no-health-check -l debug -c p.yaml
assert_rc "kernel errors make once fail" 1
# 31 service adds + 3,021 destination adds = 3,052 ops; 103 fail: 2 destinations, s15 and its 100.
assert_eq "the summary counts every op" "once: 2949 changes (2949 added, 0 edited, 0 deleted), 103 failed" \
	"$(last_line "$OUT")"
assert_eq "exactly the failed ops are reported, each named" "$want_errors" "$(errors)"
assert_eq "every other op applied" "$(LC_ALL=C sort want.table)" "$(table)"
# The plan is ordered by service (s00..s29, then v6), so the failures are ops ~807, 1,515..1,615
# and 3,051: with batches smaller than the plan, they fall in different sendmsg batches.
per_batch=$(printf '%s\n' "$ERR" | sed -n 's/.*ipvs: .* up to \([0-9]*\) requests .* per batch$/\1/p')
note "requests per batch: ${per_batch:-unknown}"
assert_true "the 3,052 ops took more than one batch (debug log: up to ${per_batch:-?} per batch)" \
	test "${per_batch:-99999}" -lt 3052

# The retry sends only what failed (and fails the same way); what worked stays as it is.
snapshot "$WORK/after1"
ez once --no-health-check -c p.yaml
assert_rc "the retry fails again" 1
assert_eq "the retry counts only the failed ops" "once: 0 changes (0 added, 0 edited, 0 deleted), 103 failed" \
	"$(last_line "$OUT")"
assert_eq "the retry reports the same errors" "$want_errors" "$(errors)"
assert_unchanged "the retry leaves the applied ops alone" "$WORK/after1"

finish
