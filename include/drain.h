/* The drain record: which destinations (or whole services) are draining, since when and for how
 * long at most. Kept in the file `drains` of the state directory, written atomically, so that a
 * restarted daemon or a later `ezlb once` continues a drain instead of re-adding the backend or
 * deleting it early:
 *
 *   # ezlb drains v1
 *   tcp 10.0.0.1:80 192.168.1.10:8080 1764662400123 60000
 *   udp 10.0.0.2:53 * 1764662400456 60000
 *
 * service key, destination ("*": the whole service drains), start (CLOCK_REALTIME, ms: it must
 * mean the same after a restart), timeout (ms). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "statedir.h"
#include "table.h"

#define LB_DRAINS_FILE "drains"

struct lb_drain {
	struct lb_svc_key svc;
	struct lb_addr dest;   /* af 0: the whole service */
	int64_t since_ms;      /* CLOCK_REALTIME */
	uint32_t timeout_ms;   /* the service's drain_timeout (the current one while the service is in
				* the config; kept for a service that left it) */
};

struct lb_drains {
	struct lb_drain *v;    /* sorted by (svc, dest), unique */
	size_t n, cap;
};

/* The entry for (svc, dest) (dest NULL: the service's own entry), or NULL. */
const struct lb_drain *lb_drains_find(const struct lb_drains *d, const struct lb_svc_key *svc,
				      const struct lb_addr *dest);
/* Adds or replaces the entry for e's (svc, dest). 0 or -ENOMEM. */
int lb_drains_put(struct lb_drains *d, const struct lb_drain *e);
/* Replaces every entry of the services in keys (sorted) by from's entries (which must name only
 * those services): how a pass over some services updates the record. 0 or -ENOMEM. */
int lb_drains_merge(struct lb_drains *d, const struct lb_owned *keys, const struct lb_drains *from);
bool lb_drains_eq(const struct lb_drains *a, const struct lb_drains *b);
int lb_drains_copy(struct lb_drains *to, const struct lb_drains *from);
void lb_drains_free(struct lb_drains *d);

/* Like lb_owned_load: 0; -ENOENT (empty); -EBADMSG when corrupt (empty: drains then restart
 * with the timeout from now, which never cuts one short); other errno on I/O errors. Logged. */
int lb_drains_load(const struct lb_statedir *sd, struct lb_drains *out);
/* Atomic replacement, like lb_owned_save. 0 or a negative errno (logged). */
int lb_drains_save(const struct lb_statedir *sd, const struct lb_drains *d);
