#!/bin/bash
# No fd or memory leak across many reloads: 50 rename-over saves alternating two configs (which
# add and remove backends, a service and health targets), 10 invalid ones, and 20 SIGHUPs, each
# waited for (its READY=1). Then the daemon has as many fds as after start-up, its anonymous
# memory (RssAnon: heap and stacks, where a leak shows; VmRSS also counts pages of the program and
# its libraries faulted in for the first time, e.g. by error paths of later reloads) grew by
# little (release build; ASan's quarantine makes RSS meaningless there), and it exits 0 on
# SIGTERM with no LeakSanitizer (or other sanitizer) report.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1
vm_net_setup 3 || not_ok "network setup"

mkdir -p "$WORK/etc"
CFG=$WORK/etc/ezlb.yaml
web3_config "$WORK/a.yaml"
cat >"$WORK/b.yaml" <<'EOF_'
global: {resync_interval: 5s}
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    health_check: {interval: 2s, timeout: 300ms, fail_count: 3, rise_count: 1}
    backends:
      - {address: 10.1.1.2:8080, weight: 3}
      - {address: 10.1.2.2:8080}
  - name: web2
    listen: 10.0.0.2:80
    health_check: {interval: 1s, timeout: 500ms}
    backends:
      - {address: 10.1.3.2:8080}
      - {address: 10.1.1.2:8080}
EOF_
sed 's/10.1.2.2:8080/10.1.2.999:8080/' "$WORK/a.yaml" >"$WORK/bad.yaml"
WANT_A=$WEB3_TABLE

cp "$WORK/a.yaml" "$CFG"
LOG=$WORK/ezlb.log
dstart "$LOG" "$CFG"
D=$DPID
dready "start" "$D" "$LOG" || finish

# fds NOW: the daemon's fd count, the smallest of 5 samples 100 ms apart (a probe in flight holds
# a socket for a moment).
fds() {
	local i n min=100000
	for i in 1 2 3 4 5; do
		n=$(ls "/proc/$D/fd" | wc -l)
		[ "$n" -lt "$min" ] && min=$n
		sleep 0.1
	done
	echo "$min"
}
rss_kb() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$D/status"; }
vmrss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$D/status"; }

# save FILE: rename-over, then wait for the reload it causes (one more READY=1).
READIES=$(notify_count "$D" 'READY=1')
reloaded() { [ "$(notify_count "$D" 'READY=1')" -gt "$READIES" ]; }
save() {
	cp "$1" "$CFG.tmp" && mv "$CFG.tmp" "$CFG"
	wait_for 5000 reloaded || MISSED=$((MISSED + 1))
	READIES=$(notify_count "$D" 'READY=1')
}
hup() {
	kill -HUP "$D"
	wait_for 5000 reloaded || MISSED=$((MISSED + 1))
	READIES=$(notify_count "$D" 'READY=1')
}
MISSED=0

sleep 1.5 # every backend probed once
fd0=$(fds)
ls -l "/proc/$D/fd" >"$WORK/fd0"
# Warm-up: one round of each kind, so that buffers that are allocated once are in the baseline.
save "$WORK/b.yaml"
save "$WORK/bad.yaml"
save "$WORK/a.yaml"
hup
sleep 1.5
rss0=$(rss_kb) vm0=$(vmrss_kb)
note "after start-up: $fd0 fds; after warm-up: RssAnon $rss0 kB, VmRSS $vm0 kB"

t0=$(now_ms)
for i in $(seq 1 50); do
	[ $((i % 5)) -eq 0 ] && save "$WORK/bad.yaml"
	if [ $((i % 2)) -eq 1 ]; then save "$WORK/b.yaml"; else save "$WORK/a.yaml"; fi
	[ $((i % 5)) -eq 2 ] && hup
done
for i in $(seq 1 10); do hup; done
note "50 good saves, 10 invalid, 20 SIGHUPs in $(($(now_ms) - t0)) ms"
assert_eq "every reload was answered by READY=1" 0 "$MISSED"
assert_eq "the log shows 10 rejected configs (+1 in the warm-up)" 11 \
	"$(log_count "$LOG" 'ezlb\[error\]: configuration not reloaded: the previous one stays in force$')"
assert_eq "the log shows 20 SIGHUPs (+1 in the warm-up)" 21 "$(log_count "$LOG" 'ezlb\[info\]: SIGHUP: reloading ')"
assert_table "config a in force at the end" <<<"$WANT_A"
assert_true "the daemon is alive" dalive "$D"

sleep 1.5 # the probes of config a settle
fd1=$(fds)
rss1=$(rss_kb) vm1=$(vmrss_kb)
note "at the end: $fd1 fds, RssAnon $rss1 kB (grew $((rss1 - rss0)) kB), VmRSS $vm1 kB (grew $((vm1 - vm0)) kB)"
if [ "$fd1" -eq "$fd0" ]; then
	ok "fd count unchanged after 80 reloads ($fd0)"
else
	not_ok "fd count $fd0 after start-up, $fd1 after 80 reloads" "after start-up:" "$(cat "$WORK/fd0")" \
		"now:" "$(ls -l "/proc/$D/fd")"
fi
if [ "${EZLB_BUILD:-rel}" = asan ]; then
	note "ASan build: RSS not compared (the allocator's quarantine holds freed memory); LeakSanitizer checks at exit"
elif [ $((rss1 - rss0)) -le 256 ]; then
	ok "RssAnon grew $((rss1 - rss0)) kB over 80 reloads (<= 256 kB)"
else
	not_ok "RssAnon grew $((rss1 - rss0)) kB over 80 reloads (from $rss0 to $rss1 kB)"
fi

dstop "$D"
assert_eq "SIGTERM after 80 reloads: exit status 0" 0 "$DRC"
assert_eq "no sanitizer report (LeakSanitizer runs at exit in the ASan build: ${EZLB_BUILD:-rel})" "" "$(san_reports)"
finish
