/* The observability keys of global: metrics (the /metrics listener), notify (the hook command run on
 * each event) and notify_timeout. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define NOTIFY_ARGV_MAX 64
#define NOTIFY_ARG_MAX 4096 /* bytes of one argument */
#define NOTIFY_TIMEOUT_MIN_MS 100
#define NOTIFY_TIMEOUT_MAX_MS (10u * 60 * 1000) /* a hook is a notification, not a batch job */
#define METRICS_HINT "; write \"metrics: {}\" to serve /metrics on 127.0.0.1:9521, or leave the key " \
		     "out for no listener"

/* --- metrics --- */

static void decode_metrics(struct cfg_decoder *d, const struct cnode *n) {
	static const struct cfg_key keys[] = {{"listen", false, NULL}};
	const struct cnode *v[ARRAY_SIZE(keys)];
	size_t old = cfg_path_push(d->c, ".metrics");
	if (cfg_expect(d->c, n, CN_MAP, METRICS_HINT) && cfg_map(d->c, n, keys, ARRAY_SIZE(keys), v)) {
		d->cfg->metrics = true;
		/* checked against every file's tcp VIPs once all are read (validate.c) */
		if (cfg_endpoint(d->c, v[0], "listen", &d->cfg->metrics_listen)) {
			d->cfg->metrics_line = v[0]->line;
			d->cfg->metrics_col = v[0]->col;
		}
	}
	cfg_path_pop(d->c, old);
}

/* --- notify --- */

/* A string where the list belongs: the command line a shell would have split. */
static void notify_not_a_list(struct cfg_ctx *c, const struct cnode *n) {
	char buf[CFG_QUOTE_MAX];
	if (cfg_is_null(n)) {
		cfg_error(c, n, "expected a sequence, got null; give the hook command as a list, e.g. "
				"[\"/usr/local/bin/ezlb-notify\"], or leave the key out for no hooks");
	} else if (n->type == CN_SCALAR && !strpbrk(n->str, " \t") && n->str[0] == '/') {
		cfg_error(c, n, "expected a sequence, got %s; write the command as a list: [%s]",
			  cfg_quote(n->str, buf, sizeof(buf)), buf);
	} else {
		cfg_expect(c, n, CN_SEQ, "; write the program and its arguments as a list, e.g. "
					 "[\"/usr/local/bin/ezlb-notify\", \"--flag\"] (no shell runs it)");
	}
}

/* One argument; false when reported. */
static bool notify_arg(struct cfg_ctx *c, const struct cnode *a, size_t i) {
	char buf[CFG_QUOTE_MAX];
	if (!cfg_expect(c, a, CN_SCALAR, NULL))
		return false;
	if (cfg_is_null(a))
		cfg_error(c, a, "missing value");
	else if (a->n == 0)
		cfg_error(c, a, "an empty argument; each is 1 to %d bytes", NOTIFY_ARG_MAX);
	else if (a->n > NOTIFY_ARG_MAX)
		cfg_error(c, a, "an argument longer than %d bytes", NOTIFY_ARG_MAX);
	else if (i == 0 && a->str[0] != '/')
		cfg_error(c, a, "%s is not an absolute path; the hook runs without a shell and without a "
				"PATH search", cfg_quote(a->str, buf, sizeof(buf)));
	else
		return true;
	return false;
}

static void decode_notify(struct cfg_ctx *c, const struct cnode *n, struct lb_config *cfg) {
	size_t old = cfg_path_push(c, ".notify");
	if (n->type != CN_SEQ) {
		notify_not_a_list(c, n);
		goto out;
	}
	if (n->n == 0 || n->n > NOTIFY_ARGV_MAX) {
		cfg_error(c, n, n->n ? "more than %d arguments" : "is empty; give at least the program, "
			  "or leave the key out for no hooks", NOTIFY_ARGV_MAX);
		goto out;
	}
	if (!(cfg->notify_argv = calloc(n->n + 1, sizeof(*cfg->notify_argv)))) {
		c->oom = true;
		goto out;
	}
	size_t i = 0;
	for (const struct cnode *a = n->child; a; a = a->next, i++) {
		size_t at = cfg_path_push_index(c, i);
		if (notify_arg(c, a, i) && !(cfg->notify_argv[cfg->notify_argc++] = strdup(a->str)))
			c->oom = true;
		cfg_path_pop(c, at);
	}
out:
	cfg_path_pop(c, old);
}

/* notify_timeout without notify is a leftover: say so rather than ignore it. */
static void decode_notify_timeout(struct cfg_ctx *c, const struct cnode *n, bool has_notify,
				  struct lb_config *cfg) {
	if (!cfg_duration_in(c, n, "notify_timeout", NOTIFY_TIMEOUT_MIN_MS, NOTIFY_TIMEOUT_MAX_MS,
			     &cfg->notify_timeout_ms) || has_notify)
		return;
	size_t old = cfg_path_push(c, ".notify_timeout");
	cfg_error(c, n, "applies to the notify hooks, but there is no notify command");
	cfg_path_pop(c, old);
}

void cfg_decode_observe(struct cfg_decoder *d, const struct cnode *metrics,
			const struct cnode *notify, const struct cnode *notify_timeout) {
	if (metrics)
		decode_metrics(d, metrics);
	if (notify)
		decode_notify(d->c, notify, d->cfg);
	if (notify_timeout)
		decode_notify_timeout(d->c, notify_timeout, notify != NULL, d->cfg);
}
