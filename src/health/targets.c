/* Targets: keys, lookups, and lb_health_sync, which merges a config into the target set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"

/* --- keys --- */

static int ident_cmp(const struct tkey *a, const struct tkey *b) {
	if (a->ops != b->ops)
		return a->ops < b->ops ? -1 : 1;
	return lb_addr_cmp(&a->addr, &b->addr);
}

#define CMP_FIELD(f) if (a->f != b->f) return a->f < b->f ? -1 : 1
static int key_cmp(const struct tkey *a, const struct tkey *b) {
	int r = ident_cmp(a, b);
	if (r)
		return r;
	CMP_FIELD(interval_ms);
	CMP_FIELD(timeout_ms);
	CMP_FIELD(fail_count);
	CMP_FIELD(rise_count);
	CMP_FIELD(initial_up);
	CMP_FIELD(fast_interval_ms);
	if (a->ops->conf_cmp && (r = a->ops->conf_cmp(a->conf, b->conf)) != 0)
		return r;
	if (a->ops->per_service)
		return strcmp(a->svc->name, b->svc->name);
	return 0;
}
#undef CMP_FIELD

static const struct lb_check_ops *kind_of(const struct lb_health_mgr *h,
					  const struct lb_service_conf *svc) {
	enum lb_check_type type = lb_check_type_of(&svc->check, svc->protocol);
	return type == LB_CHECK_NONE ? NULL : lb_check_kind(h->kinds, h->n_kinds, type);
}

static bool make_key(const struct lb_health_mgr *h, const struct lb_service_conf *svc,
		     const struct lb_backend_conf *be, struct tkey *k) {
	const struct lb_check_ops *ops = kind_of(h, svc);
	if (!ops)
		return false;
	const struct lb_check_conf *c = &svc->check;
	*k = (struct tkey){.ops = ops, .addr = be->addr, .interval_ms = c->interval_ms,
			   .fast_interval_ms = c->fast_interval_ms, .timeout_ms = c->timeout_ms,
			   .fail_count = c->fail_count, .rise_count = c->rise_count,
			   .initial_up = c->initial_up, .conf = c, .svc = svc};
	if (c->port)
		k->addr.port = c->port;
	return true;
}

static struct target *find_target(const struct lb_health_mgr *h, const struct tkey *k) {
	size_t lo = 0, hi = h->n_targets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = key_cmp(&h->targets[mid]->key, k);
		if (r == 0)
			return h->targets[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- sync --- */

static int want_cmp(const void *a, const void *b) {
	const struct want *x = a, *y = b;
	int r = key_cmp(&x->key, &y->key);
	return r ? r : (x->pos > y->pos) - (x->pos < y->pos);
}

static int collect_wants(const struct lb_health_mgr *h, const struct lb_config *cfg,
			 struct want **ret, size_t *n_ret) {
	size_t n = 0, cap = 0;
	_cleanup_free_ struct want *w = NULL;
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service_conf *svc = &cfg->services[i];
		for (size_t j = 0; j < svc->n_backends && kind_of(h, svc); j++) {
			struct tkey k;
			make_key(h, svc, &svc->backends[j], &k);
			if (GROW(w, cap, n + 1) < 0)
				return -ENOMEM;
			w[n] = (struct want){.key = k, .pos = n, .svc = svc, .be = &svc->backends[j]};
			n++;
		}
		if (svc->check.enabled && svc->check.type == LB_CHECK_AUTO && svc->n_backends > 0 &&
		    !kind_of(h, svc))
			log_info("service %s: no health check for %s, its backends count as up",
				 svc->name, lb_proto_name(svc->protocol));
	}
	if (n)
		qsort(w, n, sizeof(*w), want_cmp);
	*ret = TAKE_PTR(w);
	*n_ret = n;
	return 0;
}

/* A desired target: a run of wants with one key, and the target that will serve it. */
struct slot {
	size_t first, n;      /* in wants */
	struct target *t;     /* an existing target taken over, or a fresh one */
	bool fresh, retuned;  /* retuned: existing target of this address with other settings */
	enum lb_health before;
	bool was_unknown;
};

static size_t build_slots(const struct want *w, size_t n, struct slot *s) {
	size_t ns = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || key_cmp(&w[i - 1].key, &w[i].key) != 0)
			s[ns++] = (struct slot){.first = i};
		s[ns - 1].n++;
	}
	return ns;
}

/* Give each slot an existing target of the same (kind, address): one with the same settings
 * first, else any other, which keeps its state and counters under the new settings. Both arrays
 * are sorted by key, so each (kind, address) group is one run in each. */
static void match_existing(struct lb_health_mgr *h, const struct want *w, struct slot *s, size_t ns,
			   bool *taken) {
	size_t j = 0;
	for (size_t a = 0; a < ns;) {
		const struct tkey *id = &w[s[a].first].key;
		size_t b = a;
		while (b < ns && ident_cmp(&w[s[b].first].key, id) == 0)
			b++;
		while (j < h->n_targets && ident_cmp(&h->targets[j]->key, id) < 0)
			j++;
		size_t k = j;
		while (k < h->n_targets && ident_cmp(&h->targets[k]->key, id) == 0)
			k++;
		for (int pass = 0; pass < 2; pass++)
			for (size_t x = a; x < b; x++)
				for (size_t y = j; y < k && !s[x].t; y++)
					if (!taken[y] && (pass == 1 ||
							  key_cmp(&h->targets[y]->key, &w[s[x].first].key) == 0)) {
						s[x].t = h->targets[y];
						s[x].retuned = pass == 1;
						taken[y] = true;
					}
		a = b;
		j = k;
	}
}

/* Everything that can fail, before anything changes. */
static int sync_prepare(struct lb_health_mgr *h, const struct want *w, struct slot *s, size_t ns,
			bool *taken) {
	match_existing(h, w, s, ns, taken);
	for (size_t i = 0; i < ns; i++) {
		if (s[i].t)
			continue;
		s[i].t = lb_hc_target_new(h, &w[s[i].first].key);
		if (!s[i].t)
			return -ENOMEM;
		s[i].fresh = true;
	}
	/* Room for every target's timer even if none is armed now: arming never fails after this. */
	return lb_loop_reserve_timers(h->loop, lb_loop_n_timers(h->loop) + ns);
}

/* New settings for a target that keeps its state: a new timeout applies to the running probe, a
 * new interval to the next due time (counted from the last probe). */
static void retune(struct target *t, const struct tkey *k, usec_t now) {
	usec_t old_iv = (usec_t)t->key.interval_ms * USEC_PER_MSEC;
	t->key = *k;
	if (t->queued)
		return;
	if (t->running) {
		(void)lb_timer_arm(t->h->loop, &t->timer,
				   t->started + (usec_t)k->timeout_ms * USEC_PER_MSEC);
		return;
	}
	usec_t last = t->due > old_iv ? t->due - old_iv : 0;
	t->due = last + (usec_t)k->interval_ms * USEC_PER_MSEC;
	if (t->due < now)
		t->due = now;
	(void)lb_timer_arm(t->h->loop, &t->timer, t->due);
}

static void sync_commit(struct lb_health_mgr *h, struct want *w, struct slot *s, size_t ns,
			bool *taken, struct target **targets, uint32_t max_limited) {
	usec_t now = now_usec(CLOCK_MONOTONIC);
	size_t n_fresh = 0, i_fresh = 0;
	for (size_t i = 0; i < h->n_targets; i++)
		if (!taken[i])
			lb_hc_target_free(h->targets[i]);
	for (size_t i = 0; i < ns; i++)
		n_fresh += s[i].fresh;
	for (size_t i = 0; i < ns; i++) {
		struct target *t = s[i].t;
		const struct tkey *k = &w[s[i].first].key;
		targets[i] = t;
		t->refs = &w[s[i].first];
		t->n_refs = s[i].n;
		s[i].before = lb_hc_effective(t);
		s[i].was_unknown = t->v.state == LB_HEALTH_UNKNOWN;
		lb_hc_target_rekey(t, k); /* equal settings, the new config's pointers */
		if (s[i].fresh) {
			/* First probes spread evenly over the interval; a lone new target goes now. */
			usec_t iv = (usec_t)k->interval_ms * USEC_PER_MSEC;
			t->due = now + iv * i_fresh++ / n_fresh;
			(void)lb_timer_arm(h->loop, &t->timer, t->due);
		} else if (s[i].retuned) {
			retune(t, k, now);
		}
	}
	free(h->targets);
	free(h->wants);
	h->targets = targets;
	h->n_targets = ns;
	h->wants = w;
	h->max_limited = max_limited;
	/* Now that h is consistent, new thresholds or initial_up may change verdicts. */
	for (size_t i = 0; i < ns; i++)
		if (s[i].retuned) {
			struct target *t = s[i].t;
			bool changed = lb_verdict_settle(&t->v, t->key.fail_count, t->key.rise_count);
			lb_hc_report(t, s[i].before, changed, s[i].was_unknown);
		}
	lb_hc_round_pump(h);
	lb_hc_limited_pump(h); /* slots freed by removed targets, or a higher max_exec_checks */
}

int lb_health_sync(struct lb_health_mgr *h, const struct lb_config *cfg) {
	_cleanup_free_ struct want *w = NULL;
	size_t nw = 0;
	int r = collect_wants(h, cfg, &w, &nw);
	if (r < 0)
		return r;
	_cleanup_free_ struct slot *s = calloc(nw ? nw : 1, sizeof(*s));
	_cleanup_free_ bool *taken = calloc(h->n_targets ? h->n_targets : 1, sizeof(*taken));
	_cleanup_free_ struct target **targets = calloc(nw ? nw : 1, sizeof(*targets));
	if (!s || !taken || !targets)
		return -ENOMEM;
	size_t ns = build_slots(w, nw, s);
	r = sync_prepare(h, w, s, ns, taken);
	if (r < 0) {
		for (size_t i = 0; i < ns; i++)
			if (s[i].fresh)
				free(s[i].t);
		return r;
	}
	sync_commit(h, TAKE_PTR(w), s, ns, taken, TAKE_PTR(targets),
		    cfg->max_exec_checks ? cfg->max_exec_checks : 64);
	return 0;
}

/* --- queries --- */

enum lb_health lb_health_state(const struct lb_health_mgr *h, const struct lb_service_conf *svc,
			       const struct lb_backend_conf *be) {
	struct tkey k;
	if (!make_key(h, svc, be, &k))
		return LB_HEALTH_UP;
	const struct target *t = find_target(h, &k);
	if (!t)
		return svc->check.initial_up ? LB_HEALTH_UP : LB_HEALTH_DOWN;
	return lb_hc_effective(t);
}

void lb_health_assume(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health state) {
	struct tkey k;
	struct target *t = make_key(h, svc, be, &k) ? find_target(h, &k) : NULL;
	if (t && t->v.state == LB_HEALTH_UNKNOWN)
		t->assumed = state;
}

bool lb_health_detail(const struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, struct lb_health_detail *out) {
	struct tkey k;
	const struct target *t = make_key(h, svc, be, &k) ? find_target(h, &k) : NULL;
	if (!t) {
		*out = (struct lb_health_detail){.state = lb_health_state(h, svc, be)};
		return false;
	}
	*out = (struct lb_health_detail){.checked = true, .raw = t->v.state,
					 .state = lb_hc_effective(t), .since_ms = t->since_ms,
					 .transitions = t->transitions,
					 .last_probe_ms = t->last_probe_ms};
	/* the probe keeps LB_PROBE_REASON_MAX bytes; observers get what fits */
	size_t n = strnlen(t->reason, sizeof(out->reason) - 1);
	memcpy(out->reason, t->reason, n);
	out->reason[n] = '\0';
	return true;
}

bool lb_health_checked(const struct lb_service_conf *svc) {
	enum lb_check_type type = lb_check_type_of(&svc->check, svc->protocol);
	return type != LB_CHECK_NONE && lb_check_kind(lb_check_kinds, lb_check_n_kinds, type);
}

void lb_health_count(const struct lb_health_mgr *h, const struct lb_config *cfg, size_t *up,
		     size_t *total) {
	*up = *total = 0;
	for (size_t i = 0; i < cfg->n_services; i++)
		for (size_t j = 0; j < cfg->services[i].n_backends; j++) {
			(*total)++;
			*up += lb_health_state(h, &cfg->services[i], &cfg->services[i].backends[j]) ==
			       LB_HEALTH_UP;
		}
}

