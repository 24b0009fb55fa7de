#!/bin/bash
# `make bench`: boots the test VM once (Debian's cloud kernel under qemu, TCG) and measures ezlb
# next to ipvsadm and keepalived in the same boot (tests/vm/bench-guest.sh does the measuring).
# Prints one markdown table and writes it, with how it was made, to tests/bench/results.md.
#   tests/vm/bench.sh BINARY
#   BENCH_ONLY=program,noop tests/vm/bench.sh ./ezlb    # only some sections (names in bench-guest.sh)
#   BENCH_QUICK=1 ...      tiny sizes, to try the harness itself in a minute; results not written
#   BENCH_TIMEOUT=3600     seconds for the whole VM
# The image is the test suite's (tests/vm/mkinitramfs.sh) plus a second cpio archive appended to
# it, which the kernel unpacks over the first: benchsrv (the health-check target: TCP, HTTP and
# HTTPS, with its self-signed certificate under /etc/benchsrv), yamlscan (libyaml alone), keepalived
# with its libraries, ethtool, and the guest script. Exit status non-zero if the VM did not finish the run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
die() { echo "bench: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 BINARY"
BIN=$1
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (deploy/deps.sh test installs qemu-system-x86)"
[ -x "$BIN" ] || die "$BIN: no such executable"
KVER=$(tests/vm/kernel.sh) || die "no kernel (see the kernel.sh message above)"
BASE=$(tests/vm/mkinitramfs.sh "$BIN") || die "could not build the initramfs"
case $BASE in *-asan.cpio.gz) die "$BIN is an ASan build: benchmark the release binary (make ezlb)" ;; esac

OVL=build/vm/root-bench
INITRD=build/vm/initramfs-bench.cpio.gz
LOG=build/vm/bench.log
OUT=tests/bench/results.md
rm -rf "$OVL"
mkdir -p "$OVL/usr/bin" "$OVL/usr/sbin" "$OVL/tests" "$OVL/etc"

# copy SRC DEST: one file and every library ldd names for it, at the same path.
copy() {
	mkdir -p "$OVL/$(dirname "$2")"
	cp -L "$1" "$OVL/$2"
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$OVL/$lib" ] && continue
		mkdir -p "$OVL/$(dirname "$lib")"
		cp -L "$lib" "$OVL/$lib"
	done
}

cc -O2 -Wall -Wextra -Werror -o build/vm/benchsrv tests/vm/tools/benchsrv.c -lssl -lcrypto ||
	die "cannot build benchsrv (libssl-dev installed?)"
copy build/vm/benchsrv /usr/bin/benchsrv
# benchsrv's certificate for the https targets (appcheck section): self-signed, EC P-256, made
# once with the openssl CLI and cached; remade when missing or within 30 days of expiry.
CERT=build/vm/bench-cert
if ! openssl x509 -in "$CERT/cert.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 ||
	[ ! -s "$CERT/key.pem" ]; then
	rm -rf "$CERT.tmp" && mkdir -p "$CERT.tmp" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
			-subj /CN=benchsrv -addext subjectAltName=DNS:benchsrv,IP:127.0.0.1 \
			-keyout "$CERT.tmp/key.pem" -out "$CERT.tmp/cert.pem" 2>/dev/null &&
		rm -rf "$CERT" && mv "$CERT.tmp" "$CERT" || die "cannot make benchsrv's certificate (openssl)"
fi
mkdir -p "$OVL/etc/benchsrv"
cp "$CERT/cert.pem" "$CERT/key.pem" "$OVL/etc/benchsrv/"
# yamlscan: libyaml's parser alone over a file, the floor under ezlb's loader (program section).
yaml_flags=$(pkg-config --cflags --libs yaml-0.1) || die "no yaml-0.1 for pkg-config (apt-get install libyaml-dev)"
# shellcheck disable=SC2086 # the flags are words
cc -O2 -Wall -Wextra -Werror -o build/vm/yamlscan tests/vm/tools/yamlscan.c $yaml_flags || die "cannot build yamlscan"
copy build/vm/yamlscan /usr/bin/yamlscan
KEEPALIVED=$(command -v keepalived || ls /usr/sbin/keepalived 2>/dev/null || true)
if [ -n "$KEEPALIVED" ]; then
	copy "$KEEPALIVED" /usr/sbin/keepalived
	"$KEEPALIVED" --version 2>&1 | head -n1 >"$OVL/etc/keepalived-version"
else
	echo "bench: keepalived not found (apt-get install keepalived): its columns will read n/a" >&2
fi
# ethtool: the multi section turns GRO on (and TSO off) on its veths, so that threaded NAPI can
# give each director's receive path a kernel thread of its own.
ETHTOOL=$(command -v ethtool || command -v /usr/sbin/ethtool || command -v /sbin/ethtool || true)
if [ -n "$ETHTOOL" ]; then
	copy "$ETHTOOL" /usr/sbin/ethtool
else
	echo "bench: ethtool not found (apt-get install ethtool): the multi section will fail" >&2
fi
NODE_EXPORTER=$(command -v prometheus-node-exporter || true)
if [ -n "$NODE_EXPORTER" ]; then
	copy "$NODE_EXPORTER" /usr/bin/prometheus-node-exporter
else
	echo "bench: prometheus-node-exporter not found: the /metrics reference column will read n/a" >&2
fi
# BENCH_BEFORE=BINARY: an earlier ezlb, for the rows that compare a fix with what it fixed (the
# resync section), run in the same boot as /usr/sbin/ezlb-before.
if [ -n "${BENCH_BEFORE:-}" ]; then
	[ -x "$BENCH_BEFORE" ] || die "BENCH_BEFORE=$BENCH_BEFORE: no such executable"
	copy "$BENCH_BEFORE" /usr/sbin/ezlb-before
fi
cp tests/vm/bench-guest.sh "$OVL/tests/"
(cd "$OVL" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$OVL.cpio.gz" ||
	die "cannot pack the overlay"
cat "$BASE" "$OVL.cpio.gz" >"$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD" || die "cannot write $INITRD"

append="console=ttyS0 quiet panic=-1 ezlb.run=bench"
[ -n "${BENCH_ONLY:-}" ] && append="$append ezlb.bench_only=$BENCH_ONLY"
[ -n "${BENCH_QUICK:-}" ] && append="$append ezlb.bench_quick=1"
echo "bench: $BIN on $KVER under qemu (TCG, 2 vCPUs, 4 GiB); takes about 35 minutes; log in $LOG"
start=$(date +%s)

# Under TCG each vCPU takes a whole host CPU: another VM on this host (a test suite, say) slows
# whatever this one measures meanwhile. Sample for other qemu processes every 5 s, and keep the
# host time of each progress line, to say in the results which sections shared the host.
OTHERS=build/vm/bench-others.log PROGRESS=build/vm/bench-progress.log
: >"$OTHERS"
: >"$PROGRESS"
(
	while sleep 5; do
		ps -eo comm=,args= | awk -v me="$INITRD" '$1 ~ /^qemu-system/ && !index($0, me)' | grep -q . &&
			date +%T >>"$OTHERS"
	done
) &
watcher=$!
# show LINES: print them, and append them with the host time to $PROGRESS.
show() { while IFS= read -r l; do printf '%s\n' "$l"; printf '%s %s\n' "$(date +%T)" "$l" >>"$PROGRESS"; done; }

# stdin from /dev/null: qemu must never put a terminal in raw mode or wait for it.
timeout -k 10 "${BENCH_TIMEOUT:-3600}" qemu-system-x86_64 -accel tcg -smp 2 -m 4096 -nographic \
	-no-reboot -kernel "build/vm/kernel/boot/vmlinuz-$KVER" -initrd "$INITRD" -append "$append" \
	</dev/null 2>&1 | sed -u 's/\r//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c()][0-9A-Za-z]\{0,1\}//g' |
	tee "$LOG" | sed -u -n '/^=== VM UP/,/^=== VM POWEROFF/p' | grep --line-buffered -E '^(=== |bench:)' | show
kill "$watcher" 2>/dev/null
secs=$(($(date +%s) - start))
echo "bench: VM exited after ${secs}s"

# "another VM ran on this host for about N s, during: SECTION, ..." (sections: progress lines of
# the form "bench: <name>..." that are not indented), or nothing.
others_note() {
	[ -s "$OTHERS" ] || return 0
	awk 'NR == FNR { t[NR] = $1; n = NR; next }
	/ bench: [a-z]/ && !/ bench:  / && !/ bench: done / { # a section starts: keep its time and name
		sec = $0
		sub(/^[0-9:]+ bench: /, "", sec)
		sub(/ *[,(].*/, "", sec)
		st[++m] = $1
		nm[m] = sec
	}
	END {
		for (i = 1; i <= n; i++)
			for (j = m; j >= 1; j--)
				if (st[j] <= t[i]) { hit[j] = 1; break }
		for (j = 1; j <= m; j++)
			if (hit[j]) list = list (list ? ", " : "") nm[j]
		printf "- Another VM ran on this host for about %d s of this run (%s to %s), during: %s.", 5 * n, t[1], t[n], list
		print " Those figures are slower and noisier than the rest."
	}' "$OTHERS" "$PROGRESS"
}

table=$(sed -n '/^=== TABLE BEGIN/,/^=== TABLE END/{/^=== TABLE/d;p}' "$LOG")
[ -n "$table" ] || die "the VM printed no table; see $LOG"
echo
printf '%s\n' "$table"
grep -q '^=== BENCH OK' "$LOG" || die "the benchmark did not complete (the table above is partial); see $LOG"
others_note | sed 's/^- /bench: /'
if [ -n "${BENCH_QUICK:-}${BENCH_ONLY:-}" ]; then
	echo "bench: partial run (BENCH_QUICK/BENCH_ONLY): $OUT left as it was"
	exit 0
fi
mkdir -p "$(dirname "$OUT")"
{
	echo "# ezlb benchmark"
	echo
	echo "Made by \`make bench\` (tests/vm/bench.sh) on $(date -u +%Y-%m-%d), ezlb $(git describe --always --dirty 2>/dev/null || echo '?'),"
	echo "in one boot of the test VM: Linux $KVER under $(qemu-system-x86_64 --version | head -n1 | sed 's/ *Copyright.*//'),"
	echo "TCG (no KVM), 2 vCPUs, 4 GiB, on a host with $(nproc) CPUs ($(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1))."
	echo "$(sed -n 's/^=== INFO //p' "$LOG")"
	echo "Times are wall clock of the whole command (ezlb: reading and parsing the YAML included),"
	echo "medians of the number of runs shown; ratio = reference / ezlb (above 1: ezlb is better)."
	echo "TCG makes the guest kernel many times slower than on hardware: compare the columns, not"
	echo "the absolute numbers with other machines."
	echo
	printf '%s\n' "$table"
	echo
	sed -n 's/^=== NOTE /- /p' "$LOG"
	others_note
} >"$OUT"
echo "bench: table written to $OUT (${secs}s)"
