#!/bin/bash
# Builds the test VM's initramfs around one ezlb binary:
#   tests/vm/mkinitramfs.sh BINARY        -> prints build/vm/initramfs-<tag>.cpio.gz
# <tag> is "asan" when BINARY links libasan, else "rel". The image holds busybox, bash, iproute2's
# ip, ipvsadm (the oracle), nft (nftables: marks packets for the fwmark services), valgrind
# (memcheck only), the test tools lbnet, sdnotify and hcsrv (HTTP/HTTPS/DNS test server, linked
# with OpenSSL), dnsmasq (a real DNS server), BIRD 2 (bird and birdc: the BGP speakers of
# t_ecmp.sh; each instance is started with its own -s SOCKET), promtool (checks the /metrics page: 48 MB, a third
# of the compressed image, for the reference parser and linter run inside the VM, where the page
# is), ezlb at /usr/sbin/ezlb, every shared library those need, the IPVS/veth/dummy/nf_tables/
# bridge modules with a modules.dep, tests/vm/*.sh under /tests, and under
# /etc/ezlb-test/ the https check's test PKI (EC P-256, made on the host with the openssl CLI and
# cached in build/vm/certs, remade when missing or within 30 days of expiry):
#   ca.pem                       the test CA (its key stays on the host)
#   good.pem/.key                signed by the test CA for backend.test, 10.1.5.2 and 127.0.0.1
#   wrongname.pem/.key           signed by the test CA for wrong.test and 192.0.2.1 only
#   otherca.pem/.key             for the same names as good.pem (and 10.1.4.2), signed by another CA
#
# ip_vs_ovf.ko is left out ON PURPOSE: a config may name the "ovf" scheduler (valid for ezlb),
# and the kernel then rejects that service, which t_reject.sh uses to prove that one failed op
# is reported while the others still apply.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
die() { echo "mkinitramfs: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 BINARY"
BIN=$1
[ -x "$BIN" ] || die "$BIN: no such executable (build it first)"
for tool in busybox cpio gzip ldd cc depmod readelf openssl; do
	command -v "$tool" >/dev/null || die "'$tool' not found (run deploy/deps.sh test)"
done
find_tool() { # the first existing path among the arguments
	for p in "$@"; do [ -x "$p" ] && { echo "$p"; return 0; }; done
	die "none of $* exists (run deploy/deps.sh test)"
}
BUSYBOX=$(find_tool /bin/busybox /usr/bin/busybox)
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is not static: install busybox-static"; fi
BASH_BIN=$(find_tool /bin/bash /usr/bin/bash)
IP_BIN=$(find_tool /sbin/ip /usr/sbin/ip /bin/ip /usr/bin/ip)
IPVSADM=$(find_tool /sbin/ipvsadm /usr/sbin/ipvsadm)
SETPRIV=$(find_tool /usr/bin/setpriv /bin/setpriv)
NFT=$(find_tool /usr/sbin/nft /sbin/nft /usr/bin/nft)
VG_DIR=/usr/libexec/valgrind
[ -d "$VG_DIR" ] || VG_DIR=/usr/lib/x86_64-linux-gnu/valgrind
VG_BIN=$(find_tool /usr/bin/valgrind.bin /usr/bin/valgrind)

KVER=$(tests/vm/kernel.sh)
KROOT=build/vm/kernel
KMOD=$KROOT/lib/modules/$KVER

tag=rel
# grep reads all of ldd's output: with pipefail, grep -q could exit first and the SIGPIPE that
# ldd then gets would make the test false and label an ASan binary "rel".
if ldd "$BIN" 2>/dev/null | grep libasan >/dev/null; then tag=asan; fi
STAGE=build/vm/root-$tag
OUT=build/vm/initramfs-$tag.cpio.gz
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,lib64,etc,proc,sys,dev,run,tmp,root,tests,var}
ln -s ../run "$STAGE/var/run"

# install SRC DEST: copy one file and every library ldd names for it, at the same path.
install_file() {
	local src=$1 dst=$2
	mkdir -p "$STAGE/$(dirname "$dst")"
	cp -L "$src" "$STAGE/$dst"
	local lib
	for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$STAGE/$lib" ] && continue
		mkdir -p "$STAGE/$(dirname "$lib")"
		cp -L "$lib" "$STAGE/$lib"
	done
}

# busybox applets first, so that the real tools below replace the ones they shadow.
cp "$BUSYBOX" "$STAGE/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
	[ -e "$STAGE/$applet" ] || ln -s /bin/busybox "$STAGE/$applet"
done
# Remove every busybox applet a real tool below replaces, wherever it sits on PATH.
for tool in bash ip ipvsadm nft setpriv valgrind lbnet sdnotify ctlpeer hcsrv dnsmasq bird birdc ezlb; do
	rm -f "$STAGE"/{bin,sbin,usr/bin,usr/sbin}/"$tool"
done
install_file "$BASH_BIN" /bin/bash
install_file "$SETPRIV" /usr/bin/setpriv # busybox's cannot change uid
install_file "$IP_BIN" /sbin/ip
install_file "$IPVSADM" /sbin/ipvsadm
# nft and its libraries (libnftables, libnftnl, libmnl, libjansson, ...; ldd names them all).
install_file "$NFT" /usr/sbin/nft
install_file "$BIN" /usr/sbin/ezlb
# keepalived: t_import.sh's oracle (it builds the table ezlb import-keepalived must equal).
install_file "$(find_tool /usr/sbin/keepalived /sbin/keepalived)" /usr/sbin/keepalived

# valgrind: the wrapper script, the launcher and memcheck only.
install_file "$VG_BIN" /usr/bin/valgrind.bin
cp /usr/bin/valgrind "$STAGE/usr/bin/valgrind"
for f in memcheck-amd64-linux vgpreload_core-amd64-linux.so vgpreload_memcheck-amd64-linux.so \
	default.supp; do
	[ -e "$VG_DIR/$f" ] || die "$VG_DIR/$f missing (install valgrind)"
	install_file "$VG_DIR/$f" "/usr/libexec/valgrind/$f"
done

# valgrind cannot start without ld.so's symbols (its strlen must be redirected); Debian keeps them
# in libc6-dbg (a dependency of valgrind), found by build-id.
for lib in $(ldd "$BASH_BIN" | grep -Eo '/[^ ]*(ld-linux|libc\.so)[^ ]*'); do
	id=$(readelf -n "$lib" 2>/dev/null | awk '/Build ID/ { print $3 }')
	dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	[ -n "$id" ] && [ -f "$dbg" ] || die "no debug symbols for $lib ($dbg): install libc6-dbg"
	mkdir -p "$STAGE/$(dirname "$dbg")"
	cp "$dbg" "$STAGE/$dbg"
done

# lbnet: the tests' traffic tool, built here so the image never holds a stale one.
mkdir -p build/vm
cc -O2 -Wall -Wextra -Werror -o "build/vm/lbnet-$tag" tests/vm/tools/lbnet.c || die "cannot build lbnet"
install_file "build/vm/lbnet-$tag" /usr/bin/lbnet
# sdnotify: the daemon tests' NOTIFY_SOCKET listener.
cc -O2 -Wall -Wextra -Werror -o "build/vm/sdnotify-$tag" tests/vm/tools/sdnotify.c || die "cannot build sdnotify"
install_file "build/vm/sdnotify-$tag" /usr/bin/sdnotify
# ctlpeer: a raw client of the control socket (t_status.sh's stalled clients).
cc -O2 -Wall -Wextra -Werror -o "build/vm/ctlpeer-$tag" tests/vm/tools/ctlpeer.c || die "cannot build ctlpeer"
install_file "build/vm/ctlpeer-$tag" /usr/bin/ctlpeer
# hcsrv: the application checks' HTTP/HTTPS/DNS test server (and HTTP client).
cc -O2 -Wall -Wextra -Werror -o "build/vm/hcsrv-$tag" tests/vm/tools/hcsrv.c -lssl -lcrypto ||
	die "cannot build hcsrv (libssl-dev installed?)"
install_file "build/vm/hcsrv-$tag" /usr/bin/hcsrv
# dnsmasq: a real DNS server for the dns check, next to hcsrv's switchable one.
install_file "$(find_tool /usr/sbin/dnsmasq)" /usr/sbin/dnsmasq
# BIRD 2 (Debian's bird2): the router's and the directors' BGP speakers in t_ecmp.sh.
install_file "$(find_tool /usr/sbin/bird)" /usr/sbin/bird
install_file "$(find_tool /usr/sbin/birdc)" /usr/sbin/birdc
# promtool, from Debian's prometheus package: t_metrics.sh checks the daemon's /metrics with it.
install_file "$(find_tool /usr/bin/promtool)" /usr/bin/promtool

# The https check's test PKI, made once and cached (see the top of this file). One lock: the rel
# and ASan images may be built at once.
CERTS=build/vm/certs
make_certs() {
	local d=$CERTS.tmp
	rm -rf "$d"
	mkdir -p "$d"
	key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$1.key" 2>/dev/null; }
	ca() { # NAME CN: a self-signed CA
		key "$1" && openssl req -x509 -new -key "$d/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
			-out "$d/$1.pem" 2>/dev/null
	}
	leaf() { # NAME CA CN SUBJECT_ALT_NAMES
		key "$1" && openssl req -new -key "$d/$1.key" -subj "/CN=$3" -out "$d/$1.csr" 2>/dev/null &&
			printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
				"extendedKeyUsage=serverAuth" "subjectAltName=$4" >"$d/$1.ext" &&
			openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2.key" -CAcreateserial \
				-days 3650 -sha256 -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null
	}
	ca ca "ezlb test CA" && ca rogueca "ezlb rogue CA" &&
		leaf good ca backend.test "DNS:backend.test,IP:10.1.5.2,IP:127.0.0.1" &&
		leaf wrongname ca wrong.test "DNS:wrong.test,IP:192.0.2.1" &&
		leaf otherca rogueca backend.test "DNS:backend.test,IP:10.1.4.2,IP:10.1.5.2,IP:127.0.0.1" &&
		openssl verify -CAfile "$d/ca.pem" "$d/good.pem" "$d/wrongname.pem" >/dev/null &&
		! openssl verify -CAfile "$d/ca.pem" "$d/otherca.pem" >/dev/null 2>&1 || return 1
	rm -f "$d"/*.csr "$d"/*.ext "$d"/*.srl
	rm -rf "$CERTS"
	mv "$d" "$CERTS"
}
(
	flock 9 || die "cannot lock $CERTS.lock"
	for c in good wrongname otherca; do
		if ! openssl x509 -in "$CERTS/$c.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
			echo "mkinitramfs: making the test certificates in $CERTS" >&2
			make_certs || die "cannot make the test certificates (openssl)"
			break
		fi
	done
) 9>"$CERTS.lock" || exit 1
mkdir -p "$STAGE/etc/ezlb-test"
for f in ca.pem good.pem good.key wrongname.pem wrongname.key otherca.pem otherca.key; do
	cp "$CERTS/$f" "$STAGE/etc/ezlb-test/$f"
done

# Kernel modules and their dependencies (modules.dep lists them transitively). nf_tables holds
# the nft expressions the tests use (meta mark, payload, cmp): no nft_* module is needed.
mods="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
      ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_mh nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6 libcrc32c
      veth dummy nf_tables bridge"
for m in $mods; do
	line=$(grep -E "(^|/)$m\.ko:" "$KMOD/modules.dep") || die "module $m not in $KMOD/modules.dep"
	for rel in $(echo "$line" | tr -d ':'); do
		case $rel in *ip_vs_ovf.ko) die "ip_vs_ovf must stay out of the image" ;; esac
		mkdir -p "$STAGE/lib/modules/$KVER/$(dirname "$rel")"
		cp "$KMOD/$rel" "$STAGE/lib/modules/$KVER/$rel"
	done
done
cp "$KMOD"/modules.order "$KMOD"/modules.builtin "$KMOD"/modules.builtin.modinfo \
	"$STAGE/lib/modules/$KVER/"
depmod -b "$STAGE" "$KVER" || die "depmod on the image failed"
[ ! -e "$STAGE/lib/modules/$KVER/kernel/net/netfilter/ipvs/ip_vs_ovf.ko" ] || die "ip_vs_ovf leaked in"

# Config files the tools expect, the test suite, and /init.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$STAGE/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$STAGE/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$STAGE/etc/hosts"
echo "EZLB_BUILD=$tag" >"$STAGE/etc/ezlb-test.env"
cp tests/vm/*.sh tests/vm/*.yaml "$STAGE/tests/"
# the runbook's examples: t_vrrp.sh and t_ecmp.sh run their configurations as they are
cp -r examples "$STAGE/examples"
# the keepalived configurations t_import.sh compares
rm -rf "$STAGE/tests/import"
cp -r tests/import/fixtures/vm "$STAGE/tests/import"
rm -f "$STAGE"/tests/{run-suite,demo,mkinitramfs,kernel,bench}.sh
install -m 0755 tests/vm/init "$STAGE/init"

(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
