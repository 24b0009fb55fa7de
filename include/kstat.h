/* The kernel's table with its counters, for observers (the control socket, /metrics): read with
 * the resync's spread dump (a few milliseconds per loop turn), so that reading 100k destinations
 * never stalls probes, and shared: every request that arrives while a read runs, or within
 * max_age of the last one, gets that read if it holds the destinations asked for. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "ipvs.h"
#include "loop.h"
#include "resync.h"
#include "state.h"
#include "table.h"

struct lb_kstat;
struct lb_kstat_req;

/* t: the kernel's table (services and destinations sorted; stats_known set on each entry whose
 * counters the kernel sent intact; services whose destinations no request asked for are listed
 * with dests_unknown), or NULL with err (a negative errno, already logged). t is valid during
 * the call only. The call may issue new requests and cancel others; it must not free k. */
typedef void (*lb_kstat_fn)(const struct lb_table *t, int err, void *ud);

/* max_age_ms: how long after the end of a read its table still answers new requests (0: only
 * requests that joined the read get it). v is borrowed. Returns 0 or -ENOMEM. */
int lb_kstat_new(struct lb_loop *l, struct lb_ipvs *v, uint32_t max_age_ms, struct lb_kstat **out);
/* Cancels a read running; pending requests are dropped without a call (their handles die with
 * k). NULL is fine. Not from inside an lb_kstat_fn. */
void lb_kstat_free(struct lb_kstat *k);

/* Asks for a table whose destinations cover want (sorted keys; copied; NULL or empty: the service
 * list alone). Answered, in this order of preference, by the last table if its read ended at most
 * max_age before this call and covered want; by the read running if it covers want; else by the
 * next read, which every request of one loop turn shares (it reads the union of their wants).
 * A read that fails answers every request waiting with its error (except those the last table
 * answers). fn is called once, from the loop (never from inside this call), unless the request
 * is cancelled first. Returns 0 and *req, valid until fn is called or the request cancelled, or
 * -ENOMEM. */
int lb_kstat_get(struct lb_kstat *k, const struct lb_owned *want, lb_kstat_fn fn, void *ud,
		 struct lb_kstat_req **req);
/* No call will come. The read keeps running: its table answers later requests. NULL is fine;
 * never after fn was called. */
void lb_kstat_cancel(struct lb_kstat_req *req);

/* The read: the resync's spread dump in the daemon, a fake in the tests. */
struct lb_kstat_reader {
	int (*create)(struct lb_loop *l, struct lb_ipvs *v, lb_resync_done_fn done, void *ud,
		      void **out);
	void (*destroy)(void *rd);        /* cancels a read running: done is not called */
	int (*start)(void *rd, const struct lb_owned *want); /* fails: done is not called */
};

/* lb_kstat_new with another reader (tests); rd_size is sizeof(*rd) as the caller knows it, and
 * another size is refused with -EINVAL. */
int lb_kstat_new_with(struct lb_loop *l, struct lb_ipvs *v, uint32_t max_age_ms,
		      const struct lb_kstat_reader *rd, size_t rd_size, struct lb_kstat **out);
