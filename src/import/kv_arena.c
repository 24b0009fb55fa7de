/* The import's memory: one arena of chunks, so that nodes and strings need no bookkeeping and an
 * error anywhere frees everything at once. */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define CHUNK_MIN (64u << 10)

struct kv_chunk {
	struct kv_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *kv_alloc(struct kv_arena *a, size_t n) {
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (n == 0)
		n = sizeof(max_align_t);
	struct kv_chunk *ch = a->head;
	if (!ch || ch->cap - ch->used < n) {
		size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
		if (cap > SIZE_MAX - sizeof(*ch) || !(ch = malloc(sizeof(*ch) + cap)))
			return NULL;
		ch->used = 0;
		ch->cap = cap;
		/* a big block gets a chunk of its own behind the current one, which keeps its room */
		if (a->head && n > CHUNK_MIN) {
			ch->next = a->head->next;
			a->head->next = ch;
		} else {
			ch->next = a->head;
			a->head = ch;
		}
	}
	void *p = (char *)ch->data + ch->used;
	ch->used += n;
	return memset(p, 0, n);
}

char *kv_strndup(struct kv_arena *a, const char *s, size_t n) {
	char *d = n < SIZE_MAX ? kv_alloc(a, n + 1) : NULL;
	if (d)
		memcpy(d, s, n);
	return d;
}

void kv_arena_free(struct kv_arena *a) {
	while (a->head) {
		struct kv_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}
