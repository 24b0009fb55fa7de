#!/bin/bash
# Runs inside the VM (started by /init): every /tests/t_*.sh, each from a fresh state, each in its
# own session with a time limit. Prints markers the host (run-suite.sh) checks:
#   === PLAN N: t_a t_b ...      the tests it is going to run
#   === BEGIN t_x / === END t_x rc=R secs=S
#   === DONE
# plus its own "not ok - x: ..." lines for a test that timed out, crashed before `finish`, or
# left a sanitizer report. A test that declares "# vm: noipvs" runs with the IPVS modules unloaded
# and module autoloading off.
set -u
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
SAN_DIR=/run/sanitizer
LB_STATE=/run/lbtest

timeout_s=180
only=""
for arg in $(cat /proc/cmdline); do
	case $arg in
	ezlb.timeout=*) timeout_s=${arg#ezlb.timeout=} ;;
	ezlb.tests=*) only=${arg#ezlb.tests=} ;;
	esac
done

modprobe veth && modprobe dummy || echo "=== WARNING: cannot load veth/dummy"

ipvs_loaded() { [ -e /proc/net/ip_vs ]; }

# Kill whatever the previous test left, remove its namespaces, links and files.
reset_state() {
	local ns pid l
	for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	if [ -f "$LB_STATE/pids" ]; then
		for pid in $(cat "$LB_STATE/pids"); do kill -KILL "$pid" 2>/dev/null; done
	fi
	for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do ip netns delete "$ns"; done
	for l in $(ip -o link show | cut -d: -f2 | cut -d@ -f1); do
		case $l in vip* | vb* | vcl* | vt* | ezlb*) ip link delete "$l" 2>/dev/null ;; esac
	done
	if ipvs_loaded; then
		ipvsadm -C
		# The kernel-wide settings too (t_syncd, t_ipvs_fields): a sync daemon left running makes
		# the kernel refuse mixed-family destinations, and changed timeouts would leak into the
		# next test. Stopping a daemon that does not run fails: quietly. 900 120 300 are the
		# kernel's defaults.
		ipvsadm --stop-daemon master 2>/dev/null
		ipvsadm --stop-daemon backup 2>/dev/null
		ipvsadm --set 900 120 300
	fi
	# t_fwmark's marking rules (only if nf_tables is loaded: nft would load it)
	if [ -d /sys/module/nf_tables ]; then nft flush ruleset; fi
	echo /sbin/modprobe >/proc/sys/kernel/modprobe
	rm -rf /run/ezlb "$LB_STATE" "$SAN_DIR" /tmp/t /run/timed-out
	mkdir -p "$LB_STATE" "$SAN_DIR"
}

# Unload every ip_vs module so the test sees a kernel without IPVS.
unload_ipvs() {
	local m
	ipvs_loaded && ipvsadm -C
	for m in $(lsmod | awk '$1 ~ /^ip_vs_/ { print $1 }'); do rmmod "$m"; done
	ipvs_loaded && rmmod ip_vs
	! ipvs_loaded
}

now_s() { cut -d. -f1 /proc/uptime; }

# run_one FILE: runs the test in its own session; kills the whole session on timeout.
run_one() {
	local t=$1 pid wd rc
	setsid bash "$t" </dev/null &
	pid=$!
	(
		for _ in $(seq 1 "$timeout_s"); do
			sleep 1
			kill -0 "$pid" 2>/dev/null || exit 0
		done
		echo "=== TIMEOUT after ${timeout_s}s"
		echo "$timeout_s" >/run/timed-out
		kill -KILL -- "-$pid" 2>/dev/null
	) &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	return "$rc"
}

tests=()
for t in /tests/t_*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "$only" ] && [[ ",$only," != *",$name,"* && ",$only," != *",${name#t_},"* ]]; then
		continue
	fi
	tests+=("$t")
done
echo "=== PLAN ${#tests[@]}: $(for t in "${tests[@]}"; do basename "$t" .sh; done | tr '\n' ' ')"

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	short=${name#t_}
	reset_state
	if grep -q '^# vm: noipvs' "$t"; then
		unload_ipvs || echo "not ok - $short: could not unload ip_vs ($(lsmod | grep ip_vs | tr '\n' ' '))"
		# The kernel loads ip_vs on demand when a program asks for the IPVS genetlink
		# family; a kernel without IPVS cannot, so neither may this one during the test.
		echo /bin/false >/proc/sys/kernel/modprobe
	elif ! ipvs_loaded; then
		modprobe ip_vs || echo "not ok - $short: modprobe ip_vs failed"
	fi
	echo "=== BEGIN $name"
	klines=$(dmesg | wc -l)
	start=$(now_s)
	run_one "$t"
	rc=$?
	secs=$(($(now_s) - start))
	if [ -f /run/timed-out ]; then
		echo "not ok - $short: timed out after ${timeout_s}s (killed with everything it started)"
	elif [ ! -f "$LB_STATE/status" ]; then
		echo "not ok - $short: did not finish (exit status $rc after ${secs}s)"
	elif [ "$rc" -ne 0 ] && ! grep -q '^finished [0-9]* [1-9]' "$LB_STATE/status"; then
		echo "not ok - $short: exit status $rc although every check passed"
	fi
	reports=$(ls "$SAN_DIR" 2>/dev/null)
	if [ -n "$reports" ]; then
		echo "not ok - $short: sanitizer report(s): $(printf "%s " $reports)"
		for f in "$SAN_DIR"/*; do sed "s|^|# $(basename "$f"): |" "$f" | head -n 60; done
	fi
	if [ "$rc" -ne 0 ]; then # what the kernel said during the test
		dmesg | tail -n +$((klines + 1)) | tail -n 30 | sed 's/^/# dmesg: /'
	fi
	echo "=== END $name rc=$rc secs=$secs"
done
reset_state
echo "=== DONE"
