#!/bin/sh
# Runs each libFuzzer binary for SECONDS seconds on a working corpus build/fuzz/corpus-<name>
# (seeded from tests/fuzz/corpus/<name>; the checked-in seeds are never written). Fails on any
# crash, leak, timeout or out-of-memory; prints each fuzzer's exec/s and a summary line.
#   run.sh SECONDS build/fuzz/fuzz_x ...
secs=$1; shift
pass=0; fail=0
for f in "$@"; do
	name=$(basename "$f")
	work=build/fuzz/corpus-$name
	mkdir -p "$work" build/fuzz/artifacts
	cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
	log=build/fuzz/$name.log
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/artifacts/"$name"- "$work" >"$log" 2>&1; then
		pass=$((pass + 1)); st=ok
	else
		fail=$((fail + 1)); st=FAILED
		grep -E "ERROR|SUMMARY|artifact" "$log" | head -5 >&2
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	echo "fuzz: $name $st: ${runs:-?} runs, ${eps:-?} exec/s, corpus $(ls "$work" | wc -l) files (log $log)"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
