/* Collecting configuration errors: each one a complete line "file:line:col: key.path: message". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

void lb_diag_free(struct lb_diag *d) {
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}

static void add_msg(struct cfg_ctx *c, uint32_t line, uint32_t col, char *text) {
	if (!text || GROW(c->msgs, c->cap_msgs, c->n_msgs + 1) < 0) {
		free(text);
		c->oom = true;
		return;
	}
	c->msgs[c->n_msgs] = (struct cfg_msg){.file_no = c->file_no, .line = line, .col = col,
					      .seq = c->n_msgs, .text = text};
	c->n_msgs++;
}

static char *vformat(const char *fmt, va_list ap) {
	char *s;
	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

void cfg_file_error(struct cfg_ctx *c, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = vformat(fmt, ap);
	va_end(ap);
	char *text = NULL;
	if (m && asprintf(&text, "%s: %s", c->file, m) < 0)
		text = NULL;
	add_msg(c, 0, 0, text);
}

void cfg_pos_error(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = vformat(fmt, ap);
	va_end(ap);
	char *text = NULL;
	if (m && asprintf(&text, "%s:%u:%u: %s", c->file, line, col, m) < 0)
		text = NULL;
	add_msg(c, line, col, text);
}

static void verror(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *fmt, va_list ap) {
	_cleanup_free_ char *m = vformat(fmt, ap);
	const char *path = c->path_len ? c->path : "(top level)";
	char *text = NULL;
	if (m && asprintf(&text, "%s:%u:%u: %s: %s", c->file, line, col, path, m) < 0)
		text = NULL;
	add_msg(c, line, col, text);
}

void cfg_error(struct cfg_ctx *c, const struct cnode *at, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	verror(c, at->line, at->col, fmt, ap);
	va_end(ap);
}

void cfg_error_at(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	verror(c, line, col, fmt, ap);
	va_end(ap);
}

void cfg_key_error(struct cfg_ctx *c, const char *key, const struct cnode *at, const char *fmt, ...) {
	size_t old = cfg_path_push_name(c, key);
	va_list ap;
	va_start(ap, fmt);
	verror(c, at->line, at->col, fmt, ap);
	va_end(ap);
	cfg_path_pop(c, old);
}

/* Appends n bytes; a path too long to hold is cut (the line:column still locate the error). */
static size_t path_append(struct cfg_ctx *c, const char *s, size_t n) {
	size_t old = c->path_len, room = sizeof(c->path) - 1 - old;
	if (n > room)
		n = room;
	memcpy(c->path + old, s, n);
	c->path_len = old + n;
	c->path[c->path_len] = 0;
	return old;
}

/* Paths are pushed for every node of a large file and read only for errors: the common forms
 * (a plain word, "[index]") are built without printf. */
size_t cfg_path_push(struct cfg_ctx *c, const char *fmt, ...) {
	if (!strchr(fmt, '%'))
		return path_append(c, fmt, strlen(fmt));
	size_t old = c->path_len;
	size_t room = sizeof(c->path) - old;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(c->path + old, room, fmt, ap);
	va_end(ap);
	/* a path too long to hold is cut; the line:column still locate the error */
	c->path_len = r < 0 ? old : (size_t)r >= room ? sizeof(c->path) - 1 : old + (size_t)r;
	return old;
}

size_t cfg_path_push_name(struct cfg_ctx *c, const char *name) {
	size_t old = c->path_len;
	if (old)
		path_append(c, ".", 1);
	path_append(c, name, strlen(name));
	return old;
}

size_t cfg_path_push_index(struct cfg_ctx *c, size_t i) {
	char buf[24], *p = buf + sizeof(buf);
	*--p = ']';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) && p > buf + 1);
	*--p = '[';
	return path_append(c, p, (size_t)(buf + sizeof(buf) - p));
}

size_t cfg_path_push_key(struct cfg_ctx *c, const char *key) {
	char safe[65];
	size_t o = 0;
	if (c->path_len)
		safe[o++] = '.';
	/* a key is user text: keep the message on one line */
	for (; *key && o + 1 < sizeof(safe); key++)
		safe[o++] = (unsigned char)*key < 0x20 || *key == 0x7f ? '?' : *key;
	return path_append(c, safe, o);
}

void cfg_path_pop(struct cfg_ctx *c, size_t len) {
	c->path_len = len;
	c->path[len] = 0;
}

static int msg_cmp(const void *a, const void *b) {
	const struct cfg_msg *x = a, *y = b;
	if (x->file_no != y->file_no)
		return x->file_no < y->file_no ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cfg_ctx_finish(struct cfg_ctx *c, struct lb_diag *d) {
	if (!c->n_msgs)
		return c->oom ? -ENOMEM : 0;
	qsort(c->msgs, c->n_msgs, sizeof(*c->msgs), msg_cmp);
	bool lost = c->oom;
	if (GROW(d->msgs, d->cap, d->n + c->n_msgs) < 0)
		lost = true;
	for (size_t i = 0; i < c->n_msgs; i++) {
		if (d->n < d->cap)
			d->msgs[d->n++] = c->msgs[i].text;
		else
			free(c->msgs[i].text);
	}
	free(c->msgs);
	c->msgs = NULL;
	c->n_msgs = c->cap_msgs = 0;
	return lost ? -ENOMEM : 0;
}

/* Quoted like a C string, cut at a length that keeps the line readable. */
const char *cfg_quote(const char *s, char *buf, size_t len) {
	size_t o = 0;
	buf[o++] = '"';
	for (; *s && o + 8 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			o += snprintf(buf + o, len - o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			o += snprintf(buf + o, len - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (*s) {
		/* do not cut a UTF-8 character in half: drop its leading bytes */
		if (((unsigned char)*s & 0xc0) == 0x80) {
			while (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
				o--;
		}
		o += snprintf(buf + o, len - o, "...");
	}
	snprintf(buf + o, len - o, "\"");
	return buf;
}

const char *cfg_describe(const struct cnode *n, char *buf, size_t len) {
	switch (n->type) {
	case CN_MAP: return "a mapping";
	case CN_SEQ: return "a sequence";
	case CN_ALIAS: return "an alias";
	default: return cfg_is_null(n) ? "null" : cfg_quote(n->str, buf, len);
	}
}
