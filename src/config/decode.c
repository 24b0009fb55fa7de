/* The top of the schema: the root mapping, global settings and the list of services. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "internal.h"
#include "util.h"

#define RESYNC_MIN_MS 1000 /* a shorter resync would turn drift repair into a busy loop */

/* Decoded once every service is: metrics.listen is checked against the services' VIPs. */
static void decode_global(struct cfg_decoder *d, const struct cnode *n) {
	static const struct cfg_key keys[] = {{"log_level", false, NULL},
					      {"resync_interval", false, NULL},
					      {"max_exec_checks", false, NULL},
					      {"drain_timeout", false, NULL},
					      {"metrics", false, NULL},
					      {"notify", false, NULL},
					      {"notify_timeout", false, NULL},
					      {"timeouts", false, NULL},
					      {"sync", false, NULL}};
	static const char *const levels[] = {"debug", "info", "notice", "warn", "error"};
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR};
	struct cfg_ctx *c = d->c;
	struct lb_config *cfg = d->cfg;
	const struct cnode *v[ARRAY_SIZE(keys)];
	if (cfg_is_null(n) || !cfg_map(c, n, keys, ARRAY_SIZE(keys), v))
		return;
	cfg_decode_observe(d, v[4], v[5], v[6]);
	cfg_decode_kernel(c, v[7], v[8], cfg);
	unsigned lvl;
	if (cfg_enum(c, v[0], "log_level", "log level", levels, ARRAY_SIZE(levels), &lvl))
		cfg->log_level = prio[lvl];
	cfg_uint(c, v[2], "max_exec_checks", 1, 4096, &cfg->max_exec_checks);
	cfg_duration_in(c, v[3], "drain_timeout", 0, CFG_DRAIN_MAX_MS, &cfg->drain_timeout_ms);
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

/* Grows cfg->services and the parallel src array together. */
static int grow_services(struct cfg_decoder *d, size_t n) {
	if (n <= d->cap)
		return 0;
	size_t cap = d->cap ? d->cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	struct lb_service_conf *s = reallocarray(d->cfg->services, cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	d->cfg->services = s;
	struct cfg_svc_src *src = reallocarray(d->src, cap, sizeof(*src));
	if (!src)
		return -ENOMEM;
	d->src = src;
	memset(s + d->cap, 0, (cap - d->cap) * sizeof(*s));
	memset(src + d->cap, 0, (cap - d->cap) * sizeof(*src));
	d->cap = cap;
	return 0;
}

void cfg_decode_service_item(void *decoder, const struct cnode *item, size_t index) {
	struct cfg_decoder *d = decoder;
	if (d->c->oom || index != d->cfg->n_services || grow_services(d, index + 1) < 0) {
		d->c->oom = true;
		return;
	}
	size_t old = cfg_path_push(d->c, "services");
	cfg_path_push_index(d->c, index);
	cfg_decode_service(d->c, item, &d->cfg->services[index], &d->src[index]);
	cfg_path_pop(d->c, old);
	d->cfg->n_services = index + 1; /* from now on lb_config_free frees it */
}

/* The items were decoded while the file was parsed (cfg_decode_service_item); what is left is
 * the list's own shape. */
static void decode_services(struct cfg_decoder *d, const struct cnode *n) {
	size_t old = cfg_path_push(d->c, "services");
	if (cfg_is_null(n))
		cfg_error(d->c, n, "expected a sequence, got null; write \"services: []\" for no services");
	else if (cfg_expect(d->c, n, CN_SEQ, NULL))
		assert(n->streamed); /* tree.c streams the first "services" of the root, which this is */
	cfg_path_pop(d->c, old);
}

/* An included file holds services only: settings for the whole config live in the main file. */
static void decode_included_root(struct cfg_decoder *d, const struct cnode *root) {
	static const struct cfg_key keys[] = {
		{"services", true, "; write \"services: []\" for a file with no services"},
		{"global", false, NULL},
		{"include", false, NULL},
	};
	const struct cnode *v[ARRAY_SIZE(keys)];
	if (!cfg_map(d->c, root, keys, ARRAY_SIZE(keys), v))
		return;
	for (size_t i = 1; i < ARRAY_SIZE(keys); i++)
		if (v[i])
			cfg_key_error(d->c, keys[i].name, v[i], "an included file holds only \"services\": "
				      "\"%s\" belongs in the main file%s", keys[i].name,
				      i == 2 ? " (included files do not include others)" : "");
	if (v[0])
		decode_services(d, v[0]);
}

/* "services" may be left out of a main file that includes others. Services that leave
 * drain_timeout out get global.drain_timeout when the config is assembled (reload.c). */
void cfg_decode_root(struct cfg_decoder *d, const struct cnode *root) {
	static const struct cfg_key keys[] = {
		{"global", false, NULL},
		{"services", false, NULL},
		{"include", false, NULL},
	};
	const struct cnode *v[ARRAY_SIZE(keys)];
	if (d->included) {
		decode_included_root(d, root);
		return;
	}
	if (!cfg_map(d->c, root, keys, ARRAY_SIZE(keys), v))
		return;
	if (!v[1] && !v[2])
		cfg_error(d->c, root, "missing required key \"services\"; write \"services: []\" for a "
				      "configuration with no services");
	if (v[0]) {
		size_t old = cfg_path_push(d->c, "global");
		decode_global(d, v[0]);
		cfg_path_pop(d->c, old);
	}
	if (v[1])
		decode_services(d, v[1]);
	if (v[2])
		cfg_decode_include(d->c, v[2], d->cfg);
}
