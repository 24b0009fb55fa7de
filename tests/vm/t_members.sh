#!/bin/bash
# Backends and services come and go between runs: each run adds and deletes exactly what changed.
. /tests/lib.sh
cd "$WORK" || exit 1

summary_is() { # NAME ADDED EDITED DELETED
	local n=$(($2 + $3 + $4))
	assert_match "$1: summary" "^once: $n changes? \\($2 added, $3 edited, $4 deleted\\), 0 failed\$" \
		"$(last_line "$OUT")"
}

conf m >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.2.2:8080}
  - name: b
    listen: 10.0.0.2:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080}
EOF_
ez once --no-health-check -c m.yaml
assert_rc "start" 0
summary_is start 5 0 0
assert_table "start: table" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w 1
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.1.1.2:8080 -m -w 1
EOF_

# a gains 10.1.3.2, loses 10.1.2.2; b gains two.
conf m >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.3.2:8080}
  - name: b
    listen: 10.0.0.2:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080}
      - {address: 10.1.2.2:8080}
      - {address: 10.1.3.2:9090}
EOF_
ez once --no-health-check -c m.yaml
assert_rc "backends changed" 0
summary_is "backends changed" 3 0 1
assert_table "backends changed: table" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 1
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.1.1.2:8080 -m -w 1
-a -t 10.0.0.2:80 -r 10.1.2.2:8080 -m -w 1
-a -t 10.0.0.2:80 -r 10.1.3.2:9090 -m -w 1
EOF_

# service c added, service b removed, a loses every backend but stays.
conf m >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    scheduler: rr
    backends: []
  - name: c
    listen: 10.0.0.3:53
    protocol: udp
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:53, weight: 2}
      - {address: 10.1.2.2:53, weight: 4}
EOF_
ez once --no-health-check -c m.yaml
assert_rc "services changed" 0
summary_is "services changed" 3 0 3
assert_table "services changed: table" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-A -u 10.0.0.3:53 -s wrr
-a -u 10.0.0.3:53 -r 10.1.1.2:53 -m -w 2
-a -u 10.0.0.3:53 -r 10.1.2.2:53 -m -w 4
EOF_

# back to one backend in a; c renamed d (same key: nothing to do in the kernel).
conf m >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080}
  - name: d
    listen: 10.0.0.3:53
    protocol: udp
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:53, weight: 2}
      - {address: 10.1.2.2:53, weight: 4}
EOF_
ez once --no-health-check -c m.yaml
assert_rc "rename" 0
summary_is "backend re-added, service renamed" 1 0 0
assert_table "rename: table" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-A -u 10.0.0.3:53 -s wrr
-a -u 10.0.0.3:53 -r 10.1.1.2:53 -m -w 2
-a -u 10.0.0.3:53 -r 10.1.2.2:53 -m -w 4
EOF_

finish
