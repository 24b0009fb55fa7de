#!/bin/bash
# ezlb export: the kernel's IPVS table as ezlb YAML, with ipvsadm as the oracle.
# (a) Default export (no --all): after `ezlb once` of a small config (an address service and a
#     fwmark one) beside services made by hand, only the two owned services are written; a dry run
#     of the file plans nothing. With a state directory that does not exist: no service, exit 0,
#     and the directory is not created.
# (b) The round trip on a random table built with ipvsadm -R (the seed is printed; set SEED below
#     to rebuild a table): a few dozen services, tcp/udp/sctp, IPv4/IPv6, some fwmark (both
#     families), every scheduler the VM kernel has, sh/mh flags, one-packet, persistence with
#     netmasks, nat/dr/tun (ipip, gue with each checksum, gre) with IPv6 destinations behind IPv4
#     VIPs, weights 0..65535, thresholds, random connection timeouts; plus four services ezlb
#     cannot express (mixed forwarding methods, scheduler flag 3, port 0, min_conns == max_conns).
#     `ezlb export --all` exits 0 and warns about exactly those four; `ezlb check` accepts the
#     file with the expected counts; `ezlb once --dry-run --no-health-check` plans nothing;
#     `ezlb once` with it changes nothing (ipvsadm -Sn, the thresholds and the timeouts are the
#     same before and after).
# (c) The sync daemons (master and backup, one interface and id) and the timeouts: exported as
#     global.sync role both; a dry run plans nothing, `once` leaves the daemons as they were.
. /tests/lib.sh
cd "$WORK" || exit 1

SEED=${SEED:-$(((RANDOM << 15) | RANDOM))}
note "seed $SEED (SEED=$SEED at the top of tests/vm/t_export.sh rebuilds this table)"
RANDOM=$SEED

# pick WORD...: one of the words, at random.
pick() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }

# ---- (a) the default export: only what ezlb owns ----

ipvsadm -A -t 10.70.0.1:80 -s rr && ipvsadm -a -t 10.70.0.1:80 -r 10.71.0.1:80 -m ||
	not_ok "(a) a service made by hand"
SD=$WORK/sd
small=$(conf small <<'EOF_'
services:
  - name: web
    listen: 10.70.0.2:80
    scheduler: wrr
    health_check: {enabled: false}
    backends:
      - {address: 10.71.0.2:8080, weight: 3}
  - name: marked
    fwmark: 7
    family: ipv6
    scheduler: sh
    scheduler_flags: [sh-port]
    health_check: {enabled: false}
    backends:
      - {address: "[fd71::2]:8080"}
EOF_
)
ez once --no-health-check -c "$small" --state-dir "$SD"
assert_rc "(a) once of the small config" 0
ez export --state-dir "$SD"
assert_rc "(a) export" 0
printf '%s\n' "$OUT" >owned.yaml
assert_eq "(a) export writes exactly the owned services" \
	"$(printf '%s\n' "  - name: tcp-10.70.0.2-80" "  - name: fwmark-7-ipv6")" \
	"$(grep '^  - name: ' owned.yaml)"
assert_match "(a) the header counts the one left out" \
	"^# Services: the ones ezlb owns .*; 1 other in" "$OUT"
assert_match "(a) web's backend" '^      - \{address: 10\.71\.0\.2:8080, weight: 3\}$' "$OUT"
assert_plan_empty "(a) owned export" --no-health-check -c owned.yaml --state-dir "$SD"
ez export --state-dir "$WORK/none"
assert_rc "(a) export with no state directory" 0
assert_match "(a) no state directory: no service" '^services: \[\]$' "$OUT"
assert_match "(a) no state directory: said on stderr" "no state directory $WORK/none" "$ERR"
assert_true "(a) the state directory was not created" test ! -e "$WORK/none"
ipvsadm -C

# ---- (b) the round trip of a random table ----

SCHEDS=(rr wrr lc wlc lblc lblcr dh sh sed nq fo mh) # the VM kernel's (no ovf, no twos)
N=48
good=0 dests=0
: >rules

# svc_opts SCHED PROTO FAMILY: ipvsadm options after -s (flags, one-packet, persistence).
svc_opts() {
	local o="" f
	case $1 in
	sh | mh)
		f=$(pick "" "$1-fallback" "$1-port" "$1-fallback,$1-port")
		[ -n "$f" ] && o="$o -b $f"
		;;
	esac
	[ "$2" = udp ] && [ $((RANDOM % 2)) = 0 ] && o="$o -o"
	if [ $((RANDOM % 2)) = 0 ]; then
		o="$o -p $((1 + RANDOM % 86400))"
		if [ $((RANDOM % 2)) = 0 ]; then
			if [ "$3" = 6 ]; then
				o="$o -M $((64 + RANDOM % 65))"
			else
				o="$o -M $(pick 255.255.255.255 255.255.255.0 255.255.0.0 255.0.0.0 255.255.255.128 128.0.0.0)"
			fi
		fi
	fi
	echo "$o"
}

# tun_opts: a random encapsulation (one per service: ezlb has one tunnel per service).
tun_opts() {
	case $((RANDOM % 4)) in
	0) echo "--tun-type ipip" ;;
	1) echo "--tun-type gue --tun-port $((1 + RANDOM % 65535))" \
		"$(pick --tun-nocsum --tun-csum --tun-remcsum)" ;;
	2) echo "--tun-type gre $(pick --tun-nocsum --tun-csum)" ;;
	3) echo "" ;; # ipvsadm's default: ipip
	esac
}

# gen_service I: one random service ezlb can express, and its destinations, into rules.
gen_service() {
	local i=$1 fam proto sel port vip sched fwd tun n j rip rport w thr
	fam=$(pick 4 4 6)
	sched=$(pick "${SCHEDS[@]}")
	if [ $((RANDOM % 6)) = 0 ]; then
		proto=fwmark
		sel="-f $((1000 + i))"
		[ "$fam" = 6 ] && sel="$sel -6"
	else
		proto=$(pick tcp udp sctp)
		port=$((1 + RANDOM % 65535))
		if [ "$fam" = 6 ]; then vip="[fd50::$i]:$port"; else vip="10.50.$i.1:$port"; fi
		case $proto in tcp) sel="-t $vip" ;; udp) sel="-u $vip" ;; sctp) sel="--sctp-service $vip" ;; esac
	fi
	echo "-A $sel -s $sched $(svc_opts "$sched" "$proto" "$fam")" >>rules
	fwd=$(pick -m -g -i)
	tun=""
	[ "$fwd" = -i ] && tun=$(tun_opts)
	n=$((RANDOM % 6))
	for j in $(seq 1 "$n"); do
		rport=$port
		# a fwmark service has no port: any; nat may change the port; dr and tun cannot
		[ "$proto" = fwmark ] || [ "$fwd" = -m ] && rport=$((1 + RANDOM % 65535))
		if [ "$fam" = 6 ] || { [ "$fwd" = -i ] && [ $((RANDOM % 3)) = 0 ]; }; then
			rip="[fd51:$i::$j]:$rport"
		else
			rip="10.51.$i.$j:$rport"
		fi
		w=$(pick 0 1 $((RANDOM % 100)) $((RANDOM * 2 % 65536)) 65535)
		case $((RANDOM % 4)) in
		0) thr="-x $((1 + RANDOM)) " ;;
		1) thr="-x $((1000 + RANDOM)) -y $((RANDOM % 1000))" ;;
		*) thr="" ;;
		esac
		echo "-a $sel -r $rip $fwd -w $w $thr $tun" >>rules
		dests=$((dests + 1))
	done
	good=$((good + 1))
}

for i in $(seq 1 "$N"); do gen_service "$i"; done
# What ezlb cannot express: left out with a warning, untouched by once.
cat >>rules <<'EOF_'
-A -t 10.60.0.1:80 -s wrr
-a -t 10.60.0.1:80 -r 10.61.0.1:80 -m -w 1
-a -t 10.60.0.1:80 -r 10.61.0.2:80 -g -w 1
-A -u 10.60.0.2:53 -s sh -b flag-3
-A -t 10.60.0.3:0 -s rr -p 300
-A -t 10.60.0.4:80 -s rr
-a -t 10.60.0.4:80 -r 10.61.0.4:80 -m -w 1 -x 5 -y 5
EOF_
if ipvsadm -R <rules; then
	ok "(b) ipvsadm -R built the table ($good services, $dests destinations, 4 inexpressible)"
else
	not_ok "(b) ipvsadm -R built the table" "$(cat rules)"
fi
ipvsadm --set $((1 + RANDOM % 86400)) $((1 + RANDOM % 600)) $((1 + RANDOM % 3600)) ||
	not_ok "(b) ipvsadm --set"
note "the table:" "$(ipvsadm -Sn)"

snapshot before.sn
ipvsadm -Ln --thresholds >before.thr
timeouts_before=$(ipvs_timeouts)

"$EZLB" export --all >f.yaml 2>export.err
RC=$?
note "\$ ezlb export --all -> exit $RC" "$(head -n 30 f.yaml | sed 's/^/  out: /')" \
	"$(sed 's/^/  err: /' export.err)"
assert_rc "(b) export --all" 0
assert_eq "(b) export warns about the four services ezlb cannot express" \
	"$(printf '%s\n' "tcp 10.60.0.1:80" "tcp 10.60.0.3:0" "tcp 10.60.0.4:80" "udp 10.60.0.2:53")" \
	"$(sed -n 's/^ezlb: export: warning: \(.*\) left out: .*/\1/p' export.err | LC_ALL=C sort)"
assert_match "(b) mixed forwarding methods: why" \
	'tcp 10\.60\.0\.1:80 left out: destinations forward with different methods' "$(cat export.err)"
assert_eq "(b) each is a LEFT OUT comment in the file" 4 "$(grep -c '^  # LEFT OUT: ' f.yaml)"
ez check -c f.yaml
assert_rc "(b) ezlb check accepts the file" 0
assert_eq "(b) check counts every other service and destination" \
	"configuration OK: $good services, $dests backends" "$OUT"
assert_plan_empty "(b) round trip" --no-health-check -c f.yaml
ez once --no-health-check -c f.yaml
assert_rc "(b) once with the exported file" 0
assert_unchanged "(b) once changed nothing (ipvsadm -Sn)" before.sn
assert_eq "(b) once changed no threshold" "$(cat before.thr)" "$(ipvsadm -Ln --thresholds)"
assert_eq "(b) once changed no timeout" "$timeouts_before" "$(ipvs_timeouts)"
ez export --all
assert_eq "(b) a second export (ezlb now owns the services) is the same but for its first line" \
	"$(tail -n +2 f.yaml)" "$(printf '%s\n' "$OUT" | tail -n +2)"

# ---- (c) the sync daemons and timeouts ----

ipvsadm -C
ip link add vtexp type veth peer name vtexp1 && ip link set vtexp up && ip link set vtexp1 up ||
	not_ok "(c) the sync interface vtexp"
id=$((RANDOM % 256))
ipvsadm --start-daemon master --mcast-interface vtexp --syncid "$id" &&
	ipvsadm --start-daemon backup --mcast-interface vtexp --syncid "$id" || not_ok "(c) the daemons"
ipvsadm --set 600 60 120
ipvsadm -A -t 10.80.0.1:80 -s rr && ipvsadm -a -t 10.80.0.1:80 -r 10.81.0.1:8080 -m ||
	not_ok "(c) a service"
daemons_before=$(ipvs_daemons)
note "daemons:" "$daemons_before"
ez export --all
assert_rc "(c) export --all" 0
printf '%s\n' "$OUT" >s.yaml
assert_eq "(c) global.sync and global.timeouts" \
	"$(printf '%s\n' "  timeouts:" "    tcp: 10m" "    tcp_fin: 1m" "    udp: 2m" "  sync:" \
		"    interface: vtexp" "    id: $id" "    role: both")" \
	"$(sed -n '/^  timeouts:/,/^    role:/p' s.yaml)"
# a state directory of its own: (b)'s once owns services that ipvsadm -C removed
assert_plan_empty "(c) round trip" --no-health-check -c s.yaml --state-dir "$WORK/sd3"
ez once --no-health-check -c s.yaml --state-dir "$WORK/sd3"
assert_rc "(c) once" 0
assert_eq "(c) once left the daemons as they were" "$daemons_before" "$(ipvs_daemons)"
ipvsadm --stop-daemon master
ipvsadm --stop-daemon backup
finish
