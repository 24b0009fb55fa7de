# Helpers for the VM tests (bash, sourced by every tests/vm/t_*.sh and by runner.sh).
#
# A test prints one line per check: "ok - NAME: what" or "not ok - NAME: what", then "#" lines
# with the evidence. It must end with `finish`, which records that it ran to the end: a test
# that dies half-way is reported by the runner as not ok, never lost.
#
# Network layout made by vm_net_setup (all inside the VM):
#   vip0 (dummy)   10.0.0.1/32, fd00::1/128         the VIPs; more can be added with vip_add
#   bI  (netns)    eth0 10.1.I.2/24  fd01:I::2/64   backend I, default route via the director
#       host side  vbI  10.1.I.1/24  fd01:I::1/64
#   cl  (netns)    eth0 10.2.0.2/24  fd02::2/64     the client
#       host side  vcl  10.2.0.1/24  fd02::1/64
# Backend I runs "lbnet serve" on TCP and UDP [::]:8080 answering its name "bI".

LB_STATE=/run/lbtest          # per-test bookkeeping, wiped by the runner between tests
SAN_DIR=/run/sanitizer        # ASan/UBSan/LSan reports land here; the runner fails a test on any
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:log_path=$SAN_DIR/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SAN_DIR/ubsan"
export LSAN_OPTIONS="log_path=$SAN_DIR/lsan"
[ -r /etc/ezlb-test.env ] && . /etc/ezlb-test.env
EZLB=${EZLB:-/usr/sbin/ezlb}

T=$(basename "$0" .sh)
T=${T#t_}
PASS=0
FAIL=0

# ---- results ----

ok() { PASS=$((PASS + 1)); echo "ok - $T: $1"; }
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $T: $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
note() { printf '%s\n' "$*" | sed 's/^/# /'; }

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected:" "$2" "actual:" "$3" "diff (- expected, + actual):" \
			"$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
	fi
}

# assert_match NAME ERE TEXT: some line of TEXT matches ERE.
assert_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1" "no line matches /$2/ in:" "$3"; fi
}

# assert_no_match NAME ERE TEXT: no line of TEXT matches ERE.
assert_no_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then not_ok "$1" "a line matches /$2/ in:" "$3"; else ok "$1"; fi
}

# assert_contains NAME STRING TEXT: TEXT contains STRING (fixed string).
assert_contains() {
	if [[ "$3" == *"$2"* ]]; then ok "$1"; else not_ok "$1" "\"$2\" not found in:" "$3"; fi
}

# assert_true NAME COMMAND...: the command succeeds.
assert_true() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi
}

# ---- ezlb ----

# ez ARGS...: runs ezlb; sets RC, OUT (stdout), ERR (stderr) and logs them as comments.
# EZ_AS=(setpriv ...) runs it through a wrapper (e.g. as another user).
EZ_AS=()
ez() {
	"${EZ_AS[@]}" "$EZLB" "$@" >"$LB_STATE/out" 2>"$LB_STATE/err"
	RC=$?
	OUT=$(cat "$LB_STATE/out")
	ERR=$(cat "$LB_STATE/err")
	note "\$ ezlb $* -> exit $RC"
	# Whatever a test expects, ezlb dying from a signal (crash, abort) is a failure.
	[ "$RC" -ge 128 ] && [ "$RC" -ne 255 ] && not_ok "ezlb $1 killed by signal $((RC - 128))" "$ERR"
	[ -n "$OUT" ] && printf '%s\n' "$OUT" | head -n 40 | sed 's/^/#   out: /'
	[ -n "$ERR" ] && printf '%s\n' "$ERR" | head -n 40 | sed 's/^/#   err: /'
	return 0
}

# last_line TEXT
last_line() { printf '%s\n' "$1" | tail -n 1; }

# assert_rc NAME EXPECTED: the exit status of the last ez.
assert_rc() { assert_eq "$1 (exit status)" "$2" "$RC"; }

# conf NAME: writes stdin to $WORK/NAME.yaml and prints the path.
conf() { cat >"$WORK/$1.yaml"; echo "$WORK/$1.yaml"; }

# ---- the IPVS table (ipvsadm is the oracle) ----

# The table as ipvsadm -Sn prints it, lines sorted: the kernel lists in hash order, which changes
# when entries are re-created, so set equality is what "the same table" means across runs.
table() { ipvsadm -Sn | sed '/^$/d' | LC_ALL=C sort; }

# assert_table NAME < EXPECTED: EXPECTED in ipvsadm -Sn form, any order.
assert_table() {
	local want
	want=$(sed '/^$/d; s/^[ \t]*//' | LC_ALL=C sort)
	assert_eq "$1" "$want" "$(table)"
}

# snapshot FILE / assert_unchanged NAME FILE: the raw ipvsadm -Sn output, byte for byte.
snapshot() { ipvsadm -Sn >"$1"; }
assert_unchanged() {
	local now
	now=$(ipvsadm -Sn)
	if [ "$now" == "$(cat "$2")" ]; then
		ok "$1"
	else
		not_ok "$1" "table changed; before:" "$(cat "$2")" "after:" "$now"
	fi
}

# ---- network ----

# nsrun NS CMD...: run a command in a namespace.
nsrun() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

track_pid() { echo "$1" >>"$LB_STATE/pids"; }

# vm_net_setup N: the VIP interface, N backends serving TCP+UDP on 8080, the client namespace.
vm_net_setup() {
	local n=$1 i
	sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
	ip link add vip0 type dummy && ip link set vip0 up || return 1
	ip addr add 10.0.0.1/32 dev vip0 && ip -6 addr add fd00::1/128 dev vip0 nodad || return 1
	for i in $(seq 1 "$n"); do
		backend_add "$i" || return 1
		serve "$i" || return 1
	done
	link_ns cl vcl 10.2.0 fd02: || return 1
}

# link_ns NS HOSTIF V4PREFIX V6PREFIX: a namespace on a veth pair, host side .1, namespace .2.
link_ns() {
	local ns=$1 hif=$2 p4=$3 p6=$4
	ip netns add "$ns" || return 1
	ip link add "$hif" type veth peer name eth0 netns "$ns" || return 1
	ip addr add "$p4.1/24" dev "$hif" && ip -6 addr add "$p6:1/64" dev "$hif" nodad || return 1
	ip link set "$hif" up || return 1
	nsrun "$ns" ip link set lo up || return 1
	nsrun "$ns" ip addr add "$p4.2/24" dev eth0 || return 1
	nsrun "$ns" ip -6 addr add "$p6:2/64" dev eth0 nodad || return 1
	nsrun "$ns" ip link set eth0 up || return 1
	nsrun "$ns" ip route add default via "$p4.1" || return 1
	nsrun "$ns" ip -6 route add default via "$p6:1" || return 1
}

# backend_add I: namespace bI with addresses 10.1.I.2 and fd01:I::2, nothing listening yet.
backend_add() { link_ns "b$1" "vb$1" "10.1.$1" "fd01:$1:"; }

# serve I [PORT]: start TCP and UDP servers named bI in namespace bI (listening on return).
serve() {
	local i=$1 port=${2:-8080} pid udp
	for udp in "" -u; do
		# shellcheck disable=SC2086 # $udp is empty or one flag
		pid=$(nsrun "b$i" lbnet serve $udp -d "[::]:$port" "b$i") || return 1
		track_pid "$pid"
		echo "$pid" >>"$LB_STATE/pids.b$i"
	done
}

# serve_echo I [PORT] [NAME]: start a TCP echo server (lbnet serve -e, one process per connection)
# named NAME (default bI) in namespace bI; unserve stops it (and the connections it serves).
serve_echo() {
	local i=$1 port=${2:-8080} pid
	pid=$(nsrun "b$i" lbnet serve -e -d "[::]:$port" "${3:-b$i}") || return 1
	track_pid "$pid"
	echo "$pid" >>"$LB_STATE/pids.b$i"
}

# vip_add ADDR: one more IPv4 VIP on vip0 (after vm_net_setup).
vip_add() { ip addr add "$1/32" dev vip0; }

# unserve I: stop backend I's servers (its address stays up: connections are refused).
unserve() {
	local pid
	for pid in $(cat "$LB_STATE/pids.b$1"); do
		kill "$pid"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	done
	rm -f "$LB_STATE/pids.b$1"
}

# client ARGS...: lbnet client in the client namespace; prints its output.
client() { nsrun cl lbnet client "$@"; }

# count NAME OUTPUT: the count lbnet client printed for NAME (0 when absent).
count() { printf '%s\n' "$2" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'; }

# ---- lifecycle ----

# finish: records that the test ran to its end; exit status 1 if any check failed.
finish() {
	echo "finished $PASS $FAIL" >"$LB_STATE/status"
	[ "$FAIL" -eq 0 ]
	exit
}

mkdir -p "$LB_STATE" "$SAN_DIR"
WORK=/tmp/t/$T
mkdir -p "$WORK"

# ---- kernel-wide IPVS settings (t_ipvs_fields, t_syncd) ----

# ipvs_timeouts: the connection timeouts as "TCP TCPFIN UDP" (seconds), from ipvsadm -L --timeout.
ipvs_timeouts() { ipvsadm -L --timeout | sed -n 's/^Timeout (tcp tcpfin udp): *//p'; }

# ipvs_daemons [NS]: the sync daemons as ipvsadm -L --daemon lists them ("master sync daemon
# (mcast=IF, syncid=N, ...)"), sorted; empty when none runs. With NS, in that namespace.
ipvs_daemons() {
	if [ -n "${1:-}" ]; then nsrun "$1" ipvsadm -Ln --daemon; else ipvsadm -Ln --daemon; fi |
		sed '/^$/d' | LC_ALL=C sort
}

# assert_plan_empty NAME ARGS...: `ezlb once --dry-run ARGS` plans nothing, neither in the table
# nor in the kernel-wide settings: its whole output is "plan: no changes".
assert_plan_empty() {
	local name=$1
	shift
	ez once --dry-run "$@"
	assert_eq "$name: a dry run then plans nothing" "plan: no changes" "$OUT"
}

# apply_edits NAME EDITS FILE [PLAN_LINE...]: a dry run of FILE plans exactly EDITS in-place
# edits and no add or delete, each PLAN_LINE among them; then `ezlb once` applies them and its
# summary says so. PLAN is the dry run's output.
apply_edits() {
	local name=$1 edits=$2 file=$3 line
	shift 3
	ez once --dry-run --no-health-check -c "$file"
	assert_rc "$name: dry-run" 0
	PLAN=$OUT
	assert_eq "$name: dry-run plans $edits edits" "$edits" "$(printf '%s\n' "$OUT" | grep -c '^~ ')"
	assert_no_match "$name: dry-run plans no add or delete" '^[-+] ' "$OUT"
	for line in "$@"; do
		assert_eq "$name: plan line \"$line\"" "$line" "$(printf '%s\n' "$OUT" | grep -Fx -- "$line")"
	done
	ez once --no-health-check -c "$file"
	assert_rc "$name: once" 0
	assert_match "$name: summary counts $edits edits, no failure" \
		"^once: $edits changes? \\(0 added, $edits edited, 0 deleted\\), 0 failed\$" "$(last_line "$OUT")"
}
