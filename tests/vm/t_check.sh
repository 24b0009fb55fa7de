#!/bin/bash
# vm: noipvs
# `ezlb check` validates without root and without IPVS (the runner unloads every ip_vs module
# and turns module autoloading off for this test); `ezlb once` says plainly that IPVS is missing;
# version, help, usage errors; an exec check whose program cannot run.
. /tests/lib.sh
cd "$WORK" || exit 1
chmod 755 "$WORK"

assert_true "ip_vs is not loaded" test ! -e /proc/net/ip_vs

good=$(conf good <<'EOF_'
global:
  log_level: info
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    backends:
      - {address: 10.1.1.2:8080, weight: 5}
      - {address: 10.1.2.2:8080, weight: 3}
  - name: dns
    listen: "[fd00::1]:53"
    protocol: udp
    backends:
      - {address: "[fd01:1::2]:53"}
EOF_
)
chmod 644 "$good"
EZ_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
assert_eq "setpriv drops root" "65534" "$("${EZ_AS[@]}" id -u)"

ez check -c good.yaml
assert_rc "check of a good config as nobody" 0
assert_eq "check prints the counts" "configuration OK: 2 services, 3 backends" "$(last_line "$OUT")"

conf bad-key >/dev/null <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    schedular: wrr
    backends:
      - {address: 10.1.1.2:8080}
EOF_
ez check -c bad-key.yaml
assert_rc "check of an unknown key as nobody" 1
assert_contains "unknown key names file:line:col and the key path" "bad-key.yaml:4:5: services[0].schedular" "$OUT$ERR"
assert_contains "unknown key gets a did-you-mean hint" "scheduler" "$OUT$ERR"
assert_no_match "check of a bad config does not claim OK" "configuration OK" "$OUT"

EZ_AS=()
ez check -c good.yaml
assert_rc "check as root without IPVS" 0

# An exec check whose program is missing or not executable: valid for the daemon (every probe
# fails with the reason), but `ezlb check` says so and fails.
printf '#!/bin/sh\nexit 0\n' >"$WORK/noexec.sh"
chmod 644 "$WORK/noexec.sh"
conf exec-missing >/dev/null <<EOF_
services:
  - name: db
    listen: 10.0.0.1:5432
    health_check: {type: exec, exec: {command: [/nonexistent/check-db]}}
    backends: [{address: 10.1.1.2:5432}]
  - name: db2
    listen: 10.0.0.1:5433
    health_check: {type: exec, exec: {command: [$WORK/noexec.sh]}}
    backends: [{address: 10.1.1.2:5433}]
EOF_
ez check -c exec-missing.yaml
assert_rc "check of an exec check whose program cannot run" 1
assert_contains "check names the missing program" \
	"service db: health_check.exec.command: /nonexistent/check-db: No such file or directory" "$ERR"
assert_contains "check names the program that is not executable" \
	"service db2: health_check.exec.command: $WORK/noexec.sh: not executable" "$ERR"
assert_no_match "check of an unusable exec program does not claim OK" "configuration OK" "$OUT"

ez once -c good.yaml
assert_rc "once without IPVS fails" 1
assert_contains "once without IPVS says why" "IPVS not available" "$ERR"
assert_true "once without IPVS writes no ownership record" test ! -e /run/ezlb/owned
assert_true "ip_vs is still not loaded" test ! -e /proc/net/ip_vs

ez version
assert_rc "version" 0
assert_match "version prints ezlb and a version number" '^ezlb [0-9]+\.[0-9]+\.[0-9]+' "$OUT"

ez --help
assert_rc "--help" 0
assert_match "--help lists once" '(^|[^a-z])once([^a-z]|$)' "$OUT"
assert_match "--help lists check" '(^|[^a-z])check([^a-z]|$)' "$OUT"

ez once --no-such-option -c good.yaml
assert_rc "an unknown option is a usage error" 2
ez frobnicate
assert_rc "an unknown command is a usage error" 2

finish
