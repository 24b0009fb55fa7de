/* Duplicates among n keys in O(n log n): a configuration may hold 100k real servers, and
 * comparing each with all the others would take minutes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

struct sort_ctx {
	const unsigned char *keys;
	size_t size;
};

/* By key, then by position: the first of equal keys comes first. */
static int by_key(const void *a, const void *b, void *arg) {
	const struct sort_ctx *s = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = memcmp(s->keys + x * s->size, s->keys + y * s->size, s->size);
	return r ? r : (x > y) - (x < y);
}

int kv_first_equal(const void *keys, size_t n, size_t size, size_t *first) {
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	struct sort_ctx s = {keys, size};
	qsort_r(order, n, sizeof(*order), by_key, &s);
	for (size_t i = 0; i < n; i++) {
		bool same = i && !memcmp(s.keys + order[i] * size, s.keys + order[i - 1] * size, size);
		first[order[i]] = same ? first[order[i - 1]] : order[i];
	}
	free(order);
	return 0;
}
