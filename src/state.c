/* The ownership record: a sorted set of service keys, kept in a small text file
 *
 *   # ezlb owned services v1
 *   tcp 10.0.0.1:80
 *   udp [2001:db8::1]:53
 *
 * A record that cannot be trusted is treated as empty: then ezlb deletes nothing it was not told
 * about, which is the safe way to be wrong. */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const struct lb_record record = {
	.name = LB_OWNED_FILE,
	.header = "# ezlb owned services v1",
	.max_line = 256, /* far above the longest key; anything longer is garbage */
	.what = "ownership record",
	.if_corrupt = ", so nothing outside the config will be deleted this run",
	.if_missing = "ezlb owns only the services the config names",
};

/* Index of the first key >= k. */
static size_t lower_bound(const struct lb_owned *o, const struct lb_svc_key *k) {
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (lb_svc_key_cmp(&o->keys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool lb_owned_has(const struct lb_owned *o, const struct lb_svc_key *k) {
	size_t i = lower_bound(o, k);
	return i < o->n && lb_svc_key_cmp(&o->keys[i], k) == 0;
}

int lb_owned_add(struct lb_owned *o, const struct lb_svc_key *k) {
	size_t i = lower_bound(o, k);
	if (i < o->n && lb_svc_key_cmp(&o->keys[i], k) == 0)
		return 0;
	if (GROW(o->keys, o->cap, o->n + 1) < 0)
		return -ENOMEM;
	memmove(&o->keys[i + 1], &o->keys[i], (o->n - i) * sizeof(*o->keys));
	o->keys[i] = *k;
	o->n++;
	return 0;
}

void lb_owned_remove(struct lb_owned *o, const struct lb_svc_key *k) {
	size_t i = lower_bound(o, k);
	if (i >= o->n || lb_svc_key_cmp(&o->keys[i], k) != 0)
		return;
	memmove(&o->keys[i], &o->keys[i + 1], (o->n - i - 1) * sizeof(*o->keys));
	o->n--;
}

void lb_owned_free(struct lb_owned *o) {
	free(o->keys);
	o->keys = NULL;
	o->n = o->cap = 0;
}

/* ---- load ---- */

static int parse_line(char *line, void *ud, const char **why) {
	struct lb_svc_key k;
	if (lb_svc_key_parse(line, &k) < 0)
		return *why = "not a service key (expected e.g. \"tcp 10.0.0.1:80\")", -EBADMSG;
	return lb_owned_add(ud, &k);
}

int lb_owned_load(const struct lb_statedir *sd, struct lb_owned *out) {
	out->n = 0;
	int r = lb_record_load(sd, &record, parse_line, out);
	if (r < 0) {
		out->n = 0;
		return r;
	}
	log_debug("ownership record %s/" LB_OWNED_FILE ": %zu owned services", sd->path, out->n);
	return 0;
}

/* ---- save ---- */

static void emit(FILE *f, const void *ud) {
	const struct lb_owned *o = ud;
	for (size_t i = 0; i < o->n; i++) {
		char key[LB_SVC_KEYSTRLEN];
		fprintf(f, "%s\n", lb_svc_key_fmt(&o->keys[i], key, sizeof(key)));
	}
}

int lb_owned_save(const struct lb_statedir *sd, const struct lb_owned *o) {
	int r = lb_record_save(sd, &record, emit, o);
	if (r == 0)
		log_debug("saved ownership record %s/" LB_OWNED_FILE ": %zu owned services", sd->path,
			  o->n);
	return r;
}
