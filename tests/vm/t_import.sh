#!/bin/bash
# keepalived is the oracle of `ezlb import-keepalived`: for each configuration under
# /tests/import (tests/import/fixtures/vm: keepalived's own samples, adapted where a check could
# not pass in the VM, and ezlb's own covering DR, TUN, fwmark, persistence with granularity,
# weights, thresholds, scheduler flags, one-packet, sorry servers, IPv6 and includes),
# keepalived (Debian's, checker process only) builds its IPVS table in namespace kv, ezlb imports
# the same file and `ezlb once` builds its table in namespace ez, and `ipvsadm -Sn` of the two
# must be the same set of lines. Both namespaces carry the real servers' addresses and answer on
# their ports (lbnet), so keepalived's checks and ezlb's pass.
#
# One difference is known and normalised: keepalived gives the kernel port 0 for a DR or TUN
# real server of a fwmark service (IPVS does not use it); ezlb cannot write port 0 and writes the
# real server's port (the import warns). Those destinations are compared with port 0.
. /tests/lib.sh
cd "$WORK" || exit 1
FIX=/tests/import

if ! command -v keepalived >/dev/null || [ ! -d "$FIX" ]; then
	not_ok "keepalived and the configurations in the VM image" \
		"tests/vm/mkinitramfs.sh must install /usr/sbin/keepalived and copy tests/import/fixtures/vm to /tests/import"
	finish
fi
modprobe ip_vs || not_ok "modprobe ip_vs"

RS4="10.1.1.2 10.1.1.3 192.168.200.2 192.168.200.6 192.168.201.100 192.168.201.101"
for i in $(seq 1 10); do RS4="$RS4 10.0.0.$i"; done # the quorum sample's real servers
RS6="fd01:1::2 fd01:2::2 ae00::10"
PORTS="25 53 80 443 1358 8080"

# ns_up NS: a namespace with the real servers' addresses on lo and TCP and UDP servers on their
# ports.
ns_up() {
	local ns=$1 a p u pid
	ip netns add "$ns" && nsrun "$ns" ip link set lo up || return 1
	for a in $RS4; do nsrun "$ns" ip addr add "$a/32" dev lo || return 1; done
	for a in $RS6; do nsrun "$ns" ip -6 addr add "$a/128" dev lo nodad || return 1; done
	for p in $PORTS; do
		for u in "" -u; do
			# shellcheck disable=SC2086 # $u is empty or one flag
			pid=$(nsrun "$ns" lbnet serve $u -d "[::]:$p" "$ns$p") || return 1
			track_pid "$pid"
		done
	done
}
ns_up kv && ns_up ez || not_ok "namespaces kv and ez with the real servers"

# ipvs NS: the namespace's table as ipvsadm -Sn prints it, sorted; fwmark DR/TUN destinations
# with port 0 (see the top).
ipvs() {
	nsrun "$1" ipvsadm -Sn | sed -E '/^$/d; /^-a -f .* -[gi]( |$)/s/^(-a -f [0-9]+ -r .*):[0-9]+ /\1:0 /' |
		LC_ALL=C sort
}

KA=""
ka_start() {
	rm -f "$WORK/ka.pid" "$WORK/kac.pid"
	ip netns exec kv keepalived -n -l -D -G -C -f "$1" -p "$WORK/ka.pid" -c "$WORK/kac.pid" \
		>"$WORK/ka-$2.log" 2>&1 &
	KA=$!
	track_pid "$KA"
}

ka_stop() {
	local child pid
	child=$(cat "$WORK/kac.pid" 2>/dev/null)
	kill "$KA" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$KA" 2>/dev/null || break
		sleep 0.1
	done
	for pid in $KA $child; do kill -KILL "$pid" 2>/dev/null; done
	wait "$KA" 2>/dev/null
	nsrun kv ipvsadm -C
	nsrun ez ipvsadm -C
}

# compare NAME FILE SERVICES DESTS [ONCE_FLAGS...]: keepalived's table and ezlb's for FILE, which
# has SERVICES virtual services and DESTS destinations once every check passed (so that two
# empty tables, or two where every check failed, do not pass for equal).
compare() {
	local name=$1 conf=$FIX/$2 services=$3 dests=$4 want got start=$SECONDS
	shift 4
	ka_start "$conf" "$name"
	ez import-keepalived "$conf"
	assert_rc "$name: import" 0
	printf '%s\n' "$OUT" >"$WORK/$name.yaml"
	ez check -c "$WORK/$name.yaml"
	assert_rc "$name: ezlb check of the import" 0
	mkdir -p -m 0700 "$WORK/state-$name"
	EZ_AS=(ip netns exec ez)
	ez once -c "$WORK/$name.yaml" --state-dir "$WORK/state-$name" "$@"
	EZ_AS=()
	assert_rc "$name: ezlb once" 0
	got=$(ipvs ez)
	assert_eq "$name: ezlb's table has the $services services" "$services" "$(printf '%s\n' "$got" | grep -c '^-A ')"
	assert_eq "$name: ezlb's table has the $dests destinations" "$dests" "$(printf '%s\n' "$got" | grep -c '^-a ')"
	# keepalived adds real servers as its checks pass (alpha) or at once: wait until it settles
	for _ in $(seq 1 75); do
		want=$(ipvs kv)
		[ "$want" == "$got" ] && break
		sleep 0.2
	done
	assert_eq "$name: keepalived's table (expected) and ezlb's (actual)" "$want" "$got"
	kill -0 "$KA" 2>/dev/null || not_ok "$name: keepalived still runs" "$(tail -n 20 "$WORK/ka-$name.log")"
	[ "$want" == "$got" ] || note "keepalived's log:" "$(tail -n 30 "$WORK/ka-$name.log")"
	ka_stop
	note "$name: $((SECONDS - start)) s, the table:" "$got"
}

compare sample sample.conf 1 1
compare fwmark fwmark.conf 1 2
compare quorum quorum.conf 1 10
compare misc_check_arg misc_check_arg.conf 1 1
compare udp_check udp_check.conf 1 1
compare ipv6 ipv6.conf 1 1
compare features features.conf 9 15
compare include include.conf 2 3
# the same once more without ezlb's checks: the table does not depend on them passing
compare features-nocheck features.conf 9 15 --no-health-check

finish
