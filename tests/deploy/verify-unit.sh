#!/bin/sh
# deploy/ezlb.service must pass `systemd-analyze verify`. The unit names the installed path
# /usr/local/sbin/ezlb; verify a copy that points at the binary just built instead.
set -eu
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "verify-unit: systemd-analyze not found"; echo "unit: 0 passed, 1 failed"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/local/sbin/ezlb#$PWD/ezlb#g" deploy/ezlb.service > "$dir/ezlb.service"
if out=$(systemd-analyze verify "$dir/ezlb.service" 2>&1) && [ -z "$out" ]; then
	echo "ok - systemd-analyze verify deploy/ezlb.service"
	echo "unit-file: 1 passed, 0 failed"
else
	echo "not ok - systemd-analyze verify deploy/ezlb.service:"; echo "$out"
	echo "unit-file: 0 passed, 1 failed"
	exit 1
fi
