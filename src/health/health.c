/* The health engine's life cycle and statistics (semantics in include/health.h; layout in
 * engine.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tls.h"
#include "log.h"

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
	lb_tls_stats(&out->tls_full, &out->tls_resumed);
	uint64_t total = 0;
	for (size_t b = 0; b <= LATE_BUCKETS; b++)
		total += h->late[b];
	if (total) {
		out->late_p50 = late_percentile(h, total, 0.50);
		out->late_p99 = late_percentile(h, total, 0.99);
	}
}

size_t lb_health_kind_stats(const struct lb_health_mgr *h, struct lb_health_kind_stats *out,
			    size_t max) {
	size_t n = 0;
	for (size_t i = 0; i < h->n_kinds && n < max; i++, n++) {
		const struct kind_counters *c = &h->by_type[h->kinds[i]->type];
		out[n] = (struct lb_health_kind_stats){.type = h->kinds[i]->name, .ok = c->ok,
							.failed = c->failed, .skipped = c->skipped,
							.duration_sum = c->duration_sum};
		memcpy(out[n].duration_buckets, c->duration_buckets, sizeof(c->duration_buckets));
	}
	return n;
}

void lb_health_lateness(const struct lb_health_mgr *h, uint64_t buckets[LB_OBSERVE_BUCKETS + 1],
			double *sum, uint64_t *count) {
	memcpy(buckets, h->late_obs, sizeof(h->late_obs));
	*sum = h->late_sum;
	*count = h->late_count;
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
		lb_hc_target_free(h->targets[i]);
	for (size_t i = 0; i < h->n_kinds; i++)
		if (h->kinds[i]->shared_free && h->shared.kind[h->kinds[i]->type])
			h->kinds[i]->shared_free(h->shared.kind[h->kinds[i]->type]);
	free(h->targets);
	free(h->wants);
	free(h->queue);
	free(h);
}
