/* The health-check engine: targets, schedule, verdicts, logging (semantics in include/health.h).
 *
 * Each target embeds one loop timer and one probe. The timer means "next probe due" while the
 * target is idle and "deadline" while a probe runs (timeout < interval), so 10k targets are 10k
 * heap entries and the steady state allocates nothing. Targets are kept in an array sorted by key
 * (kind, address, settings): lookups are binary searches and a sync is one merge. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "log.h"
#include "verdict.h"

#define LATE_BUCKET_USEC 100ULL /* lateness histogram: 100 us buckets up to 100 ms */
#define LATE_BUCKETS 1000
#define SKIP_LOG_USEC (10 * USEC_PER_SEC)

struct tkey {
	const struct lb_check_ops *ops;
	struct lb_addr addr;
	uint32_t interval_ms, timeout_ms, fail_count, rise_count;
	bool initial_up;
};

/* One (service, backend) pair of the config that uses a target. */
struct want {
	struct tkey key;
	size_t pos; /* order in the config, so refs keep the config's order */
	const struct lb_service_conf *svc;
	const struct lb_backend_conf *be;
};

struct target {
	struct tkey key;
	struct lb_verdict v;
	const char *reason;   /* of the last failure */
	usec_t due;           /* the scheduled probe: next one, or the one running */
	usec_t started;
	bool running, decisive, queued;
	struct lb_timer timer;
	struct lb_probe probe;
	const struct want *refs; /* slice of h->wants */
	size_t n_refs;
	struct lb_health_mgr *h;
};

struct lb_health_mgr {
	struct lb_loop *loop;
	lb_health_change_fn on_change;
	void *userdata;
	const struct lb_check_ops *const *kinds;
	size_t n_kinds;

	struct target **targets; /* sorted by key */
	size_t n_targets;
	struct want *wants;      /* sorted by key; the targets' refs */

	/* Decisive round (lb_health_probe_all). */
	struct target **queue;
	size_t n_queue, cap_queue, i_queue, round_running, round_max;
	bool pumping;

	size_t in_flight;
	uint64_t probes, failures, skipped, skipped_unlogged;
	usec_t last_skip_log;
	uint64_t late[LATE_BUCKETS + 1];
	usec_t late_max;
};

static void on_timer(struct lb_loop *l, struct lb_timer *tm, void *userdata);

const char *lb_health_name(enum lb_health s) {
	switch (s) {
	case LB_HEALTH_UP: return "up";
	case LB_HEALTH_DOWN: return "down";
	default: return "unknown";
	}
}

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
	return 0;
}
#undef CMP_FIELD

static const struct lb_check_ops *kind_of(const struct lb_health_mgr *h,
					  const struct lb_service_conf *svc) {
	if (!svc->check.enabled)
		return NULL;
	return lb_check_kind(h->kinds, h->n_kinds, svc->protocol);
}

static bool make_key(const struct lb_health_mgr *h, const struct lb_service_conf *svc,
		     const struct lb_backend_conf *be, struct tkey *k) {
	const struct lb_check_ops *ops = kind_of(h, svc);
	if (!ops)
		return false;
	const struct lb_check_conf *c = &svc->check;
	*k = (struct tkey){.ops = ops, .addr = be->addr, .interval_ms = c->interval_ms,
			   .timeout_ms = c->timeout_ms, .fail_count = c->fail_count,
			   .rise_count = c->rise_count, .initial_up = c->initial_up};
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

static enum lb_health effective(const struct target *t) {
	return lb_verdict_effective(&t->v, t->key.initial_up);
}

/* --- transitions --- */

/* "3 failures: connection refused", "2 successes". */
static const char *detail(const struct target *t, enum lb_health to, char *buf, size_t len) {
	if (t->v.n_fail == 0 && t->v.n_ok == 0)
		snprintf(buf, len, "not probed yet");
	else if (to == LB_HEALTH_DOWN)
		snprintf(buf, len, "%u failure%s: %s", t->v.n_fail, t->v.n_fail == 1 ? "" : "s",
			 t->reason ? t->reason : "unknown");
	else
		snprintf(buf, len, "%u success%s", t->v.n_ok, t->v.n_ok == 1 ? "" : "es");
	return buf;
}

/* Log once per service and notify, if what the target counts as changed; else, when an UNKNOWN
 * target got its first verdict, say so quietly. */
static void report(struct target *t, enum lb_health before, bool raw_changed, bool was_unknown) {
	enum lb_health now = effective(t);
	if (now == before && !(raw_changed && was_unknown))
		return;
	int prio = now != before ? (now == LB_HEALTH_DOWN ? LOG_WARNING : LOG_NOTICE)
				 : (now == LB_HEALTH_DOWN ? LOG_INFO : LOG_DEBUG);
	const char *from = now != before ? lb_health_name(before) : "unknown";
	char addr[LB_ADDRSTRLEN], why[128];
	lb_addr_fmt(&t->key.addr, addr);
	detail(t, now, why, sizeof(why));
	for (size_t i = 0; i < t->n_refs; i++)
		log_full(prio, t->refs[i].svc->name, addr, "%s %s %s -> %s (%s)", t->refs[i].svc->name,
			 addr, from, lb_health_name(now), why);
	if (now == before || !t->h->on_change)
		return;
	for (size_t i = 0; i < t->n_refs; i++)
		t->h->on_change(t->h, t->refs[i].svc, t->refs[i].be, now, t->h->userdata);
}

/* --- scheduling --- */

/* Next due time: one interval after the previous one (no drift), skipping rounds the loop missed. */
static void schedule_next(struct target *t, bool advance) {
	usec_t iv = (usec_t)t->key.interval_ms * USEC_PER_MSEC, now = now_usec(CLOCK_MONOTONIC);
	if (iv == 0)
		iv = USEC_PER_MSEC;
	if (advance)
		t->due += iv;
	if (t->due <= now)
		t->due += ((now - t->due) / iv + 1) * iv;
	(void)lb_timer_arm(t->h->loop, &t->timer, t->due); /* room reserved at sync */
}

static void record_lateness(struct lb_health_mgr *h, usec_t late) {
	size_t b = late / LATE_BUCKET_USEC;
	h->late[b < LATE_BUCKETS ? b : LATE_BUCKETS]++;
	if (late > h->late_max)
		h->late_max = late;
}

static void start_probe(struct target *t) {
	struct lb_health_mgr *h = t->h;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	t->running = true;
	t->started = now;
	h->in_flight++;
	t->probe.loop = h->loop;
	t->probe.addr = &t->key.addr;
	t->probe.timeout_ms = t->key.timeout_ms;
	t->probe.fd = -1;
	(void)lb_timer_arm(h->loop, &t->timer, now + (usec_t)t->key.timeout_ms * USEC_PER_MSEC);
	t->key.ops->start(&t->probe); /* may end the probe before returning */
}

static void round_pump(struct lb_health_mgr *h);

/* Bookkeeping common to every end of a probe; returns whether it was part of a decisive round.
 * The timer (the probe's deadline) stays armed: the caller moves it to the next due time. */
static bool probe_end(struct target *t) {
	bool decisive = t->decisive;
	t->running = false;
	t->decisive = false;
	t->h->in_flight--;
	if (decisive)
		t->h->round_running--;
	return decisive;
}

void lb_probe_done(struct lb_probe *p, bool ok, const char *reason) {
	struct target *t = (struct target *)((char *)p - offsetof(struct target, probe));
	struct lb_health_mgr *h = t->h;
	if (!t->running)
		return;
	bool decisive = probe_end(t);
	h->probes++;
	if (!ok) {
		h->failures++;
		t->reason = reason ? reason : "failed";
	}
	enum lb_health before = effective(t);
	bool was_unknown = t->v.state == LB_HEALTH_UNKNOWN;
	bool changed = decisive ? lb_verdict_decide(&t->v, ok)
				: lb_verdict_step(&t->v, ok, t->key.fail_count, t->key.rise_count);
	schedule_next(t, !decisive);
	report(t, before, changed, was_unknown);
	if (decisive)
		round_pump(h);
}

void lb_probe_abort(struct lb_probe *p, int err) {
	struct target *t = (struct target *)((char *)p - offsetof(struct target, probe));
	struct lb_health_mgr *h = t->h;
	if (!t->running)
		return;
	bool decisive = probe_end(t);
	h->skipped++;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (h->last_skip_log == 0 || now - h->last_skip_log >= SKIP_LOG_USEC) {
		char addr[LB_ADDRSTRLEN];
		log_warn("health check of %s not run: %s (%" PRIu64 " more skipped since the last report)",
			 lb_addr_fmt(&t->key.addr, addr), strerror(err), h->skipped_unlogged);
		h->last_skip_log = now;
		h->skipped_unlogged = 0;
	} else {
		h->skipped_unlogged++;
	}
	schedule_next(t, !decisive);
	if (decisive)
		round_pump(h);
}

static void expire_probe(struct target *t) {
	const struct lb_check_ops *ops = t->key.ops;
	if (ops->expire) {
		ops->expire(&t->probe);
		return;
	}
	ops->cancel(&t->probe);
	lb_probe_done(&t->probe, false, "timeout");
}

static void on_timer(struct lb_loop *l, struct lb_timer *tm, void *userdata) {
	struct target *t = userdata;
	if (t->running) {
		expire_probe(t);
		return;
	}
	usec_t now = now_usec(CLOCK_MONOTONIC);
	record_lateness(t->h, now > t->due ? now - t->due : 0);
	start_probe(t);
}

/* Stop whatever the target is doing, without a result. */
static void target_stop(struct target *t) {
	if (t->running) {
		t->key.ops->cancel(&t->probe);
		probe_end(t);
	}
	lb_timer_cancel(t->h->loop, &t->timer);
}

static void target_free(struct target *t) {
	if (!t)
		return;
	target_stop(t);
	if (t->queued)
		for (size_t i = t->h->i_queue; i < t->h->n_queue; i++)
			if (t->h->queue[i] == t)
				t->h->queue[i] = NULL;
	free(t);
}

/* --- decisive round --- */

static size_t round_limit(void) {
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 4096;
	size_t n = rl.rlim_cur / 2; /* leave the other half to the rest of the process */
	return n < 16 ? 16 : n > 16384 ? 16384 : n;
}

/* Start queued probes while there is room. Probes may end inside start_probe() and call this
 * again: the guard keeps that from recursing once per target. */
static void round_pump(struct lb_health_mgr *h) {
	if (h->pumping)
		return;
	h->pumping = true;
	while (h->round_running < h->round_max && h->i_queue < h->n_queue) {
		struct target *t = h->queue[h->i_queue++];
		if (!t)
			continue;
		t->queued = false;
		t->decisive = true;
		h->round_running++;
		start_probe(t);
	}
	if (h->i_queue == h->n_queue)
		h->n_queue = h->i_queue = 0;
	h->pumping = false;
}

int lb_health_probe_all(struct lb_health_mgr *h) {
	if (lb_health_round_pending(h))
		return -EBUSY;
	if (h->n_targets > 0 && GROW(h->queue, h->cap_queue, h->n_targets) < 0)
		return -ENOMEM;
	h->round_max = round_limit();
	h->n_queue = h->i_queue = 0;
	for (size_t i = 0; i < h->n_targets; i++) {
		struct target *t = h->targets[i];
		if (t->queued || t->decisive)
			continue;
		if (t->running) { /* its result decides */
			t->decisive = true;
			h->round_running++;
			continue;
		}
		lb_timer_cancel(h->loop, &t->timer);
		t->queued = true;
		h->queue[h->n_queue++] = t;
	}
	round_pump(h);
	return 0;
}

bool lb_health_round_pending(const struct lb_health_mgr *h) {
	return h->round_running > 0 || h->i_queue < h->n_queue;
}

int lb_health_run_round(struct lb_health_mgr *h) {
	int r = lb_health_probe_all(h);
	while (r >= 0 && lb_health_round_pending(h))
		r = lb_loop_run_once(h->loop, -1);
	return r < 0 ? r : 0;
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
		if (svc->check.enabled && svc->n_backends > 0 && !kind_of(h, svc))
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

static struct target *target_new(struct lb_health_mgr *h, const struct tkey *k) {
	struct target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = *k;
	t->h = h;
	t->probe.fd = -1;
	lb_timer_init(&t->timer, on_timer, t);
	return t;
}

/* Everything that can fail, before anything changes. */
static int sync_prepare(struct lb_health_mgr *h, const struct want *w, struct slot *s, size_t ns,
			bool *taken) {
	match_existing(h, w, s, ns, taken);
	size_t n_fresh = 0;
	for (size_t i = 0; i < ns; i++) {
		if (s[i].t)
			continue;
		s[i].t = target_new(h, &w[s[i].first].key);
		if (!s[i].t)
			return -ENOMEM;
		s[i].fresh = true;
		n_fresh++;
	}
	return lb_loop_reserve_timers(h->loop, lb_loop_n_timers(h->loop) + n_fresh);
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
			bool *taken, struct target **targets) {
	usec_t now = now_usec(CLOCK_MONOTONIC);
	size_t n_fresh = 0, i_fresh = 0;
	for (size_t i = 0; i < h->n_targets; i++)
		if (!taken[i])
			target_free(h->targets[i]);
	for (size_t i = 0; i < ns; i++)
		n_fresh += s[i].fresh;
	for (size_t i = 0; i < ns; i++) {
		struct target *t = s[i].t;
		const struct tkey *k = &w[s[i].first].key;
		targets[i] = t;
		t->refs = &w[s[i].first];
		t->n_refs = s[i].n;
		s[i].before = effective(t);
		s[i].was_unknown = t->v.state == LB_HEALTH_UNKNOWN;
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
	/* Now that h is consistent, new thresholds or initial_up may change verdicts. */
	for (size_t i = 0; i < ns; i++)
		if (s[i].retuned) {
			struct target *t = s[i].t;
			bool changed = lb_verdict_settle(&t->v, t->key.fail_count, t->key.rise_count);
			report(t, s[i].before, changed, s[i].was_unknown);
		}
	round_pump(h);
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
	sync_commit(h, TAKE_PTR(w), s, ns, taken, TAKE_PTR(targets));
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
	return effective(t);
}

bool lb_health_checked(const struct lb_service_conf *svc) {
	return svc->check.enabled && lb_check_kind(lb_check_kinds, lb_check_n_kinds, svc->protocol);
}

static usec_t late_percentile(const struct lb_health_mgr *h, uint64_t total, double q) {
	uint64_t want = (uint64_t)(q * (double)total + 0.5), seen = 0;
	if (want == 0)
		want = 1;
	for (size_t b = 0; b < LATE_BUCKETS; b++) {
		seen += h->late[b];
		if (seen >= want)
			return (b + 1) * LATE_BUCKET_USEC;
	}
	return h->late_max;
}

void lb_health_get_stats(const struct lb_health_mgr *h, struct lb_health_stats *out) {
	*out = (struct lb_health_stats){.targets = h->n_targets, .in_flight = h->in_flight,
					 .probes = h->probes, .failures = h->failures,
					 .skipped = h->skipped, .late_max = h->late_max};
	for (size_t i = 0; i < h->n_targets; i++) {
		enum lb_health st = h->targets[i]->v.state;
		out->up += st == LB_HEALTH_UP;
		out->down += st == LB_HEALTH_DOWN;
		out->unknown += st == LB_HEALTH_UNKNOWN;
	}
	uint64_t total = 0;
	for (size_t b = 0; b <= LATE_BUCKETS; b++)
		total += h->late[b];
	if (total) {
		out->late_p50 = late_percentile(h, total, 0.50);
		out->late_p99 = late_percentile(h, total, 0.99);
	}
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

/* --- life cycle --- */

int lb_health_new(struct lb_loop *loop, lb_health_change_fn on_change, void *userdata,
		  struct lb_health_mgr **ret) {
	struct lb_health_mgr *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->on_change = on_change;
	h->userdata = userdata;
	h->kinds = lb_check_kinds;
	h->n_kinds = lb_check_n_kinds;
	*ret = h;
	return 0;
}

void lb_health_set_kinds(struct lb_health_mgr *h, const struct lb_check_ops *const *kinds, size_t n) {
	h->kinds = kinds;
	h->n_kinds = n;
}

void lb_health_free(struct lb_health_mgr *h) {
	if (!h)
		return;
	for (size_t i = 0; i < h->n_targets; i++)
		target_free(h->targets[i]);
	free(h->targets);
	free(h->wants);
	free(h->queue);
	free(h);
}
