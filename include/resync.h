/* The periodic resync's read of the kernel table, spread over loop turns: the service list in
 * one step, then the destinations of the services that matter, a few milliseconds' worth per
 * turn, so that probes due meanwhile run on time even when the table holds 100k destinations.
 * The result is handed over whole; until then the caller keeps planning against its old view. */
#pragma once
#include <stdbool.h>

#include "ipvs.h"
#include "loop.h"
#include "state.h"
#include "table.h"

struct lb_resync;

/* Called once per started read: err 0 and the fresh table (the callee takes its contents and
 * leaves *fresh empty or clears it), or a negative errno (already logged; fresh is empty). */
typedef void (*lb_resync_done_fn)(struct lb_table *fresh, int err, void *ud);

int lb_resync_new(struct lb_loop *l, struct lb_ipvs *v, lb_resync_done_fn done, void *ud,
		  struct lb_resync **out);
void lb_resync_free(struct lb_resync *rs);
/* Starts a read. want: the services whose destinations are read (copied; sorted keys). Returns
 * 0, -EALREADY while a read runs, or the error of the service list dump (then done is not
 * called). */
int lb_resync_start(struct lb_resync *rs, const struct lb_owned *want);
bool lb_resync_running(const struct lb_resync *rs);
/* Drops a read in progress (done is not called). */
void lb_resync_cancel(struct lb_resync *rs);
