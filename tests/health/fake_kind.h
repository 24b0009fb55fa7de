/* A fake check kind for the engine tests: probes start into F.pending and end when a test says
 * so (complete), so a test drives every result and every timing by hand. Include once per test
 * program, after health_test.h. */
#pragma once
#include "loop.h"
#include "../../src/health/check.h"


#define MAXP 64
static struct fake {
	struct lb_probe *pending[MAXP];
	int n_pending, starts, cancels;
	struct { struct lb_addr addr; usec_t at; } started[256];
} F;

static void fake_start(struct lb_probe *p) {
	assert_true(F.n_pending < MAXP);
	F.pending[F.n_pending++] = p;
	if (F.starts < 256)
		F.started[F.starts] = (typeof(F.started[0])){*p->addr, now_usec(CLOCK_MONOTONIC)};
	F.starts++;
}

static void unpend(struct lb_probe *p) {
	for (int i = 0; i < F.n_pending; i++)
		if (F.pending[i] == p) {
			F.pending[i] = F.pending[--F.n_pending];
			return;
		}
	fail_msg("probe not pending");
}

static void fake_cancel(struct lb_probe *p) {
	unpend(p);
	F.cancels++;
}

static const struct lb_check_ops fake_tcp = {
	.name = "fake", .type = LB_CHECK_TCP, .start = fake_start, .cancel = fake_cancel};
static const struct lb_check_ops *const fake_kinds[] = {&fake_tcp};

struct changes {
	int n;
	const char *svc[16];
	enum lb_health state[16];
};

static void on_change(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health st, void *ud) {
	struct changes *c = ud;
	assert_true(c->n < 16);
	c->svc[c->n] = svc->name;
	c->state[c->n++] = st;
}

struct fx {
	struct lb_loop *l;
	struct lb_health_mgr *h;
	struct changes ch;
	struct lb_config cfg;
};

static void fx_init(struct fx *fx) {
	memset(&F, 0, sizeof(F));
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(lb_loop_new(&fx->l), 0);
	assert_int_equal(lb_health_new(fx->l, on_change, &fx->ch, &fx->h), 0);
	lb_health_set_kinds(fx->h, fake_kinds, 1);
}

static void fx_free(struct fx *fx) {
	lb_health_free(fx->h);
	assert_int_equal(F.n_pending, 0); /* freeing cancelled every running probe */
	lb_loop_free(fx->l);
	free_conf(&fx->cfg);
}

/* Run the loop until a probe of addr is pending; return it. */
static struct lb_probe *wait_probe(struct fx *fx, const char *addr) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(addr, &a), 0);
	for (int turns = 0; turns < 10000; turns++) {
		for (int i = 0; i < F.n_pending; i++)
			if (lb_addr_cmp(F.pending[i]->addr, &a) == 0)
				return F.pending[i];
		assert_true(lb_loop_run_once(fx->l, -1) >= 0);
	}
	fail_msg("no probe of %s", addr);
	return NULL;
}

static void complete(struct lb_probe *p, bool ok, const char *reason) {
	unpend(p);
	lb_probe_done(p, ok, reason);
}

/* Feed results ('S', 'F' refused, 'T' timeout) to the one backend of svc; return the log. */
static char *feed(struct fx *fx, const char *addr, const char *results) {
	capture_start();
	for (size_t i = 0; results[i]; i++) {
		struct lb_probe *p = wait_probe(fx, addr);
		complete(p, results[i] == 'S',
			 results[i] == 'F' ? "connection refused" : results[i] == 'T' ? "timeout" : NULL);
	}
	return capture_take();
}

static enum lb_health state_of(struct fx *fx, size_t svc, size_t be) {
	return lb_health_state(fx->h, &fx->cfg.services[svc], &fx->cfg.services[svc].backends[be]);
}
