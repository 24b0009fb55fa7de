#!/bin/bash
# Each field of an existing service or destination is changed in place (an edit, not a delete and
# re-add): weights, scheduler, forwarding method (nat -> dr -> tun -> nat), persistence timeout
# and netmask. Each step: the dry-run plans exactly the edits, `once` reports them as edits, and
# ipvsadm reads back exactly the config.
. /tests/lib.sh
cd "$WORK" || exit 1
vm_net_setup 2 || not_ok "network setup"
serve 1 80 && serve 2 80 || not_ok "servers on port 80"

# write SCHED FWD PERSIST W1 W2: the config. DR and TUN cannot change ports, so backends use 80.
write() {
	{
		echo "services:"
		echo "  - name: web"
		echo "    listen: 10.0.0.1:80"
		echo "    scheduler: $1"
		echo "    forward: $2"
		[ -n "$3" ] && echo "    persistence: $3"
		echo "    backends:"
		echo "      - {address: 10.1.1.2:80, weight: $4}"
		echo "      - {address: 10.1.2.2:80, weight: $5}"
	} >"$WORK/e.yaml"
}

# expect SCHED FWD PFLAGS W1 W2: the table in ipvsadm -Sn form.
expect() {
	local flag t=""
	case $2 in nat) flag=-m ;; dr) flag=-g ;; tun) flag=-i t=" --tun-type ipip" ;; esac
	printf '%s\n' "-A -t 10.0.0.1:80 -s $1$3" \
		"-a -t 10.0.0.1:80 -r 10.1.1.2:80 $flag -w $4$t" \
		"-a -t 10.0.0.1:80 -r 10.1.2.2:80 $flag -w $5$t"
}

# apply NAME EDITS [PLAN_LINE...]: e.yaml's edits, planned and applied (apply_edits in lib.sh).
apply() { apply_edits "$1" "$2" e.yaml "${@:3}"; }

write wrr nat "" 5 3
ez once --no-health-check -c e.yaml
assert_rc "base config applied" 0
expect wrr nat "" 5 3 | assert_table "base: table"
# Traffic now; the service's connection counter survives edits but a re-created service starts
# from 0, so the counter at the end proves every step edited in place.
r=$(client -t 1000 10.0.0.1:80 16)
assert_eq "base: traffic by wrr 5:3" "$(printf 'b1 10\nb2 6\nfail 0')" "$r"

write wrr nat "" 2 7
apply weights 2 "~ dest web tcp 10.0.0.1:80 -> 10.1.1.2:80: weight 5 -> 2" \
	"~ dest web tcp 10.0.0.1:80 -> 10.1.2.2:80: weight 3 -> 7"
expect wrr nat "" 2 7 | assert_table "weights: table"

write sh nat "" 2 7
apply scheduler 1 "~ service web tcp 10.0.0.1:80: scheduler wrr -> sh"
expect sh nat "" 2 7 | assert_table "scheduler: table"

write sh dr "" 2 7
apply "forward nat->dr" 2 "~ dest web tcp 10.0.0.1:80 -> 10.1.1.2:80: forward nat -> dr"
expect sh dr "" 2 7 | assert_table "forward nat->dr: table"

write sh tun "" 2 7
apply "forward dr->tun" 2 "~ dest web tcp 10.0.0.1:80 -> 10.1.2.2:80: forward dr -> tun"
expect sh tun "" 2 7 | assert_table "forward dr->tun: table"

write sh nat "" 2 7
apply "forward tun->nat" 2
expect sh nat "" 2 7 | assert_table "forward tun->nat: table"

write sh nat "{timeout: 300s}" 2 7
apply "persistence on" 1
# The line may name other fields that change with it (the persistent flag), so match a part.
assert_match "persistence on: plan names the timeout" \
	'^~ service web tcp 10\.0\.0\.1:80: (.*, )?persistence 0s -> 300s(,|$)' "$PLAN"
expect sh nat " -p 300" 2 7 | assert_table "persistence on: table"

write sh nat "{timeout: 300s, netmask: 255.255.255.0}" 2 7
apply "persistence netmask" 1
assert_match "persistence netmask: plan names the netmask" '^~ service web tcp 10\.0\.0\.1:80: .*netmask' "$PLAN"
expect sh nat " -p 300 -M 255.255.255.0" 2 7 | assert_table "persistence netmask: table"

write sh nat "{timeout: 600s, netmask: 255.255.255.0}" 2 7
apply "persistence timeout" 1
assert_match "persistence timeout: plan names the timeout" \
	'^~ service web tcp 10\.0\.0\.1:80: (.*, )?persistence 300s -> 600s(,|$)' "$PLAN"
expect sh nat " -p 600 -M 255.255.255.0" 2 7 | assert_table "persistence timeout: table"

write sh nat "" 2 7
apply "persistence off" 1
expect sh nat "" 2 7 | assert_table "persistence off: table"

write rr dr "{timeout: 60s}" 0 1
apply "several fields at once" 3
expect rr dr " -p 60" 0 1 | assert_table "several fields at once: table"

conns=$(ipvsadm -Ln --stats --exact -t 10.0.0.1:80 | awk '$1 == "TCP" { print $3 }')
assert_eq "the service was never re-created (its connection counter kept the 16)" 16 "$conns"

finish
