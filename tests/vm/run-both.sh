#!/bin/bash
# `make test`'s real-kernel suites: the release and the ASan+UBSan build, each in its own VM, both
# at once. Most of a suite's time is waiting (probe intervals, timers, traffic, the TCG-emulated
# kernel's sleeps), so two VMs share the machine's cores well: the pair takes far less than the
# two one after the other. Each suite's output goes to build/vm/suite-<rel|asan>.out and is
# printed whole when both have ended, one after the other, so the log reads like two runs.
#   tests/vm/run-both.sh REL_BINARY ASAN_BINARY
# Exit status non-zero if either suite failed (its "vm: N passed, N failed" line says how).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
[ $# -eq 2 ] || { echo "usage: $0 REL_BINARY ASAN_BINARY" >&2; exit 2; }
mkdir -p build/vm
# Two VMs share the cores: each test and each VM may take longer than alone, so the limits are
# raised (per test 180 -> 300 s, per VM 1500 -> 2700 s).
export VM_GLOBAL_TIMEOUT=${VM_GLOBAL_TIMEOUT:-2700} VM_TIMEOUT=${VM_TIMEOUT:-300}
start=$(date +%s)
tests/vm/run-suite.sh "$1" >build/vm/suite-rel.out 2>&1 &
rel=$!
tests/vm/run-suite.sh "$2" >build/vm/suite-asan.out 2>&1 &
asan=$!
wait "$rel"
rel_rc=$?
wait "$asan"
asan_rc=$?
for t in rel asan; do
	echo "==== the $t suite (build/vm/suite-$t.out) ===="
	cat "build/vm/suite-$t.out"
done
echo "run-both: release suite exit $rel_rc, ASan suite exit $asan_rc, both done after $(($(date +%s) - start))s"
[ "$rel_rc" -eq 0 ] && [ "$asan_rc" -eq 0 ]
