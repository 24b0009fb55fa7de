#!/bin/bash
# A second `once` with the same config changes nothing: it prints the no-change summary, the
# table is byte-for-byte the same, and a dry-run plans nothing. The config uses every kind of
# attribute, so any field that reads back differently from how it was written would show up.
. /tests/lib.sh
cd "$WORK" || exit 1

conf i >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    persistence: {timeout: 300s, netmask: 255.255.255.0}
    backends:
      - {address: 10.1.1.2:8080, weight: 5}
      - {address: 10.1.2.2:8080, weight: 0}
  - name: dns
    listen: 10.0.0.1:53
    protocol: udp
    scheduler: sh
    backends:
      - {address: 10.1.1.2:53}
  - name: direct
    listen: 10.0.0.2:80
    scheduler: mh
    forward: dr
    backends:
      - {address: 10.1.1.2:80, weight: 65535}
  - name: tunnel
    listen: 10.0.0.3:80
    scheduler: lblcr
    forward: tun
    persistence: {timeout: 1m}
    backends:
      - {address: 10.1.3.2:80, weight: 3}
  - name: v6
    listen: "[fd00::1]:443"
    scheduler: sed
    backends:
      - {address: "[fd01:1::2]:8443", weight: 2}
      - {address: "[fd01:2::2]:8443", weight: 1}
  - name: v6udp
    listen: "[fd00::1]:53"
    protocol: udp
    scheduler: nq
    backends:
      - {address: "[fd01:1::2]:53"}
EOF_

ez once --no-health-check -c i.yaml
assert_rc "first run" 0
assert_eq "first run summary" "once: 14 changes (14 added, 0 edited, 0 deleted), 0 failed" "$(last_line "$OUT")"
snapshot "$WORK/before"
cp /run/ezlb/owned "$WORK/owned.before"

for run in 2 3; do
	ez once --no-health-check -c i.yaml
	assert_rc "run $run" 0
	assert_eq "run $run prints the no-change summary" "once: no changes" "$(last_line "$OUT")"
	assert_unchanged "run $run leaves the table byte-for-byte the same" "$WORK/before"
	assert_true "run $run leaves the ownership record the same" cmp -s /run/ezlb/owned "$WORK/owned.before"
done

ez once --dry-run --no-health-check -c i.yaml
assert_rc "dry-run" 0
assert_eq "dry-run plans nothing" "plan: no changes" "$OUT"
assert_unchanged "dry-run leaves the table as it was" "$WORK/before"

finish
