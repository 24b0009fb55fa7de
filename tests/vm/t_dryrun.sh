#!/bin/bash
# --dry-run prints the plan, one line per op, then "plan: N changes", exits 0 and touches
# nothing: not the kernel table, not the ownership record.
. /tests/lib.sh
cd "$WORK" || exit 1

conf d1 >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:8080, weight: 5}
      - {address: 10.1.2.2:8080, weight: 3}
  - name: gone
    listen: 10.0.0.2:80
    backends:
      - {address: 10.1.3.2:8080}
EOF_
ez once --dry-run --no-health-check -c d1.yaml
assert_rc "dry-run from empty" 0
assert_eq "dry-run from empty: nothing in the kernel" "" "$(table)"
assert_true "dry-run from empty: no ownership record" test ! -e /run/ezlb/owned
assert_eq "dry-run from empty: plan ends with the count" "plan: 5 changes" "$(last_line "$OUT")"
assert_eq "dry-run from empty: 2 service adds" 2 "$(printf '%s\n' "$OUT" | grep -c '^+ service ')"
assert_eq "dry-run from empty: 3 dest adds" 3 "$(printf '%s\n' "$OUT" | grep -c '^+ dest ')"
assert_match "dry-run from empty: the service line" '^\+ service web tcp 10\.0\.0\.1:80 scheduler wrr' "$OUT"
assert_contains "dry-run from empty: a dest line" "+ dest web tcp 10.0.0.1:80 -> 10.1.1.2:8080 weight 5 nat" "$OUT"
assert_eq "dry-run from empty: only op lines and the count" 6 "$(printf '%s\n' "$OUT" | wc -l)"

ez once --no-health-check -c d1.yaml
assert_rc "apply" 0
snapshot "$WORK/before"
cp /run/ezlb/owned "$WORK/owned.before"

# Change a weight, drop a backend, add a backend, drop a service, add a service.
conf d2 >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:8080, weight: 2}
      - {address: 10.1.4.2:8080, weight: 3}
  - name: new
    listen: 10.0.0.3:80
    protocol: udp
    backends:
      - {address: 10.1.3.2:8080}
EOF_
ez once --dry-run --no-health-check -c d2.yaml
assert_rc "dry-run of changes" 0
PLAN=$OUT
assert_eq "dry-run of changes: count" "plan: 6 changes" "$(last_line "$PLAN")"
for line in "~ dest web tcp 10.0.0.1:80 -> 10.1.1.2:8080: weight 5 -> 2" \
	"+ dest web tcp 10.0.0.1:80 -> 10.1.4.2:8080 weight 3 nat" \
	"- dest web tcp 10.0.0.1:80 -> 10.1.2.2:8080" \
	"+ dest new udp 10.0.0.3:80 -> 10.1.3.2:8080 weight 1 nat" \
	"- service tcp 10.0.0.2:80"; do
	assert_eq "dry-run of changes: \"$line\"" "$line" "$(printf '%s\n' "$PLAN" | grep -Fx -- "$line")"
done
assert_match "dry-run of changes: the new service" '^\+ service new udp 10\.0\.0\.3:80 ' "$PLAN"
ops=$(printf '%s\n' "$PLAN" | grep '^[-+~] ')
assert_match "dry-run of changes: deleting a service comes last" '^- service tcp 10\.0\.0\.2:80$' "$(last_line "$ops")"
web=$(printf '%s\n' "$ops" | grep ' web ' | cut -c1 | tr -d '\n')
assert_eq "dry-run of changes: for web, adds before edits before deletes" "+~-" "$web"
assert_unchanged "dry-run of changes: table untouched" "$WORK/before"
assert_true "dry-run of changes: ownership record untouched" cmp -s /run/ezlb/owned "$WORK/owned.before"

# The plan is what once then does.
ez once --no-health-check -c d2.yaml
assert_rc "apply the planned changes" 0
assert_eq "once does what the plan said" "once: 6 changes (3 added, 1 edited, 2 deleted), 0 failed" "$(last_line "$OUT")"
ez once --dry-run --no-health-check -c d2.yaml
assert_eq "after applying, the plan is empty" "plan: no changes" "$OUT"

finish
