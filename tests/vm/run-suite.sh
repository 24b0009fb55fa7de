#!/bin/bash
# Real-kernel test suite: boots Debian's cloud kernel under qemu (TCG) once with an initramfs
# holding BINARY, runs every tests/vm/t_*.sh inside (tests/vm/runner.sh), and checks the serial
# output here. Streams it to the terminal and to build/vm/last-run-<rel|asan>.log (copied to
# build/vm/last-run.log at the end).
#   tests/vm/run-suite.sh BINARY
#   VM_TESTS=create,edit tests/vm/run-suite.sh ./ezlb     # only some tests (names without t_)
#   VM_TIMEOUT=180 (per test, seconds)  VM_GLOBAL_TIMEOUT=1500 (the whole VM)
# The last line is exactly "vm: N passed, N failed". Exit status non-zero if any check failed,
# the VM did not boot or finish, a test crashed or timed out, or fewer tests reported than planned.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
die() { echo "run-suite: $*" >&2; echo "vm: 0 passed, 1 failed"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 BINARY"
BIN=$1
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (deploy/deps.sh test installs qemu-system-x86)"
command -v timeout >/dev/null || die "timeout(1) not found"
[ -x "$BIN" ] || die "$BIN: no such executable"
KVER=$(tests/vm/kernel.sh) || die "no kernel (see the kernel.sh message above)"
INITRD=$(tests/vm/mkinitramfs.sh "$BIN") || die "could not build the initramfs"
# Each build type has its own log (the rel and ASan suites may run at once); last-run.log is
# a copy of the latest.
tag=$(basename "$INITRD" .cpio.gz)
LOG=build/vm/last-run-${tag#initramfs-}.log
per_test=${VM_TIMEOUT:-180}
global=${VM_GLOBAL_TIMEOUT:-1500}

append="console=ttyS0 quiet panic=-1 ezlb.run=suite ezlb.timeout=$per_test"
[ -n "${VM_TESTS:-}" ] && append="$append ezlb.tests=$VM_TESTS"
echo "run-suite: $BIN on $KVER ($(du -h "$INITRD" | cut -f1) initramfs), log in $LOG"
start=$(date +%s)
# stdin from /dev/null: qemu must never put a terminal in raw mode or wait for it.
timeout -k 10 "$global" qemu-system-x86_64 -accel tcg -smp 2 -m 2048 -nographic -no-reboot \
	-kernel "build/vm/kernel/boot/vmlinuz-$KVER" -initrd "$INITRD" -append "$append" </dev/null 2>&1 |
	sed -u 's/\r//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c()][0-9A-Za-z]\{0,1\}//g' | tee "$LOG"
qemu_rc=${PIPESTATUS[0]}
echo "run-suite: VM exited with status $qemu_rc after $(($(date +%s) - start))s"

# ---- verdict from the log ----
problems=()
grep -q '^=== VM UP' "$LOG" || problems+=("the VM did not boot (no '=== VM UP' on the console)")
[ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ] && problems+=("qemu killed after ${global}s")
plan=$(grep -m1 '^=== PLAN ' "$LOG" | sed 's/^=== PLAN [0-9]*: *//')
planned=$(grep -m1 '^=== PLAN ' "$LOG" | sed 's/^=== PLAN \([0-9]*\).*/\1/')
if [ -z "$planned" ]; then
	problems+=("the runner never printed its plan")
elif [ "$planned" -eq 0 ]; then
	problems+=("no test selected (VM_TESTS=${VM_TESTS:-})")
fi
expected=$(ls tests/vm/t_*.sh 2>/dev/null | wc -l)
if [ -z "${VM_TESTS:-}" ] && [ -n "$planned" ] && [ "$planned" -ne "$expected" ]; then
	problems+=("the VM planned $planned tests, tests/vm has $expected")
fi
for name in $plan; do
	short=${name#t_}
	if ! grep -q "^=== END $name " "$LOG"; then
		problems+=("$short: no END marker (the VM died or hung during it)")
	elif ! grep -Eq "^(not )?ok - $short: " "$LOG"; then
		problems+=("$short: reported no result")
	fi
done
grep -q '^=== DONE' "$LOG" || problems+=("the runner did not reach its end")

passed=$(grep -c '^ok - ' "$LOG")
failed=$(grep -c '^not ok - ' "$LOG")
echo
if [ "$failed" -gt 0 ]; then
	echo "run-suite: failed checks:"
	grep '^not ok - ' "$LOG" | sed 's/^/  /'
fi
for p in "${problems[@]}"; do
	echo "not ok - vm: $p"
	failed=$((failed + 1))
done
cp "$LOG" build/vm/last-run.log
echo "vm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
