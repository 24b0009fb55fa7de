#!/bin/bash
# A config that does not load changes nothing: for each kind of bad file `ezlb once` (and its
# dry-run) exits 1 with a file:line:col message, the kernel table stays byte-for-byte the same
# (ipvsadm -Sn) and the ownership record is untouched.
. /tests/lib.sh
cd "$WORK" || exit 1

conf good >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:8080, weight: 5}
  - name: old
    listen: 10.0.0.2:80
    backends:
      - {address: 10.1.2.2:8080}
EOF_
ez once --no-health-check -c good.yaml
assert_rc "good config applied" 0
ipvsadm -A -t 10.0.0.9:80 -s rr # a foreign service too
snapshot "$WORK/before"
cp /run/ezlb/owned "$WORK/owned.before"

# Each bad file drops service "old" and changes "web", so applying any part of it would show.
conf bad-yaml >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    backends: [{address: 10.1.1.2:8080, weight: 1}
EOF_
conf bad-addr >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.300:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080, weight: 1}
EOF_
conf bad-key >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    schedular: rr
    backends:
      - {address: 10.1.1.2:8080, weight: 1}
EOF_
conf bad-weight >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    backends:
      - {address: 10.1.1.2:8080, weight: 65536}
EOF_
conf bad-dup >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
  - name: web
    listen: 10.0.0.3:80
    backends:
      - {address: 10.1.1.2:8080}
EOF_
conf bad-sched >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: fastest
    backends:
      - {address: 10.1.1.2:8080}
EOF_
: >"$WORK/empty.yaml"
mkdir -p "$WORK/dir.yaml"

# check_bad FILE WHERE: WHERE is the "file:line:col: path" prefix expected (a regex).
check_bad() {
	local f=$1 where=$2 mode
	for mode in once dry-run; do
		if [ "$mode" = once ]; then
			ez once --no-health-check -c "$f"
		else
			ez once --dry-run --no-health-check -c "$f"
		fi
		assert_rc "$f ($mode)" 1
		assert_match "$f ($mode): message names the place" "$where" "$ERR"
		assert_no_match "$f ($mode): no summary claiming changes" '^(once|plan): ' "$OUT"
		assert_unchanged "$f ($mode): table byte-for-byte unchanged" "$WORK/before"
		assert_true "$f ($mode): ownership record unchanged" cmp -s /run/ezlb/owned "$WORK/owned.before"
	done
}

check_bad bad-yaml.yaml '(^|[ :])bad-yaml\.yaml:[0-9]+:[0-9]+: '
check_bad bad-addr.yaml '(^|[ :])bad-addr\.yaml:3:13: services\[0\]\.listen: .*10\.0\.0\.300:80'
check_bad bad-key.yaml '(^|[ :])bad-key\.yaml:4:5: services\[0\]\.schedular: .*scheduler'
check_bad bad-weight.yaml '(^|[ :])bad-weight\.yaml:6:42: services\[0\]\.backends\[0\]\.weight: '
check_bad bad-dup.yaml '(^|[ :])bad-dup\.yaml:6:(5|11): services\[1\]\.name: '
check_bad bad-sched.yaml '(^|[ :])bad-sched\.yaml:4:16: services\[0\]\.scheduler: '
check_bad empty.yaml 'empty\.yaml'
check_bad dir.yaml 'dir\.yaml'
check_bad missing.yaml 'missing\.yaml'

ez check -c bad-addr.yaml
assert_rc "check on a bad config" 1
assert_match "check names the place" '(^|[ :])bad-addr\.yaml:3:13: services\[0\]\.listen: ' "$OUT$ERR"

finish
