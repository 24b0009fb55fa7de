/* keepalived's line reader: files and their includes -> pieces (a run of words, "{" or "}"),
 * each with its file:line. The order of the steps on a line is keepalived's: the comment goes,
 * an "@id" prefix keeps or drops the line, "$NAME=" defines, "$NAME" is replaced, "include"
 * reads files in place, and what is left is cut at braces; what follows a brace goes through
 * the same steps again. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv.h"
#include "util.h"

#define LINE_CAP (KV_LINE_MAX + 1) /* keepalived's MAXBUF */

struct src {
	uint32_t file;
	const char *dir; /* includes are relative to it ("" : the current directory) */
};

static int add_piece(struct kv_ctx *c, struct kv_loc at, const char *s, size_t len) {
	if (GROW(c->pieces, c->cap_pieces, c->n_pieces + 1) < 0) {
		c->oom = true;
		return -ENOMEM;
	}
	struct kv_piece *p = &c->pieces[c->n_pieces];
	*p = (struct kv_piece){.kind = KV_WORDS, .at = at};
	if (len == 1 && (*s == '{' || *s == '}')) {
		p->kind = *s == '{' ? KV_OPEN : KV_CLOSE;
	} else {
		if (!(p->raw = kv_strndup(&c->arena, s, len))) {
			c->oom = true;
			return -ENOMEM;
		}
		int r = kv_words(&c->arena, p->raw, &p->w, &p->n);
		if (r == -EINVAL) {
			kv_error(c, at, "unmatched '\"' in \"%s\"", p->raw);
			return r;
		}
		if (r < 0) {
			c->oom = true;
			return r;
		}
		if (!p->n)
			return 0;
	}
	c->n_pieces++;
	return 0;
}

/* "@ID rest": rest when ID is the config id ("@^ID": when it is not), else NULL. */
static char *conditional(struct kv_ctx *c, char *line, struct kv_loc at) {
	bool negate = line[1] == '^';
	char *id = line + 1 + negate;
	size_t id_len = strcspn(id, " \t");
	if (!id[id_len])
		return NULL; /* nothing after the id: keepalived drops the line */
	bool match = strlen(c->config_id) == id_len && !strncmp(id, c->config_id, id_len);
	bool keep = match != negate;
	kv_warn(c, at, "conditional line for config id \"%.*s\": %s as keepalived does on a host "
		       "whose config id is \"%s\" (the short host name unless keepalived -i says "
		       "otherwise)", (int)id_len, id, keep ? "imported" : "left out", c->config_id);
	return keep ? id + id_len + strspn(id + id_len, " \t") : NULL;
}

/* The steps before a line is cut at braces. Returns 1 to go on with line, 0 when the line is
 * used up (dropped, a definition), a negative errno on error. */
static int expand(struct kv_ctx *c, char *line, struct kv_loc at) {
	for (int round = 0; round < KV_SUBST_MAX; round++) {
		if (line[0] == '@') {
			char *rest = conditional(c, line, at);
			if (!rest)
				return 0;
			memmove(line, rest, strlen(rest) + 1);
		}
		int r = kv_def_line(c, line, at);
		if (r)
			return r < 0 ? r : 0;
		if (!strncmp(line, "~SEQ", 4) || !strncmp(line, "~LST", 4)) {
			kv_error(c, at, "%.4s: not supported by import-keepalived; write the lines it "
					"generates out", line);
			return -ENOTSUP;
		}
		if (line[0] == '~' || !strchr(line, '$'))
			return 1;
		if ((r = kv_subst(c, line, LINE_CAP, at)) <= 0)
			return r < 0 ? r : 1;
		if (!kv_decomment(line)) {
			kv_error(c, at, "unterminated '\"' after substitution: \"%s\"", line);
			return -EINVAL;
		}
		if (line[0] != '@' && !strchr(line, '$'))
			return 1;
	}
	kv_error(c, at, "substitution does not end after %d rounds", KV_SUBST_MAX);
	return -ELOOP;
}

/* "include PATTERN" and its variants includer, includem, includew, includeb, includea. */
static const char *include_pattern(const char *line) {
	if (strncmp(line, "include", 7) || !line[7])
		return NULL;
	const char *p = line + 7;
	if (!strchr(" \t", *p)) {
		if (!strchr("rmwba", *p) || !p[1] || !strchr(" \t", p[1]))
			return NULL;
		p++;
	}
	return p + strspn(p, " \t");
}

static int include(struct kv_ctx *c, const struct src *s, const char *pattern, struct kv_loc at) {
	if (c->flags & KV_NO_INCLUDE) {
		kv_warn(c, at, "include %s: not followed here", pattern);
		return 0;
	}
	if (c->depth >= KV_DEPTH_MAX) {
		kv_error(c, at, "include %s: includes nested deeper than %d", pattern, KV_DEPTH_MAX);
		return -ELOOP;
	}
	const char **paths;
	size_t n;
	int r = kv_glob(&c->arena, s->dir, pattern, &paths, &n);
	if (r == -ENOMEM) {
		c->oom = true;
		return r;
	}
	if (r < 0) {
		kv_warn(c, at, "include %s: %s; skipped, as keepalived does", pattern, strerror(-r));
		return 0;
	}
	if (!n)
		kv_warn(c, at, "include %s: no file matches (keepalived goes on without it)", pattern);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(paths[i]);
		if (len && paths[i][len - 1] == '/') {
			kv_warn(c, at, "include %s: %s is a directory; skipped, as keepalived does",
				pattern, paths[i]);
			continue;
		}
		if ((r = kv_lex_file(c, paths[i], at)) < 0)
			return r;
	}
	return 0;
}

/* One line of a file, comment already removed; line has room for LINE_CAP bytes. */
static int logical_line(struct kv_ctx *c, const struct src *s, char *line, struct kv_loc at) {
	while (line[0]) {
		int r = expand(c, line, at);
		if (r <= 0)
			return r;
		const char *pattern = include_pattern(line);
		if (pattern)
			return include(c, s, pattern, at);
		const char *rest;
		size_t len = kv_cut_piece(line, &rest);
		if ((r = add_piece(c, at, line, len)) < 0)
			return r;
		memmove(line, rest, strlen(rest) + 1);
	}
	return 0;
}

static int lex_text(struct kv_ctx *c, const struct src *s, const char *buf, size_t len) {
	char line[LINE_CAP + 1];
	struct kv_loc at = {s->file, 0};
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		at.line++;
		if (memchr(buf + off, '\0', n)) {
			kv_error(c, at, "NUL byte in the line: not a text file");
			return -EINVAL;
		}
		while (n && buf[off + n - 1] == '\r')
			n--;
		/* keepalived reads 1023 bytes at a time: a longer line would be cut in two */
		if (n > KV_LINE_MAX - 1) {
			kv_error(c, at, "line longer than %d bytes (keepalived would split it)", KV_LINE_MAX - 1);
			return -E2BIG;
		}
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += (nl ? (size_t)(nl - (buf + off)) + 1 : len - off);
		if (!kv_decomment(line)) {
			kv_error(c, at, "unterminated '\"'");
			return -EINVAL;
		}
		int r = logical_line(c, s, line, at);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The directory of path as keepalived resolves includes from it. */
static const char *dir_of(struct kv_ctx *c, const char *path) {
	if (!strchr(path, '/'))
		return "";
	char *copy = kv_strndup(&c->arena, path, strlen(path));
	return copy ? dirname(copy) : NULL;
}

static int lex_named(struct kv_ctx *c, const char *name, const char *buf, size_t len) {
	struct src s = {.dir = dir_of(c, name)};
	if (!s.dir || kv_file_add(c, name, &s.file) < 0) {
		c->oom = true;
		return -ENOMEM;
	}
	return lex_text(c, &s, buf, len);
}

int kv_lex_buf(struct kv_ctx *c, const char *name, const char *buf, size_t len) {
	return lex_named(c, name, buf, len);
}

/* A file an include names may be unusable in the ways keepalived skips with a message; the
 * main file (from.line 0) must be readable, and nothing too large is read. */
static int open_failed(struct kv_ctx *c, const char *path, struct kv_loc from, int r,
		       const char *why) {
	const char *reason = why ? why : strerror(-r);
	if (from.line == 0) {
		uint32_t idx;
		if (kv_file_add(c, path, &idx) < 0)
			return -ENOMEM;
		kv_error(c, (struct kv_loc){idx, 0}, "%s", reason);
		return r;
	}
	if (r == -EFBIG || r == -ENOMEM) {
		kv_error(c, from, "include: %s %s", path, reason);
		return r;
	}
	kv_warn(c, from, "include: %s %s; skipped, as keepalived does", path, reason);
	return 0;
}

int kv_lex_file(struct kv_ctx *c, const char *path, struct kv_loc from) {
	if (c->n_files >= KV_FILES_MAX) {
		kv_error(c, from, "more than %d files included", KV_FILES_MAX);
		return -E2BIG;
	}
	size_t room = KV_TOTAL_MAX - c->total_bytes;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct stat st;
	const char *why;
	int r = kv_read_file(path, room < KV_FILE_MAX ? room : KV_FILE_MAX, &buf, &len, &st, &why);
	if (r < 0)
		return open_failed(c, path, from, r, why);
	if (from.line && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		kv_warn(c, from, "include: %s is executable; skipped, as keepalived does", path);
		return 0;
	}
	for (size_t i = 0; i < c->depth; i++)
		if (c->open[i].dev == st.st_dev && c->open[i].ino == st.st_ino) {
			kv_error(c, from, "include: %s includes itself (an include loop)", path);
			return -ELOOP;
		}
	c->total_bytes += len;
	c->open[c->depth].dev = st.st_dev;
	c->open[c->depth].ino = st.st_ino;
	c->depth++;
	r = lex_named(c, path, buf, len);
	c->depth--;
	return r;
}
