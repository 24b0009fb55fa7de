/* include: the main file's list of globs, and the files they match. Wildcards are allowed in the
 * file name only, so that each entry reads one directory, the one the daemon watches. */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define INCLUDE_HINT "; write a list of file names or globs, e.g. [\"conf.d/*.yaml\"]"

void cfg_includes_free(struct lb_include *v, size_t n) {
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].pattern);
		free(v[i].dir);
		free(v[i].name);
	}
	free(v);
}

int cfg_includes_copy(struct lb_config *to, const struct lb_config *from) {
	if (!from->n_includes)
		return 0;
	to->includes = calloc(from->n_includes, sizeof(*to->includes));
	if (!to->includes)
		return -ENOMEM;
	for (size_t i = 0; i < from->n_includes; i++) {
		const struct lb_include *f = &from->includes[i];
		struct lb_include *t = &to->includes[to->n_includes++];
		*t = (struct lb_include){strdup(f->pattern), strdup(f->dir), strdup(f->name), f->line,
					 f->col};
		if (!t->pattern || !t->dir || !t->name)
			return -ENOMEM;
	}
	return 0;
}

static bool has_wildcard(const char *s, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/* "a/b" under main's directory: "conf.d" next to "/etc/ezlb/ezlb.yaml" is "/etc/ezlb/conf.d". */
static char *under_main(const char *main_path, const char *rel, size_t len) {
	const char *ms = strrchr(main_path, '/');
	char *out = NULL;
	int r;
	if (rel[0] == '/')
		r = asprintf(&out, "%.*s", (int)(len ? len : 1), rel);
	else if (!ms)
		r = len ? asprintf(&out, "%.*s", (int)len, rel) : asprintf(&out, ".");
	else if (!len)
		r = asprintf(&out, "%.*s", ms == main_path ? 1 : (int)(ms - main_path), main_path);
	else
		r = asprintf(&out, "%.*s/%.*s", (int)(ms - main_path), main_path, (int)len, rel);
	return r < 0 ? NULL : out;
}

/* Splits "[main's directory/]pattern" into directory and file name; false when refused. */
static bool split(struct cfg_ctx *c, const struct cnode *n, const char *main_path,
		  struct lb_include *inc) {
	const char *p = n->str, *slash = strrchr(p, '/');
	if (!*p || (slash && !slash[1])) {
		cfg_error(c, n, "\"%s\" names no file%s", p, INCLUDE_HINT);
		return false;
	}
	if (slash && has_wildcard(p, (size_t)(slash - p))) {
		cfg_error(c, n, "wildcards are allowed in the file name only, not in the directory (\"%s\")", p);
		return false;
	}
	inc->dir = under_main(main_path, p, slash ? (size_t)(slash - p) : 0);
	inc->name = strdup(slash ? slash + 1 : p);
	inc->pattern = strdup(p);
	inc->line = n->line;
	inc->col = n->col;
	if (!inc->dir || !inc->name || !inc->pattern)
		c->oom = true;
	return true;
}

void cfg_decode_include(struct cfg_ctx *c, const struct cnode *n, struct lb_config *cfg) {
	size_t old = cfg_path_push(c, "include");
	if (!cfg_expect(c, n, CN_SEQ, INCLUDE_HINT)) {
		cfg_path_pop(c, old);
		return;
	}
	cfg->includes = calloc(n->n ? n->n : 1, sizeof(*cfg->includes));
	if (!cfg->includes)
		c->oom = true;
	size_t i = 0;
	for (const struct cnode *it = n->child; it && cfg->includes; it = it->next, i++) {
		size_t o = cfg_path_push_index(c, i);
		if (cfg_expect(c, it, CN_SCALAR, INCLUDE_HINT) &&
		    split(c, it, cfg->path, &cfg->includes[cfg->n_includes]))
			cfg->n_includes++;
		cfg_path_pop(c, o);
	}
	cfg_path_pop(c, old);
}

static int by_str(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name in dir that the glob matches, sorted (C locale: byte order). */
static int scan(struct cfg_ctx *c, const struct lb_include *inc, size_t idx, char ***paths,
		size_t *n) {
	DIR *dir = opendir(inc->dir);
	if (!dir) {
		int r = -errno;
		size_t old = cfg_path_push(c, "include[%zu]", idx);
		cfg_error_at(c, inc->line, inc->col, "cannot read directory %s: %s", inc->dir,
			     strerror(-r));
		cfg_path_pop(c, old);
		return r;
	}
	size_t cap = 0;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(dir))) {
		if (fnmatch(inc->name, e->d_name, FNM_PERIOD) != 0)
			continue;
		if (*n >= CFG_MAX_FILES)
			r = -E2BIG;
		else if (GROW(*paths, cap, *n + 1) < 0 ||
			 asprintf(&(*paths)[*n], "%s/%s", inc->dir, e->d_name) < 0)
			r = -ENOMEM;
		else
			(*n)++;
	}
	closedir(dir);
	if (r == -E2BIG) {
		size_t old = cfg_path_push(c, "include[%zu]", idx);
		cfg_error_at(c, inc->line, inc->col, "matches more than %u files", CFG_MAX_FILES);
		cfg_path_pop(c, old);
	}
	if (r == 0 && *n)
		qsort(*paths, *n, sizeof(**paths), by_str);
	return r;
}

int cfg_include_resolve(struct cfg_ctx *c, const struct lb_include *inc, size_t idx, char ***paths,
			size_t *n) {
	*paths = NULL;
	*n = 0;
	if (has_wildcard(inc->name, strlen(inc->name)))
		return scan(c, inc, idx, paths, n);
	/* a plain name is one file, which must exist: reading it says if it does not */
	if (!(*paths = calloc(1, sizeof(**paths))) ||
	    asprintf(&(*paths)[0], "%s/%s", inc->dir, inc->name) < 0)
		return -ENOMEM;
	*n = 1;
	return 0;
}
