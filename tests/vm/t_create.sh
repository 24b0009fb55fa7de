#!/bin/bash
# From an empty table, `ezlb once` creates every service and destination the config names, with
# every attribute as ipvsadm (the oracle) reads it back.
. /tests/lib.sh
cd "$WORK" || exit 1

assert_eq "the table starts empty" "" "$(table)"
conf c >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:8080, weight: 5}
      - {address: 10.1.2.2:8080, weight: 3}
      - {address: 10.1.3.2:8080, weight: 0}
  - name: dns
    listen: 10.0.0.1:53
    protocol: udp
    scheduler: rr
    backends:
      - {address: 10.1.1.2:53}
      - {address: 10.1.2.2:53}
  - name: defaults
    listen: 10.0.0.2:443
    backends:
      - address: 10.1.1.2:443
  - name: sticky
    listen: 10.0.0.3:80
    scheduler: sh
    forward: dr
    persistence: {timeout: 300s, netmask: 255.255.255.0}
    backends:
      - {address: 10.1.1.2:80, weight: 2}
  - name: v6
    listen: "[fd00::1]:80"
    scheduler: lc
    backends:
      - {address: "[fd01:1::2]:8080", weight: 7}
EOF_

ez once --no-health-check -c c.yaml
assert_rc "once creates the table" 0
assert_eq "once summary" "once: 13 changes (13 added, 0 edited, 0 deleted), 0 failed" "$(last_line "$OUT")"
assert_table "the kernel table equals the config" <<'EOF_'
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 5
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 3
-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 0
-A -u 10.0.0.1:53 -s rr
-a -u 10.0.0.1:53 -r 10.1.1.2:53 -m -w 1
-a -u 10.0.0.1:53 -r 10.1.2.2:53 -m -w 1
-A -t 10.0.0.2:443 -s wlc
-a -t 10.0.0.2:443 -r 10.1.1.2:443 -m -w 1
-A -t 10.0.0.3:80 -s sh -p 300 -M 255.255.255.0
-a -t 10.0.0.3:80 -r 10.1.1.2:80 -g -w 2
-A -t [fd00::1]:80 -s lc
-a -t [fd00::1]:80 -r [fd01:1::2]:8080 -m -w 7
EOF_
assert_true "the ownership record exists" test -s /run/ezlb/owned

finish
