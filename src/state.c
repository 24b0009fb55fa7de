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

#define HEADER "# ezlb owned services v1"
#define LINE_MAX_LEN 256 /* far above the longest key; anything longer is garbage */

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

static void log_unreadable(const char *path, int r) {
	if (r == -ENOENT)
		log_info("no ownership record at %s: ezlb owns only the services the config names", path);
	else if (r == -ELOOP)
		log_error("cannot read ownership record %s: it is a symbolic link, which ezlb never "
			  "follows; remove it (nothing is changed until then)", path);
	else if (r == -EINVAL)
		log_error("cannot read ownership record %s: not a regular file", path);
	else
		log_error("cannot read ownership record %s: %s", path, strerror(-r));
}

int lb_owned_load(const struct lb_statedir *sd, struct lb_owned *out) {
	out->n = 0;
	unsigned lineno = 0;
	const char *why = NULL;
	int r = lb_statefile_read(sd, LB_OWNED_FILE, HEADER, LINE_MAX_LEN, parse_line, out, &lineno,
				  &why);
	if (r == -EBADMSG)
		log_warn("%s/" LB_OWNED_FILE ":%u: corrupt ownership record: %s; ignoring it, so nothing "
			 "outside the config will be deleted this run", sd->path, lineno, why);
	else if (r < 0 && lineno == 0) {
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s/" LB_OWNED_FILE, sd->path) < 0)
			return path = NULL, -ENOMEM;
		log_unreadable(path, r);
	} else if (r < 0)
		log_error("cannot read ownership record %s/" LB_OWNED_FILE ": %s", sd->path, strerror(-r));
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
	const char *step = NULL;
	int r = lb_statefile_write(sd, LB_OWNED_FILE, HEADER, emit, o, &step);
	if (r < 0) {
		log_error("cannot save ownership record %s/" LB_OWNED_FILE ": %s: %s", sd->path, step,
			  strerror(-r));
		return r;
	}
	log_debug("saved ownership record %s/" LB_OWNED_FILE ": %zu owned services", sd->path, o->n);
	return 0;
}
