#!/bin/sh
# Runs each unit-test binary from the repository root (fixtures are relative paths) and fails if
# any fails. cmocka prints its own summary per binary; the last line sums them up.
pass=0; fail=0
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t" >&2; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
