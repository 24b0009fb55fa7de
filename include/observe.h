/* What the daemon shows to its observers (the control socket, /metrics, notify hooks): one
 * read-only view of its state, owned and kept current by src/daemon.c. Observers read it; they
 * never change it and never call back into the daemon. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "drain.h"
#include "health.h"
#include "state.h"
#include "table.h"

/* Histogram bucket bounds in seconds, shared by every ezlb histogram (reconcile, probe duration,
 * lateness); LB_OBSERVE_BUCKETS of them, +Inf implied. */
#ifndef LB_OBSERVE_BUCKETS
#define LB_OBSERVE_BUCKETS 13
#endif
extern const double lb_observe_buckets[LB_OBSERVE_BUCKETS];
/* Adds one observation of secs to a cumulative bucket array of LB_OBSERVE_BUCKETS + 1 counts. */
void lb_observe_bucket_add(uint64_t *buckets, double secs);

enum lb_reconcile_kind { LB_RECONCILE_FULL = 0, LB_RECONCILE_TARGETED, LB_RECONCILE_KINDS };

struct lb_observe {
	const struct lb_config *cfg;          /* in force */
	const char *config_path;
	int64_t config_loaded_ms;             /* CLOCK_REALTIME, ms: when cfg was loaded */
	const char *config_error;             /* why the file on disk is not in force, or NULL */
	/* health, through functions so that renderers can be tested with a fixed state; in the
	 * daemon: lb_health_detail, lb_health_kind_stats and lb_health_lateness on its manager */
	bool (*health_detail)(const void *ud, const struct lb_service_conf *svc,
			      const struct lb_backend_conf *be, struct lb_health_detail *out);
	size_t (*kind_stats)(const void *ud, struct lb_health_kind_stats *out, size_t max);
	void (*lateness)(const void *ud, uint64_t buckets[LB_OBSERVE_BUCKETS + 1], double *sum,
			 uint64_t *count);
	const void *health_ud;
	const struct lb_table *view;          /* the kernel table as last seen (no counters) */
	const struct lb_drains *drains;       /* running drains */
	const struct lb_owned *no_quorum;     /* services that lost quorum */
	const struct lb_owned *no_serve;      /* services that cannot serve: the VIPs of those with
					       * announce are withdrawn (announce.h); NULL: none */
	int64_t start_ms;                     /* CLOCK_REALTIME, ms: the daemon's start */

	/* the last reconcile */
	int64_t last_reconcile_ms;            /* 0: none yet */
	enum lb_reconcile_kind last_kind;
	size_t last_changes, last_failed;
	int last_err;                         /* 0, or the negative errno of a failed pass */

	/* counters since the start */
	uint64_t reconciles[LB_RECONCILE_KINDS][2]; /* [kind][0 ok, 1 failed] */
	double reconcile_seconds_sum;
	uint64_t reconcile_buckets[LB_OBSERVE_BUCKETS + 1]; /* see lb_observe_bucket_add */
	uint64_t reloads[2];                  /* [0 ok, 1 failed] */
	bool last_reload_ok;
	int64_t last_reload_success_ms;       /* CLOCK_REALTIME, ms */
	uint64_t netlink_requests;
	uint64_t notify_dropped;              /* events dropped by a full notify queue */
};

