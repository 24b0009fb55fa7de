/* lb_config_load: file -> validated, immutable struct lb_config, or every error found. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

const char *lb_fwd_name(enum lb_fwd f) {
	switch (f) {
	case LB_FWD_NAT: return "nat";
	case LB_FWD_DR: return "dr";
	case LB_FWD_TUN: return "tun";
	default: return "unknown";
	}
}

static const char *const check_type_names[LB_CHECK_N] = {
	[LB_CHECK_AUTO] = "auto", [LB_CHECK_NONE] = "none",   [LB_CHECK_TCP] = "tcp",
	[LB_CHECK_UDP] = "udp",   [LB_CHECK_HTTP] = "http",   [LB_CHECK_HTTPS] = "https",
	[LB_CHECK_EXEC] = "exec", [LB_CHECK_DNS] = "dns",
};

const char *lb_check_type_name(enum lb_check_type t) {
	return t < LB_CHECK_N ? check_type_names[t] : "unknown";
}

enum lb_check_type lb_check_type_of(const struct lb_check_conf *c, uint16_t protocol) {
	if (!c->enabled)
		return LB_CHECK_NONE;
	if (c->type != LB_CHECK_AUTO)
		return c->type;
	return protocol == IPPROTO_TCP ? LB_CHECK_TCP : protocol == IPPROTO_UDP ? LB_CHECK_UDP
										: LB_CHECK_NONE;
}

/* A share is rounded up: "50%" of 3 backends is 2, so the share asked for is never undercut. A
 * share of no backends is still one: a service without backends has no up backend and so has
 * lost quorum, which is what sends it to its sorry servers. */
uint32_t lb_quorum_min_up(const struct lb_service_conf *sc) {
	const struct lb_quorum_conf *q = &sc->quorum;
	if (!q->enabled)
		return 0;
	if (!q->pct)
		return q->min_up;
	uint64_t need = ((uint64_t)q->min_up * sc->n_backends + 99) / 100;
	if (need == 0)
		return 1;
	return need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
}

/* What lb_check_conf owns. */
void cfg_check_free(struct lb_check_conf *c) {
	free(c->http.path);
	free(c->http.host);
	free(c->http.expect);
	free(c->http.ca_file);
	for (size_t i = 0; i < c->exec.argc; i++)
		free(c->exec.argv[i]);
	free(c->exec.argv);
	free(c->dns.name);
	free(c->udp.send);
	free(c->udp.expect);
}

void cfg_services_free(struct lb_service_conf *s, size_t n) {
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		cfg_check_free(&s[i].check);
		free(s[i].backends);
		free(s[i].sorry);
	}
	free(s);
}

/* A loaded config's services are shallow copies of its files' (see struct lb_config): those are
 * freed with the last config that holds them. */
void lb_config_free(struct lb_config *c) {
	if (!c)
		return;
	if (c->files) {
		for (size_t f = 0; f < c->n_files; f++)
			cfg_unit_unref(c->files[f]);
		free(c->files);
		for (size_t i = 0; i < c->n_services; i++)
			free(c->services[i].name); /* the copies' own (see assemble) */
		free(c->services);
	} else {
		cfg_services_free(c->services, c->n_services);
	}
	free(c->file_first);
	free(c->svc_file);
	free(c->fresh);
	cfg_includes_free(c->includes, c->n_includes);
	for (size_t i = 0; i < c->notify_argc; i++)
		free(c->notify_argv[i]);
	free(c->notify_argv);
	free(c->path);
	free(c);
}

struct lb_config *cfg_config_new(const char *path) {
	struct lb_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	cfg->log_level = -1;
	cfg->resync_interval_ms = 30000;
	cfg->max_exec_checks = 64;
	cfg->drain_timeout_ms = CFG_DRAIN_DEFAULT_MS;
	cfg->notify_timeout_ms = CFG_NOTIFY_TIMEOUT_DEFAULT_MS;
	/* a constant that parses: the listen address of `metrics: {}` */
	(void)lb_addr_parse(CFG_METRICS_DEFAULT_LISTEN, &cfg->metrics_listen);
	if (!(cfg->path = strdup(path))) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

/* Services are decoded while the file streams through the parser (see tree.c), the rest once
 * the tree is complete. */
int cfg_parse_into(struct cfg_decoder *d, const char *buf, size_t len) {
	struct cfg_ctx *c = d->c;
	struct cfg_tree t = {0};
	int r = cfg_tree_parse(c, buf, len, &t, cfg_decode_service_item, d);
	if (r == 0 && (!t.root || cfg_is_null(t.root))) {
		if (d->included)
			cfg_file_error(c, "empty file; write \"services: []\" for a file with no services");
		else
			cfg_file_error(c, "empty configuration; write \"services: []\" to run with no services");
		r = -EINVAL;
	} else if (r == 0) {
		cfg_decode_root(d, t.root);
		if (!c->oom)
			cfg_validate_backends(c, d->cfg->services, d->cfg->n_services, d->src);
	}
	cfg_tree_free(&t);
	return r;
}

/* Reads (unless buf is given) and decodes one file; the services move into a new unit. A file
 * with errors in its values still makes one, for the checks across services to report what they
 * find too (the load fails: the caller counts the messages); one that cannot be read or parsed
 * as YAML makes none. */
static int parse_file(struct cfg_ctx *c, struct lb_config *cfg, bool included, const char *buf,
		      size_t len, struct lb_config_file **unit) {
	struct cfg_decoder d = {.c = c, .cfg = cfg, .included = included};
	_cleanup_free_ char *own = NULL;
	struct lb_file_sig sig = {0};
	int r = buf ? 0 : cfg_read_file(c, cfg->path, &own, &len, &sig);
	if (r == 0)
		r = cfg_parse_into(&d, buf ? buf : own, len);
	if (r == 0 && c->oom)
		r = -ENOMEM;
	size_t n = cfg->n_services;
	if (r == 0 && !(*unit = cfg_unit_new(cfg->path, &sig, cfg, d.src))) {
		c->oom = true;
		r = -ENOMEM;
	}
	cfg_svc_src_free(d.src, n);
	return r;
}

int cfg_parse_main(struct cfg_ctx *c, const char *path, const char *buf, size_t len,
		   struct lb_config **out, struct lb_config_file **unit) {
	struct lb_config *cfg = cfg_config_new(path);
	if (!cfg) {
		c->oom = true;
		return -ENOMEM;
	}
	int r = parse_file(c, cfg, false, buf, len, unit);
	if (r < 0)
		lb_config_free(cfg);
	else
		*out = cfg;
	return r;
}

int cfg_unit_load(struct cfg_ctx *c, const char *path, struct lb_config_file **out) {
	struct lb_config *scratch = cfg_config_new(path);
	if (!scratch) {
		c->oom = true;
		return -ENOMEM;
	}
	int r = parse_file(c, scratch, true, NULL, 0, out);
	lb_config_free(scratch); /* its services moved to the unit */
	return r;
}

/* Collects the diagnostics of a load; the one ending of every entry point below. */
static int finish(struct cfg_ctx *c, int r, struct lb_config **out, struct lb_diag *diag) {
	int f = cfg_ctx_finish(c, diag);
	if (f < 0 && r == 0) { /* cannot happen: no message means nothing to lose */
		lb_config_free(TAKE_PTR(*out));
		r = f;
	}
	return r;
}

int lb_config_reload(const struct lb_config *prev, const char *path, struct lb_config **out,
		     struct lb_diag *diag) {
	struct cfg_ctx c = {.file = path};
	*out = NULL;
	return finish(&c, cfg_reload(&c, prev, NULL, path, NULL, 0, out), out, diag);
}

static int by_str(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lb_config_reload_dirty(const struct lb_config *prev, const char *path,
			   const char *const *dirty, size_t n_dirty, struct lb_config **out,
			   struct lb_diag *diag) {
	_cleanup_free_ const char **sorted = calloc(n_dirty + 1, sizeof(*sorted));
	if (!sorted)
		return lb_config_reload(prev, path, out, diag);
	if (n_dirty)
		memcpy(sorted, dirty, n_dirty * sizeof(*sorted));
	qsort(sorted, n_dirty, sizeof(*sorted), by_str);
	struct cfg_dirty d = {sorted, n_dirty};
	struct cfg_ctx c = {.file = path};
	*out = NULL;
	return finish(&c, cfg_reload(&c, prev, &d, path, NULL, 0, out), out, diag);
}

int lb_config_load(const char *path, struct lb_config **out, struct lb_diag *diag) {
	return lb_config_reload(NULL, path, out, diag);
}

int cfg_load_buf(const char *name, const char *buf, size_t len, struct lb_config **out,
		 struct lb_diag *diag) {
	struct cfg_ctx c = {.file = name};
	*out = NULL;
	return finish(&c, cfg_reload(&c, NULL, NULL, name, buf, len, out), out, diag);
}
