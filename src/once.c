/* The one-shot commands: check, once, cleanup. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "desired.h"
#include "ipvs.h"
#include "log.h"
#include "probe_once.h"
#include "sync.h"
#include "util.h"

int cli_load_config(const char *path, struct lb_config **out) {
	struct lb_diag diag = {0};
	int r = lb_config_load(path, out, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	if (r < 0 && diag.n == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
	lb_diag_free(&diag);
	return r;
}

static size_t count_backends(const struct lb_config *c) {
	size_t n = 0;
	for (size_t i = 0; i < c->n_services; i++)
		n += c->services[i].n_backends;
	return n;
}

int cmd_check(const struct lb_cli *o) {
	struct lb_config *cfg = NULL;
	if (cli_load_config(o->config_path, &cfg) < 0)
		return EXIT_FAIL;
	printf("configuration OK: %zu services, %zu backends\n", cfg->n_services, count_backends(cfg));
	lb_config_free(cfg);
	return EXIT_OK;
}

static void apply_log_level(const struct lb_cli *o, const struct lb_config *cfg) {
	if (o->log_level < 0 && cfg->log_level >= 0)
		log_set_max_level(cfg->log_level);
}

static void print_summary(const char *what, const struct lb_sync_stats *st) {
	size_t changes = st->added + st->edited + st->deleted;
	if (changes == 0 && st->failed == 0)
		printf("%s: no changes\n", what);
	else
		printf("%s: %zu changes (%zu added, %zu edited, %zu deleted), %zu failed\n", what, changes,
		       st->added, st->edited, st->deleted, st->failed);
}

/* Opens IPVS and runs one pass to make the kernel hold `desired`. */
static int sync_once(const struct lb_cli *o, const struct lb_table *desired, struct lb_sync_stats *st) {
	_cleanup_free_ char *owned_path = NULL;
	struct lb_ipvs *v = NULL;
	struct lb_table actual = {0};
	bool stale = true;
	int r = lb_owned_path(o->state_dir, &owned_path);
	if (r == 0)
		r = lb_ipvs_open(&v);
	if (r < 0)
		return r;
	struct lb_sync_opts so = {.owned_path = owned_path, .dry_run = o->dry_run, .plan_out = stdout};
	r = lb_sync_run(v, desired, &actual, &stale, &so, st);
	if (r < 0 && r != -EIO)
		log_error("reconcile failed: %s", strerror(-r));
	lb_table_clear(&actual);
	lb_ipvs_close(v);
	return r;
}

int cmd_once(const struct lb_cli *o) {
	struct lb_config *cfg = NULL;
	struct lb_table desired = {0};
	struct lb_probe_once *probes = NULL;
	struct lb_sync_stats st;
	int r = cli_load_config(o->config_path, &cfg);
	if (r < 0)
		return EXIT_FAIL; /* a config error changes nothing in the kernel */
	apply_log_level(o, cfg);
	if (!o->no_health_check)
		r = lb_probe_once_run(cfg, &probes);
	if (r == 0)
		r = lb_desired_build(cfg, probes ? lb_probe_once_up : NULL, probes, &desired);
	if (r == 0) {
		r = sync_once(o, &desired, &st);
		if (!o->dry_run && (r == 0 || r == -EIO))
			print_summary("once", &st);
	}
	lb_table_clear(&desired);
	lb_probe_once_free(probes);
	lb_config_free(cfg);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_cleanup(const struct lb_cli *o) {
	struct lb_config *cfg = NULL;
	_cleanup_free_ char *owned_path = NULL;
	struct lb_table empty = {0};
	struct lb_sync_stats st;
	if (cli_load_config(o->config_path, &cfg) < 0)
		return EXIT_FAIL;
	apply_log_level(o, cfg);
	/* The services the config names are ezlb's even if the record was lost: own them first. */
	struct lb_owned owned = {0};
	int r = lb_owned_path(o->state_dir, &owned_path);
	if (r == 0 && !o->dry_run) {
		r = lb_owned_load(owned_path, &owned);
		r = (r == -ENOENT || r == -EBADMSG) ? 0 : r;
		for (size_t i = 0; r == 0 && i < cfg->n_services; i++) {
			struct lb_svc_key k = {.proto = cfg->services[i].protocol, .addr = cfg->services[i].listen};
			r = lb_owned_add(&owned, &k);
		}
		if (r == 0)
			r = lb_owned_save(owned_path, &owned);
	}
	lb_owned_free(&owned);
	if (r == 0)
		r = sync_once(o, &empty, &st);
	if (!o->dry_run && (r == 0 || r == -EIO))
		print_summary("cleanup", &st);
	lb_config_free(cfg);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
