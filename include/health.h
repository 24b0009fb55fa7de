/* Health checks: probes every backend of every service whose checks are enabled, on the event loop,
 * and keeps an up/down verdict per backend.
 *
 * Targets. A probe target is (check kind, backend address, check settings). The same backend listed
 * in several services with the same protocol and check settings is one target, probed once; the
 * engine remembers which (service, backend) pairs refer to it, to log and notify per service.
 * The check kind follows the service protocol (src/health/kinds.c): tcp -> TCP connect, udp -> a
 * datagram that fails on an ICMP error. A protocol with no kind (sctp today) is not probed and its
 * backends count as up, like a service with checks disabled.
 *
 * Verdicts. Each target is UNKNOWN until its first verdict, then UP or DOWN: fail_count consecutive
 * failures make it DOWN, rise_count consecutive successes make it UP. What an UNKNOWN target counts
 * as is check.initial_up:
 *   initial_up = true (default, keepalived's default): up until proven down, i.e. it takes
 *     fail_count failures to take it out; traffic flows at once after a start or reload.
 *   initial_up = false (keepalived's "alpha" mode): down until rise_count successes.
 * lb_health_state() always answers UP or DOWN, with UNKNOWN resolved this way.
 *
 * Logging. A change of the answer of lb_health_state() is logged once per service with the reason:
 *   "web-service 192.168.1.10:8080 up -> down (3 failures: connection refused)"   (LOG_WARNING)
 *   "web-service 192.168.1.10:8080 down -> up (2 successes)"                       (LOG_NOTICE)
 * and on_change() is called for each (service, backend) pair. An UNKNOWN target whose first verdict
 * confirms what it counted as is logged at LOG_INFO when down, LOG_DEBUG when up.
 *
 * Scheduling. Targets new in a sync get their first probe spread evenly over their interval (one new
 * target is probed at once); then every interval, counted from the previous due time, so there is
 * no drift; a late loop skips the missed rounds instead of bursting. A probe has an absolute deadline
 * of timeout after its start. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

enum lb_health { LB_HEALTH_UNKNOWN = 0, LB_HEALTH_UP, LB_HEALTH_DOWN };

struct lb_health_mgr;

/* Called on each change of lb_health_state(svc, be), from inside the loop. Only record the news
 * (e.g. lb_loop_mark_dirty) and reconcile in the turn hook: do not call lb_health_sync or
 * lb_health_free from here. */
typedef void (*lb_health_change_fn)(struct lb_health_mgr *h, const struct lb_service_conf *svc,
				    const struct lb_backend_conf *be, enum lb_health state,
				    void *userdata);

const char *lb_health_name(enum lb_health s); /* "unknown", "up", "down" */

/* Returns 0 or -ENOMEM. on_change may be NULL. */
int lb_health_new(struct lb_loop *loop, lb_health_change_fn on_change, void *userdata,
		  struct lb_health_mgr **ret);
/* Stops every probe (closing its socket) and frees. NULL is fine. */
void lb_health_free(struct lb_health_mgr *h);

/* Make the probed targets those of cfg: new targets are scheduled, targets no longer in cfg stop at
 * once (their sockets closed), unchanged ones keep state, counters and schedule. A backend whose
 * check settings changed keeps its state and counters and gets the new settings at once (new
 * thresholds apply to the current counters; a new interval or timeout to the pending probe).
 * h borrows cfg (service and backend pointers, names) until the next sync or lb_health_free.
 * Returns 0 or -ENOMEM (then h still probes the previous config, which must stay alive). */
int lb_health_sync(struct lb_health_mgr *h, const struct lb_config *cfg);

/* UP or DOWN (never UNKNOWN, see above). UP for a service with checks disabled or no check kind.
 * A pair not known from the last sync answers from initial_up. */
enum lb_health lb_health_state(const struct lb_health_mgr *h, const struct lb_service_conf *svc,
			       const struct lb_backend_conf *be);
/* Until its first verdict, count this backend as state (UP or DOWN) instead of what
 * check.initial says. A restarted daemon calls it with what the kernel table it adopts shows, so
 * it continues where the previous run stopped: a backend that run had taken out stays out until
 * rise_count successes, one it had in stays until fail_count failures. No effect on a backend
 * that already has a verdict or is not probed. */
void lb_health_assume(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health state);

/* Whether the backends of svc are probed at all. */
bool lb_health_checked(const struct lb_service_conf *svc);

/* One decisive round, for `ezlb once`: probe every target now (at most as many at a time as free
 * fds allow) and let the single result of each decide UP or DOWN. lb_health_run_round starts the
 * round and runs the loop until every probe ended (each is bounded by its timeout); 0 or a negative
 * errno from the loop (lb_health_probe_all: 0, -EBUSY while a round runs, -ENOMEM). Targets then
 * go on with their normal schedule. */
int lb_health_probe_all(struct lb_health_mgr *h);
bool lb_health_round_pending(const struct lb_health_mgr *h);
int lb_health_run_round(struct lb_health_mgr *h);

struct lb_health_stats {
	size_t targets;            /* distinct probe targets */
	size_t up, down, unknown;  /* targets by raw state */
	size_t in_flight;          /* probes running now */
	uint64_t probes;           /* probes ended, since lb_health_new */
	uint64_t failures;         /* of which failed */
	uint64_t skipped;          /* probes that could not start for a local reason (e.g. EMFILE) */
	usec_t late_p50, late_p99, late_max; /* scheduled probe start minus due time */
	uint64_t tls_full, tls_resumed; /* https handshakes completed, in this process */
};
void lb_health_get_stats(const struct lb_health_mgr *h, struct lb_health_stats *out);

/* ---- for observers (status, metrics) ---- */

struct lb_health_detail {
	bool checked;              /* the backend is probed at all */
	enum lb_health raw;        /* UNKNOWN until the first verdict */
	enum lb_health state;      /* what lb_health_state answers */
	int64_t since_ms;          /* CLOCK_REALTIME ms of the last change of state (or when probing
				    * began) */
	uint64_t transitions;      /* changes of state since the daemon started */
	char reason[128];          /* the last failure's reason ("" if none) */
	int64_t last_probe_ms;     /* CLOCK_REALTIME ms of the last probe end, 0 if none */
};
/* false if (svc, be) is unknown to the manager: not in the last sync, checks disabled or no check
 * kind (then *out describes an unprobed backend: checked false, raw UNKNOWN, state what
 * lb_health_state answers, the rest zero). A target probed for several services answers the same
 * for each. last_probe_ms counts probes with a result (not those skipped for a local reason). */
bool lb_health_detail(const struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, struct lb_health_detail *out);

/* The bucket count of include/observe.h, which includes this header (so this one cannot include
 * it back); both define the same value. */
#ifndef LB_OBSERVE_BUCKETS
#define LB_OBSERVE_BUCKETS 13
#endif

/* Per check type ("tcp", "http", ...), since the start. The duration histogram counts probes
 * with a result (ok + failed), from start to end; skipped ones did not run. */
struct lb_health_kind_stats {
	const char *type;
	uint64_t ok, failed, skipped;                      /* probes by result */
	double duration_sum;                               /* seconds */
	uint64_t duration_buckets[LB_OBSERVE_BUCKETS + 1]; /* cumulative, see include/observe.h */
};
/* Fills up to max entries (one per kind of the kind table, in table order); returns the number. */
size_t lb_health_kind_stats(const struct lb_health_mgr *h, struct lb_health_kind_stats *out,
			    size_t max);
/* Probe lateness (scheduled start minus due time) as a histogram, since the start: one
 * observation per scheduled start, a limited kind's wait for a slot included (the decisive round
 * of `ezlb once` has no due time and is not counted). */
void lb_health_lateness(const struct lb_health_mgr *h, uint64_t buckets[LB_OBSERVE_BUCKETS + 1],
			double *sum, uint64_t *count);

/* (service, backend) pairs of cfg that lb_health_state() answers UP, and all pairs: the status
 * line's "backends up/total". */
void lb_health_count(const struct lb_health_mgr *h, const struct lb_config *cfg, size_t *up,
		     size_t *total);
