#!/bin/bash
# The state directory: one ezlb per directory (a second daemon, `once` and `cleanup` are refused
# while a daemon holds the lock, and work after it stops); a directory that is a symbolic link
# or world-writable is refused; a symbolic link planted at a temporary name is never written
# through; and when the record cannot be saved (full, read-only) the run fails with the reason
# and the kernel is not changed.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

conf one >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    health_check: {enabled: false}   # no backend listens: probes would remove it mid-test
    backends:
      - {address: 10.1.1.2:8080}
EOF_
conf two >/dev/null <<'EOF_'
services:
  - name: a
    listen: 10.0.0.1:80
    backends:
      - {address: 10.1.1.2:8080}
  - name: b
    listen: 10.0.0.2:80
    backends:
      - {address: 10.1.1.3:8080}
EOF_
ONE='-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1'

# ---- single instance ----
LOG1=$WORK/d1.log
dstart "$LOG1" "$WORK/one.yaml"
D1=$DPID
dready "first daemon" "$D1" "$LOG1" || finish
assert_eq "the lock file names the daemon" "$D1 run" "$(cat "$DSTATE/lock")"

ez run -c "$WORK/one.yaml" --state-dir "$DSTATE"
assert_rc "a second daemon on the same state directory" 1
assert_contains "the second daemon names the first's pid" \
	"another ezlb daemon (pid $D1) holds $DSTATE/lock: only one ezlb may manage a state directory" "$ERR"
assert_true "the first daemon still runs" dalive "$D1"

ez once --no-health-check -c "$WORK/two.yaml" --state-dir "$DSTATE"
assert_rc "once while the daemon runs" 1
assert_contains "once says what to do instead" \
	"ezlb daemon (pid $D1) is running on $DSTATE: edit the configuration and run \`systemctl reload ezlb\` (or stop the daemon first)" "$ERR"
ez once --dry-run --no-health-check -c "$WORK/two.yaml" --state-dir "$DSTATE"
assert_rc "once --dry-run while the daemon runs" 1
ez cleanup -c "$WORK/one.yaml" --state-dir "$DSTATE"
assert_rc "cleanup while the daemon runs" 1
assert_contains "cleanup says to stop the daemon first" \
	"ezlb daemon (pid $D1) is running on $DSTATE: stop it first (\`systemctl stop ezlb\`), then run \`ezlb cleanup\`" "$ERR"
assert_table "nothing was changed by the refused runs" <<<"$ONE"

dstop "$D1"
assert_eq "first daemon: exit status 0" 0 "$DRC"
ez once --no-health-check -c "$WORK/two.yaml" --state-dir "$DSTATE"
assert_rc "once after the daemon stopped" 0
ez cleanup -c "$WORK/two.yaml" --state-dir "$DSTATE"
assert_rc "cleanup after the daemon stopped" 0
assert_eq "cleanup emptied the table" "" "$(table)"

# ---- refused directories ----
mkdir -m 0700 "$WORK/real"
ln -s "$WORK/real" "$WORK/link"
ez once --no-health-check -c "$WORK/one.yaml" --state-dir "$WORK/link"
assert_rc "a symbolic link as state directory" 1
assert_contains "it is refused, named" "state directory $WORK/link is a symbolic link: refusing to use it" "$ERR"
mkdir -m 0700 "$WORK/ww" && chmod 0777 "$WORK/ww"
ez once --no-health-check -c "$WORK/one.yaml" --state-dir "$WORK/ww"
assert_rc "a world-writable state directory" 1
assert_contains "it is refused, with its mode" \
	"state directory $WORK/ww is writable by group and others (mode 0777): refusing to use it" "$ERR"
assert_eq "neither changed the kernel" "" "$(table)"
ez run -c "$WORK/one.yaml" --state-dir "$WORK/ww"
assert_rc "the daemon refuses it too" 1

# ---- planted symbolic links ----
ST=$WORK/plant
mkdir -m 0700 "$ST"
echo precious >"$WORK/victim"
ln -s "$WORK/victim" "$ST/owned.tmp"
ln -s "$WORK/victim" "$ST/owned.tmp.1.0000000000000001"
ez once --no-health-check -c "$WORK/one.yaml" --state-dir "$ST"
assert_rc "once with symbolic links at temporary names" 0
assert_eq "their target is untouched" precious "$(cat "$WORK/victim")"
assert_true "the record is a regular file" test -f "$ST/owned" -a ! -L "$ST/owned"
assert_eq "the leftovers were removed, only the lock and the record remain" "lock owned" \
	"$(ls "$ST" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
rm "$ST/owned" && ln -s "$WORK/victim" "$ST/owned"
snapshot "$WORK/before-link"
ez once --no-health-check -c "$WORK/two.yaml" --state-dir "$ST"
assert_rc "once with a symbolic link as the record" 1
assert_contains "it is refused, named" "cannot read ownership record $ST/owned: it is a symbolic link" "$ERR"
assert_unchanged "the kernel is not changed" "$WORK/before-link"
assert_eq "the link's target is untouched" precious "$(cat "$WORK/victim")"
rm "$ST/owned"
ez cleanup -c "$WORK/two.yaml" --state-dir "$ST"

# ---- the record cannot be saved: full, read-only ----
FULL=$WORK/full
mkdir -m 0700 "$FULL"
mount -t tmpfs -o size=16k,mode=0700 tmpfs "$FULL" || not_ok "mount a 16k tmpfs"
ez once --no-health-check -c "$WORK/one.yaml" --state-dir "$FULL"
assert_rc "once on the small tmpfs before it is full" 0
snapshot "$WORK/before-full"
dd if=/dev/zero of="$FULL/fill" bs=1k count=64 2>/dev/null
note "df: $(df -k "$FULL" | tail -n 1)"
ez once --no-health-check -c "$WORK/two.yaml" --state-dir "$FULL"
assert_rc "once adding a service on a full state directory" 1
assert_contains "the error says the record cannot be saved, and why" \
	"cannot save ownership record $FULL/owned: write: No space left on device" "$ERR"
assert_eq "the error is said once" 1 "$(grep -c 'No space left on device' <<<"$ERR")"
assert_unchanged "the kernel is not changed" "$WORK/before-full"
assert_eq "no temporary file left behind" "fill lock owned" \
	"$(ls "$FULL" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
rm -f "$FULL/fill"

mount -o remount,ro "$FULL" || not_ok "remount read-only"
ez once --no-health-check -c "$WORK/two.yaml" --state-dir "$FULL"
assert_rc "once adding a service on a read-only state directory" 1
assert_contains "the error says the record cannot be saved, and why" \
	"cannot save ownership record $FULL/owned: create temporary file: Read-only file system" "$ERR"
assert_unchanged "the kernel is not changed" "$WORK/before-full"
ez once --dry-run --no-health-check -c "$WORK/two.yaml" --state-dir "$FULL"
assert_rc "once --dry-run on a read-only state directory still works" 0
umount "$FULL"
ez cleanup -c "$WORK/two.yaml"

finish
