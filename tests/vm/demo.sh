#!/bin/bash
# The README's "run" command: boots the test VM (Debian's cloud kernel under qemu) with BINARY
# and shows ezlb at work on tests/vm/demo.yaml: check, plan, once, the table, real traffic.
#   tests/vm/demo.sh BINARY
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
die() { echo "demo: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 BINARY"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (deploy/deps.sh test installs qemu-system-x86)"
[ -x "$1" ] || die "$1: no such executable"
KVER=$(tests/vm/kernel.sh) || die "no kernel"
INITRD=$(tests/vm/mkinitramfs.sh "$1") || die "could not build the initramfs"
LOG=build/vm/demo.log
echo "demo: booting $KVER under qemu (TCG, a few seconds)..."
# Show only what the VM prints after boot (no firmware banners), as it arrives; keep it all.
timeout -k 10 300 qemu-system-x86_64 -accel tcg -smp 2 -m 1024 -nographic -no-reboot \
	-kernel "build/vm/kernel/boot/vmlinuz-$KVER" -initrd "$INITRD" \
	-append "console=ttyS0 quiet panic=-1 ezlb.run=demo" </dev/null 2>&1 |
	sed -u 's/\r//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c()][0-9A-Za-z]\{0,1\}//g' | tee "$LOG" |
	sed -u -n '/^=== VM UP/,/^=== VM POWEROFF/{/^=== VM /d;p}'
grep -q '^=== DEMO OK' "$LOG" || die "the demo did not complete; full console output in $LOG"
