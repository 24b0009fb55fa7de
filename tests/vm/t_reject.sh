#!/bin/bash
# An op the kernel rejects is reported, and every other op still applies. The VM image leaves
# ip_vs_ovf.ko out on purpose (tests/vm/mkinitramfs.sh), so "ovf" -- a valid scheduler name for
# ezlb -- is refused by this kernel.
. /tests/lib.sh
cd "$WORK" || exit 1

assert_true "ip_vs_ovf is really absent from the VM" test -z "$(find /lib/modules -name 'ip_vs_ovf*')"
conf r >/dev/null <<'EOF_'
services:
  - name: first
    listen: 10.0.0.1:80
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:8080, weight: 2}
      - {address: 10.1.2.2:8080, weight: 1}
  - name: overflow
    listen: 10.0.0.2:80
    scheduler: ovf
    backends:
      - {address: 10.1.1.2:8080}
  - name: last
    listen: "[fd00::3]:80"
    scheduler: rr
    backends:
      - {address: "[fd01:3::2]:8080"}
EOF_
ez check -c r.yaml
assert_rc "the config itself is valid" 0

ez once --no-health-check -c r.yaml
assert_rc "a rejected op makes once fail" 1
assert_contains "the error names the service" "service overflow:" "$ERR"
assert_contains "the error names the scheduler" "ovf" "$ERR"
assert_match "the summary counts failures" '^once: [0-9]+ changes? \([0-9]+ added, 0 edited, 0 deleted\), [1-9][0-9]* failed$' \
	"$(last_line "$OUT")"
assert_table "every other op applied" <<'EOF_'
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 2
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 1
-A -t [fd00::3]:80 -s rr
-a -t [fd00::3]:80 -r [fd01:3::2]:8080 -m -w 1
EOF_

# The next run retries only what failed, and still says so.
snapshot "$WORK/after1"
ez once --no-health-check -c r.yaml
assert_rc "the retry fails again" 1
assert_contains "the retry names the service again" "service overflow:" "$ERR"
assert_no_match "the retry does not touch the services that worked" '(service first|service last)' "$ERR"
assert_unchanged "the retry leaves the good services as they are" "$WORK/after1"

# Once the config stops asking for ovf, everything applies and the exit status is 0 again.
sed -i 's/scheduler: ovf/scheduler: fo/' r.yaml
ez once --no-health-check -c r.yaml
assert_rc "after the fix" 0
assert_table "the fixed service is there too" <<'EOF_'
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 2
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 1
-A -t 10.0.0.2:80 -s fo
-a -t 10.0.0.2:80 -r 10.1.1.2:8080 -m -w 1
-A -t [fd00::3]:80 -s rr
-a -t [fd00::3]:80 -r [fd01:3::2]:8080 -m -w 1
EOF_

finish
