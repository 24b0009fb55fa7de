/* The one-shot commands that change the kernel: once, cleanup. */
#include <stdio.h>
#include <string.h>

#include "announce_sync.h"
#include "cli.h"
#include "config.h"
#include "desired.h"
#include "ipvs.h"
#include "kconf_sync.h"
#include "log.h"
#include "health.h"
#include "loop.h"
#include "sync.h"
#include "util.h"

static void print_summary(const char *what, const struct lb_sync_stats *st) {
	size_t changes = st->added + st->edited + st->deleted + st->drained;
	char drained[32] = "";
	if (st->drained)
		snprintf(drained, sizeof(drained), ", %zu drained", st->drained);
	if (changes == 0 && st->failed == 0)
		printf("%s: no changes\n", what);
	else
		printf("%s: %zu changes (%zu added, %zu edited, %zu deleted%s), %zu failed\n", what,
		       changes, st->added, st->edited, st->deleted, drained, st->failed);
}

/* Runs one pass to make the kernel hold `desired`. */
static int sync_once(const struct lb_cli *o, const struct lb_statedir *sd, struct lb_ipvs *v,
		     const struct lb_table *desired, const struct lb_owned *also_owned,
		     uint32_t leaving_drain_ms, struct lb_sync_stats *st) {
	struct lb_table actual = {0};
	bool stale = true;
	/* cleanup (also_owned) tears down at once: it is not a change to keep serving through */
	struct lb_sync_opts so = {.state = sd, .dry_run = o->dry_run, .plan_out = stdout,
				  .also_owned = also_owned, .leaving_drain_ms = leaving_drain_ms,
				  .no_drain = also_owned != NULL};
	int r = lb_sync_run(v, desired, &actual, &stale, &so, st); /* logs its own failures */
	lb_table_clear(&actual);
	return r;
}

static bool backend_up(void *ud, const struct lb_service_conf *svc, const struct lb_backend_conf *be) {
	return lb_health_state(ud, svc, be) == LB_HEALTH_UP;
}

/* The kernel-wide settings (timeouts, sync daemons) before the table: a dry run prints their
 * changes first, then the table's plan. cleanup passes an empty want: it stops the sync daemons
 * ezlb started and leaves the timeouts. */
static int kconf_once(const struct lb_cli *o, const struct lb_statedir *sd, struct lb_ipvs *v,
		      const struct lb_kconf *want) {
	struct lb_kconf_opts ko = {.state = sd, .dry_run = o->dry_run, .plan_out = stdout};
	size_t changes = 0;
	int r = lb_kconf_sync(v, want, &ko, &changes); /* logs its own failures */
	if (changes && !o->dry_run)
		printf("kernel settings: %zu changes\n", changes);
	return r;
}

/* A service serves as its entry in the desired table says (quorum, backends up). */
static bool desired_serving(void *ud, const struct lb_service_conf *sc) {
	struct lb_svc_key k = lb_desired_key(sc);
	const struct lb_service *s = lb_table_find(ud, &k);
	return s && lb_announce_serving(s);
}

/* The VIPs after the table: an address is offered only once its service is in the kernel.
 * desired NULL (cleanup): nothing is wanted, every recorded address goes. */
static int announce_once(const struct lb_cli *o, const struct lb_statedir *sd,
			 const struct lb_config *cfg, const struct lb_table *desired) {
	struct lb_vipset want = {0};
	struct lb_rtnl *rt = NULL;
	struct lb_announce_opts ao = {.state = sd, .dry_run = o->dry_run, .plan_out = stdout};
	size_t changes = 0;
	int r = desired ? lb_announce_want(cfg, desired_serving, (void *)desired, &want) : 0;
	if (r < 0)
		log_error("announce: %s", strerror(-r));
	else
		r = lb_announce_sync(&rt, &want, &ao, &changes); /* logs its own failures */
	if (changes && !o->dry_run)
		printf("announced addresses: %zu changes\n", changes);
	lb_rtnl_close(rt);
	lb_vipset_free(&want);
	return r;
}

/* One decisive round of probes, so `once` never sends traffic to a backend that refuses it. */
static int probe_round(const struct lb_config *cfg, struct lb_loop **loop, struct lb_health_mgr **h) {
	lb_raise_fd_limit();
	int r = lb_loop_new(loop);
	if (r == 0)
		r = lb_health_new(*loop, NULL, NULL, h);
	if (r == 0)
		r = lb_health_sync(*h, cfg);
	if (r == 0)
		r = lb_health_run_round(*h);
	if (r < 0)
		log_error("health checks: %s", strerror(-r));
	return r;
}

int cmd_once(const struct lb_cli *o) {
	struct lb_config *cfg = NULL;
	struct lb_table desired = {0};
	struct lb_loop *loop = NULL;
	struct lb_health_mgr *h = NULL;
	struct lb_statedir sd = {.fd = -1, .lock_fd = -1};
	struct lb_sync_stats st;
	int r = cli_load_config(o->config_path, &cfg);
	if (r < 0)
		return EXIT_FAIL; /* a config error changes nothing in the kernel */
	cli_apply_log_level(o, cfg);
	/* the lock first: with a daemon running, a second writer would fight it */
	struct lb_ipvs *v = NULL;
	r = lb_statedir_acquire(o->state_dir, "once", &sd);
	/* IPVS next: probing backends is pointless where the table cannot be changed */
	if (r == 0)
		r = lb_ipvs_open(&v);
	if (r == 0 && !o->no_health_check)
		r = probe_round(cfg, &loop, &h);
	if (r == 0)
		r = lb_desired_build(cfg, h ? backend_up : NULL, h, &desired);
	struct lb_kconf want;
	lb_kconf_want(cfg, &want);
	int kr = r == 0 ? kconf_once(o, &sd, v, &want) : 0;
	if (r == 0) {
		r = sync_once(o, &sd, v, &desired, NULL, cfg->drain_timeout_ms, &st);
		if (!o->dry_run && (r == 0 || r == -EIO))
			print_summary("once", &st);
	}
	int ar = r == 0 || r == -EIO ? announce_once(o, &sd, cfg, &desired) : 0;
	if (r == 0 && kr < 0)
		r = kr; /* the table was still made right: one does not wait for the other */
	if (r == 0 && ar < 0)
		r = ar;
	lb_table_clear(&desired);
	if (v)
		lb_ipvs_close(v);
	lb_health_free(h);
	lb_loop_free(loop);
	lb_statedir_close(&sd);
	lb_config_free(cfg);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_cleanup(const struct lb_cli *o) {
	struct lb_config *cfg = NULL;
	struct lb_statedir sd = {.fd = -1, .lock_fd = -1};
	struct lb_table empty = {0};
	struct lb_owned named = {0};
	struct lb_sync_stats st;
	if (cli_load_config(o->config_path, &cfg) < 0)
		return EXIT_FAIL;
	cli_apply_log_level(o, cfg);
	int r = lb_statedir_acquire(o->state_dir, "cleanup", &sd);
	struct lb_ipvs *v = NULL;
	/* the services the config names are ezlb's even if the record was lost: owned for the
	 * plan (dry run or not), recorded before anything is deleted */
	if (r == 0 && (r = lb_desired_keys(cfg, &named)) < 0)
		log_error("cleanup: %s", strerror(-r));
	if (r == 0)
		r = lb_ipvs_open(&v);
	struct lb_kconf none = {0};
	int kr = r == 0 ? kconf_once(o, &sd, v, &none) : 0;
	/* the VIPs first: a routing daemon withdraws them before the services go */
	int ar = r == 0 ? announce_once(o, &sd, cfg, NULL) : 0;
	if (r == 0)
		r = sync_once(o, &sd, v, &empty, &named, 0, &st);
	if (r == 0 && kr < 0)
		r = kr;
	if (r == 0 && ar < 0)
		r = ar;
	if (v)
		lb_ipvs_close(v);
	lb_owned_free(&named);
	lb_statedir_close(&sd);
	if (!o->dry_run && (r == 0 || r == -EIO))
		print_summary("cleanup", &st);
	lb_config_free(cfg);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
