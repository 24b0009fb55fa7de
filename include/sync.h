/* One reconcile pass against the kernel: dump, plan, apply, keep the ownership record. This is
 * where kernel errors are understood and logged, once, with the op they belong to. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "ipvs.h"
#include "reconcile.h"
#include "state.h"
#include "table.h"

struct lb_sync_stats {
	size_t added, edited, deleted, failed; /* ops by outcome */
	size_t services, dests;                /* size of the desired table */
};

struct lb_sync_opts {
	const struct lb_statedir *state; /* holds the ownership record; locked */
	bool dry_run;           /* print the plan to plan_out, change nothing */
	/* Keys that are ezlb's even if the record lost them (cleanup: the config's services). They
	 * join the owned set before planning, so a dry run plans exactly what a real run does. */
	const struct lb_owned *also_owned;
	FILE *plan_out;
};

/* actual: the kernel's table as last seen; refreshed by a dump when *actual_stale (then cleared).
 * After the pass actual reflects the ops that succeeded, so a caller may keep it as its view.
 * Returns 0 when every op applied, -EIO when some failed (each logged), or a negative errno when
 * the pass could not run at all (logged too). The kernel is changed only after the ownership
 * record covers every service the pass may create: if it cannot be saved, nothing is applied. */
int lb_sync_run(struct lb_ipvs *v, const struct lb_table *desired, struct lb_table *actual,
		bool *actual_stale, const struct lb_sync_opts *o, struct lb_sync_stats *st);

/* The targeted pass for health changes: want holds only the services whose backends changed.
 * Each is planned against its entry in the view and the view is updated in place: no dump, no
 * other service looked at, the ownership record untouched (no service comes or goes).
 * Returns 0, -EIO when some op failed (logged; the view is then stale), -ENOENT when a service
 * is not in the view (run lb_sync_run instead), or another negative errno. */
int lb_sync_targeted(struct lb_ipvs *v, const struct lb_table *want, struct lb_table *view,
		     struct lb_sync_stats *st);
