#!/bin/bash
# The ownership record (<state-dir>/owned): a service dropped from the config between two runs is
# deleted by the second; the record follows --state-dir; a missing or corrupt record makes ezlb
# delete nothing it cannot prove it owns, and it says so.
. /tests/lib.sh
cd "$WORK" || exit 1

conf two >/dev/null <<'EOF_'
services:
  - name: keep
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
  - name: drop
    listen: "[fd00::2]:80"
    protocol: tcp
    backends:
      - {address: "[fd01:2::2]:8080"}
EOF_
conf one >/dev/null <<'EOF_'
services:
  - name: keep
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
EOF_
KEEP='-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1'
DROP='-A -t [fd00::2]:80 -s wlc
-a -t [fd00::2]:80 -r [fd01:2::2]:8080 -m -w 1'

ez once --no-health-check -c two.yaml
assert_rc "two services" 0
assert_true "the record is written under /run/ezlb" test -s /run/ezlb/owned
assert_true "no temporary file is left next to it (only the lock)" \
	test "$(ls -A /run/ezlb | LC_ALL=C sort | tr '\n' ' ')" = "lock owned "

ez once --no-health-check -c one.yaml
assert_rc "service dropped from the config" 0
assert_match "the drop is one delete" '^once: 1 changes? \(0 added, 0 edited, 1 deleted\), 0 failed$' \
	"$(last_line "$OUT")"
printf '%s\n' "$KEEP" | assert_table "the dropped service is gone"

# --state-dir: a second, independent record.
mkdir -p "$WORK/st"
cp /run/ezlb/owned "$WORK/owned.run"
ez once --no-health-check --state-dir "$WORK/st" -c two.yaml
assert_rc "--state-dir run" 0
assert_true "--state-dir writes its own record" test -s "$WORK/st/owned"
assert_true "--state-dir leaves /run/ezlb/owned alone" cmp -s /run/ezlb/owned "$WORK/owned.run"
ez once --no-health-check --state-dir "$WORK/st" -c one.yaml
assert_rc "--state-dir drop" 0
printf '%s\n' "$KEEP" | assert_table "the record in --state-dir drives the delete"

# Missing record: a kernel service the config no longer names is not provably ezlb's: kept.
ez once --no-health-check -c two.yaml
rm -f /run/ezlb/owned
ez once --no-health-check -c one.yaml
assert_rc "run without a record" 0
printf '%s\n%s\n' "$KEEP" "$DROP" | assert_table "without a record nothing unnamed is deleted"
assert_true "the run writes a new record" test -s /run/ezlb/owned

# Corrupt record: same safety, and ezlb names the file it could not read.
ez once --no-health-check -c two.yaml
printf '\x00\x01garbage\nnot a key\n' >/run/ezlb/owned
ez once --no-health-check -c one.yaml
assert_eq "run with a corrupt record" 0 "$RC"
assert_contains "a corrupt record is reported" "/run/ezlb/owned" "$ERR"
printf '%s\n%s\n' "$KEEP" "$DROP" | assert_table "with a corrupt record nothing unnamed is deleted"
ez once --no-health-check -c one.yaml
assert_eq "after the corrupt record the next run is quiet" "once: no changes" "$(last_line "$OUT")"

finish
