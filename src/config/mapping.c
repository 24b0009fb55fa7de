/* Checking the shape of the document: node types, known keys, duplicate and missing keys. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MAX_KEYS 24 /* the most keys a mapping of the schema has (a service: 16), with room */

static const char *type_name(enum cnode_type t) {
	switch (t) {
	case CN_MAP: return "a mapping";
	case CN_SEQ: return "a sequence";
	default: return "a single value";
	}
}

bool cfg_expect(struct cfg_ctx *c, const struct cnode *n, enum cnode_type type, const char *hint) {
	if (n->type == type)
		return true;
	char buf[CFG_QUOTE_MAX];
	if (n->type == CN_ALIAS)
		cfg_error(c, n, "YAML aliases are not supported (*%s); write the value out", n->str);
	else
		cfg_error(c, n, "expected %s, got %s%s", type_name(type), cfg_describe(n, buf, sizeof(buf)),
			  hint ? hint : "");
	return false;
}

static void unknown_key(struct cfg_ctx *c, const struct cnode *k, const struct cfg_key *keys,
			size_t nkeys) {
	const char *names[MAX_KEYS];
	for (size_t i = 0; i < nkeys; i++)
		names[i] = keys[i].name;
	const char *s = cfg_suggest(k->str, names, nkeys);
	if (s) {
		cfg_error(c, k, "unknown key (did you mean \"%s\"?)", s);
	} else {
		char list[256];
		cfg_error(c, k, "unknown key; valid keys here are %s",
			  cfg_join(names, nkeys, " and ", list, sizeof(list)));
	}
}

/* Handles one key: returns its index in keys, or nkeys when it was reported. */
static size_t check_key(struct cfg_ctx *c, const struct cnode *k, const struct cfg_key *keys,
			size_t nkeys, const struct cnode **seen) {
	char buf[CFG_QUOTE_MAX];
	if (k->type != CN_SCALAR) {
		cfg_error(c, k, "a key must be a plain name, not %s", cfg_describe(k, buf, sizeof(buf)));
		return nkeys;
	}
	size_t i = 0;
	while (i < nkeys && strcmp(keys[i].name, k->str) != 0)
		i++;
	if (i < nkeys && !seen[i]) {
		seen[i] = k;
		return i;
	}
	/* the path names the key only in its own error: pushing it for every key of a 100k-backend
	 * file cost more than the decoding */
	size_t old = cfg_path_push_key(c, k->str);
	if (i == nkeys)
		unknown_key(c, k, keys, nkeys);
	else
		cfg_error(c, k, "duplicate key (first at line %u)", seen[i]->line);
	cfg_path_pop(c, old);
	return nkeys;
}

bool cfg_map(struct cfg_ctx *c, const struct cnode *n, const struct cfg_key *keys, size_t nkeys,
	     const struct cnode **vals) {
	const struct cnode *seen[MAX_KEYS] = {0};
	assert(nkeys <= MAX_KEYS);
	memset(vals, 0, nkeys * sizeof(*vals));
	if (!cfg_expect(c, n, CN_MAP, NULL))
		return false;
	/* libyaml guarantees a value after every key, so children come in pairs */
	for (const struct cnode *k = n->child; k && k->next; k = k->next->next) {
		size_t i = check_key(c, k, keys, nkeys, seen);
		if (i < nkeys)
			vals[i] = k->next;
	}
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].required && !vals[i] && !seen[i])
			cfg_error(c, n, "missing required key \"%s\"%s", keys[i].name,
				  keys[i].hint ? keys[i].hint : "");
	return true;
}
