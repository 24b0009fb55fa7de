#!/bin/bash
# Active/passive directors: keepalived VRRP moves the VIP, ezlb keeps the same IPVS table on both
# and runs the kernel's connection sync (global.sync, role both), so established connections
# survive the loss of the active director. Everything in namespaces, on one L2 segment (bridge
# vtbr0 in namespace sw), forwarding DR:
#
#                           sw: bridge vtbr0 (no multicast snooping)
#        +--------------+--------------+--------------+--------------+
#   cl 10.32.0.100   d1 10.32.0.11    d2 10.32.0.12   b1 10.32.0.21   b2 10.32.0.22
#   holdmany,        keepalived prio  keepalived prio  VIP on lo, arp_ignore=1, arp_announce=2,
#   client           150 (MASTER),    100 (BACKUP),    lbnet serve -e 0.0.0.0:80 bN
#                    ezlb run         ezlb run
#   (every namespace's link is eth0; VIP 10.32.0.10/24 on the VRRP master's eth0)
#
# Both directors run keepalived in VRRP-only mode (-P; vrrp_version 3, advert_int 0.3, no
# virtual_server) and `ezlb run` with one config: web 10.32.0.10:80, dr, mh with mh-port, tcp
# checks of 10.32.0.21:80 and .22:80, global.sync {interface: eth0, id: 5}.
# Proves:
#  1. d1 holds the VIP, d2 does not; the two IPVS tables are equal; each runs both sync daemons.
#  2. 20 long-lived connections from cl (lbnet holdmany) through d1 show up in d2's connection
#     table (synced).
#  3. (no check of its own) meanwhile cl keeps making new connections (lbnet client --for 9).
#  4. d1 dies at once (its link down, then keepalived and ezlb killed with SIGKILL, so it sends
#     nothing more, not even a priority-0 advert): d2 takes the VIP (time measured); all 20
#     connections survive on the same backends and are answered after the switch (their longest
#     gap measured and bounded); the new connections of 3 fail only during the switch (counted,
#     longest outage measured and bounded) and succeed through d2 afterwards (d2's table has
#     them). d2's ezlb then stops on SIGTERM with status 0.
# The "# measured:" lines give the failover time, the longest gap and the new-connection outage.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

VIP=10.32.0.10
N=20          # long-lived connections
GAP_MAX=10000 # ms: the generous bound on their longest gap
HOLD_OUT=$WORK/holdmany.out
HOLD_STOP=$WORK/holdmany.stop

# ---- the network ----
setup_net() {
	local spec ns a b pid
	ip netns add sw && ip -n sw link set lo up &&
		ip -n sw link add vtbr0 type bridge mcast_snooping 0 forward_delay 0 &&
		ip -n sw link set vtbr0 up || return 1
	for spec in cl:100 d1:11 d2:12 b1:21 b2:22; do
		ns=${spec%%:*} a=10.32.0.${spec#*:}
		ip netns add "$ns" && ip -n "$ns" link set lo up &&
			ip -n sw link add "p$ns" type veth peer name eth0 netns "$ns" &&
			ip -n sw link set "p$ns" master vtbr0 up &&
			ip -n "$ns" addr add "$a/24" dev eth0 && ip -n "$ns" link set eth0 up || return 1
	done
	for b in 1 2; do
		ip -n "b$b" addr add "$VIP/32" dev lo &&
			nsrun "b$b" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 >/dev/null &&
			pid=$(nsrun "b$b" lbnet serve -e -d 0.0.0.0:80 "b$b") || return 1
		track_pid "$pid"
	done
	# The runbook's director settings (deploy/sysctl.d/50-ezlb.conf).
	for d in d1 d2; do
		nsrun "$d" sysctl -qw net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1 \
			>/dev/null || return 1
	done
}
setup_net || not_ok "the network (bridge, 5 namespaces, echo servers on b1 and b2)"

# ---- ezlb on both directors, one config ----
CFG=$WORK/ezlb.yaml
cat >"$CFG" <<'EOF_'
global:
  sync: {interface: eth0, id: 5}
services:
  - name: web
    listen: 10.32.0.10:80
    forward: dr
    scheduler: mh
    scheduler_flags: [mh-port]
    health_check: {type: tcp, interval: 1s, timeout: 500ms}
    backends:
      - {address: 10.32.0.21:80}
      - {address: 10.32.0.22:80}
EOF_
EZLB_BIN=$EZLB
declare -A EZPID=()
for d in d1 d2; do
	# A wrapper that enters the namespace: ip netns exec and then ezlb replace it (exec, no fork),
	# so dstart's pid is the daemon's and its READY=1 is seen.
	printf '#!/bin/bash\nexec ip netns exec %s %q "$@"\n' "$d" "$EZLB_BIN" >"$WORK/ezlb-$d"
	chmod +x "$WORK/ezlb-$d"
	EZLB=$WORK/ezlb-$d DSTATE=$WORK/state-$d dstart "$WORK/ezlb-$d.log" "$CFG"
	EZPID[$d]=$DPID
done
EZLB=$EZLB_BIN
for d in d1 d2; do dready "$d: ezlb run" "${EZPID[$d]}" "$WORK/ezlb-$d.log"; done

ns_table() { nsrun "$1" ipvsadm -Sn | sed '/^$/d' | LC_ALL=C sort; }
WANT_TABLE=$(printf '%s\n' "-A -t $VIP:80 -s mh -b mh-port" "-a -t $VIP:80 -r 10.32.0.21:80 -g -w 1" \
	"-a -t $VIP:80 -r 10.32.0.22:80 -g -w 1" | LC_ALL=C sort)
assert_eq "1. d1's IPVS table: web, dr, both backends" "$WANT_TABLE" "$(ns_table d1)"
assert_eq "1. d2's IPVS table equals d1's" "$(ns_table d1)" "$(ns_table d2)"
daemon_line() { echo "$1 sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"; }
SYNC_BOTH=$(printf '%s\n' "$(daemon_line backup)" "$(daemon_line master)")
daemons_are() { [ "$(ipvs_daemons "$1")" == "$SYNC_BOTH" ]; }
for d in d1 d2; do
	if wait_for 5000 daemons_are "$d"; then ok "1. $d runs the master and backup sync daemons (eth0, id 5)"
	else not_ok "1. $d: not both sync daemons" "want:" "$SYNC_BOTH" "have:" "$(ipvs_daemons "$d")" \
		"log:" "$(tail -n 20 "$WORK/ezlb-$d.log")"; fi
done

# ---- keepalived, VRRP only ----
# kconf STATE PRIORITY NAME: the keepalived configuration of one director: the runbook's
# (examples/multi-director/keepalived-vrrp.conf, d1's), with d2's state, priority and router_id.
kconf() {
	sed -e "s/^\( *state \)MASTER\$/\1$1/" -e "s/^\( *priority \)150\$/\1$2/" \
		-e "s/^\( *router_id \)ezlb-d1\$/\1ezlb-$3/" /examples/multi-director/keepalived-vrrp.conf
}
declare -A KPID=()
# kstart DIR STATE PRIORITY: keepalived in namespace DIR, in the foreground of a background job,
# logging to $WORK/keepalived-DIR.log only (-G: without a syslog daemon, syslog() would write to
# the console).
kstart() {
	kconf "$2" "$3" "$1" >"$WORK/keepalived-$1.conf"
	ip netns exec "$1" keepalived -n -l -G -P -f "$WORK/keepalived-$1.conf" -p "$WORK/keepalived-$1.pid" \
		-r "$WORK/keepalived-$1.vrrp.pid" >>"$WORK/keepalived-$1.log" 2>&1 &
	KPID[$1]=$!
	track_pid "$!"
	note "started keepalived in $1 ($2, priority $3) as pid $!"
}
has_vip() { ip -n "$1" -o addr show dev eth0 | grep -q " $VIP/24 "; }
klog() { printf '%s\n' "keepalived-$1.log:" "$(tail -n 15 "$WORK/keepalived-$1.log")"; }

# d1 first, so that d2 starts against an existing master (no election race at start).
kstart d1 MASTER 150
if wait_for 10000 has_vip d1; then ok "1. d1 holds the VIP (VRRP master)"
else not_ok "1. d1 did not take the VIP within 10 s" "$(ip -n d1 addr show dev eth0)" "$(klog d1)"; fi
kstart d2 BACKUP 100
if wait_for 10000 log_has "$WORK/keepalived-d2.log" 'Entering BACKUP STATE'; then ok "1. d2's keepalived is in BACKUP state"
else not_ok "1. d2's keepalived never entered BACKUP state" "$(klog d2)"; fi
sleep 1 # a few adverts: d2 must stay backup
assert_true "1. d1 still holds the VIP" has_vip d1
if has_vip d2; then not_ok "1. d2 holds the VIP too" "$(ip -n d2 addr show dev eth0)" "$(klog d2)"
else ok "1. d2 does not hold the VIP"; fi
for f in "$WORK/keepalived-d1.vrrp.pid" "$WORK/keepalived-d2.vrrp.pid"; do
	[ -s "$f" ] && track_pid "$(cat "$f")"
done

# ---- 2. long-lived connections through d1, synced to d2 ----
rm -f "$HOLD_STOP"
ip netns exec cl lbnet holdmany -n "$N" -i 100 "$VIP:80" "$HOLD_STOP" >"$HOLD_OUT" 2>&1 &
HM_PID=$!
track_pid "$HM_PID"
hm_connected() { [ "$(grep -c '^conn [0-9]* connected ' "$HOLD_OUT")" -ge "$N" ]; }
if wait_for 10000 hm_connected; then ok "2. $N long-lived connections through the VIP"
else not_ok "2. not all $N connections were made" "$(cat "$HOLD_OUT")"; fi
note "backends of the held connections: $(sed -n 's/^conn [0-9]* connected //p' "$HOLD_OUT" | sort | uniq -c | tr -s ' \n' ' ')"
# est NS: the ESTABLISHED entries from cl to the VIP in NS's connection table.
est() { nsrun "$1" ipvsadm -Lnc | awk -v v="$VIP:80" '$1 == "TCP" && $3 == "ESTABLISHED" && $4 ~ /^10\.32\.0\.100:/ && $5 == v' | wc -l; }
synced() { [ "$(est d2)" -ge "$N" ]; }
T0=$(now_ms)
assert_eq "2. d1's connection table holds the $N connections" "$N" "$(est d1)"
if wait_for 10000 synced; then ok "2. the $N connections are in d2's table after $(($(now_ms) - T0)) ms (synced)"
else not_ok "2. d2's table has $(est d2) of the $N connections after 10 s" "d2:" "$(nsrun d2 ipvsadm -Lnc)" \
	"d1:" "$(nsrun d1 ipvsadm -Lnc)"; fi

# ---- 3. new connections during the switch ----
NEW_OUT=$WORK/client-for.out
ip netns exec cl lbnet client -t 300 -w 20 "$VIP:80" --for 9 >"$NEW_OUT" 2>&1 &
NEW_PID=$!
track_pid "$NEW_PID"
sleep 1

# ---- 4. d1 dies ----
note "d2's keepalived before the failure:" "$(grep -c 'Entering MASTER STATE' "$WORK/keepalived-d2.log") MASTER transitions"
assert_no_match "4. before the failure d2 never became master" 'Entering MASTER STATE' "$(cat "$WORK/keepalived-d2.log")"
K1_VRRP=$(cat "$WORK/keepalived-d1.vrrp.pid" 2>/dev/null)
T_KILL=$(now_ms)
ip -n d1 link set eth0 down
kill -KILL ${K1_VRRP:+"$K1_VRRP"} "${KPID[d1]}" "${EZPID[d1]}"
{ wait "${KPID[d1]}" "${EZPID[d1]}"; } 2>/dev/null # reaped quietly (no "Killed" job report)
if wait_for 10000 has_vip d2; then
	T_VIP=$(now_ms)
	FAILOVER_MS=$((T_VIP - T_KILL))
	ok "4. d2 took the VIP ${FAILOVER_MS} ms after d1 died"
else
	T_VIP=$(now_ms)
	FAILOVER_MS=-1
	not_ok "4. d2 did not take the VIP within 10 s" "$(ip -n d2 addr show dev eth0)" "$(klog d2)"
fi
note "measured: failover_ms $FAILOVER_MS (d1's link down and SIGKILL -> the VIP on d2; advert_int 0.3)"
sleep 5 # the held connections retransmit and go on through d2
note "d2's connection table after the switch: $(est d2) ESTABLISHED from cl to the VIP"
T_STOP=$(now_ms)
touch "$HOLD_STOP"
wait "$HM_PID"
HM_RC=$?
HM=$(cat "$HOLD_OUT")
summary=$(printf '%s\n' "$HM" | grep '^holdmany ')
survived=$(printf '%s\n' "$summary" | awk '{ print $5 }')
max_gap=$(printf '%s\n' "$summary" | awk '{ print $7 }')
assert_eq "4. all $N long-lived connections survived (holdmany exit status)" 0 "$HM_RC"
if [ "$survived" == "$N" ]; then ok "4. holdmany: survived $N of $N"
else not_ok "4. holdmany: survived ${survived:-?} of $N" "$HM"; fi
assert_no_match "4. no connection was lost or changed backend" '^conn [0-9]+ lost ' "$HM"
note "$summary"
note "measured: long-lived survived ${survived:-?}/$N max_gap_ms ${max_gap:-?}"
if [ -n "$max_gap" ] && [ "$max_gap" -lt "$GAP_MAX" ]; then ok "4. the longest gap ($max_gap ms) is below $GAP_MAX ms"
else not_ok "4. the longest gap (${max_gap:-?} ms) is not below $GAP_MAX ms" "$HM"; fi
# A connection with no answer after the failure would have a gap of at least T_STOP - T_KILL.
if [ -n "$max_gap" ] && [ "$max_gap" -lt $((T_STOP - T_KILL - 1000)) ]; then
	ok "4. every connection was answered after the failover (gaps < $((T_STOP - T_KILL - 1000)) ms)"
else
	not_ok "4. some connection got no answer after the failover (gap ${max_gap:-?} ms, stop $((T_STOP - T_KILL)) ms after the kill)" "$HM"
fi

wait "$NEW_PID"
NEW=$(cat "$NEW_OUT")
note "lbnet client --for 9 across the switch:" "$NEW"
new_fail=$(count fail "$NEW")
new_ok=$(($(count b1 "$NEW") + $(count b2 "$NEW")))
outage=$(printf '%s\n' "$NEW" | awk '$1 == "longest_outage_ms" { print $2 }')
note "measured: new connections across the switch ok $new_ok fail $new_fail longest_outage_ms ${outage:-?}"
assert_match "4. new connections were answered across the switch" '^b[12] [1-9]' "$NEW"
if [ -n "$outage" ] && [ "$outage" -lt "$GAP_MAX" ]; then ok "4. new connections failed for at most $outage ms in a row"
else not_ok "4. new connections failed for ${outage:-?} ms in a row (bound $GAP_MAX ms)" "$NEW"; fi

# Fixed source ports (below the ephemeral range), so that d2's connection table can name them.
R=$(client -t 1000 -s 20000 "$VIP:80" 10)
note "lbnet client -s 20000 $VIP:80 10 after the switch:" "$R"
assert_eq "4. after the switch: 10 new connections, 0 failures" 0 "$(count fail "$R")"
assert_eq "4. after the switch: all 10 answered by b1 or b2" 10 $(($(count b1 "$R") + $(count b2 "$R")))
d2_new=$(nsrun d2 ipvsadm -Lnc | awk -v v="$VIP:80" '$1 == "TCP" && $4 ~ /^10\.32\.0\.100:2000[0-9]$/ && $5 == v' | wc -l)
if [ "$d2_new" -eq 10 ]; then ok "4. d2 scheduled them (10 entries from ports 20000-20009 in its table)"
else not_ok "4. d2's table has $d2_new entries from ports 20000-20009, not 10" "$(nsrun d2 ipvsadm -Lnc)"; fi
assert_true "4. d2's ezlb is still running" dalive "${EZPID[d2]}"
dstop "${EZPID[d2]}"
assert_eq "d2's ezlb: SIGTERM, exit status 0" 0 "$DRC"
finish
