#!/bin/bash
# /metrics on a real daemon (global.metrics), scraped with bash's /dev/tcp (the image has no
# curl): after real traffic through a tcp VIP and an IPv6 udp VIP, with one backend down,
# ezlb_backend_up follows health, the kernel-side counters equal what `ipvsadm --stats --exact`
# shows at the same moment (traffic stopped first), a backend not in the kernel has no weight
# series, the process_* numbers are sane, and promtool (copied into the image) accepts the page.
# Other paths get 404, other methods 405 with Allow. Clients that send half a request and stall
# do not hold up scrapes, nor health probes: a backend killed meanwhile leaves the table as fast
# as without them, and no probe starts a second late.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"
backend_add 4 # b4: nothing listens (connections refused): down

MPORT=9521
{
	cat <<EOF_
global:
  metrics: {listen: 127.0.0.1:$MPORT}
EOF_
	web3_services
	cat <<'EOF_'
      - {address: 10.1.4.2:8080}
  - name: dns6
    listen: "[fd00::1]:53"
    protocol: udp
    scheduler: rr
    health_check: {enabled: false}
    backends:
      - {address: "[fd01:1::2]:8080"}
      - {address: "[fd01:2::2]:8080"}
EOF_
} >"$WORK/ezlb.yaml"

# ---- helpers ----

# http REQUEST_LINE: one HTTP/1.0 request (the server closes after its answer) to the metrics
# listener; the response, headers and body, CRs removed. At most 10 s.
http() {
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "%s\r\n\r\n" "$2" >&3
		cat <&3' _ "$MPORT" "$1" | tr -d '\r'
}

# scrape FILE: GET /metrics; the body goes to FILE, the status line and headers to FILE.head.
# SCRAPE_MS: how long it took.
scrape() {
	local t0 raw
	t0=$(now_ms)
	raw=$(http "GET /metrics HTTP/1.0")
	SCRAPE_MS=$(($(now_ms) - t0))
	printf '%s\n' "$raw" | sed '/^$/q' >"$1.head"
	printf '%s\n' "$raw" | sed '1,/^$/d' >"$1"
}

# mval FILE SERIES: the value of the sample SERIES (name and labels exactly as exposed), or
# "absent".
mval() { awk -v k="$2" 'index($0, k " ") == 1 { print $2; f = 1 } END { if (!f) print "absent" }' "$1"; }

# kstats PROTO VIP:PORT ADDR: "CONNS INPKTS OUTPKTS INBYTES OUTBYTES" of destination ADDR of the
# service, or of the service itself when ADDR is VIP:PORT (ipvsadm, exact counters).
kstats() {
	ipvsadm -Ln --stats --exact "-$1" "$2" |
		awk -v a="$3" '($1 == "->" || $1 == "TCP" || $1 == "UDP") && $2 == a { print $3, $4, $5, $6, $7 }'
}

# estats FILE PREFIX LABELS: the same five numbers from the page (PREFIX ezlb_backend or
# ezlb_service).
estats() {
	local f=$1 p=$2 l=$3
	echo "$(mval "$f" "${p}_connections_total{$l}")" \
		"$(mval "$f" "${p}_packets_total{$l,direction=\"in\"}")" \
		"$(mval "$f" "${p}_packets_total{$l,direction=\"out\"}")" \
		"$(mval "$f" "${p}_bytes_total{$l,direction=\"in\"}")" \
		"$(mval "$f" "${p}_bytes_total{$l,direction=\"out\"}")"
}

# kconns VIP:PORT ADDR: "ACTIVE INACTIVE" of a tcp destination (ipvsadm).
kconns() { dest_stats "$1" "$2" | cut -d' ' -f2,3; }

# late FILE: probes that started a second or more after their due time.
late() {
	echo $(($(mval "$1" 'ezlb_probe_lateness_seconds_count') -
		$(mval "$1" 'ezlb_probe_lateness_seconds_bucket{le="1"}')))
}

web() { printf 'service="web",backend="%s"' "$1"; }

# ---- start, one backend down ----

LOG=$WORK/ezlb.log
t_start=$(date +%s)
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
dready "start" "$D" "$LOG" || finish
wait_for 10000 no_dest 10.0.0.1:80 10.1.4.2:8080 || not_ok "b4 (refusing) still in the table"
assert_match "the daemon logs the listener" "metrics: serving http://127.0.0.1:$MPORT/metrics" "$(cat "$LOG")"

# ---- traffic, stopped, then one scrape and ipvsadm at the same moment ----

r=$(client -t 2000 10.0.0.1:80 300)
note "300 tcp connections: $(printf '%s ' $r)"
assert_eq "no tcp connection failed" 0 "$(count fail "$r")"
r=$(client -u -s 20000 -t 1000 "[fd00::1]:53" 40)
note "40 udp exchanges over IPv6: $(printf '%s ' $r)"
assert_eq "no udp exchange failed" 0 "$(count fail "$r")"
# The kernel folds its per-CPU counters into the ones a dump shows every 2 s (the rate
# estimator's timer, kernel 6.1): after 3 s, both reads below see every packet.
sleep 3

declare -A conns_before
for b in 1 2 3; do conns_before[$b]=$(kconns 10.0.0.1:80 10.1.$b.2:8080); done
scrape "$WORK/m1"
assert_match "GET /metrics: 200" '^HTTP/1\.[01] 200 ' "$(head -n 1 "$WORK/m1.head")"
assert_match "Content-Type of the text format 0.0.4" \
	'^Content-Type: text/plain; version=0\.0\.4; charset=utf-8$' "$(cat "$WORK/m1.head")"
note "scrape: $(wc -c <"$WORK/m1") bytes in ${SCRAPE_MS} ms"

mismatch=()
for b in 1 2 3; do
	want=$(kstats t 10.0.0.1:80 10.1.$b.2:8080)
	got=$(estats "$WORK/m1" ezlb_backend "$(web 10.1.$b.2:8080)")
	[ "$want" == "$got" ] || mismatch+=("b$b: ipvsadm '$want', /metrics '$got'")
done
want=$(kstats t 10.0.0.1:80 10.0.0.1:80)
got=$(estats "$WORK/m1" ezlb_service 'service="web"')
[ "$want" == "$got" ] || mismatch+=("web: ipvsadm '$want', /metrics '$got'")
for b in 1 2; do
	want=$(kstats u "[fd00::1]:53" "[fd01:$b::2]:8080")
	got=$(estats "$WORK/m1" ezlb_backend "service=\"dns6\",backend=\"[fd01:$b::2]:8080\"")
	[ "$want" == "$got" ] || mismatch+=("dns6 b$b: ipvsadm '$want', /metrics '$got'")
done
want=$(kstats u "[fd00::1]:53" "[fd00::1]:53")
got=$(estats "$WORK/m1" ezlb_service 'service="dns6"')
[ "$want" == "$got" ] || mismatch+=("dns6: ipvsadm '$want', /metrics '$got'")
if [ ${#mismatch[@]} -eq 0 ]; then
	ok "connections, packets and bytes of 5 destinations and 2 services equal ipvsadm's exact counters"
else
	not_ok "counters differ from ipvsadm --stats --exact" "${mismatch[@]}"
fi
# 300 connections, less a few whose client port repeated while IPVS still held its entry
conns=$(mval "$WORK/m1" 'ezlb_service_connections_total{service="web"}')
assert_true "the counters count the traffic: $conns of 300 tcp connections" [ "$conns" -ge 250 ]
conns=$(mval "$WORK/m1" 'ezlb_service_connections_total{service="dns6"}')
assert_true "... and $conns of 40 udp exchanges (distinct source ports)" [ "$conns" -eq 40 ]

# Connection counts move only as entries expire: between what ipvsadm showed before and after.
bad=()
for b in 1 2 3; do
	after=$(kconns 10.0.0.1:80 10.1.$b.2:8080)
	read -r a0 i0 <<<"${conns_before[$b]}"
	read -r a1 i1 <<<"$after"
	ga=$(mval "$WORK/m1" "ezlb_backend_connections_active{$(web 10.1.$b.2:8080)}")
	gi=$(mval "$WORK/m1" "ezlb_backend_connections_inactive{$(web 10.1.$b.2:8080)}")
	lo=$((i0 < i1 ? i0 : i1)) hi=$((i0 > i1 ? i0 : i1))
	{ [ "$ga" == "$a0" ] && [ "$ga" == "$a1" ] && [ "$gi" -ge "$lo" ] && [ "$gi" -le "$hi" ]; } ||
		bad+=("b$b: /metrics $ga/$gi, ipvsadm before $a0/$i0, after $a1/$i1")
done
if [ ${#bad[@]} -eq 0 ]; then ok "active and inactive connections as ipvsadm shows them"; else not_ok "connection counts differ" "${bad[@]}"; fi

ups=""
for b in 1 2 3 4; do ups="$ups $(mval "$WORK/m1" "ezlb_backend_up{$(web 10.1.$b.2:8080)}")"; done
assert_eq "ezlb_backend_up follows health (b4 refuses connections)" " 1 1 1 0" "$ups"
assert_eq "ezlb_service_backends up/down" "3 1" \
	"$(mval "$WORK/m1" 'ezlb_service_backends{service="web",state="up"}') $(mval "$WORK/m1" 'ezlb_service_backends{service="web",state="down"}')"
assert_eq "no weight series for b4, which is not in the kernel" "absent" \
	"$(mval "$WORK/m1" "ezlb_backend_weight{$(web 10.1.4.2:8080)}")"
assert_eq "the weight of b1 in the kernel" 1 "$(mval "$WORK/m1" "ezlb_backend_weight{$(web 10.1.1.2:8080)}")"
assert_eq "an unchecked IPv6 backend counts as up" 1 \
	"$(mval "$WORK/m1" 'ezlb_backend_up{service="dns6",backend="[fd01:1::2]:8080"}')"
assert_true "tcp probes that failed are counted (b4)" \
	[ "$(mval "$WORK/m1" 'ezlb_probes_total{type="tcp",result="failed"}')" -ge 2 ]
assert_true "tcp probes that succeeded are counted" \
	[ "$(mval "$WORK/m1" 'ezlb_probes_total{type="tcp",result="ok"}')" -ge 3 ]

start=$(mval "$WORK/m1" process_start_time_seconds)
now=$(date +%s)
assert_true "process_start_time_seconds $start is the daemon's start ($t_start..$now)" \
	awk -v s="$start" -v a="$t_start" -v b="$now" 'BEGIN { exit !(s >= a - 2 && s <= b) }'
assert_eq "the config in force: ezlb_config_last_reload_successful" 1 \
	"$(mval "$WORK/m1" ezlb_config_last_reload_successful)"
loaded=$(mval "$WORK/m1" ezlb_config_last_reload_success_timestamp_seconds)
assert_true "ezlb_config_last_reload_success_timestamp_seconds $loaded is the start ($t_start..$now)" \
	awk -v s="$loaded" -v a="$t_start" -v b="$now" 'BEGIN { exit !(s >= a - 2 && s <= b) }'
assert_true "process_open_fds and process_resident_memory_bytes are plausible" \
	awk -v f="$(mval "$WORK/m1" process_open_fds)" -v r="$(mval "$WORK/m1" process_resident_memory_bytes)" \
	'BEGIN { exit !(f >= 5 && f < 1000 && r > 1000000) }'
assert_eq "process_max_fds is the daemon's soft limit" \
	"$(awk '/^Max open files/ { print $4 }' "/proc/$D/limits")" "$(mval "$WORK/m1" process_max_fds)"

if command -v promtool >/dev/null; then
	if out=$(promtool check metrics <"$WORK/m1" 2>&1); then
		ok "promtool check metrics accepts the page"
	else
		not_ok "promtool check metrics rejects the page" "$out"
	fi
else
	not_ok "promtool is not in the image (deploy/deps.sh test installs prometheus)"
fi

# ---- other paths and methods ----

r=$(http "GET /nope HTTP/1.0")
assert_match "GET /nope: 404" '^HTTP/1\.[01] 404 ' "$(head -n 1 <<<"$r")"
r=$(http "POST /metrics HTTP/1.0")
assert_match "POST /metrics: 405" '^HTTP/1\.[01] 405 ' "$(head -n 1 <<<"$r")"
assert_match "405 with Allow: GET, HEAD" '^Allow: GET, HEAD$' "$r"
r=$(http "HEAD /metrics HTTP/1.0")
assert_match "HEAD /metrics: 200" '^HTTP/1\.[01] 200 ' "$(head -n 1 <<<"$r")"
assert_eq "HEAD: no body" "" "$(sed '1,/^$/d' <<<"$r")"

# ---- stalled clients hold up neither scrapes nor probes ----

scrape "$WORK/m2"
late0=$(late "$WORK/m2")
for fd in 5 6 7 8; do
	if ! eval "exec $fd<>/dev/tcp/127.0.0.1/$MPORT" || ! printf 'GET /met' >&$fd; then
		not_ok "stalled client on fd $fd could not connect"
	fi
done
scrape "$WORK/m3"
assert_match "a scrape while 4 clients stall: 200" '^HTTP/1\.[01] 200 ' "$(head -n 1 "$WORK/m3.head")"
assert_true "... answered in ${SCRAPE_MS} ms (< 3000)" [ "$SCRAPE_MS" -lt 3000 ]

t_kill=$(now_ms)
unserve 2
if wait_for 10000 no_dest 10.0.0.1:80 10.1.2.2:8080; then
	d=$(($(now_ms) - t_kill))
	# interval x fail_count + interval, as in t_daemon_health
	if [ "$d" -le 3000 ]; then
		ok "b2 killed while clients stall: out of the table in ${d} ms (<= 3000)"
	else
		not_ok "b2 killed while clients stall: out of the table only after ${d} ms (> 3000)"
	fi
else
	not_ok "killed b2 still in the table 10 s later" "$(table)"
fi
scrape "$WORK/m4"
assert_eq "b2 down in ezlb_backend_up" 0 "$(mval "$WORK/m4" "ezlb_backend_up{$(web 10.1.2.2:8080)}")"
assert_true "b2's transition counted" \
	[ "$(mval "$WORK/m4" "ezlb_backend_health_transitions_total{$(web 10.1.2.2:8080)}")" -ge 1 ]
assert_eq "no probe started a second late while clients stalled" "$late0" "$(late "$WORK/m4")"
for fd in 5 6 7 8; do eval "exec $fd>&-"; done

assert_true "the daemon is alive" dalive "$D"
dstop "$D"
assert_eq "SIGTERM: exit 0" 0 "$DRC"
finish
