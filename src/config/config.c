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

void lb_config_free(struct lb_config *c) {
	if (!c)
		return;
	for (size_t i = 0; i < c->n_services; i++) {
		free(c->services[i].name);
		cfg_check_free(&c->services[i].check);
		free(c->services[i].backends);
		free(c->services[i].sorry);
	}
	free(c->services);
	for (size_t i = 0; i < c->notify_argc; i++)
		free(c->notify_argv[i]);
	free(c->notify_argv);
	free(c->path);
	free(c);
}

static struct lb_config *config_new(const char *path) {
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
 * the tree is complete; the config is kept only if nothing at all was reported. */
static int parse(struct cfg_ctx *c, const char *path, const char *buf, size_t len,
		 struct lb_config **out) {
	struct cfg_decoder d = {.c = c, .cfg = config_new(path)};
	struct cfg_tree t = {0};
	if (!d.cfg) {
		c->oom = true;
		return -ENOMEM;
	}
	int r = cfg_tree_parse(c, buf, len, &t, cfg_decode_service_item, &d);
	if (r == 0 && (!t.root || cfg_is_null(t.root))) {
		cfg_file_error(c, "empty configuration; write \"services: []\" to run with no services");
		r = -EINVAL;
	} else if (r == 0) {
		cfg_decode_root(&d, t.root);
		if (!c->oom)
			cfg_validate(c, d.cfg, d.src);
	}
	cfg_tree_free(&t);
	cfg_svc_src_free(d.src, d.cfg->n_services);
	if (r == 0 && (c->n_msgs || c->oom))
		r = c->oom ? -ENOMEM : -EINVAL;
	if (r < 0)
		lb_config_free(d.cfg);
	else
		*out = d.cfg;
	return r;
}

/* Collects the diagnostics of a load; the one ending of both entry points below. */
static int finish(struct cfg_ctx *c, int r, struct lb_config **out, struct lb_diag *diag) {
	int f = cfg_ctx_finish(c, diag);
	if (f < 0 && r == 0) { /* cannot happen: no message means nothing to lose */
		lb_config_free(TAKE_PTR(*out));
		r = f;
	}
	return r;
}

int lb_config_load(const char *path, struct lb_config **out, struct lb_diag *diag) {
	struct cfg_ctx c = {.file = path};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	int r = cfg_read_file(&c, path, &buf, &len);
	if (r == 0)
		r = parse(&c, path, buf, len, out);
	return finish(&c, r, out, diag);
}

int cfg_load_buf(const char *name, const char *buf, size_t len, struct lb_config **out,
		 struct lb_diag *diag) {
	struct cfg_ctx c = {.file = name};
	*out = NULL;
	return finish(&c, parse(&c, name, buf, len, out), out, diag);
}
