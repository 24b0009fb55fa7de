#!/bin/bash
# READY=1 means the table is programmed. A daemon whose first reconcile fails (the kernel refuses
# the "ovf" scheduler: its module is left out of this VM on purpose) sends no READY=1, says so in
# STATUS and retries; once the config is fixed (renamed over) the table is programmed and READY=1
# follows. A normal start sends READY=1 only after the table is there.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

cfg() { # cfg SCHEDULER
	cat <<EOF_
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: $1
    health_check: {enabled: false}
    backends:
      - {address: 10.1.1.2:8080}
EOF_
}
cfg ovf >"$WORK/ezlb.yaml"
LOG=$WORK/ezlb.log
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
wait_for 4000 log_has "$LOG" 'scheduler'
sleep 2
assert_eq "first reconcile refused by the kernel: no READY=1 after 2 s more" 0 "$(notify_count "$D" 'READY=1')"
assert_true "STATUS says the table is not programmed yet" notify_has "$D" 'STATUS=starting: the table is not programmed yet.*'
assert_true "the daemon keeps running and retrying" dalive "$D"
assert_eq "the kernel has no service" "" "$(table)"
cfg rr >"$WORK/new.yaml" && mv "$WORK/new.yaml" "$WORK/ezlb.yaml"
T0=$(now_ms)
if wait_for 10000 notify_has "$D" 'READY=1'; then
	ok "READY=1 once the fixed config was programmed ($(($(now_ms) - T0)) ms after the rename)"
else
	not_ok "no READY=1 after the config was fixed" "$(tail -n 20 "$LOG")"
fi
assert_table "READY=1: the table is there" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
EOF_
dstop "$D"
assert_eq "SIGTERM: exit 0" 0 "$DRC"

# a normal start: when READY=1 arrives the service is already in the kernel
ipvsadm -C
rm -rf "$DSTATE"
: >"$NOTIFY_OUT"
dstart "$LOG" "$WORK/ezlb.yaml"
D=$DPID
wait_for 20000 notify_has "$D" 'READY=1'
assert_table "at READY=1 the table is programmed" <<'EOF_'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1
EOF_
dstop "$D"
finish
