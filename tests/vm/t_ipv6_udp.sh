#!/bin/bash
# IPv6 and UDP services: created as configured (health probes on, by default) and carrying real
# traffic from the client namespace through the VIPs to the backend namespaces (NAT).
. /tests/lib.sh
cd "$WORK" || exit 1
vm_net_setup 2 || not_ok "network setup"

conf v >/dev/null <<'EOF_'
services:
  - name: web6
    listen: "[fd00::1]:80"
    scheduler: rr
    health_check: {interval: 2s, timeout: 1s}
    backends:
      - {address: "[fd01:1::2]:8080"}
      - {address: "[fd01:2::2]:8080"}
  - name: dns4
    listen: 10.0.0.1:53
    protocol: udp
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.2.2:8080}
  - name: dns6
    listen: "[fd00::1]:53"
    protocol: udp
    scheduler: wrr
    backends:
      - {address: "[fd01:1::2]:8080", weight: 3}
      - {address: "[fd01:2::2]:8080", weight: 1}
EOF_
ez once -c v.yaml
assert_rc "once with IPv6 and UDP services" 0
assert_table "IPv6 and UDP table" <<'EOF_'
-A -t [fd00::1]:80 -s rr
-a -t [fd00::1]:80 -r [fd01:1::2]:8080 -m -w 1
-a -t [fd00::1]:80 -r [fd01:2::2]:8080 -m -w 1
-A -u 10.0.0.1:53 -s rr
-a -u 10.0.0.1:53 -r 10.1.1.2:8080 -m -w 1
-a -u 10.0.0.1:53 -r 10.1.2.2:8080 -m -w 1
-A -u [fd00::1]:53 -s wrr
-a -u [fd00::1]:53 -r [fd01:1::2]:8080 -m -w 3
-a -u [fd00::1]:53 -r [fd01:2::2]:8080 -m -w 1
EOF_

# rr and wrr are deterministic cycles and every exchange is a new IPVS connection (TCP: a new
# connection; UDP: a distinct source port, -s), so the counts are exact.
r=$(client -t 1000 "[fd00::1]:80" 100)
assert_eq "TCP over IPv6 through the VIP, rr" "$(printf 'b1 50\nb2 50\nfail 0')" "$r"
r=$(client -u -s 20000 -t 1000 10.0.0.1:53 100)
assert_eq "UDP over IPv4 through the VIP, rr" "$(printf 'b1 50\nb2 50\nfail 0')" "$r"
r=$(client -u -s 21000 -t 1000 "[fd00::1]:53" 100)
assert_eq "UDP over IPv6 through the VIP, wrr 3:1" "$(printf 'b1 75\nb2 25\nfail 0')" "$r"

# Remove one IPv6 backend from web6: all IPv6 TCP traffic goes to b2.
sed -i '/name: web6/,/name: dns4/{/fd01:1::2/d}' v.yaml
ez once -c v.yaml
assert_rc "remove an IPv6 backend" 0
assert_match "one delete" '^once: 1 changes? \(0 added, 0 edited, 1 deleted\), 0 failed$' "$(last_line "$OUT")"
assert_no_match "the IPv6 backend left web6" '^-a -t \[fd00::1\]:80 -r \[fd01:1::2\]' "$(table)"
r=$(client -t 1000 "[fd00::1]:80" 20)
assert_eq "IPv6 traffic now all on b2" "$(printf 'b2 20\nfail 0')" "$r"

finish
