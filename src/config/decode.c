/* The top of the schema: the root mapping, global settings and the list of services. */
#include <stdlib.h>
#include <syslog.h>

#include "internal.h"
#include "util.h"

#define RESYNC_MIN_MS 1000 /* a shorter resync would turn drift repair into a busy loop */

static void decode_global(struct cfg_ctx *c, const struct cnode *n, struct lb_config *cfg) {
	static const struct cfg_key keys[] = {{"log_level", false, NULL}, {"resync_interval", false, NULL}};
	static const char *const levels[] = {"debug", "info", "notice", "warn", "error"};
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR};
	const struct cnode *v[ARRAY_SIZE(keys)];
	if (cfg_is_null(n) || !cfg_map(c, n, keys, ARRAY_SIZE(keys), v))
		return;
	unsigned lvl;
	if (cfg_enum(c, v[0], "log_level", "log level", levels, ARRAY_SIZE(levels), &lvl))
		cfg->log_level = prio[lvl];
	uint32_t ms;
	if (!cfg_duration(c, v[1], "resync_interval", &ms))
		return;
	if (ms < RESYNC_MIN_MS) {
		char buf[CFG_QUOTE_MAX];
		size_t old = cfg_path_push(c, ".resync_interval");
		cfg_error(c, v[1], "%s is too short; the minimum is 1s", cfg_quote(v[1]->str, buf, sizeof(buf)));
		cfg_path_pop(c, old);
		return;
	}
	cfg->resync_interval_ms = ms;
}

static void decode_services(struct cfg_ctx *c, const struct cnode *n, struct lb_config *cfg,
			    struct cfg_svc_src **srcp) {
	size_t old = cfg_path_push(c, "services");
	if (cfg_is_null(n))
		cfg_error(c, n, "expected a sequence, got null; write \"services: []\" for no services");
	if (cfg_is_null(n) || !cfg_expect(c, n, CN_SEQ, NULL))
		goto out;
	cfg->services = calloc(n->n ? n->n : 1, sizeof(*cfg->services));
	*srcp = calloc(n->n ? n->n : 1, sizeof(**srcp));
	if (!cfg->services || !*srcp) {
		c->oom = true;
		goto out;
	}
	size_t i = 0;
	for (const struct cnode *item = n->child; item; item = item->next, i++) {
		size_t at = cfg_path_push(c, "[%zu]", i);
		cfg_decode_service(c, item, &cfg->services[i], &(*srcp)[i]);
		cfg_path_pop(c, at);
		cfg->n_services = i + 1; /* what has been decoded so far is freed by lb_config_free */
	}
out:
	cfg_path_pop(c, old);
}

void cfg_decode_root(struct cfg_ctx *c, const struct cnode *root, struct lb_config *cfg,
		     struct cfg_svc_src **src) {
	static const struct cfg_key keys[] = {
		{"global", false, NULL},
		{"services", true, "; write \"services: []\" for a configuration with no services"},
	};
	const struct cnode *v[ARRAY_SIZE(keys)];
	if (!cfg_map(c, root, keys, ARRAY_SIZE(keys), v))
		return;
	if (v[0]) {
		size_t old = cfg_path_push(c, "global");
		decode_global(c, v[0], cfg);
		cfg_path_pop(c, old);
	}
	if (v[1])
		decode_services(c, v[1], cfg, src);
}
