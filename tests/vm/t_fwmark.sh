#!/bin/bash
# Firewall-mark services (fwmark: N, family: ipv4|ipv6) with real traffic. nft marks, in the
# VM's prerouting, the client's TCP packets to the extra VIPs 10.0.0.45 (ports 80 and 443) and
# fd00::45 (port 80) with mark 100; IPVS sees them at LOCAL_IN (the VIPs are on vip0) and sends
# them to the fwmark service of their family, NAT to the backends' port 8080 (each backend's own
# port: a fwmark service has none; the health checks probe it). The VIPs are this test's own:
# the kernel keeps earlier tests' connection entries after their services are gone.
# ipvsadm is the oracle (`-A -f 100`, `-A -f 100 -6`); the client's per-backend counts and the
# services' connection counters prove the path.
# Ownership: the record names "fwmark 100 ipv4" / "fwmark 100 ipv6"; foreign fwmark services
# added with ipvsadm by hand (200 ipv4, 101 ipv6, and later the very key ezlb gave up, 100 ipv4)
# survive once and cleanup. An edit of a fwmark service is done in place. Removing ezlb's ipv4
# fwmark service from the config drains it (its connections linger) for drain_timeout across
# `once` runs, then deletes it alone.
. /tests/lib.sh
. /tests/lib_daemon.sh # wait_for, now_ms
cd "$WORK" || exit 1
vm_net_setup 2 || not_ok "network setup"
vip_add 10.0.0.45 && ip -6 addr add fd00::45/128 dev vip0 nodad || not_ok "the fwmark VIPs"

modprobe nf_tables || not_ok "modprobe nf_tables"
nft -f - <<'EOF_' || not_ok "nft rules"
table ip ezmark {
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		ip daddr 10.0.0.45 tcp dport 80 meta mark set 100
		ip daddr 10.0.0.45 tcp dport 443 meta mark set 100
	}
}
table ip6 ezmark6 {
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		ip6 daddr fd00::45 tcp dport 80 meta mark set 100
	}
}
EOF_
note "$(nft list ruleset)"

# total OUTPUT: the answers the client got (every name).
total() { printf '%s\n' "$1" | awk '$1 ~ /^b[0-9]+$/ { n += $2 } END { print n + 0 }'; }
# fwm_conns MARK [-6]: the connection counter of fwmark service MARK. The kernel (6.1) adds its
# per-CPU counts to what it reports every 2 s, so fwm_conns_after WANT MARK [-6] waits up to 5 s
# for WANT before it prints the counter.
fwm_conns() { ipvsadm -Ln --stats --exact -f "$@" | awk '$1 == "FWM" { print ($3 == "IPv6" ? $4 : $3) }'; }
fwm_conns_is() { [ "$(fwm_conns "${@:2}")" == "$1" ]; }
fwm_conns_after() { wait_for 5000 fwm_conns_is "$@"; fwm_conns "${@:2}"; }
# record: the ownership record's entries, sorted.
record() { grep -v '^#' /run/ezlb/owned | LC_ALL=C sort; }

# Before ezlb: the marked traffic has no service; the VIP is local and nothing listens on it.
r=$(client -t 500 10.0.0.45:80 2)
assert_eq "before: nothing answers at 10.0.0.45:80" "fail 2" "$r"

# Foreign fwmark services, added by hand: an ipv4 one and an ipv6 one.
ipvsadm -A -f 200 -s wrr && ipvsadm -a -f 200 -r 10.1.1.2:8080 -m -w 2 || not_ok "foreign fwmark 200"
ipvsadm -A -f 101 -6 -s rr && ipvsadm -a -f 101 -6 -r '[fd01:2::2]:8080' -m || not_ok "foreign fwmark 101 ipv6"
FOREIGN='-A -f 200 -s wrr
-a -f 200 -r 10.1.1.2:8080 -m -w 2
-A -f 101 -6 -s rr
-a -f 101 -6 -r [fd01:2::2]:8080 -m -w 1'

# write SCHED W1 W2 [V4]: marked (fwmark 100 ipv4, only when V4 is not "no"), marked6
# (fwmark 100 ipv6) and web (an address service); a service that leaves with live connections
# drains for 8 s.
write() {
	{
		echo "global: {drain_timeout: 8s}"
		echo "services:"
		if [ "${4:-yes}" != no ]; then
			echo "  - name: marked"
			echo "    fwmark: 100"
			echo "    protocol: tcp"
			echo "    scheduler: $1"
			echo "    health_check: {interval: 1s, timeout: 500ms}"
			echo "    backends:"
			echo "      - {address: 10.1.1.2:8080, weight: $2}"
			echo "      - {address: 10.1.2.2:8080, weight: $3}"
		fi
		cat <<'EOF_'
  - name: marked6
    fwmark: 100
    family: ipv6
    scheduler: rr
    health_check: {interval: 1s, timeout: 500ms}
    backends:
      - {address: "[fd01:1::2]:8080"}
      - {address: "[fd01:2::2]:8080"}
  - name: web
    listen: 10.0.0.1:80
    scheduler: rr
    health_check: {interval: 1s, timeout: 500ms}
    backends:
      - {address: 10.1.1.2:8080}
EOF_
	} >"$WORK/fw.yaml"
}
OURS6='-A -f 100 -6 -s rr
-a -f 100 -6 -r [fd01:1::2]:8080 -m -w 1
-a -f 100 -6 -r [fd01:2::2]:8080 -m -w 1
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1'

# ---- created (with health checks: each backend's own port is probed) ----
write rr 1 1
ez once --dry-run -c fw.yaml
assert_rc "dry-run" 0
assert_contains "dry-run: the fwmark service" "+ service marked fwmark 100 ipv4 scheduler rr" "$OUT"
assert_contains "dry-run: a fwmark dest" "+ dest marked fwmark 100 ipv4 -> 10.1.1.2:8080 weight 1 nat" "$OUT"
assert_contains "dry-run: the ipv6 fwmark service" "+ service marked6 fwmark 100 ipv6 scheduler rr" "$OUT"
assert_eq "dry-run: 8 adds" "plan: 8 changes" "$(last_line "$OUT")"
ez once -c fw.yaml
assert_rc "once" 0
assert_eq "once: summary" "once: 8 changes (8 added, 0 edited, 0 deleted), 0 failed" "$(last_line "$OUT")"
assert_table "once: ipvsadm -Sn shows -A -f 100 and -A -f 100 -6, the foreign services kept" <<EOF_
-A -f 100 -s rr
-a -f 100 -r 10.1.1.2:8080 -m -w 1
-a -f 100 -r 10.1.2.2:8080 -m -w 1
$OURS6
$FOREIGN
EOF_
assert_eq "once: the ownership record names both fwmark services and web, not the foreign ones" \
	"$(printf 'fwmark 100 ipv4\nfwmark 100 ipv6\ntcp 10.0.0.1:80' | LC_ALL=C sort)" "$(record)"
assert_plan_empty "once" -c fw.yaml

# ---- real traffic through the marks ----
r=$(client -t 1000 10.0.0.45:80 8)
assert_eq "ipv4 mark, port 80: rr over b1 and b2" "$(printf 'b1 4\nb2 4\nfail 0')" "$r"
r=$(client -t 1000 10.0.0.45:443 4)
assert_eq "ipv4 mark, port 443 (same mark, same service)" "$(printf 'b1 2\nb2 2\nfail 0')" "$r"
assert_eq "fwmark 100 ipv4 counted the 12 connections" 12 "$(fwm_conns_after 12 100)"
r=$(client -t 1000 '[fd00::45]:80' 6)
assert_eq "ipv6 mark: rr over b1 and b2" "$(printf 'b1 3\nb2 3\nfail 0')" "$r"
assert_eq "fwmark 100 ipv6 counted the 6 connections" 6 "$(fwm_conns_after 6 100 -6)"
assert_eq "the foreign fwmark 200 saw none of it" 0 "$(fwm_conns 200)"
r=$(client -t 500 10.0.0.45:81 2)
assert_eq "an unmarked port of the same VIP: no service" "fail 2" "$r"

# ---- an edit of a fwmark service, in place ----
write wrr 3 1
ez once --dry-run -c fw.yaml
assert_eq "edit: dry-run plans 2 edits, nothing else" \
	"$(printf '%s\n' "~ service marked fwmark 100 ipv4: scheduler rr -> wrr" \
		"~ dest marked fwmark 100 ipv4 -> 10.1.1.2:8080: weight 1 -> 3" "plan: 2 changes")" "$OUT"
ez once -c fw.yaml
assert_eq "edit: summary" "once: 2 changes (0 added, 2 edited, 0 deleted), 0 failed" "$(last_line "$OUT")"
assert_match "edit: read back" '^-A -f 100 -s wrr$' "$(table)"
assert_match "edit: weight read back" '^-a -f 100 -r 10\.1\.1\.2:8080 -m -w 3$' "$(table)"
assert_eq "edit: the service kept its connection counter (not re-created)" 12 "$(fwm_conns_after 12 100)"
r=$(client -t 1000 10.0.0.45:80 8)
assert_eq "edit: traffic by wrr 3:1" "$(printf 'b1 6\nb2 2\nfail 0')" "$r"
assert_plan_empty "edit" -c fw.yaml

# ---- marked (ipv4) leaves the config: drained, then deleted alone ----
# Its connections from the traffic above linger (TIME_WAIT), and a fwmark service counts
# inactive entries as live (it may carry UDP): it drains (weight 0) for drain_timeout, 8 s,
# across `once` runs (the record STATE_DIR/drains), and a run after that deletes it.
write wrr 3 1 no
T0=$(now_ms)
ez once -c fw.yaml
assert_rc "marked removed: once" 0
assert_eq "marked removed: its 2 dests drained" \
	"once: 2 changes (0 added, 0 edited, 0 deleted, 2 drained), 0 failed" "$(last_line "$OUT")"
assert_table "marked removed: drained to weight 0, the rest untouched" <<EOF_
-A -f 100 -s wrr
-a -f 100 -r 10.1.1.2:8080 -m -w 0
-a -f 100 -r 10.1.2.2:8080 -m -w 0
$OURS6
$FOREIGN
EOF_
note "drain record:" "$(cat /run/ezlb/drains 2>&1)"
r=$(client -t 500 10.0.0.45:80 2)
assert_eq "marked draining: no new connection gets a backend" "fail 2" "$r"
r=$(client -t 1000 '[fd00::45]:80' 2)
assert_eq "marked draining: the ipv6 fwmark service still serves" "$(printf 'b1 1\nb2 1\nfail 0')" "$r"
ez once -c fw.yaml
assert_eq "marked draining, a run later: once changes nothing" "once: no changes" "$(last_line "$OUT")"
assert_no_match "marked draining: the drain record of a fwmark service reads back" 'corrupt drain record' "$ERR"
# 9 s after the first run began: the drain it started (8 s) is over. A drain restarted by the
# second run (a record not read back) would still have time to go, since that run came at least
# a few seconds after the first (the clients above wait for their timeouts).
while [ $(($(now_ms) - T0)) -lt 9000 ]; do sleep 0.1; done
ez once -c fw.yaml
assert_match "marked drained, 9 s later: deleted" '^once: 1 changes? \(0 added, 0 edited, 1 deleted\), 0 failed$' "$(last_line "$OUT")"
assert_table "marked deleted: marked6, web and the foreign services remain" <<EOF_
$OURS6
$FOREIGN
EOF_
assert_eq "marked deleted: the record no longer names fwmark 100 ipv4" \
	"$(printf 'fwmark 100 ipv6\ntcp 10.0.0.1:80')" "$(record)"
if ipvsadm -Sn | grep -q '^-A -f 100 -s '; then
	# So that the rest still tests something: end the drain by hand, and let once see it gone.
	note "fwmark 100 ipv4 is still there: deleting it by hand for the steps below"
	ipvsadm -D -f 100
	ez once -c fw.yaml
fi
r=$(client -t 500 10.0.0.45:80 2)
assert_eq "marked deleted: the ipv4 marked traffic has no service" "fail 2" "$r"

# The key ezlb gave up, now made by hand: foreign, so left alone.
ipvsadm -A -f 100 -s sh && ipvsadm -a -f 100 -r 10.1.2.2:8080 -m || not_ok "fwmark 100 ipv4 by hand"
ez once -c fw.yaml
assert_eq "fwmark 100 ipv4 made by hand: once leaves it alone" "once: no changes" "$(last_line "$OUT")"
assert_match "fwmark 100 ipv4 made by hand: still there" '^-A -f 100 -s sh$' "$(table)"
r=$(client -t 1000 10.0.0.45:80 2)
assert_eq "fwmark 100 ipv4 made by hand: serves the marked traffic" "$(printf 'b2 2\nfail 0')" "$r"

# ---- cleanup: ezlb's services only ----
ez cleanup -c fw.yaml
assert_rc "cleanup" 0
assert_table "cleanup: only the foreign fwmark services remain" <<EOF_
-A -f 100 -s sh
-a -f 100 -r 10.1.2.2:8080 -m -w 1
$FOREIGN
EOF_
finish
