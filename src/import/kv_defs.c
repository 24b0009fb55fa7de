/* keepalived's parameter substitution: "$NAME=value" lines define, "$NAME" and "${NAME}" later
 * on any line are replaced (then the line is read again: comments, "@id", more "$"). The forms
 * that generate lines (~SEQ, ~LST, multi-line and parameterised definitions, $_RANDOM,
 * $_INSTANCE) are refused: the importer would have to guess what keepalived makes of them. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "kv.h"
#include "util.h"

struct kv_def {
	const char *name, *value;
	size_t name_len, value_len;
};

static bool name_char(char ch) {
	return isalnum((unsigned char)ch) || ch == '_';
}

static struct kv_def *find(struct kv_ctx *c, const char *name, size_t len) {
	for (size_t i = 0; i < c->n_defs; i++)
		if (c->defs[i].name_len == len && !memcmp(c->defs[i].name, name, len))
			return &c->defs[i];
	return NULL;
}

static int set(struct kv_ctx *c, const char *name, size_t nlen, const char *value, size_t vlen,
	       struct kv_loc at) {
	struct kv_def *d = find(c, name, nlen);
	if (!d) {
		if (c->n_defs >= KV_DEFS_MAX) {
			kv_error(c, at, "more than %d definitions", KV_DEFS_MAX);
			return -E2BIG;
		}
		if (GROW(c->defs, c->cap_defs, c->n_defs + 1) < 0) {
			c->oom = true;
			return -ENOMEM;
		}
		d = &c->defs[c->n_defs++];
		d->name = kv_strndup(&c->arena, name, nlen);
		d->name_len = nlen;
	}
	d->value = kv_strndup(&c->arena, value, vlen);
	d->value_len = vlen;
	if (!d->name || !d->value) {
		c->oom = true;
		return -ENOMEM;
	}
	return 0;
}

/* The standard ones keepalived predefines that mean the same on any host. */
static int ensure_std(struct kv_ctx *c, struct kv_loc at) {
	if (c->n_defs)
		return 0;
	int r = set(c, "_HASH", 5, "#", 1, at);
	return r < 0 ? r : set(c, "_BANG", 5, "!", 1, at);
}

int kv_def_line(struct kv_ctx *c, const char *line, struct kv_loc at) {
	if (line[0] != '$' || !(isalpha((unsigned char)line[1]) || line[1] == '_'))
		return 0;
	const char *p = line + 2;
	while (name_char(*p))
		p++;
	if (*p != '=')
		return 0;
	size_t nlen = (size_t)(p - line - 1);
	const char *value = p + 1 + strspn(p + 1, " \t");
	size_t vlen = strlen(value);
	if (vlen && value[vlen - 1] == '\\') {
		kv_error(c, at, "multi-line definition $%.*s: not supported by import-keepalived; write "
				"the lines out", (int)nlen, line + 1);
		return -ENOTSUP;
	}
	int r = ensure_std(c, at);
	return r < 0 ? r : set(c, line + 1, nlen, value, vlen, at) < 0 ? -ENOMEM : 1;
}

/* The definition named at s (just after '$'), as keepalived matches it: "NAME" followed by a
 * blank, ',', ')' or the end, or "{NAME}". *len: the characters to replace after the '$'. */
static struct kv_def *match(struct kv_ctx *c, const char *s, size_t *len, bool *refused) {
	bool braces = *s == '{';
	const char *name = s + braces;
	if (!isalpha((unsigned char)*name) && *name != '_')
		return NULL;
	const char *e = name + 1;
	while (name_char(*e))
		e++;
	if (braces ? *e != '}' : (*e && !strchr(" \t,)", *e)))
		return NULL;
	size_t nlen = (size_t)(e - name);
	struct kv_def *d = find(c, name, nlen);
	static const char *const dynamic[] = {"_INSTANCE", "_RANDOM", "_PWD"};
	for (size_t i = 0; !d && i < ARRAY_SIZE(dynamic); i++)
		if (strlen(dynamic[i]) == nlen && !memcmp(name, dynamic[i], nlen))
			*refused = true;
	*len = nlen + (braces ? 2 : 0);
	return d;
}

int kv_subst(struct kv_ctx *c, char *line, size_t cap, struct kv_loc at) {
	int r = ensure_std(c, at);
	if (r < 0)
		return r;
	bool changed = false;
	size_t rounds = 0;
	for (char *p = line; (p = strchr(p, '$')) && p[1];) {
		size_t len;
		bool refused = false;
		struct kv_def *d = match(c, p + 1, &len, &refused);
		if (refused) {
			kv_error(c, at, "$%.*s: not supported by import-keepalived (its value depends on the "
					"running keepalived); write the value out", (int)len, p + 1);
			return -ENOTSUP;
		}
		if (!d) {
			p++;
			continue;
		}
		size_t used = strlen(line);
		if (++rounds > KV_SUBST_MAX * 8 || used - (len + 1) + d->value_len >= cap) {
			kv_error(c, at, "substituting $%s makes the line longer than %d bytes (or never "
					"ends)", d->name, KV_LINE_MAX);
			return -E2BIG;
		}
		/* keepalived goes on from the start of the value: a value holding "$X" is expanded */
		memmove(p + d->value_len, p + 1 + len, strlen(p + 1 + len) + 1);
		memcpy(p, d->value, d->value_len);
		changed = true;
	}
	return changed;
}
