/* The histogram buckets every ezlb histogram shares (see include/observe.h). */
#include "observe.h"

/* Prometheus' default buckets plus 1 ms: probes and reconciles of a healthy system take a few
 * milliseconds, and the finest default bucket (5 ms) would lump them all together. */
const double lb_observe_buckets[LB_OBSERVE_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Cumulative, as Prometheus exposes them (`le`): an observation counts in every bucket whose
 * bound it does not exceed, and always in the last (+Inf) slot. Stored cumulative so that a
 * renderer prints the array as it is, with no pass over it. */
void lb_observe_bucket_add(uint64_t *buckets, double secs) {
	for (size_t i = 0; i < LB_OBSERVE_BUCKETS; i++)
		buckets[i] += secs <= lb_observe_buckets[i];
	buckets[LB_OBSERVE_BUCKETS]++;
}
