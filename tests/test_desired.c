/* Config + health -> desired table: every field mapped, down backends removed or quiesced; quorum
 * (loss and return under each on_loss, counts and percentages), sorry servers (also as backends),
 * the failed list, drain_timeout; and one config loaded from YAML through the same path. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/ip_vs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "desired.h"
#include "util.h"

static struct lb_backend_conf backend(const char *addr, uint32_t weight) {
	struct lb_backend_conf b = {.weight = weight};
	assert_int_equal(lb_addr_parse(addr, &b.addr), 0);
	return b;
}

static struct lb_service_conf service(const char *name, const char *listen, enum lb_fwd fwd,
				      struct lb_backend_conf *be, size_t n) {
	struct lb_service_conf s = {.name = (char *)name, .protocol = IPPROTO_TCP, .forward = fwd,
				    .backends = be, .n_backends = n, .persist_netmask = 0xffffffff};
	strcpy(s.scheduler, "wrr");
	assert_int_equal(lb_addr_parse(listen, &s.listen), 0);
	return s;
}

/* Backends whose port is 9999 are down. */
static bool up_unless_9999(void *ud, const struct lb_service_conf *svc, const struct lb_backend_conf *be) {
	(*(int *)ud)++;
	return be->addr.port != 9999;
}

static void test_fields_and_order(void **state) {
	struct lb_backend_conf b1[] = {backend("192.168.1.12:80", 0), backend("192.168.1.10:80", 5)};
	struct lb_backend_conf b2[] = {backend("[2001:db8::2]:53", 1)};
	struct lb_service_conf s[] = {
		service("web", "10.0.0.2:80", LB_FWD_DR, b1, 2),
		service("dns", "10.0.0.1:53", LB_FWD_TUN, b2, 1), /* tun may mix families */
	};
	s[0].persist_timeout_s = 300;
	s[0].persist_netmask = htonl(0xffffff00);
	struct lb_config cfg = {.services = s, .n_services = 2};
	struct lb_table t = {0};
	assert_int_equal(lb_desired_build(&cfg, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 2);
	/* sorted by key: 10.0.0.1:53 first */
	assert_string_equal(t.svcs[0].name, "dns");
	assert_int_equal(t.svcs[0].flags, 0);
	assert_int_equal(t.svcs[0].timeout, 0);
	assert_int_equal(t.svcs[0].dests[0].fwd, IP_VS_CONN_F_TUNNEL);
	assert_int_equal(t.svcs[0].dests[0].addr.af, AF_INET6);
	const struct lb_service *web = &t.svcs[1];
	assert_string_equal(web->name, "web");
	assert_string_equal(web->sched, "wrr");
	assert_int_equal(web->key.proto, IPPROTO_TCP);
	assert_int_equal(web->flags, IP_VS_SVC_F_PERSISTENT);
	assert_int_equal(web->timeout, 300);
	assert_int_equal(web->netmask, htonl(0xffffff00));
	assert_int_equal(web->n_dests, 2);
	/* destinations sorted by address; weight 0 (quiesced by the admin) is kept */
	assert_int_equal(web->dests[0].addr.port, 80);
	assert_int_equal(web->dests[0].weight, 5);
	assert_int_equal(web->dests[1].weight, 0);
	assert_int_equal(web->dests[0].fwd, IP_VS_CONN_F_DROUTE);
	lb_table_clear(&t);
}

/* The rest of the IPVS table: fwmark key, scheduler flags and one-packet, thresholds of backends
 * and sorry servers, the tunnel of a tun service (and none for another method). */
static bool all_down(void *ud, const struct lb_service_conf *svc,
				  const struct lb_backend_conf *be) {
	return false; /* every backend down */
}

static void test_ipvs_fields(void **state) {
	struct lb_backend_conf b1[] = {backend("192.168.1.10:80", 2)};
	struct lb_backend_conf b2[] = {backend("192.168.1.11:8080", 1)};
	struct lb_backend_conf sorry[] = {backend("192.168.1.99:80", 1)};
	b1[0].max_conns = 1000;
	b1[0].min_conns = 800;
	sorry[0].max_conns = 5;
	struct lb_service_conf s[] = {
		service("tunnelled", "10.0.0.1:80", LB_FWD_TUN, b1, 1),
		service("marked", "0.0.0.0:1", LB_FWD_NAT, b2, 1),
	};
	s[0].svc_flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2;
	s[0].persist_timeout_s = 60;
	s[0].tunnel = (struct lb_tunnel_conf){IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
					       IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM};
	s[0].sorry = sorry;
	s[0].n_sorry = 1;
	s[0].quorum = (struct lb_quorum_conf){.enabled = true, .min_up = 1, .on_loss = LB_ON_LOSS_SORRY};
	s[1].fwmark = 100;
	s[1].listen = (struct lb_addr){.af = AF_INET6};
	s[1].protocol = IPPROTO_UDP;
	s[1].svc_flags = IP_VS_SVC_F_ONEPACKET;
	s[1].tunnel = s[0].tunnel; /* ignored: not forward tun */
	struct lb_config cfg = {.services = s, .n_services = 2};
	struct lb_table t = {0};
	assert_int_equal(lb_desired_build(&cfg, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 2);
	const struct lb_service *x = &t.svcs[0], *m = &t.svcs[1]; /* address keys sort first */
	assert_string_equal(x->name, "tunnelled");
	assert_int_equal(x->flags, IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2);
	assert_int_equal(x->dests[0].u_thresh, 1000);
	assert_int_equal(x->dests[0].l_thresh, 800);
	assert_int_equal(x->dests[0].tun_type, IP_VS_CONN_F_TUNNEL_TYPE_GUE);
	assert_int_equal(x->dests[0].tun_port, 6080);
	assert_int_equal(x->dests[0].tun_flags, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
	assert_string_equal(m->name, "marked");
	assert_int_equal(m->key.fwmark, 100);
	assert_int_equal(m->key.proto, 0); /* the kernel reports none for a fwmark service */
	assert_int_equal(m->key.addr.af, AF_INET6);
	assert_int_equal(m->key.addr.port, 0);
	assert_int_equal(m->flags, IP_VS_SVC_F_ONEPACKET);
	assert_int_equal(m->dests[0].tun_type, 0);
	assert_int_equal(m->dests[0].tun_port, 0);
	assert_int_equal(m->dests[0].tun_flags, 0);
	struct lb_svc_key k = lb_desired_key(&s[1]);
	assert_int_equal(lb_svc_key_cmp(&k, &m->key), 0);
	lb_table_clear(&t);
	/* quorum lost: the sorry server carries its own thresholds and the service's tunnel */
	b1[0].addr.port = 80;
	assert_int_equal(lb_desired_build(&cfg, all_down, NULL, &t), 0);
	assert_int_equal(t.svcs[0].n_dests, 1);
	assert_int_equal(t.svcs[0].dests[0].u_thresh, 5);
	assert_int_equal(t.svcs[0].dests[0].l_thresh, 0);
	assert_int_equal(t.svcs[0].dests[0].tun_type, IP_VS_CONN_F_TUNNEL_TYPE_GUE);
	lb_table_clear(&t);
}

static void test_down_backends_removed_or_quiesced(void **state) {
	struct lb_backend_conf b[] = {backend("127.0.0.1:9999", 7), backend("127.0.0.2:80", 3)};
	struct lb_service_conf s[] = {service("rm", "10.0.0.1:80", LB_FWD_NAT, b, 2),
				      service("q", "10.0.0.2:80", LB_FWD_NAT, b, 2)};
	s[1].check.on_failure = LB_ON_FAILURE_QUIESCE;
	struct lb_config cfg = {.services = s, .n_services = 2};
	struct lb_table t = {0};
	int calls = 0;
	assert_int_equal(lb_desired_build(&cfg, up_unless_9999, &calls, &t), 0);
	assert_int_equal(calls, 4);
	/* remove: the down backend is not in the table */
	assert_int_equal(t.svcs[0].n_dests, 1);
	assert_int_equal(t.svcs[0].dests[0].addr.port, 80);
	assert_int_equal(t.svcs[0].dests[0].fwd, IP_VS_CONN_F_MASQ);
	/* quiesce: it stays with weight 0; the up one keeps its weight */
	assert_int_equal(t.svcs[1].n_dests, 2);
	assert_int_equal(t.svcs[1].dests[0].addr.port, 9999);
	assert_int_equal(t.svcs[1].dests[0].weight, 0);
	assert_int_equal(t.svcs[1].dests[1].weight, 3);
	lb_table_clear(&t);
}

static void test_add_one_service(void **state) {
	struct lb_backend_conf b[] = {backend("127.0.0.3:80", 1), backend("127.0.0.1:80", 2)};
	struct lb_service_conf s = service("one", "10.0.0.9:80", LB_FWD_NAT, b, 2);
	struct lb_table t = {0};
	assert_int_equal(lb_desired_add_service(&t, &s, NULL, NULL), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.svcs[0].n_dests, 2);
	assert_true(lb_addr_cmp(&t.svcs[0].dests[0].addr, &t.svcs[0].dests[1].addr) < 0);
	lb_table_clear(&t);
}

/* ---- quorum, table-driven ----
 * backends: entry (", " entry)*, entry: ip:port wN [down]; sorry: ip:port wN (", " ...)*
 * Expected destinations as "ip:port wN, ..." in table order, failed as "ip:port, ...". */

#define B10 "192.168.1.10:80"
#define B11 "192.168.1.11:80"
#define B12 "192.168.1.12:80"
#define B13 "192.168.1.13:80"
#define S9 "192.168.9.9:80"
#define S10 "192.168.9.10:80"

struct qcase {
	const char *name;
	const char *backends, *sorry;
	bool quorum;              /* quorum.enabled */
	uint32_t min_up;
	bool pct;
	enum lb_on_loss on_loss;
	enum lb_on_failure on_failure;
	/* expected */
	enum lb_quorum state;
	uint32_t n_up, want_min_up;
	const char *dests, *failed;
};

#define REMOVE LB_ON_FAILURE_REMOVE
#define QUIESCE LB_ON_FAILURE_QUIESCE
#define SORRY LB_ON_LOSS_SORRY
#define FAIL_OPEN LB_ON_LOSS_FAIL_OPEN
#define EMPTY LB_ON_LOSS_EMPTY
#define NONE LB_QUORUM_NONE
#define OK LB_QUORUM_OK
#define LOST LB_QUORUM_LOST

#define THREE B10 " w5, " B11 " w3, " B12 " w1"

static const struct qcase qcases[] = {
	/* no quorum: health alone */
	{"no quorum, remove: a down backend is failed", B10 " w5, " B11 " w3 down, " B12 " w1", "",
	 false, 0, false, SORRY, REMOVE, NONE, 2, 0, B10 " w5, " B12 " w1", B11},
	{"no quorum, quiesce: a down backend stays at weight 0", B10 " w5, " B11 " w3 down, " B12 " w1",
	 "", false, 0, false, SORRY, QUIESCE, NONE, 2, 0, B10 " w5, " B11 " w0, " B12 " w1", ""},
	{"no quorum, every backend down", B10 " w5 down, " B11 " w3 down", "", false, 0, false,
	 FAIL_OPEN, REMOVE, NONE, 0, 0, "", B10 ", " B11},
	{"quorum disabled: sorry servers never used", B10 " w5 down, " B11 " w3 down", S9 " w1", false,
	 0, false, SORRY, REMOVE, NONE, 0, 0, "", B10 ", " B11},
	/* on_loss: sorry */
	{"sorry: all up, sorry servers not in the table", THREE, S9 " w1, " S10 " w3", true, 2, false,
	 SORRY, REMOVE, OK, 3, 2, THREE, ""},
	{"sorry: n_up == min_up holds quorum", B10 " w5, " B11 " w3 down, " B12 " w1",
	 S9 " w1, " S10 " w3", true, 2, false, SORRY, REMOVE, OK, 2, 2, B10 " w5, " B12 " w1", B11},
	{"sorry: lost (remove): every backend failed, up ones too, sorry servers in",
	 B10 " w5, " B11 " w3 down, " B12 " w1 down", S10 " w3, " S9 " w1", true, 2, false, SORRY,
	 REMOVE, LOST, 1, 2, S9 " w1, " S10 " w3", B10 ", " B11 ", " B12},
	{"sorry: lost (quiesce): every backend at weight 0, sorry servers in",
	 B10 " w5, " B11 " w3 down, " B12 " w1 down", S10 " w3, " S9 " w1", true, 2, false, SORRY,
	 QUIESCE, LOST, 1, 2, B10 " w0, " B11 " w0, " B12 " w0, " S9 " w1, " S10 " w3", ""},
	{"sorry: all down", B10 " w5 down, " B11 " w3 down", S9 " w1", true, 1, false, SORRY, REMOVE,
	 LOST, 0, 1, S9 " w1", B10 ", " B11},
	{"sorry: a sorry server of weight 0 is kept at 0", B10 " w5 down", S9 " w0", true, 1, false,
	 SORRY, REMOVE, LOST, 0, 1, S9 " w0", B10},
	/* on_loss: fail_open */
	{"fail_open: lost (remove): every backend in with its weight",
	 B10 " w5, " B11 " w3 down, " B12 " w1 down", "", true, 2, false, FAIL_OPEN, REMOVE, LOST, 1, 2,
	 THREE, ""},
	{"fail_open: lost (quiesce): every backend in with its weight",
	 B10 " w5 down, " B11 " w3 down, " B12 " w1 down", "", true, 2, false, FAIL_OPEN, QUIESCE, LOST,
	 0, 2, THREE, ""},
	{"fail_open: quorum held: health as usual", B10 " w5, " B11 " w3 down, " B12 " w1", "", true, 2,
	 false, FAIL_OPEN, REMOVE, OK, 2, 2, B10 " w5, " B12 " w1", B11},
	/* on_loss: empty */
	{"empty: lost (remove): no destination, every backend failed",
	 B10 " w5, " B11 " w3 down, " B12 " w1 down", "", true, 2, false, EMPTY, REMOVE, LOST, 1, 2, "",
	 B10 ", " B11 ", " B12},
	{"empty: lost (quiesce): every backend at weight 0",
	 B10 " w5, " B11 " w3 down, " B12 " w1 down", "", true, 2, false, EMPTY, QUIESCE, LOST, 1, 2,
	 B10 " w0, " B11 " w0, " B12 " w0", ""},
	{"empty: quorum held: health as usual", B10 " w5, " B11 " w3 down, " B12 " w1", "", true, 1,
	 false, EMPTY, REMOVE, OK, 2, 1, B10 " w5, " B12 " w1", B11},
	/* min_up as a count and as a percentage (rounded up) */
	{"count equal to the backends: one down loses", B10 " w5, " B11 " w3 down, " B12 " w1", "",
	 true, 3, false, EMPTY, REMOVE, LOST, 2, 3, "", B10 ", " B11 ", " B12},
	{"50% of 3 is 2: one up loses", B10 " w5, " B11 " w3 down, " B12 " w1 down", "", true, 50, true,
	 EMPTY, REMOVE, LOST, 1, 2, "", B10 ", " B11 ", " B12},
	{"50% of 3 is 2: two up hold", B10 " w5, " B11 " w3 down, " B12 " w1", "", true, 50, true, EMPTY,
	 REMOVE, OK, 2, 2, B10 " w5, " B12 " w1", B11},
	{"50% of 4 is 2: two up hold", B10 " w5, " B11 " w3 down, " B12 " w1 down, " B13 " w2", "", true,
	 50, true, EMPTY, REMOVE, OK, 2, 2, B10 " w5, " B13 " w2", B11 ", " B12},
	{"34% of 3 is 2 (1.02 rounded up)", B10 " w5, " B11 " w3 down, " B12 " w1 down", "", true, 34,
	 true, EMPTY, REMOVE, LOST, 1, 2, "", B10 ", " B11 ", " B12},
	{"33% of 3 is 1 (0.99 rounded up)", B10 " w5, " B11 " w3 down, " B12 " w1 down", "", true, 33,
	 true, EMPTY, REMOVE, OK, 1, 1, B10 " w5", B11 ", " B12},
	{"1% of 3 is 1: all down loses", B10 " w5 down, " B11 " w3 down, " B12 " w1 down", "", true, 1,
	 true, EMPTY, REMOVE, LOST, 0, 1, "", B10 ", " B11 ", " B12},
	{"100% of 4: one down loses", B10 " w5, " B11 " w3, " B12 " w1, " B13 " w2 down", "", true, 100,
	 true, FAIL_OPEN, REMOVE, LOST, 3, 4, B10 " w5, " B11 " w3, " B12 " w1, " B13 " w2", ""},
	{"a percentage of no backends is 1: lost, sorry servers in", "", S9 " w1", true, 50, true,
	 SORRY, REMOVE, LOST, 0, 1, S9 " w1", ""},
	/* a sorry server that is also a backend: one destination, whose weight flips with quorum */
	{"shared sorry server, quorum held: it is the backend", B10 " w5, " B11 " w5, " B12 " w5",
	 B11 " w1, " S9 " w2", true, 2, false, SORRY, REMOVE, OK, 3, 2, B10 " w5, " B11 " w5, " B12 " w5",
	 ""},
	{"shared sorry server, quorum held, it is down: failed as the backend",
	 B10 " w5, " B11 " w5 down, " B12 " w5", B11 " w1, " S9 " w2", true, 2, false, SORRY, REMOVE, OK,
	 2, 2, B10 " w5, " B12 " w5", B11},
	{"shared sorry server, quorum lost: once, as the sorry server, not failed",
	 B10 " w5, " B11 " w5 down, " B12 " w5 down", B11 " w1, " S9 " w2", true, 2, false, SORRY, REMOVE,
	 LOST, 1, 2, B11 " w1, " S9 " w2", B10 ", " B12},
	{"shared sorry server, quorum lost while it is up", B10 " w5 down, " B11 " w5, " B12 " w5 down",
	 B11 " w1, " S9 " w2", true, 2, false, SORRY, REMOVE, LOST, 1, 2, B11 " w1, " S9 " w2",
	 B10 ", " B12},
	{"shared sorry server, quorum lost (quiesce)", B10 " w5, " B11 " w5 down, " B12 " w5 down",
	 B11 " w1, " S9 " w2", true, 2, false, SORRY, QUIESCE, LOST, 1, 2,
	 B10 " w0, " B11 " w1, " B12 " w0, " S9 " w2", ""},
	/* the failed list is sorted (address family first), whatever the config order */
	{"failed list sorted", "[2001:db8::1]:80 w1 down, " B12 " w1 down, " B10 " w1 down, " B11 " w1",
	 "", false, 0, false, SORRY, REMOVE, NONE, 1, 0, B11 " w1", B10 ", " B12 ", [2001:db8::1]:80"},
	{"failed list sorted under a lost quorum", B12 " w1, " B10 " w1 down, " B11 " w1 down", S9 " w1",
	 true, 2, false, SORRY, REMOVE, LOST, 1, 2, S9 " w1", B10 ", " B11 ", " B12},
};

struct parsed {
	struct lb_backend_conf be[8], sorry[8];
	bool down[8];
	size_t n_be, n_sorry;
};

static size_t parse_list(const char *spec, struct lb_backend_conf *out, bool *down) {
	char buf[512], *save = NULL;
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *e = strtok_r(buf, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		char addr[64], w[16], d[16] = "";
		int k = sscanf(e, " %63s %15s %15s", addr, w, d);
		assert_true(k >= 2 && w[0] == 'w');
		assert_true(n < 8);
		out[n] = backend(addr, (uint32_t)strtoul(w + 1, NULL, 10));
		if (down)
			down[n] = strcmp(d, "down") == 0;
		else
			assert_int_equal(k, 2);
		n++;
	}
	return n;
}

/* Up unless marked down; ud: the parsed lists of the one service. */
static bool up_unless_marked(void *ud, const struct lb_service_conf *svc, const struct lb_backend_conf *be) {
	const struct parsed *p = ud;
	assert_ptr_equal(svc->backends, p->be);
	size_t i = (size_t)(be - svc->backends);
	assert_true(i < p->n_be);
	return !p->down[i];
}

static const char *fmt_dests(const struct lb_service *s, char *buf, size_t len) {
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < s->n_dests; i++) {
		char a[LB_ADDRSTRLEN];
		off += (size_t)snprintf(buf + off, len - off, "%s%s w%u", i ? ", " : "",
					lb_addr_fmt(&s->dests[i].addr, a), s->dests[i].weight);
		assert_true(off < len);
	}
	return buf;
}

static const char *fmt_failed(const struct lb_service *s, char *buf, size_t len) {
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < s->n_failed; i++) {
		char a[LB_ADDRSTRLEN];
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					lb_addr_fmt(&s->failed[i], a));
		assert_true(off < len);
	}
	return buf;
}

static void run_qcase(void **state) {
	const struct qcase *c = *state;
	struct parsed p;
	memset(&p, 0, sizeof(p));
	p.n_be = parse_list(c->backends, p.be, p.down);
	p.n_sorry = parse_list(c->sorry, p.sorry, NULL);
	struct lb_service_conf s = service("q", "10.0.0.1:80", LB_FWD_DR, p.be, p.n_be);
	s.sorry = p.sorry;
	s.n_sorry = p.n_sorry;
	s.quorum = (struct lb_quorum_conf){c->quorum, c->min_up, c->pct, c->on_loss};
	s.check.on_failure = c->on_failure;
	s.drain_timeout_ms = 7000;
	assert_int_equal(lb_quorum_min_up(&s), c->want_min_up);
	struct lb_config cfg = {.services = &s, .n_services = 1};
	struct lb_table t = {0};
	char buf[1024];
	assert_int_equal(lb_desired_build(&cfg, up_unless_marked, &p, &t), 0);
	assert_int_equal(t.n, 1);
	const struct lb_service *d = &t.svcs[0];
	print_message("  %s quorum %d (%u up, min %u); dests: %s; failed: %s\n", d->name, d->quorum,
		      d->n_up, d->min_up, fmt_dests(d, buf, sizeof(buf)),
		      fmt_failed(d, buf + 512, sizeof(buf) - 512));
	assert_int_equal(d->quorum, c->state);
	assert_int_equal(d->n_up, c->n_up);
	assert_int_equal(d->min_up, c->want_min_up);
	assert_string_equal(fmt_dests(d, buf, sizeof(buf)), c->dests);
	assert_string_equal(fmt_failed(d, buf, sizeof(buf)), c->failed);
	assert_int_equal(d->drain_timeout_ms, 7000);
	for (size_t i = 0; i < d->n_dests; i++) {
		assert_int_equal(d->dests[i].fwd, IP_VS_CONN_F_DROUTE); /* sorry servers too */
		assert_false(lb_service_has_failed(d, &d->dests[i].addr)); /* never both */
		if (i)
			assert_true(lb_addr_cmp(&d->dests[i - 1].addr, &d->dests[i].addr) < 0);
	}
	for (size_t i = 0; i < d->n_failed; i++)
		assert_true(lb_service_has_failed(d, &d->failed[i])); /* sorted: bsearch finds each */
	/* lb_desired_add_service builds the same service */
	struct lb_table one = {0};
	assert_int_equal(lb_desired_add_service(&one, &s, up_unless_marked, &p), 0);
	assert_string_equal(fmt_dests(&one.svcs[0], buf, sizeof(buf)), c->dests);
	assert_string_equal(fmt_failed(&one.svcs[0], buf, sizeof(buf)), c->failed);
	assert_int_equal(one.svcs[0].quorum, c->state);
	lb_table_clear(&one);
	lb_table_clear(&t);
}

static void test_drain_timeout_copied(void **state) {
	struct lb_backend_conf b[] = {backend("127.0.0.2:80", 3)};
	struct lb_service_conf s[] = {service("a", "10.0.0.1:80", LB_FWD_NAT, b, 1),
				      service("b", "10.0.0.2:80", LB_FWD_NAT, b, 1)};
	s[0].drain_timeout_ms = 0;
	s[1].drain_timeout_ms = 86400000;
	struct lb_config cfg = {.services = s, .n_services = 2, .drain_timeout_ms = 5000};
	struct lb_table t = {0};
	assert_int_equal(lb_desired_build(&cfg, NULL, NULL, &t), 0);
	assert_string_equal(t.svcs[0].name, "a");
	assert_int_equal(t.svcs[0].drain_timeout_ms, 0); /* the service's, not the global one */
	assert_int_equal(t.svcs[1].drain_timeout_ms, 86400000);
	assert_int_equal(t.svcs[0].quorum, LB_QUORUM_NONE);
	assert_int_equal(t.svcs[0].n_failed, 0);
	lb_table_clear(&t);
}

/* A rebuild into a table that held a service with a failed list replaces it (no leak, no stale
 * entry: ASan checks the first). */
static void test_rebuild_clears_failed(void **state) {
	struct lb_backend_conf b[] = {backend("127.0.0.1:9999", 7), backend("127.0.0.2:80", 3)};
	struct lb_service_conf s = service("rm", "10.0.0.1:80", LB_FWD_NAT, b, 2);
	struct lb_config cfg = {.services = &s, .n_services = 1};
	struct lb_table t = {0};
	int calls = 0;
	assert_int_equal(lb_desired_build(&cfg, up_unless_9999, &calls, &t), 0);
	assert_int_equal(t.svcs[0].n_failed, 1);
	assert_int_equal(lb_desired_build(&cfg, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.svcs[0].n_failed, 0);
	assert_int_equal(t.svcs[0].n_dests, 2);
	lb_table_clear(&t);
}

/* ---- the same through the config loader ---- */

static const char yaml[] =
	"global: {drain_timeout: 30s}\n"
	"services:\n"
	"  - name: shop\n"
	"    listen: 10.0.0.1:80\n"
	"    drain_timeout: 5s\n"
	"    quorum: {min_up: 2, on_loss: sorry}\n"
	"    backends:\n"
	"      - {address: " B10 ", weight: 5}\n"
	"      - {address: " B11 ", weight: 5}\n"
	"      - {address: " B12 ", weight: 1}\n"
	"    sorry_servers:\n"
	"      - {address: " S9 ", weight: 2}\n"
	"      - {address: " B11 ", weight: 1}\n"
	"  - name: store\n"
	"    listen: 10.0.0.2:80\n"
	"    quorum: {min_up: \"50%\", on_loss: empty}\n"
	"    health_check: {on_failure: quiesce}\n"
	"    backends:\n"
	"      - {address: " B10 "}\n"
	"      - {address: " B11 "}\n"
	"      - {address: " B12 "}\n"
	"  - name: api\n"
	"    listen: 10.0.0.3:80\n"
	"    quorum: {min_up: 2, on_loss: fail_open}\n"
	"    drain_timeout: 0s\n"
	"    backends:\n"
	"      - {address: " B10 ", weight: 4}\n"
	"      - {address: " B11 "}\n"
	"  - name: intranet\n"
	"    listen: 10.0.0.4:80\n"
	"    backends:\n"
	"      - {address: " B10 "}\n"
	"    sorry_servers:\n"
	"      - {address: " S9 "}\n"
	"  - name: plain\n"
	"    listen: 10.0.0.5:80\n"
	"    backends:\n"
	"      - {address: " B10 "}\n"
	"      - {address: " B11 "}\n";

/* Down: the addresses in the set given (a NULL-terminated list). */
static bool up_unless_listed(void *ud, const struct lb_service_conf *svc, const struct lb_backend_conf *be) {
	for (const char *const *a = ud; *a; a++) {
		struct lb_addr x;
		assert_int_equal(lb_addr_parse(*a, &x), 0);
		if (lb_addr_cmp(&x, &be->addr) == 0)
			return false;
	}
	return true;
}

static void expect_svc(const struct lb_table *t, size_t i, const char *name, enum lb_quorum q,
		       uint32_t drain_ms, const char *dests, const char *failed) {
	char buf[512];
	const struct lb_service *s = &t->svcs[i];
	print_message("  %s quorum %d (%u up, min %u) drain %u; dests: %s; failed: %s\n", s->name,
		      s->quorum, s->n_up, s->min_up, s->drain_timeout_ms, fmt_dests(s, buf, 256),
		      fmt_failed(s, buf + 256, 256));
	assert_string_equal(s->name, name);
	assert_int_equal(s->quorum, q);
	assert_int_equal(s->drain_timeout_ms, drain_ms);
	assert_string_equal(fmt_dests(s, buf, sizeof(buf)), dests);
	assert_string_equal(fmt_failed(s, buf, sizeof(buf)), failed);
}

static void test_from_yaml(void **state) {
	char path[] = "/tmp/ezlb-test-desired-XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)(sizeof(yaml) - 1));
	assert_int_equal(close(fd), 0);
	struct lb_config *cfg = NULL;
	struct lb_diag diag = {0};
	int r = lb_config_load(path, &cfg, &diag);
	for (size_t i = 0; i < diag.n; i++)
		print_message("  config: %s\n", diag.msgs[i]);
	unlink(path);
	lb_diag_free(&diag);
	assert_int_equal(r, 0);
	/* what the loader resolved */
	assert_int_equal(cfg->drain_timeout_ms, 30000);
	assert_true(cfg->services[3].quorum.enabled); /* sorry servers without a quorum block */
	assert_int_equal(cfg->services[3].quorum.min_up, 1);
	assert_int_equal(cfg->services[3].quorum.on_loss, LB_ON_LOSS_SORRY);
	assert_false(cfg->services[4].quorum.enabled);
	assert_true(cfg->services[1].quorum.pct);
	assert_int_equal(lb_quorum_min_up(&cfg->services[1]), 2);
	struct lb_table t = {0};
	/* everything up */
	assert_int_equal(lb_desired_build(cfg, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 5);
	expect_svc(&t, 0, "shop", LB_QUORUM_OK, 5000, B10 " w5, " B11 " w5, " B12 " w1", "");
	expect_svc(&t, 1, "store", LB_QUORUM_OK, 30000, B10 " w1, " B11 " w1, " B12 " w1", "");
	expect_svc(&t, 2, "api", LB_QUORUM_OK, 0, B10 " w4, " B11 " w1", "");
	expect_svc(&t, 3, "intranet", LB_QUORUM_OK, 30000, B10 " w1", "");
	expect_svc(&t, 4, "plain", LB_QUORUM_NONE, 30000, B10 " w1, " B11 " w1", "");
	/* .10 and .12 down: every quorum lost except plain's (none) */
	static const char *const down[] = {B10, B12, NULL};
	assert_int_equal(lb_desired_build(cfg, up_unless_listed, (void *)down, &t), 0);
	expect_svc(&t, 0, "shop", LB_QUORUM_LOST, 5000, B11 " w1, " S9 " w2", B10 ", " B12);
	expect_svc(&t, 1, "store", LB_QUORUM_LOST, 30000, B10 " w0, " B11 " w0, " B12 " w0", "");
	expect_svc(&t, 2, "api", LB_QUORUM_LOST, 0, B10 " w4, " B11 " w1", "");
	expect_svc(&t, 3, "intranet", LB_QUORUM_LOST, 30000, S9 " w1", B10);
	expect_svc(&t, 4, "plain", LB_QUORUM_NONE, 30000, B11 " w1", B10);
	lb_table_clear(&t);
	lb_config_free(cfg);
}

int main(void) {
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_fields_and_order),
		cmocka_unit_test(test_ipvs_fields),
		cmocka_unit_test(test_down_backends_removed_or_quiesced),
		cmocka_unit_test(test_add_one_service),
		cmocka_unit_test(test_drain_timeout_copied),
		cmocka_unit_test(test_rebuild_clears_failed),
		cmocka_unit_test(test_from_yaml),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(qcases)];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < ARRAY_SIZE(qcases); i++)
		tests[n++] = (struct CMUnitTest){qcases[i].name, run_qcase, NULL, NULL, (void *)&qcases[i]};
	return _cmocka_run_group_tests("desired", tests, n, NULL, NULL);
}
