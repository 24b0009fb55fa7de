#!/bin/bash
# Services that another tool made with ipvsadm, and that the config does not name, survive every
# run -- including runs that delete ezlb's own services. A foreign service that the config does
# name is adopted: edited to match, and from then on owned (deleted when dropped from the config).
. /tests/lib.sh
cd "$WORK" || exit 1

ipvsadm -A -t 10.0.0.9:80 -s rr -p 120 &&
	ipvsadm -a -t 10.0.0.9:80 -r 10.1.9.2:80 -m -w 4 &&
	ipvsadm -A -u '[fd00::9]:53' -s lc &&
	ipvsadm -a -u '[fd00::9]:53' -r '[fd01:9::2]:53' -m -w 1 &&
	ipvsadm -A -t 10.0.0.5:80 -s rr &&
	ipvsadm -a -t 10.0.0.5:80 -r 10.1.5.2:80 -m -w 9
assert_eq "ipvsadm made the foreign services" 0 $?
FOREIGN='-A -t 10.0.0.9:80 -s rr -p 120
-a -t 10.0.0.9:80 -r 10.1.9.2:80 -m -w 4
-A -u [fd00::9]:53 -s lc
-a -u [fd00::9]:53 -r [fd01:9::2]:53 -m -w 1'

conf f >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
  - name: b
    listen: 10.0.0.2:80
    backends:
      - {address: 10.1.2.2:8080}
EOF_
ez once --no-health-check -c f.yaml
assert_rc "ezlb adds its services" 0
assert_table "foreign services intact next to ezlb's" <<EOF_
$FOREIGN
-A -t 10.0.0.5:80 -s rr
-a -t 10.0.0.5:80 -r 10.1.5.2:80 -m -w 9
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
-A -t 10.0.0.2:80 -s wlc
-a -t 10.0.0.2:80 -r 10.1.2.2:8080 -m -w 1
EOF_

# Drop b; adopt 10.0.0.5:80 under the name "adopted" with another scheduler and backend set.
conf f >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
  - name: adopted
    listen: 10.0.0.5:80
    scheduler: wrr
    backends:
      - {address: 10.1.5.3:80, weight: 2}
EOF_
ez once --dry-run --no-health-check -c f.yaml
assert_no_match "the plan never touches a foreign service" '(10\.0\.0\.9|fd00::9)' "$OUT"
assert_match "the plan deletes b" '^- service .*tcp 10\.0\.0\.2:80' "$OUT"
ez once --no-health-check -c f.yaml
assert_rc "run that deletes b and adopts 10.0.0.5" 0
assert_eq "adoption is an edit, not a re-create" \
	"once: 4 changes (1 added, 1 edited, 2 deleted), 0 failed" "$(last_line "$OUT")"
assert_table "b deleted, 10.0.0.5 adopted, foreign intact" <<EOF_
$FOREIGN
-A -t 10.0.0.5:80 -s wrr
-a -t 10.0.0.5:80 -r 10.1.5.3:80 -m -w 2
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
EOF_

# Drop everything but a: the adopted service is now ezlb's and goes; the foreign ones stay.
conf f >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
EOF_
ez once --no-health-check -c f.yaml
assert_rc "run that deletes the adopted service" 0
assert_table "adopted service deleted, foreign intact" <<EOF_
$FOREIGN
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
EOF_

# A run with another config, and a repeated run: the foreign services still stand.
conf g >/dev/null <<'EOF_'
services:
  - name: z
    listen: 10.0.0.7:80
    backends:
      - {address: 10.1.7.2:8080}
EOF_
ez once --no-health-check -c g.yaml
assert_rc "run with a disjoint config" 0
ez once --no-health-check -c g.yaml
assert_eq "repeat run changes nothing" "once: no changes" "$(last_line "$OUT")"
assert_table "only z and the foreign services remain" <<EOF_
$FOREIGN
-A -t 10.0.0.7:80 -s wlc
-a -t 10.0.0.7:80 -r 10.1.7.2:8080 -m -w 1
EOF_

finish
