#!/bin/bash
# `cleanup --dry-run` plans exactly what `cleanup` then does, also when the ownership record is
# gone: the config's services count as ezlb's in both (a lost record must not hide them from the
# preview), and a foreign service is in neither.
. /tests/lib.sh
cd "$WORK" || exit 1
STATE=$WORK/state
conf c >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    health_check: {enabled: false}
    backends:
      - {address: 10.1.1.2:8080}
EOF_
# the config's service exists but no record says so (as after a lost /run); plus a foreign one
ipvsadm -A -t 10.0.0.1:80 -s wlc && ipvsadm -a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m
ipvsadm -A -t 10.0.0.9:80 -s rr
snapshot "$WORK/before"
ez cleanup --dry-run -c c.yaml --state-dir "$STATE"
assert_rc "cleanup --dry-run" 0
PLAN=$OUT
assert_eq "cleanup --dry-run: the plan deletes the config's service, and only it" \
	"- service tcp 10.0.0.1:80
plan: 1 changes" "$PLAN"
assert_unchanged "cleanup --dry-run: the table is untouched" "$WORK/before"
assert_true "cleanup --dry-run: no ownership record written" test ! -e "$STATE/owned"
ez cleanup -c c.yaml --state-dir "$STATE"
assert_rc "cleanup" 0
assert_eq "cleanup: did what the dry run showed" "cleanup: 1 changes (0 added, 0 edited, 1 deleted), 0 failed" "$(last_line "$OUT")"
assert_table "cleanup: only the foreign service is left" <<<'-A -t 10.0.0.9:80 -s rr'
finish
