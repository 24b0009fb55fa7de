/* The periodic resync's read of the kernel table, spread over loop turns (see resync.h).
 * A dest dump of one service costs the kernel and us about 2 ms per 100 destinations under TCG;
 * reading all of a 1000 x 100 table at once held the loop for about 2 s, and every probe due
 * meanwhile ran that late. */
#include "resync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define STEP_USEC (5 * USEC_PER_MSEC) /* loop time one turn may spend reading */

struct lb_resync {
	struct lb_loop *loop;
	struct lb_ipvs *ipvs;
	lb_resync_done_fn done;
	void *ud;
	struct lb_timer step;
	struct lb_table fresh;
	struct lb_owned want;
	size_t next;     /* next service whose destinations may need reading */
	bool running;
	usec_t started;
	unsigned turns;
};

static void finish(struct lb_resync *rs, int err) {
	rs->running = false;
	lb_owned_free(&rs->want);
	if (err < 0)
		lb_table_clear(&rs->fresh);
	log_debug("resync: kernel table read in %u turns, %.1f ms%s", rs->turns,
		  (now_usec(CLOCK_MONOTONIC) - rs->started) / 1000.0, err < 0 ? " (failed)" : "");
	rs->done(&rs->fresh, err, rs->ud);
	lb_table_clear(&rs->fresh); /* whatever the callee left */
}

static void on_step(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct lb_resync *rs = ud;
	usec_t until = now_usec(CLOCK_MONOTONIC) + STEP_USEC;
	rs->turns++;
	while (rs->next < rs->fresh.n) {
		struct lb_service *s = &rs->fresh.svcs[rs->next++];
		if (!lb_owned_has(&rs->want, &s->key))
			continue;
		int r = lb_ipvs_dump_dests(rs->ipvs, s, &rs->fresh.torn);
		if (r < 0) {
			finish(rs, r);
			return;
		}
		usec_t now = now_usec(CLOCK_MONOTONIC);
		if (now >= until) {
			/* the rest next turn. At `now`, not at 0: the loop runs due timers in deadline
			 * order and defers re-armed ones, so a step armed in the past would sit at the
			 * head of the heap and hold back every probe that is due */
			lb_timer_arm(l, t, now);
			return;
		}
	}
	finish(rs, 0);
}

int lb_resync_new(struct lb_loop *l, struct lb_ipvs *v, lb_resync_done_fn done, void *ud,
		  struct lb_resync **out) {
	struct lb_resync *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	*rs = (struct lb_resync){.loop = l, .ipvs = v, .done = done, .ud = ud};
	lb_timer_init(&rs->step, on_step, rs);
	*out = rs;
	return 0;
}

void lb_resync_cancel(struct lb_resync *rs) {
	if (!rs || !rs->running)
		return;
	lb_timer_cancel(rs->loop, &rs->step);
	lb_table_clear(&rs->fresh);
	lb_owned_free(&rs->want);
	rs->running = false;
}

void lb_resync_free(struct lb_resync *rs) {
	lb_resync_cancel(rs);
	free(rs);
}

bool lb_resync_running(const struct lb_resync *rs) { return rs->running; }

static int copy_keys(struct lb_owned *to, const struct lb_owned *from) {
	to->n = 0;
	if (GROW(to->keys, to->cap, from->n ? from->n : 1) < 0)
		return -ENOMEM;
	memcpy(to->keys, from->keys, from->n * sizeof(*from->keys));
	to->n = from->n;
	return 0;
}

int lb_resync_start(struct lb_resync *rs, const struct lb_owned *want) {
	if (rs->running)
		return -EALREADY;
	int r = copy_keys(&rs->want, want);
	if (r == 0)
		r = lb_ipvs_dump_services(rs->ipvs, &rs->fresh); /* one step: a few ms for 1000 */
	if (r == 0)
		r = lb_timer_arm(rs->loop, &rs->step, now_usec(CLOCK_MONOTONIC));
	if (r < 0) {
		lb_table_clear(&rs->fresh);
		lb_owned_free(&rs->want);
		return r;
	}
	rs->running = true;
	rs->next = 0;
	rs->turns = 0;
	rs->started = now_usec(CLOCK_MONOTONIC);
	return 0;
}
