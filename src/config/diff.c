/* What a reload changed, from the units the two configs share: a service of a file that was not
 * read again is the same service, so nothing is compared deeply. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* The kernel's identity of a service: fwmark and family, or protocol and VIP:port. */
static int key_cmp(const struct lb_service_conf *a, const struct lb_service_conf *b) {
	if (a->fwmark != b->fwmark)
		return a->fwmark < b->fwmark ? -1 : 1;
	if (a->fwmark)
		return (a->listen.af > b->listen.af) - (a->listen.af < b->listen.af);
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	return lb_addr_cmp(&a->listen, &b->listen);
}

static int by_key(const void *a, const void *b) {
	return key_cmp(*(const struct lb_service_conf *const *)a,
		       *(const struct lb_service_conf *const *)b);
}

static int by_ptr(const void *a, const void *b) {
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
	return (x > y) - (x < y);
}

/* Services of prev's files that next dropped and whose key no changed service took over. */
static int count_deleted(const struct lb_config *prev, const struct lb_config *next,
			 const struct lb_config_diff *d, size_t *deleted) {
	_cleanup_free_ struct lb_config_file **files = calloc(next->n_files, sizeof(*files));
	_cleanup_free_ const struct lb_service_conf **keys = calloc(d->n_changed + 1, sizeof(*keys));
	if (!files || !keys)
		return -ENOMEM;
	memcpy(files, next->files, next->n_files * sizeof(*files));
	qsort(files, next->n_files, sizeof(*files), by_ptr);
	for (size_t i = 0; i < d->n_changed; i++)
		keys[i] = &next->services[d->changed[i]];
	qsort(keys, d->n_changed, sizeof(*keys), by_key);
	*deleted = 0;
	for (size_t f = 0; f < prev->n_files; f++) {
		const struct lb_config_file *u = prev->files[f];
		if (bsearch(&u, files, next->n_files, sizeof(*files), by_ptr))
			continue;
		for (size_t j = 0; j < u->n_services; j++) {
			const struct lb_service_conf *s = &u->services[j];
			*deleted += !d->n_changed || !bsearch(&s, keys, d->n_changed, sizeof(*keys), by_key);
		}
	}
	return 0;
}

int lb_config_diff(const struct lb_config *prev, const struct lb_config *next,
		   struct lb_config_diff *out) {
	*out = (struct lb_config_diff){0};
	if (!prev || !prev->files || !next->files || next->fresh[0]) {
		out->full = true;
		return 0;
	}
	size_t n = 0;
	for (size_t f = 1; f < next->n_files; f++)
		if (next->fresh[f])
			n += next->files[f]->n_services;
	out->changed = calloc(n ? n : 1, sizeof(*out->changed));
	if (!out->changed)
		return -ENOMEM;
	for (size_t f = 1; f < next->n_files; f++)
		for (size_t j = 0; next->fresh[f] && j < next->files[f]->n_services; j++)
			out->changed[out->n_changed++] = next->file_first[f] + j;
	int r = count_deleted(prev, next, out, &out->n_deleted);
	if (r < 0)
		lb_config_diff_free(out);
	return r;
}

void lb_config_diff_free(struct lb_config_diff *d) {
	free(d->changed);
	*d = (struct lb_config_diff){0};
}
