#!/bin/bash
# services[].announce: the VIP as a host address on a dummy interface while the service can
# serve, with `ip addr` and the record STATE_DIR/announced as the oracles.
# (a) `ezlb once`: a dry run plans the addresses and changes nothing; once creates the dummy
#     interface ezlb0 (up) and puts each VIP on it once (two services share 10.40.0.1), IPv6
#     too; a second dry run plans nothing. An address put there by hand is never taken over:
#     wanted, it is warned about and left; unwanted, it stays. A service leaving the config
#     withdraws its VIP unless another service still serves on it. A service whose only backend
#     fails its probe is not announced. `ezlb cleanup` removes exactly the recorded addresses.
# (b) The daemon: announces when a backend is up, withdraws when the last one fails its checks
#     and announces again when it comes back (each within a bound, timed); puts back an address
#     removed by hand at the next resync; leaves the addresses when it stops; cleanup removes them.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

# The backends' address: local (a dummy interface), so probes reach lbnet on this host.
ip link add vtann type dummy && ip addr add 10.40.1.2/32 dev vtann && ip link set vtann up ||
	not_ok "the backends' interface vtann"
BPID=$(lbnet serve -d 0.0.0.0:8081 b) && track_pid "$BPID" || not_ok "backend server"

# addrs [IF]: the addresses on IF (default ezlb0), "ADDR/LEN" sorted; empty when IF is missing.
addrs() { ip -o addr show dev "${1:-ezlb0}" 2>/dev/null | awk '$3 != "inet6" || $4 !~ /^fe80/ { print $4 }' | LC_ALL=C sort; }
record() { grep -v '^#' "${1:-/run/ezlb}/announced" 2>/dev/null | LC_ALL=C sort; }
# svc NAME LISTEN [BACKEND [CHECK]]: one service with announce (no health checks by default).
svc() {
	local chk=${4:-"{enabled: false}"}
	printf '  - name: %s\n    listen: "%s"\n    announce: {interface: ezlb0}\n' "$1" "$2"
	printf '    health_check: %s\n    backends:\n      - {address: "%s"}\n' "$chk" "${3:-10.40.1.2:8081}"
}

# ======== (a) once ========
{
	echo "services:"
	svc web 10.40.0.1:80
	svc web-tls 10.40.0.1:443
	svc api 10.40.0.2:80
	svc v6 "[fd40::1]:80" "[fd40::2]:8081"
} >"$WORK/a.yaml"
ez once --dry-run --no-health-check -c "$WORK/a.yaml"
assert_rc "(a) dry run" 0
assert_eq "(a) dry run: plans each VIP once" \
	"$(printf '%s\n' "+ announce 10.40.0.1/32 on ezlb0" "+ announce 10.40.0.2/32 on ezlb0" "+ announce fd40::1/128 on ezlb0")" \
	"$(printf '%s\n' "$OUT" | grep announce)"
assert_eq "(a) dry run: no interface made" "" "$(ip -o link show ezlb0 2>/dev/null)"

ez once --no-health-check -c "$WORK/a.yaml"
assert_rc "(a) once" 0
assert_contains "(a) once: reports the addresses" "announced addresses: 3 changes" "$OUT"
assert_match "(a) ezlb0 is a dummy interface, up" "dummy" "$(ip -d -o link show ezlb0)"
assert_match "(a) ezlb0 is up" "<[^>]*,UP[,>]" "$(ip -o link show ezlb0)"
assert_eq "(a) the VIPs on ezlb0" "$(printf '%s\n' 10.40.0.1/32 10.40.0.2/32 fd40::1/128)" "$(addrs)"
assert_eq "(a) the record" "$(printf '%s\n' "ezlb0 10.40.0.1" "ezlb0 10.40.0.2" "ezlb0 fd40::1")" "$(record)"
assert_plan_empty "(a) announced" --no-health-check -c "$WORK/a.yaml"

# an address put there by hand, then wanted by a service
ip addr add 10.40.0.3/32 dev ezlb0
{ cat "$WORK/a.yaml"; svc hand 10.40.0.3:80; } >"$WORK/a2.yaml"
ez once --no-health-check -c "$WORK/a2.yaml"
assert_rc "(a) a VIP already on ezlb0" 0
assert_contains "(a) it is named as not ezlb's" \
	"announce: 10.40.0.3 is on ezlb0 but ezlb did not put it there: it is left alone" "$ERR"
assert_eq "(a) ...and not recorded" "" "$(record | grep 10.40.0.3)"

# web leaves: web-tls still serves on 10.40.0.1; api leaves: its VIP goes; hand leaves: stays
{ echo "services:"; svc web-tls 10.40.0.1:443; svc v6 "[fd40::1]:80" "[fd40::2]:8081"; } >"$WORK/a3.yaml"
ez once --no-health-check -c "$WORK/a3.yaml"
assert_rc "(a) services leave" 0
assert_eq "(a) only api's VIP is withdrawn; the hand-made one stays" \
	"$(printf '%s\n' 10.40.0.1/32 10.40.0.3/32 fd40::1/128)" "$(addrs)"
assert_eq "(a) the record without it" "$(printf '%s\n' "ezlb0 10.40.0.1" "ezlb0 fd40::1")" "$(record)"

# a service whose only backend refuses connections does not serve: not announced
{ cat "$WORK/a3.yaml"; svc dead 10.40.0.4:80 10.40.1.2:8099 "{interval: 1s, timeout: 500ms}"; } >"$WORK/a4.yaml"
ez once -c "$WORK/a4.yaml"
assert_eq "(a) a service with no backend up is not announced" "" "$(addrs | grep 10.40.0.4)"

ez cleanup --dry-run -c "$WORK/a4.yaml"
assert_eq "(a) cleanup dry run: the recorded addresses" \
	"$(printf '%s\n' "- announce 10.40.0.1/32 on ezlb0" "- announce fd40::1/128 on ezlb0")" \
	"$(printf '%s\n' "$OUT" | grep announce)"
ez cleanup -c "$WORK/a4.yaml"
assert_rc "(a) cleanup" 0
assert_eq "(a) cleanup removed ezlb's addresses only" "10.40.0.3/32" "$(addrs)"
assert_eq "(a) cleanup emptied the record" "" "$(record)"
ip addr del 10.40.0.3/32 dev ezlb0

# ======== (b) the daemon ========
{
	echo "global: {resync_interval: 1s, metrics: {listen: 127.0.0.1:9521}}"
	echo "services:"
	svc web 10.40.0.1:80 10.40.1.2:8081 "{interval: 200ms, timeout: 100ms, fail_count: 2, rise_count: 1}"
} >"$WORK/b.yaml"
LOG=$WORK/d.log
dstart "$LOG" "$WORK/b.yaml"
D=$DPID
dready "(b) daemon" "$D" "$LOG" || finish
has_vip() { addrs | grep -qx 10.40.0.1/32; }
# announced: the value of ezlb_service_announced for web on /metrics
announced() {
	timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9521 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 &&
		cat <&3' | tr -d '\r' | awk '$1 == "ezlb_service_announced{service=\"web\",interface=\"ezlb0\"}" { print $2 }'
}
no_vip() { ! has_vip; }
assert_true "(b) the VIP is announced" wait_for 5000 has_vip

t0=$(now_ms)
kill "$BPID"
if wait_for 10000 no_vip; then
	ok "(b) the VIP is withdrawn when the only backend fails"
	note "measured: withdrawn $(($(now_ms) - t0)) ms after the backend stopped (interval 200ms, fail_count 2)"
else
	not_ok "(b) the VIP is withdrawn when the only backend fails" "$(addrs)" "$(tail -n 20 "$LOG")"
fi
assert_true "(b) the log says why" log_has "$LOG" "announce: - announce 10.40.0.1/32 on ezlb0"
assert_eq "(b) /metrics: ezlb_service_announced 0 while withdrawn" 0 "$(announced)"
t0=$(now_ms)
BPID=$(lbnet serve -d 0.0.0.0:8081 b) && track_pid "$BPID"
if wait_for 10000 has_vip; then
	ok "(b) the VIP is announced again when the backend is back"
	note "measured: announced $(($(now_ms) - t0)) ms after the backend came back"
else
	not_ok "(b) the VIP is announced again when the backend is back" "$(addrs)" "$(tail -n 20 "$LOG")"
fi
assert_eq "(b) /metrics: ezlb_service_announced 1 while announced" 1 "$(announced)"

ip addr del 10.40.0.1/32 dev ezlb0
assert_true "(b) an address removed by hand is put back at the resync" wait_for 5000 has_vip

dstop "$D"
assert_eq "(b) the daemon stopped: exit status 0" 0 "$DRC"
assert_eq "(b) the VIP stays after the daemon stops" "10.40.0.1/32" "$(addrs)"
assert_eq "(b) so does the record" "ezlb0 10.40.0.1" "$(record "$DSTATE")"
ez cleanup -c "$WORK/b.yaml" --state-dir "$DSTATE"
assert_rc "(b) cleanup" 0
assert_eq "(b) cleanup removed it" "" "$(addrs)"
finish
