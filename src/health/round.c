/* The decisive round of `ezlb once`: every target probed now, one result each decides. This file
 * queues the targets; run.c starts them as the round has room (lb_hc_round_pump), since a probe's
 * end is what frees that room. */
#include <errno.h>
#include <sys/resource.h>

#include "engine.h"

/* --- decisive round --- */

static size_t round_limit(void) {
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 4096;
	size_t n = rl.rlim_cur / 2; /* leave the other half to the rest of the process */
	return n < 16 ? 16 : n > 16384 ? 16384 : n;
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
		if (t->running || t->waiting) { /* its result decides */
			t->decisive = true;
			h->round_running++;
			continue;
		}
		lb_timer_cancel(h->loop, &t->timer);
		t->queued = true;
		h->queue[h->n_queue++] = t;
	}
	lb_hc_round_pump(h);
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

