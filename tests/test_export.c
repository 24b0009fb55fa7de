/* The export writer (src/export.c): a hand-built table with every field -> the exact YAML; each
 * text produced loaded back with lb_config_load and turned into a table with lb_desired_build,
 * compared field by field with the input and planned against it (no operation); the kernel-wide
 * settings planned against what they were exported from (no operation); every kind of service
 * ezlb cannot express left out as a comment with a warning; names; the owned filter; random
 * tables (seeded) round-tripped the same way. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "desired.h"
#include "export.h"
#include "kconf.h"
#include "reconcile.h"
#include "util.h"

/* ---- building tables ---- */

static struct lb_addr addr(const char *s) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(s, &a), 0);
	return a;
}

static uint32_t mask4(unsigned len) {
	return htonl(len ? 0xffffffffu << (32 - len) : 0);
}

/* A service keyed "tcp 10.0.0.1:80" (or fwmark when listen is NULL) without persistence, with
 * the netmask the loader gives such a service. */
static struct lb_service *svc(struct lb_table *t, uint16_t proto, const char *listen,
			      const char *sched) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	s->key.proto = proto;
	s->key.addr = addr(listen);
	snprintf(s->sched, sizeof(s->sched), "%s", sched);
	s->netmask = s->key.addr.af == AF_INET6 ? 128 : mask4(32);
	return s;
}

static struct lb_service *fwm(struct lb_table *t, uint32_t mark, uint16_t af, const char *sched) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	s->key.fwmark = mark;
	s->key.addr.af = af;
	snprintf(s->sched, sizeof(s->sched), "%s", sched);
	s->netmask = af == AF_INET6 ? 128 : mask4(32);
	return s;
}

static struct lb_dest *dst(struct lb_service *s, const char *a, uint32_t fwd, uint32_t weight) {
	struct lb_dest *d = lb_service_add_dest(s);
	assert_non_null(d);
	d->addr = addr(a);
	d->fwd = fwd;
	d->weight = weight;
	return d;
}

static void tun(struct lb_dest *d, uint8_t type, uint16_t port, uint16_t flags) {
	d->tun_type = type;
	d->tun_port = port;
	d->tun_flags = flags;
}

static void persist(struct lb_service *s, uint32_t timeout, uint32_t netmask) {
	s->flags |= IP_VS_SVC_F_PERSISTENT;
	s->timeout = timeout;
	s->netmask = netmask;
}

static void sort_all(struct lb_table *t) {
	for (size_t i = 0; i < t->n; i++)
		lb_service_sort(&t->svcs[i]);
	lb_table_sort(t);
}

/* ---- exporting and loading back ---- */

struct out {
	char *text, *warn;
	size_t len, wlen;
	struct lb_export_stats st;
};

static void export(const struct lb_table *t, const struct lb_kconf *k,
		   const struct lb_export_opts *o, struct out *x) {
	FILE *f = open_memstream(&x->text, &x->len), *w = open_memstream(&x->warn, &x->wlen);
	assert_non_null(f);
	assert_non_null(w);
	assert_int_equal(lb_export_write(f, w, t, k, o, &x->st), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fclose(w), 0);
}

static void out_free(struct out *x) {
	free(x->text);
	free(x->warn);
}

/* lb_config_load of text, through a temporary file; fails the test with the diagnostics. */
static struct lb_config *load(const char *text) {
	char path[] = "/tmp/ezlb-test-export-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	struct lb_config *cfg = NULL;
	struct lb_diag diag = {0};
	int r = lb_config_load(path, &cfg, &diag);
	unlink(path);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "diag: %s\n", diag.msgs[i]);
	if (r != 0)
		fprintf(stderr, "the text that did not load:\n%s", text);
	assert_int_equal(r, 0);
	lb_diag_free(&diag);
	return cfg;
}

static void same_dest(const struct lb_dest *a, const struct lb_dest *b) {
	assert_int_equal(lb_addr_cmp(&a->addr, &b->addr), 0);
	assert_int_equal(a->fwd, b->fwd);
	assert_int_equal(a->weight, b->weight);
	assert_int_equal(a->u_thresh, b->u_thresh);
	assert_int_equal(a->l_thresh, b->l_thresh);
	assert_int_equal(a->tun_type, b->tun_type);
	assert_int_equal(a->tun_port, b->tun_port);
	assert_int_equal(a->tun_flags, b->tun_flags);
}

static void same_service(const struct lb_service *a, const struct lb_service *b) {
	assert_int_equal(lb_svc_key_cmp(&a->key, &b->key), 0);
	assert_string_equal(a->sched, b->sched);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->timeout, b->timeout);
	assert_int_equal(a->netmask, b->netmask);
	assert_int_equal(a->n_dests, b->n_dests);
	for (size_t i = 0; i < a->n_dests; i++)
		same_dest(&a->dests[i], &b->dests[i]);
}

/* The round trip: the text loads, its desired table equals the services of t that were written
 * (t sorted; `skip` keys left out), the planner finds nothing to do against t, and the kernel
 * settings plan nothing against k. Returns the config (the caller frees it). */
static struct lb_config *round_trip(const char *text, const struct lb_table *t,
				    const struct lb_kconf *k, size_t expect_services) {
	struct lb_config *cfg = load(text);
	struct lb_table want = {0};
	assert_int_equal(lb_desired_build(cfg, NULL, NULL, &want), 0);
	assert_int_equal(want.n, expect_services);
	for (size_t i = 0; i < want.n; i++) {
		const struct lb_service *have = lb_table_find(t, &want.svcs[i].key);
		assert_non_null(have);
		same_service(&want.svcs[i], have);
	}
	struct lb_owned none = {0};
	struct lb_plan_ctx ctx = {.owned = &none, .now_ms = 1000};
	struct lb_plan plan = {0};
	assert_int_equal(lb_plan_build(&want, t, &ctx, &plan), 0);
	assert_int_equal(plan.n, 0);
	lb_plan_free(&plan);
	if (k) {
		struct lb_kconf kw;
		struct lb_kplan kp;
		lb_kconf_want(cfg, &kw);
		lb_kconf_plan(&kw, k, 0, &kp);
		assert_int_equal(kp.n, 0);
	}
	lb_table_clear(&want);
	return cfg;
}

/* ---- the table with every field ---- */

static void full_table(struct lb_table *t) {
	struct lb_service *s = svc(t, IPPROTO_TCP, "10.0.0.1:80", "wrr");
	persist(s, 300, mask4(24));
	struct lb_dest *d = dst(s, "192.168.1.10:8080", IP_VS_CONN_F_MASQ, 5);
	d->u_thresh = 100, d->l_thresh = 50;
	dst(s, "192.168.1.11:8080", IP_VS_CONN_F_MASQ, 0)->u_thresh = 7;
	s = svc(t, IPPROTO_UDP, "[2001:db8::1]:53", "sh");
	s->flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_ONEPACKET;
	persist(s, 90, 64);
	dst(s, "[2001:db8:1::10]:53", IP_VS_CONN_F_DROUTE, 1);
	s = svc(t, IPPROTO_TCP, "10.0.0.2:443", "mh");
	s->flags = IP_VS_SVC_F_SCHED2;
	tun(dst(s, "10.1.0.1:443", IP_VS_CONN_F_TUNNEL, 2), IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
	    IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
	tun(dst(s, "[fd00::5]:443", IP_VS_CONN_F_TUNNEL, 3), IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
	    IP_VS_TUNNEL_ENCAP_FLAG_CSUM); /* tun may change family */
	s = svc(t, IPPROTO_SCTP, "10.0.0.3:9000", "rr");
	tun(dst(s, "10.1.0.2:9000", IP_VS_CONN_F_TUNNEL, 1), IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0,
	    IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
	s = svc(t, IPPROTO_TCP, "10.0.0.5:22", "lc");
	dst(s, "10.1.0.9:22", IP_VS_CONN_F_TUNNEL, 1); /* plain ipip */
	s = svc(t, IPPROTO_TCP, "10.0.0.4:80", "wlc"); /* no destinations */
	s = fwm(t, 100, AF_INET, "lc");
	s->flags = IP_VS_SVC_F_ONEPACKET;
	persist(s, 3600, mask4(16));
	dst(s, "10.1.0.3:8080", IP_VS_CONN_F_MASQ, 1);
	dst(s, "10.1.0.4:8081", IP_VS_CONN_F_MASQ, 65535);
	s = fwm(t, 7, AF_INET6, "wlc");
	persist(s, 86400, 128); /* the default prefix: left out */
	dst(s, "[fd00::7]:8443", IP_VS_CONN_F_DROUTE, 1)->u_thresh = 10; /* fwmark: any port */
	sort_all(t);
}

static void full_kconf(struct lb_kconf *k) {
	memset(k, 0, sizeof(*k));
	k->timeouts = (struct lb_timeouts){900, 120, 300};
	for (int i = 0; i < LB_SYNCD_N; i++) {
		k->run[i] = true;
		struct lb_syncd *d = &k->syncd[i];
		snprintf(d->ifname, sizeof(d->ifname), "eth1");
		d->id = 10;
		d->group = addr("224.0.0.81:1");
		d->group.port = 0;
		d->port = 8848;
		d->ttl = 1;
	}
	k->syncd[LB_SYNCD_MASTER].max_len = 1460; /* from the MTU, per role */
	k->syncd[LB_SYNCD_BACKUP].max_len = 1472;
}

static const char full_yaml[] =
	"# exported for a test\n"
	"# Services: every service in the kernel's IPVS table.\n"
	"# Health checks: off (health_check: {enabled: false}); the kernel holds none. Write the "
	"checks\n"
	"# you want before ezlb manages these services.\n"
	"global:\n"
	"  # global.sync.max_len left out: the master daemon has 1460, the backup 1472 (the kernel "
	"keeps both)\n"
	"  timeouts:\n"
	"    tcp: 15m\n"
	"    tcp_fin: 2m\n"
	"    udp: 5m\n"
	"  sync:\n"
	"    interface: eth1\n"
	"    id: 10\n"
	"    role: both\n"
	"    group: \"224.0.0.81\"\n"
	"    port: 8848\n"
	"    ttl: 1\n"
	"services:\n"
	"  - name: tcp-10.0.0.1-80\n"
	"    listen: 10.0.0.1:80\n"
	"    protocol: tcp\n"
	"    scheduler: wrr\n"
	"    forward: nat\n"
	"    persistence: {timeout: 5m, netmask: 255.255.255.0}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: 192.168.1.10:8080, weight: 5, max_conns: 100, min_conns: 50}\n"
	"      - {address: 192.168.1.11:8080, weight: 0, max_conns: 7}\n"
	"  - name: tcp-10.0.0.2-443\n"
	"    listen: 10.0.0.2:443\n"
	"    protocol: tcp\n"
	"    scheduler: mh\n"
	"    scheduler_flags: [mh-port]\n"
	"    forward: tun\n"
	"    tunnel: {type: gue, port: 6080, checksum: csum}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: 10.1.0.1:443, weight: 2}\n"
	"      - {address: \"[fd00::5]:443\", weight: 3}\n"
	"  - name: tcp-10.0.0.4-80\n"
	"    listen: 10.0.0.4:80\n"
	"    protocol: tcp\n"
	"    scheduler: wlc\n"
	"    health_check: {enabled: false}\n"
	"    backends: []\n"
	"  - name: tcp-10.0.0.5-22\n"
	"    listen: 10.0.0.5:22\n"
	"    protocol: tcp\n"
	"    scheduler: lc\n"
	"    forward: tun\n"
	"    tunnel: {type: ipip}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: 10.1.0.9:22, weight: 1}\n"
	"  - name: udp-2001.db8..1-53\n"
	"    listen: \"[2001:db8::1]:53\"\n"
	"    protocol: udp\n"
	"    scheduler: sh\n"
	"    scheduler_flags: [sh-fallback, sh-port]\n"
	"    one_packet: true\n"
	"    forward: dr\n"
	"    persistence: {timeout: 90s, netmask: 64}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: \"[2001:db8:1::10]:53\", weight: 1}\n"
	"  - name: sctp-10.0.0.3-9000\n"
	"    listen: 10.0.0.3:9000\n"
	"    protocol: sctp\n"
	"    scheduler: rr\n"
	"    forward: tun\n"
	"    tunnel: {type: gre, checksum: csum}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: 10.1.0.2:9000, weight: 1}\n"
	"  - name: fwmark-7-ipv6\n"
	"    fwmark: 7\n"
	"    family: ipv6\n"
	"    scheduler: wlc\n"
	"    forward: dr\n"
	"    persistence: {timeout: 24h}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: \"[fd00::7]:8443\", weight: 1, max_conns: 10}\n"
	"  - name: fwmark-100-ipv4\n"
	"    fwmark: 100\n"
	"    family: ipv4\n"
	"    protocol: udp\n"
	"    scheduler: lc\n"
	"    one_packet: true\n"
	"    forward: nat\n"
	"    persistence: {timeout: 1h, netmask: 255.255.0.0}\n"
	"    health_check: {enabled: false}\n"
	"    backends:\n"
	"      - {address: 10.1.0.3:8080, weight: 1}\n"
	"      - {address: 10.1.0.4:8081, weight: 65535}\n";

static void test_full_table(void **state) {
	struct lb_table t = {0};
	struct lb_kconf k;
	full_table(&t);
	full_kconf(&k);
	struct lb_export_opts o = {.header = "exported for a test"};
	struct out x = {0};
	export(&t, &k, &o, &x);
	assert_string_equal(x.text, full_yaml);
	assert_string_equal(x.warn, ""); /* a max_len per role is the kernel's doing: a note */
	assert_int_equal(x.st.services, 8);
	assert_int_equal(x.st.backends, 10);
	assert_int_equal(x.st.left_out, 0);
	struct lb_config *cfg = round_trip(x.text, &t, &k, 8);
	assert_false(cfg->services[0].check.enabled); /* enabled: false, as written */
	lb_config_free(cfg);
	out_free(&x);
	lb_table_clear(&t);
}

/* With --health-checks no health_check key is written: the loader's defaults. */
static void test_health_checks(void **state) {
	struct lb_table t = {0};
	full_table(&t);
	struct lb_export_opts o = {.health_checks = true};
	struct out x = {0};
	export(&t, NULL, &o, &x);
	assert_null(strstr(x.text, "health_check"));
	assert_null(strstr(x.text, "global:"));
	assert_non_null(strstr(x.text, "# Health checks: ezlb's defaults"));
	struct lb_config *cfg = round_trip(x.text, &t, NULL, 8);
	for (size_t i = 0; i < cfg->n_services; i++)
		assert_true(cfg->services[i].check.enabled);
	lb_config_free(cfg);
	out_free(&x);
	lb_table_clear(&t);
}

/* ---- what ezlb cannot express ---- */

/* A valid base service tcp 10.0.0.1:80 (wlc, two nat destinations on port 80) that each case
 * breaks in one way, beside a good service that must still be written. */
struct bad_case {
	const char *name;
	void (*breakit)(struct lb_service *s);
	const char *why; /* in the comment and the warning */
};

static void b_proto(struct lb_service *s) { s->key.proto = 47; }
static void b_port0(struct lb_service *s) { s->key.addr.port = 0, persist(s, 60, mask4(32)); }
static void b_sched(struct lb_service *s) { snprintf(s->sched, sizeof(s->sched), "foo"); }
static void b_sched3(struct lb_service *s) {
	snprintf(s->sched, sizeof(s->sched), "sh");
	s->flags = IP_VS_SVC_F_SCHED3;
}
static void b_flag_sched(struct lb_service *s) { s->flags = IP_VS_SVC_F_SCHED1; }
static void b_unknown_flag(struct lb_service *s) { s->flags = 0x40; }
static void b_onepacket(struct lb_service *s) { s->flags = IP_VS_SVC_F_ONEPACKET; }
static void b_persist0(struct lb_service *s) { persist(s, 0, mask4(32)); }
static void b_timeout(struct lb_service *s) { s->timeout = 60; }
static void b_long(struct lb_service *s) { persist(s, 4294968, mask4(32)); }
static void b_mask(struct lb_service *s) { persist(s, 60, htonl(0xff00ff00)); }
static void b_mask0(struct lb_service *s) { persist(s, 60, 0); }
static void b_mask_nopersist(struct lb_service *s) { s->netmask = mask4(24); }
static void b_fwd_mix(struct lb_service *s) { s->dests[1].fwd = IP_VS_CONN_F_DROUTE; }
static void b_fwd_local(struct lb_service *s) { s->dests[0].fwd = 1; /* LOCALNODE */ }
static void b_tun_mix(struct lb_service *s) {
	s->dests[0].fwd = s->dests[1].fwd = IP_VS_CONN_F_TUNNEL;
	tun(&s->dests[1], IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080, 0);
}
static void b_tun_ipip_csum(struct lb_service *s) {
	for (int i = 0; i < 2; i++)
		s->dests[i].fwd = IP_VS_CONN_F_TUNNEL, s->dests[i].tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
}
static void b_tun_gue_noport(struct lb_service *s) {
	for (int i = 0; i < 2; i++)
		s->dests[i].fwd = IP_VS_CONN_F_TUNNEL, tun(&s->dests[i], IP_VS_CONN_F_TUNNEL_TYPE_GUE, 0, 0);
}
static void b_tun_gre_remote(struct lb_service *s) {
	for (int i = 0; i < 2; i++)
		s->dests[i].fwd = IP_VS_CONN_F_TUNNEL,
		tun(&s->dests[i], IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
}
static void b_nat_tunnel(struct lb_service *s) {
	tun(&s->dests[0], IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080, 0);
}
static void b_dr_port(struct lb_service *s) {
	s->dests[0].fwd = s->dests[1].fwd = IP_VS_CONN_F_DROUTE;
	s->dests[1].addr.port = 8080;
}
static void b_dport0(struct lb_service *s) { s->dests[0].addr.port = 0; }
static void b_family(struct lb_service *s) { s->dests[1].addr = addr("[fd00::2]:80"); }
static void b_weight(struct lb_service *s) { s->dests[0].weight = 70000; }
static void b_thresh_eq(struct lb_service *s) { s->dests[0].u_thresh = s->dests[0].l_thresh = 5; }
static void b_thresh_nomax(struct lb_service *s) { s->dests[0].l_thresh = 5; }
static void b_thresh_big(struct lb_service *s) { s->dests[0].u_thresh = 2147483648u; }

static const struct bad_case bad_cases[] = {
	{"protocol", b_proto, "protocol 47: ezlb has tcp, udp and sctp services only"},
	{"port 0", b_port0, "port 0 (every port): a listen address needs a port 1..65535"},
	{"scheduler", b_sched, "scheduler \"foo\" is not one ezlb knows"},
	{"sched3", b_sched3, "scheduler flag 3 (ipvsadm -b flag-3) has no ezlb key"},
	{"flag with wlc", b_flag_sched, "scheduler flag 1 or 2 with scheduler wlc"},
	{"unknown flag", b_unknown_flag, "service flags 0x40 that ezlb does not manage"},
	{"one-packet tcp", b_onepacket, "one-packet scheduling on a tcp service"},
	{"persistent, timeout 0", b_persist0, "persistent with a timeout of 0"},
	{"timeout, not persistent", b_timeout, "a persistence timeout (60s) without the persistent flag"},
	{"timeout too long", b_long, "persistence timeout 4294968s is longer"},
	{"netmask holes", b_mask, "persistence netmask 255.0.255.0: ezlb takes"},
	{"netmask 0", b_mask0, "persistence netmask 0.0.0.0: ezlb takes"},
	{"netmask without persistence", b_mask_nopersist,
	 "persistence netmask 255.255.255.0 without persistence"},
	{"forwards mixed", b_fwd_mix, "destinations forward with different methods (10.1.0.1:80: nat, "
				      "10.1.0.2:80: dr): ezlb has one forward per service"},
	{"localnode", b_fwd_local, "destination 10.1.0.1:80 forwards with method 1"},
	{"tunnels mixed", b_tun_mix, "destinations 10.1.0.1:80 and 10.1.0.2:80 have different tunnel "
				     "settings"},
	{"ipip checksum", b_tun_ipip_csum, "destination 10.1.0.1:80: tunnel type 0, port 0, checksum "
					   "flags 0x1 is not one ezlb accepts"},
	{"gue without port", b_tun_gue_noport, "tunnel type 1, port 0, checksum flags 0x0 is not one"},
	{"gre remote", b_tun_gre_remote, "tunnel type 2, port 0, checksum flags 0x2 is not one"},
	{"nat with tunnel", b_nat_tunnel, "destination 10.1.0.1:80 forwards with nat but has tunnel "
					  "settings"},
	{"dr port", b_dr_port, "destination 10.1.0.2:8080 has port 8080 but the service 80, and "
			       "forward: dr cannot change the port"},
	{"dest port 0", b_dport0, "destination 10.1.0.1:0 has port 0"},
	{"family", b_family, "destination [fd00::2]:80 is of another address family"},
	{"weight", b_weight, "destination 10.1.0.1:80 has weight 70000, above ezlb's 65535"},
	{"min == max", b_thresh_eq, "thresholds -x 5 -y 5"},
	{"min without max", b_thresh_nomax, "thresholds -x 0 -y 5"},
	{"max too big", b_thresh_big, "thresholds -x 2147483648 -y 0"},
};

static void run_bad_case(void **state) {
	const struct bad_case *c = *state;
	struct lb_table t = {0};
	struct lb_service *s = svc(&t, IPPROTO_TCP, "10.0.0.1:80", "wlc");
	dst(s, "10.1.0.1:80", IP_VS_CONN_F_MASQ, 1);
	dst(s, "10.1.0.2:80", IP_VS_CONN_F_MASQ, 1);
	c->breakit(s);
	struct lb_svc_key key = s->key;
	s = svc(&t, IPPROTO_TCP, "10.0.0.9:80", "wlc"); /* the good one */
	dst(s, "10.1.0.1:80", IP_VS_CONN_F_MASQ, 1);
	sort_all(&t);
	char keystr[LB_SVC_KEYSTRLEN], head[128], warn[128], name[LB_EXPORT_NAME_MAX];
	lb_svc_key_fmt(&key, keystr, sizeof(keystr));
	snprintf(head, sizeof(head), "  # LEFT OUT: %s (", keystr);
	snprintf(warn, sizeof(warn), "ezlb: export: warning: %s left out: ", keystr);
	struct lb_export_opts o = {0};
	struct out x = {0};
	export(&t, NULL, &o, &x);
	assert_non_null(strstr(x.text, head));
	assert_non_null(strstr(x.text, c->why));
	assert_non_null(strstr(x.text, "# 1 service ezlb cannot express is left out"));
	assert_non_null(strstr(x.warn, warn));
	assert_non_null(strstr(x.warn, c->why));
	assert_int_equal(x.st.left_out, 1);
	assert_int_equal(x.st.services, 1);
	assert_int_equal(x.st.warnings, 1);
	lb_export_name(&key, name, sizeof(name));
	assert_null(strstr(x.text, name));
	lb_config_free(round_trip(x.text, &t, NULL, 1)); /* the rest is still a valid file */
	out_free(&x);
	lb_table_clear(&t);
}

/* Several reasons in one service are all given, and destination kinds are counted. */
static void test_many_reasons(void **state) {
	struct lb_table t = {0};
	struct lb_service *s = svc(&t, IPPROTO_TCP, "10.0.0.1:80", "foo");
	for (int i = 1; i <= 4; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.1.0.%d:80", i);
		dst(s, a, IP_VS_CONN_F_MASQ, 70000);
	}
	struct lb_export_opts o = {0};
	struct out x = {0};
	export(&t, NULL, &o, &x);
	assert_non_null(strstr(x.text, "  # LEFT OUT: tcp 10.0.0.1:80 (4 destinations) cannot be "
				       "written as ezlb config; it is unchanged in the kernel:\n"
				       "  #   - scheduler \"foo\" is not one ezlb knows\n"
				       "  #   - destination 10.1.0.1:80 has weight 70000, above ezlb's "
				       "65535 (and 3 more destinations)\n"));
	assert_non_null(strstr(x.text, "services: []\n"));
	assert_string_equal(x.warn, "ezlb: export: warning: tcp 10.0.0.1:80 left out: scheduler "
				    "\"foo\" is not one ezlb knows; destination 10.1.0.1:80 has "
				    "weight 70000, above ezlb's 65535 (and 3 more destinations)\n");
	lb_config_free(round_trip(x.text, &t, NULL, 0));
	out_free(&x);
	lb_table_clear(&t);
}

/* ---- names ---- */

static void test_names(void **state) {
	static const struct { const char *key, *name; } cases[] = {
		{"tcp 10.0.0.1:80", "tcp-10.0.0.1-80"},
		{"udp [2001:db8::1]:53", "udp-2001.db8..1-53"},
		{"sctp [::]:1", "sctp-..-1"},
		{"tcp [1::]:80", "tcp-1..-80"},
		{"tcp [1:0:0:2:0:0:3:4]:80", "tcp-1..2.0.0.3.4-80"}, /* the first of two longest runs */
		{"tcp [1:0:0:2:0:0:0:3]:80", "tcp-1.0.0.2..3-80"},   /* the longest run */
		{"tcp [1:0:2:3:4:5:6:7]:80", "tcp-1.0.2.3.4.5.6.7-80"}, /* one zero: no :: */
		/* inet_ntop writes both as "::ffff:1.2.3.4" / "::ffff:1:2:3:4": hex keeps them apart */
		{"tcp [::ffff:1.2.3.4]:80", "tcp-..ffff.102.304-80"},
		{"tcp [::ffff:1:2:3:4]:80", "tcp-..ffff.1.2.3.4-80"},
		{"sctp [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		 "sctp-ffff.ffff.ffff.ffff.ffff.ffff.ffff.ffff-65535"},
		{"fwmark 100 ipv4", "fwmark-100-ipv4"},
		{"fwmark 4294967295 ipv6", "fwmark-4294967295-ipv6"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lb_svc_key k;
		char name[LB_EXPORT_NAME_MAX];
		assert_int_equal(lb_svc_key_parse(cases[i].key, &k), 0);
		assert_string_equal(lb_export_name(&k, name, sizeof(name)), cases[i].name);
		assert_true(strlen(name) <= 64);
	}
}

/* ---- the owned filter ---- */

static void test_owned_only(void **state) {
	struct lb_table t = {0};
	full_table(&t);
	struct lb_owned owned = {0};
	struct lb_svc_key k;
	assert_int_equal(lb_svc_key_parse("fwmark 7 ipv6", &k), 0);
	assert_int_equal(lb_owned_add(&owned, &k), 0);
	assert_int_equal(lb_svc_key_parse("tcp 10.0.0.1:80", &k), 0);
	assert_int_equal(lb_owned_add(&owned, &k), 0);
	struct lb_export_opts o = {.owned = &owned};
	struct out x = {0};
	export(&t, NULL, &o, &x);
	assert_int_equal(x.st.services, 2);
	assert_int_equal(x.st.not_owned, 6);
	assert_non_null(strstr(x.text, "# Services: the ones ezlb owns (its ownership record); 6 "
				       "others in the kernel left out"));
	assert_non_null(strstr(x.text, "  - name: tcp-10.0.0.1-80\n"));
	assert_non_null(strstr(x.text, "  - name: fwmark-7-ipv6\n"));
	assert_null(strstr(x.text, "tcp-10.0.0.2-443"));
	/* the planner, owning nothing, leaves the others alone */
	lb_config_free(round_trip(x.text, &t, NULL, 2));
	out_free(&x);
	/* owning none: an empty but valid file */
	struct lb_owned none = {0};
	o.owned = &none;
	export(&t, NULL, &o, &x);
	assert_non_null(strstr(x.text, "services: []\n"));
	lb_config_free(round_trip(x.text, &t, NULL, 0));
	out_free(&x);
	lb_owned_free(&owned);
	lb_table_clear(&t);
}

/* ---- the kernel-wide settings ---- */

struct kcase {
	const char *name;
	void (*setup)(struct lb_kconf *k);
	const char *has[4];   /* in the text */
	const char *hasnt[3]; /* not in the text */
	const char *warn;     /* in the warnings; NULL: none */
};

static void k_none(struct lb_kconf *k) {
	memset(k, 0, sizeof(*k));
}
static void k_master(struct lb_kconf *k) {
	full_kconf(k);
	k->run[LB_SYNCD_BACKUP] = false;
	memset(&k->syncd[LB_SYNCD_BACKUP], 0, sizeof(k->syncd[0]));
	k->syncd[LB_SYNCD_MASTER].max_len = 600; /* master only: 1.. is fine */
}
static void k_backup(struct lb_kconf *k) {
	full_kconf(k);
	k->run[LB_SYNCD_MASTER] = false;
	memset(&k->syncd[LB_SYNCD_MASTER], 0, sizeof(k->syncd[0]));
	snprintf(k->syncd[LB_SYNCD_BACKUP].ifname, 16, "1"); /* would read as a number */
	k->syncd[LB_SYNCD_BACKUP].group = addr("[ff02::81]:1");
	k->syncd[LB_SYNCD_BACKUP].group.port = 0;
}
static void k_ids_differ(struct lb_kconf *k) {
	full_kconf(k);
	k->syncd[LB_SYNCD_BACKUP].id = 11;
}
static void k_ports_differ(struct lb_kconf *k) {
	full_kconf(k);
	k->syncd[LB_SYNCD_BACKUP].port = 9000;
	k->syncd[LB_SYNCD_BACKUP].max_len = 1460;
}
static void k_old_kernel(struct lb_kconf *k) { /* before 4.3: no group, port, ttl, max_len */
	full_kconf(k);
	for (int i = 0; i < LB_SYNCD_N; i++) {
		struct lb_syncd *d = &k->syncd[i];
		memset(&d->group, 0, sizeof(d->group));
		d->port = d->ttl = 0;
		d->max_len = 0;
	}
	k->timeouts.udp = 0; /* a kernel without UDP */
}
static void k_backup_small(struct lb_kconf *k) {
	full_kconf(k);
	k->run[LB_SYNCD_MASTER] = false;
	k->syncd[LB_SYNCD_BACKUP].max_len = 512; /* below what the config takes for a backup */
}
static void k_long_timeout(struct lb_kconf *k) {
	full_kconf(k);
	k->run[0] = k->run[1] = false;
	k->timeouts.tcp = 2073601;
}

static const struct kcase kcases[] = {
	{"nothing", k_none, {"services: []\n"}, {"global:", "sync:", "timeouts:"}, NULL},
	{"master only", k_master,
	 {"    role: master\n", "    max_len: 600\n", "    tcp: 15m\n"}, {"backup"}, NULL},
	{"backup only", k_backup,
	 {"    interface: \"1\"\n", "    role: backup\n", "    group: \"ff02::81\"\n",
	  "    max_len: 1472\n"}, {NULL}, NULL},
	{"ids differ", k_ids_differ, {"  # global.sync left out: the master daemon runs on eth1 with "
				      "id 10, the backup on eth1 with id 11", "  timeouts:\n"},
	 {"sync:"}, "ezlb: export: warning: global.sync left out: "},
	{"ports differ", k_ports_differ,
	 {"  # global.sync.port left out: the master daemon has 8848, the backup 9000",
	  "    max_len: 1460\n", "    role: both\n"}, {"port: "}, "global.sync.port left out"},
	{"old kernel", k_old_kernel, {"    role: both\n", "    tcp_fin: 2m\n"},
	 {"group:", "max_len:", "udp:"}, NULL},
	{"backup max_len too small", k_backup_small,
	 {"  # global.sync.max_len left out: the kernel's 512 is outside 1024..65507"}, {"max_len:"},
	 "global.sync.max_len left out"},
	{"timeout too long", k_long_timeout, {"# global.timeouts.tcp left out: the kernel's 2073601s",
					      "    tcp_fin: 2m\n"}, {"    tcp:", "sync:"},
	 "global.timeouts.tcp left out"},
};

static void run_kcase(void **state) {
	const struct kcase *c = *state;
	struct lb_table t = {0};
	struct lb_kconf k;
	c->setup(&k);
	struct lb_export_opts o = {0};
	struct out x = {0};
	export(&t, &k, &o, &x);
	for (size_t i = 0; i < ARRAY_SIZE(c->has) && c->has[i]; i++)
		if (!strstr(x.text, c->has[i]))
			fail_msg("\"%s\" not in:\n%s", c->has[i], x.text);
	for (size_t i = 0; i < ARRAY_SIZE(c->hasnt) && c->hasnt[i]; i++)
		if (strstr(x.text, c->hasnt[i]))
			fail_msg("\"%s\" in:\n%s", c->hasnt[i], x.text);
	if (c->warn)
		assert_non_null(strstr(x.warn, c->warn));
	else
		assert_string_equal(x.warn, "");
	lb_config_free(round_trip(x.text, &t, &k, 0));
	out_free(&x);
}

/* ---- random tables ---- */

static unsigned rnd(unsigned n) {
	return (unsigned)random() % n;
}

/* One random service ezlb can express: every scheduler, flag, family, forward, tunnel and
 * threshold the config allows, in random combinations. */
static void random_service(struct lb_table *t, unsigned i) {
	static const char *const scheds[] = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh",
					     "sed", "nq", "fo", "ovf", "mh", "twos"};
	static const uint16_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};
	bool v6 = rnd(3) == 0, mark = rnd(5) == 0;
	char a[64];
	struct lb_service *s;
	const char *sched = scheds[rnd(ARRAY_SIZE(scheds))];
	if (mark) {
		s = fwm(t, i + 1, v6 ? AF_INET6 : AF_INET, sched);
	} else {
		if (v6)
			snprintf(a, sizeof(a), "[fd00::%x]:%u", i + 1, 1 + rnd(65535));
		else
			snprintf(a, sizeof(a), "10.0.%u.%u:%u", i / 250, i % 250 + 1, 1 + rnd(65535));
		s = svc(t, protos[rnd(3)], a, sched);
	}
	if (!strcmp(sched, "sh") || !strcmp(sched, "mh"))
		s->flags |= rnd(4) * IP_VS_SVC_F_SCHED1; /* 0, SCHED1, SCHED2, both */
	if ((mark || s->key.proto == IPPROTO_UDP) && rnd(2))
		s->flags |= IP_VS_SVC_F_ONEPACKET;
	if (rnd(2))
		persist(s, 1 + rnd(100000), v6 ? 1 + rnd(128) : mask4(1 + rnd(32)));
	uint32_t fwd = (uint32_t[]){IP_VS_CONN_F_MASQ, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_TUNNEL}[rnd(3)];
	uint8_t type = (uint8_t)rnd(3);
	uint16_t port = type == IP_VS_CONN_F_TUNNEL_TYPE_GUE ? (uint16_t)(1 + rnd(65535)) : 0;
	uint16_t flags = type == IP_VS_CONN_F_TUNNEL_TYPE_IPIP ? 0 :
			 (uint16_t)(type == IP_VS_CONN_F_TUNNEL_TYPE_GUE ? rnd(3) : rnd(2));
	unsigned n = rnd(6);
	for (unsigned j = 0; j < n; j++) {
		bool dv6 = fwd == IP_VS_CONN_F_TUNNEL ? rnd(2) : s->key.addr.af == AF_INET6;
		uint16_t p = !mark && fwd != IP_VS_CONN_F_MASQ ? s->key.addr.port : 1 + rnd(65535);
		if (dv6)
			snprintf(a, sizeof(a), "[fd01::%x:%x]:%u", i, j + 1, p);
		else
			snprintf(a, sizeof(a), "10.%u.%u.%u:%u", 100 + i % 100, i / 100, j + 1, p);
		struct lb_dest *d = dst(s, a, fwd, rnd(65536));
		if (fwd == IP_VS_CONN_F_TUNNEL)
			tun(d, type, port, flags);
		if (rnd(2)) {
			d->u_thresh = 1 + rnd(2147483647);
			d->l_thresh = rnd(2) ? rnd(d->u_thresh) : 0;
		}
	}
}

static void test_random_tables(void **state) {
	unsigned seed = getenv("EXPORT_SEED") ? (unsigned)atoi(getenv("EXPORT_SEED")) : 20260131;
	for (unsigned round = 0; round < 20; round++) {
		srandom(seed + round);
		struct lb_table t = {0};
		unsigned n = 1 + rnd(60);
		for (unsigned i = 0; i < n; i++)
			random_service(&t, i);
		sort_all(&t);
		struct lb_export_opts o = {.health_checks = rnd(2)};
		struct out x = {0};
		export(&t, NULL, &o, &x);
		if (x.st.left_out || x.wlen)
			fail_msg("seed %u: %s", seed + round, x.warn);
		assert_int_equal(x.st.services, t.n);
		lb_config_free(round_trip(x.text, &t, NULL, t.n));
		out_free(&x);
		lb_table_clear(&t);
	}
}

int main(void) {
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_health_checks),
		cmocka_unit_test(test_many_reasons),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_owned_only),
		cmocka_unit_test(test_random_tables),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(bad_cases) + ARRAY_SIZE(kcases)];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){bad_cases[i].name, run_bad_case, NULL, NULL,
						 (void *)&bad_cases[i]};
	for (size_t i = 0; i < ARRAY_SIZE(kcases); i++)
		tests[n++] = (struct CMUnitTest){kcases[i].name, run_kcase, NULL, NULL,
						 (void *)&kcases[i]};
	return _cmocka_run_group_tests("export", tests, n, NULL, NULL);
}
