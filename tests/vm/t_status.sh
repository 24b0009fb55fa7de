#!/bin/bash
# `ezlb status` against a running daemon: a service of three backends, one of them not listening
# (its checks take it out). The text shows it down with its reason and not in the kernel, the
# others up with their kernel weights; --json has the stable fields; SERVICE filters; an unknown
# service exits 1; the socket is mode 0600; sixteen clients that say nothing fill the cap (the
# next is refused), delay no probe (a backend revived meanwhile is back on time, the lateness
# stays small) and are dropped after 5 s; once the daemon stops, status exits 3.
# Needs the ctlpeer tool in the image (tests/vm/tools/ctlpeer.c).
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"
unserve 2 # b2 refuses connections from the start

{
	web3_services "weight: 2" # b1 weighs 2
	cat <<'EOF'
  - name: api
    listen: 10.0.0.1:81
    health_check: {enabled: false}
    backends:
      - {address: 10.1.3.2:8080}
EOF
} >"$WORK/ezlb.yaml"
LOG=$WORK/ezlb.log
SOCK=$DSTATE/ezlb.sock
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
wait_for 10000 no_dest 10.0.0.1:80 10.1.2.2:8080 || not_ok "b2 still in the table 10 s after the start" "$(table)"

# Some traffic, for the kernel's counters. The kernel folds its per-CPU counters into what a dump
# shows every 2 s (its rate estimator): wait until ipvsadm, the oracle, sees them.
r=$(client -t 1000 10.0.0.1:80 20)
assert_eq "20 connections through web" 0 "$(count fail "$r")"
counted() { [ "$(svc_conns 10.0.0.1:80)" -ge 20 ] 2>/dev/null; }
wait_for 5000 counted || not_ok "ipvsadm shows $(svc_conns 10.0.0.1:80) connections on web, not 20"

# ---- the socket ----
assert_eq "the control socket is a socket" "socket" "$(stat -c %F "$SOCK" 2>&1)"
assert_eq "the control socket is mode 0600, root's" "600 0" "$(stat -c '%a %u' "$SOCK" 2>&1)"

# ---- text ----
ez status --state-dir "$DSTATE"
assert_rc "status" 0
assert_match "web's header: 2 of 3 up" '^TCP  10\.0\.0\.1:80 rr nat  web: 2/3 up' "$OUT"
conns=$(printf '%s\n' "$OUT" | sed -n 's/^TCP  10\.0\.0\.1:80 .*, conns \([0-9]*\),.*/\1/p')
if [ "${conns:-0}" -ge 20 ]; then ok "web's header counts the kernel's connections ($conns)"
else not_ok "web's header shows ${conns:-no} connections, want >= 20" "$OUT"; fi
assert_match "b1 up, weight 2 configured and in the kernel" '^  -> 10\.1\.1\.2:8080 +2/2 .* up( \(no verdict yet\))? [0-9]' "$OUT"
assert_match "b2 down with its reason, not in the kernel" \
	'^  -> 10\.1\.2\.2:8080 +1/- +- +- +-  down [0-9a-z]+: connection refused$' "$OUT"
assert_match "b3 up, weight 1/1" '^  -> 10\.1\.3\.2:8080 +1/1 .* up( \(no verdict yet\))? [0-9]' "$OUT"
assert_match "api listed, its backend unchecked" '^  -> 10\.1\.3\.2:8080 +1/1 .* up \(not checked\)$' "$OUT"
assert_match "the summary names the config" "^config $WORK/ezlb.yaml, loaded " "$OUT"
assert_match "the summary has the last reconcile" '^last reconcile [0-9T:-]+Z \([0-9a-z]+ ago\): ' "$OUT"

# ---- JSON (pretty, two spaces per level: a backend's fields are 10 spaces in) ----
ez status --state-dir "$DSTATE" --json
assert_rc "status --json" 0
JSON=$OUT
assert_eq "one JSON document: { first, } last" "{ }" "$(printf '%s\n' "$JSON" | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//')"
assert_eq "braces balance" "$(printf '%s' "$JSON" | tr -cd '{' | wc -c)" "$(printf '%s' "$JSON" | tr -cd '}' | wc -c)"
for f in version time started_at config last_reconcile drains_running kernel_error services; do
	assert_match "top-level field $f" "^  \"$f\": " "$JSON"
done
assert_match "kernel_error is null" '^  "kernel_error": null,$' "$JSON"
conns=$(printf '%s\n' "$JSON" | sed -n 's/^        "connections": \([0-9]*\),$/\1/p' | head -n 1)
if [ "${conns:-0}" -ge 20 ]; then ok "web's kernel.connections is $conns"
else not_ok "web's kernel.connections is ${conns:-absent}, want >= 20"; fi
# backend ADDR: the lines of its object in web (the first service)
backend() { printf '%s\n' "$JSON" | awk -v a="\"address\": \"$1\"" '
	index($0, a) { on = 1 } on && /^        }/ { exit } on'; }
B2=$(backend 10.1.2.2:8080)
note "b2 in JSON:" "$B2"
for kv in '"role": "backend"' '"weight": 1' '"kernel_weight": null' '"in_kernel": false' \
	'"raw": "down"' '"state": "down"' '"last_failure": "connection refused"' '"kernel": null'; do
	assert_contains "b2: $kv" "$kv" "$B2"
done
B1=$(backend 10.1.1.2:8080)
for kv in '"weight": 2' '"kernel_weight": 2' '"in_kernel": true' '"state": "up"' '"checked": true' \
	'"active": 0' '"connections": '; do
	assert_contains "b1: $kv" "$kv" "$B1"
done

# ---- filtering, unknown names ----
ez status web --state-dir "$DSTATE"
assert_rc "status web" 0
assert_match "status web shows web" ' web: 2/3 up' "$OUT"
assert_no_match "status web does not show api" ' api: ' "$OUT"
ez status --state-dir "$DSTATE" --json api
assert_rc "status --json api" 0
assert_eq "status --json api: one service, api" '      "name": "api",' "$(printf '%s\n' "$OUT" | grep '^      "name": ')"
ez status web nope --state-dir "$DSTATE"
assert_rc "status of an unknown service" 1
assert_eq "the unknown service is named" 'ezlb: no service named "nope"' "$ERR"
assert_eq "nothing on stdout for an unknown service" "" "$OUT"

# ---- stalled clients: they fill the cap and delay nothing ----
if ! command -v ctlpeer >/dev/null; then
	not_ok "ctlpeer is not in the image (tests/vm/mkinitramfs.sh must build tests/vm/tools/ctlpeer.c)"
else
	kill -USR1 "$D"
	ctlpeer -n 16 -t 8000 "$SOCK" >"$WORK/stall.out" 2>&1 &
	STALL=$!
	track_pid "$STALL"
	sleep 1 # connected and accepted (the 16 are dropped only 5 s after their connection)
	t_up=$(now_ms)
	serve 2 # revived while the sixteen stall: back after rise_count successes, on time
	ez status --state-dir "$DSTATE"
	assert_rc "a 17th client while 16 stall" 1
	assert_eq "the 17th is told why" "ezlb: too many clients, try again" "$ERR"
	if wait_for 10000 has_dest 10.0.0.1:80 10.1.2.2:8080; then
		d=$(($(now_ms) - t_up))
		if [ "$d" -le 3500 ]; then ok "b2 revived during the stall is back in ${d} ms (<= 2 x 1 s + 1 s + 500 ms)"
		else not_ok "b2 revived during the stall took ${d} ms to come back (> 3500 ms)"; fi
	else
		not_ok "b2 revived during the stall is not back 10 s later" "$(table)"
	fi
	wait "$STALL"
	note "stalled clients (index state ms bytes text):" "$(cat "$WORK/stall.out")"
	assert_eq "16 stalled clients dropped after 4.5..7 s, without a byte" 16 \
		"$(awk '$2 == "closed" && $3 >= 4500 && $3 <= 7000 && $4 == 0' "$WORK/stall.out" | wc -l)"
	kill -USR1 "$D"
	two_reports() { [ "$(log_count "$LOG" 'lateness p50')" -ge 2 ]; }
	wait_for 5000 two_reports || not_ok "no second SIGUSR1 statistics line"
	late=$(grep 'lateness p50' "$LOG" | tail -n 1 | sed -n 's/.* max \([0-9.]*\) ms.*/\1/p')
	note "probe lateness max since the start: ${late:-?} ms"
	if [ -n "$late" ] && awk -v l="$late" 'BEGIN { exit !(l < 1000) }'; then
		ok "probes never started a second late while clients stalled (max ${late} ms)"
	else
		not_ok "probe lateness max ${late:-?} ms: something blocked the loop" "$(grep 'lateness' "$LOG")"
	fi
	ez status --state-dir "$DSTATE"
	assert_rc "status after the stall" 0
	assert_match "b2 up again, in the kernel" '^  -> 10\.1\.2\.2:8080 +1/1 .* up [0-9]' "$OUT"
fi
assert_eq "no transition for b1 or b3" 0 "$(log_count "$LOG" '10\.1\.[13]\.2:8080 [a-z]+ -> ')"

# ---- no daemon ----
dstop "$D"
assert_eq "SIGTERM: exit status 0" 0 "$DRC"
assert_true "the socket is removed at exit" test ! -e "$SOCK"
ez status --state-dir "$DSTATE"
assert_rc "status without a daemon" 3
assert_eq "status says no daemon runs" "ezlb is not running: no socket at $SOCK" "$ERR"
finish
