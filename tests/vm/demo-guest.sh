#!/bin/bash
# The demo, inside the VM (started by /init with ezlb.run=demo): a real kernel, a VIP, three
# backends in network namespaces and a fourth that is down; ezlb check, ezlb once, the table,
# then real traffic from a client namespace and the spread it got; then the daemon under live
# traffic while a backend is killed and revived.
. /tests/lib.sh
cd "$WORK" || exit 1
for m in ip_vs veth dummy; do modprobe "$m" || echo "modprobe $m failed"; done
cp /tests/demo.yaml "$WORK/ezlb.yaml"
failed=0
say() { printf '\n%s\n' "$*"; }
run() { echo "\$ $*"; "$@"; local rc=$?; [ $rc -eq 0 ] || { echo "(exit status $rc)"; failed=1; }; return $rc; }

say "== network: VIP 10.0.0.1 and fd00::1 on dummy vip0; backends b1..b3 serve, b4 is down"
vm_net_setup 3 || failed=1
backend_add 4 || failed=1
say "== the config ($(basename /tests/demo.yaml))"
cat ezlb.yaml
say "== ezlb check"
run ezlb check -c ezlb.yaml
say "== ezlb once --dry-run (the plan; changes nothing)"
run ezlb once --dry-run -c ezlb.yaml
say "== ezlb once (probes the backends, then reconciles)"
run ezlb once -c ezlb.yaml
say "== the kernel's table (ipvsadm -Ln)"
ipvsadm -Ln
say "== 1000 TCP connections from the client namespace to 10.0.0.1:80"
r=$(client -t 2000 10.0.0.1:80 1000)
total=$(printf '%s\n' "$r" | awk '$1 != "fail" { s += $2 } END { print s + 0 }')
printf '%s\n' "$r" | while read -r name n; do
	[ "$name" = fail ] && { printf '  %-6s %5d\n' failed "$n"; continue; }
	bar=$(printf '%*s' $((n / 10)) '' | tr ' ' '#')
	printf '  %-6s %5d  %3d%%  %s\n' "$name" "$n" $((n * 100 / (total > 0 ? total : 1))) "$bar"
done
echo "  (weights 5:3:2 -> 50% 30% 20%; b4 is down, so not in the table)"
[ "$(count fail "$r")" = 0 ] || failed=1
say "== 100 UDP datagrams over IPv6 to [fd00::1]:53 (rr)"
client -u -s 30000 -t 2000 "[fd00::1]:53" 100 | sed 's/^/  /'
say "== ezlb once again: nothing to do"
run ezlb once -c ezlb.yaml

# ---- the daemon: live traffic while a backend dies and comes back ----
say "== the daemon: ezlb run, probing every 1s (fail_count 2, rise_count 2)"
sed -i 's/interval: 2s, timeout: 1s, fail_count: 3, rise_count: 2/interval: 1s, timeout: 500ms, fail_count: 2, rise_count: 2/' ezlb.yaml
grep -n 'health_check' ezlb.yaml | head -n 1 | sed 's/^/  ezlb.yaml:/'
echo "\$ ezlb run -c ezlb.yaml &"
ezlb run -c ezlb.yaml >daemon.log 2>&1 &
DPID=$!
track_pid "$DPID"
shown=0
show_log() { # the daemon's log lines that are new since the last call
	local n
	n=$(wc -l <daemon.log)
	[ "$n" -gt "$shown" ] && sed -n "$((shown + 1)),${n}p" daemon.log | sed 's/^/    log: /'
	shown=$n
}
web_table() { ipvsadm -Ln -t 10.0.0.1:80 | sed -n '4,$p' | sed 's/^/    table: /'; }
sleep 1
show_log
echo "  one line per second: connections from the client namespace to 10.0.0.1:80 in that second"
for t in $(seq 1 14); do
	case $t in
	4) echo "  >>> killing b2 (10.1.2.2:8080)"; unserve 2 ;;
	9) echo "  >>> reviving b2"; serve 2 ;;
	esac
	r=$(client -t 1000 10.0.0.1:80 --for 1)
	printf '  t=%2ds  b1 %4s  b2 %4s  b3 %4s  failed %s\n' "$t" "$(count b1 "$r")" "$(count b2 "$r")" \
		"$(count b3 "$r")" "$(count fail "$r")"
	before=$shown
	show_log
	[ "$shown" -gt "$before" ] && web_table
done
kill -TERM "$DPID"
wait "$DPID"
echo "  ezlb stopped with exit status $? (SIGTERM); the table stays, so a restart drops nothing:"
ipvsadm -Ln -t 10.0.0.1:80 | sed 's/^/    /'
show_log
grep -q 'web 10.1.2.2:8080 up -> down' daemon.log || { echo "(b2 was never taken out)"; failed=1; }
grep -q 'web 10.1.2.2:8080 down -> up' daemon.log || { echo "(b2 never came back)"; failed=1; }

if [ $failed -eq 0 ]; then echo; echo "=== DEMO OK"; else echo; echo "=== DEMO FAILED"; fi
