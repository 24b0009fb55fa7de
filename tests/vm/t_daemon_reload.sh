#!/bin/bash
# Hot reload: a config saved by rename-over (write file.tmp, mv over) is in the kernel within a
# second; an in-place edit and a delete-then-re-create are applied too; an invalid edit leaves the
# table and the daemon as they were (log and status line name file:line:column) until the next
# good edit, which is applied; a Kubernetes-style ConfigMap symlink swap is applied.
. /tests/lib.sh
. /tests/lib_daemon.sh
cd "$WORK" || exit 1

mkdir -p "$WORK/etc"
CFG=$WORK/etc/ezlb.yaml
# cfg W2 [EXTRA_BACKEND_LINE]: the config text: web with b1 (weight 1), b2 (weight W2) and maybe
# one more backend line. Health checks off: these tests are about the file, not the backends.
cfg() {
	cat <<EOF_
services:
  - name: web
    listen: 10.0.0.1:80
    scheduler: wrr
    health_check: {enabled: false}
    backends:
      - {address: 10.1.1.2:8080, weight: 1}
      - {address: 10.1.2.2:8080, weight: $1}
EOF_
	[ -n "${2:-}" ] && echo "      - $2"
}
# want W2 [EXTRA_TABLE_LINE]: the table that config makes.
want() {
	printf '%s\n' "-A -t 10.0.0.1:80 -s wrr" "-a -t 10.0.0.1:80 -r 10.1.1.2:8080 -m -w 1" \
		"-a -t 10.0.0.1:80 -r 10.1.2.2:8080 -m -w $1"
	[ -n "${2:-}" ] && echo "$2"
}
# rename_over TEXT: the way editors and config tools save: a new file, renamed over the old one.
rename_over() { printf '%s\n' "$1" >"$CFG.tmp" && mv "$CFG.tmp" "$CFG"; }

# applied NAME MS_BOUND WANT: waits (up to 5 s) for the table to be WANT; asserts it took at most
# MS_BOUND from T0 (set by the caller just before the edit).
applied() {
	if wait_for 5000 table_is "$3"; then
		local d=$(($(now_ms) - T0))
		note "$1: applied in ${d} ms"
		if [ "$d" -le "$2" ]; then ok "$1: applied in ${d} ms (<= $2 ms)"; else not_ok "$1: applied in ${d} ms, more than $2 ms"; fi
	else
		not_ok "$1: not applied 5 s later" "want:" "$3" "table:" "$(table)"
	fi
}

printf '%s\n' "$(cfg 1)" >"$CFG"
LOG=$WORK/ezlb.log
dstart "$LOG" "$CFG"
D=$DPID
dready "start" "$D" "$LOG" || finish
assert_table "initial table" <<<"$(want 1)"

# Rename-over, three times: each applied within a second.
for w in 2 3 4; do
	T0=$(now_ms)
	rename_over "$(cfg "$w" '{address: 10.1.3.2:8080, weight: 7}')"
	applied "rename-over #$((w - 1)) (weight $w, b3 added)" 1000 "$(want "$w" '-a -t 10.0.0.1:80 -r 10.1.3.2:8080 -m -w 7')"
	T0=$(now_ms)
	rename_over "$(cfg "$w")"
	applied "rename-over #$((w - 1))b (b3 removed)" 1000 "$(want "$w")"
done

# In place: truncate and write the same inode.
ino=$(stat -c %i "$CFG")
T0=$(now_ms)
printf '%s\n' "$(cfg 5)" >"$CFG"
assert_eq "in-place edit kept the inode" "$ino" "$(stat -c %i "$CFG")"
applied "in-place edit (weight 5)" 1000 "$(want 5)"

# An invalid edit: the bad address is on line 9, column 19.
snapshot "$WORK/before-bad"
m=$(notify_mark)
T0=$(now_ms)
rename_over "$(cfg 6 '{address: 10.1.2.300:8080, weight: 1}')"
err="$CFG:9:19: services[0].backends[2].address: \"10.1.2.300:8080\" is not an IP:port"
if wait_for 5000 log_has "$LOG" 'configuration not reloaded'; then
	ok "invalid edit: reported in $(($(now_ms) - T0)) ms"
else
	not_ok "invalid edit: no 'configuration not reloaded' in the log 5 s later" "$(tail -n 20 "$LOG")"
fi
wait_for 3000 notify_has "$D" 'STATUS=config error.*' "$m"
sleep 1 # give a wrong reconcile time to happen
assert_unchanged "invalid edit: the table is as it was (ipvsadm -Sn identical)" "$WORK/before-bad"
assert_true "invalid edit: the daemon is running" dalive "$D"
assert_eq "invalid edit: the log has the file:line:column error" 1 "$(grep -cF -- "ezlb[error]: $err" "$LOG")"
assert_eq "invalid edit: the log says the old config stays" 1 \
	"$(log_count "$LOG" 'ezlb\[error\]: configuration not reloaded: the previous one stays in force$')"
st=$(notify_lines "$D" 'STATUS=.*' "$m" | tail -n 1)
assert_eq "invalid edit: the status line shows the error" \
	"config error (previous config in force): $err; 1 services, 2/2 backends up" \
	"$(notify_value "$st" STATUS | sed 's/, last reconcile .*//')"

# The next good edit is applied and clears the error from the status line.
m=$(notify_mark)
T0=$(now_ms)
rename_over "$(cfg 8)"
applied "good edit after the invalid one (weight 8)" 1000 "$(want 8)"
wait_for 3000 notify_has "$D" 'STATUS=1 services.*' "$m"
st=$(notify_lines "$D" 'STATUS=.*' "$m" | tail -n 1)
assert_match "good edit: the status line has no error any more" '^1 services, ' "$(notify_value "$st" STATUS)"

# Delete, then re-create: the table stays while the file is missing, then the new file applies.
snapshot "$WORK/before-rm"
rm "$CFG"
wait_for 5000 grep -qF -- "ezlb[error]: $CFG: cannot open: No such file or directory" "$LOG" ||
	not_ok "deleted config: no error in the log" "$(tail -n 10 "$LOG")"
assert_unchanged "deleted config: the table stays" "$WORK/before-rm"
T0=$(now_ms)
printf '%s\n' "$(cfg 9)" >"$CFG"
applied "re-created config (weight 9)" 1000 "$(want 9)"
assert_true "the daemon is still running" dalive "$D"
dstop "$D"
assert_eq "first daemon: exit status 0" 0 "$DRC"

# Kubernetes ConfigMap layout: ezlb.yaml -> ..data/ezlb.yaml, ..data -> ..v1; an update writes
# ..v2 and renames a new ..data link over the old one; ezlb.yaml itself never changes.
K=$WORK/k8s
mkdir -p "$K/..v1"
printf '%s\n' "$(cfg 10)" >"$K/..v1/ezlb.yaml"
ln -s ..v1 "$K/..data"
ln -s ..data/ezlb.yaml "$K/ezlb.yaml"
LOG2=$WORK/ezlb-k8s.log
dstart "$LOG2" "$K/ezlb.yaml"
D2=$DPID
dready "configmap daemon" "$D2" "$LOG2" || finish
assert_table "configmap: initial table (weight 10)" <<<"$(want 10)"
mkdir "$K/..v2"
printf '%s\n' "$(cfg 11 '{address: 10.1.4.2:8080, weight: 2}')" >"$K/..v2/ezlb.yaml"
ln -s ..v2 "$K/..data_tmp"
T0=$(now_ms)
mv -T "$K/..data_tmp" "$K/..data"
rm -rf "$K/..v1"
assert_eq "configmap: ..data now points to ..v2" "..v2" "$(readlink "$K/..data")"
applied "configmap symlink swap (weight 11, b4 added)" 1000 "$(want 11 '-a -t 10.0.0.1:80 -r 10.1.4.2:8080 -m -w 2')"

dstop "$D2"
assert_eq "configmap daemon: exit status 0" 0 "$DRC"
finish
