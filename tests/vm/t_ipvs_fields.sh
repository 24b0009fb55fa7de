#!/bin/bash
# The IPVS fields of issue 11, each created and then edited in place, with ipvsadm as the oracle:
# scheduler_flags (sh-port/sh-fallback, then mh-port/mh-fallback: `-b` in ipvsadm -Sn),
# one_packet on a udp service (`-o`), max_conns/min_conns (the destination's upper and lower
# thresholds: Debian's ipvsadm 1.31 does not print -x/-y in -Sn, so `ipvsadm -Ln --thresholds`
# is the oracle), tunnel type gue (port, remote checksum) and gre (checksum) on forward: tun
# (`--tun-type ...` in -Sn), and global.timeouts (ipvsadm -L --timeout), a key left out keeping
# the kernel's value. Each step: the dry run plans exactly the expected "~" lines and no add or
# delete, `once` reports them as edits (no failure: the kernel took the GUE and GRE
# destinations), the table reads back as the config, and a dry run then plans nothing at all.
# The services' connection counters, made by real traffic at the start, survive every step:
# nothing was re-created.
#
#   web  tcp 10.0.0.41:80  nat -> b1, b2 :8080    scheduler and its flags, thresholds
#   dns  udp 10.0.0.41:53  nat -> b1 :8080        one_packet
#   tun  tcp 10.0.0.42:80  tun -> b1, b2 :80      tunnel
# VIPs of their own: the kernel keeps the connection entries of earlier tests (UDP ones for 5
# minutes) after their services are gone, and a new service on the same address and port would
# inherit them.
. /tests/lib.sh
. /tests/lib_daemon.sh # wait_for
cd "$WORK" || exit 1
vm_net_setup 2 || not_ok "network setup"
vip_add 10.0.0.41 && vip_add 10.0.0.42 || not_ok "the VIPs"

# The config, from these variables (empty: the key is left out).
TMO=""                                           # global.timeouts (a flow mapping)
SCHED=sh FLAGS="[sh-port]"                       # web's scheduler and scheduler_flags
B1X="max_conns: 1000, min_conns: 800" B2X=""     # extra keys of web's backends
OPS=true                                         # dns's one_packet
TUN="{type: gue, port: 6080, checksum: remote}"  # tun's tunnel
write() {
	{
		[ -n "$TMO" ] && echo "global: {timeouts: $TMO}"
		echo "services:"
		echo "  - name: web"
		echo "    listen: 10.0.0.41:80"
		echo "    scheduler: $SCHED"
		[ -n "$FLAGS" ] && echo "    scheduler_flags: $FLAGS"
		echo "    backends:"
		echo "      - {address: 10.1.1.2:8080${B1X:+, $B1X}}"
		echo "      - {address: 10.1.2.2:8080${B2X:+, $B2X}}"
		echo "  - name: dns"
		echo "    listen: 10.0.0.41:53"
		echo "    protocol: udp"
		echo "    scheduler: rr"
		[ -n "$OPS" ] && echo "    one_packet: $OPS"
		echo "    backends:"
		echo "      - {address: 10.1.1.2:8080}"
		echo "  - name: tun"
		echo "    listen: 10.0.0.42:80"
		echo "    scheduler: rr"
		echo "    forward: tun"
		[ -n "$TUN" ] && echo "    tunnel: $TUN"
		echo "    backends:"
		echo "      - {address: 10.1.1.2:80}"
		echo "      - {address: 10.1.2.2:80}"
	} >"$WORK/f.yaml"
}

# expect BFLAGS OFLAG TUNOPTS: the table in ipvsadm -Sn form (BFLAGS: the -b list or empty;
# OFLAG: " -o" or empty; TUNOPTS: what follows "-i -w 1" on a tun destination).
expect() {
	printf '%s\n' "-A -t 10.0.0.41:80 -s $SCHED${1:+ -b $1}" \
		"-a -t 10.0.0.41:80 -r 10.1.1.2:8080 -m -w 1" \
		"-a -t 10.0.0.41:80 -r 10.1.2.2:8080 -m -w 1" \
		"-A -u 10.0.0.41:53 -s rr$2" \
		"-a -u 10.0.0.41:53 -r 10.1.1.2:8080 -m -w 1" \
		"-A -t 10.0.0.42:80 -s rr" \
		"-a -t 10.0.0.42:80 -r 10.1.1.2:80 -i -w 1 $3" \
		"-a -t 10.0.0.42:80 -r 10.1.2.2:80 -i -w 1 $3"
}

# thresholds RIP:PORT: "UPPER LOWER" of web's destination (ipvsadm -Ln --thresholds).
thresholds() {
	ipvsadm -Ln --thresholds -t 10.0.0.41:80 | awk -v r="$1" '$1 == "->" && $2 == r { print $3, $4 }'
}

# svc_conns_of -t|-u VIP:PORT: the service's connection counter (exact). The kernel (6.1) adds
# its per-CPU counts to what it reports every 2 s (the estimator), so a count is waited for:
# conns_reach WANT -t|-u VIP:PORT (for wait_for), conns_of_after WANT -t|-u VIP:PORT prints the
# counter once it is WANT or after 5 s.
svc_conns_of() { ipvsadm -Ln --stats --exact "$1" "$2" | awk '$1 == "TCP" || $1 == "UDP" { print $3 }'; }
conns_reach() { [ "$(svc_conns_of "$2" "$3")" == "$1" ]; }
conns_of_after() { wait_for 5000 conns_reach "$@"; svc_conns_of "$2" "$3"; }

# apply NAME EDITS [PLAN_LINE...]: f.yaml written again, its edits planned and applied
# (apply_edits in lib.sh), and nothing left to plan.
apply() {
	write
	apply_edits "$1" "$2" f.yaml "${@:3}"
	assert_plan_empty "$1" --no-health-check -c f.yaml
}

# ---- created ----
write
ez once --no-health-check -c f.yaml
assert_rc "create: once" 0
assert_match "create: 8 adds, none failed (the kernel took the GUE destinations)" \
	'^once: 8 changes \(8 added, 0 edited, 0 deleted\), 0 failed$' "$(last_line "$OUT")"
assert_no_match "create: no kernel settings changed (no timeouts in the config)" '^kernel settings' "$OUT"
expect sh-port " -o" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "create: table"
assert_eq "create: b1's thresholds (max_conns 1000, min_conns 800)" "1000 800" "$(thresholds 10.1.1.2:8080)"
assert_eq "create: b2 has no thresholds" "0 0" "$(thresholds 10.1.2.2:8080)"
assert_eq "create: the timeouts are the kernel's defaults" "900 120 300" "$(ipvs_timeouts)"
assert_plan_empty "create" --no-health-check -c f.yaml

# Real traffic through web (tcp) and dns (udp, one packet per connection): the counters that a
# re-created service would lose.
r=$(client -t 1000 10.0.0.41:80 10)
assert_eq "traffic through web (sh, sh-port): every connection answered" "fail 0" "$(printf '%s\n' "$r" | grep '^fail')"
assert_eq "traffic through web: 10 answers" 10 "$(printf '%s\n' "$r" | awk '$1 ~ /^b/ { n += $2 } END { print n + 0 }')"
# With one-packet scheduling each datagram is a connection of its own, scheduled and forgotten at
# once: the kernel counts it but keeps no entry, so the NAT reply finds none to be translated
# back with and never reaches the client (which is why the answers are not checked here).
r=$(client -u -t 300 -s 20000 10.0.0.41:53 6)
note "udp client through dns with one_packet: $(printf '%s ' $r)"
assert_eq "one_packet: the 6 datagrams were 6 connections" 6 "$(conns_of_after 6 -u 10.0.0.41:53)"
assert_eq "one_packet: no connection entry kept for them" "" "$(ipvsadm -Lnc | grep '^UDP .* 10\.0\.0\.41:53 ')"
web0=$(conns_of_after 10 -t 10.0.0.41:80)
dns0=$(svc_conns_of -u 10.0.0.41:53)
note "counters after the traffic: web $web0, dns $dns0"

# ---- scheduler_flags ----
FLAGS="[sh-port, sh-fallback]"
apply "sh-fallback added" 1 "~ service web tcp 10.0.0.41:80: flags sched2 -> sched1|sched2"
expect sh-fallback,sh-port " -o" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "sh-fallback added: table"

SCHED=mh FLAGS="[mh-port]"
apply "sh -> mh with mh-port" 1 "~ service web tcp 10.0.0.41:80: scheduler sh -> mh, flags sched1|sched2 -> sched2"
expect mh-port " -o" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "sh -> mh with mh-port: table"

FLAGS="[mh-port, mh-fallback]"
apply "mh-fallback added" 1 "~ service web tcp 10.0.0.41:80: flags sched2 -> sched1|sched2"
expect mh-fallback,mh-port " -o" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "mh-fallback added: table"

FLAGS=""
apply "scheduler_flags removed" 1 "~ service web tcp 10.0.0.41:80: flags sched1|sched2 -> none"
expect "" " -o" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "scheduler_flags removed: table"

# ---- one_packet ----
OPS=false
apply "one_packet off" 1 "~ service dns udp 10.0.0.41:53: flags one-packet -> none"
expect "" "" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "one_packet off: table"
# Without it, the datagrams of one client port are one connection, with an entry that carries
# the answers back: 3 exchanges from 3 ports are answered, and their 3 entries stay.
r=$(client -u -t 1000 -s 21000 10.0.0.41:53 3)
assert_eq "one_packet off: traffic through dns answered by b1" "$(printf 'b1 3\nfail 0')" "$r"
assert_eq "one_packet off: 3 connection entries kept" 3 "$(ipvsadm -Lnc | grep -c '^UDP .* 10\.0\.0\.41:53 ')"
dns0=$((dns0 + 3))
OPS=true
apply "one_packet on" 1 "~ service dns udp 10.0.0.41:53: flags none -> one-packet"
expect "" " -o" "--tun-type gue --tun-port 6080 --tun-remcsum" | assert_table "one_packet on: table"

# ---- max_conns / min_conns ----
B1X="max_conns: 500, min_conns: 100" B2X="max_conns: 50"
apply "thresholds" 2 "~ dest web tcp 10.0.0.41:80 -> 10.1.1.2:8080: u-thresh 1000 -> 500, l-thresh 800 -> 100" \
	"~ dest web tcp 10.0.0.41:80 -> 10.1.2.2:8080: u-thresh 0 -> 50"
assert_eq "thresholds: b1's read back" "500 100" "$(thresholds 10.1.1.2:8080)"
assert_eq "thresholds: b2's read back" "50 0" "$(thresholds 10.1.2.2:8080)"
B1X="" B2X=""
apply "thresholds removed" 2 "~ dest web tcp 10.0.0.41:80 -> 10.1.2.2:8080: u-thresh 50 -> 0"
assert_eq "thresholds removed: b1's read back" "0 0" "$(thresholds 10.1.1.2:8080)"
assert_eq "thresholds removed: b2's read back" "0 0" "$(thresholds 10.1.2.2:8080)"

# ---- tunnel ----
TUN="{type: gre, checksum: csum}"
apply "tunnel gue -> gre" 2 \
	"~ dest tun tcp 10.0.0.42:80 -> 10.1.1.2:80: tunnel gue port 6080 checksum remote -> gre checksum csum" \
	"~ dest tun tcp 10.0.0.42:80 -> 10.1.2.2:80: tunnel gue port 6080 checksum remote -> gre checksum csum"
expect "" " -o" "--tun-type gre --tun-csum" | assert_table "tunnel gue -> gre: table"

TUN="{type: gue, port: 6081}"
apply "tunnel gre -> gue, no checksum" 2 \
	"~ dest tun tcp 10.0.0.42:80 -> 10.1.1.2:80: tunnel gre checksum csum -> gue port 6081"
expect "" " -o" "--tun-type gue --tun-port 6081 --tun-nocsum" | assert_table "tunnel gre -> gue, no checksum: table"

TUN=""
apply "tunnel removed (ipip)" 2 "~ dest tun tcp 10.0.0.42:80 -> 10.1.2.2:80: tunnel gue port 6081 -> ipip"
expect "" " -o" "--tun-type ipip" | assert_table "tunnel removed (ipip): table"

# ---- global.timeouts ----
# tstep NAME PLAN_LINE: the dry run plans exactly PLAN_LINE and no table change; once changes
# the kernel settings once and the table not at all; a dry run then plans nothing.
tstep() {
	write
	ez once --dry-run --no-health-check -c f.yaml
	assert_rc "$1: dry-run" 0
	assert_eq "$1: dry-run plans the timeouts only" "$(printf '%s\nplan: no changes' "$2")" "$OUT"
	ez once --no-health-check -c f.yaml
	assert_rc "$1: once" 0
	assert_eq "$1: once changes the kernel settings, not the table" \
		"$(printf 'kernel settings: 1 changes\nonce: no changes')" "$OUT"
	assert_plan_empty "$1" --no-health-check -c f.yaml
}
TMO="{tcp: 600s, tcp_fin: 60s, udp: 30s}"
tstep "timeouts set" "~ timeouts: tcp 900s -> 600s, tcp_fin 120s -> 60s, udp 300s -> 30s"
assert_eq "timeouts set: read back" "600 60 30" "$(ipvs_timeouts)"

TMO="{tcp: 20m, udp: 45s}"
tstep "timeouts changed, tcp_fin left out" "~ timeouts: tcp 600s -> 1200s, udp 30s -> 45s"
assert_eq "timeouts changed: read back (tcp_fin kept)" "1200 60 45" "$(ipvs_timeouts)"

TMO="{tcp: 1200s}"
write
assert_plan_empty "timeouts: one key, as the kernel has it" --no-health-check -c f.yaml

TMO=""
write
ez once --no-health-check -c f.yaml
assert_eq "timeouts removed from the config: nothing changed" "once: no changes" "$OUT"
assert_eq "timeouts removed from the config: the kernel's are left alone" "1200 60 45" "$(ipvs_timeouts)"

# ---- in place throughout ----
assert_eq "web was never re-created (its connection counter kept $web0)" "$web0" "$(conns_of_after "$web0" -t 10.0.0.41:80)"
assert_eq "dns was never re-created (its connection counter kept $dns0)" "$dns0" "$(conns_of_after "$dns0" -u 10.0.0.41:53)"
assert_true "the counters were not 0 to begin with" test "${web0:-0}" -gt 0 -a "${dns0:-0}" -gt 0
finish
