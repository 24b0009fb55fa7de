#!/bin/bash
# Active/active directors behind a BGP/ECMP router: `announce` puts the VIP on a dummy interface
# while the service can serve, BIRD's `protocol direct` on that interface exports it over BGP,
# and the router's BIRD merges the three equal routes into one multipath kernel route.
#
#   cl (client) eth0 10.31.1.2/24 (+ 10.31.1.3-10 and .20), default via 10.31.1.1
#        |
#   r (router)  c0 10.31.1.1/24, eth0 10.31.0.1/24; ip_forward=1, ECMP hash on the 5-tuple
#        |      BIRD AS 65000: eBGP with each director, kernel protocol `merge paths on`
#   vtbr1 (bridge in the VM's own namespace: the LAN 10.31.0.0/24)
#        |-- d1 10.31.0.11  d2 10.31.0.12  d3 10.31.0.13  (directors)
#        |     BIRD AS 65001: protocol direct on ezlb0 -> BGP to r (hold 3 s, keepalive 1 s);
#        |     ezlb run, all three with the SAME config: web 10.31.9.1:80, forward dr,
#        |     scheduler mh, announce {interface: ezlb0}, tcp checks every 500 ms,
#        |     global.sync {interface: eth0, id: 6} (every director is master and backup)
#        '-- b1 10.31.0.21  b2 10.31.0.22  b3 10.31.0.23  (backends)
#              VIP 10.31.9.1/32 on lo, arp_ignore=1, arp_announce=2, default via r (DR replies go
#              through the router), lbnet serve -e 0.0.0.0:80 bN (persistent echo)
#
# Proves, on a real kernel:
# 1. announce: the VIP is on every director's ezlb0 and r has a route to it with 3 nexthops.
# 2. ECMP: 60 new connections from one client all succeed and every director's IPVS counted some.
# 3. mh is consistent across directors: those 60 (one source address) all reached one backend
#    although three directors scheduled them; each of 8 more source addresses (-S) gets one
#    backend for all of its connections.
# 4. Withdraw: d1's probes dropped (nft, saddr 10.31.0.11; DR-forwarded packets keep the
#    client's source address) -> d1's checks fail -> the VIP leaves d1's ezlb0 -> r has 2
#    nexthops (time measured); new connections all succeed and d1's counter does not grow. The
#    rule removed: the VIP comes back, 3 nexthops.
# 5. A director dies: 30 long-lived connections (lbnet holdmany) spread over the 3 directors and
#    synced to all (each one's ipvsadm -Lnc holds the 30); d1's LAN link goes down and its BIRD
#    and ezlb are killed (-9); r's hold timer drops d1's nexthop; all 30 connections survive (max
#    gap measured) and new connections succeed afterwards (failures during the switch measured).
# 6. ezlb stop leaves the VIP announced; `ezlb cleanup` removes it (r: one nexthop fewer).
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

VIP=10.31.9.1
SVC=$VIP:80

# ---- the network ----

# lan_ns NS ADDR: namespace NS with eth0 ADDR/24 on the bridge vtbr1 (root side vtNS).
lan_ns() {
	ip netns add "$1" && ip -n "$1" link set lo up || return 1
	ip link add "vt$1" type veth peer name eth0 netns "$1" || return 1
	ip link set "vt$1" master vtbr1 && ip link set "vt$1" up || return 1
	ip -n "$1" addr add "$2/24" dev eth0 && ip -n "$1" link set eth0 up
}
setup() {
	local i a
	modprobe bridge 2>/dev/null
	ip link add vtbr1 type bridge && ip link set vtbr1 up || return 1
	lan_ns r 10.31.0.1 || return 1
	ip netns add cl && ip -n cl link set lo up || return 1
	ip -n cl link add eth0 type veth peer name c0 netns r || return 1
	ip -n r addr add 10.31.1.1/24 dev c0 && ip -n r link set c0 up || return 1
	ip -n cl addr add 10.31.1.2/24 dev eth0 && ip -n cl link set eth0 up || return 1
	for a in 3 4 5 6 7 8 9 10 20; do ip -n cl addr add "10.31.1.$a/24" dev eth0 || return 1; done
	ip -n cl route add default via 10.31.1.1 || return 1
	# ECMP by the 5-tuple, as a hardware router hashes (RSS): policy 3 with src/dst address,
	# protocol, src/dst port. Not policy 1: its L4 hash takes the skb's hash when it has one, and
	# a packet that crossed a veth still carries the client socket's txhash, which TCP re-draws at
	# every RTO: a flow stuck on a dead director would hop to another one on its next
	# retransmission, which no real router does, and the failover measured would be too kind.
	nsrun r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=3 \
		net.ipv4.fib_multipath_hash_fields=0x0037 || return 1
	for i in 1 2 3; do
		lan_ns "b$i" "10.31.0.2$i" || return 1
		ip -n "b$i" addr add "$VIP/32" dev lo || return 1
		nsrun "b$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 || return 1
		ip -n "b$i" route add default via 10.31.0.1 || return 1
		a=$(nsrun "b$i" lbnet serve -e -d 0.0.0.0:80 "b$i") || return 1
		track_pid "$a"
		lan_ns "d$i" "10.31.0.1$i" || return 1
		ip -n "d$i" route add default via 10.31.0.1 || return 1
	done
}
setup || not_ok "the network (bridge, namespaces, backends)"

# ---- BIRD ----

# The runbook's configurations (examples/multi-director/, in the image under /examples) as they
# are: the router's, and the director's with d1's addresses changed for d2 and d3.
EX=/examples/multi-director
cp "$EX/bird-router.conf" "$WORK/bird-r.conf" || not_ok "the example $EX/bird-router.conf"
for i in 1 2 3; do
	sed "s/10\.31\.0\.11\([; ]\)/10.31.0.1$i\1/g" "$EX/bird-director.conf" >"$WORK/bird-d$i.conf" ||
		not_ok "the example $EX/bird-director.conf"
done
declare -A BIRD_PID=()
# bird_start NS: BIRD in the foreground in namespace NS, control socket $WORK/bird-NS.ctl.
bird_start() {
	ip netns exec "$1" bird -f -c "$WORK/bird-$1.conf" -s "$WORK/bird-$1.ctl" >>"$WORK/bird-$1.log" 2>&1 &
	BIRD_PID[$1]=$!
	track_pid "$!"
}
birdc_r() { birdc -s "$WORK/bird-r.ctl" "$@" 2>&1; }

# ---- ezlb ----

# The runbook's ezlb configuration, the same file on every director.
CONF=/examples/multi-director.yaml
global:
  sync: {interface: eth0, id: 6}
services:
  - name: web
    listen: $SVC
    forward: dr
    scheduler: mh
    announce: {interface: ezlb0}
    health_check: {interval: 500ms, timeout: 400ms, fail_count: 2, rise_count: 2}
    backends:
      - {address: 10.31.0.21:80}
      - {address: 10.31.0.22:80}
      - {address: 10.31.0.23:80}
EOF_
declare -A EZ_PID=()
# ez_start dN: `ezlb run` in namespace dN, state dir /run/ezlb-dN (its lock, record and control
# socket), log $WORK/ezlb-dN.log, NOTIFY_SOCKET the test's listener (a path: any namespace).
ez_start() {
	notify_listen || return 1
	(
		export NOTIFY_SOCKET="$NOTIFY_SOCK"
		exec ip netns exec "$1" "$EZLB" run -c "$CONF" --state-dir "/run/ezlb-$1" >>"$WORK/ezlb-$1.log" 2>&1
	) &
	EZ_PID[$1]=$!
	track_pid "$!"
}

# ---- oracles ----

# nexthops: how many nexthops r's kernel route to the VIP has (0: no route).
nexthops() { ip -n r route show "$VIP" | grep -o 'via [0-9.]*' | wc -l; }
nexthops_are() { [ "$(nexthops)" -eq "$1" ]; }
# vip_on dN: the VIP is on dN's ezlb0.
vip_on() { ip -n "$1" -4 addr show dev ezlb0 2>/dev/null | grep -q "inet $VIP/32"; }
vip_off() { ! vip_on "$1"; }
all_vips_on() { vip_on d1 && vip_on d2 && vip_on d3; }
# conns dN: the service's connection counter in dN. The kernel sums its per-CPU counters into
# what it reports every 2 s (the rate estimator), so a count is only read after settle.
conns() { nsrun "$1" ipvsadm -Ln --stats --exact -t "$SVC" 2>/dev/null | awk '$1 == "TCP" { print $3 }'; }
total_at_least() { [ $(($(conns d1) + $(conns d2) + $(conns d3))) -ge "$1" ]; }
# settle N: wait (at most 6 s) until the directors' counters add up to N connections.
settle() {
	wait_for 6000 total_at_least "$1" ||
		not_ok "the directors' connection counters never reached $1 (d1 $(conns d1) d2 $(conns d2) d3 $(conns d3))"
}
# established dN SRC: ESTABLISHED entries from SRC to the VIP in dN's connection table.
established() {
	nsrun "$1" ipvsadm -Lnc | awk -v s="$2:" -v v="$SVC" '$1 == "TCP" && $3 == "ESTABLISHED" &&
		index($4, s) == 1 && $5 == v { n++ } END { print n + 0 }'
}
all_synced() { # all_synced SRC N
	[ "$(established d1 "$1")" -ge "$2" ] && [ "$(established d2 "$1")" -ge "$2" ] &&
		[ "$(established d3 "$1")" -ge "$2" ]
}
evidence() {
	local d
	echo "r: ip route show $VIP:"
	ip -n r route show "$VIP"
	echo "r: birdc show protocols:"
	birdc_r show protocols
	echo "r: bird log (tail):"
	tail -n 15 "$WORK/bird-r.log"
	for d in d1 d2 d3; do
		echo "$d: ezlb0: $(ip -n "$d" -4 -o addr show dev ezlb0 2>&1)"
		echo "$d: ezlb log (tail):"
		tail -n 12 "$WORK/ezlb-$d.log"
		echo "$d: ipvsadm -Ln --stats:"
		nsrun "$d" ipvsadm -Ln --stats
	done
}

# ======== 1. announce and ECMP ========
T0=$(now_ms)
bird_start r
for d in d1 d2 d3; do
	bird_start "$d"
	ez_start "$d"
done
for d in d1 d2 d3; do dready "1. $d ezlb" "${EZ_PID[$d]}" "$WORK/ezlb-$d.log"; done
if wait_for 30000 all_vips_on; then
	ok "1. the VIP is on every director's ezlb0 ($(($(now_ms) - T0)) ms after the start)"
else
	not_ok "1. the VIP is not on every director's ezlb0 within 30 s" "$(evidence)"
fi
if wait_for 30000 nexthops_are 3; then
	ok "1. r routes $VIP over 3 nexthops ($(($(now_ms) - T0)) ms after the start)"
	note "measured: BGP/ECMP converged $(($(now_ms) - T0)) ms after BIRD and ezlb started"
else
	not_ok "1. r has no 3-nexthop route to $VIP within 30 s" "$(evidence)"
fi
note "r: ip route show $VIP:" "$(ip -n r route show "$VIP")"

# ======== 2. flows spread over the directors ========
out=$(client -t 2000 "$SVC" 60)
note "60 connections from 10.31.1.2:" "$out"
assert_eq "2. 60 new connections through the router: none fails" 0 "$(count fail "$out")"
settle 60
C1=$(conns d1) C2=$(conns d2) C3=$(conns d3)
note "measured: connections per director d1 $C1 d2 $C2 d3 $C3"
if [ "${C1:-0}" -gt 0 ] && [ "${C2:-0}" -gt 0 ] && [ "${C3:-0}" -gt 0 ]; then
	ok "2. every director scheduled some (d1 $C1, d2 $C2, d3 $C3)"
else
	not_ok "2. not every director scheduled connections (d1 $C1, d2 $C2, d3 $C3)" "$(evidence)"
fi

# ======== 3. mh: one backend per client address, whichever director ========
names=$(printf '%s\n' "$out" | awk '$1 ~ /^b[0-9]+$/')
assert_match "3. the 60 connections of 10.31.1.2 all reached one backend (through 3 directors)" \
	'^b[1-3] 60$' "$names"
map="10.31.1.2->${names%% *}"
for a in 3 4 5 6 7 8 9 10; do
	o=$(client -t 2000 -S "10.31.1.$a" "$SVC" 12)
	if printf '%s\n' "$o" | grep -Eq '^b[1-3] 12$' && [ "$(count fail "$o")" -eq 0 ]; then
		ok "3. 10.31.1.$a: 12 connections, one backend ($(printf '%s\n' "$o" | awk '$1 ~ /^b/ { print $1 }'))"
		map="$map 10.31.1.$a->$(printf '%s\n' "$o" | awk '$1 ~ /^b/ { print $1 }')"
	else
		not_ok "3. 10.31.1.$a: 12 connections did not all reach one backend" "$o"
	fi
done
note "measured: client address -> backend: $map"

# ======== 4. withdraw: d1's checks fail ========
nsrun d1 nft -f - <<'EOF_' || not_ok "4. the nft rule dropping d1's probes"
table ip ecmp {
	chain out {
		type filter hook output priority 0;
		ip saddr 10.31.0.11 tcp dport 80 drop
	}
}
EOF_
T0=$(now_ms)
if wait_for 15000 nexthops_are 2; then
	W=$(($(now_ms) - T0))
	ok "4. d1's probes dropped: r has 2 nexthops after $W ms"
	note "measured: withdraw (probes dropped -> route with 2 nexthops) $W ms"
else
	not_ok "4. r still has $(nexthops) nexthops 15 s after d1's probes were dropped" "$(evidence)"
fi
if wait_for 5000 vip_off d1; then ok "4. the VIP left d1's ezlb0"
else not_ok "4. the VIP is still on d1's ezlb0" "$(evidence)"; fi
others_on() { vip_on d2 && vip_on d3; }
assert_true "4. the VIP stays on d2 and d3" others_on
assert_no_match "4. the route no longer names d1" 'via 10\.31\.0\.11 ' "$(ip -n r route show "$VIP")"
settle $((60 + 8 * 12))
B1=$(conns d1) B2=$(conns d2) B3=$(conns d3)
out=$(client -t 2000 "$SVC" 30)
assert_eq "4. 30 new connections without d1: none fails" 0 "$(count fail "$out")"
settle $((60 + 8 * 12 + 30))
note "measured: the 30 connections without d1: d1 $(($(conns d1) - B1)) d2 $(($(conns d2) - B2)) d3 $(($(conns d3) - B3))"
assert_eq "4. d1's connection counter did not grow" "$B1" "$(conns d1)"
nsrun d1 nft delete table ip ecmp || not_ok "4. removing the nft rule"
T0=$(now_ms)
back() { vip_on d1 && nexthops_are 3; }
if wait_for 15000 back; then
	W=$(($(now_ms) - T0))
	ok "4. rule removed: the VIP is back on d1 and r has 3 nexthops after $W ms"
	note "measured: re-announce (rule removed -> 3 nexthops) $W ms"
else
	not_ok "4. rule removed: no VIP on d1 / 3 nexthops within 15 s" "$(evidence)"
fi

# ======== 5. a director dies ========
HM=$WORK/holdmany
rm -f "$HM.stop"
P1=$(conns d1) P2=$(conns d2) P3=$(conns d3) # settled: section 4 ended with settle
ip netns exec cl lbnet holdmany -n 30 -i 100 -S 10.31.1.20 "$SVC" "$HM.stop" >"$HM.out" 2>&1 &
HM_PID=$!
track_pid "$HM_PID"
hm_connected() { [ "$(grep -c '^conn [0-9]* connected ' "$HM.out")" -eq 30 ]; }
if wait_for 20000 hm_connected; then ok "5. 30 long-lived connections made"
else not_ok "5. not all 30 long-lived connections connected" "$(cat "$HM.out")"; fi
settle $((60 + 8 * 12 + 30 + 30))
N1=$(($(conns d1) - P1)) N2=$(($(conns d2) - P2)) N3=$(($(conns d3) - P3))
note "measured: long-lived connections per director d1 $N1 d2 $N2 d3 $N3"
if [ "$N1" -gt 0 ] && [ "$N2" -gt 0 ] && [ "$N3" -gt 0 ]; then
	ok "5. the 30 are spread over the 3 directors (d1 $N1, d2 $N2, d3 $N3)"
else
	not_ok "5. the 30 are not spread over the 3 directors (d1 $N1, d2 $N2, d3 $N3)" "$(evidence)"
fi
T0=$(now_ms)
if wait_for 20000 all_synced 10.31.1.20 30; then
	ok "5. every director's connection table holds the 30 (synced in $(($(now_ms) - T0)) ms)"
else
	not_ok "5. not every director holds the 30 connections" \
		"established: d1 $(established d1 10.31.1.20) d2 $(established d2 10.31.1.20) d3 $(established d3 10.31.1.20)" \
		"d2: $(nsrun d2 ipvsadm -Lnc)"
fi
# New connections during the switch, in the background.
nsrun cl lbnet client -t 300 "$SVC" --for 12 >"$WORK/switch.out" 2>&1 &
SW_PID=$!
track_pid "$SW_PID"
sleep 1
# d1 dies as a machine does: its LAN link first (no FIN, no BGP NOTIFICATION gets out), then
# its processes.
T0=$(now_ms)
ip -n d1 link set eth0 down
kill -KILL "${BIRD_PID[d1]}" "${EZ_PID[d1]}"
wait "${BIRD_PID[d1]}" "${EZ_PID[d1]}" 2>/dev/null # (no "Killed" notice from bash)
if wait_for 15000 nexthops_are 2; then
	W=$(($(now_ms) - T0))
	ok "5. d1 dead: r dropped its nexthop after $W ms (BGP hold time 3 s)"
	note "measured: d1 dead -> route with 2 nexthops $W ms"
else
	not_ok "5. d1 dead: r still has $(nexthops) nexthops after 15 s" "$(evidence)"
fi
assert_no_match "5. the route no longer names d1" 'via 10\.31\.0\.11 ' "$(ip -n r route show "$VIP")"
assert_match "5. r's BIRD dropped d1 on its hold timer" '^.*d1: Error: Hold timer expired' "$(cat "$WORK/bird-r.log")"
# BIRD logs the local time of day (UTC here) with milliseconds: the expiry, exactly.
H=$(sed -n 's/^[0-9-]* \([0-9]*\):\([0-9]*\):\([0-9]*\)\.\([0-9]*\) .*d1: Error: Hold timer expired.*/\1 \2 \3 \4/p' \
	"$WORK/bird-r.log" | head -n 1 | awk -v t0="$T0" '{ h = (($1 * 60 + $2) * 60 + $3) * 1000 + $4
		print ((h - t0 % 86400000) % 86400000 + 86400000) % 86400000 }')
note "measured: r's BIRD: hold timer expired for d1 ${H:-?} ms after d1's link went down"
# Let every stalled connection retransmit on the new path (TCP backs off: up to ~6 s).
sleep 5
touch "$HM.stop"
wait "$HM_PID"
HM_RC=$?
summary=$(grep '^holdmany ' "$HM.out")
note "holdmany: $summary (exit $HM_RC)"
note "holdmany: the connections' longest gaps (ms), largest first: $(awk '$1 == "conn" && $6 == "max_gap_ms" { print $7 }' "$HM.out" | sort -rn | tr '\n' ' ')"
survived=$(printf '%s\n' "$summary" | awk '{ print $5 }')
gap=$(printf '%s\n' "$summary" | awk '{ print $7 }')
note "measured: $survived of 30 long-lived connections survived d1's death, max gap $gap ms"
if [ "$survived" == 30 ]; then
	ok "5. all 30 long-lived connections survived d1's death (max gap $gap ms)"
else
	not_ok "5. $survived of 30 long-lived connections survived d1's death" "$(grep -v ' lost 0$' "$HM.out")" "$(evidence)"
fi
wait "$SW_PID"
sw=$(cat "$WORK/switch.out")
note "new connections during the switch (lbnet client -t 300 --for 12):" "$sw"
note "measured: new connections during the switch: $(printf '%s\n' "$sw" | awk '$1 ~ /^b/ { n += $2 } END { print n + 0 }') ok, $(count fail "$sw") failed, longest outage $(count longest_outage_ms "$sw") ms"
out=$(client -t 2000 "$SVC" 30)
assert_eq "5. after the switch: 30 new connections, none fails" 0 "$(count fail "$out")"
survivors_alive() { dalive "${EZ_PID[d2]}" && dalive "${EZ_PID[d3]}"; }
assert_true "5. d2 and d3 ezlb still run" survivors_alive

# ======== 6. stop leaves the VIP, cleanup removes it ========
dstop "${EZ_PID[d3]}"
assert_eq "6. d3 ezlb: SIGTERM -> exit 0" 0 "$DRC"
assert_true "6. after ezlb stop the VIP stays on d3's ezlb0" vip_on d3
sleep 1
assert_eq "6. after ezlb stop r still has 2 nexthops" 2 "$(nexthops)"
EZ_AS=(ip netns exec d3) # read by ez (lib.sh)
ez cleanup -c "$CONF" --state-dir /run/ezlb-d3
# shellcheck disable=SC2034 # read by ez (lib.sh)
EZ_AS=()
assert_rc "6. ezlb cleanup in d3" 0
assert_true "6. ezlb cleanup removed the VIP from d3's ezlb0" vip_off d3
if wait_for 10000 nexthops_are 1; then ok "6. after cleanup r has 1 nexthop (d2)"
else not_ok "6. after cleanup r has $(nexthops) nexthops" "$(evidence)"; fi
out=$(client -t 2000 "$SVC" 10)
assert_eq "6. 10 new connections through d2 alone: none fails" 0 "$(count fail "$out")"
finish
