#!/bin/bash
# Included files: a main file that includes conf.d/*.yaml, 1000 files of one service each (5
# backends). The running daemon takes a stream of edits (rename-over and in place), additions,
# deletions and renames in conf.d/: each is in the kernel within a bound, and the log says that
# exactly one file was re-read and one service planned. A half-written file is not loaded before
# its close. An error in one file (or a duplicate across two) leaves the whole previous table in
# force and the log and status name the file. `ezlb check --list-files` lists every file read.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

N=1000
BOUND=1500 # ms from the writer's close or rename to the kernel change, polls included (TCG, a busy host)
mkdir -p "$WORK/etc/conf.d"
MAIN=$WORK/etc/ezlb.yaml
D_=$WORK/etc/conf.d
cat >"$MAIN" <<'EOF_'
global:
  drain_timeout: 0s   # a service that leaves goes at once: these tests are about the files
include: ["conf.d/*.yaml"]
EOF_

vip() { echo "10.20.$(($1 / 200)).$(($1 % 200 + 1))"; }
# svc_text I W: service sI on vip(I):80, backends 10.30.x.y:8081..8085 with weight W (bash
# builtins only: 1000 files are written at the start).
svc_text() {
	local i=$1 w=$2 j x=$(($1 / 200)).$(($1 % 200 + 1))
	printf 'services:\n  - name: s%d\n    listen: 10.20.%s:80\n    scheduler: wrr\n' "$i" "$x"
	printf '    health_check: {enabled: false}\n    backends:\n'
	for j in 1 2 3 4 5; do
		printf '      - {address: 10.30.%s:%d, weight: %d}\n' "$x" $((8080 + j)) "$w"
	done
}
fname() { printf '%s/s%04d.yaml' "$D_" "$1"; }
# rename_over I W: written under a name no glob matches, then renamed into place.
rename_over() { svc_text "$1" "$2" >"$D_/.tmp" && mv "$D_/.tmp" "$(fname "$1")"; }
for i in $(seq 0 $((N - 1))); do svc_text "$i" 1 >"$(fname "$i")"; done

# weights_are I W: service I is in the kernel with its 5 backends at weight W; W "gone": it is not.
weights_are() {
	local out
	out=$(ipvsadm -Ln -t "$(vip "$1"):80" 2>/dev/null) || [ "$2" = gone ] || return 1
	[ "$2" = gone ] && { [ -z "$out" ]; return; }
	[ "$(printf '%s\n' "$out" | awk -v w="$2" '$1 == "->" && $4 == w' | wc -l)" = 5 ]
}
# applied NAME I W: waits for weights_are I W; asserts the time since T0.
applied() {
	if wait_for 5000 weights_are "$2" "$3"; then
		local d=$(($(now_ms) - T0))
		if [ "$d" -le "$BOUND" ]; then ok "$1: in the kernel in ${d} ms (<= $BOUND ms)"; else not_ok "$1: in the kernel in ${d} ms, more than $BOUND ms"; fi
	else
		not_ok "$1: not in the kernel 5 s later" "$(ipvsadm -Sn -t "$(vip "$2"):80" 2>&1 | head -n 3)" "$(tail -n 5 "$LOG")"
	fi
}
LOADED='configuration loaded: [0-9]+ services; '
# reread NAME FROM N_FILES N_SVCS: the last "configuration loaded" line after line FROM of the log
# says N_FILES files were re-read and N_SVCS services planned.
reread() {
	local l
	l=$(tail -n +"$(($2 + 1))" "$LOG" | grep -E -- "$LOADED" | tail -n 1)
	assert_match "$1: the log says $3 file(s) re-read, $4 service(s) planned" \
		"; $3 of [0-9]+ files re-read, $4 services to plan \\(0 deleted\\)" "$l"
}
mark() { wc -l <"$LOG"; }

# ---- ezlb check ----
out=$("$EZLB" check --list-files -c "$MAIN" 2>&1)
assert_eq "check --list-files: one line per file" $((N + 1)) "$(printf '%s\n' "$out" | wc -l)"
assert_eq "check --list-files: the main file first" "$MAIN" "$(printf '%s\n' "$out" | head -n 1)"
assert_eq "check --list-files: then conf.d, sorted" "$(fname 0)|$(fname 1)|$(fname $((N - 1)))" \
	"$(printf '%s\n' "$out" | sed -n '2p;3p;$p' | paste -sd'|')"
out=$("$EZLB" check -c "$MAIN" 2>&1)
assert_eq "check: every file" "configuration OK: $N services, $((N * 5)) backends" "$out"

# ---- the daemon ----
LOG=$WORK/ezlb.log
dstart "$LOG" "$MAIN"
D=$DPID
dready "start" "$D" "$LOG" 120 || finish
assert_eq "initial table: every service and backend" $((N * 6)) "$(ipvsadm -Sn | grep -c '^-[Aa]')"

# A stream of edits: rename-over and in place, each a single file.
for k in 1 2 3 4 5 6; do
	i=$((k * 97 % N))
	m=$(mark)
	T0=$(now_ms)
	if [ $((k % 2)) = 1 ]; then
		rename_over "$i" $((k + 1))
		applied "edit #$k (rename-over of $(basename "$(fname "$i")"), weight $((k + 1)))" "$i" $((k + 1))
	else
		svc_text "$i" $((k + 1)) >"$(fname "$i")" # truncate and write the same inode
		applied "edit #$k (in place, $(basename "$(fname "$i")"), weight $((k + 1)))" "$i" $((k + 1))
	fi
	reread "edit #$k" "$m" 1 1
done

# An addition, a deletion, a rename out of the glob and back.
i=$N
m=$(mark)
T0=$(now_ms)
rename_over "$i" 3
applied "a new file (s$i)" "$i" 3
assert_eq "a new file: $((N + 1)) services" $((N + 1)) "$(ipvsadm -Sn | grep -c '^-A')"
T0=$(now_ms)
rm "$(fname 5)"
applied "a removed file (s5)" 5 gone
T0=$(now_ms)
mv "$(fname 6)" "$(fname 6).off"
applied "a file renamed out of the glob (s6)" 6 gone
T0=$(now_ms)
mv "$(fname 6).off" "$(fname 6)"
applied "the same renamed back (s6)" 6 1
assert_eq "after the additions and deletions: $N services" "$N" "$(ipvsadm -Sn | grep -c '^-A')"

# A half-written file: nothing is loaded until its close.
i=17
m=$(mark)
exec 7>"$(fname "$i")"
svc_text "$i" 9 | head -n 5 >&7
sleep 0.5
assert_eq "half-written file: nothing loaded while it is open" 0 \
	"$(tail -n +"$((m + 1))" "$LOG" | grep -cE -- "$LOADED|ezlb\[error\]")"
svc_text "$i" 9 | tail -n +6 >&7
T0=$(now_ms)
exec 7>&-
applied "half-written file, closed" "$i" 9

# An error in one file: the whole previous table stays; log and status name the file.
snapshot "$WORK/before-bad"
m=$(mark)
nm=$(notify_mark)
svc_text 20 4 | sed 's/10\.30\.0\.21:8083/10.30.0.300:8083/' >"$D_/.tmp" && mv "$D_/.tmp" "$(fname 20)"
rename_over 21 5 # a good edit in the same burst must not apply either
err="$(fname 20):9:19: services[0].backends[2].address: \"10.30.0.300:8083\" is not an IP:port"
if wait_for 5000 log_has "$LOG" 'configuration not reloaded'; then ok "bad file: reported"; else not_ok "bad file: not reported" "$(tail -n 5 "$LOG")"; fi
sleep 1
assert_unchanged "bad file: the table is as it was" "$WORK/before-bad"
assert_eq "bad file: the log names the file, line and column" 1 "$(grep -cF -- "ezlb[error]: $err" "$LOG")"
wait_for 3000 notify_has "$D" 'STATUS=config error.*' "$nm"
st=$(notify_lines "$D" 'STATUS=.*' "$nm" | tail -n 1)
assert_match "bad file: the status names the file" "config error \\(previous config in force\\): $(fname 20):9:19:" \
	"$(notify_value "$st" STATUS)"
# an unrelated event in conf.d does not repeat the report
touch "$D_/notes.txt"
rename_over 22 1
sleep 0.5
assert_eq "bad file: reported once" 1 "$(grep -cF -- "ezlb[error]: $err" "$LOG")"

# A duplicate across files: both named, the table unchanged.
rename_over 20 4 # fixes s20: now s20, s21 (weight 5) apply
T0=$(now_ms)
applied "the fixed file and the edit held back with it" 21 5
snapshot "$WORK/before-dup"
svc_text 2000 1 | sed "s/listen: .*/listen: $(vip 30):80/" >"$D_/.tmp" && mv "$D_/.tmp" "$D_/zz-dup.yaml"
if wait_for 5000 log_has "$LOG" "zz-dup.yaml:3:13: services\\[0\\].listen: tcp $(vip 30):80 is already used by service \"s30\" \\($(fname 30):3\\)"; then
	ok "duplicate across files: reported in the later file, naming the first"
else
	not_ok "duplicate across files: not reported" "$(grep error "$LOG" | tail -n 3)"
fi
sleep 0.5
assert_unchanged "duplicate across files: the table is as it was" "$WORK/before-dup"
nm=$(notify_mark)
rm "$D_/zz-dup.yaml" # the files are those in force again: the error is gone from the status
if wait_for 5000 notify_has "$D" "STATUS=$N services, .*" "$nm"; then
	ok "duplicate removed: the status has no error any more"
else
	not_ok "duplicate removed: the status still has the error" "$(notify_lines "$D" 'STATUS=.*' "$nm" | tail -n 2)"
fi
T0=$(now_ms)
rename_over 31 6
applied "an edit after the duplicate was removed" 31 6

assert_true "the daemon is still running" dalive "$D"
dstop "$D"
assert_eq "exit status 0" 0 "$DRC"
finish
