/* One reconcile pass against the kernel: dump, plan, apply, keep the ownership record. This is
 * where kernel errors are understood and logged, once, with the op they belong to. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "drain.h"
#include "ipvs.h"
#include "reconcile.h"
#include "state.h"
#include "table.h"

struct lb_sync_stats {
	size_t added, edited, deleted, failed; /* ops by outcome */
	size_t drained;                        /* destinations set to weight 0 to drain */
	size_t services, dests;                /* size of the desired table */
};

struct lb_sync_opts {
	const struct lb_statedir *state; /* holds the ownership record; locked */
	bool dry_run;           /* print the plan to plan_out, change nothing */
	/* Keys that are ezlb's even if the record lost them (cleanup: the config's services). They
	 * join the owned set before planning, so a dry run plans exactly what a real run does. */
	const struct lb_owned *also_owned;
	FILE *plan_out;
	uint32_t leaving_drain_ms; /* drain timeout of a service that left the config */
	bool no_drain;             /* cleanup: delete at once, drains in progress included */
	struct lb_drains *drains_out; /* if set: the drain record after the pass (the daemon keeps it
				       * for targeted passes and its drain timer) */
};

/* actual: the kernel's table as last seen; refreshed by a dump when *actual_stale (then cleared);
 * otherwise the services with a destination that may drain are read again, for their connection
 * counts. The drain record is read, planned with (now: CLOCK_REALTIME) and saved before the
 * kernel is touched, like the ownership record; drain starts, ends and cancels are logged.
 * After the pass actual reflects the ops that succeeded, so a caller may keep it as its view.
 * Returns 0 when every op applied, -EIO when some failed (each logged), or a negative errno when
 * the pass could not run at all (logged too). The kernel is changed only after the ownership
 * record covers every service the pass may create: if it cannot be saved, nothing is applied. */
int lb_sync_run(struct lb_ipvs *v, const struct lb_table *desired, struct lb_table *actual,
		bool *actual_stale, const struct lb_sync_opts *o, struct lb_sync_stats *st);

/* The targeted pass for health changes: want holds only the services whose backends changed.
 * Each is planned against its entry in the view and the view is updated in place: no dump, no
 * other service looked at, the ownership record untouched (no service comes or goes).
 * drains: the drain record as the last full pass left it.
 * Returns 0, -EIO when some op failed (logged; the view is then stale), -ENOENT when a service
 * is not in the view, -EAGAIN when the plan would start, end or cancel a drain (both: run
 * lb_sync_run instead; nothing was applied), or another negative errno. */
int lb_sync_targeted(struct lb_ipvs *v, const struct lb_table *want, struct lb_table *view,
		     const struct lb_drains *drains, struct lb_sync_stats *st);

/* CLOCK_REALTIME in milliseconds: drain start times must mean the same after a restart. */
int64_t lb_realtime_ms(void);
