#!/bin/sh
# Installs what ezlb needs on Debian, only when something is missing.
#   deps.sh build   compiler and -dev libraries (libmicrohttpd-dev: the /metrics HTTP server)
#   deps.sh test    also cmocka, qemu, busybox, ipvsadm, kmod, cpio, iproute2, valgrind, keepalived,
#                   openssl (test certificates), dnsmasq-base (the DNS check's test server),
#                   clang and libFuzzer (libclang-rt-dev), prometheus (for its promtool, which
#                   checks the /metrics output; Debian has no package with promtool alone),
#                   prometheus-node-exporter (the reference of the /metrics benchmark), nftables
#                   (marks packets for the firewall-mark service test), bird2 (the BGP speakers of
#                   the active/active multi-director test), ethtool (the benchmark turns on GRO and
#                   threaded NAPI to measure each director's forwarding CPU)
set -eu
BUILD="gcc make pkg-config libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libyaml-dev libsystemd-dev libssl-dev libmicrohttpd-dev"
TEST="libcmocka-dev nftables qemu-system-x86 busybox-static ipvsadm kmod cpio iproute2 valgrind keepalived bash clang libclang-rt-dev openssl dnsmasq-base prometheus prometheus-node-exporter bird2 ethtool"
want=$BUILD
[ "${1:-build}" = test ] && want="$BUILD $TEST"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run as root or install them" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
