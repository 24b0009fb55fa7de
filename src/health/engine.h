/* The health engine's private data, shared by its files:
 *   run.c      one target's life: schedule, probe start and end, verdict, logging, and which
 *              waiting probe starts when a slot frees (limited kinds, the decisive round)
 *   round.c    the decisive round of `ezlb once`: queues every target, run.c starts them
 *   targets.c  keys, lookups, lb_health_sync and the per-backend queries
 *   health.c   creation, stats
 *   verdict.c  the pure state machine and the state names
 * Calls go one way: health.c, round.c and targets.c call run.c, which calls none of them back
 * (only verdict.c, observe.c and the kinds): the end of a probe, which frees a slot, starts the
 * next waiting one in the same file.
 * Each target embeds one loop timer and one probe. The timer means "next probe due" while the
 * target is idle and "deadline" while a probe runs (timeout < interval), so 10k targets are 10k
 * heap entries and the steady state allocates nothing. Targets are kept in an array sorted by key
 * (kind, address, settings): lookups are binary searches and a sync is one merge. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "health.h"
#include "observe.h"
#include "verdict.h"

#define LATE_BUCKET_USEC 100ULL /* lateness histogram: 100 us buckets up to 100 ms */
#define LATE_BUCKETS 1000
#define SKIP_LOG_USEC (10 * USEC_PER_SEC)

struct tkey {
	const struct lb_check_ops *ops;
	struct lb_addr addr; /* the probed address: the backend's, with health_check.port applied */
	uint32_t interval_ms, timeout_ms, fail_count, rise_count, fast_interval_ms;
	bool initial_up;
	/* Borrowed from the config: compared through ops->conf_cmp and, for per_service kinds, by
	 * the service's name; moved to the new config's copies at each sync. */
	const struct lb_check_conf *conf;
	const struct lb_service_conf *svc;
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
	enum lb_health assumed; /* what UNKNOWN counts as, from lb_health_assume; UNKNOWN: initial_up */
	char reason[LB_PROBE_REASON_MAX]; /* of the last failure; "" before any */
	/* For observers (lb_health_detail); CLOCK_REALTIME ms, as shown to people. */
	int64_t since_ms;       /* last change of what it counts as, or its creation */
	int64_t last_probe_ms;  /* end of the last probe with a result; 0 before any */
	uint64_t transitions;   /* changes of what it counts as */
	usec_t due;           /* the scheduled probe: next one, or the one running */
	usec_t started;
	bool running, decisive, queued;
	bool waiting;           /* a limited kind's probe, due, waiting for a free slot */
	struct target *wait_next;
	struct lb_timer timer;
	struct lb_probe probe;
	const struct want *refs; /* slice of h->wants */
	size_t n_refs;
	struct lb_health_mgr *h;
};

/* Probes of one check type since lb_health_new, by result (lb_health_kind_stats). */
struct kind_counters {
	uint64_t ok, failed, skipped;
	double duration_sum;                               /* of ok and failed probes, seconds */
	uint64_t duration_buckets[LB_OBSERVE_BUCKETS + 1]; /* cumulative (lb_observe_bucket_add) */
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

	/* Kinds marked limited (exec): at most max_limited probes at once, the rest wait in a FIFO. */
	uint32_t max_limited;
	size_t limited_running;
	struct target *wait_head, *wait_tail;
	bool limited_pumping;
	struct lb_check_shared shared;

	size_t in_flight;
	uint64_t probes, failures, skipped, skipped_unlogged;
	usec_t last_skip_log;
	uint64_t late[LATE_BUCKETS + 1];
	usec_t late_max;
	/* the same lateness in the shared buckets, for /metrics (lb_health_lateness) */
	uint64_t late_obs[LB_OBSERVE_BUCKETS + 1];
	double late_sum;
	uint64_t late_count;
	struct kind_counters by_type[LB_CHECK_N];
};

static inline enum lb_health lb_hc_effective(const struct target *t) {
	if (t->v.state == LB_HEALTH_UNKNOWN && t->assumed != LB_HEALTH_UNKNOWN)
		return t->assumed;
	return lb_verdict_effective(&t->v, t->key.initial_up);
}

/* run.c */
struct target *lb_hc_target_new(struct lb_health_mgr *h, const struct tkey *k);
void lb_hc_target_free(struct target *t); /* stops its probe and timer */
/* Log (once per service) and notify a change of what t counts as; see include/health.h. */
void lb_hc_report(struct target *t, enum lb_health before, bool raw_changed, bool was_unknown);
/* Start waiting probes of limited kinds while slots are free. A probe may end inside its start
 * and call this again: a guard keeps that from recursing once per waiter. */
void lb_hc_limited_pump(struct lb_health_mgr *h);
/* Point t's key and probe at k's conf and service (equal settings, from a newer config). */
void lb_hc_target_rekey(struct target *t, const struct tkey *k);
/* Start queued probes of the decisive round while it has room (round_max); the same guard as
 * lb_hc_limited_pump. */
void lb_hc_round_pump(struct lb_health_mgr *h);
