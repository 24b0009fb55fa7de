#!/bin/bash
# Fetches Debian's cloud kernel (it ships IPVS as modules) into build/vm/kernel, unpacked, never
# installed: boot/vmlinuz-VERSION and lib/modules/VERSION with a modules.dep made by depmod.
# Idempotent: a finished unpack is marked by build/vm/kernel/VERSION and reused as is.
# Prints the kernel version on stdout; exits non-zero with the reason when it cannot.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=build/vm/kernel
META=linux-image-cloud-amd64

die() { echo "kernel.sh: $*" >&2; exit 1; }

# One fetch at a time (make -j may run the rel and ASan suites together).
mkdir -p build/vm
exec 9>build/vm/.kernel.lock
flock 9 || die "cannot lock build/vm/.kernel.lock"

if [ -s "$OUT/VERSION" ]; then
	ver=$(cat "$OUT/VERSION")
	if [ -f "$OUT/boot/vmlinuz-$ver" ] && [ -f "$OUT/lib/modules/$ver/modules.dep" ]; then
		echo "$ver"
		exit 0
	fi
fi

for tool in apt-get apt-cache dpkg depmod; do
	command -v "$tool" >/dev/null || die "'$tool' not found: a Debian host with kmod is required"
done

# The metapackage depends on exactly one versioned image package; resolve its name.
resolve() { apt-cache depends "$META" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1; }
pkg=$(resolve)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
	echo "kernel.sh: $META unknown to apt; running apt-get update" >&2
	apt-get update -qq >&2 || die "apt-get update failed"
	pkg=$(resolve)
fi
[ -n "$pkg" ] || die "apt cannot resolve $META (no Debian apt sources? run apt-get update as root)"

dl=build/vm/deb
rm -rf "$dl" "$OUT.tmp"
mkdir -p "$dl" "$OUT.tmp"
echo "kernel.sh: downloading $pkg" >&2
# (apt warns that its _apt user cannot write here and downloads as root instead: harmless.)
(cd "$dl" && apt-get download -q "$pkg" 2>&1 | { grep -v '^W: Download is performed unsandboxed' >&2 || true; }) ||
	die "apt-get download $pkg failed"
deb=$(ls "$dl"/"$pkg"_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download produced no .deb for $pkg"
dpkg -x "$deb" "$OUT.tmp" || die "dpkg -x $deb failed"

ver=${pkg#linux-image-}
[ -f "$OUT.tmp/boot/vmlinuz-$ver" ] || die "$deb has no boot/vmlinuz-$ver"
# Debian may ship modules under usr/lib (merged /usr) or lib; normalise to lib/modules.
if [ ! -d "$OUT.tmp/lib/modules/$ver" ] && [ -d "$OUT.tmp/usr/lib/modules/$ver" ]; then
	mkdir -p "$OUT.tmp/lib/modules"
	mv "$OUT.tmp/usr/lib/modules/$ver" "$OUT.tmp/lib/modules/$ver"
fi
[ -d "$OUT.tmp/lib/modules/$ver/kernel/net/netfilter/ipvs" ] || die "$pkg has no IPVS modules"
depmod -b "$OUT.tmp" "$ver" || die "depmod failed"
echo "$ver" >"$OUT.tmp/VERSION"
rm -rf "$OUT" "$dl"
mv "$OUT.tmp" "$OUT"
echo "$ver"
