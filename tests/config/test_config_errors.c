/* Every bad fixture with the exact messages it must produce, in order (sorted by line:column).
 * Each fixture runs as its own test; a fixture without an entry here fails test_every_fixture. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define FIX "tests/config/fixtures/"
#define MAX_MSGS 32

struct bad_case {
	const char *file;
	const char *msgs[MAX_MSGS]; /* each follows the file name; NULL-terminated */
};

static const struct bad_case cases[] = {
	{"bad_alias.yaml",
	 {":1:1: x: unknown key; valid keys here are global, services and include",
	  ":2:1: y: unknown key; valid keys here are global, services and include",
	  ":3:1: z: unknown key; valid keys here are global, services and include",
	  ":7:15: services[0].backends: YAML aliases are not supported (*c); write the value out",
	  ":9:13: services[1].listen: YAML aliases are not supported (*l); write the value out"}},
	{"bad_backend_address.yaml",
	 {":5:18: services[0].backends[0].address: \"192.168.1.300:80\" is not an IP:port",
	  ":6:18: services[0].backends[1].address: port 99999 in \"192.168.1.10:99999\" is out of range 1..65535",
	  ":7:18: services[0].backends[2].address: \"\" is not an IP:port",
	  ":8:17: services[0].backends[3].address: missing value",
	  ":9:9: services[0].backends[4]: missing required key \"address\""}},
	{"bad_backends_type.yaml",
	 {":4:15: services[0].backends: expected a sequence, got \"5\"",
	  ":7:14: services[1].backends: expected a sequence, got null; write \"backends: []\" for no backends",
	  ":10:15: services[2].backends: expected a sequence, got a mapping",
	  ":14:9: services[3].backends[0]: expected a mapping, got \"10.0.1.1:80\"",
	  ":15:9: services[3].backends[1]: expected a mapping, got a sequence",
	  ":16:5: services[4]: expected a mapping, got \"web\""}},
	{"bad_brief_example.yaml",
	 {":14:20: services[1].backends[0].address: \"192.168.1.300:80\" is not an IP:port"}},
	{"bad_check_kinds.yaml",
	 {":1:27: global.max_exec_checks: \"0\" is out of range 1..4096",
	  ":6:13: services[0].health_check.type: \"htp\" is not a valid check type (did you mean \"http\"?)",
	  ":7:13: services[0].health_check.port: \"0\" is out of range 1..65535",
	  ":8:22: services[0].health_check.fast_interval: \"10s\" must not be longer than the interval (5s)",
	  ":12:26: services[1].health_check.type: type http needs a tcp service, this one is udp",
	  ":15:37: services[2].health_check.http: http settings need type: http or https, but the check is tcp",
	  ":15:54: services[2].health_check.exec: exec settings need type: exec, but the check is tcp",
	  ":15:83: services[2].health_check.dns: dns settings need type: dns, but the check is tcp",
	  ":15:92: services[2].health_check.udp: udp settings need type: udp, but the check is tcp",
	  ":20:20: services[3].health_check.http.path: \"healthz\" is not a request path: it must start with \"/\" and hold no spaces or control characters (encode them as %20 ...)",
	  ":20:46: services[3].health_check.http.status: \"2xx\" is not an HTTP status code or range such as 200 or 200-299 (codes are 100..599)",
	  ":20:60: services[3].health_check.http.expect: the value is empty; leave the key out instead",
	  ":20:76: services[3].health_check.http.tls_verify: only applies to type: https",
	  ":20:88: services[3].health_check.http.host: \"a b\" is not a host name or address",
	  ":20:95: services[3].health_check.http.x: unknown key; valid keys here are path, host, status, expect, tls_verify and ca_file",
	  ":23:48: services[4].health_check.http.status: \"600\" is not an HTTP status code or range such as 200 or 200-299 (codes are 100..599)",
	  ":26:26: services[5].health_check.type: type exec needs exec.command, the program to run",
	  ":29:48: services[6].health_check.exec.command: expected a sequence, got \"/bin/true\"; write the program and its arguments as a list, e.g. [\"/usr/local/bin/check\", \"--quick\"]",
	  ":32:49: services[7].health_check.exec.command[0]: \"bin/true\" is not an absolute path; the command runs without a shell and without a PATH search",
	  ":32:60: services[7].health_check.exec.args: unknown key; valid keys here are command",
	  ":36:43: services[8].health_check.dns.name: \"a..b\" is not a DNS name (labels of 1 to 63 bytes, at most 255 bytes on the wire)",
	  ":36:58: services[8].health_check.dns.qtype: \"PTR\" is not a valid query type; expected A, AAAA, NS, SOA, MX, TXT or CNAME",
	  ":40:48: services[9].health_check.udp.send: give send or send_hex, not both",
	  ":40:66: services[9].health_check.udp.expect_hex: the value is not pairs of hex digits (1 to 1400 bytes)",
	  ":44:36: services[10].health_check.udp.send_hex: the value is not pairs of hex digits (1 to 1400 bytes)",
	  ":47:49: services[11].health_check.http.ca_file: \"ca.pem\" is not an absolute path"}},
	{"bad_check_values.yaml",
	 {":5:16: services[0].health_check.enabled: \"yes\" is not a boolean; write true or false",
	  ":6:19: services[0].health_check.fail_count: \"0\" is out of range 1..1000",
	  ":7:19: services[0].health_check.rise_count: \"1001\" is out of range 1..1000",
	  ":8:16: services[0].health_check.initial: \"unknown\" is not a valid initial state; expected down or up",
	  ":9:19: services[0].health_check.on_failure: \"drop\" is not a valid on_failure action; expected remove or quiesce",
	  ":13:16: services[1].health_check.enabled: \"true\" is a quoted string, not a boolean; write true or false without quotes",
	  ":14:16: services[1].health_check.initial: \"UP\" is not a valid initial state (did you mean \"up\"?)",
	  ":17:19: services[2].health_check: expected a mapping, got \"true\""}},
	{"bad_comments_only.yaml",
	 {": empty configuration; write \"services: []\" to run with no services"}},
	{"bad_complex_key.yaml",
	 {":2:5: services[0]: missing required key \"name\"",
	  ":2:7: services[0]: a key must be a plain name, not a sequence"}},
	{"bad_deep.yaml",
	 {":1:74: nesting deeper than 64 levels"}},
	{"bad_dr_port.yaml",
	 {":7:18: services[0].backends[1].address: \"10.0.1.2:8080\" has port 8080 but forward: dr cannot change the port; use the listen port 80",
	  ":12:18: services[1].backends[0].address: \"10.0.1.1:81\" has port 81 but forward: tun cannot change the port; use the listen port 80"}},
	{"bad_drain_quorum.yaml",
	 {":1:25: global.drain_timeout: \"25h\" is too long (at most 24h)",
	  ":5:20: services[0].drain_timeout: \"24h1ms\" is too long (at most 24h)",
	  ":6:13: services[0].quorum: missing required key \"min_up\"",
	  ":6:23: services[0].quorum.on_loss: \"sory\" is not a valid on_loss action (did you mean \"sorry\"?)",
	  ":9:20: services[1].drain_timeout: \"5\" has no unit; write e.g. \"5s\" (units: ms, s, m, h)",
	  ":10:22: services[1].quorum.min_up: \"3\" is more than the number of backends (2): the service could never have quorum",
	  ":10:25: services[1].quorum.x: unknown key; valid keys here are min_up and on_loss",
	  ":14:22: services[2].quorum.min_up: \"0\" is out of range; the minimum is 1",
	  ":15:53: services[3].quorum.min_up: \"-1\" is out of range; the minimum is 1",
	  ":16:53: services[4].quorum.min_up: \"0%\" is out of range 1%..100%",
	  ":17:53: services[5].quorum.min_up: \"101%\" is out of range 1%..100%",
	  ":18:53: services[6].quorum.min_up: \"abc\" is not a count or a percentage; write e.g. 2 or \"50%\"",
	  ":19:53: services[7].quorum.min_up: \"1\" is a quoted string, not a number; remove the quotes",
	  ":20:53: services[8].quorum.min_up: \"1.5\" is not a count or a percentage; write e.g. 2 or \"50%\"",
	  ":23:36: services[9].quorum.on_loss: \"sorry\" needs sorry_servers (the servers used while quorum is lost); add them or choose fail_open or empty",
	  ":27:20: services[10].sorry_servers: would never be used: quorum.on_loss is fail_open; sorry servers need on_loss: sorry",
	  ":32:7: services[11].sorry_servers: would never be used: quorum.on_loss is empty; sorry servers need on_loss: sorry",
	  ":37:19: services[12].sorry_servers[0].address: \"[2001:db8::9]:80\" is IPv6 but listen 10.0.0.13:80 is IPv4; only forward: tun can mix families",
	  ":37:47: services[12].sorry_servers[0].weight: \"70000\" is out of range 0..65535",
	  ":38:19: services[12].sorry_servers[1].address: \"10.0.9.9:8080\" has port 8080 but forward: dr cannot change the port; use the listen port 80",
	  ":39:9: services[12].sorry_servers[2]: missing required key \"address\"",
	  ":41:19: services[12].sorry_servers[4].address: duplicate sorry server 10.0.1.1:80 (first at line 40)",
	  ":44:13: services[13].quorum: expected a mapping, got \"2\"",
	  ":45:19: services[13].sorry_servers: expected a sequence, got null; write \"sorry_servers: []\" for no sorry servers",
	  ":48:12: services[14].quorum: expected a mapping, got null"}},
	{"bad_dup_backend.yaml",
	 {":7:18: services[0].backends[2].address: duplicate backend 10.0.1.1:80 (first at line 5)"}},
	{"bad_dup_listen.yaml",
	 {":8:13: services[2].listen: tcp 10.0.0.1:80 is already used by service \"web\" (line 3)",
	  ":13:13: services[4].listen: tcp [2001:db8::1]:80 is already used by service \"v6\" (line 11)"}},
	{"bad_dup_name.yaml",
	 {":6:11: services[2].name: duplicate service name \"web\" (first at line 2)",
	  ":8:11: services[3].name: duplicate service name \"web\" (first at line 2)"}},
	{"bad_duplicate_key.yaml",
	 {":4:5: services[0].name: duplicate key (first at line 2)",
	  ":5:1: services: duplicate key (first at line 1)"}},
	{"bad_durations.yaml",
	 {":2:20: global.resync_interval: \"500ms\" is too short; the minimum is 1s",
	  ":6:30: services[0].health_check.interval: \"5\" has no unit; write e.g. \"5s\" (units: ms, s, m, h)",
	  ":6:42: services[0].health_check.timeout: \"0s\" must be greater than zero",
	  ":9:30: services[1].health_check.interval: \"abc\" is not a duration (e.g. 500ms, 5s, 1m, 1h)",
	  ":9:44: services[1].health_check.timeout: \"-5s\" is not a duration (e.g. 500ms, 5s, 1m, 1h)",
	  ":12:30: services[2].health_check.interval: \"99999h\" is too long (at most 1193h)",
	  ":12:47: services[2].health_check.timeout: \"1.5s\" is not a duration (e.g. 500ms, 5s, 1m, 1h)",
	  ":15:30: services[3].health_check.interval: \"5 s\" is not a duration (e.g. 500ms, 5s, 1m, 1h)",
	  ":15:44: services[3].health_check.timeout: \"1sec\" is not a duration (e.g. 500ms, 5s, 1m, 1h)"}},
	{"bad_enums.yaml",
	 {":4:15: services[0].protocol: \"icmp\" is not a valid protocol; expected tcp, udp or sctp",
	  ":5:16: services[0].scheduler: \"wrrr\" is not a valid scheduler (did you mean \"wrr\"?)",
	  ":6:14: services[0].forward: \"masq\" is not a valid forwarding method (did you mean \"nat\"?)",
	  ":9:15: services[1].protocol: \"TCP\" is not a valid protocol (did you mean \"tcp\"?)",
	  ":10:16: services[1].scheduler: \"random\" is not a valid scheduler; expected rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh or twos",
	  ":11:14: services[1].forward: expected a single value, got a sequence"}},
	{"bad_family.yaml",
	 {":5:18: services[0].backends[0].address: \"[2001:db8::10]:80\" is IPv6 but listen 10.0.0.1:80 is IPv4; only forward: tun can mix families",
	  ":10:18: services[1].backends[0].address: \"10.0.0.10:80\" is IPv4 but listen [2001:db8::1]:80 is IPv6; only forward: tun can mix families"}},
	{"bad_global.yaml",
	 {":2:14: global.log_level: \"verbose\" is not a valid log level; expected debug, info, notice, warn or error",
	  ":3:20: global.resync_interval: \"500ms\" is too short; the minimum is 1s"}},
	{"bad_global_type.yaml",
	 {":1:9: global: expected a mapping, got a sequence"}},
	{"bad_ipv6_unquoted.yaml",
	 {":3:26: YAML syntax error: did not find expected key (while parsing a block mapping at line 2, column 5); quote IPv6 endpoints: \"[2001:db8::1]:80\""}},
	{"bad_ipvs_conns.yaml",
	 {":5:43: services[0].backends[0].min_conns: needs max_conns: min_conns is where a backend that "
	  "max_conns stopped takes new connections again",
	  ":6:59: services[0].backends[1].min_conns: \"100\" must be less than max_conns (100)",
	  ":7:57: services[0].backends[2].min_conns: \"5\" has no effect with max_conns 0 (no limit); set "
	  "max_conns above it or write 0",
	  ":8:43: services[0].backends[3].max_conns: \"2147483648\" is out of range 0..2147483647",
	  ":9:43: services[0].backends[4].max_conns: \"-1\" is out of range 0..2147483647",
	  ":10:47: services[0].backends[5].min_cons: unknown key (did you mean \"min_conns\"?)",
	  ":11:58: services[0].backends[6].min_conns: \"11\" must be less than max_conns (10)",
	  ":13:58: services[0].sorry_servers[0].min_conns: \"20\" must be less than max_conns (10)",
	  ":14:43: services[0].sorry_servers[1].min_conns: needs max_conns: min_conns is where a backend "
	  "that max_conns stopped takes new connections again"}},
	{"bad_ipvs_fwmark.yaml",
	 {":3:23: services[1].fwmark: fwmark 100 ipv4 is already used by service \"a\" (line 2)",
	  ":5:23: services[3].fwmark: give listen or fwmark, not both",
	  ":6:23: services[4].fwmark: fwmark 100 ipv6 is already used by service \"c\" (line 4)",
	  ":12:18: services[6].backends[0].address: \"[2001:db8::1]:80\" is IPv6 but the service (fwmark 7) "
	  "is IPv4; only forward: tun can mix families",
	  ":15:18: services[6].sorry_servers[0].address: \"[2001:db8::9]:80\" is IPv6 but the service "
	  "(fwmark 7) is IPv4; only forward: tun can mix families"}},
	{"bad_ipvs_one_packet.yaml",
	 {":4:17: services[0].one_packet: one_packet needs a udp service, this one is tcp",
	  ":8:17: services[1].one_packet: one_packet needs a udp service, this one is sctp",
	  ":12:17: services[2].one_packet: \"yes\" is not a boolean; write true or false",
	  ":15:15: services[3].protocol: \"udpp\" is not a valid protocol (did you mean \"udp\"?)"}},
	{"bad_ipvs_sched_flags.yaml",
	 {":5:23: services[0].scheduler_flags[0]: \"mh-port\" needs scheduler: mh, but the scheduler is sh",
	  ":5:41: services[0].scheduler_flags[2]: \"sh-port\" is listed twice (first at line 5)",
	  ":5:50: services[0].scheduler_flags[3]: \"sh-fallbak\" is not a valid scheduler flag (did you "
	  "mean \"sh-fallback\"?)",
	  ":8:23: services[1].scheduler_flags[0]: \"mh-fallback\" needs scheduler: mh, but the scheduler "
	  "is wlc",
	  ":11:22: services[2].scheduler_flags: expected a sequence, got \"mh-port\"; write a list such as "
	  "[mh-port, mh-fallback], or [] for none",
	  ":14:16: services[3].scheduler: \"mhh\" is not a valid scheduler; expected rr, wrr, lc, wlc, "
	  "lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh or twos",
	  ":19:23: services[4].scheduler_flags[0]: \"port\" is not a valid scheduler flag; expected "
	  "sh-port, sh-fallback, mh-port or mh-fallback",
	  ":19:29: services[4].scheduler_flags[1]: expected a single value, got a mapping",
	  ":19:46: services[4].scheduler_flags[2]: \"sh-fallback\" needs scheduler: sh, but the scheduler "
	  "is mh"}},
	{"bad_ipvs_sync.yaml",
	 {":3:16: global.sync.interface: \"eth 1\" is not an interface name: 1 to 15 bytes without \"/\", "
	  "\":\" or whitespace, and not \".\" or \"..\"",
	  ":4:9: global.sync.id: \"256\" is out of range 0..255",
	  ":5:11: global.sync.role: \"bakup\" is not a valid sync role (did you mean \"backup\"?)",
	  ":6:12: global.sync.group: \"10.0.0.1\" is not a multicast address (224.0.0.0/4)",
	  ":7:11: global.sync.port: \"0\" is out of range 1..65535",
	  ":8:10: global.sync.ttl: \"256\" is out of range 1..255",
	  ":10:5: global.sync.mtu: unknown key; valid keys here are interface, id, role, group, port, ttl "
	  "and max_len"}},
	{"bad_ipvs_sync_group.yaml",
	 {":3:16: global.sync.interface: \"..\" is not an interface name: 1 to 15 bytes without \"/\", "
	  "\":\" or whitespace, and not \".\" or \"..\"",
	  ":4:12: global.sync.group: \"224.0.0.81:8848\" is not an IP address; write the group alone, such "
	  "as 224.0.0.81 or ff02::81 (the port is sync.port)",
	  ":5:14: global.sync.max_len: \"0\" is out of range 1..65535",
	  ":6:11: global.sync.role: \"mastr\" is not a valid sync role (did you mean \"master\"?)"}},
	{"bad_ipvs_sync_maxlen.yaml",
	 {":2:21: global.sync.interface: \"abcdefghijklmnop\" is not an interface name: 1 to 15 bytes "
	  "without \"/\", \":\" or whitespace, and not \".\" or \"..\"",
	  ":2:60: global.sync.max_len: \"1000\" is out of range 1024..65507: the kernel would raise a "
	  "backup's message size to 1024 (role both)"}},
	{"bad_ipvs_sync_maxlen4.yaml",
	 {":2:21: global.sync.interface: \"/\" is not an interface name: 1 to 15 bytes without \"/\", "
	  "\":\" or whitespace, and not \".\" or \"..\"",
	  ":2:49: global.sync.max_len: \"65508\" is out of range 1024..65507: a message and the IPv4 and "
	  "UDP headers must fit in 65535 bytes"}},
	{"bad_ipvs_sync_maxlen6.yaml",
	 {":2:21: global.sync.interface: \"eth0:1\" is not an interface name: 1 to 15 bytes without \"/\", "
	  "\":\" or whitespace, and not \".\" or \"..\"",
	  ":2:73: global.sync.max_len: \"65488\" is out of range 1..65487: a message and the IPv6 and UDP "
	  "headers must fit in 65535 bytes"}},
	{"bad_ipvs_sync_missing.yaml",
	 {":2:13: global.timeouts: expected a mapping, got \"900s\"",
	  ":3:9: global.sync: missing required key \"interface\"; the network interface the sync messages "
	  "use",
	  ":3:24: global.sync.group: \"2001:db8::1\" is not a multicast address (ff00::/8)"}},
	{"bad_ipvs_sync_null.yaml",
	 {":2:8: global.sync: expected a mapping, got null"}},
	{"bad_ipvs_timeouts.yaml",
	 {":3:10: global.timeouts.tcp: \"0s\" must be greater than zero; leave the key out to keep the "
	  "kernel's timeout",
	  ":4:14: global.timeouts.tcp_fin: \"1500ms\" is not a whole number of seconds; the kernel counts "
	  "these timeouts in seconds",
	  ":5:10: global.timeouts.udp: \"2073601s\" is too long (at most 576h)",
	  ":6:5: global.timeouts.icmp: unknown key; valid keys here are tcp, tcp_fin and udp"}},
	{"bad_ipvs_timeouts_more.yaml",
	 {":2:19: global.timeouts.tcp: \"500ms\" is not a whole number of seconds; the kernel counts these "
	  "timeouts in seconds",
	  ":2:35: global.timeouts.tcp_fin: \"900\" has no unit; write e.g. \"900s\" (units: ms, s, m, h)",
	  ":2:45: global.timeouts.udp: \"577h\" is too long (at most 576h)"}},
	{"bad_announce.yaml",
	 {":4:15: services[0].announce: a fwmark service has no VIP to announce: announce needs listen",
	  ":7:15: services[1].announce: missing required key \"interface\" (the interface the VIP goes "
	  "on, e.g. ezlb0)",
	  ":10:27: services[2].announce.interface: \"eth/0\" is not an interface name: 1 to 15 bytes "
	  "without \"/\", \":\" or whitespace, and not \".\" or \"..\"",
	  ":13:34: services[3].announce.interfac: unknown key (did you mean \"interface\"?)",
	  ":16:15: services[4].announce: expected a mapping, got \"ezlb0\"",
	  ":19:27: services[5].announce.interface: \"averyveryverylongname\" is not an interface name: "
	  "1 to 15 bytes without \"/\", \":\" or whitespace, and not \".\" or \"..\""}},
	{"bad_ipvs_tunnel.yaml",
	 {":4:13: services[0].tunnel: only applies to forward: tun, but the forwarding method is nat",
	  ":8:13: services[1].tunnel: type gue needs port, the UDP port the backends receive GUE on",
	  ":12:32: services[2].tunnel.port: only applies to type: gue, but the type is ipip",
	  ":12:48: services[2].tunnel.checksum: type ipip has no checksum option; leave checksum out or "
	  "write none",
	  ":16:31: services[3].tunnel.port: only applies to type: gue, but the type is gre",
	  ":16:44: services[3].tunnel.checksum: remote needs type: gue, but the type is gre",
	  ":20:20: services[4].tunnel.type: \"geu\" is not a valid tunnel type (did you mean \"gue\"?)",
	  ":20:35: services[4].tunnel.checksum: \"remot\" is not a valid checksum mode (did you mean "
	  "\"remote\"?)",
	  ":20:48: services[4].tunnel.port: \"0\" is out of range 1..65535",
	  ":24:14: services[5].tunnel.typ: unknown key (did you mean \"type\"?)",
	  ":27:14: services[6].forward: \"tunnel\" is not a valid forwarding method (did you mean \"tun\"?)",
	  ":28:13: services[6].tunnel: type gue needs port, the UDP port the backends receive GUE on",
	  ":32:12: services[7].tunnel: expected a mapping, got null"}},
	{"bad_ipvs_vip.yaml",
	 {":4:13: services[0].fwmark: give listen or fwmark, not both",
	  ":5:5: services[1]: missing required key \"listen\" (or \"fwmark\" for a firewall-mark service)",
	  ":9:13: services[2].family: only applies to fwmark services; a listen address has its own "
	  "family",
	  ":11:13: services[3].fwmark: \"0\" is out of range 1..4294967295",
	  ":14:13: services[4].family: \"ipv5\" is not a valid address family (did you mean \"ipv4\"?)",
	  ":16:13: services[5].fwmark: \"4294967296\" is out of range 1..4294967295",
	  ":17:13: services[5].family: \"IPv6\" is not a valid address family (did you mean \"ipv6\"?)"}},
	{"bad_listen.yaml",
	 {":3:13: services[0].listen: \"10.0.0.300:80\" is not an IP:port",
	  ":5:13: services[1].listen: \"10.0.0.1\" is not an IP:port",
	  ":7:13: services[2].listen: port 70000 in \"10.0.0.1:70000\" is out of range 1..65535",
	  ":9:13: services[3].listen: port 0 in \"10.0.0.1:0\" is out of range 1..65535",
	  ":11:13: services[4].listen: \"2001:db8::1:80\" is not an IP:port (write IPv6 endpoints as \"[2001:db8::1]:80\")",
	  ":13:13: services[5].listen: \"[2001:db8::1]\" is not an IP:port",
	  ":15:13: services[6].listen: \"[2001:db8::zz]:80\" is not an IP:port",
	  ":17:13: services[7].listen: \"web.example.com:80\" is not an IP:port"}},
	{"bad_missing_required.yaml",
	 {":2:5: services[0]: missing required key \"listen\" (or \"fwmark\" for a firewall-mark service)",
	  ":3:5: services[1]: missing required key \"name\"",
	  ":4:5: services[2]: missing required key \"name\"",
	  ":4:5: services[2]: missing required key \"listen\" (or \"fwmark\" for a firewall-mark "
	  "service)"}},
	{"bad_missing_services.yaml",
	 {":1:1: (top level): missing required key \"services\"; write \"services: []\" for a configuration with no services"}},
	{"bad_name.yaml",
	 {":2:11: services[0].name: \"web service\" is not a valid name: use 1 to 64 letters, digits, \".\", \"_\" or \"-\"",
	  ":4:11: services[1].name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not a valid name: use 1 to 64 letters, digits, \".\", \"_\" or \"-\"",
	  ":6:11: services[2].name: \"\" is not a valid name: use 1 to 64 letters, digits, \".\", \"_\" or \"-\"",
	  ":8:11: services[3].name: expected a single value, got a mapping",
	  ":10:10: services[4].name: missing value"}},
	{"bad_nul.yaml",
	 {":2:11: a string contains a NUL character"}},
	{"bad_observe.yaml",
	 {":2:21: global.metrics.listen: port 0 in \"127.0.0.1:0\" is out of range 1..65535",
	  ":2:36: global.metrics.lisen: unknown key (did you mean \"listen\"?)",
	  ":3:11: global.notify: expected a sequence, got \"/usr/local/bin/ezlb-notify --flag\"; write the "
	  "program and its arguments as a list, e.g. [\"/usr/local/bin/ezlb-notify\", \"--flag\"] (no shell runs it)",
	  ":4:19: global.notify_timeout: \"50ms\" is too short; the minimum is 100ms"}},
	{"bad_observe_clash.yaml",
	 {":3:21: global.metrics.listen: 10.0.0.1:80 is the listen address of tcp service \"web\" (line 7): "
	  "IPVS would forward its connections to that service's backends",
	  ":4:19: global.notify_timeout: applies to the notify hooks, but there is no notify command"}},
	{"bad_observe_empty.yaml",
	 {":2:11: global.metrics: expected a mapping, got null; write \"metrics: {}\" to serve /metrics on "
	  "127.0.0.1:9521, or leave the key out for no listener",
	  ":3:11: global.notify: is empty; give at least the program, or leave the key out for no hooks",
	  ":4:19: global.notify_timeout: \"0s\" must be greater than zero"}},
	{"bad_observe_notify.yaml",
	 {":2:21: global.metrics.listen: port 99999 in \"[::1]:99999\" is out of range 1..65535",
	  ":2:36: global.metrics.path: unknown key; valid keys here are listen",
	  ":3:12: global.notify[0]: \"bin/hook\" is not an absolute path; the hook runs without a shell and "
	  "without a PATH search",
	  ":3:22: global.notify[1]: an empty argument; each is 1 to 4096 bytes",
	  ":3:26: global.notify[2]: expected a single value, got a mapping",
	  ":3:34: global.notify[3]: missing value",
	  ":3:40: global.notify[4]: expected a single value, got a sequence",
	  ":4:19: global.notify_timeout: \"11m\" is too long (at most 10m)"}},
	{"bad_observe_seq.yaml",
	 {":2:12: global.metrics: expected a mapping, got a sequence; write \"metrics: {}\" to serve /metrics "
	  "on 127.0.0.1:9521, or leave the key out for no listener",
	  ":3:11: global.notify: expected a sequence, got a mapping; write the program and its arguments as a "
	  "list, e.g. [\"/usr/local/bin/ezlb-notify\", \"--flag\"] (no shell runs it)"}},
	{"bad_observe_types.yaml",
	 {":2:12: global.metrics: expected a mapping, got \"true\"; write \"metrics: {}\" to serve /metrics on "
	  "127.0.0.1:9521, or leave the key out for no listener",
	  ":3:11: global.notify: expected a sequence, got \"/usr/local/bin/ezlb-notify\"; write the command as "
	  "a list: [\"/usr/local/bin/ezlb-notify\"]",
	  ":4:19: global.notify_timeout: \"10\" has no unit; write e.g. \"10s\" (units: ms, s, m, h)"}},
	{"bad_odd_text.yaml",
	 {":4:5: services[0].bad?key: unknown key; valid keys here are name, listen, fwmark, family, "
	  "protocol, scheduler, scheduler_flags, one_packet, forward, tunnel, persistence, health_check, "
	  "backends, drain_timeout, quorum, sorry_servers and announce",
	  ":5:16: services[0].scheduler: \"ééééééééééééééééééééééééééééééééééééééééééé...\" is not a valid scheduler; expected rr, wrr, lc, "
	  "wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh or twos"}},
	{"bad_persistence.yaml",
	 {":4:28: services[0].persistence.timeout: \"1500ms\" is not a whole number of seconds",
	  ":4:45: services[0].persistence.netmask: \"255.0.255.0\" is not a contiguous netmask of 1 to 32 bits",
	  ":7:18: services[1].persistence: missing required key \"timeout\"",
	  ":7:28: services[1].persistence.netmask: \"/33\" is out of range: an IPv4 prefix length is 1..32",
	  ":10:41: services[2].persistence.netmask: \"255.255.255.0\" is an IPv4 netmask but the service is IPv6; write a prefix length such as /64",
	  ":13:41: services[3].persistence.netmask: \"/129\" is out of range: an IPv6 prefix length is 1..128",
	  ":16:41: services[4].persistence.netmask: \"everyone\" is not a netmask; write a prefix length (/24) or a dotted IPv4 mask (255.255.255.0)",
	  ":19:41: services[5].persistence.netmask: \"0.0.0.0\" is not a contiguous netmask of 1 to 32 bits",
	  ":22:18: services[6].persistence: expected a mapping, got \"300s\""}},
	{"bad_services_map.yaml",
	 {":2:3: services: expected a sequence, got a mapping"}},
	{"bad_services_null.yaml",
	 {":3:10: services: expected a sequence, got null; write \"services: []\" for no services"}},
	{"bad_syntax.yaml",
	 {":4:3: YAML syntax error: did not find expected '-' indicator (while parsing a block collection at line 2, column 3)"}},
	{"bad_timeout_interval.yaml",
	 {":4:43: services[0].health_check.timeout: \"5s\" must be shorter than the interval (5s)",
	  ":7:30: services[1].health_check.interval: \"2s\" must be longer than the timeout (3s)",
	  ":10:29: services[2].health_check.timeout: \"1m\" must be shorter than the interval (5s)"}},
	{"bad_top_scalar.yaml",
	 {":1:1: (top level): expected a mapping, got \"hello\""}},
	{"bad_top_sequence.yaml",
	 {":1:1: (top level): expected a mapping, got a sequence"}},
	{"bad_two_docs.yaml",
	 {":2:1: a second YAML document; the configuration must be a single document"}},
	{"bad_unknown_key.yaml",
	 {":6:5: services[0].schedular: unknown key (did you mean \"scheduler\"?)",
	  ":7:5: services[0].Health_Check: unknown key (did you mean \"health_check\"?)",
	  ":8:5: services[0].colour: unknown key; valid keys here are name, listen, fwmark, family, protocol, "
	  "scheduler, scheduler_flags, one_packet, forward, tunnel, persistence, health_check, backends, "
	  "drain_timeout, quorum, sorry_servers and announce"}},
	{"bad_utf8.yaml",
	 {":2:15: not valid YAML text: invalid trailing UTF-8 octet (byte 0x0a)"}},
	{"bad_weight.yaml",
	 {":5:40: services[0].backends[0].weight: \"70000\" is out of range 0..65535",
	  ":6:40: services[0].backends[1].weight: \"-1\" is out of range 0..65535",
	  ":7:40: services[0].backends[2].weight: \"five\" is not an integer",
	  ":8:40: services[0].backends[3].weight: \"5.5\" is not an integer",
	  ":9:40: services[0].backends[4].weight: \"5\" is a quoted string, not a number; remove the quotes",
	  ":10:40: services[0].backends[5].weight: \"99999999999999999999\" is out of range 0..65535",
	  ":11:40: services[0].backends[6].weight: missing value"}},
	{"bad_syntax_late.yaml",
	 {":3:13: services[0].listen: \"10.0.0.1:8O\" is not an IP:port",
	  ":7:1: YAML syntax error: did not find expected node content (while parsing a flow node at "
	  "line 7, column 1)"}},
	{"bad_services_twice.yaml",
	 {":5:3: global.services: unknown key; valid keys here are log_level, resync_interval, max_exec_checks, "
	  "drain_timeout, metrics, notify, notify_timeout, timeouts and sync",
	  ":6:1: services: duplicate key (first at line 1)"}},
	{"bad_empty.yaml",
	 {": empty configuration; write \"services: []\" to run with no services"}},
};

static void print_diag(const struct lb_diag *d) {
	for (size_t i = 0; i < d->n; i++)
		print_message("  got: %s\n", d->msgs[i]);
}

static void test_bad(void **state) {
	const struct bad_case *bc = *state;
	char path[256], want[512];
	snprintf(path, sizeof(path), FIX "%s", bc->file);
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	int r = lb_config_load(path, &c, &d);
	assert_int_equal(r, -EINVAL);
	assert_null(c);
	size_t n = 0;
	while (n < MAX_MSGS && bc->msgs[n])
		n++;
	if (d.n != n)
		print_diag(&d);
	assert_int_equal(d.n, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%s%s", path, bc->msgs[i]);
		assert_string_equal(d.msgs[i], want);
	}
	lb_diag_free(&d);
}

/* Guards the table: every bad_*.yaml in the fixtures directory has expectations. */
static void test_every_fixture(void **state) {
	DIR *dir = opendir(FIX);
	assert_non_null(dir);
	size_t seen = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, "bad_", 4) != 0)
			continue;
		bool found = false;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			found |= !strcmp(cases[i].file, e->d_name);
		if (!found)
			print_message("fixture without expectations: %s\n", e->d_name);
		assert_true(found);
		seen++;
	}
	closedir(dir);
	assert_int_equal(seen, sizeof(cases) / sizeof(cases[0]));
}

int main(void) {
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct CMUnitTest *tests = calloc(n + 1, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){.name = cases[i].file, .test_func = test_bad,
					       .initial_state = (void *)&cases[i]};
	tests[n] = (struct CMUnitTest){.name = "every_fixture", .test_func = test_every_fixture};
	int r = _cmocka_run_group_tests("config_errors", tests, n + 1, NULL, NULL);
	free(tests);
	return r;
}
