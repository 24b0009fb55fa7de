/* The planner, table-driven: each case is (desired, actual, owned) as short specs and the exact
 * op lines expected, in order. Every case is also checked for the plan's properties: its order,
 * that applying it to actual gives desired plus the untouched foreign services, and that
 * re-planning after that gives nothing to do. */
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "reconcile.h"
#include "state.h"
#include "table.h"
#include "util.h"

/* ---- specs -> tables ----
 * table:   service ("; " service)*
 * service: [@name] proto vip sched [pN persistence N s] [mMASK netmask] [fN flags]
 *          [| dest (, dest)*]
 * dest:    ip:port [wN weight, default 1] [nat|dr|tun, default nat] [uN u_thresh] [lN l_thresh]
 * A service has the kernel's default netmask unless m is given; pN also sets PERSISTENT. */

static void parse_dest(struct lb_service *s, char *spec) {
	char *save = NULL, *tok = strtok_r(spec, " ", &save);
	struct lb_dest *d = lb_service_add_dest(s);
	assert_non_null(d);
	assert_non_null(tok);
	assert_int_equal(lb_addr_parse(tok, &d->addr), 0);
	d->weight = 1;
	d->fwd = IP_VS_CONN_F_MASQ;
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (strcmp(tok, "nat") == 0)
			d->fwd = IP_VS_CONN_F_MASQ;
		else if (strcmp(tok, "dr") == 0)
			d->fwd = IP_VS_CONN_F_DROUTE;
		else if (strcmp(tok, "tun") == 0)
			d->fwd = IP_VS_CONN_F_TUNNEL;
		else if (tok[0] == 'w')
			d->weight = (uint32_t)strtoul(tok + 1, NULL, 10);
		else if (tok[0] == 'u')
			d->u_thresh = (uint32_t)strtoul(tok + 1, NULL, 10);
		else if (tok[0] == 'l')
			d->l_thresh = (uint32_t)strtoul(tok + 1, NULL, 10);
		else
			fail_msg("bad dest token \"%s\"", tok);
	}
}

static void parse_svc_option(struct lb_service *s, char *tok) {
	if (tok[0] == 'p') {
		s->timeout = (uint32_t)strtoul(tok + 1, NULL, 10);
		s->flags |= IP_VS_SVC_F_PERSISTENT;
	} else if (tok[0] == 'f') {
		s->flags |= (uint32_t)strtoul(tok + 1, NULL, 0);
	} else if (tok[0] == 'm' && strchr(tok, '.')) {
		assert_int_equal(inet_pton(AF_INET, tok + 1, &s->netmask), 1);
	} else if (tok[0] == 'm') {
		s->netmask = (uint32_t)strtoul(tok + 1, NULL, 10);
	} else {
		fail_msg("bad service token \"%s\"", tok);
	}
}

static void parse_service(struct lb_table *t, char *spec) {
	char *dests = strchr(spec, '|');
	if (dests)
		*dests++ = 0;
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	char *save = NULL, *tok = strtok_r(spec, " ", &save);
	assert_non_null(tok);
	if (tok[0] == '@') {
		s->name = tok + 1;
		tok = strtok_r(NULL, " ", &save);
	}
	char key[64];
	char *vip = strtok_r(NULL, " ", &save), *sched = strtok_r(NULL, " ", &save);
	assert_non_null(vip);
	assert_non_null(sched);
	snprintf(key, sizeof(key), "%s %s", tok, vip);
	assert_int_equal(lb_svc_key_parse(key, &s->key), 0);
	snprintf(s->sched, sizeof(s->sched), "%s", sched);
	s->netmask = s->key.addr.af == AF_INET ? 0xffffffffu : 128;
	while ((tok = strtok_r(NULL, " ", &save)))
		parse_svc_option(s, tok);
	for (char *d = dests ? strtok_r(dests, ",", &save) : NULL; d; d = strtok_r(NULL, ",", &save))
		parse_dest(s, d);
}

/* Returns the buffer the names point into: free it after the table. */
static char *table_from(const char *spec, struct lb_table *t) {
	char *buf = strdup(spec), *save = NULL;
	assert_non_null(buf);
	for (char *s = strtok_r(buf, ";", &save); s; s = strtok_r(NULL, ";", &save))
		parse_service(t, s);
	lb_table_sort(t);
	return buf;
}

static void owned_from(const char *spec, struct lb_owned *o) {
	char *buf = strdup(spec), *save = NULL;
	assert_non_null(buf);
	for (char *s = strtok_r(buf, ";", &save); s; s = strtok_r(NULL, ";", &save)) {
		struct lb_svc_key k;
		s += strspn(s, " ");
		assert_int_equal(lb_svc_key_parse(s, &k), 0);
		assert_int_equal(lb_owned_add(o, &k), 0);
	}
	free(buf);
}

/* ---- table helpers: deep copy, apply a plan as the kernel would, compare ---- */

static struct lb_service *copy_service(struct lb_table *t, const struct lb_service *src) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	*s = *src;
	s->dests = NULL;
	s->n_dests = s->cap_dests = 0;
	for (size_t i = 0; i < src->n_dests; i++) {
		struct lb_dest *d = lb_service_add_dest(s);
		assert_non_null(d);
		*d = src->dests[i];
	}
	return s;
}

static struct lb_service *find_svc(struct lb_table *t, const struct lb_svc_key *k) {
	for (size_t i = 0; i < t->n; i++)
		if (lb_svc_key_cmp(&t->svcs[i].key, k) == 0)
			return &t->svcs[i];
	return NULL;
}

static struct lb_dest *find_dest(struct lb_service *s, const struct lb_addr *a) {
	for (size_t i = 0; i < s->n_dests; i++)
		if (lb_addr_cmp(&s->dests[i].addr, a) == 0)
			return &s->dests[i];
	return NULL;
}

/* Every op must be one the kernel accepts as is: no add of something present, no edit or delete
 * of something absent. */
static void apply_op(struct lb_table *t, const struct lb_op *op) {
	struct lb_service *s = find_svc(t, &op->svc->key);
	struct lb_dest *d = s && op->dest ? find_dest(s, &op->dest->addr) : NULL;
	switch (op->kind) {
	case LB_OP_ADD_SVC:
		assert_null(s);
		s = lb_table_add_service(t);
		assert_non_null(s);
		*s = *op->svc;
		s->dests = NULL;
		s->n_dests = s->cap_dests = 0;
		break;
	case LB_OP_EDIT_SVC:
		assert_non_null(s);
		memcpy(s->sched, op->svc->sched, sizeof(s->sched));
		s->flags = op->svc->flags;
		s->timeout = op->svc->timeout;
		s->netmask = op->svc->netmask;
		break;
	case LB_OP_DEL_SVC:
		assert_non_null(s);
		free(s->dests);
		*s = t->svcs[--t->n];
		break;
	case LB_OP_ADD_DEST:
		assert_non_null(s);
		assert_null(d);
		d = lb_service_add_dest(s);
		assert_non_null(d);
		*d = *op->dest;
		break;
	case LB_OP_EDIT_DEST:
		assert_non_null(d);
		*d = *op->dest;
		break;
	case LB_OP_DEL_DEST:
		assert_non_null(d);
		*d = s->dests[--s->n_dests];
		break;
	}
}

/* The kernel behind a torn dump holds each entry once, however often the dump listed it. */
static void dedupe(struct lb_table *t) {
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct lb_service *s = &t->svcs[i];
		if (n && lb_svc_key_cmp(&t->svcs[n - 1].key, &s->key) == 0) {
			free(s->dests);
			continue;
		}
		size_t m = 0;
		for (size_t j = 0; j < s->n_dests; j++)
			if (!m || lb_addr_cmp(&s->dests[m - 1].addr, &s->dests[j].addr) != 0)
				s->dests[m++] = s->dests[j];
		s->n_dests = m;
		t->svcs[n++] = *s;
	}
	t->n = n;
}

static void apply_plan(const struct lb_table *actual, const struct lb_plan *p,
		       struct lb_table *out) {
	for (size_t i = 0; i < actual->n; i++)
		copy_service(out, &actual->svcs[i]);
	dedupe(out);
	for (size_t i = 0; i < p->n; i++)
		apply_op(out, &p->ops[i]);
	lb_table_sort(out);
}

/* Field by field, names aside (a dumped table has none). */
static void assert_tables_equal(const struct lb_table *a, const struct lb_table *b) {
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct lb_service *x = &a->svcs[i], *y = &b->svcs[i];
		assert_int_equal(lb_svc_key_cmp(&x->key, &y->key), 0);
		assert_string_equal(x->sched, y->sched);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->timeout, y->timeout);
		assert_int_equal(x->netmask, y->netmask);
		assert_int_equal(x->n_dests, y->n_dests);
		for (size_t j = 0; j < x->n_dests; j++) {
			assert_int_equal(lb_addr_cmp(&x->dests[j].addr, &y->dests[j].addr), 0);
			assert_int_equal(x->dests[j].fwd, y->dests[j].fwd);
			assert_int_equal(x->dests[j].weight, y->dests[j].weight);
			assert_int_equal(x->dests[j].u_thresh, y->dests[j].u_thresh);
			assert_int_equal(x->dests[j].l_thresh, y->dests[j].l_thresh);
		}
	}
}

static int kind_rank(enum lb_op_kind k) {
	switch (k) {
	case LB_OP_ADD_SVC: case LB_OP_EDIT_SVC: return 0;
	case LB_OP_ADD_DEST: return 1;
	case LB_OP_EDIT_DEST: return 2;
	case LB_OP_DEL_DEST: return 3;
	case LB_OP_DEL_SVC: return 4;
	}
	return -1;
}

/* Services in key order, each one's ops as ADD/EDIT_SVC < ADD_DEST < EDIT_DEST < DEL_DEST (dests
 * in address order within a kind), then every DEL_SVC, in key order. */
static void assert_plan_order(const struct lb_plan *p) {
	for (size_t i = 1; i < p->n; i++) {
		const struct lb_op *a = &p->ops[i - 1], *b = &p->ops[i];
		int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
		int kc = lb_svc_key_cmp(&a->svc->key, &b->svc->key);
		if (ra == 4 || rb == 4) {
			assert_true(rb == 4);
			assert_true(ra != 4 || kc < 0);
			continue;
		}
		assert_true(kc < 0 || (kc == 0 && ra < rb) ||
			    (kc == 0 && ra == rb && ra > 0 && lb_addr_cmp(&a->dest->addr, &b->dest->addr) < 0));
	}
}

/* What applying the plan must produce: desired, plus the services ezlb leaves alone. */
static void expected_after(const struct lb_table *desired, const struct lb_table *actual,
			   const struct lb_owned *owned, struct lb_table *out) {
	for (size_t i = 0; i < desired->n; i++)
		copy_service(out, &desired->svcs[i]);
	for (size_t i = 0; i < actual->n; i++)
		if (!lb_table_find(desired, &actual->svcs[i].key) &&
		    !lb_owned_has(owned, &actual->svcs[i].key))
			copy_service(out, &actual->svcs[i]);
	lb_table_sort(out);
	dedupe(out);
}

/* The properties every plan must have; `p` was planned from (desired, actual, owned). */
static void check_plan_properties(const struct lb_table *desired, const struct lb_table *actual,
				  const struct lb_owned *owned, const struct lb_plan *p) {
	struct lb_table applied = {0}, expect = {0};
	struct lb_plan again = {0};
	assert_plan_order(p);
	apply_plan(actual, p, &applied);
	expected_after(desired, actual, owned, &expect);
	assert_tables_equal(&applied, &expect);
	assert_int_equal(lb_plan_build(desired, &applied, owned, &again), 0);
	assert_int_equal(again.n, 0);
	lb_plan_free(&again);
	lb_table_clear(&applied);
	lb_table_clear(&expect);
}

/* ---- the cases ---- */

struct plan_case {
	const char *name;
	const char *desired, *actual, *owned;
	const char *expect[16]; /* NULL-terminated */
};

#define WEB "@web tcp 10.0.0.1:80"
#define K_WEB "tcp 10.0.0.1:80"
#define D10 "192.168.1.10:8080"
#define D11 "192.168.1.11:8080"

static const struct plan_case cases[] = {
	{"create from empty", WEB " wrr | " D11 " w3, " D10 " w5", "", "",
	 {"+ service web tcp 10.0.0.1:80 scheduler wrr",
	  "+ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080 weight 5 nat",
	  "+ dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080 weight 3 nat"}},
	{"identical: nothing to do", WEB " wrr p300 | " D10 " w5 dr u100 l10, " D11 " w3 dr",
	 K_WEB " wrr p300 | " D11 " w3 dr, " D10 " w5 dr u100 l10", K_WEB, {NULL}},
	{"empty config, nothing owned: nothing to do", "", K_WEB " rr | " D10, "", {NULL}},
	{"change weight", WEB " wrr | " D10 " w5, " D11 " w3", K_WEB " wrr | " D10 " w3, " D11 " w3",
	 K_WEB, {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 3 -> 5"}},
	{"quiesce to weight 0", WEB " wrr | " D10 " w0", K_WEB " wrr | " D10 " w4", K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 4 -> 0"}},
	{"change forwarding", WEB " wrr | " D10 " dr, " D11 " tun", K_WEB " wrr | " D10 ", " D11,
	 K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: forward nat -> dr",
	  "~ dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080: forward nat -> tun"}},
	{"change thresholds", WEB " wrr | " D10 " u100 l10, " D11 " l5",
	 K_WEB " wrr | " D10 ", " D11 " u7 l5", K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: u-thresh 0 -> 100, l-thresh 0 -> 10",
	  "~ dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080: u-thresh 7 -> 0"}},
	{"change lower threshold only", WEB " wrr | " D10 " u100 l10", K_WEB " wrr | " D10 " u100 l20",
	 K_WEB, {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: l-thresh 20 -> 10"}},
	{"change every dest field at once", WEB " wrr | " D10 " w9 dr u3 l2", K_WEB " wrr | " D10,
	 K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 1 -> 9, forward nat -> dr, "
	  "u-thresh 0 -> 3, l-thresh 0 -> 2"}},
	{"change scheduler", WEB " wrr | " D10, K_WEB " rr | " D10, K_WEB,
	 {"~ service web tcp 10.0.0.1:80: scheduler rr -> wrr"}},
	{"change persistence timeout", WEB " rr p600 | " D10, K_WEB " rr p300 | " D10, K_WEB,
	 {"~ service web tcp 10.0.0.1:80: persistence 300s -> 600s"}},
	{"turn persistence on", WEB " wrr p300 | " D10, K_WEB " rr | " D10, K_WEB,
	 {"~ service web tcp 10.0.0.1:80: scheduler rr -> wrr, flags none -> persistent, "
	  "persistence 0s -> 300s"}},
	{"change netmask", WEB " rr p300 m255.255.255.0", K_WEB " rr p300", K_WEB,
	 {"~ service web tcp 10.0.0.1:80: netmask 255.255.255.255 -> 255.255.255.0"}},
	{"change flags", WEB " sh f0x0c", K_WEB " sh f0x10", K_WEB,
	 {"~ service web tcp 10.0.0.1:80: flags sched2 -> one-packet|sched1"}},
	{"add backend", WEB " wrr | " D10 ", " D11 " w2", K_WEB " wrr | " D10, K_WEB,
	 {"+ dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080 weight 2 nat"}},
	{"remove backend", WEB " wrr | " D10, K_WEB " wrr | " D10 ", " D11, K_WEB,
	 {"- dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080"}},
	{"remove every backend, keep the service", WEB " wrr", K_WEB " wrr | " D11 ", " D10, K_WEB,
	 {"- dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080",
	  "- dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080"}},
	{"owned service removed from config is deleted (with its dests, in one op)", WEB " rr | " D10,
	 K_WEB " rr | " D10 "; tcp 10.0.0.9:80 rr | " D10 ", " D11, K_WEB "; tcp 10.0.0.9:80",
	 {"- service tcp 10.0.0.9:80"}},
	{"unowned service not in config is never touched", WEB " rr | " D10,
	 K_WEB " rr | " D10 "; tcp 10.0.0.9:80 rr | " D10, K_WEB, {NULL}},
	{"empty config deletes only what is owned", "",
	 "tcp 10.0.0.3:80 rr; tcp 10.0.0.2:80 rr; tcp 10.0.0.1:80 rr",
	 "tcp 10.0.0.3:80; tcp 10.0.0.1:80; udp 10.0.0.7:53",
	 {"- service tcp 10.0.0.1:80", "- service tcp 10.0.0.3:80"}},
	{"foreign services on the same VIP (other port, other protocol) untouched", WEB " rr | " D10,
	 "tcp 10.0.0.1:443 rr | " D11 "; udp 10.0.0.1:80 rr | " D11 "; " K_WEB " rr | " D10, K_WEB,
	 {NULL}},
	{"adopt an unowned service the config names: edit in place", WEB " wrr | " D10 " w5, " D11,
	 K_WEB " rr | " D10 " w1", "",
	 {"~ service web tcp 10.0.0.1:80: scheduler rr -> wrr",
	  "+ dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080 weight 1 nat",
	  "~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 1 -> 5"}},
	{"port change: new service added, old one deleted last", "@web tcp 10.0.0.1:8080 rr | " D10,
	 K_WEB " rr | " D10, K_WEB,
	 {"+ service web tcp 10.0.0.1:8080 scheduler rr",
	  "+ dest web tcp 10.0.0.1:8080 -> 192.168.1.10:8080 weight 1 nat",
	  "- service tcp 10.0.0.1:80"}},
	{"IPv6 and UDP services",
	 "@dns udp [2001:db8::1]:53 rr p60 m64 | [2001:db8::11]:53 w2, [2001:db8::10]:53; "
	 "@v6web tcp [2001:db8::1]:443 wlc | [2001:db8::10]:8443",
	 "udp [2001:db8::1]:53 rr p60 m64 | [2001:db8::10]:53; tcp [2001:db8::1]:443 wlc p30 | "
	 "[2001:db8::10]:8443 w3",
	 "udp [2001:db8::1]:53",
	 {"~ service v6web tcp [2001:db8::1]:443: flags persistent -> none, persistence 30s -> 0s",
	  "~ dest v6web tcp [2001:db8::1]:443 -> [2001:db8::10]:8443: weight 3 -> 1",
	  "+ dest dns udp [2001:db8::1]:53 -> [2001:db8::11]:53 weight 2 nat"}},
	{"IPv6 service created with persistence",
	 "@dns udp [2001:db8::1]:53 rr p60 m64 | [2001:db8::10]:53", "", "",
	 {"+ service dns udp [2001:db8::1]:53 scheduler rr persistence 60s netmask /64",
	  "+ dest dns udp [2001:db8::1]:53 -> [2001:db8::10]:53 weight 1 nat"}},
	{"mixed-family tunnel destinations",
	 "@v6 tcp [2001:db8::1]:80 wrr | 192.168.1.10:80 w2 tun, [2001:db8::10]:80 tun",
	 "tcp [2001:db8::1]:80 wrr | 192.168.1.10:80 w1 tun, 192.168.1.11:80 tun", "",
	 {"+ dest v6 tcp [2001:db8::1]:80 -> [2001:db8::10]:80 weight 1 tun",
	  "~ dest v6 tcp [2001:db8::1]:80 -> 192.168.1.10:80: weight 1 -> 2",
	  "- dest v6 tcp [2001:db8::1]:80 -> 192.168.1.11:80"}},
	{"ordering: per service add, edit, delete; services deleted last",
	 "@b tcp 10.0.0.2:80 rr | 192.168.1.3:80, 192.168.1.1:80 w2; "
	 "@a tcp 10.0.0.1:80 wrr f4 | 192.168.1.9:80",
	 "tcp 10.0.0.0:80 rr | 192.168.1.1:80; tcp 10.0.0.2:80 wrr | 192.168.1.2:80, "
	 "192.168.1.1:80; tcp 10.0.0.3:80 rr",
	 "tcp 10.0.0.0:80; tcp 10.0.0.2:80; tcp 10.0.0.3:80",
	 {"+ service a tcp 10.0.0.1:80 scheduler wrr flags one-packet",
	  "+ dest a tcp 10.0.0.1:80 -> 192.168.1.9:80 weight 1 nat",
	  "~ service b tcp 10.0.0.2:80: scheduler wrr -> rr",
	  "+ dest b tcp 10.0.0.2:80 -> 192.168.1.3:80 weight 1 nat",
	  "~ dest b tcp 10.0.0.2:80 -> 192.168.1.1:80: weight 1 -> 2",
	  "- dest b tcp 10.0.0.2:80 -> 192.168.1.2:80",
	  "- service tcp 10.0.0.0:80",
	  "- service tcp 10.0.0.3:80"}},
	{"services in key order: protocol, family, address, port",
	 "@u6 udp [::1]:53 rr; @t6 tcp [::1]:80 rr; @u4 udp 10.0.0.1:53 rr; @s sctp 10.0.0.1:9 rr; "
	 "@t4b tcp 10.0.0.1:443 rr; @t4a tcp 10.0.0.1:80 rr; @t4c tcp 9.0.0.1:8080 rr",
	 "", "",
	 {"+ service t4c tcp 9.0.0.1:8080 scheduler rr", "+ service t4a tcp 10.0.0.1:80 scheduler rr",
	  "+ service t4b tcp 10.0.0.1:443 scheduler rr", "+ service t6 tcp [::1]:80 scheduler rr",
	  "+ service u4 udp 10.0.0.1:53 scheduler rr", "+ service u6 udp [::1]:53 scheduler rr",
	  "+ service s sctp 10.0.0.1:9 scheduler rr"}},
	/* A torn kernel dump (IPVS resumes a dump by counting entries) can list an entry twice. */
	{"torn dump: a wanted service listed twice is neither deleted nor re-added",
	 WEB " rr | " D10, K_WEB " rr | " D10 "; " K_WEB " rr | " D10, K_WEB, {NULL}},
	{"torn dump: an owned unwanted service listed twice is deleted once", WEB " rr | " D10,
	 K_WEB " rr | " D10 "; tcp 10.0.0.9:80 rr; tcp 10.0.0.9:80 rr", K_WEB "; tcp 10.0.0.9:80",
	 {"- service tcp 10.0.0.9:80"}},
	{"torn dump: a wanted destination listed twice is not deleted", WEB " rr | " D10 ", " D11,
	 K_WEB " rr | " D10 ", " D10 ", " D11 ", " D11, K_WEB, {NULL}},
	{"torn dump: a duplicated destination still gets its edit", WEB " rr | " D10 " w4",
	 K_WEB " rr | " D10 " w2, " D10 " w2", K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 2 -> 4"}},
	{"create with every field shown",
	 "@full tcp 10.0.0.1:80 sh p300 m255.255.0.0 f0x18 | " D10 " w7 dr u50 l5", "", "",
	 {"+ service full tcp 10.0.0.1:80 scheduler sh flags sched1|sched2 persistence 300s netmask "
	  "255.255.0.0",
	  "+ dest full tcp 10.0.0.1:80 -> 192.168.1.10:8080 weight 7 dr u-thresh 50 l-thresh 5"}},
};

struct built {
	struct lb_table desired, actual;
	struct lb_owned owned;
	char *bufs[2];
};

static void build(struct built *b, const char *desired, const char *actual, const char *owned) {
	memset(b, 0, sizeof(*b));
	b->bufs[0] = table_from(desired, &b->desired);
	b->bufs[1] = table_from(actual, &b->actual);
	owned_from(owned, &b->owned);
}

static void built_free(struct built *b) {
	lb_table_clear(&b->desired);
	lb_table_clear(&b->actual);
	lb_owned_free(&b->owned);
	free(b->bufs[0]);
	free(b->bufs[1]);
}

static void run_case(void **state) {
	const struct plan_case *c = *state;
	struct built b;
	struct lb_plan p = {0};
	build(&b, c->desired, c->actual, c->owned);
	assert_int_equal(lb_plan_build(&b.desired, &b.actual, &b.owned, &p), 0);
	size_t n_expect = 0;
	while (c->expect[n_expect])
		n_expect++;
	for (size_t i = 0; i < p.n; i++) {
		char line[LB_OP_STRLEN];
		print_message("  %s\n", lb_op_fmt(&p.ops[i], line, sizeof(line)));
		if (i < n_expect)
			assert_string_equal(line, c->expect[i]);
	}
	assert_int_equal(p.n, n_expect);
	check_plan_properties(&b.desired, &b.actual, &b.owned, &p);
	lb_plan_free(&p);
	built_free(&b);
}

/* ---- beyond the table ---- */

static void test_op_pointers(void **state) {
	struct built b;
	struct lb_plan p = {0};
	build(&b, WEB " wrr | " D10 " w2, " D11, K_WEB " rr | " D10 ", 192.168.1.12:8080", K_WEB);
	assert_int_equal(lb_plan_build(&b.desired, &b.actual, &b.owned, &p), 0);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.ops[0].kind, LB_OP_EDIT_SVC);
	assert_ptr_equal(p.ops[0].svc, &b.desired.svcs[0]);
	assert_ptr_equal(p.ops[0].old_svc, &b.actual.svcs[0]);
	assert_int_equal(p.ops[1].kind, LB_OP_ADD_DEST);
	assert_ptr_equal(p.ops[1].dest, &b.desired.svcs[0].dests[1]);
	assert_null(p.ops[1].old_dest);
	assert_int_equal(p.ops[2].kind, LB_OP_EDIT_DEST);
	assert_ptr_equal(p.ops[2].dest, &b.desired.svcs[0].dests[0]);
	assert_ptr_equal(p.ops[2].old_dest, &b.actual.svcs[0].dests[0]);
	assert_int_equal(p.ops[3].kind, LB_OP_DEL_DEST);
	assert_ptr_equal(p.ops[3].svc, &b.desired.svcs[0]); /* named, for messages */
	assert_ptr_equal(p.ops[3].dest, &b.actual.svcs[0].dests[1]);
	/* a second build into the same plan starts afresh */
	assert_int_equal(lb_plan_build(&b.desired, &b.desired, &b.owned, &p), 0);
	assert_int_equal(p.n, 0);
	lb_plan_free(&p);
	built_free(&b);
}

static void test_fmt_edges(void **state) {
	struct built b;
	build(&b, "@x tcp 10.0.0.1:80 rr f0x42 | " D10 " w1", "", "");
	struct lb_service *s = &b.desired.svcs[0];
	struct lb_dest d = s->dests[0];
	char line[LB_OP_STRLEN];
	/* a delete of a named service, unknown flag bits, unknown forwarding */
	struct lb_op op = {.kind = LB_OP_DEL_SVC, .svc = s};
	assert_string_equal(lb_op_fmt(&op, line, sizeof(line)), "- service x tcp 10.0.0.1:80");
	op = (struct lb_op){.kind = LB_OP_ADD_SVC, .svc = s};
	assert_string_equal(lb_op_fmt(&op, line, sizeof(line)),
			    "+ service x tcp 10.0.0.1:80 scheduler rr flags hashed|0x40");
	d.fwd = 7;
	op = (struct lb_op){.kind = LB_OP_ADD_DEST, .svc = s, .dest = &d};
	assert_string_equal(lb_op_fmt(&op, line, sizeof(line)),
			    "+ dest x tcp 10.0.0.1:80 -> 192.168.1.10:8080 weight 1 fwd-7");
	/* truncation keeps a terminated prefix */
	char small[12];
	assert_string_equal(lb_op_fmt(&op, small, sizeof(small)), "+ dest x tc");
	assert_string_equal(lb_op_fmt(&op, small, 1), "");
	assert_string_equal(lb_op_kind_verb(LB_OP_ADD_SVC), "add service");
	assert_string_equal(lb_op_kind_verb(LB_OP_EDIT_SVC), "edit service");
	assert_string_equal(lb_op_kind_verb(LB_OP_DEL_SVC), "delete service");
	assert_string_equal(lb_op_kind_verb(LB_OP_ADD_DEST), "add destination");
	assert_string_equal(lb_op_kind_verb(LB_OP_EDIT_DEST), "edit destination");
	assert_string_equal(lb_op_kind_verb(LB_OP_DEL_DEST), "delete destination");
	built_free(&b);
}

/* ---- a large pseudo-random case: counts per kind known by construction ---- */

static uint32_t rng_state;
static uint32_t rnd(uint32_t n) {
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) % n;
}

static void make_key(struct lb_svc_key *k, uint32_t i) {
	memset(k, 0, sizeof(*k));
	k->proto = i % 3 == 2 ? IPPROTO_UDP : IPPROTO_TCP;
	k->addr.af = AF_INET;
	k->addr.port = (uint16_t)(80 + i % 5);
	k->addr.ip.v4.s_addr = htonl(0x0a000000u | i);
}

static void make_dest(struct lb_dest *d, uint32_t svc, uint32_t i) {
	memset(d, 0, sizeof(*d));
	d->addr.af = AF_INET;
	d->addr.port = 8080;
	d->addr.ip.v4.s_addr = htonl(0xc0000000u | svc << 12 | i);
	d->weight = 1 + i % 7;
}

/* kinds indexed by enum lb_op_kind */
static void mutate_dests(struct lb_service *want, const struct lb_service *have, uint32_t svc,
			 size_t counts[6]) {
	for (size_t j = 0; j < have->n_dests; j++) {
		uint32_t m = rnd(10);
		if (m == 0) {
			counts[LB_OP_DEL_DEST]++;
			continue;
		}
		struct lb_dest *d = lb_service_add_dest(want);
		assert_non_null(d);
		*d = have->dests[j];
		if (m == 1)
			d->weight = (d->weight + 1) % 10;
		else if (m == 2)
			d->fwd = IP_VS_CONN_F_DROUTE;
		else if (m == 3)
			d->u_thresh = 1000;
		counts[LB_OP_EDIT_DEST] += m <= 3;
	}
	for (uint32_t j = rnd(3); j > 0; j--) {
		make_dest(lb_service_add_dest(want), svc, 1000 + j);
		counts[LB_OP_ADD_DEST]++;
	}
}

static void build_random(struct lb_table *desired, struct lb_table *actual, struct lb_owned *owned,
			 uint32_t n_svcs, uint32_t n_dests, size_t counts[6]) {
	for (uint32_t n = 0; n < n_svcs; n++) {
		uint32_t i = (n * 7919u) % n_svcs; /* scrambled insertion order: sorting has work */
		struct lb_service *h = lb_table_add_service(actual);
		assert_non_null(h);
		make_key(&h->key, i);
		strcpy(h->sched, "wrr");
		h->netmask = 0xffffffffu;
		for (uint32_t j = 0; j < n_dests; j++)
			make_dest(lb_service_add_dest(h), i, (j * 31u) % n_dests);
		uint32_t fate = rnd(8);
		if (fate != 1)
			assert_int_equal(lb_owned_add(owned, &h->key), 0);
		if (fate == 0)
			counts[LB_OP_DEL_SVC]++;
		if (fate <= 1)
			continue;
		struct lb_service *w = lb_table_add_service(desired);
		assert_non_null(w);
		*w = *h;
		w->dests = NULL;
		w->n_dests = w->cap_dests = 0;
		if (fate == 2) {
			strcpy(w->sched, "lc");
			counts[LB_OP_EDIT_SVC]++;
		}
		mutate_dests(w, h, i, counts);
	}
	for (uint32_t i = n_svcs; i < n_svcs + n_svcs / 10; i++) {
		struct lb_service *w = lb_table_add_service(desired);
		assert_non_null(w);
		make_key(&w->key, i);
		strcpy(w->sched, "rr");
		for (uint32_t j = 0; j < 10; j++)
			make_dest(lb_service_add_dest(w), i, j);
		counts[LB_OP_ADD_SVC]++;
		counts[LB_OP_ADD_DEST] += 10;
	}
}

static void test_random_large(void **state) {
	struct lb_table desired = {0}, actual = {0};
	struct lb_owned owned = {0};
	struct lb_plan p = {0};
	size_t want[6] = {0}, got[6] = {0};
	rng_state = 42;
	build_random(&desired, &actual, &owned, 200, 50, want);
	lb_table_sort(&desired);
	lb_table_sort(&actual);
	assert_int_equal(lb_plan_build(&desired, &actual, &owned, &p), 0);
	for (size_t i = 0; i < p.n; i++)
		got[p.ops[i].kind]++;
	for (int k = 0; k < 6; k++)
		assert_int_equal(got[k], want[k]);
	print_message("  random 200x50: %zu ops (add svc %zu, edit svc %zu, del svc %zu, add dest %zu, "
		      "edit dest %zu, del dest %zu)\n",
		      p.n, got[0], got[1], got[2], got[3], got[4], got[5]);
	assert_true(got[LB_OP_DEL_SVC] > 0 && got[LB_OP_EDIT_DEST] > 0 && got[LB_OP_DEL_DEST] > 0);
	check_plan_properties(&desired, &actual, &owned, &p);
	lb_plan_free(&p);
	lb_table_clear(&desired);
	lb_table_clear(&actual);
	lb_owned_free(&owned);
}

/* 1000 services x 100 destinations: sorting and planning must take milliseconds. The time is
 * printed as a sanity check, not asserted (machines differ); the result is asserted. */
static void test_scale(void **state) {
	struct lb_table desired = {0}, actual = {0};
	struct lb_owned owned = {0};
	struct lb_plan p = {0};
	size_t want[6] = {0};
	rng_state = 7;
	build_random(&desired, &actual, &owned, 1000, 100, want);
	usec_t t0 = now_usec(CLOCK_MONOTONIC);
	lb_table_sort(&desired);
	lb_table_sort(&actual);
	usec_t t1 = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_plan_build(&desired, &actual, &owned, &p), 0);
	usec_t t2 = now_usec(CLOCK_MONOTONIC);
	size_t total = 0;
	for (int k = 0; k < 6; k++)
		total += want[k];
	assert_int_equal(p.n, total);
	print_message("  scale: %zu + %zu dests sorted in %.2f ms, %zu ops planned in %.2f ms\n",
		      lb_table_count_dests(&actual), lb_table_count_dests(&desired),
		      (double)(t1 - t0) / 1000, p.n, (double)(t2 - t1) / 1000);
	lb_plan_free(&p);
	lb_table_clear(&desired);
	lb_table_clear(&actual);
	lb_owned_free(&owned);
}

int main(void) {
	struct CMUnitTest tests[ARRAY_SIZE(cases) + 4];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_op_pointers);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fmt_edges);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_random_large);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_scale);
	return _cmocka_run_group_tests("reconcile", tests, n, NULL, NULL);
}
