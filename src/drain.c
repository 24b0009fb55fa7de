/* The drain record (see drain.h): a sorted set of drains, kept in the state directory. */
#include "drain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const struct lb_record record = {
	.name = LB_DRAINS_FILE,
	.header = "# ezlb drains v1",
	.max_line = 512,
	.what = "drain record",
	.if_corrupt = ": drains in progress start again with their full timeout",
};

static int drain_cmp(const struct lb_svc_key *svc, const struct lb_addr *dest, const struct lb_drain *e) {
	int c = lb_svc_key_cmp(svc, &e->svc);
	return c ? c : lb_addr_cmp(dest, &e->dest);
}

/* Index of the first entry >= (svc, dest). */
static size_t lower_bound(const struct lb_drains *d, const struct lb_svc_key *svc,
			  const struct lb_addr *dest) {
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (drain_cmp(svc, dest, &d->v[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct lb_drain *lb_drains_find(const struct lb_drains *d, const struct lb_svc_key *svc,
				      const struct lb_addr *dest) {
	static const struct lb_addr whole; /* af 0 */
	if (!d)
		return NULL;
	if (!dest)
		dest = &whole;
	size_t i = lower_bound(d, svc, dest);
	return i < d->n && drain_cmp(svc, dest, &d->v[i]) == 0 ? &d->v[i] : NULL;
}

int lb_drains_put(struct lb_drains *d, const struct lb_drain *e) {
	size_t i = lower_bound(d, &e->svc, &e->dest);
	if (i < d->n && drain_cmp(&e->svc, &e->dest, &d->v[i]) == 0) {
		d->v[i] = *e;
		return 0;
	}
	if (GROW(d->v, d->cap, d->n + 1) < 0)
		return -ENOMEM;
	memmove(&d->v[i + 1], &d->v[i], (d->n - i) * sizeof(*d->v));
	d->v[i] = *e;
	d->n++;
	return 0;
}

int lb_drains_merge(struct lb_drains *d, const struct lb_owned *keys, const struct lb_drains *from) {
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++)
		if (!lb_owned_has(keys, &d->v[i].svc))
			d->v[k++] = d->v[i];
	d->n = k;
	for (size_t i = 0; i < from->n; i++) {
		int r = lb_drains_put(d, &from->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

bool lb_drains_eq(const struct lb_drains *a, const struct lb_drains *b) {
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (drain_cmp(&a->v[i].svc, &a->v[i].dest, &b->v[i]) != 0 ||
		    a->v[i].since_ms != b->v[i].since_ms || a->v[i].timeout_ms != b->v[i].timeout_ms)
			return false;
	return true;
}

int lb_drains_copy(struct lb_drains *to, const struct lb_drains *from) {
	to->n = 0;
	if (GROW(to->v, to->cap, from->n) < 0)
		return -ENOMEM;
	if (from->n)
		memcpy(to->v, from->v, from->n * sizeof(*from->v));
	to->n = from->n;
	return 0;
}

void lb_drains_free(struct lb_drains *d) {
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

/* ---- the file ---- */

/* The end of the service key at the start of line: two words ("tcp 10.0.0.1:80"), or three for
 * a firewall-mark service ("fwmark 100 ipv4"); NULL if the line is shorter. */
static char *key_end(char *line) {
	int words = strncmp(line, "fwmark ", 7) == 0 ? 3 : 2;
	char *p = line;
	for (int i = 0; i < words; i++) {
		if (i > 0 && *p++ != ' ')
			return NULL;
		size_t n = strcspn(p, " ");
		if (n == 0)
			return NULL;
		p += n;
	}
	return p;
}

/* "tcp 10.0.0.1:80 192.168.1.10:8080 1764662400123 60000" ("*" for the whole service);
 * "fwmark 100 ipv4 192.168.1.10:80 1764662400123 60000" */
static int parse_line(char *line, void *ud, const char **why) {
	char dest[64];
	_Static_assert(sizeof(dest) > LB_ADDRSTRLEN, "%63s must hold any address");
	long long since;
	unsigned long timeout;
	int end = 0;
	struct lb_drain e = {0};
	char *rest = key_end(line);
	if (!rest || *rest != ' ' ||
	    sscanf(rest + 1, "%63s %lld %lu%n", dest, &since, &timeout, &end) != 3 ||
	    rest[1 + end] != 0 || timeout > UINT32_MAX || since < 0)
		return *why = "not a drain (expected e.g. \"tcp 10.0.0.1:80 10.1.0.2:8080 1764662400123 60000\")",
		       -EBADMSG;
	*rest = 0;
	if (lb_svc_key_parse(line, &e.svc) < 0)
		return *why = "not a service key", -EBADMSG;
	if (strcmp(dest, "*") != 0 && lb_addr_parse(dest, &e.dest) < 0)
		return *why = "not a destination address", -EBADMSG;
	e.since_ms = since;
	e.timeout_ms = (uint32_t)timeout;
	return lb_drains_put(ud, &e);
}

int lb_drains_load(const struct lb_statedir *sd, struct lb_drains *out) {
	out->n = 0;
	int r = lb_record_load(sd, &record, parse_line, out); /* absent: no drain running */
	if (r < 0)
		out->n = 0;
	return r;
}

static void emit(FILE *f, const void *ud) {
	const struct lb_drains *d = ud;
	for (size_t i = 0; i < d->n; i++) {
		char key[LB_SVC_KEYSTRLEN], dest[LB_ADDRSTRLEN];
		const struct lb_drain *e = &d->v[i];
		fprintf(f, "%s %s %" PRId64 " %" PRIu32 "\n", lb_svc_key_fmt(&e->svc, key, sizeof(key)),
			e->dest.af ? lb_addr_fmt(&e->dest, dest) : "*", e->since_ms, e->timeout_ms);
	}
}

int lb_drains_save(const struct lb_statedir *sd, const struct lb_drains *d) {
	return lb_record_save(sd, &record, emit, d);
}
