/* The import's file names and diagnostics. Messages are kept in the order they are found, which
 * is the order of the input (includes where they are included), and printed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "util.h"

#define MSGS_MAX 100000 /* a hostile file cannot make us hold unbounded text */

int kv_file_add(struct kv_ctx *c, const char *name, uint32_t *idx) {
	char *copy = kv_strndup(&c->arena, name, strlen(name));
	if (!copy || GROW(c->files, c->cap_files, c->n_files + 1) < 0) {
		c->oom = true;
		return -1;
	}
	c->files[c->n_files] = copy;
	*idx = (uint32_t)c->n_files++;
	return 0;
}

static void add(struct kv_ctx *c, struct kv_loc at, const char *kind, const char *fmt, va_list ap) {
	if (c->n_msgs >= MSGS_MAX)
		return;
	char text[1024];
	vsnprintf(text, sizeof(text), fmt, ap);
	const char *file = at.file < c->n_files ? c->files[at.file] : "?";
	char *m = NULL;
	int r = at.line ? asprintf(&m, "%s:%u: %s%s", file, at.line, kind, text)
			: asprintf(&m, "%s: %s%s", file, kind, text);
	if (r < 0 || GROW(c->msgs, c->cap_msgs, c->n_msgs + 1) < 0) {
		free(r < 0 ? NULL : m);
		c->oom = true;
		return;
	}
	/* messages quote the input (and include paths): no control character reaches a terminal */
	for (char *t = m; *t; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f)
			*t = '?';
	c->msgs[c->n_msgs] = (struct kv_msg){at, c->n_msgs, m};
	c->n_msgs++;
}

void kv_warn(struct kv_ctx *c, struct kv_loc at, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	add(c, at, "warning: ", fmt, ap);
	va_end(ap);
}

void kv_error(struct kv_ctx *c, struct kv_loc at, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	add(c, at, "", fmt, ap);
	va_end(ap);
	c->n_errors++;
}

static int by_place(const void *a, const void *b) {
	const struct kv_msg *x = a, *y = b;
	if (x->at.file != y->at.file)
		return x->at.file < y->at.file ? -1 : 1;
	if (x->at.line != y->at.line)
		return x->at.line < y->at.line ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorted by place: the mapping finds some things only once a whole block is read. */
void kv_diag_print(struct kv_ctx *c, FILE *err) {
	if (c->n_msgs)
		qsort(c->msgs, c->n_msgs, sizeof(*c->msgs), by_place);
	for (size_t i = 0; i < c->n_msgs; i++)
		fprintf(err, "%s\n", c->msgs[i].text);
	if (c->n_msgs >= MSGS_MAX)
		fprintf(err, "(more messages left out)\n");
	if (c->oom)
		fprintf(err, "out of memory\n");
}

void kv_ctx_free(struct kv_ctx *c) {
	for (size_t i = 0; i < c->n_msgs; i++)
		free(c->msgs[i].text);
	free(c->msgs);
	free(c->files);
	free(c->defs);
	free(c->pieces);
	kv_arena_free(&c->arena);
	memset(c, 0, sizeof(*c));
}
