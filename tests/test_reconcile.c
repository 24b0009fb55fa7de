/* The planner, table-driven: each case is (desired, actual, owned, drain record, now) as short
 * specs and the exact op lines expected, in order, and the drain record expected after. Every
 * case is also checked for the plan's properties: its order, the drain fields of its ops, that
 * applying it to actual gives desired plus the untouched foreign services plus what still drains,
 * and that re-planning after that (with the new record, at the same time) gives nothing to do and
 * the same record. */
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

#include "drain.h"
#include "drain_spec.h"
#include "reconcile.h"
#include "state.h"
#include "table.h"
#include "util.h"

/* ---- specs -> tables ----
 * table:   service ("; " service)*
 * service: [@name] proto vip sched [pN persistence N s] [mMASK netmask] [fN flags]
 *          [dN drain_timeout N s] [xADDR ADDR in the failed list (repeatable)]
 *          [? destinations not read (dests_unknown)] [| dest (, dest)*]
 * dest:    ip:port [wN weight, default 1] [nat|dr|tun, default nat] [uN u_thresh] [lN l_thresh]
 *          [TN tun_type] [PN tun_port] [CN tun_flags]
 *          [aN active connections] [iN inactive connections]
 * A fwmark service is "fwmark N ipv4|ipv6 sched ..." in place of "proto vip sched ...".
 * A service has the kernel's default netmask unless m is given; pN also sets PERSISTENT. A dest
 * with a or i has known connection counts (conns_known; the other count is 0); without either,
 * its counts are unknown (as in a desired table), which lb_dest_live counts as live.
 *
 * ---- specs -> drain records: drains_from and drains_fmt, drain_spec.h ---- */

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
		else if (tok[0] == 'T')
			d->tun_type = (uint8_t)strtoul(tok + 1, NULL, 10);
		else if (tok[0] == 'P')
			d->tun_port = (uint16_t)strtoul(tok + 1, NULL, 10);
		else if (tok[0] == 'C')
			d->tun_flags = (uint16_t)strtoul(tok + 1, NULL, 10);
		else if (tok[0] == 'a')
			d->active = (uint32_t)strtoul(tok + 1, NULL, 10), d->conns_known = true;
		else if (tok[0] == 'i')
			d->inactive = (uint32_t)strtoul(tok + 1, NULL, 10), d->conns_known = true;
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
	} else if (tok[0] == 'd') {
		s->drain_timeout_ms = (uint32_t)strtoul(tok + 1, NULL, 10) * 1000;
	} else if (tok[0] == 'x') {
		struct lb_addr a;
		assert_int_equal(lb_addr_parse(tok + 1, &a), 0);
		assert_int_equal(lb_service_add_failed(s, &a), 0); /* sorted by lb_table_sort */
	} else if (strcmp(tok, "?") == 0) {
		s->dests_unknown = true;
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
	if (strcmp(tok, "fwmark") == 0) { /* "fwmark N FAMILY sched" */
		snprintf(key, sizeof(key), "%s %s %s", tok, vip, sched);
		sched = strtok_r(NULL, " ", &save);
		assert_non_null(sched);
	} else {
		snprintf(key, sizeof(key), "%s %s", tok, vip);
	}
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
	s->failed = NULL; /* the source's; a kernel table has none */
	s->n_failed = 0;
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
 * of something absent; and none that changes nothing (a drain of a weight-0 destination). */
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
		s->failed = NULL;
		s->n_failed = 0;
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
	case LB_OP_DRAIN_DEST:
		assert_non_null(d);
		assert_true(d->weight > 0);
		d->weight = 0;
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
			assert_int_equal(x->dests[j].tun_type, y->dests[j].tun_type);
			assert_int_equal(x->dests[j].tun_port, y->dests[j].tun_port);
			assert_int_equal(x->dests[j].tun_flags, y->dests[j].tun_flags);
		}
	}
}

static int kind_rank(enum lb_op_kind k) {
	switch (k) {
	case LB_OP_ADD_SVC: case LB_OP_EDIT_SVC: return 0;
	case LB_OP_ADD_DEST: return 1;
	case LB_OP_EDIT_DEST: return 2;
	case LB_OP_DRAIN_DEST: return 3;
	case LB_OP_DEL_DEST: return 4;
	case LB_OP_DEL_SVC: return 5;
	}
	return -1;
}

/* Pass 1: the desired services; pass 2: services leaving (deleted or drained as a whole). */
static int op_pass(const struct lb_table *desired, const struct lb_op *op) {
	return lb_table_find(desired, &op->svc->key) ? 1 : 2;
}

/* Pass 1 first: its services in key order, each one's ops as ADD/EDIT_SVC < ADD_DEST <
 * EDIT_DEST < DRAIN_DEST < DEL_DEST (dests in address order within a kind), never a DEL_SVC.
 * Then pass 2, services in key order, each either one DEL_SVC or drains in address order. */
static void assert_plan_order(const struct lb_table *desired, const struct lb_plan *p) {
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_op *op = &p->ops[i];
		if (op_pass(desired, op) == 1)
			assert_int_not_equal(op->kind, LB_OP_DEL_SVC);
		else
			assert_true(op->kind == LB_OP_DEL_SVC || op->kind == LB_OP_DRAIN_DEST);
	}
	for (size_t i = 1; i < p->n; i++) {
		const struct lb_op *a = &p->ops[i - 1], *b = &p->ops[i];
		int pa = op_pass(desired, a), pb = op_pass(desired, b);
		int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
		int kc = lb_svc_key_cmp(&a->svc->key, &b->svc->key);
		assert_true(pa <= pb);
		if (pa != pb)
			continue;
		if (pa == 2) {
			assert_true(kc < 0 || (kc == 0 && a->kind == LB_OP_DRAIN_DEST &&
					       b->kind == LB_OP_DRAIN_DEST &&
					       lb_addr_cmp(&a->dest->addr, &b->dest->addr) < 0));
			continue;
		}
		assert_true(kc < 0 || (kc == 0 && ra < rb) ||
			    (kc == 0 && ra == rb && ra > 0 && lb_addr_cmp(&a->dest->addr, &b->dest->addr) < 0));
	}
}

/* The record entry an op is about: (service, dest) in a desired service, (service, *) for a
 * service leaving the config. */
static const struct lb_drain *op_entry(const struct lb_table *desired, const struct lb_drains *d,
				       const struct lb_op *op) {
	bool whole = op->kind == LB_OP_DEL_SVC || op_pass(desired, op) == 2;
	if (!whole && !op->dest) /* add or edit of a service: no entry */
		return NULL;
	const struct lb_drain *e = lb_drains_find(d, &op->svc->key, whole ? NULL : &op->dest->addr);
	if (!e && op->drain == LB_DRAIN_CANCEL) /* a whole service drained, back in the config */
		e = lb_drains_find(d, &op->svc->key, NULL);
	return e;
}

/* A recorded start in the future restarts the drain from now. */
static int64_t rebased(const struct lb_drain *before, int64_t now) {
	return before->since_ms <= now ? before->since_ms : now;
}

/* The drain fields of each op against the record before (ctx) and after (p->drains). */
static void assert_drain_fields(const struct lb_table *desired, const struct lb_plan_ctx *ctx,
				const struct lb_plan *p) {
	bool any = false;
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_op *op = &p->ops[i];
		const struct lb_drain *before = op_entry(desired, ctx->drains, op);
		const struct lb_drain *after = op_entry(desired, &p->drains, op);
		any |= op->drain != LB_DRAIN_NONE;
		switch (op->drain) {
		case LB_DRAIN_START: /* drains on, as the record after says */
			assert_int_equal(op->kind, LB_OP_DRAIN_DEST);
			assert_non_null(after);
			assert_int_equal(op->drain_since_ms, after->since_ms);
			assert_int_equal(op->drain_timeout_ms, after->timeout_ms);
			if (before)
				assert_int_equal(after->since_ms, rebased(before, ctx->now_ms));
			else
				assert_int_equal(after->since_ms, ctx->now_ms);
			break;
		case LB_DRAIN_IDLE:
		case LB_DRAIN_TIMEOUT: /* ends a recorded drain */
			assert_true(op->kind == LB_OP_DEL_DEST || op->kind == LB_OP_DEL_SVC);
			assert_non_null(before);
			assert_null(after);
			assert_int_equal(op->drain_since_ms, rebased(before, ctx->now_ms));
			break;
		case LB_DRAIN_CANCEL:
			assert_int_equal(op->kind, LB_OP_EDIT_DEST);
			assert_non_null(before);
			assert_null(after);
			assert_int_equal(op->drain_since_ms, before->since_ms);
			break;
		case LB_DRAIN_NONE:
			assert_int_not_equal(op->kind, LB_OP_DRAIN_DEST);
			if (op->kind == LB_OP_DEL_DEST || op->kind == LB_OP_DEL_SVC)
				assert_null(after);
			break;
		}
	}
	assert_int_equal(lb_plan_drains(p), any);
	for (size_t i = 1; i < p->drains.n; i++) { /* sorted, unique */
		const struct lb_drain *a = &p->drains.v[i - 1], *b = &p->drains.v[i];
		int c = lb_svc_key_cmp(&a->svc, &b->svc);
		assert_true(c < 0 || (c == 0 && lb_addr_cmp(&a->dest, &b->dest) < 0));
	}
}

/* What applying the plan must produce: desired, plus the services ezlb leaves alone (foreign,
 * or owned but with destinations not read), plus what still drains according to the record
 * after the plan: a destination the desired service dropped (the kernel's, at weight 0), a
 * whole service that left the config (the kernel's, every weight 0). A desired service whose
 * destinations were not read keeps the kernel's. */
static void expected_after(const struct lb_table *desired, const struct lb_table *actual,
			   const struct lb_owned *owned, const struct lb_drains *drains,
			   struct lb_table *out) {
	for (size_t i = 0; i < desired->n; i++) {
		const struct lb_service *w = &desired->svcs[i];
		const struct lb_service *h = lb_table_find(actual, &w->key);
		struct lb_service *s = copy_service(out, w);
		if (h && h->dests_unknown) {
			assert_int_equal(lb_service_copy_dests(s, h), 0);
			continue;
		}
		for (size_t j = 0; j < drains->n; j++) {
			const struct lb_drain *e = &drains->v[j];
			if (lb_svc_key_cmp(&e->svc, &w->key) != 0)
				continue;
			assert_int_not_equal(e->dest.af, 0); /* a desired service never drains whole */
			assert_non_null(h);
			const struct lb_dest *hd = lb_service_find_dest(h, &e->dest);
			assert_non_null(hd);
			assert_null(find_dest(s, &e->dest));
			struct lb_dest *d = lb_service_add_dest(s);
			assert_non_null(d);
			*d = *hd;
			d->weight = 0;
		}
	}
	for (size_t i = 0; i < actual->n; i++) {
		const struct lb_service *h = &actual->svcs[i];
		if (lb_table_find(desired, &h->key))
			continue;
		if (!lb_owned_has(owned, &h->key) || h->dests_unknown) {
			copy_service(out, h);
		} else if (lb_drains_find(drains, &h->key, NULL)) {
			struct lb_service *s = copy_service(out, h);
			for (size_t j = 0; j < s->n_dests; j++)
				s->dests[j].weight = 0;
		}
	}
	lb_table_sort(out);
	dedupe(out);
}

static void print_plan(const char *what, const struct lb_plan *p) {
	char line[LB_OP_STRLEN], rec[2048];
	for (size_t i = 0; i < p->n; i++)
		print_message("  %s%s\n", what, lb_op_fmt(&p->ops[i], line, sizeof(line)));
	print_message("  %sdrains: %s\n", what, drains_fmt(&p->drains, rec, sizeof(rec)));
}

/* The properties every plan must have; `p` was planned from (desired, actual, ctx). */
static void check_plan_properties(const struct lb_table *desired, const struct lb_table *actual,
				  const struct lb_plan_ctx *ctx, const struct lb_plan *p) {
	struct lb_table applied = {0}, expect = {0};
	struct lb_plan again = {0};
	char a[2048], b[2048];
	assert_plan_order(desired, p);
	assert_drain_fields(desired, ctx, p);
	apply_plan(actual, p, &applied);
	expected_after(desired, actual, ctx->owned, &p->drains, &expect);
	assert_tables_equal(&applied, &expect);
	struct lb_plan_ctx next = *ctx;
	next.drains = &p->drains;
	assert_int_equal(lb_plan_build(desired, &applied, &next, &again), 0);
	if (again.n)
		print_plan("re-plan: ", &again);
	assert_int_equal(again.n, 0);
	assert_string_equal(drains_fmt(&again.drains, a, sizeof(a)), drains_fmt(&p->drains, b, sizeof(b)));
	assert_true(lb_drains_eq(&again.drains, &p->drains));
	lb_plan_free(&again);
	lb_table_clear(&applied);
	lb_table_clear(&expect);
}

/* ---- the cases ---- */

struct plan_case {
	const char *name;
	const char *desired, *actual, *owned;
	const char *expect[16]; /* NULL-terminated */
	const char *drains;        /* the record before; NULL: empty */
	int64_t now_ms;
	uint32_t leaving_ms;       /* ctx.leaving_drain_ms */
	const char *expect_drains; /* the record after, compared exactly; NULL: empty */
};

#define WEB "@web tcp 10.0.0.1:80"
#define K_WEB "tcp 10.0.0.1:80"
#define D09 "192.168.1.9:8080"
#define D10 "192.168.1.10:8080"
#define D11 "192.168.1.11:8080"
#define D12 "192.168.1.12:8080"
#define D13 "192.168.1.13:8080"
#define SORRY "192.168.9.9:8080"
#define K_OLD "tcp 10.0.0.9:80"
/* op line prefixes */
#define DW "dest web tcp 10.0.0.1:80 -> "
#define DOLD "dest tcp 10.0.0.9:80 -> "

/* The cases before drains list no record, time or leaving timeout: zero (empty record, no
 * leaving drain, and every destination's counts unknown with drain_timeout 0: deleted at once). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
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
	{"scheduler flags on: mh with mh-fallback and mh-port (SCHED1|SCHED2)", WEB " mh f0x18",
	 K_WEB " mh", K_WEB, {"~ service web tcp 10.0.0.1:80: flags none -> sched1|sched2"}},
	{"scheduler flags off", WEB " mh", K_WEB " mh f0x18", K_WEB,
	 {"~ service web tcp 10.0.0.1:80: flags sched1|sched2 -> none"}},
	{"one-packet on with persistence kept", "@dns udp 10.0.0.1:53 rr p60 f0x04",
	 "udp 10.0.0.1:53 rr p60", "udp 10.0.0.1:53",
	 {"~ service dns udp 10.0.0.1:53: flags persistent -> persistent|one-packet"}},
	{"create with flags", "@dns udp 10.0.0.1:53 sh f0x0c | " D10, "", "",
	 {"+ service dns udp 10.0.0.1:53 scheduler sh flags one-packet|sched1",
	  "+ dest dns udp 10.0.0.1:53 -> 192.168.1.10:8080 weight 1 nat"}},
	{"create a tunnel dest: gue with port and remote checksum",
	 WEB " rr | " D10 " tun T1 P6080 C2", "", "",
	 {"+ service web tcp 10.0.0.1:80 scheduler rr",
	  "+ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080 weight 1 tun tunnel gue port 6080 "
	  "checksum remote"}},
	{"tunnel type ipip -> gre with csum, edited in place", WEB " rr | " D10 " tun T2 C1",
	 K_WEB " rr | " D10 " tun", K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: tunnel ipip -> gre checksum csum"}},
	{"tunnel port changed only", WEB " rr | " D10 " tun T1 P6081", K_WEB " rr | " D10 " tun T1 P6080",
	 K_WEB, {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: tunnel gue port 6080 -> gue port 6081"}},
	{"tunnel back to ipip", WEB " rr | " D10 " tun", K_WEB " rr | " D10 " tun T1 P6080 C2", K_WEB,
	 {"~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: tunnel gue port 6080 checksum remote -> "
	  "ipip"}},
	{"tunnel unchanged: nothing to do", WEB " rr | " D10 " tun T1 P6080 C1",
	 K_WEB " rr | " D10 " tun T1 P6080 C1", K_WEB, {NULL}},
	{"create a fwmark service", "@marked fwmark 100 ipv4 wrr | " D10 " w2 dr, " D11 " dr", "", "",
	 {"+ service marked fwmark 100 ipv4 scheduler wrr",
	  "+ dest marked fwmark 100 ipv4 -> 192.168.1.10:8080 weight 2 dr",
	  "+ dest marked fwmark 100 ipv4 -> 192.168.1.11:8080 weight 1 dr"}},
	{"fwmark service edited in place", "@marked fwmark 100 ipv4 sh f0x08 | " D10 " w3",
	 "fwmark 100 ipv4 wrr | " D10, "fwmark 100 ipv4",
	 {"~ service marked fwmark 100 ipv4: scheduler wrr -> sh, flags none -> sched1",
	  "~ dest marked fwmark 100 ipv4 -> 192.168.1.10:8080: weight 1 -> 3"}},
	{"fwmark services of both families are two services", "@m6 fwmark 100 ipv6 rr",
	 "fwmark 100 ipv4 rr", "", {"+ service m6 fwmark 100 ipv6 scheduler rr"}},
	{"foreign fwmark service untouched; owned one deleted", "",
	 "fwmark 7 ipv4 rr | " D10 "; fwmark 8 ipv4 rr | " D10, "fwmark 8 ipv4",
	 {"- service fwmark 8 ipv4"}},
	{"fwmark and address services side by side", WEB " rr | " D10 "; @m fwmark 1 ipv4 rr | " D11,
	 K_WEB " rr | " D10, K_WEB,
	 {"+ service m fwmark 1 ipv4 scheduler rr",
	  "+ dest m fwmark 1 ipv4 -> 192.168.1.11:8080 weight 1 nat"}},
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

	/* ---- drains: a destination the desired service no longer has ---- */
	{"drain start: a TCP destination with active connections drains", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w3 a2 i4", K_WEB,
	 {"~ drain " DW D11 ": weight 3 -> 0, 2 active connections, timeout 60s"},
	 .now_ms = 5000, .expect_drains = K_WEB " " D11 " 5000 60000"},
	{"TCP: only inactive connections is not live: deleted at once", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w3 a0 i5", K_WEB, {"- " DW D11}, .now_ms = 5000},
	{"SCTP counts like TCP: only inactive connections is not live",
	 "@s sctp 10.0.0.3:9 rr d60 | 192.168.3.10:9",
	 "sctp 10.0.0.3:9 rr | 192.168.3.10:9, 192.168.3.11:9 a0 i4", "sctp 10.0.0.3:9",
	 {"- dest s sctp 10.0.0.3:9 -> 192.168.3.11:9"}, .now_ms = 5000},
	{"UDP: inactive connections count as live", "@dns udp 10.0.0.2:53 rr d30 | 192.168.2.10:53",
	 "udp 10.0.0.2:53 rr | 192.168.2.10:53, 192.168.2.11:53 w2 a0 i3", "udp 10.0.0.2:53",
	 {"~ drain dest dns udp 10.0.0.2:53 -> 192.168.2.11:53: weight 2 -> 0, 3 live connections, "
	  "timeout 30s"},
	 .now_ms = 7000, .expect_drains = "udp 10.0.0.2:53 192.168.2.11:53 7000 30000"},
	{"UDP: active and inactive summed", "@dns udp 10.0.0.2:53 rr d30 | 192.168.2.10:53",
	 "udp 10.0.0.2:53 rr | 192.168.2.10:53, 192.168.2.11:53 w2 a1 i3", "udp 10.0.0.2:53",
	 {"~ drain dest dns udp 10.0.0.2:53 -> 192.168.2.11:53: weight 2 -> 0, 4 live connections, "
	  "timeout 30s"},
	 .now_ms = 7000, .expect_drains = "udp 10.0.0.2:53 192.168.2.11:53 7000 30000"},
	{"UDP: no entry at all is not live: deleted at once",
	 "@dns udp 10.0.0.2:53 rr d30 | 192.168.2.10:53",
	 "udp 10.0.0.2:53 rr | 192.168.2.10:53, 192.168.2.11:53 w2 a0 i0", "udp 10.0.0.2:53",
	 {"- dest dns udp 10.0.0.2:53 -> 192.168.2.11:53"}, .now_ms = 7000},
	{"unknown connection counts drain", WEB " wrr d60 | " D10, K_WEB " wrr | " D10 ", " D11 " w3",
	 K_WEB, {"~ drain " DW D11 ": weight 3 -> 0, connections unknown, timeout 60s"},
	 .now_ms = 5000, .expect_drains = K_WEB " " D11 " 5000 60000"},
	{"drain_timeout 0: a live destination is deleted at once", WEB " wrr d0 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w3 a5", K_WEB, {"- " DW D11}, .now_ms = 5000},
	{"a destination at weight 0 already: drain recorded, no op", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB, {NULL}, .now_ms = 5000,
	 .expect_drains = K_WEB " " D11 " 5000 60000"},
	{"a down (failed) destination is deleted at once though live",
	 WEB " wrr d60 x" D11 " | " D10, K_WEB " wrr | " D10 ", " D11 " w3 a9", K_WEB, {"- " DW D11},
	 .now_ms = 5000},
	{"a draining destination that goes down is deleted at once, its drain forgotten",
	 WEB " wrr d60 x" D11 " | " D10, K_WEB " wrr | " D10 ", " D11 " w0 a9", K_WEB, {"- " DW D11},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 2000},
	{"drain ends when no live connection is left", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w0 a0 i2", K_WEB, {"- " DW D11 " (drained: no live connection)"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 20000},
	{"drain ends at its timeout", WEB " wrr d60 | " D10, K_WEB " wrr | " D10 ", " D11 " w0 a2 i1",
	 K_WEB, {"- " DW D11 " (drain timed out: 2 active connections)"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 61000},
	{"drain 1 ms before its timeout goes on", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB, {NULL}, .drains = K_WEB " " D11 " 1000 60000",
	 .now_ms = 60999, .expect_drains = K_WEB " " D11 " 1000 60000"},
	{"UDP drain timed out: live connections in the message", "@dns udp 10.0.0.2:53 rr d30",
	 "udp 10.0.0.2:53 rr | 192.168.2.11:53 w0 a1 i3", "udp 10.0.0.2:53",
	 {"- dest dns udp 10.0.0.2:53 -> 192.168.2.11:53 (drain timed out: 4 live connections)"},
	 .drains = "udp 10.0.0.2:53 192.168.2.11:53 1000 30000", .now_ms = 31000},
	{"drain timed out with unknown counts", WEB " wrr d60", K_WEB " wrr | " D11 " w0", K_WEB,
	 {"- " DW D11 " (drain timed out: connections unknown)"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 61000},
	{"the service's current drain_timeout counts: a shortened one ends a running drain",
	 WEB " wrr d30 | " D10, K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB,
	 {"- " DW D11 " (drain timed out: 2 active connections)"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 31000},
	{"the service's current drain_timeout counts: a lengthened one goes on",
	 WEB " wrr d120 | " D10, K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB, {NULL},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 61000,
	 .expect_drains = K_WEB " " D11 " 1000 120000"},
	{"a running drain is not restarted", WEB " wrr d60 | " D10, K_WEB " wrr | " D10 ", " D11 " w0",
	 K_WEB, {NULL}, .drains = K_WEB " " D11 " 1000 60000", .now_ms = 30000,
	 .expect_drains = K_WEB " " D11 " 1000 60000"},
	{"clock set back: a drain that seems to start in the future restarts from now",
	 WEB " wrr d60 | " D10, K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB, {NULL},
	 .drains = K_WEB " " D11 " 100000 60000", .now_ms = 50000,
	 .expect_drains = K_WEB " " D11 " 50000 60000"},
	{"weight raised on a draining destination: drained again, start kept", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w4 a2", K_WEB,
	 {"~ drain " DW D11 ": weight 4 -> 0, 2 active connections, timeout 60s"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 30000,
	 .expect_drains = K_WEB " " D11 " 1000 60000"},
	{"a draining destination back in the config gets its weight back (cancel)",
	 WEB " wrr d60 | " D10 ", " D11 " w3", K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB,
	 {"~ " DW D11 ": weight 0 -> 3 (drain cancelled)"}, .drains = K_WEB " " D11 " 1000 60000",
	 .now_ms = 30000},
	{"cancel with other changes", WEB " wrr d60 | " D10 ", " D11 " w3 dr",
	 K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB,
	 {"~ " DW D11 ": weight 0 -> 3, forward nat -> dr (drain cancelled)"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 30000},
	{"a draining destination back in the config at weight 0: no edit, drain forgotten",
	 WEB " wrr d60 | " D10 ", " D11 " w0", K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB, {NULL},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 30000},
	{"a recorded destination gone from the kernel: entry dropped", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10, K_WEB, {NULL}, .drains = K_WEB " " D11 " 1000 60000", .now_ms = 30000},
	{"a recorded destination re-added by the config: added, entry dropped",
	 WEB " wrr d60 | " D10 ", " D11, K_WEB " wrr | " D10, K_WEB, {"+ " DW D11 " weight 1 nat"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 30000},
	{"per service: add, edit, drain, delete",
	 WEB " wrr d60 | " D10 " w5, " D13,
	 K_WEB " wrr | " D09 " w2 a1, " D10 " w3, " D11 " a0, " D12 " w0 a0 i3, 192.168.1.20:8080 w0 a1, "
	 "192.168.1.21:8080 w0 a0",
	 K_WEB,
	 {"+ " DW D13 " weight 1 nat",
	  "~ " DW D10 ": weight 3 -> 5",
	  "~ drain " DW D09 ": weight 2 -> 0, 1 active connection, timeout 60s",
	  "- " DW D11,
	  "- " DW D12,
	  "- " DW "192.168.1.21:8080 (drained: no live connection)"},
	 .drains = K_WEB " 192.168.1.20:8080 1000 60000; " K_WEB " 192.168.1.21:8080 1000 60000",
	 .now_ms = 9000,
	 .expect_drains = K_WEB " " D09 " 9000 60000; " K_WEB " 192.168.1.20:8080 1000 60000"},
	{"IPv6: drain and record", "@v6 tcp [2001:db8::1]:443 wlc d60 | [2001:db8::10]:8443",
	 "tcp [2001:db8::1]:443 wlc | [2001:db8::10]:8443, [2001:db8::11]:8443 w2 a3", "",
	 {"~ drain dest v6 tcp [2001:db8::1]:443 -> [2001:db8::11]:8443: weight 2 -> 0, 3 active "
	  "connections, timeout 60s"},
	 .now_ms = 1234, .expect_drains = "tcp [2001:db8::1]:443 [2001:db8::11]:8443 1234 60000"},

	/* ---- drains: a service that left the config ---- */
	{"service drain start, after every desired service",
	 WEB " rr | " D10 " w2",
	 K_WEB " rr | " D10 "; " K_OLD " rr | " D10 " w2 a1, " D11 " w0 a3, " D12 " w5 a0; "
	 "tcp 10.0.0.0:80 rr | " D10 " a0",
	 K_WEB "; " K_OLD "; tcp 10.0.0.0:80",
	 {"~ " DW D10 ": weight 1 -> 2",
	  "- service tcp 10.0.0.0:80",
	  "~ drain " DOLD D10 ": weight 2 -> 0, 1 active connection, timeout 45s",
	  "~ drain " DOLD D12 ": weight 5 -> 0, 0 active connections, timeout 45s"},
	 .now_ms = 7000, .leaving_ms = 45000, .expect_drains = K_OLD " * 7000 45000"},
	{"service drain ends when no destination is live", "",
	 K_OLD " rr | " D10 " w0 a0 i3, " D11 " w0 a0", K_OLD,
	 {"- service tcp 10.0.0.9:80 (drained: no live connection)"},
	 .drains = K_OLD " * 1000 45000", .now_ms = 5000, .leaving_ms = 45000},
	{"service drain ends at its recorded timeout", "",
	 K_OLD " rr | " D10 " w0 a2, " D11 " w0 a1 i7", K_OLD,
	 {"- service tcp 10.0.0.9:80 (drain timed out: 3 live connections)"},
	 .drains = K_OLD " * 1000 45000", .now_ms = 46000, .leaving_ms = 90000},
	{"UDP service drain timed out: inactive entries summed", "",
	 "udp 10.0.0.9:53 rr | 192.168.2.10:53 w0 a1 i4, 192.168.2.11:53 w0 i2", "udp 10.0.0.9:53",
	 {"- service udp 10.0.0.9:53 (drain timed out: 7 live connections)"},
	 .drains = "udp 10.0.0.9:53 * 1000 45000", .now_ms = 50000, .leaving_ms = 45000},
	{"service drain timed out with unknown counts", "", K_OLD " rr | " D10 " w0, " D11 " w0 a1",
	 K_OLD, {"- service tcp 10.0.0.9:80 (drain timed out: connections unknown)"},
	 .drains = K_OLD " * 1000 45000", .now_ms = 46000, .leaving_ms = 45000},
	{"running service drain keeps its recorded timeout", "", K_OLD " rr | " D10 " w0 a2", K_OLD,
	 {NULL}, .drains = K_OLD " * 1000 45000", .now_ms = 20000, .leaving_ms = 10000,
	 .expect_drains = K_OLD " * 1000 45000"},
	{"weight raised in a draining service: drained again, start kept", "",
	 K_OLD " rr | " D10 " w3 a2, " D11 " w0", K_OLD,
	 {"~ drain " DOLD D10 ": weight 3 -> 0, 2 active connections, timeout 45s"},
	 .drains = K_OLD " * 1000 45000", .now_ms = 20000, .leaving_ms = 10000,
	 .expect_drains = K_OLD " * 1000 45000"},
	{"leaving service with no live destination deleted at once", "",
	 K_OLD " rr | " D10 " w2 a0 i5, " D11 " a0", K_OLD, {"- service tcp 10.0.0.9:80"},
	 .now_ms = 5000, .leaving_ms = 45000},
	{"leaving service without destinations deleted at once", "", K_OLD " rr", K_OLD,
	 {"- service tcp 10.0.0.9:80"}, .now_ms = 5000, .leaving_ms = 45000},
	{"leaving drain 0: a live service is deleted at once", "", K_OLD " rr | " D10 " a5", K_OLD,
	 {"- service tcp 10.0.0.9:80"}, .now_ms = 5000, .leaving_ms = 0},
	{"leaving service with unknown counts drains", "", K_OLD " rr | " D10 " w2", K_OLD,
	 {"~ drain " DOLD D10 ": weight 2 -> 0, connections unknown, timeout 45s"}, .now_ms = 5000,
	 .leaving_ms = 45000, .expect_drains = K_OLD " * 5000 45000"},
	{"an unowned service is never drained", WEB " rr | " D10, K_WEB " rr | " D10 "; " K_OLD
	 " rr | " D10 " w2 a5", K_WEB, {NULL}, .now_ms = 5000, .leaving_ms = 45000},
	{"an unowned service with a stale drain entry is left alone, entry dropped", "",
	 K_OLD " rr | " D10 " w0 a0", "", {NULL}, .drains = K_OLD " * 1000 45000", .now_ms = 99000,
	 .leaving_ms = 45000},
	{"a draining service gone from the kernel: entry dropped", "", "", K_OLD, {NULL},
	 .drains = K_OLD " * 1000 45000", .now_ms = 5000, .leaving_ms = 45000},

	{"drain_timeout set to 0 during a drain: it ends at once, timed out", WEB " wrr d0 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w0 a2", K_WEB,
	 {"- " DW D11 " (drain timed out: 2 active connections)"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 2000},
	{"torn dump: a draining destination listed twice is drained once", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w3 a2, " D11 " w3 a2", K_WEB,
	 {"~ drain " DW D11 ": weight 3 -> 0, 2 active connections, timeout 60s"},
	 .now_ms = 5000, .expect_drains = K_WEB " " D11 " 5000 60000"},
	{"torn dump: a destination of a draining service listed twice is drained once", "",
	 K_OLD " rr | " D10 " w2 a1, " D10 " w2 a1, " D11 " w1 a0", K_OLD,
	 {"~ drain " DOLD D10 ": weight 2 -> 0, 1 active connection, timeout 45s",
	  "~ drain " DOLD D11 ": weight 1 -> 0, 0 active connections, timeout 45s"},
	 .now_ms = 5000, .leaving_ms = 45000, .expect_drains = K_OLD " * 5000 45000"},
	{"torn dump: a timed-out service's connections counted once per destination", "",
	 K_OLD " rr | " D10 " w0 a2, " D10 " w0 a2, " D11 " w0 a1", K_OLD,
	 {"- service tcp 10.0.0.9:80 (drain timed out: 3 live connections)"},
	 .drains = K_OLD " * 1000 45000", .now_ms = 46000, .leaving_ms = 45000},

	/* ---- drains: services whose destinations were not read ---- */
	{"destinations not read: record entries carried as they are, service still edited",
	 WEB " rr d60 | " D10, K_WEB " wrr ?; " K_OLD " rr ?", K_WEB "; " K_OLD,
	 {"~ service web tcp 10.0.0.1:80: scheduler wrr -> rr"},
	 .drains = K_WEB " " D11 " 1000 60000; " K_OLD " * 2000 45000", .now_ms = 100000,
	 .leaving_ms = 45000, .expect_drains = K_WEB " " D11 " 1000 60000; " K_OLD " * 2000 45000"},

	/* ---- quorum, as the desired tables it produces ---- */
	{"quorum lost, on_loss sorry (remove): backends deleted at once, sorry server added",
	 WEB " wrr d60 x" D10 " x" D11 " | " SORRY " w1",
	 K_WEB " wrr | " D10 " w5 a4, " D11 " w5 a2", K_WEB,
	 {"+ " DW SORRY " weight 1 nat", "- " DW D10, "- " DW D11}, .now_ms = 5000},
	{"quorum lost, on_loss sorry (quiesce): backends to weight 0, sorry server added",
	 WEB " wrr d60 | " D10 " w0, " D11 " w0, " SORRY " w1",
	 K_WEB " wrr | " D10 " w5 a4, " D11 " w5", K_WEB,
	 {"+ " DW SORRY " weight 1 nat", "~ " DW D10 ": weight 5 -> 0", "~ " DW D11 ": weight 5 -> 0"},
	 .now_ms = 5000},
	{"quorum back: the sorry server drains its live connections",
	 WEB " wrr d60 | " D10 " w5, " D11 " w5", K_WEB " wrr | " SORRY " w1 a4", K_WEB,
	 {"+ " DW D10 " weight 5 nat", "+ " DW D11 " weight 5 nat",
	  "~ drain " DW SORRY ": weight 1 -> 0, 4 active connections, timeout 60s"},
	 .now_ms = 9000, .expect_drains = K_WEB " " SORRY " 9000 60000"},
	{"quorum back: an idle sorry server is deleted at once",
	 WEB " wrr d60 | " D10 " w5, " D11 " w5", K_WEB " wrr | " SORRY " w1 a0 i2", K_WEB,
	 {"+ " DW D10 " weight 5 nat", "+ " DW D11 " weight 5 nat", "- " DW SORRY}, .now_ms = 9000},
	{"quorum lost, on_loss fail_open: nothing removed", WEB " wrr d60 | " D10 " w5, " D11 " w5",
	 K_WEB " wrr | " D10 " w5 a4, " D11 " w5 a0", K_WEB, {NULL}, .now_ms = 5000},
	{"quorum lost, on_loss empty: every backend deleted at once, the service stays",
	 WEB " wrr d60 x" D10 " x" D11, K_WEB " wrr | " D10 " w5 a3, " D11 " w5 a1", K_WEB,
	 {"- " DW D10, "- " DW D11}, .now_ms = 5000},
	{"sorry server that is also a backend, quorum lost: a weight edit, no delete",
	 WEB " wrr d60 x" D10 " | " D11 " w1, " SORRY " w2",
	 K_WEB " wrr | " D10 " w5 a2, " D11 " w5 a3", K_WEB,
	 {"+ " DW SORRY " weight 2 nat", "~ " DW D11 ": weight 5 -> 1", "- " DW D10}, .now_ms = 5000},
	{"sorry server that is also a backend, quorum back: a weight edit, no re-add",
	 WEB " wrr d60 | " D10 " w5, " D11 " w5", K_WEB " wrr | " D11 " w1 a3, " SORRY " w2 a1", K_WEB,
	 {"+ " DW D10 " weight 5 nat", "~ " DW D11 ": weight 1 -> 5",
	  "~ drain " DW SORRY ": weight 2 -> 0, 1 active connection, timeout 60s"},
	 .now_ms = 9000, .expect_drains = K_WEB " " SORRY " 9000 60000"},

	/* ---- drains and ownership ---- */
	{"a desired service whose every destination drains is kept", WEB " wrr d60",
	 K_WEB " wrr | " D10 " a1, " D11 " w2 a2", K_WEB,
	 {"~ drain " DW D10 ": weight 1 -> 0, 1 active connection, timeout 60s",
	  "~ drain " DW D11 ": weight 2 -> 0, 2 active connections, timeout 60s"},
	 .now_ms = 5000, .expect_drains = K_WEB " " D10 " 5000 60000; " K_WEB " " D11 " 5000 60000"},
	{"an adopted (unowned) desired service drains like an owned one", WEB " wrr d60 | " D10,
	 K_WEB " wrr | " D10 ", " D11 " w3 a2", "",
	 {"~ drain " DW D11 ": weight 3 -> 0, 2 active connections, timeout 60s"}, .now_ms = 5000,
	 .expect_drains = K_WEB " " D11 " 5000 60000"},
	{"a service leaving the config while a destination drains: drained whole from now", "",
	 K_WEB " wrr | " D10 " w3 a1, " D11 " w0 a2", K_WEB,
	 {"~ drain dest tcp 10.0.0.1:80 -> " D10 ": weight 3 -> 0, 1 active connection, timeout 30s"},
	 .drains = K_WEB " " D11 " 1000 60000", .now_ms = 5000, .leaving_ms = 30000,
	 .expect_drains = K_WEB " * 5000 30000"},
	{"a draining service back in the config: weights restored, drain cancelled",
	 WEB " wrr d60 | " D10 " w3, " D11 " w2", K_WEB " wrr | " D10 " w0 a1, " D11 " w0 a2", K_WEB,
	 {"~ " DW D10 ": weight 0 -> 3 (drain cancelled)", "~ " DW D11 ": weight 0 -> 2 (drain cancelled)"},
	 .drains = K_WEB " * 1000 45000", .now_ms = 5000, .leaving_ms = 45000},
};
#pragma GCC diagnostic pop

struct built {
	struct lb_table desired, actual;
	struct lb_owned owned;
	struct lb_drains drains;
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
	lb_drains_free(&b->drains);
	free(b->bufs[0]);
	free(b->bufs[1]);
}

static void run_case(void **state) {
	const struct plan_case *c = *state;
	struct built b;
	struct lb_plan p = {0};
	struct lb_drains want = {0};
	char got_rec[2048], want_rec[2048];
	build(&b, c->desired, c->actual, c->owned);
	drains_from(c->drains, &b.drains);
	drains_from(c->expect_drains, &want);
	struct lb_plan_ctx ctx = {&b.owned, &b.drains, c->now_ms, c->leaving_ms};
	assert_int_equal(lb_plan_build(&b.desired, &b.actual, &ctx, &p), 0);
	size_t n_expect = 0;
	while (c->expect[n_expect])
		n_expect++;
	print_plan("", &p);
	for (size_t i = 0; i < p.n; i++) {
		char line[LB_OP_STRLEN];
		if (i < n_expect)
			assert_string_equal(lb_op_fmt(&p.ops[i], line, sizeof(line)), c->expect[i]);
	}
	assert_int_equal(p.n, n_expect);
	assert_string_equal(drains_fmt(&p.drains, got_rec, sizeof(got_rec)),
			    drains_fmt(&want, want_rec, sizeof(want_rec)));
	assert_true(lb_drains_eq(&p.drains, &want));
	check_plan_properties(&b.desired, &b.actual, &ctx, &p);
	lb_plan_free(&p);
	lb_drains_free(&want);
	built_free(&b);
}

/* ---- beyond the table ---- */

static void test_op_pointers(void **state) {
	struct built b;
	struct lb_plan p = {0};
	build(&b, WEB " wrr | " D10 " w2, " D11, K_WEB " rr | " D10 ", 192.168.1.12:8080", K_WEB);
	assert_int_equal(lb_plan_build(&b.desired, &b.actual, &(struct lb_plan_ctx){.owned = &b.owned}, &p), 0);
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
	assert_int_equal(lb_plan_build(&b.desired, &b.desired, &(struct lb_plan_ctx){.owned = &b.owned}, &p), 0);
	assert_int_equal(p.n, 0);
	lb_plan_free(&p);
	built_free(&b);
}

/* Drain ops point where the other ops do: a destination's drain at the desired service (named)
 * and the kernel's destination; a whole service's at the kernel's service. */
static void test_drain_op_pointers(void **state) {
	struct built b;
	struct lb_plan p = {0};
	build(&b, WEB " wrr d60 | " D10,
	      K_WEB " wrr | " D10 ", " D11 " w2 a1, " D12 " w0 a0; " K_OLD " rr | " D10 " w3 a1; "
	      "tcp 10.0.0.8:80 rr | " D10 " w0 a0", K_WEB "; " K_OLD "; tcp 10.0.0.8:80");
	drains_from(K_WEB " " D12 " 1000 60000; tcp 10.0.0.8:80 * 1000 5000", &b.drains);
	struct lb_plan_ctx ctx = {&b.owned, &b.drains, 2000, 45000};
	assert_int_equal(lb_plan_build(&b.desired, &b.actual, &ctx, &p), 0);
	print_plan("", &p);
	assert_int_equal(p.n, 4);
	const struct lb_service *web = &b.desired.svcs[0];
	const struct lb_service *aweb = &b.actual.svcs[0], *a8 = &b.actual.svcs[1],
				*aold = &b.actual.svcs[2];
	assert_int_equal(p.ops[0].kind, LB_OP_DRAIN_DEST);
	assert_ptr_equal(p.ops[0].svc, web);
	assert_ptr_equal(p.ops[0].old_svc, aweb);
	assert_ptr_equal(p.ops[0].dest, &aweb->dests[1]);
	assert_null(p.ops[0].old_dest);
	assert_int_equal(p.ops[0].drain, LB_DRAIN_START);
	assert_int_equal(p.ops[0].drain_since_ms, 2000);
	assert_int_equal(p.ops[0].drain_timeout_ms, 60000);
	assert_int_equal(p.ops[1].kind, LB_OP_DEL_DEST);
	assert_ptr_equal(p.ops[1].svc, web);
	assert_ptr_equal(p.ops[1].old_svc, aweb);
	assert_ptr_equal(p.ops[1].dest, &aweb->dests[2]);
	assert_int_equal(p.ops[1].drain, LB_DRAIN_IDLE);
	assert_int_equal(p.ops[1].drain_since_ms, 1000);
	assert_int_equal(p.ops[2].kind, LB_OP_DEL_SVC);
	assert_ptr_equal(p.ops[2].svc, a8);
	assert_null(p.ops[2].dest);
	assert_int_equal(p.ops[2].drain, LB_DRAIN_IDLE);
	assert_int_equal(p.ops[2].drain_since_ms, 1000);
	assert_int_equal(p.ops[2].drain_timeout_ms, 5000);
	assert_int_equal(p.ops[3].kind, LB_OP_DRAIN_DEST);
	assert_ptr_equal(p.ops[3].svc, aold);
	assert_ptr_equal(p.ops[3].dest, &aold->dests[0]);
	assert_int_equal(p.ops[3].drain, LB_DRAIN_START);
	assert_int_equal(p.ops[3].drain_since_ms, 2000);
	assert_int_equal(p.ops[3].drain_timeout_ms, 45000);
	assert_true(lb_plan_drains(&p));
	check_plan_properties(&b.desired, &b.actual, &ctx, &p);
	/* the same tables without drains to speak of */
	lb_drains_free(&b.drains);
	ctx.leaving_drain_ms = 0;
	b.desired.svcs[0].drain_timeout_ms = 0;
	assert_int_equal(lb_plan_build(&b.desired, &b.actual, &ctx, &p), 0);
	print_plan("no drains: ", &p);
	assert_false(lb_plan_drains(&p));
	assert_int_equal(p.drains.n, 0);
	lb_plan_free(&p);
	built_free(&b);
}

/* lb_plan_service: one service, for targeted changes; its record entries only. */
static void test_plan_service_drains(void **state) {
	struct built b;
	struct lb_plan p = {0};
	char line[LB_OP_STRLEN], rec[512];
	build(&b, WEB " wrr d60 | " D10, K_WEB " wrr | " D10 ", " D11 " w2 a1; " K_OLD " rr | " D10 " w3 a1",
	      "");
	drains_from(K_OLD " * 1000 45000", &b.drains);
	struct lb_plan_ctx ctx = {NULL, &b.drains, 3000, 0};
	assert_int_equal(lb_plan_service(&p, &b.desired.svcs[0], &b.actual.svcs[0], &ctx), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(lb_op_fmt(&p.ops[0], line, sizeof(line)),
			    "~ drain " DW D11 ": weight 2 -> 0, 1 active connection, timeout 60s");
	assert_string_equal(drains_fmt(&p.drains, rec, sizeof(rec)), K_WEB " " D11 " 3000 60000");
	/* appended: a service leaving, with its recorded timeout */
	assert_int_equal(lb_plan_service(&p, NULL, &b.actual.svcs[1], &ctx), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(lb_op_fmt(&p.ops[1], line, sizeof(line)),
			    "~ drain " DOLD D10 ": weight 3 -> 0, 1 active connection, timeout 45s");
	assert_string_equal(drains_fmt(&p.drains, rec, sizeof(rec)),
			    K_WEB " " D11 " 3000 60000; " K_OLD " * 1000 45000");
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
	/* a drain timeout that is not whole seconds prints rounded down */
	d.weight = 4;
	d.conns_known = true;
	d.active = 1;
	op = (struct lb_op){.kind = LB_OP_DRAIN_DEST, .svc = s, .dest = &d, .drain = LB_DRAIN_START,
			    .drain_timeout_ms = 1999};
	assert_string_equal(lb_op_fmt(&op, line, sizeof(line)),
			    "~ drain dest x tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 4 -> 0, 1 active "
			    "connection, timeout 1.999s");
	assert_string_equal(lb_op_kind_verb(LB_OP_ADD_SVC), "add service");
	assert_string_equal(lb_op_kind_verb(LB_OP_EDIT_SVC), "edit service");
	assert_string_equal(lb_op_kind_verb(LB_OP_DEL_SVC), "delete service");
	assert_string_equal(lb_op_kind_verb(LB_OP_ADD_DEST), "add destination");
	assert_string_equal(lb_op_kind_verb(LB_OP_EDIT_DEST), "edit destination");
	assert_string_equal(lb_op_kind_verb(LB_OP_DEL_DEST), "delete destination");
	assert_string_equal(lb_op_kind_verb(LB_OP_DRAIN_DEST), "drain destination");
	built_free(&b);
}

/* ---- drains over several passes: each plan applied, the record carried to the next ---- */

struct sim {
	struct built b;
	uint32_t leaving_ms;
};

/* Plans at now, checks the lines (NULL-terminated) and the record after, then applies the plan
 * to the actual table and keeps the record, as a pass does. */
static void sim_step(struct sim *s, int64_t now, const char *const *expect, const char *expect_rec) {
	struct lb_plan p = {0};
	struct lb_table applied = {0};
	struct lb_drains want = {0};
	char got_rec[1024], want_rec[1024], line[LB_OP_STRLEN];
	struct lb_plan_ctx ctx = {&s->b.owned, &s->b.drains, now, s->leaving_ms};
	print_message("  at %lld:\n", (long long)now);
	assert_int_equal(lb_plan_build(&s->b.desired, &s->b.actual, &ctx, &p), 0);
	print_plan("  ", &p);
	size_t n = 0;
	for (; expect[n]; n++)
		if (n < p.n)
			assert_string_equal(lb_op_fmt(&p.ops[n], line, sizeof(line)), expect[n]);
	assert_int_equal(p.n, n);
	drains_from(expect_rec, &want);
	assert_string_equal(drains_fmt(&p.drains, got_rec, sizeof(got_rec)),
			    drains_fmt(&want, want_rec, sizeof(want_rec)));
	check_plan_properties(&s->b.desired, &s->b.actual, &ctx, &p);
	apply_plan(&s->b.actual, &p, &applied);
	lb_table_clear(&s->b.actual);
	s->b.actual = applied;
	assert_int_equal(lb_drains_copy(&s->b.drains, &p.drains), 0);
	lb_drains_free(&want);
	lb_plan_free(&p);
}

static struct lb_dest *sim_dest(struct sim *s, const char *key, const char *addr) {
	struct lb_svc_key k;
	struct lb_addr a;
	assert_int_equal(lb_svc_key_parse(key, &k), 0);
	assert_int_equal(lb_addr_parse(addr, &a), 0);
	struct lb_service *svc = find_svc(&s->b.actual, &k);
	assert_non_null(svc);
	struct lb_dest *d = find_dest(svc, &a);
	assert_non_null(d);
	return d;
}

static void sim_set_desired(struct sim *s, const char *spec) {
	lb_table_clear(&s->b.desired);
	free(s->b.bufs[0]);
	s->b.bufs[0] = table_from(spec, &s->b.desired);
}

static void set_conns(struct lb_dest *d, uint32_t active, uint32_t inactive) {
	d->conns_known = true;
	d->active = active;
	d->inactive = inactive;
}

/* The opening of the stories of one destination's drain: web wants D10 alone and drains over
 * timeout_s; the kernel still has D11 (weight 3, 2 active connections); the pass at 1000 starts
 * D11's drain. */
static void sim_start_d11_drain(struct sim *s, unsigned timeout_s) {
	char desired[128], line[LB_OP_STRLEN], rec[128];
	snprintf(desired, sizeof(desired), WEB " wrr d%u | " D10, timeout_s);
	build(&s->b, desired, K_WEB " wrr | " D10 ", " D11 " w3 a2", K_WEB);
	snprintf(line, sizeof(line),
		 "~ drain " DW D11 ": weight 3 -> 0, 2 active connections, timeout %us", timeout_s);
	snprintf(rec, sizeof(rec), K_WEB " " D11 " 1000 %u", timeout_s * 1000);
	sim_step(s, 1000, (const char *[]){line, NULL}, rec);
}

static void test_sim_dest_drain(void **state) {
	struct sim s = {0};
	sim_start_d11_drain(&s, 60);
	sim_step(&s, 30000, (const char *[]){NULL}, K_WEB " " D11 " 1000 60000");
	sim_dest(&s, K_WEB, D11)->weight = 2; /* someone else */
	sim_step(&s, 40000, (const char *[]){"~ drain " DW D11 ": weight 2 -> 0, 2 active connections, "
					     "timeout 60s", NULL},
		 K_WEB " " D11 " 1000 60000");
	set_conns(sim_dest(&s, K_WEB, D11), 0, 1);
	sim_step(&s, 50000, (const char *[]){"- " DW D11 " (drained: no live connection)", NULL}, NULL);
	sim_step(&s, 60000, (const char *[]){NULL}, NULL);
	built_free(&s.b);
}

static void test_sim_dest_timeout_then_back(void **state) {
	struct sim s = {0};
	sim_start_d11_drain(&s, 10);
	sim_step(&s, 11000, (const char *[]){"- " DW D11 " (drain timed out: 2 active connections)",
					     NULL}, NULL);
	/* the config brings it back: an add, nothing to cancel */
	sim_set_desired(&s, WEB " wrr d10 | " D10 ", " D11 " w3");
	sim_step(&s, 12000, (const char *[]){"+ " DW D11 " weight 3 nat", NULL}, NULL);
	built_free(&s.b);
}

static void test_sim_cancel_and_restart(void **state) {
	struct sim s = {0};
	sim_start_d11_drain(&s, 60);
	/* back in the config: the drain is cancelled */
	sim_set_desired(&s, WEB " wrr d60 | " D10 ", " D11 " w3");
	sim_step(&s, 5000, (const char *[]){"~ " DW D11 ": weight 0 -> 3 (drain cancelled)", NULL}, NULL);
	/* and out again: a new drain, from now */
	sim_set_desired(&s, WEB " wrr d60 | " D10);
	set_conns(sim_dest(&s, K_WEB, D11), 1, 0);
	sim_step(&s, 9000, (const char *[]){"~ drain " DW D11 ": weight 3 -> 0, 1 active connection, "
					    "timeout 60s", NULL},
		 K_WEB " " D11 " 9000 60000");
	built_free(&s.b);
}

static void test_sim_service_drain(void **state) {
	struct sim s = {.leaving_ms = 45000};
	build(&s.b, WEB " rr | " D10, K_WEB " rr | " D10 "; " K_OLD " rr | " D10 " w2 a1, " D11 " w1 a0",
	      K_WEB "; " K_OLD);
	sim_step(&s, 1000, (const char *[]){"~ drain " DOLD D10 ": weight 2 -> 0, 1 active connection, "
					    "timeout 45s",
					    "~ drain " DOLD D11 ": weight 1 -> 0, 0 active connections, "
					    "timeout 45s", NULL},
		 K_OLD " * 1000 45000");
	s.leaving_ms = 10000; /* the global drain_timeout changed: the running drain keeps 45s */
	sim_step(&s, 20000, (const char *[]){NULL}, K_OLD " * 1000 45000");
	sim_step(&s, 45999, (const char *[]){NULL}, K_OLD " * 1000 45000");
	sim_step(&s, 46000, (const char *[]){"- service tcp 10.0.0.9:80 (drain timed out: 1 live "
					     "connection)", NULL}, NULL);
	sim_step(&s, 47000, (const char *[]){NULL}, NULL);
	assert_int_equal(s.b.actual.n, 1);
	built_free(&s.b);
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
	struct lb_plan_ctx ctx = {.owned = &owned};
	assert_int_equal(lb_plan_build(&desired, &actual, &ctx, &p), 0);
	for (size_t i = 0; i < p.n; i++)
		got[p.ops[i].kind]++;
	for (int k = 0; k < 6; k++)
		assert_int_equal(got[k], want[k]);
	print_message("  random 200x50: %zu ops (add svc %zu, edit svc %zu, del svc %zu, add dest %zu, "
		      "edit dest %zu, del dest %zu)\n",
		      p.n, got[0], got[1], got[2], got[3], got[4], got[5]);
	assert_true(got[LB_OP_DEL_SVC] > 0 && got[LB_OP_EDIT_DEST] > 0 && got[LB_OP_DEL_DEST] > 0);
	check_plan_properties(&desired, &actual, &ctx, &p);
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
	assert_int_equal(lb_plan_build(&desired, &actual, &(struct lb_plan_ctx){.owned = &owned}, &p), 0);
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


/* ---- drains at random, against a model ----
 * The drain rules written out once more, as plainly as possible and independently of the
 * planner's structure; random tables, records and clocks over several passes (each plan applied,
 * connections closing, time going on) must give exactly the model's drain ops and record. */

struct mop {
	enum lb_op_kind kind;
	struct lb_svc_key svc;
	struct lb_addr dest; /* af 0 for DEL_SVC */
	enum lb_drain_evt evt;
	int64_t since;       /* for evt != NONE */
};

struct model {
	struct mop *ops;
	size_t n, cap;
	struct lb_drains rec;
};

static void mpush(struct model *m, enum lb_op_kind kind, const struct lb_svc_key *svc,
		  const struct lb_addr *dest, enum lb_drain_evt evt, int64_t since) {
	assert_int_equal(GROW(m->ops, m->cap, m->n + 1), 0);
	struct mop *o = &m->ops[m->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->svc = *svc;
	if (dest)
		o->dest = *dest;
	o->evt = evt;
	o->since = since;
}

static void mrecord(struct model *m, const struct lb_svc_key *svc, const struct lb_addr *dest,
		    int64_t since, uint32_t timeout) {
	struct lb_drain e;
	memset(&e, 0, sizeof(e));
	e.svc = *svc;
	if (dest)
		e.dest = *dest;
	e.since_ms = since;
	e.timeout_ms = timeout;
	assert_int_equal(lb_drains_put(&m->rec, &e), 0);
}

static bool model_live(const struct lb_dest *d, uint16_t proto) {
	if (!d->conns_known)
		return true;
	return d->active > 0 || (proto == IPPROTO_UDP && d->inactive > 0);
}

/* A start in the future restarts the drain from now. */
static int64_t model_since(const struct lb_drain *r, int64_t now) {
	return r && r->since_ms <= now ? r->since_ms : now;
}

static bool model_timed_out(const struct lb_drain *r, uint32_t timeout, int64_t now) {
	return now - model_since(r, now) >= (int64_t)timeout;
}

static bool model_failed(const struct lb_service *w, const struct lb_addr *a) {
	for (size_t i = 0; i < w->n_failed; i++)
		if (lb_addr_cmp(&w->failed[i], a) == 0)
			return true;
	return false;
}

static bool model_differs(const struct lb_dest *a, const struct lb_dest *b) {
	return a->weight != b->weight || a->fwd != b->fwd || a->u_thresh != b->u_thresh ||
	       a->l_thresh != b->l_thresh || a->tun_type != b->tun_type ||
	       a->tun_port != b->tun_port || a->tun_flags != b->tun_flags;
}

static void model_carry(struct model *m, const struct lb_svc_key *k, const struct lb_drains *rec) {
	for (size_t i = 0; i < rec->n; i++)
		if (lb_svc_key_cmp(&rec->v[i].svc, k) == 0)
			assert_int_equal(lb_drains_put(&m->rec, &rec->v[i]), 0);
}

/* One desired service against the kernel's. */
static void model_desired(struct model *m, const struct lb_service *w, const struct lb_service *h,
			  const struct lb_plan_ctx *ctx) {
	uint16_t proto = w->key.proto;
	if (h->dests_unknown) {
		model_carry(m, &w->key, ctx->drains);
		return;
	}
	for (size_t j = 0; j < h->n_dests; j++) { /* edits that cancel a drain */
		const struct lb_dest *hd = &h->dests[j], *wd = lb_service_find_dest(w, &hd->addr);
		const struct lb_drain *r = lb_drains_find(ctx->drains, &w->key, &hd->addr);
		if (!r) /* the whole service drained and came back */
			r = lb_drains_find(ctx->drains, &w->key, NULL);
		if (wd && r && model_differs(wd, hd))
			mpush(m, LB_OP_EDIT_DEST, &w->key, &hd->addr, LB_DRAIN_CANCEL, r->since_ms);
	}
	for (int pass = 0; pass < 2; pass++) /* drains, then deletes */
		for (size_t j = 0; j < h->n_dests; j++) {
			const struct lb_dest *hd = &h->dests[j];
			if (lb_service_find_dest(w, &hd->addr))
				continue;
			const struct lb_drain *r = lb_drains_find(ctx->drains, &w->key, &hd->addr);
			bool live = model_live(hd, proto);
			uint32_t t = w->drain_timeout_ms;
			enum lb_drain_evt del = LB_DRAIN_NONE;
			bool drains = false;
			if (model_failed(w, &hd->addr))
				del = LB_DRAIN_NONE;
			else if (!r)
				drains = live && t > 0;
			else if (!live)
				del = LB_DRAIN_IDLE;
			else if (model_timed_out(r, t, ctx->now_ms))
				del = LB_DRAIN_TIMEOUT;
			else
				drains = true;
			int64_t since = model_since(r, ctx->now_ms);
			if (pass == 0 && drains && hd->weight > 0)
				mpush(m, LB_OP_DRAIN_DEST, &w->key, &hd->addr, LB_DRAIN_START, since);
			if (pass == 1 && drains)
				mrecord(m, &w->key, &hd->addr, since, t);
			if (pass == 1 && !drains)
				mpush(m, LB_OP_DEL_DEST, &w->key, &hd->addr, del,
				      r && !model_failed(w, &hd->addr) ? since : 0);
		}
}

/* An owned service that left the config. */
static void model_leaving(struct model *m, const struct lb_service *h, const struct lb_plan_ctx *ctx) {
	if (h->dests_unknown) {
		model_carry(m, &h->key, ctx->drains);
		return;
	}
	const struct lb_drain *r = lb_drains_find(ctx->drains, &h->key, NULL);
	bool live = false;
	for (size_t j = 0; j < h->n_dests; j++)
		live |= model_live(&h->dests[j], h->key.proto);
	uint32_t t = r ? r->timeout_ms : ctx->leaving_drain_ms;
	if (!r && !(live && t > 0)) {
		mpush(m, LB_OP_DEL_SVC, &h->key, NULL, LB_DRAIN_NONE, 0);
		return;
	}
	if (r && (!live || model_timed_out(r, t, ctx->now_ms))) {
		mpush(m, LB_OP_DEL_SVC, &h->key, NULL, !live ? LB_DRAIN_IDLE : LB_DRAIN_TIMEOUT,
		      model_since(r, ctx->now_ms));
		return;
	}
	int64_t since = model_since(r, ctx->now_ms);
	for (size_t j = 0; j < h->n_dests; j++)
		if (h->dests[j].weight > 0)
			mpush(m, LB_OP_DRAIN_DEST, &h->key, &h->dests[j].addr, LB_DRAIN_START, since);
	mrecord(m, &h->key, NULL, since, t);
}

static void model_plan(const struct lb_table *desired, const struct lb_table *actual,
		       const struct lb_plan_ctx *ctx, struct model *m) {
	for (size_t i = 0; i < desired->n; i++) {
		const struct lb_service *h = lb_table_find(actual, &desired->svcs[i].key);
		if (h)
			model_desired(m, &desired->svcs[i], h, ctx);
	}
	for (size_t i = 0; i < actual->n; i++) {
		const struct lb_service *h = &actual->svcs[i];
		if (!lb_table_find(desired, &h->key) && lb_owned_has(ctx->owned, &h->key))
			model_leaving(m, h, ctx);
	}
}

/* The plan's ops that the model predicts: drains, deletes, and edits that cancel a drain. */
static void assert_matches_model(const struct lb_plan *p, const struct model *m) {
	size_t k = 0;
	char line[LB_OP_STRLEN];
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_op *op = &p->ops[i];
		if (op->kind != LB_OP_DRAIN_DEST && op->kind != LB_OP_DEL_DEST &&
		    op->kind != LB_OP_DEL_SVC && op->drain != LB_DRAIN_CANCEL)
			continue;
		if (k >= m->n)
			fail_msg("unexpected op: %s", lb_op_fmt(op, line, sizeof(line)));
		const struct mop *o = &m->ops[k++];
		if (op->kind != o->kind || lb_svc_key_cmp(&op->svc->key, &o->svc) != 0 ||
		    (op->dest ? lb_addr_cmp(&op->dest->addr, &o->dest) != 0 : o->dest.af != 0) ||
		    op->drain != o->evt || (o->evt != LB_DRAIN_NONE && op->drain_since_ms != o->since)) {
			char key[LB_SVC_KEYSTRLEN], a[LB_ADDRSTRLEN];
			fail_msg("op %zu: %s (drain %d since %lld); model: kind %d %s %s drain %d since %lld",
				 i, lb_op_fmt(op, line, sizeof(line)), op->drain,
				 (long long)op->drain_since_ms, o->kind, lb_svc_key_fmt(&o->svc, key, sizeof(key)),
				 o->dest.af ? lb_addr_fmt(&o->dest, a) : "*", o->evt, (long long)o->since);
		}
	}
	assert_int_equal(k, m->n);
	char x[16384], y[16384];
	assert_string_equal(drains_fmt(&p->drains, x, sizeof(x)), drains_fmt(&m->rec, y, sizeof(y)));
}

static const uint32_t timeouts[] = {0, 10000, 60000};

static void random_conns(struct lb_dest *d) {
	d->conns_known = rnd(4) != 0;
	d->active = d->conns_known && rnd(2) ? rnd(3) : 0;
	d->inactive = d->conns_known && rnd(2) ? rnd(3) : 0;
}

static void random_entry(struct lb_drains *rec, const struct lb_svc_key *k, const struct lb_addr *a,
			 int64_t now) {
	struct lb_drain e;
	memset(&e, 0, sizeof(e));
	e.svc = *k;
	if (a)
		e.dest = *a;
	e.since_ms = now - (int64_t)rnd(90000) + (rnd(10) == 0 ? 200000 : 0); /* some in the future */
	e.timeout_ms = timeouts[rnd(3)];
	assert_int_equal(lb_drains_put(rec, &e), 0);
}

/* Services of every fate: desired (destinations kept, edited, dropped, failed, added), leaving
 * owned, foreign, destinations not read; and record entries for some of everything, stale ones
 * included. */
static void build_random_drains(struct lb_table *desired, struct lb_table *actual,
				struct lb_owned *owned, struct lb_drains *rec, uint32_t n_svcs,
				int64_t now) {
	for (uint32_t i = 0; i < n_svcs; i++) {
		struct lb_service *h = lb_table_add_service(actual);
		assert_non_null(h);
		make_key(&h->key, i);
		strcpy(h->sched, "wrr");
		h->netmask = 0xffffffffu;
		uint32_t fate = rnd(10); /* 0-1 leaving, 2 foreign, 3 not read (desired), 4 not read */
		h->dests_unknown = fate == 3 || fate == 4;
		for (uint32_t j = 0, n = h->dests_unknown ? 0 : rnd(8); j < n; j++) {
			struct lb_dest *d = lb_service_add_dest(h);
			assert_non_null(d);
			make_dest(d, i, j);
			d->weight = rnd(4);
			random_conns(d);
			if (rnd(3) == 0)
				random_entry(rec, &h->key, &d->addr, now);
		}
		if (rnd(3) == 0)
			random_entry(rec, &h->key, NULL, now);
		if (rnd(8) == 0) { /* a destination gone from the kernel */
			struct lb_dest gone;
			make_dest(&gone, i, 77);
			random_entry(rec, &h->key, &gone.addr, now);
		}
		if (fate != 2)
			assert_int_equal(lb_owned_add(owned, &h->key), 0);
		if (fate <= 2 || fate == 4)
			continue;
		struct lb_service *w = lb_table_add_service(desired);
		assert_non_null(w);
		*w = *h;
		w->dests = NULL;
		w->n_dests = w->cap_dests = 0;
		w->dests_unknown = false;
		w->drain_timeout_ms = timeouts[rnd(3)];
		for (size_t j = 0; j < h->n_dests; j++) {
			uint32_t m = rnd(6);
			if (m <= 1)
				continue;
			if (m == 2) {
				assert_int_equal(lb_service_add_failed(w, &h->dests[j].addr), 0);
				continue;
			}
			struct lb_dest *d = lb_service_add_dest(w);
			assert_non_null(d);
			*d = h->dests[j];
			d->conns_known = false;
			d->active = d->inactive = 0;
			if (m == 3)
				d->weight = 1 + rnd(3);
		}
		if (rnd(3) == 0) {
			struct lb_dest *d = lb_service_add_dest(w);
			assert_non_null(d);
			make_dest(d, i, 50 + rnd(3));
		}
	}
	lb_table_sort(desired);
	lb_table_sort(actual);
}

/* Between passes connections close (and a few open), and someone raises a weight now and then. */
static void random_traffic(struct lb_table *t) {
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->svcs[i].n_dests; j++) {
			struct lb_dest *d = &t->svcs[i].dests[j];
			uint32_t m = rnd(6);
			if (m == 0)
				d->active = d->inactive = 0, d->conns_known = true;
			else if (m == 1 && d->active)
				d->active--;
			else if (m == 2 && d->conns_known)
				d->inactive += rnd(2);
			else if (m == 3 && rnd(8) == 0)
				d->weight = 1 + rnd(3);
		}
}

static void test_random_drains(void **state) {
	size_t totals[LB_DRAIN_CANCEL + 1] = {0}, n_ops = 0;
	for (uint32_t seed = 1; seed <= 30; seed++) {
		struct lb_table desired = {0}, actual = {0};
		struct lb_owned owned = {0};
		struct lb_drains rec = {0};
		int64_t now = 1000000;
		rng_state = seed;
		build_random_drains(&desired, &actual, &owned, &rec, 60, now);
		for (int pass = 0; pass < 6; pass++) {
			struct lb_plan p = {0};
			struct model m = {0};
			struct lb_table applied = {0};
			struct lb_plan_ctx ctx = {&owned, &rec, now, timeouts[rnd(3)]};
			assert_int_equal(lb_plan_build(&desired, &actual, &ctx, &p), 0);
			model_plan(&desired, &actual, &ctx, &m);
			assert_matches_model(&p, &m);
			check_plan_properties(&desired, &actual, &ctx, &p);
			for (size_t i = 0; i < p.n; i++)
				totals[p.ops[i].drain]++;
			n_ops += p.n;
			apply_plan(&actual, &p, &applied);
			lb_table_clear(&actual);
			actual = applied;
			assert_int_equal(lb_drains_copy(&rec, &p.drains), 0);
			random_traffic(&actual);
			now += rnd(40000);
			free(m.ops);
			lb_drains_free(&m.rec);
			lb_plan_free(&p);
		}
		lb_table_clear(&desired);
		lb_table_clear(&actual);
		lb_owned_free(&owned);
		lb_drains_free(&rec);
	}
	print_message("  %zu ops: %zu drains started, %zu ended idle, %zu timed out, %zu cancelled\n",
		      n_ops, totals[LB_DRAIN_START], totals[LB_DRAIN_IDLE], totals[LB_DRAIN_TIMEOUT],
		      totals[LB_DRAIN_CANCEL]);
	/* the generator must reach every event, or the comparison proves little */
	for (int e = LB_DRAIN_START; e <= LB_DRAIN_CANCEL; e++)
		assert_true(totals[e] > 0);
}

int main(void) {
	static const struct CMUnitTest more[] = {
		cmocka_unit_test(test_op_pointers),
		cmocka_unit_test(test_drain_op_pointers),
		cmocka_unit_test(test_plan_service_drains),
		cmocka_unit_test(test_fmt_edges),
		cmocka_unit_test(test_sim_dest_drain),
		cmocka_unit_test(test_sim_dest_timeout_then_back),
		cmocka_unit_test(test_sim_cancel_and_restart),
		cmocka_unit_test(test_sim_service_drain),
		cmocka_unit_test(test_random_large),
		cmocka_unit_test(test_random_drains),
		cmocka_unit_test(test_scale),
	};
	struct CMUnitTest tests[ARRAY_SIZE(cases) + ARRAY_SIZE(more)];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
	for (size_t i = 0; i < ARRAY_SIZE(more); i++)
		tests[n++] = more[i];
	return _cmocka_run_group_tests("reconcile", tests, n, NULL, NULL);
}
