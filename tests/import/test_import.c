/* ezlb import-keepalived, table-driven on keepalived snippets: every mapped keyword, what is
 * warned about (with its line), comments, quoting, braces, malformed input with its location.
 * Every YAML the import writes must load in ezlb's own loader without a single diagnostic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/config/internal.h"
#include "import.h"
#include "import_test.h"

struct tcase {
	const char *name;
	const char *in;
	int rc;
	const char *out[16];    /* each must be in the YAML */
	const char *err[10];    /* each must be in the diagnostics */
	const char *no_out[4];  /* none may be in the YAML */
};

#define VS "virtual_server 10.0.0.1 80 {\n protocol TCP\n"
#define RS " real_server 10.1.1.2 8080 {\n weight 2\n }\n"

static const struct tcase cases[] = {
	{"nat basics", VS " lb_algo wrr\n lb_kind NAT\n" RS "}\n", 0,
	 {"- name: vs-10.0.0.1-80-tcp\n", "    listen: 10.0.0.1:80\n", "    protocol: tcp\n",
	  "    scheduler: wrr\n", "    forward: nat\n", "health_check: {enabled: false}",
	  "      - {address: 10.1.1.2:8080, weight: 2}\n"}, {NULL}, {"persistence"}},
	{"lvs_sched and lvs_method, a NAT server without port gets the service's",
	 VS " lvs_sched sh\n lvs_method NAT\n real_server 10.1.1.2 {\n }\n}\n", 0,
	 {"scheduler: sh\n", "{address: 10.1.1.2:80, weight: 1}"}, {NULL}, {NULL}},
	{"default scheduler wlc and method nat",
	 VS RS "}\n", 0, {"scheduler: wlc\n", "forward: nat\n"}, {NULL}, {NULL}},
	{"DR: servers take the service's port, a different one is warned about",
	 VS " lb_kind DR\n real_server 10.1.1.2 {\n }\n real_server 10.1.1.3 8080 {\n }\n}\n", 0,
	 {"forward: dr\n", "{address: 10.1.1.2:80, weight: 1}", "{address: 10.1.1.3:80, weight: 1}"},
	 {"k.conf:6: warning: port 8080: DR and TUN cannot change the port; keepalived uses the "
	  "virtual server's, 80"}, {NULL}},
	{"no protocol: keepalived 2.2 makes it UDP",
	 "virtual_server 10.0.0.1 53 {\n real_server 10.1.1.2 53 {\n }\n}\n", 0,
	 {"name: vs-10.0.0.1-53-udp\n", "protocol: udp\n"},
	 {"k.conf:1: warning: virtual_server without protocol: keepalived 2.2 makes it UDP"}, {NULL}},
	{"protocol is case-insensitive; sctp",
	 "virtual_server 10.0.0.1 80 {\n protocol sctp\n" RS "}\n", 0, {"protocol: sctp\n"}, {NULL}, {NULL}},
	{"IPv6 service: quoted endpoints, a name without colons",
	 "virtual_server fd00::1 80 {\n protocol TCP\n real_server fd01:1::2 8080 {\n }\n}\n", 0,
	 {"name: vs-fd00--1-80-tcp\n", "listen: \"[fd00::1]:80\"\n", "{address: \"[fd01:1::2]:8080\""},
	 {NULL}, {NULL}},
	{"fwmark with ip_family inet6 and NAT servers with a port",
	 "virtual_server fwmark 7 {\n ip_family inet6\n lb_kind TUN\n real_server fd01:1::2 80 {\n }\n}\n", 0,
	 {"name: vs-fwmark-7-ipv6\n", "fwmark: 7\n", "family: ipv6\n", "forward: tun\n",
	  "{address: \"[fd01:1::2]:80\""},
	 {"k.conf:4: warning: keepalived gives the kernel port 0 for a DR/TUN real server of a fwmark "
	  "service (IPVS does not use it); ezlb writes port 80"}, {"listen"}},
	{"fwmark: a NAT server without port cannot be written",
	 "virtual_server fwmark 1 {\n real_server 10.1.1.2 {\n }\n real_server 10.1.1.3 80 {\n }\n}\n", 0,
	 {"fwmark: 1\n", "{address: 10.1.1.3:80, weight: 1}"},
	 {"k.conf:2: warning: real_server without port in a fwmark service not imported"}, {"10.1.1.2"}},
	{"fwmark: a DR server without port takes its checker's connect_port",
	 "virtual_server fwmark 2 {\n lb_kind DR\n real_server 10.1.1.2 {\n TCP_CHECK {\n connect_port 443\n }\n }\n}\n", 0,
	 {"{address: 10.1.1.2:443, weight: 1}", "port: 443\n"}, {"ezlb writes port 443"}, {NULL}},
	{"persistence: no value is 360 s, granularity is the netmask",
	 VS " persistence_timeout\n persistence_granularity 255.255.255.0\n" RS "}\n", 0,
	 {"persistence: {timeout: 360s, netmask: 255.255.255.0}\n"}, {NULL}, {NULL}},
	{"persistence_granularity alone makes the service persistent (keepalived: 360 s)",
	 VS " persistence_granularity 255.255.0.0\n" RS "}\n", 0,
	 {"persistence: {timeout: 360s, netmask: 255.255.0.0}\n"}, {NULL}, {NULL}},
	{"IPv6 granularity is a prefix length",
	 "virtual_server fd00::1 80 {\n protocol TCP\n persistence_timeout 600\n persistence_granularity 64\n"
	 " real_server fd01::2 80 {\n }\n}\n", 0,
	 {"persistence: {timeout: 600s, netmask: \"/64\"}\n"}, {NULL}, {NULL}},
	{"a non-contiguous netmask is warned about",
	 VS " persistence_timeout 50\n persistence_granularity 255.0.255.0\n" RS "}\n", 0,
	 {"persistence: {timeout: 50s}\n"},
	 {"k.conf:4: warning: persistence_granularity 255.0.255.0 not imported: ezlb takes contiguous"},
	 {NULL}},
	{"ops on udp is one_packet",
	 "virtual_server 10.0.0.1 53 {\n protocol UDP\n ops\n real_server 10.1.1.2 53 {\n }\n}\n", 0,
	 {"one_packet: true\n"}, {NULL}, {NULL}},
	{"ops on tcp: keepalived clears it",
	 VS " ops\n" RS "}\n", 0, {"protocol: tcp\n"},
	 {"k.conf:3: warning: ops: one-packet scheduling needs UDP; keepalived clears it"}, {"one_packet"}},
	{"ops makes a fwmark service udp",
	 "virtual_server fwmark 3 {\n ops\n real_server 10.1.1.2 53 {\n }\n}\n", 0,
	 {"protocol: udp\n", "one_packet: true\n"}, {NULL}, {NULL}},
	{"sh flags after lvs_sched sh",
	 VS " lvs_sched sh\n sh-port\n sh-fallback\n" RS "}\n", 0,
	 {"scheduler_flags: [sh-fallback, sh-port]\n"}, {NULL}, {NULL}},
	{"mh flags; flag-3 has no key",
	 VS " lvs_sched mh\n mh-fallback\n flag-3\n" RS "}\n", 0, {"scheduler_flags: [mh-fallback]\n"},
	 {"k.conf:5: warning: flag-3 not imported"}, {NULL}},
	{"sh-port before lvs_sched sh: keepalived ignores it",
	 VS " sh-port\n lvs_sched sh\n" RS "}\n", 0, {"scheduler: sh\n"},
	 {"k.conf:3: warning: sh-port: ignored, as keepalived does: it applies only after lvs_sched sh"},
	 {"scheduler_flags"}},
	{"flag-2 with sh is sh-port",
	 VS " lvs_sched sh\n flag-2\n" RS "}\n", 0, {"scheduler_flags: [sh-port]\n"}, {NULL}, {NULL}},
	{"flag-1 with rr cannot be written",
	 VS " lvs_sched rr\n flag-1\n" RS "}\n", 0, {"scheduler: rr\n"},
	 {"k.conf:4: warning: flag-1 (fallback) not imported"}, {"scheduler_flags"}},
	{"TUN with gue, port and csum",
	 VS " lvs_method TUN type gue port 6080 csum\n" RS "}\n", 0,
	 {"forward: tun\n", "tunnel: {type: gue, port: 6080, checksum: csum}\n", "{address: 10.1.1.2:80"},
	 {NULL}, {NULL}},
	{"TUN with gre and remcsum is refused like keepalived does",
	 VS " lvs_method TUN type gre remcsum\n" RS "}\n", 0, {"forward: tun\n"},
	 {"k.conf:3: warning: lvs_method: tunnel options \"TUN type gre remcsum\" invalid"}, {"tunnel:"}},
	{"a real server's own method",
	 VS " real_server 10.1.1.2 80 {\n lvs_method DR\n }\n}\n", 0, {"forward: dr\n"}, {NULL}, {NULL}},
	{"real servers with different methods",
	 VS " real_server 10.1.1.2 80 {\n lvs_method DR\n }\n real_server 10.1.1.3 80 {\n lvs_method NAT\n }\n}\n", 0,
	 {"forward: dr\n"}, {"k.conf:6: warning: real_server's lvs_method differs"}, {NULL}},
	{"weights: the virtual server's weight is the default",
	 VS " weight 3\n real_server 10.1.1.2 80 {\n }\n real_server 10.1.1.3 80 {\n weight 0\n }\n}\n", 0,
	 {"{address: 10.1.1.2:80, weight: 3}", "{address: 10.1.1.3:80, weight: 0}"}, {NULL}, {NULL}},
	{"thresholds are max_conns and min_conns",
	 VS " real_server 10.1.1.2 80 {\n uthreshold 100\n lthreshold 50\n }\n"
	 " real_server 10.1.1.3 80 {\n uthreshold 10\n lthreshold 10\n }\n}\n", 0,
	 {"{address: 10.1.1.2:80, weight: 1, max_conns: 100, min_conns: 50}",
	  "{address: 10.1.1.3:80, weight: 1, max_conns: 10}"},
	 {"k.conf:9: warning: lthreshold not imported: ezlb needs it below uthreshold"}, {NULL}},
	{"sorry server with quorum over equal weights is exact",
	 VS " quorum 4\n sorry_server 10.1.9.9 8080\n"
	 " real_server 10.1.1.2 80 {\n weight 2\n }\n real_server 10.1.1.3 80 {\n weight 2\n }\n"
	 " real_server 10.1.1.4 80 {\n weight 2\n }\n}\n", 0,
	 {"quorum: {min_up: 2}\n", "sorry_servers:\n      - {address: 10.1.9.9:8080, weight: 1}\n"},
	 {NULL}, {NULL}},
	{"sorry server alone: keepalived's quorum 1, ezlb's default",
	 VS " sorry_server 10.1.9.9\n" RS "}\n", 0, {"sorry_servers:\n      - {address: 10.1.9.9:80"},
	 {NULL}, {"quorum:"}},
	{"quorum over unequal weights is approximate",
	 VS " quorum 3\n sorry_server 10.1.9.9 80\n real_server 10.1.1.2 80 {\n weight 1\n }\n"
	 " real_server 10.1.1.3 80 {\n weight 3\n }\n}\n", 0, {"quorum: {min_up: 2}\n"},
	 {"k.conf:3: warning: quorum 3 is a sum of weights in keepalived and a count of backends in ezlb"},
	 {NULL}},
	{"quorum without sorry server only runs scripts in keepalived",
	 VS " quorum 2\n hysteresis 1\n quorum_up /bin/up\n" RS RS "}\n", 0, {"backends:"},
	 {"k.conf:3: warning: quorum not imported", "k.conf:4: warning: hysteresis not imported",
	  "k.conf:5: warning: quorum_up not imported"}, {"quorum:", "sorry"}},
	{"sorry_server_lvs_method and sorry_server_inhibit",
	 VS " sorry_server 10.1.9.9 80\n sorry_server_lvs_method DR\n sorry_server_inhibit\n" RS "}\n", 0,
	 {"sorry_servers:"}, {"k.conf:4: warning: the sorry server's forwarding method is not the service's",
	  "k.conf:5: warning: sorry_server_inhibit not imported"}, {NULL}},
	{"TCP_CHECK with the timing from every level",
	 VS " delay_loop 10\n retry 2\n real_server 10.1.1.2 80 {\n connect_timeout 2\n delay_before_retry 1.5\n"
	 " TCP_CHECK {\n connect_port 8080\n retry 4\n }\n }\n}\n", 0,
	 {"    health_check:\n      type: tcp\n      port: 8080\n      interval: 10s\n      timeout: 2s\n"
	  "      fast_interval: 1500ms\n      fail_count: 5\n      rise_count: 1\n      initial: up\n"
	  "      on_failure: remove\n"}, {NULL}, {NULL}},
	{"keepalived's defaults: delay_loop 60, connect_timeout 5, retry 1, delay_before_retry 1",
	 VS " real_server 10.1.1.2 80 {\n TCP_CHECK {\n }\n }\n}\n", 0,
	 {"interval: 60s\n      timeout: 5s\n      fast_interval: 1s\n      fail_count: 2\n"}, {NULL}, {NULL}},
	{"alpha and inhibit_on_failure",
	 VS " alpha\n inhibit_on_failure\n real_server 10.1.1.2 80 {\n TCP_CHECK {\n }\n }\n}\n", 0,
	 {"initial: down\n", "on_failure: quiesce\n"}, {NULL}, {NULL}},
	{"a checker's alpha off wins over the virtual server's",
	 VS " alpha\n real_server 10.1.1.2 80 {\n inhibit_on_failure on\n TCP_CHECK {\n alpha off\n }\n }\n}\n", 0,
	 {"initial: up\n", "on_failure: quiesce\n"}, {NULL}, {NULL}},
	{"a timeout not shorter than the interval",
	 VS " delay_loop 3\n real_server 10.1.1.2 80 {\n TCP_CHECK {\n connect_timeout 5\n }\n }\n}\n", 0,
	 {"interval: 3s\n      timeout: 2s\n"},
	 {"k.conf:5: warning: check timeout 5s: ezlb needs it shorter than the interval; imported as 2s"},
	 {NULL}},
	{"HTTP_GET with url, status codes, virtualhost; digest warned about",
	 VS " virtualhost www.example.com\n real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path /health?x=1\n"
	 " status_code 200 301-302 404\n digest 9b3a0c85a887a256d6939da88aabd8cd\n }\n url {\n path /two\n }\n"
	 " retry 3\n }\n }\n}\n", 0,
	 {"type: http\n", "fast_interval: 3s\n", "fail_count: 4\n",
	  "http: {path: \"/health?x=1\", host: \"www.example.com\", status: \"200 301-302 404\"}\n"},
	 {"k.conf:9: warning: digest not imported", "k.conf:11: warning: url not imported"}, {NULL}},
	{"the url's virtualhost wins; a plain regex is expect; 200-299 is the default",
	 VS " real_server 10.1.1.2 80 {\n virtualhost rs.example\n HTTP_GET {\n virtualhost ck.example\n"
	 " url {\n path /\n virtualhost url.example\n status_code 200-299\n regex \"all good\"\n }\n }\n }\n}\n", 0,
	 {"http: {path: \"/\", host: \"url.example\", expect: \"all good\"}\n"}, {NULL}, {"status"}},
	{"a regular expression is warned about",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path /\n regex \"^ok$\"\n regex_no_match\n }\n }\n }\n}\n", 0,
	 {"http: {path: \"/\"}\n"}, {"k.conf:7: warning: regex not imported", "k.conf:8: warning: regex_no_match not imported"},
	 {"expect"}},
	{"HTTP_GET without url: keepalived drops the checker",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n connect_timeout 2\n }\n }\n}\n", 0,
	 {"health_check: {enabled: false}"}, {"k.conf:4: warning: HTTP_GET has no url with a path"}, {NULL}},
	{"SSL_GET is https",
	 VS " real_server 10.1.1.2 443 {\n SSL_GET {\n url {\n path /\n }\n enable_sni\n }\n }\n}\n", 0,
	 {"type: https\n"}, {"k.conf:4: warning: enable_sni: ezlb sends SNI only when http.host is a name"}, {NULL}},
	{"MISC_CHECK: the quoted command line, misc_timeout, retry 0 by default",
	 VS " delay_loop 10\n real_server 10.1.1.2 80 {\n MISC_CHECK {\n misc_path \"/bin/true 'a b' \\\\x41\"\n"
	 " misc_timeout 4\n misc_dynamic\n user nobody\n }\n }\n}\n", 0,
	 {"type: exec\n", "timeout: 4s\n", "fail_count: 1\n", "exec: {command: [\"/bin/true\", \"a b\", \"A\"]}\n"},
	 {"k.conf:8: warning: misc_dynamic not imported", "k.conf:9: warning: user not imported"},
	 {"fast_interval"}},
	{"MISC_CHECK without misc_timeout times out at delay_loop: just under the interval here",
	 VS " delay_loop 10\n real_server 10.1.1.2 80 {\n MISC_CHECK {\n misc_path /bin/true extra\n }\n }\n}\n", 0,
	 {"interval: 10s\n      timeout: 9s\n", "exec: {command: [\"/bin/true\"]}\n"},
	 {"k.conf:6: warning: misc_path: \"extra\" and what follows ignored, as keepalived does"}, {NULL}},
	{"MISC_CHECK with a bare name: searched in PATH",
	 VS " real_server 10.1.1.2 80 {\n MISC_CHECK {\n misc_path \"sh -c true\"\n }\n }\n}\n", 0,
	 {"exec: {command: [\"/", "/sh\", \"-c\", \"true\"]}\n"}, {"found through PATH as /"}, {NULL}},
	{"DNS_CHECK: type and name; retry 3 and delay_before_retry = delay_loop by default",
	 "virtual_server 10.0.0.1 53 {\n protocol UDP\n delay_loop 5\n real_server 10.1.1.2 53 {\n DNS_CHECK {\n"
	 " type aaaa\n name example.com\n }\n }\n}\n", 0,
	 {"type: dns\n", "fast_interval: 5s\n", "fail_count: 4\n", "dns: {name: \"example.com\", qtype: AAAA}\n"},
	 {NULL}, {NULL}},
	{"UDP_CHECK: keepalived's hex strings",
	 "virtual_server 10.0.0.1 53 {\n protocol UDP\n real_server 10.1.1.2 53 {\n UDP_CHECK {\n"
	 " payload Ab12f 3 456\n require_reply 6f6b\n min_reply_length 2\n }\n }\n}\n", 0,
	 {"type: udp\n", "udp: {send_hex: \"ab120f034506\", expect_hex: \"6f6b\"}\n"},
	 {"k.conf:7: warning: min_reply_length not imported"}, {NULL}},
	{"UDP_CHECK: require_reply without data, wildcards",
	 "virtual_server 10.0.0.1 53 {\n protocol UDP\n real_server 10.1.1.2 53 {\n UDP_CHECK {\n"
	 " require_reply\n }\n }\n real_server 10.1.1.3 53 {\n UDP_CHECK {\n require_reply 6x\n }\n }\n}\n", 0,
	 {"type: udp\n"},
	 {"k.conf:5: warning: require_reply not imported", "k.conf:10: warning: require_reply not imported: "
	  "ezlb's udp.expect_hex has no wildcard"}, {"expect_hex"}},
	{"checkers ezlb has no kind for",
	 VS " real_server 10.1.1.2 80 {\n SMTP_CHECK {\n }\n PING_CHECK {\n }\n }\n}\n", 0,
	 {"health_check: {enabled: false}"}, {"k.conf:4: warning: SMTP_CHECK not imported",
	  "k.conf:6: warning: PING_CHECK not imported"}, {NULL}},
	{"the common checker options ezlb has no key for",
	 VS " real_server 10.1.1.2 80 {\n TCP_CHECK {\n connect_ip 10.9.9.9\n bindto 10.0.0.2\n bind_port 99\n"
	 " bind_if eth0\n fwmark 5\n warmup 3\n log_all_failures\n }\n }\n}\n", 0, {"type: tcp\n"},
	 {"k.conf:5: warning: connect_ip not imported", "k.conf:6: warning: bindto not imported",
	  "k.conf:7: warning: bind_port not imported", "k.conf:8: warning: bind_if not imported",
	  "k.conf:9: warning: fwmark not imported", "k.conf:10: warning: warmup not imported",
	  "k.conf:11: warning: log_all_failures not imported"}, {NULL}},
	{"two checkers on a server, servers checked differently or not at all",
	 VS " real_server 10.1.1.2 80 {\n TCP_CHECK {\n }\n MISC_CHECK {\n misc_path /bin/true\n }\n }\n"
	 " real_server 10.1.1.3 80 {\n TCP_CHECK {\n connect_port 81\n }\n }\n real_server 10.1.1.4 80 {\n }\n}\n", 0,
	 {"type: tcp\n"},
	 {"k.conf:6: warning: checker not imported: ezlb runs one check per backend",
	  "k.conf:10: warning: real_server's check differs from the one imported for the service (line 4)",
	  "k.conf:15: warning: real_server without checker"}, {"port: 81"}},
	{"real server notify scripts and other keywords",
	 VS " real_server 10.1.1.2 80 {\n notify_up /bin/up\n notify_down /bin/down\n smtp_alert\n bogus 1\n }\n}\n", 0,
	 {"backends:"}, {"k.conf:4: warning: notify_up not imported", "k.conf:5: warning: notify_down not imported",
	  "k.conf:6: warning: smtp_alert not imported", "k.conf:7: warning: bogus: unknown keyword in real_server"},
	 {NULL}},
	{"virtual server keywords without an equivalent",
	 VS " ha_suspend\n omega\n smtp_alert\n snmp_name x\n persistence_engine sip\n hashed\n warmup 5\n"
	 " quorum_down /bin/x\n frobnicate\n" RS "}\n", 0, {"backends:"},
	 {"k.conf:3: warning: ha_suspend not imported", "k.conf:4: warning: omega not imported",
	  "k.conf:5: warning: smtp_alert not imported", "k.conf:6: warning: snmp_name not imported",
	  "k.conf:7: warning: persistence_engine not imported", "k.conf:8: warning: hashed not imported",
	  "k.conf:9: warning: warmup not imported", "k.conf:10: warning: quorum_down not imported",
	  "k.conf:11: warning: frobnicate: unknown keyword in virtual_server"}, {NULL}},
	{"VRRP, global_defs and other blocks",
	 "global_defs {\n router_id lb1\n lvs_flush\n}\nvrrp_script chk {\n script /bin/true\n}\n"
	 "vrrp_instance VI_1 {\n state MASTER\n virtual_router_id 51\n}\nvrrp_sync_group G {\n VI_1\n}\n"
	 "static_ipaddress {\n 10.0.0.1/32 dev lo\n}\nnet_namespace blue\n" VS RS "}\n", 0,
	 {"services:\n"},
	 {"k.conf:2: warning: router_id not imported", "k.conf:3: warning: lvs_flush not imported",
	  "k.conf:5: warning: vrrp_script not imported", "k.conf:8: warning: vrrp_instance not imported: VRRP",
	  "k.conf:12: warning: vrrp_sync_group not imported", "k.conf:15: warning: static_ipaddress not imported",
	  "k.conf:18: warning: net_namespace not imported"}, {"global:"}},
	{"lvs_timeouts and lvs_sync_daemon",
	 "global_defs {\n lvs_timeouts tcp 900 tcpfin 120 udp 300\n lvs_sync_daemon eth1 VI_1 maxlen 1400 port 8849 ttl 2"
	 " group 239.1.2.3\n}\nvrrp_instance VI_1 {\n virtual_router_id 51\n}\n", 0,
	 {"global:\n  timeouts: {tcp: 900s, tcp_fin: 120s, udp: 300s}\n",
	  "  sync: {interface: \"eth1\", id: 51, group: \"239.1.2.3\", port: 8849, ttl: 2, max_len: 1400}\n",
	  "services: []\n"},
	 {"k.conf:3: warning: lvs_sync_daemon: keepalived runs the master or the backup daemon as VRRP instance VI_1"},
	 {NULL}},
	{"lvs_sync_daemon with id, without instance",
	 "global_defs {\n lvs_sync_daemon eth0 id 7\n}\n", 0,
	 {"sync: {interface: \"eth0\", id: 7}\n"}, {NULL}, {NULL}},
	{"virtual_server_group and group services",
	 "virtual_server_group G {\n 10.0.0.1 80\n}\nvirtual_server group G {\n protocol TCP\n" RS "}\n", 0,
	 {"services: []\n"}, {"k.conf:1: warning: virtual_server_group not imported",
	  "k.conf:4: warning: virtual_server not imported: virtual_server_group has no ezlb equivalent"}, {NULL}},
	{"a virtual server without real servers is ignored by keepalived",
	 VS "}\n", 0, {"services: []\n"}, {"k.conf:1: warning: virtual_server has no real servers"}, {NULL}},
	{"a virtual server without port is not expressible",
	 "virtual_server 10.0.0.1 {\n protocol TCP\n" RS "}\n", 0, {"services: []\n"},
	 {"virtual_server without port (all ports, persistent) not imported"}, {NULL}},
	{"duplicate real servers and services",
	 VS " real_server 10.1.1.2 80 {\n }\n real_server 10.1.1.2 80 {\n }\n}\n" VS RS "}\n", 0,
	 {"- name: vs-10.0.0.1-80-tcp\n"},
	 {"k.conf:5: warning: real_server: a duplicate of line 3; dropped",
	  "k.conf:8: warning: virtual_server not imported: the same IPVS service as the one at k.conf:1"},
	 {NULL}},
	{"servers that are not addresses are skipped with their block",
	 VS " real_server 10.1.1.300 80 {\n weight 3\n }\n real_server 10.1.1.2 70000 {\n }\n" RS "}\n", 0,
	 {"{address: 10.1.1.2:8080, weight: 2}"},
	 {"k.conf:3: warning: real_server 10.1.1.300 80: not an address and port",
	  "k.conf:6: warning: real_server 10.1.1.2 70000: not an address and port"}, {"weight: 3"}},
	{"a real server of the other family is skipped, unless tunnelled",
	 VS " real_server fd01::2 80 {\n }\n" RS "}\n", 0, {"10.1.1.2:8080"},
	 {"k.conf:3: warning: real_server fd01::2: not the address family of its virtual server"}, {"fd01"}},
	{"invalid values are ignored as keepalived does",
	 VS " lvs_sched foo\n delay_loop x\n weight 70000\n persistence_timeout 0\n" RS "}\n", 0,
	 {"scheduler: wlc\n"}, {"k.conf:3: warning: lvs_sched foo: unknown scheduler",
	  "k.conf:4: warning: delay_loop x: not a time", "k.conf:5: warning: weight 70000: not a number",
	  "k.conf:6: warning: persistence_timeout 0: not 1..2678400 seconds"}, {NULL}},
	{"extra words are warned about",
	 VS " lvs_sched rr wrr\n" RS "}\n", 0, {"scheduler: rr\n"},
	 {"k.conf:3: warning: lvs_sched: \"wrr\" and what follows ignored"}, {NULL}},

	{"an unknown top-level keyword, a real server without block",
	 "frobnicate {\n}\n" VS " real_server 10.1.1.2 80\n real_server 10.1.1.3 80 {\n }\n}\n", 0,
	 {"10.1.1.2:80", "10.1.1.3:80"},
	 {"k.conf:1: warning: frobnicate not imported: an unknown keyword at the top level",
	  "k.conf:5: warning: real_server without a { } block"}, {NULL}},
	{"lvs_sync_daemon and lvs_timeouts ezlb cannot take",
	 "global_defs {\n lvs_sync_daemon eth0 maxlen 512\n lvs_timeouts tcp 9999999 udp 60 bogus\n}\n", 0,
	 {"  timeouts: {udp: 60s}\n", "  sync: {interface: \"eth0\", id: 0}\n"},
	 {"k.conf:2: warning: lvs_sync_daemon maxlen 512 not imported: ezlb takes 1024..65507",
	  "k.conf:3: warning: lvs_timeouts tcp 9999999 not imported: ezlb takes 1 s to 24 days",
	  "k.conf:3: warning: lvs_timeouts: \"bogus\" ignored"}, {NULL}},
	{"an interface name ezlb refuses",
	 "global_defs {\n lvs_sync_daemon eth0/1\n}\n", 0, {"services: []\n"},
	 {"k.conf:2: warning: lvs_sync_daemon not imported: eth0/1 is not an interface name"}, {"sync:"}},
	{"uthreshold beyond what the kernel counts",
	 VS " real_server 10.1.1.2 80 {\n uthreshold 3000000000\n }\n}\n", 0, {"max_conns: 2147483647}"},
	 {"k.conf:4: warning: uthreshold 3000000000: ezlb's max_conns stops at 2147483647"}, {NULL}},
	{"text that is not UTF-8 is not written",
	 VS " real_server 10.1.1.2 80 {\n MISC_CHECK {\n misc_path \"/bin/echo \xff\"\n }\n }\n}\n", 0,
	 {"health_check: {enabled: false}"}, {"k.conf:4: warning: misc_path not imported: an argument is not UTF-8"},
	 {"echo"}},
	{"a virtualhost ezlb cannot send",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n virtualhost \"a b\"\n url {\n path /\n }\n }\n }\n}\n", 0,
	 {"http: {path: \"/\"}\n"}, {"k.conf:4: warning: virtualhost a b not imported"}, {"host:"}},
	{"a url path ezlb cannot send: no check",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path relative\n }\n }\n }\n}\n", 0,
	 {"health_check: {enabled: false}"}, {"k.conf:4: warning: url path relative not imported",
	  "k.conf:4: warning: health checks of this service not imported"}, {NULL}},
	{"HTTP_GET on a udp service",
	 "virtual_server 10.0.0.1 53 {\n protocol UDP\n real_server 10.1.1.2 53 {\n HTTP_GET {\n url {\n path /\n }\n }\n }\n}\n",
	 0, {"health_check: {enabled: false}"},
	 {"k.conf:4: warning: HTTP_GET not imported: ezlb runs http checks for tcp services only"}, {NULL}},
	{"a fwmark service with an http check is tcp",
	 "virtual_server fwmark 9 {\n protocol UDP\n real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path /\n }\n }\n }\n}\n",
	 0, {"protocol: tcp\n", "type: http\n"}, {NULL}, {NULL}},
	{"retry beyond ezlb's fail_count",
	 VS " real_server 10.1.1.2 80 {\n TCP_CHECK {\n retry 5000\n }\n }\n}\n", 0, {"fail_count: 1000\n"},
	 {"k.conf:4: warning: retry 5000: ezlb's fail_count stops at 1000"}, {NULL}},
	{"delay_before_retry longer than the interval",
	 VS " delay_loop 2\n real_server 10.1.1.2 80 {\n TCP_CHECK {\n connect_timeout 1\n delay_before_retry 5\n }\n }\n}\n",
	 0, {"fast_interval: 2s\n"}, {"k.conf:5: warning: delay_before_retry 5s: ezlb's fast_interval is at most the interval"},
	 {NULL}},
	{"a sorry server in a fwmark service",
	 "virtual_server fwmark 4 {\n lb_kind DR\n sorry_server 10.1.9.9 80\n real_server 10.1.1.2 80 {\n }\n}\n", 0,
	 {"sorry_servers:\n      - {address: 10.1.9.9:80, weight: 1}\n"},
	 {"k.conf:3: warning: keepalived gives the kernel port 0 for a DR/TUN sorry server"}, {NULL}},
	{"sorry servers when every real server weighs 0",
	 VS " sorry_server 10.1.9.9 80\n real_server 10.1.1.2 80 {\n weight 0\n }\n}\n", 0, {"weight: 0}"},
	 {"k.conf:3: warning: sorry_server not imported: every real server weighs 0"}, {"sorry_servers"}},

	{"servers that become equal once keepalived has set their ports",
	 VS " lb_kind DR\n real_server 10.1.1.2 8080 {\n }\n real_server 10.1.1.2 {\n }\n real_server 10.1.1.3 {\n }\n}\n", 0,
	 {"      - {address: 10.1.1.2:80, weight: 1}\n      - {address: 10.1.1.3:80, weight: 1}\n"},
	 {"k.conf:6: warning: real_server not imported: with its port as keepalived sets it, it is the same "
	  "destination as another one"}, {NULL}},

	{"a sub-millisecond delay_loop",
	 VS " delay_loop 0.000001\n real_server 10.1.1.2 80 {\n TCP_CHECK {\n }\n }\n}\n", 0,
	 {"interval: 2ms\n      timeout: 1ms\n      fast_interval: 2ms\n"},
	 {"k.conf:5: warning: delay_loop 1ms: ezlb's interval must leave room for a timeout"}, {NULL}},
	{"more status ranges than ezlb takes",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path /\n"
	 " status_code 100 102 104 106 108 110 112 114 116 118 120 122 124 126 128 130 132 134\n }\n }\n }\n}\n", 0,
	 {"status: \"100 102 104 106 108 110 112 114 116 118 120 122 124 126 128 130\"}"},
	 {"k.conf:4: warning: status_code: more than 16 ranges; ezlb takes the first 16"}, {NULL}},

	/* ---- the reader: comments, quotes, braces ---- */
	{"comments with # and !, anywhere, and escaped",
	 "# a comment\n! another\nvirtual_server 10.0.0.1 80 { # here\n protocol TCP ! there\n"
	 " real_server 10.1.1.2 80 {\n MISC_CHECK {\n misc_path \"/bin/echo \\#1 #2\"\n }\n }\n}\n", 0,
	 {"exec: {command: [\"/bin/echo\", \"#1\", \"#2\"]}\n"}, {NULL}, {NULL}},
	{"an escaped # outside quotes is kept",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path /a\\#b\n }\n }\n }\n}\n", 0,
	 {"path: \"/a#b\""}, {NULL}, {NULL}},
	{"braces on their own lines, several on one line",
	 "virtual_server 10.0.0.1 80\n{\nprotocol TCP\nreal_server 10.1.1.2 80\n{\n weight 4 } }\n", 0,
	 {"{address: 10.1.1.2:80, weight: 4}"}, {NULL}, {NULL}},
	{"a block on one line",
	 "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.1.1.2 80 { weight 4 }\n}\n", 0,
	 {"{address: 10.1.1.2:80, weight: 4}"}, {NULL}, {NULL}},
	{"keywords run together on one line, as keepalived reads them",
	 "virtual_server 10.0.0.1 80 { protocol TCP real_server 10.1.1.2 80 { weight 4 } }\n", 0,
	 {"services: []\n"}, {"k.conf:1: warning: protocol: \"real_server\" and what follows ignored",
	  "k.conf:1: warning: protocol: its { } block ignored"}, {NULL}},
	{"quoted words keep spaces and braces",
	 VS " real_server 10.1.1.2 80 {\n HTTP_GET {\n url {\n path \"/a{b}\"\n }\n virtualhost \"h.example\"\n }\n }\n}\n", 0,
	 {"path: \"/a{b}\", host: \"h.example\""}, {NULL}, {NULL}},
	{"CRLF line ends and tabs", "virtual_server\t10.0.0.1\t80 {\r\n\tprotocol TCP\r\n\treal_server 10.1.1.2 80 {\r\n}\r\n}\r\n",
	 0, {"listen: 10.0.0.1:80\n"}, {NULL}, {NULL}},
	{"an empty file", "", 0, {"services: []\n"}, {NULL}, {NULL}},
	{"conditional lines: @id and @^id",
	 "@testhost virtual_server 10.0.0.1 80 {\n@otherhost virtual_server 10.0.0.2 80 {\n protocol TCP\n"
	 "@^otherhost real_server 10.1.1.2 80 {\n }\n}\n", 0, {"listen: 10.0.0.1:80\n", "10.1.1.2:80"},
	 {"k.conf:1: warning: conditional line for config id \"testhost\": imported",
	  "k.conf:2: warning: conditional line for config id \"otherhost\": left out"}, {"10.0.0.2"}},
	{"$NAME definitions",
	 "$VIP=10.0.0.1\n$PORT=8080\nvirtual_server $VIP 80 {\n protocol TCP\n real_server 10.1.1.2 ${PORT} {\n }\n}\n", 0,
	 {"listen: 10.0.0.1:80\n", "10.1.1.2:8080"}, {NULL}, {NULL}},

	/* ---- malformed input: exit 1, with the location ---- */
	{"a '}' too many", VS RS "}\n}\n", -EINVAL, {NULL}, {"k.conf:7: '}' without a block to close"}, {NULL}},
	{"a block never closed", VS " real_server 10.1.1.2 80 {\n weight 1\n}\n", -EINVAL, {NULL},
	 {"k.conf:1: the block of \"virtual_server\" is not closed"}, {NULL}},
	{"a '{' without keyword", "{\n}\n", -EINVAL, {NULL}, {"k.conf:1: '{' without a keyword before it"}, {NULL}},
	{"two '{' for one keyword", "virtual_server 10.0.0.1 80 {\n{\n}\n}\n", -EINVAL, {NULL},
	 {"k.conf:2: '{' without a keyword before it"}, {NULL}},
	{"an unterminated quote", VS " virtualhost \"abc\n" RS "}\n", -EINVAL, {NULL}, {"k.conf:3: unterminated '\"'"}, {NULL}},
	{"a missing value", VS " lvs_sched\n" RS "}\n", -EINVAL, {NULL},
	 {"k.conf:3: lvs_sched: missing value (keepalived stops on this)"}, {NULL}},
	{"a real_server without address", VS " real_server\n}\n", -EINVAL, {NULL},
	 {"k.conf:3: real_server: missing address"}, {NULL}},
	{"~SEQ is refused", "~SEQ(i, 1, 3)\n", -ENOTSUP, {NULL}, {"k.conf:1: ~SEQ: not supported"}, {NULL}},
	{"multi-line definitions are refused", "$X=a \\\n b\n", -ENOTSUP, {NULL},
	 {"k.conf:1: multi-line definition $X: not supported"}, {NULL}},
	{"$_RANDOM is refused", "virtual_server 10.0.0.1 ${_RANDOM} {\n}\n", -ENOTSUP, {NULL},
	 {"k.conf:1: ${_RANDOM}: not supported"}, {NULL}},
	{"a self-referencing definition does not loop", "$A=$A$A\nvirtual_server $A 80 {\n}\n", -E2BIG, {NULL},
	 {"k.conf:2: substituting $A makes the line longer"}, {NULL}},
};

static int check_yaml(const char *yaml) {
	struct lb_config *cfg = NULL;
	struct lb_diag diag = {0};
	int r = cfg_load_buf("imported.yaml", yaml, strlen(yaml), &cfg, &diag);
	for (size_t i = 0; i < diag.n; i++)
		print_error("ezlb refuses the import: %s\n", diag.msgs[i]);
	if (r == 0 && diag.n)
		r = -EINVAL;
	lb_config_free(cfg);
	lb_diag_free(&diag);
	return r;
}

static bool run_case(const struct tcase *t) {
	struct import_run r = import_text(t->in, 0);
	bool ok = r.rc == t->rc;
	for (size_t i = 0; i < ARRAY_LEN(t->out) && t->out[i]; i++)
		if (!strstr(r.out, t->out[i]))
			ok = false, print_error("missing in the output: %s\n", t->out[i]);
	for (size_t i = 0; i < ARRAY_LEN(t->err) && t->err[i]; i++)
		if (!strstr(r.err, t->err[i]))
			ok = false, print_error("missing in the messages: %s\n", t->err[i]);
	for (size_t i = 0; i < ARRAY_LEN(t->no_out) && t->no_out[i]; i++)
		if (strstr(r.out, t->no_out[i]))
			ok = false, print_error("unexpected in the output: %s\n", t->no_out[i]);
	if (r.rc == 0 && check_yaml(r.out) != 0)
		ok = false;
	if (r.rc != 0 && r.out[0])
		ok = false, print_error("output written on error\n");
	if (!ok)
		print_error("case \"%s\": rc %d (want %d)\n--- out:\n%s--- err:\n%s", t->name, r.rc, t->rc,
			    r.out, r.err);
	import_run_free(&r);
	return ok;
}

static void test_cases(void **state) {
	size_t failed = 0;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		failed += !run_case(&cases[i]);
	assert_int_equal(failed, 0);
}

/* Every warning and error names the file and line (or only the file). */
static void test_messages_are_located(void **state) {
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct import_run r = import_text(cases[i].in, 0);
		for (char *line = r.err; *line;) {
			size_t len = strcspn(line, "\n");
			if (strncmp(line, "k.conf:", 7) != 0) {
				print_error("case \"%s\": unlocated message: %.*s\n", cases[i].name, (int)len, line);
				fail();
			}
			line += len + (line[len] == '\n');
		}
		import_run_free(&r);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_messages_are_located),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
