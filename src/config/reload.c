/* Loading the main file and the files it includes into one config, reusing the units of the
 * previous config for files whose signature has not changed: a one-file edit among a thousand
 * costs one parse, a directory scan, a stat per file and the checks across services. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* prev's included files by path, to find the unit a path had. */
struct prev_unit {
	const char *path;
	struct lb_config_file *u;
};

static int by_path(const void *a, const void *b) {
	return strcmp(((const struct prev_unit *)a)->path, ((const struct prev_unit *)b)->path);
}

static int by_str_ptr(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool sig_known(const struct lb_file_sig *s) { return s->ino != 0 || s->dev != 0; }

/* prev's unit for path if the file still has the version it was parsed from. */
static struct lb_config_file *reusable(const struct prev_unit *idx, size_t n, const char *path,
				       const struct lb_file_sig *now) {
	struct prev_unit key = {path, NULL};
	const struct prev_unit *p = n ? bsearch(&key, idx, n, sizeof(*idx), by_path) : NULL;
	if (!p || !sig_known(now) || !lb_file_sig_eq(&p->u->sig, now))
		return NULL;
	return p->u;
}

static int add_unit(struct lb_config *cfg, size_t *cap, struct lb_config_file *u, bool fresh) {
	if (cfg->n_files == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct lb_config_file **f = reallocarray(cfg->files, c, sizeof(*f));
		if (f)
			cfg->files = f;
		bool *fr = f ? reallocarray(cfg->fresh, c, sizeof(*fr)) : NULL;
		if (!fr) {
			cfg_unit_unref(u);
			return -ENOMEM;
		}
		cfg->fresh = fr;
		*cap = c;
	}
	cfg->files[cfg->n_files] = u;
	cfg->fresh[cfg->n_files++] = fresh;
	cfg->n_read += fresh;
	return 0;
}

/* Every path the include entries name now, in include order, each once; the main file itself
 * (a glob next to it may match it) is left out. */
static int resolve_all(struct cfg_ctx *c, const struct lb_config *cfg, char ***out, size_t *n_out) {
	char **all = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	for (size_t i = 0; i < cfg->n_includes; i++) {
		char **p = NULL;
		size_t np = 0;
		int q = cfg_include_resolve(c, &cfg->includes[i], i, &p, &np);
		if (q == 0 && n + np > CFG_MAX_FILES)
			q = -E2BIG;
		if (q == 0 && GROW(all, cap, n + np) < 0)
			q = -ENOMEM;
		for (size_t j = 0; j < np; j++) {
			if (q == 0)
				all[n++] = p[j];
			else
				free(p[j]);
		}
		free(p);
		if (q < 0 && r == 0)
			r = q;
	}
	*out = all;
	*n_out = n;
	return r;
}

/* Overlapping globs name a file once, where it first appears. */
static void drop_duplicates(char **paths, size_t *n) {
	if (*n < 2)
		return;
	_cleanup_free_ struct prev_unit *s = calloc(*n, sizeof(*s));
	_cleanup_free_ bool *drop = calloc(*n, sizeof(*drop));
	if (!s || !drop)
		return; /* then a file named twice reports its services as duplicates */
	for (size_t i = 0; i < *n; i++)
		s[i] = (struct prev_unit){paths[i], (void *)(uintptr_t)i};
	/* qsort is not stable: within a run of equal paths the earliest index is kept */
	qsort(s, *n, sizeof(*s), by_path);
	for (size_t i = 1, first = 0; i < *n; i++) {
		if (strcmp(s[i].path, s[first].path) != 0) {
			first = i;
			continue;
		}
		uintptr_t a = (uintptr_t)s[first].u, b = (uintptr_t)s[i].u;
		drop[a > b ? a : b] = true;
		if (a > b)
			s[first].u = s[i].u;
	}
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if (drop[i])
			free(paths[i]);
		else
			paths[k++] = paths[i];
	}
	*n = k;
}

static struct prev_unit *index_prev(const struct lb_config *prev, size_t *n) {
	*n = 0;
	if (!prev || prev->n_files < 2)
		return NULL;
	struct prev_unit *idx = calloc(prev->n_files - 1, sizeof(*idx));
	if (!idx)
		return NULL; /* every file is read again */
	for (size_t f = 1; f < prev->n_files; f++)
		idx[(*n)++] = (struct prev_unit){prev->files[f]->path, prev->files[f]};
	qsort(idx, *n, sizeof(*idx), by_path);
	return idx;
}

static bool is_dirty(const struct cfg_dirty *dirty, const char *path) {
	return !dirty || (dirty->n && bsearch(&path, dirty->paths, dirty->n, sizeof(*dirty->paths),
					      by_str_ptr));
}

/* One included file: prev's unit if unchanged, else parsed, its messages under its own name. A
 * file prev holds and the caller's watcher saw no event for is unchanged without a stat: a stat
 * of each of a thousand files is most of a reload's time under emulation. */
static int include_file(struct cfg_ctx *c, struct lb_config *cfg, size_t *cap, const char *path,
			const struct prev_unit *idx, size_t n_idx, uint32_t file_no,
			const struct cfg_dirty *dirty) {
	struct lb_file_sig now;
	if (!is_dirty(dirty, path)) {
		struct prev_unit key = {path, NULL};
		const struct prev_unit *p = n_idx ? bsearch(&key, idx, n_idx, sizeof(*idx), by_path) : NULL;
		if (p)
			return add_unit(cfg, cap, cfg_unit_ref(p->u), false);
	}
	lb_file_sig_get(path, &now);
	const struct lb_file_sig *main_sig = &cfg->files[0]->sig;
	if (sig_known(&now) && now.dev == main_sig->dev && now.ino == main_sig->ino)
		return 0; /* the main file, matched by a glob next to it */
	struct lb_config_file *u = reusable(idx, n_idx, path, &now);
	if (u)
		return add_unit(cfg, cap, cfg_unit_ref(u), false);
	c->file = path;
	c->file_no = file_no;
	int r = cfg_unit_load(c, path, &u);
	return r < 0 ? r : add_unit(cfg, cap, u, true);
}

/* Every file is tried, so that one load reports the errors of all of them. */
static int load_includes(struct cfg_ctx *c, const struct lb_config *prev, struct lb_config *cfg,
			 const struct cfg_dirty *dirty) {
	char **paths = NULL;
	size_t n = 0, n_idx = 0, cap = cfg->n_files;
	int r = resolve_all(c, cfg, &paths, &n);
	drop_duplicates(paths, &n);
	struct prev_unit *idx = index_prev(prev, &n_idx);
	for (size_t i = 0; i < n; i++) {
		int q = r == -ENOMEM ? 0 : include_file(c, cfg, &cap, paths[i], idx, n_idx,
							  (uint32_t)(i + 1), dirty);
		if (q < 0 && (r == 0 || r == -EINVAL))
			r = q;
		free(paths[i]);
	}
	free(paths);
	free(idx);
	return r;
}

/* services[] as shallow copies of the units' services, in file order. Each copy owns its name:
 * callers have long treated a loaded config's names as theirs to replace (tests, observers), and
 * a thousand strdups are nothing next to a parse. */
static int assemble(struct lb_config *cfg) {
	size_t n = 0, k = 0;
	for (size_t f = 0; f < cfg->n_files; f++)
		n += cfg->files[f]->n_services;
	cfg->services = calloc(n ? n : 1, sizeof(*cfg->services));
	cfg->svc_file = calloc(n ? n : 1, sizeof(*cfg->svc_file));
	cfg->file_first = calloc(cfg->n_files, sizeof(*cfg->file_first));
	if (!cfg->services || !cfg->svc_file || !cfg->file_first)
		return -ENOMEM;
	for (size_t f = 0; f < cfg->n_files; f++) {
		const struct lb_config_file *u = cfg->files[f];
		cfg->file_first[f] = k;
		for (size_t j = 0; j < u->n_services; j++, k++) {
			cfg->services[k] = u->services[j];
			cfg->services[k].name = NULL;
			cfg->n_services = k + 1; /* from now on lb_config_free frees its name */
			if (u->services[j].name && !(cfg->services[k].name = strdup(u->services[j].name)))
				return -ENOMEM;
			/* global.drain_timeout may be written after the services, or change alone */
			if (!u->pos[j].drain_set)
				cfg->services[k].drain_timeout_ms = cfg->drain_timeout_ms;
			cfg->svc_file[k] = (uint32_t)f;
		}
	}
	return 0;
}

/* prev's globals with the main file's unit shared: the main file has not changed. */
static struct lb_config *copy_main(const struct lb_config *prev) {
	struct lb_config *cfg = cfg_config_new(prev->path);
	if (!cfg)
		return NULL;
	char *path = cfg->path;
	*cfg = *prev;
	cfg->path = path;
	cfg->services = NULL;
	cfg->n_services = 0;
	cfg->files = NULL;
	cfg->n_files = cfg->n_read = 0;
	cfg->file_first = NULL;
	cfg->svc_file = NULL;
	cfg->fresh = NULL;
	cfg->includes = NULL;
	cfg->n_includes = 0;
	cfg->notify_argv = NULL;
	cfg->notify_argc = 0;
	int r = cfg_includes_copy(cfg, prev);
	if (r == 0 && prev->notify_argv) {
		cfg->notify_argv = calloc(prev->notify_argc + 1, sizeof(*cfg->notify_argv));
		r = cfg->notify_argv ? 0 : -ENOMEM;
		for (size_t i = 0; r == 0 && i < prev->notify_argc; i++, cfg->notify_argc++)
			if (!(cfg->notify_argv[i] = strdup(prev->notify_argv[i])))
				r = -ENOMEM;
	}
	if (r < 0) {
		lb_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static int load_main(struct cfg_ctx *c, const struct lb_config *prev, const char *path,
		     const char *buf, size_t len, struct lb_config **out) {
	struct lb_file_sig now;
	size_t cap = 0;
	struct lb_config_file *u = NULL;
	lb_file_sig_get(path, &now);
	if (!buf && prev && prev->files && strcmp(prev->path, path) == 0 && sig_known(&now) &&
	    lb_file_sig_eq(&prev->files[0]->sig, &now)) {
		if (!(*out = copy_main(prev)))
			return -ENOMEM;
		return add_unit(*out, &cap, cfg_unit_ref(prev->files[0]), false);
	}
	int r = cfg_parse_main(c, path, buf, len, out, &u);
	if (r == 0)
		r = add_unit(*out, &cap, u, true);
	return r;
}

int cfg_reload(struct cfg_ctx *c, const struct lb_config *prev, const struct cfg_dirty *dirty,
	       const char *path, const char *buf, size_t len, struct lb_config **out) {
	struct lb_config *cfg = NULL;
	if (prev && !prev->files)
		prev = NULL; /* built by hand: nothing to reuse */
	int r = load_main(c, prev, path, buf, len, &cfg);
	if (r == 0 && !buf) /* a buffer (the fuzzer) stands alone: its globs read no directory */
		r = load_includes(c, prev, cfg, dirty);
	if (r == 0)
		r = assemble(cfg);
	if (r == 0)
		cfg_validate_services(c, cfg);
	if (c->oom)
		r = -ENOMEM;
	else if (r == 0 && c->n_msgs)
		r = -EINVAL; /* the config is kept only if nothing at all was reported */
	if (r < 0)
		lb_config_free(cfg);
	else
		*out = cfg;
	return r;
}
