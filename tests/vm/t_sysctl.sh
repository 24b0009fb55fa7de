#!/bin/bash
# Kernel settings that hurt the config are reported: the daemon runs in a network namespace of
# its own (ip_forward, IPv6 forwarding and every net.ipv4.vs.* are per namespace, so the VM's
# own values are never touched), with the settings the bad way, and warns once per setting, at
# start; after they are fixed a reload (SIGHUP) says nothing; with some of them bad again a
# reload by rewriting the file warns again, for those only.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

NS=sysctl
ip netns add "$NS" || { not_ok "cannot create namespace $NS"; finish; }
nsrun "$NS" ip link set lo up

KEYS="net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.vs.expire_nodest_conn
      net.ipv4.vs.expire_quiescent_template net.ipv4.vs.conn_reuse_mode net.ipv4.vs.conntrack"
# values [NS]: "key=value" per line, in the namespace or (no argument) in the VM's own.
values() {
	local k
	for k in $KEYS; do
		if [ -n "${1:-}" ]; then echo "$k=$(nsrun "$1" sysctl -n "$k")"; else echo "$k=$(sysctl -n "$k")"; fi
	done
}
# set_ns FORWARD NODEST QUIESCENT REUSE CONNTRACK: the namespace's settings (FORWARD for both
# address families).
set_ns() {
	nsrun "$NS" sysctl -qw "net.ipv4.ip_forward=$1" "net.ipv6.conf.all.forwarding=$1" \
		"net.ipv4.vs.expire_nodest_conn=$2" "net.ipv4.vs.expire_quiescent_template=$3" \
		"net.ipv4.vs.conn_reuse_mode=$4" "net.ipv4.vs.conntrack=$5" >/dev/null
}

host_before=$(values)
note "the VM's own values:" "$host_before"
set_ns 0 0 0 0 1
assert_eq "the namespace has the bad values" "net.ipv4.ip_forward=0
net.ipv6.conf.all.forwarding=0
net.ipv4.vs.expire_nodest_conn=0
net.ipv4.vs.expire_quiescent_template=0
net.ipv4.vs.conn_reuse_mode=0
net.ipv4.vs.conntrack=1" "$(values "$NS")"
assert_eq "the VM's own values are untouched (the settings are per namespace)" "$host_before" "$(values)"

# Every service is NAT. sticky: persistence and quiesce; plain: health checks that remove;
# quiet: quiesce without persistence; dns6: IPv6. Checks are slow: the backends do not exist in
# this namespace and what they say does not matter here.
CFG=$WORK/ezlb.yaml
cfg() {
	cat <<EOF_
# $1
services:
  - name: sticky
    listen: 10.0.0.1:80
    persistence: {timeout: 300s}
    health_check: {interval: 30s, timeout: 1s, on_failure: quiesce}
    backends: [{address: 10.1.1.2:8080}]
  - name: plain
    listen: 10.0.0.1:81
    health_check: {interval: 30s, timeout: 1s, on_failure: remove}
    backends: [{address: 10.1.1.2:8081}]
  - name: quiet
    listen: 10.0.0.1:82
    health_check: {interval: 30s, timeout: 1s, on_failure: quiesce}
    backends: [{address: 10.1.1.2:8082}]
  - name: dns6
    listen: "[fd00::1]:53"
    protocol: udp
    health_check: {enabled: false}
    backends: [{address: "[fd01:1::2]:53"}]
EOF_
}
cfg "first" >"$CFG"

# The daemon in the namespace: exec all the way (bash, ip netns exec, ezlb), so DPID is its pid.
REAL_EZLB=$EZLB
printf '#!/bin/bash\nexec ip netns exec %s %s "$@"\n' "$NS" "$REAL_EZLB" >"$WORK/ezlb-in-ns"
chmod +x "$WORK/ezlb-in-ns"
EZLB=$WORK/ezlb-in-ns

LOG=$WORK/ezlb.log
: >"$LOG"
dstart "$LOG" "$CFG"
D=$DPID
dready "start" "$D" "$LOG" || finish
EZLB=$REAL_EZLB
assert_true "the daemon programs the namespace's own IPVS table" \
	nsrun "$NS" sh -c 'ipvsadm -Sn | grep -q "^-A -t 10.0.0.1:81"'

WARN='ezlb\[warn\]: sysctl '
# since MARK ERE: lines of the log after line MARK matching ERE.
since() { tail -n +$(($1 + 1)) "$LOG" | grep -E -- "$2"; }
since_count() { since "$@" | wc -l; }
mark() { wc -l <"$LOG"; }
# reloaded MARK: the log has a "configuration loaded" line after MARK (the warnings come right
# after it, from the same call).
reloaded() { [ "$(since_count "$1" 'configuration loaded')" -ge 1 ]; }

# At start: one warning per bad setting that the config is hurt by.
wait_for 5000 log_has "$LOG" "${WARN}net\.ipv4\.vs\.conn_reuse_mode"
sleep 0.3
note "warnings at start:" "$(since 0 "$WARN")"
for w in 'net\.ipv4\.ip_forward = 0: .*service "sticky" \(and 2 more\).*fix: sysctl -w net\.ipv4\.ip_forward=1' \
	'net\.ipv6\.conf\.all\.forwarding = 0: .*service "dns6".*fix: sysctl -w net\.ipv6\.conf\.all\.forwarding=1' \
	'net\.ipv4\.vs\.expire_quiescent_template = 0: service "sticky" has persistence.*fix: sysctl -w net\.ipv4\.vs\.expire_quiescent_template=1' \
	'net\.ipv4\.vs\.expire_nodest_conn = 0: when health checks remove a backend of service "plain".*fix: sysctl -w net\.ipv4\.vs\.expire_nodest_conn=1' \
	'net\.ipv4\.vs\.conn_reuse_mode = 0: .*fix: sysctl -w net\.ipv4\.vs\.conn_reuse_mode=1'; do
	assert_eq "start: exactly one warning /${w%%:*}/" 1 "$(since_count 0 "$WARN$w")"
done
assert_eq "start: conntrack=1 is not reported (no reused port is rescheduled with these values)" \
	0 "$(since_count 0 "${WARN}net\.ipv4\.vs\.conntrack")"
assert_eq "start: five sysctl warnings in all" 5 "$(since_count 0 "$WARN")"

# Fixed, then SIGHUP: nothing more.
set_ns 1 1 1 1 0
m=$(mark)
kill -HUP "$D"
if wait_for 5000 reloaded "$m"; then ok "SIGHUP: reloaded"; else not_ok "SIGHUP: no reload in the log" "$(tail -n 10 "$LOG")"; fi
sleep 0.3
assert_eq "good values, SIGHUP: no sysctl warning after the reload" "" "$(since "$m" "$WARN")"

# Two bad again (ip_forward, and conntrack now that reused ports are rescheduled), then a
# rewrite of the file: those two are reported, once each, and nothing else.
set_ns 0 1 1 1 1
nsrun "$NS" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
m=$(mark)
cfg "second" >"$CFG.tmp" && mv "$CFG.tmp" "$CFG"
if wait_for 5000 reloaded "$m"; then ok "rewrite: reloaded"; else not_ok "rewrite: no reload in the log" "$(tail -n 10 "$LOG")"; fi
sleep 0.3
note "warnings after the rewrite:" "$(since "$m" "$WARN")"
assert_eq "bad again: one ip_forward warning" 1 "$(since_count "$m" "${WARN}net\.ipv4\.ip_forward = 0: ")"
assert_eq "bad again: one conntrack warning, with the fix" 1 \
	"$(since_count "$m" "${WARN}net\.ipv4\.vs\.conntrack = 1: .*about 1 s.*fix: sysctl -w net\.ipv4\.vs\.conntrack=0")"
assert_eq "bad again: two sysctl warnings in all" 2 "$(since_count "$m" "$WARN")"

assert_eq "the VM's own values are still untouched" "$host_before" "$(values)"
dstop "$D"
assert_eq "SIGTERM: exit 0" 0 "$DRC"
finish
