#!/bin/bash
# global.sync: the kernel's connection sync daemons (ipvsadm --start-daemon), with
# `ipvsadm -L --daemon` as the oracle.
# (a) `ezlb once` starts them (role both: master and backup, the interface and syncid given),
#     changes them (id; role master with group, port, ttl and max_len; role backup: the role says
#     exactly which run), records them in STATE_DIR/syncd; after each change a dry run plans
#     nothing; `ezlb cleanup` stops them.
# (b) The daemon (`ezlb run`, resync_interval 1s) starts them and sets timeouts.tcp, repairs a
#     timeout set by hand, a daemon stopped by hand and one restarted by hand with another
#     syncid, each within a few seconds, and leaves them as they are when it stops (SIGTERM). `once` with a config without sync then stops them; a daemon
#     started by hand is stopped neither by such a once nor by cleanup.
# (c) Connection sync between two directors, each in its own network namespace, each running
#     `ezlb once` with the same service and sync (role both, id 7): a TCP connection made through
#     d1 shows up in d2's connection table (ipvsadm -Lnc).
#
#       cl (client)              d1 (director)                      d2 (director)
#       eth0 10.30.1.2 ---- c0 10.30.1.1
#       default via d1           sync0 10.30.0.1 ------------------ sync0 10.30.0.2
#                                b0 10.30.2.1                       route 10.30.2.0/24 via d1
#       b1 (backend)                  |
#       eth0 10.30.2.2 ---------------+
#       default via d1, lbnet serve -e on 8080
#     The VIP 10.30.9.1 is on lo in d1 and d2; web = 10.30.9.1:80 -> 10.30.2.2:8080 (nat). The
#     sync messages go to the default group 224.0.0.81:8848 over the d1-d2 veth (sync0 on both
#     sides, so one config serves both directors).
# (a) and (b) use the VM's own namespace with a veth pair vtsync/vtsync1 (10.9.0.1 on vtsync).
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

ip link add vtsync type veth peer name vtsync1 && ip addr add 10.9.0.1/24 dev vtsync &&
	ip link set vtsync up && ip link set vtsync1 up || not_ok "the sync interface vtsync"

# write FILE SYNC [GLOBAL_EXTRA]: one service (no health checks) and, unless SYNC is empty,
# global.sync: SYNC (a flow mapping); GLOBAL_EXTRA more global keys ("key: value, ...").
write() {
	local g=""
	[ -n "$2" ] && g="sync: $2"
	[ -n "${3:-}" ] && g="${g:+$g, }$3"
	{
		[ -n "$g" ] && echo "global: {$g}"
		cat <<'EOF_'
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    health_check: {enabled: false}
    backends:
      - {address: 10.1.1.2:8080}
EOF_
	} >"$1"
}
# daemon_line ROLE IF ID [MAXLEN GROUP PORT TTL]: the line ipvsadm -L --daemon prints.
daemon_line() {
	echo "$1 sync daemon (mcast=$2, syncid=$3, maxlen=${4:-1472}, group=${5:-224.0.0.81}, port=${6:-8848}, ttl=${7:-1})"
}
both() { printf '%s\n' "$(daemon_line backup "$@")" "$(daemon_line master "$@")"; }
# syncd_record [DIR]: the roles in the sync daemon record (sorted; empty when none or no file).
syncd_record() { grep -v '^#' "${1:-/run/ezlb}/syncd" 2>/dev/null | LC_ALL=C sort; }
# daemons_are WANT [NS]: for wait_for.
daemons_are() { [ "$(ipvs_daemons "${2:-}")" == "$1" ]; }

# ======== (a) once ========
A=$WORK/a.yaml
write "$A" "{interface: vtsync, id: 10}"
ez once --dry-run --no-health-check -c "$A"
assert_rc "(a) dry-run" 0
assert_eq "(a) dry-run: plans both daemons" \
	"$(printf '%s\n' "+ sync daemon master: interface vtsync, id 10" "+ sync daemon backup: interface vtsync, id 10")" \
	"$(printf '%s\n' "$OUT" | grep 'sync daemon')"
assert_eq "(a) dry-run: starts none" "" "$(ipvs_daemons)"
assert_true "(a) dry-run: writes no record" test ! -e /run/ezlb/syncd

ez once --no-health-check -c "$A"
assert_rc "(a) once" 0
assert_contains "(a) once: reports the kernel settings it changed" "kernel settings: 2 changes" "$OUT"
assert_eq "(a) once: master and backup on vtsync, syncid 10" "$(both vtsync 10)" "$(ipvs_daemons)"
assert_eq "(a) once: the record names both" "$(printf 'backup\nmaster')" "$(syncd_record)"
assert_plan_empty "(a) started" --no-health-check -c "$A"

write "$A" "{interface: vtsync, id: 11, role: both}"
ez once --dry-run --no-health-check -c "$A"
assert_match "(a) id 10 -> 11: dry-run stops the master with id 10" '^- sync daemon master: interface vtsync, id 10(,|$)' "$OUT"
assert_match "(a) id 10 -> 11: dry-run stops the backup with id 10" '^- sync daemon backup: interface vtsync, id 10(,|$)' "$OUT"
assert_eq "(a) id 10 -> 11: dry-run starts both with id 11" \
	"$(printf '%s\n' "+ sync daemon master: interface vtsync, id 11" "+ sync daemon backup: interface vtsync, id 11")" \
	"$(printf '%s\n' "$OUT" | grep '^+ sync daemon')"
assert_eq "(a) id 10 -> 11: dry-run changes nothing" "$(both vtsync 10)" "$(ipvs_daemons)"
ez once --no-health-check -c "$A"
assert_rc "(a) id 10 -> 11: once" 0
assert_contains "(a) id 10 -> 11: 4 kernel changes (2 stops, 2 starts)" "kernel settings: 4 changes" "$OUT"
assert_eq "(a) id 10 -> 11: read back" "$(both vtsync 11)" "$(ipvs_daemons)"
assert_plan_empty "(a) id 10 -> 11" --no-health-check -c "$A"

write "$A" "{interface: vtsync, id: 11, role: master, group: 224.0.0.82, port: 8850, ttl: 2, max_len: 1400}"
ez once --no-health-check -c "$A"
assert_rc "(a) role master with group, port, ttl, max_len: once" 0
assert_eq "(a) role master: only the master runs, with every option" \
	"$(daemon_line master vtsync 11 1400 224.0.0.82 8850 2)" "$(ipvs_daemons)"
assert_eq "(a) role master: the record names it alone" "master" "$(syncd_record)"
assert_plan_empty "(a) role master" --no-health-check -c "$A"

write "$A" "{interface: vtsync, id: 11, role: backup}"
ez once --no-health-check -c "$A"
assert_rc "(a) role backup: once" 0
assert_eq "(a) role backup: only the backup runs" "$(daemon_line backup vtsync 11)" "$(ipvs_daemons)"
assert_eq "(a) role backup: the record names it alone" "backup" "$(syncd_record)"
assert_plan_empty "(a) role backup" --no-health-check -c "$A"

ez cleanup -c "$A"
assert_rc "(a) cleanup" 0
assert_eq "(a) cleanup stops the daemon ezlb started" "" "$(ipvs_daemons)"
assert_eq "(a) cleanup: the record names none" "" "$(syncd_record)"

# ======== (b) the daemon ========
B=$WORK/b.yaml
NOSYNC=$WORK/nosync.yaml
write "$B" "{interface: vtsync, id: 12}" "resync_interval: 1s, timeouts: {tcp: 700s}"
write "$NOSYNC" ""
LOG=$WORK/ezlb.log
dstart "$LOG" "$B"
D=$DPID
dready "(b) start" "$D" "$LOG"
if wait_for 3000 daemons_are "$(both vtsync 12)"; then ok "(b) the daemon started master and backup"
else not_ok "(b) the daemon did not start master and backup" "$(ipvs_daemons)" "$(tail -n 20 "$LOG")"; fi

# repaired NAME WANT: the daemons are WANT again within 5 s of T0.
repaired() {
	if wait_for 5000 daemons_are "$2"; then ok "$1: repaired in $(($(now_ms) - T0)) ms"
	else not_ok "$1: not repaired within 5 s" "want:" "$2" "have:" "$(ipvs_daemons)" "log:" "$(tail -n 20 "$LOG")"; fi
}
timeouts_are() { [ "$(ipvs_timeouts)" == "$1" ]; }
if wait_for 3000 timeouts_are "700 120 300"; then ok "(b) the daemon set the tcp timeout"
else not_ok "(b) the daemon did not set the tcp timeout" "$(ipvs_timeouts)"; fi
T0=$(now_ms)
ipvsadm --set 800 0 0 || not_ok "(b) ipvsadm --set 800 0 0"
if wait_for 5000 timeouts_are "700 120 300"; then ok "(b) tcp timeout changed by hand: repaired in $(($(now_ms) - T0)) ms"
else not_ok "(b) tcp timeout changed by hand: not repaired within 5 s" "$(ipvs_timeouts)" "$(tail -n 20 "$LOG")"; fi

T0=$(now_ms)
ipvsadm --stop-daemon backup || not_ok "(b) ipvsadm --stop-daemon backup"
assert_eq "(b) the backup was stopped by hand" "$(daemon_line master vtsync 12)" "$(ipvs_daemons)"
repaired "(b) backup stopped by hand" "$(both vtsync 12)"

T0=$(now_ms)
ipvsadm --stop-daemon master && ipvsadm --start-daemon master --mcast-interface vtsync --syncid 99 ||
	not_ok "(b) master restarted by hand with syncid 99"
repaired "(b) master restarted by hand with syncid 99" "$(both vtsync 12)"
assert_true "(b) the daemon is still running" dalive "$D"

dstop "$D"
assert_eq "(b) SIGTERM: exit status 0" 0 "$DRC"
assert_eq "(b) after the daemon stopped: the sync daemons still run" "$(both vtsync 12)" "$(ipvs_daemons)"
assert_eq "(b) after the daemon stopped: its record names both" "$(printf 'backup\nmaster')" "$(syncd_record "$DSTATE")"
assert_eq "(b) after the daemon stopped: the timeouts stay" "700 120 300" "$(ipvs_timeouts)"

ez once --no-health-check -c "$NOSYNC" --state-dir "$DSTATE"
assert_rc "(b) sync removed from the config: once" 0
assert_contains "(b) sync removed: 2 kernel changes" "kernel settings: 2 changes" "$OUT"
assert_eq "(b) sync removed: the daemons ezlb started are stopped" "" "$(ipvs_daemons)"
assert_eq "(b) sync removed: the record names none" "" "$(syncd_record "$DSTATE")"

ipvsadm --start-daemon master --mcast-interface vtsync --syncid 5 || not_ok "(b) a master started by hand"
ez once --no-health-check -c "$NOSYNC" --state-dir "$DSTATE"
assert_rc "(b) hand-started master, no sync in the config: once" 0
assert_no_match "(b) hand-started master: once changes no kernel setting" '^kernel settings' "$OUT"
assert_eq "(b) hand-started master: left running by once" "$(daemon_line master vtsync 5)" "$(ipvs_daemons)"
assert_plan_empty "(b) hand-started master" --no-health-check -c "$NOSYNC" --state-dir "$DSTATE"
ez cleanup -c "$NOSYNC" --state-dir "$DSTATE"
assert_rc "(b) hand-started master: cleanup" 0
assert_eq "(b) hand-started master: left running by cleanup" "$(daemon_line master vtsync 5)" "$(ipvs_daemons)"
ipvsadm --stop-daemon master

# ======== (c) two directors ========
setup_c() {
	local n d
	for n in cl d1 d2 b1; do ip netns add "$n" && ip -n "$n" link set lo up || return 1; done
	ip -n cl link add eth0 type veth peer name c0 netns d1 &&
		ip -n d1 link add sync0 type veth peer name sync0 netns d2 &&
		ip -n d1 link add b0 type veth peer name eth0 netns b1 || return 1
	ip -n cl addr add 10.30.1.2/24 dev eth0 && ip -n cl link set eth0 up &&
		ip -n cl route add default via 10.30.1.1 || return 1
	ip -n d1 addr add 10.30.1.1/24 dev c0 && ip -n d1 link set c0 up || return 1
	ip -n d1 addr add 10.30.2.1/24 dev b0 && ip -n d1 link set b0 up || return 1
	ip -n d1 addr add 10.30.0.1/24 dev sync0 && ip -n d1 link set sync0 up || return 1
	ip -n d2 addr add 10.30.0.2/24 dev sync0 && ip -n d2 link set sync0 up || return 1
	ip -n d2 route add 10.30.2.0/24 via 10.30.0.1 || return 1
	ip -n b1 addr add 10.30.2.2/24 dev eth0 && ip -n b1 link set eth0 up &&
		ip -n b1 route add default via 10.30.2.1 || return 1
	for d in d1 d2; do
		ip -n "$d" addr add 10.30.9.1/32 dev lo && nsrun "$d" sysctl -qw net.ipv4.ip_forward=1 || return 1
	done
	serve_echo 1
}
setup_c || not_ok "(c) the two-director network"
C=$WORK/c.yaml
cat >"$C" <<'EOF_'
global:
  sync: {interface: sync0, id: 7, role: both}
services:
  - name: web
    listen: 10.30.9.1:80
    scheduler: rr
    health_check: {enabled: false}
    backends:
      - {address: 10.30.2.2:8080}
EOF_
for d in d1 d2; do
	EZ_AS=(ip netns exec "$d")
	ez once --no-health-check -c "$C" --state-dir "/run/ezlb-$d"
	EZ_AS=()
	assert_rc "(c) $d: once" 0
	assert_contains "(c) $d: kernel settings changed" "kernel settings: 2 changes" "$OUT"
	assert_eq "(c) $d: master and backup on sync0, syncid 7" "$(both sync0 7)" "$(ipvs_daemons "$d")"
	assert_match "(c) $d: the service" '^-A -t 10\.30\.9\.1:80 -s rr$' "$(nsrun "$d" ipvsadm -Sn)"
done
assert_eq "(c) the VM's own namespace runs no sync daemon" "" "$(ipvs_daemons)"
assert_eq "(c) d2's connection table is empty before the traffic" "" "$(nsrun d2 ipvsadm -Lnc | grep '^TCP')"

hold_start h 10.30.9.1:80
if wait_for 5000 hold_connected h; then
	assert_eq "(c) a held connection through d1 reached b1" b1 "$(hold_name h)"
else
	not_ok "(c) the held connection through d1 did not connect" "$(cat "$WORK/hold.h.out")"
fi
T0=$(now_ms)
conn=$(nsrun d1 ipvsadm -Lnc | awk '$1 == "TCP" && $3 == "ESTABLISHED" && $5 == "10.30.9.1:80" { print $4; exit }')
note "d1's connection table:" "$(nsrun d1 ipvsadm -Lnc)"
if [ -z "$conn" ]; then
	not_ok "(c) d1 has no ESTABLISHED entry for the held connection"
else
	ok "(c) d1 has the connection from $conn"
	# d2_has: d2's table holds the connection from $conn to the VIP and b1.
	d2_has() { nsrun d2 ipvsadm -Lnc | awk -v c="$conn" '$1 == "TCP" && $4 == c && $5 == "10.30.9.1:80" && $6 == "10.30.2.2:8080" { f = 1 } END { exit !f }'; }
	if wait_for 10000 d2_has; then
		ok "(c) the connection appeared in d2's table after $(($(now_ms) - T0)) ms"
	else
		not_ok "(c) the connection never appeared in d2's table (10 s)" "d2:" "$(nsrun d2 ipvsadm -Lnc)" \
			"d2's sync0:" "$(ip -n d2 -s link show sync0)"
	fi
fi
hold_stop h
assert_eq "(c) the held connection ran without a failure" 0 "$HOLD_RC"
finish
