/* The daemon: wires config, health, the config watcher, signals and systemd to one epoll loop,
 * and reconciles at most once per loop turn. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "announce_sync.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "desired.h"
#include "health.h"
#include "ipvs.h"
#include "kconf_sync.h"
#include "log.h"
#include "loop.h"
#include "observers.h"
#include "resync.h"
#include "sync.h"
#include "sysctl.h"
#include "util.h"
#include "watch.h"

#define DEBOUNCE_USEC (100 * USEC_PER_MSEC)  /* a burst of file events becomes one reload */
/* An included file closed after writing or renamed into place is complete: waiting longer than a
 * burst of events takes to arrive (a rename's two, a script's few files) only adds latency. */
#define DEBOUNCE_INCLUDED_USEC (5 * USEC_PER_MSEC)
#define DEBOUNCE_MAX_USEC (USEC_PER_SEC)     /* ...but a stream of saves still gets loaded */
#define RETRY_MIN_USEC (USEC_PER_SEC)        /* after a failed reconcile, retry soon, backing off */
#define DRAIN_POLL_USEC (USEC_PER_SEC)       /* while a drain runs: how often its counts are read */

struct daemon {
	const struct lb_cli *cli;
	struct lb_statedir state;    /* locked for the daemon's whole life */
	struct lb_loop *loop;
	struct lb_ipvs *ipvs;
	struct lb_health_mgr *health;
	struct lb_watch *watch;
	struct lb_config *cfg;       /* in force */
	struct lb_file_sig cfg_sig;  /* version of the file last loaded (good or bad) */
	char *config_error;          /* why the file on disk is not in force, or NULL */
	struct lb_table view;        /* the kernel table as last seen and changed by us */
	struct lb_resync *rs;        /* the periodic resync's read, spread over loop turns */
	struct lb_owned touched;     /* services changed by targeted passes while rs reads */
	bool view_stale;             /* dump before the next plan */
	struct lb_drains drains;     /* the drain record as the last full pass left it */
	struct lb_owned no_quorum;   /* services that have lost their quorum (logged once) */
	struct lb_owned no_serve;    /* services that cannot serve (announce.h): VIPs withdrawn */
	struct lb_rtnl *rtnl;        /* announce: opened on first need */
	struct lb_vipset announce_warned; /* foreign addresses already warned about */
	struct lb_timer resync, debounce, watchdog, drain;
	usec_t debounce_first, retry_usec, watchdog_usec;
	bool debounce_long;          /* an event since the debounce was armed wants DEBOUNCE_USEC */
	bool plan_none;              /* a reload changed no service: the turn has nothing to plan */
	uint64_t failed_diag;        /* hash of the messages of the last failed reload, or 0 */
	bool ready, reload_ready_pending;
	usec_t health_changed_at;    /* first health change not yet reconciled, or 0 */
	usec_t stats_at;             /* previous SIGUSR1 report (or the start), for probes/s */
	uint64_t stats_probes;       /* probes counted at stats_at */
	/* Services whose backends changed health since the last reconcile. When nothing else
	 * happened (no reload, no resync), only they are planned: the targeted pass. */
	const struct lb_service_conf **changed;
	size_t n_changed, cap_changed;
	bool full_pending;           /* the config changed: plan everything */
	bool kconf_pending;          /* timeouts and sync daemons to check: at start, after a
				      * reload, at each resync, and after a failure */
	bool announce_pending;       /* VIPs to check: at start, after a reload, at each resync,
				      * after a failure, and when a service's serving changes */
	bool adopted;                /* health seeded from the kernel table at start */
	struct lb_sync_stats last;
	struct lb_observers obs;     /* control socket, /metrics, notify hooks */
	char last_time[16];
	char status[512];
};

/* "; quorum lost: web, api" */
static void put_quorum_status(const struct daemon *d, char *buf, size_t len, int n) {
	const char *sep = "; quorum lost: ";
	for (size_t i = 0; i < d->cfg->n_services && n > 0 && (size_t)n < len; i++) {
		const struct lb_service_conf *sc = &d->cfg->services[i];
		struct lb_svc_key k = lb_desired_key(sc);
		if (!lb_owned_has(&d->no_quorum, &k))
			continue;
		n += snprintf(buf + n, len - n, "%s%s", sep, sc->name);
		sep = ", ";
	}
}

/* A quorum transition is logged once, when the desired table first shows it. */
static void note_quorum(struct daemon *d, const struct lb_service *s) {
	bool was = lb_owned_has(&d->no_quorum, &s->key);
	if (s->quorum == LB_QUORUM_LOST && !was) {
		if (lb_owned_add(&d->no_quorum, &s->key) < 0)
			return; /* said next time */
		const struct lb_service_conf *sc = NULL;
		for (size_t i = 0; i < d->cfg->n_services && !sc; i++)
			if (strcmp(d->cfg->services[i].name, s->name) == 0)
				sc = &d->cfg->services[i];
		enum lb_on_loss how = sc ? sc->quorum.on_loss : LB_ON_LOSS_EMPTY;
		char why[64];
		snprintf(why, sizeof(why), "%u of %zu backends up, min_up %u", s->n_up,
			 sc ? sc->n_backends : 0, s->min_up);
		lb_observers_quorum(&d->obs, s->name, true, why);
		log_full(how == LB_ON_LOSS_FAIL_OPEN ? LOG_WARNING : LOG_ERR, s->name, NULL,
			 "service %s: quorum lost: %u of %zu backends up, min_up %u; %s", s->name, s->n_up,
			 sc ? sc->n_backends : 0, s->min_up,
			 how == LB_ON_LOSS_SORRY ? "only the sorry servers take new connections"
			 : how == LB_ON_LOSS_FAIL_OPEN ? "fail_open: every backend is put in as if up "
							 "(the checks are likely wrong)"
						       : "empty: no backend takes new connections");
	} else if (s->quorum != LB_QUORUM_LOST && was) {
		lb_owned_remove(&d->no_quorum, &s->key);
		log_info("service %s: quorum back: %u backends up, min_up %u", s->name, s->n_up, s->min_up);
		lb_observers_quorum(&d->obs, s->name, false, NULL);
	}
}

/* Whether a service can serve decides whether its VIP is announced: a change makes the next
 * announce pass due. */
static void note_serving(struct daemon *d, const struct lb_service *s) {
	bool was = !lb_owned_has(&d->no_serve, &s->key), now = lb_announce_serving(s);
	if (was == now)
		return;
	if (now)
		lb_owned_remove(&d->no_serve, &s->key);
	else if (lb_owned_add(&d->no_serve, &s->key) < 0)
		return; /* seen again at the next pass */
	d->announce_pending = true;
}

static void note_quorums(struct daemon *d, const struct lb_table *t) {
	for (size_t i = 0; i < t->n; i++) {
		note_quorum(d, &t->svcs[i]);
		note_serving(d, &t->svcs[i]);
	}
}

static void notify_status(struct daemon *d) {
	size_t up = 0, total = 0;
	char buf[sizeof(d->status)];
	lb_health_count(d->health, d->cfg, &up, &total);
	/* "config error (previous config in force): FILE:L:C: ...; 2 services, ..." */
	int n = snprintf(buf, sizeof(buf), "%s%s%s%s%zu services, %zu/%zu backends up",
			 d->ready ? "" : "starting: the table is not programmed yet, retrying; ",
			 d->config_error ? "config error (previous config in force): " : "",
			 d->config_error ? d->config_error : "", d->config_error ? "; " : "",
			 d->cfg->n_services, up, total);
	if (d->last_time[0] && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ", last reconcile %s: %zu changes, %zu failed",
			      d->last_time, d->last.added + d->last.edited + d->last.deleted + d->last.drained,
			      d->last.failed);
	if (d->drains.n && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "; %zu draining", d->drains.n);
	put_quorum_status(d, buf, sizeof(buf), n);
	if (strcmp(buf, d->status) == 0)
		return;
	memcpy(d->status, buf, sizeof(buf));
	sd_notifyf(0, "STATUS=%s", d->status);
}

static bool backend_up(void *ud, const struct lb_service_conf *svc, const struct lb_backend_conf *be) {
	return lb_health_state(ud, svc, be) == LB_HEALTH_UP;
}

static void arm_resync(struct daemon *d, usec_t after) {
	lb_timer_arm(d->loop, &d->resync, now_usec(CLOCK_MONOTONIC) + after);
}

static void stamp_now(struct daemon *d) {
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(d->last_time, sizeof(d->last_time), "%H:%M:%S", &tm);
}

static bool in_key_set(const struct lb_svc_key *k, void *ud) { return lb_owned_has(ud, k); }

/* A restarted daemon continues from the table it adopts: a checked backend of an existing service
 * counts as what the kernel shows until its first verdict, instead of health_check.initial. So a
 * restart neither re-adds a backend the previous run had taken out nor drops one it had in. */
static int adopt_health(struct daemon *d) {
	if (d->view_stale) {
		/* destinations are read only for the services the config names (the adopted ones) */
		struct lb_owned names = {0};
		int r = lb_desired_keys(d->cfg, &names);
		if (r == 0)
			r = lb_ipvs_dump(d->ipvs, &d->view, in_key_set, &names);
		lb_owned_free(&names);
		if (r < 0)
			return r;
		d->view_stale = false;
	}
	size_t held = 0;
	for (size_t i = 0; i < d->cfg->n_services; i++) {
		const struct lb_service_conf *sc = &d->cfg->services[i];
		struct lb_svc_key k = lb_desired_key(sc);
		const struct lb_service *have = lb_table_find(&d->view, &k);
		if (!have || !lb_health_checked(sc))
			continue;
		for (size_t j = 0; j < sc->n_backends; j++) {
			const struct lb_backend_conf *be = &sc->backends[j];
			const struct lb_dest *dst = lb_service_find_dest(have, &be->addr);
			/* weight 0 means "taken out" only where ezlb takes backends out that way
			 * (quiesce); under remove it is a hand edit the next pass repairs */
			bool quiesce = sc->check.on_failure == LB_ON_FAILURE_QUIESCE;
			bool in = dst && (dst->weight > 0 || be->weight == 0 || !quiesce);
			lb_health_assume(d->health, sc, be, in ? LB_HEALTH_UP : LB_HEALTH_DOWN);
			held += !in;
		}
	}
	if (held)
		log_info("adopting the kernel table: %zu backends it does not carry stay out until their "
			 "checks pass", held);
	return 0;
}

/* Only the services with health changes, against the view: one request per changed backend. */
static int reconcile_targeted(struct daemon *d) {
	struct lb_table want = {0};
	int r = 0;
	for (size_t i = 0; i < d->n_changed && r == 0; i++) {
		r = lb_desired_add_service(&want, d->changed[i], backend_up, d->health);
		/* the resync's read may hold this service as it was before the change */
		if (r == 0 && lb_resync_running(d->rs))
			r = lb_owned_add(&d->touched, &want.svcs[want.n - 1].key);
	}
	if (r == 0)
		r = lb_sync_targeted(d->ipvs, &want, &d->view, &d->drains, &d->last);
	/* lb_sync_targeted keeps the view's destinations; a service edited in an included file may
	 * also have changed its own attributes (scheduler, persistence, flags), now applied */
	for (size_t i = 0; i < want.n && r == 0; i++) {
		struct lb_service *v = lb_table_find(&d->view, &want.svcs[i].key);
		if (!v)
			continue;
		memcpy(v->sched, want.svcs[i].sched, sizeof(v->sched));
		v->flags = want.svcs[i].flags;
		v->timeout = want.svcs[i].timeout;
		v->netmask = want.svcs[i].netmask;
	}
	if (r == 0 || r == -EIO)
		note_quorums(d, &want);
	lb_table_clear(&want);
	return r;
}

/* The kernel-wide settings are read back only when something may have changed them: not on
 * every full pass (the drain poll makes one a second). */
static int reconcile_kconf(struct daemon *d) {
	struct lb_kconf want;
	struct lb_kconf_opts ko = {.state = &d->state};
	size_t changes = 0;
	if (!d->kconf_pending)
		return 0;
	lb_kconf_want(d->cfg, &want);
	int r = lb_kconf_sync(d->ipvs, &want, &ko, &changes); /* logs what it does */
	d->kconf_pending = r < 0;
	return r;
}

static bool daemon_serving(void *ud, const struct lb_service_conf *sc) {
	const struct daemon *d = ud;
	struct lb_svc_key k = lb_desired_key(sc);
	return !lb_owned_has(&d->no_serve, &k);
}

/* After the table, so that a VIP is offered only once its service is programmed. */
static int reconcile_announce(struct daemon *d) {
	struct lb_vipset want = {0};
	struct lb_announce_opts ao = {.state = &d->state, .warned = &d->announce_warned};
	size_t changes = 0;
	if (!d->announce_pending)
		return 0;
	int r = lb_announce_want(d->cfg, daemon_serving, d, &want);
	if (r < 0)
		log_error("announce: %s", strerror(-r));
	else
		r = lb_announce_sync(&d->rtnl, &want, &ao, &changes); /* logs what it does */
	lb_vipset_free(&want);
	d->announce_pending = r < 0;
	return r;
}

static int reconcile_full(struct daemon *d) {
	struct lb_table desired = {0};
	struct lb_sync_opts so = {.state = &d->state, .leaving_drain_ms = d->cfg->drain_timeout_ms,
				  .drains_out = &d->drains};
	int r = lb_desired_build(d->cfg, backend_up, d->health, &desired);
	if (r == 0)
		r = lb_sync_run(d->ipvs, &desired, &d->view, &d->view_stale, &so, &d->last);
	if (r == 0 || r == -EIO) {
		int k = reconcile_kconf(d);
		note_quorums(d, &desired);
		if (r == 0)
			r = k;
	}
	lb_table_clear(&desired);
	return r;
}

/* While a drain runs its counts are read every DRAIN_POLL_USEC (by the full pass: it reads again
 * the services where something drains), so a drain ends soon after its last connection. */
static void arm_drain_poll(struct daemon *d) {
	if (d->drains.n && !lb_timer_armed(&d->drain))
		lb_timer_arm(d->loop, &d->drain, now_usec(CLOCK_MONOTONIC) + DRAIN_POLL_USEC);
}

static void on_drain_poll(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct daemon *d = ud;
	d->full_pending = true;
	lb_loop_mark_dirty(l);
}

/* The turn hook: one reconcile for whatever happened in this turn. */
static void reconcile(struct lb_loop *l, void *ud) {
	struct daemon *d = ud;
	struct lb_ipvs_stats before, after;
	usec_t start = now_usec(CLOCK_MONOTONIC);
	lb_ipvs_get_stats(d->ipvs, &before);
	enum lb_reconcile_kind kind = LB_RECONCILE_FULL;
	int r = d->adopted ? 0 : adopt_health(d);
	if (r == 0) {
		d->adopted = true;
		r = -ENOENT;
		kind = LB_RECONCILE_TARGETED;
		if (!d->full_pending && !d->view_stale && d->n_changed)
			r = reconcile_targeted(d);
		else if (!d->full_pending && !d->view_stale && d->plan_none) {
			r = 0; /* a reload that changed no service */
			d->last = (struct lb_sync_stats){0};
		}
		if (r == -ENOENT || r == -EAGAIN) {
			kind = LB_RECONCILE_FULL;
			/* the full pass changes what a resync's read in progress has seen: start over */
			lb_resync_cancel(d->rs);
			r = reconcile_full(d);
		}
	}
	if (r == 0 || r == -EIO) {
		int a = reconcile_announce(d);
		if (r == 0)
			r = a;
	}
	d->n_changed = 0;
	d->full_pending = false;
	d->plan_none = false;
	lb_ipvs_get_stats(d->ipvs, &after);
	stamp_now(d);
	size_t changes = d->last.added + d->last.edited + d->last.deleted + d->last.drained;
	usec_t end = now_usec(CLOCK_MONOTONIC), since = d->health_changed_at;
	lb_observers_reconcile(&d->obs, kind, r < 0 ? r : 0, changes, d->last.failed,
			       (double)(end - start) / USEC_PER_SEC, after.requests - before.requests);
	d->health_changed_at = 0;
	if (r < 0 && r != -EIO)
		log_error("reconcile failed: %s", strerror(-r));
	else if (changes || d->last.failed) {
		char after_health[64] = "";
		if (since)
			snprintf(after_health, sizeof(after_health), ", %.2f ms after the health change",
				 (end - since) / 1000.0);
		char drained[32] = "";
		if (d->last.drained)
			snprintf(drained, sizeof(drained), ", %zu drained", d->last.drained);
		log_info("reconcile: %zu changes (%zu added, %zu edited, %zu deleted%s), %zu failed; "
			 "%llu netlink requests, %llu dumps, %.2f ms%s",
			 changes, d->last.added, d->last.edited, d->last.deleted, drained, d->last.failed,
			 (unsigned long long)(after.requests - before.requests),
			 (unsigned long long)(after.dumps - before.dumps), (end - start) / 1000.0, after_health);
	}
	if (r < 0) {
		/* converge after any fault: retry soon, backing off to the resync interval */
		d->view_stale = true;
		d->retry_usec = d->retry_usec ? d->retry_usec * 2 : RETRY_MIN_USEC;
		if (d->retry_usec > d->cfg->resync_interval_ms * USEC_PER_MSEC)
			d->retry_usec = d->cfg->resync_interval_ms * USEC_PER_MSEC;
		arm_resync(d, d->retry_usec);
	} else if (d->retry_usec) {
		d->retry_usec = 0;
		arm_resync(d, d->cfg->resync_interval_ms * USEC_PER_MSEC);
	}
	/* READY=1 means the table is programmed: a unit ordered after ezlb may rely on its VIPs.
	 * A first pass that failed (IPVS unavailable, an op the kernel refused) is retried; systemd's
	 * TimeoutStartSec fails the start if it never succeeds. After a reload READY=1 always ends
	 * the RELOADING=1 state (the outcome is in STATUS). */
	if ((!d->ready && r == 0) || (d->ready && d->reload_ready_pending)) {
		sd_notify(0, "READY=1");
		d->ready = true;
		d->reload_ready_pending = false;
	}
	arm_drain_poll(d);
	notify_status(d);
}

static void set_config_error(struct daemon *d, const struct lb_diag *diag, int r) {
	free(d->config_error);
	d->config_error = NULL;
	if (diag->n && asprintf(&d->config_error, "%s%s", diag->msgs[0], diag->n > 1 ? " (and more)" : "") < 0)
		d->config_error = NULL;
	else if (!diag->n && asprintf(&d->config_error, "%s: %s", d->cli->config_path, strerror(-r)) < 0)
		d->config_error = NULL;
}

static void apply_config_globals(struct daemon *d) {
	if (d->cli->log_level < 0)
		log_set_max_level(d->cfg->log_level >= 0 ? d->cfg->log_level : LOG_INFO);
	arm_resync(d, d->cfg->resync_interval_ms * USEC_PER_MSEC);
}

/* The include directories of the config in force, for the watcher. */
static void watch_includes(struct daemon *d) {
	const struct lb_config *c = d->cfg;
	_cleanup_free_ const char **dirs = calloc(c->n_includes + 1, sizeof(*dirs));
	_cleanup_free_ const char **globs = calloc(c->n_includes + 1, sizeof(*globs));
	for (size_t i = 0; dirs && globs && i < c->n_includes; i++) {
		dirs[i] = c->includes[i].dir;
		globs[i] = c->includes[i].name;
	}
	if (!dirs || !globs || lb_watch_set_includes(d->watch, dirs, globs, c->n_includes) < 0)
		log_error("config watcher: cannot watch the include directories: %s", strerror(ENOMEM));
}

/* A config with included files reloads on every event in their directories; the same files
 * giving the same errors again are not reported again. FNV-1a over the messages. */
static uint64_t diag_hash(const struct lb_diag *diag, int r) {
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned)-r;
	for (size_t i = 0; i < diag->n; i++)
		for (const char *p = diag->msgs[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h ? h : 1;
}

static void reload_failed(struct daemon *d, struct lb_diag *diag, int r, bool again) {
	uint64_t h = diag_hash(diag, r);
	if (again && h == d->failed_diag) {
		log_debug("configuration still not valid (the same errors): the previous one stays in force");
		return;
	}
	d->failed_diag = h;
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_usec(CLOCK_MONOTONIC));
	d->reload_ready_pending = true;
	lb_loop_mark_dirty(d->loop); /* READY=1 and STATUS follow from the turn hook */
	for (size_t i = 0; i < diag->n; i++)
		log_error("%s", diag->msgs[i]);
	if (!diag->n)
		log_error("reloading %s: %s", d->cli->config_path, strerror(-r));
	log_error("configuration not reloaded: the previous one stays in force");
	set_config_error(d, diag, r);
	lb_observers_config_error(&d->obs, d->config_error);
}

/* Nothing new: the same files, every one reused. */
static bool same_files(const struct lb_config *a, const struct lb_config *b) {
	if (b->n_read || a->n_files != b->n_files)
		return false;
	for (size_t f = 0; f < a->n_files; f++)
		if (a->files[f] != b->files[f])
			return false;
	return true;
}

/* What the next turn plans: only the services of the files read again when the main file did not
 * change and no service left (a service leaving may drain: the full pass does that), else all. */
static void plan_after_reload(struct daemon *d, const struct lb_config_diff *diff, bool diff_ok) {
	bool targeted = diff_ok && !diff->full && !diff->n_deleted && !d->n_changed &&
			!d->full_pending && GROW(d->changed, d->cap_changed, diff->n_changed) == 0;
	d->n_changed = 0; /* pointed into the old config */
	d->announce_pending = true; /* a service may have gained, changed or lost announce */
	if (!targeted) {
		d->full_pending = true;
		d->kconf_pending = true;
		apply_config_globals(d);
		return;
	}
	for (size_t i = 0; i < diff->n_changed; i++)
		d->changed[d->n_changed++] = &d->cfg->services[diff->changed[i]];
	d->plan_none = !d->n_changed;
}

static void log_loaded(struct daemon *d, const struct lb_config_diff *diff, bool diff_ok,
		       usec_t start) {
	if (d->cfg->n_files < 2 && !d->cfg->n_includes) {
		log_info("configuration loaded: %zu services", d->cfg->n_services);
		return;
	}
	char plan[64];
	if (diff_ok && !diff->full && !d->full_pending)
		snprintf(plan, sizeof(plan), "%zu services to plan", d->n_changed);
	else
		snprintf(plan, sizeof(plan), "every service to plan");
	log_info("configuration loaded: %zu services; %zu of %zu files re-read, %s (%zu deleted), "
		 "%.2f ms", d->cfg->n_services, d->cfg->n_read, d->cfg->n_files, plan,
		 diff_ok ? diff->n_deleted : 0, (now_usec(CLOCK_MONOTONIC) - start) / 1000.0);
}

/* Loads the file, and what it includes: only the files that changed are read again (see
 * lb_config_reload), and when only included files changed only their services are planned. A
 * bad config leaves the one in force and says why (log and status). */
static int reload(struct daemon *d, bool forced) {
	usec_t start = now_usec(CLOCK_MONOTONIC);
	struct lb_file_sig sig;
	lb_file_sig_get(d->cli->config_path, &sig);
	bool includes = d->cfg->n_includes > 0, main_same = lb_file_sig_eq(&sig, &d->cfg_sig);
	if (!forced && !includes && main_same)
		return 0;
	d->cfg_sig = sig;
	struct lb_config *next = NULL;
	struct lb_diag diag = {0};
	/* SIGHUP reads every file again; else the watcher says which included files may differ
	 * from the config in force (what it saw since the last good load: a failed load keeps them) */
	const char *const *dirty;
	size_t n_dirty;
	int r = forced ? lb_config_reload(NULL, d->cli->config_path, &next, &diag)
		: lb_watch_dirty(d->watch, &dirty, &n_dirty)
			? lb_config_reload_dirty(d->cfg, d->cli->config_path, dirty, n_dirty, &next, &diag)
			: lb_config_reload(d->cfg, d->cli->config_path, &next, &diag);
	if (r == 0 && !forced && same_files(d->cfg, next)) {
		lb_watch_dirty_clear(d->watch);
		lb_config_free(next);
		d->failed_diag = 0;
		if (d->config_error) { /* e.g. the bad file was a new one, and is gone again */
			log_info("configuration valid again: the one in force is what the files hold");
			free(d->config_error);
			d->config_error = NULL;
			lb_observers_config(&d->obs, d->cfg, false); /* forgets the error it pointed to */
			d->plan_none = true;                         /* a turn for STATUS only */
			lb_loop_mark_dirty(d->loop);
		}
		return 0;
	}
	if (r == 0)
		r = lb_health_sync(d->health, next);
	if (r < 0) {
		/* with includes, an event in their directories may bring the same errors again */
		reload_failed(d, &diag, r, !forced && includes && main_same);
		lb_diag_free(&diag);
		lb_config_free(next);
		watch_includes(d); /* a directory may have come back */
		return r;
	}
	d->failed_diag = 0;
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)start);
	d->reload_ready_pending = true;
	lb_loop_mark_dirty(d->loop); /* READY=1 and STATUS follow from the turn hook */
	struct lb_config_diff diff;
	bool diff_ok = lb_config_diff(forced ? NULL : d->cfg, next, &diff) == 0;
	lb_config_free(d->cfg);
	d->cfg = next;
	lb_watch_dirty_clear(d->watch); /* the config in force has every change seen so far */
	plan_after_reload(d, &diff, diff_ok);
	free(d->config_error);
	d->config_error = NULL;
	if (forced)
		d->view_stale = true; /* SIGHUP also re-reads the kernel table */
	log_loaded(d, &diff, diff_ok, start);
	lb_config_diff_free(&diff);
	lb_observers_config(&d->obs, d->cfg, true);
	lb_sysctls_check(d->cfg); /* the new config may be hurt by settings the old one was not */
	watch_includes(d);
	return 0;
}

/* SIGUSR1: one line of health check statistics, for operators and `make bench`. The counters and
 * the lateness percentiles run since the start; the rate since the previous report. */
static void log_health_stats(struct daemon *d) {
	struct lb_health_stats s;
	lb_health_get_stats(d->health, &s);
	usec_t now = now_usec(CLOCK_MONOTONIC);
	double rate = now > d->stats_at ? (double)(s.probes - d->stats_probes) * USEC_PER_SEC /
						(double)(now - d->stats_at) : 0;
	d->stats_at = now;
	d->stats_probes = s.probes;
	log_info("health: %zu targets (%zu up, %zu down, %zu unknown), %" PRIu64 " probes "
		 "(%" PRIu64 " failed, %" PRIu64 " not run), %.1f probes/s since the last report, "
		 "lateness p50 %.1f ms p99 %.1f ms max %.1f ms, "
		 "TLS handshakes %" PRIu64 " full %" PRIu64 " resumed",
		 s.targets, s.up, s.down, s.unknown, s.probes, s.failures, s.skipped, rate,
		 s.late_p50 / 1000.0, s.late_p99 / 1000.0, s.late_max / 1000.0, s.tls_full,
		 s.tls_resumed);
}

static void on_signal(struct lb_loop *l, const struct signalfd_siginfo *si, void *ud) {
	struct daemon *d = ud;
	if (si->ssi_signo == SIGUSR1) {
		log_health_stats(d);
		return;
	}
	if (si->ssi_signo == SIGHUP) {
		log_info("SIGHUP: reloading %s", d->cli->config_path);
		reload(d, true);
		return;
	}
	log_info("%s: stopping; the IPVS table stays as it is", strsignal(si->ssi_signo));
	lb_loop_exit(l, 0);
}

static void on_debounce(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct daemon *d = ud;
	d->debounce_long = false;
	/* written to again since the event that armed us: wait for that writer's close */
	if (lb_watch_writing(d->watch)) {
		log_debug("config watcher: %s is being written; loading it when closed",
			  d->cli->config_path);
		return;
	}
	reload(d, false);
}

static void on_watch(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct daemon *d = ud;
	int r = lb_watch_drain(d->watch);
	if (r < 0)
		log_error("config watcher: %s", strerror(-r));
	if (r <= 0)
		return;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (!lb_timer_armed(&d->debounce)) {
		d->debounce_first = now;
		d->debounce_long = false;
	}
	d->debounce_long |= (r & LB_WATCH_CHANGED) != 0;
	usec_t when = now + (d->debounce_long ? DEBOUNCE_USEC : DEBOUNCE_INCLUDED_USEC);
	if (when > d->debounce_first + DEBOUNCE_MAX_USEC)
		when = d->debounce_first + DEBOUNCE_MAX_USEC;
	lb_timer_arm(l, &d->debounce, when);
}

/* The services whose destinations a resync reads: those ezlb may change. */
static int resync_want(struct daemon *d, struct lb_owned *want) {
	int r = lb_owned_load(&d->state, want);
	if (r == -ENOENT || r == -EBADMSG)
		r = 0; /* the config's services alone; already logged */
	return r < 0 ? r : lb_desired_keys(d->cfg, want);
}

/* The read is done: the fresh table becomes the view, but services that targeted passes changed
 * meanwhile keep the view's destinations (what was applied), then a full pass repairs drift. */
static void on_resync_done(struct lb_table *fresh, int err, void *ud) {
	struct daemon *d = ud;
	lb_loop_mark_dirty(d->loop);
	if (err < 0 || d->view_stale) {
		/* the read failed, or a pass failed meanwhile and nobody knows what the kernel holds
		 * for the services it touched: the next pass reads the table in one go */
		d->view_stale = true;
		lb_table_clear(fresh);
		return;
	}
	for (size_t i = 0; i < d->touched.n; i++) {
		struct lb_service *f = lb_table_find(fresh, &d->touched.keys[i]);
		const struct lb_service *v = lb_table_find(&d->view, &d->touched.keys[i]);
		if (f && v && lb_service_copy_dests(f, v) == 0)
			f->dests_unknown = false;
	}
	d->touched.n = 0;
	lb_table_clear(&d->view);
	d->view = *fresh;
	*fresh = (struct lb_table){0};
	d->view_stale = false;
	d->full_pending = true;
}

static void start_resync(struct daemon *d) {
	struct lb_owned want = {0};
	if (lb_resync_running(d->rs))
		return;
	d->touched.n = 0;
	int r = resync_want(d, &want);
	if (r == 0)
		r = lb_resync_start(d->rs, &want);
	lb_owned_free(&want);
	if (r < 0) {
		d->view_stale = true; /* read it in one go at the next pass */
		lb_loop_mark_dirty(d->loop);
	}
}

static void on_resync(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct daemon *d = ud;
	/* the full safety net: re-read the kernel, repair drift. After a failed pass the view is
	 * stale anyway and the retry reads it in one go. The sync daemons and timeouts are read
	 * back at the next full pass (someone may have stopped a daemon by hand). */
	d->kconf_pending = true;
	d->announce_pending = true; /* an address removed by hand is put back */
	if (d->retry_usec || d->view_stale) {
		d->view_stale = true;
		lb_loop_mark_dirty(l);
	} else {
		start_resync(d);
	}
	arm_resync(d, d->retry_usec ? d->retry_usec : d->cfg->resync_interval_ms * USEC_PER_MSEC);
}

static void on_watchdog(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct daemon *d = ud;
	sd_notify(0, "WATCHDOG=1");
	lb_timer_arm(l, t, now_usec(CLOCK_MONOTONIC) + d->watchdog_usec / 2);
}

/* Nothing arrives on the netlink socket unasked; if something does, read and log it. */
static void on_netlink(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	char buf[8192];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		log_debug("netlink: %zd unexpected bytes ignored", n);
}

static void on_health(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health state, void *ud) {
	struct daemon *d = ud;
	lb_observers_backend(&d->obs, svc, be, state == LB_HEALTH_UP);
	if (!d->health_changed_at)
		d->health_changed_at = now_usec(CLOCK_MONOTONIC);
	lb_loop_mark_dirty(d->loop);
	for (size_t i = 0; i < d->n_changed; i++)
		if (d->changed[i] == svc)
			return;
	if (GROW(d->changed, d->cap_changed, d->n_changed + 1) < 0)
		d->full_pending = true; /* cannot remember which: plan everything */
	else
		d->changed[d->n_changed++] = svc;
}

static int setup(struct daemon *d) {
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	/* the lock first: a second daemon must stop before it touches anything */
	int r = lb_statedir_acquire(d->cli->state_dir, "run", &d->state);
	lb_raise_fd_limit();
	if (r == 0) r = lb_loop_new(&d->loop);
	if (r == 0) r = lb_loop_add_signals(d->loop, sigs, ARRAY_SIZE(sigs), on_signal, d);
	if (r == 0) r = lb_ipvs_open(&d->ipvs);
	if (r == 0) r = lb_loop_add_fd(d->loop, lb_ipvs_fd(d->ipvs), EPOLLIN, on_netlink, d);
	if (r == 0) r = lb_resync_new(d->loop, d->ipvs, on_resync_done, d, &d->rs);
	if (r == 0) r = lb_health_new(d->loop, on_health, d, &d->health);
	if (r == 0) r = lb_health_sync(d->health, d->cfg);
	if (r == 0) r = lb_watch_new(d->cli->config_path, &d->watch);
	if (r == 0) watch_includes(d);
	if (r == 0) r = lb_loop_add_fd(d->loop, lb_watch_fd(d->watch), EPOLLIN, on_watch, d);
	d->obs.obs.view = &d->view;
	d->obs.obs.drains = &d->drains;
	d->obs.obs.no_quorum = &d->no_quorum;
	d->obs.obs.no_serve = &d->no_serve;
	if (r == 0) r = lb_observers_start(&d->obs, d->loop, d->ipvs, &d->state, d->health,
					   d->cli->config_path);
	if (r < 0)
		return r;
	lb_observers_config(&d->obs, d->cfg, false);
	lb_timer_init(&d->resync, on_resync, d);
	lb_timer_init(&d->debounce, on_debounce, d);
	lb_timer_init(&d->watchdog, on_watchdog, d);
	lb_timer_init(&d->drain, on_drain_poll, d);
	if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec)
		lb_timer_arm(d->loop, &d->watchdog, now_usec(CLOCK_MONOTONIC));
	lb_loop_set_turn_hook(d->loop, reconcile, d);
	d->stats_at = now_usec(CLOCK_MONOTONIC);
	apply_config_globals(d);
	d->kconf_pending = true;
	d->announce_pending = true;
	lb_loop_mark_dirty(d->loop); /* the first reconcile; READY=1 follows it */
	return 0;
}

static void teardown(struct daemon *d) {
	lb_watch_free(d->watch);
	lb_resync_free(d->rs);
	lb_owned_free(&d->touched);
	lb_observers_stop(&d->obs); /* its hooks and clients first: they read the rest */
	lb_health_free(d->health);
	if (d->ipvs)
		lb_ipvs_close(d->ipvs);
	lb_loop_free(d->loop);
	lb_table_clear(&d->view);
	lb_drains_free(&d->drains);
	lb_owned_free(&d->no_quorum);
	lb_owned_free(&d->no_serve);
	lb_vipset_free(&d->announce_warned);
	lb_rtnl_close(d->rtnl); /* the addresses stay, like the table */
	lb_config_free(d->cfg);
	free(d->config_error);
	lb_statedir_close(&d->state);
	free(d->changed);
}

int cmd_run(const struct lb_cli *o) {
	struct daemon d = {.cli = o, .view_stale = true, .state = {.fd = -1, .lock_fd = -1}};
	lb_file_sig_get(o->config_path, &d.cfg_sig);
	if (cli_load_config(o->config_path, &d.cfg) < 0)
		return EXIT_FAIL;
	cli_apply_log_level(o, d.cfg);
	int r = setup(&d);
	if (r == 0) {
		log_info("ezlb %s running: %s, %zu services", EZLB_VERSION, o->config_path, d.cfg->n_services);
		lb_sysctls_check(d.cfg);
		r = lb_loop_run(d.loop);
		sd_notify(0, "STOPPING=1");
	}
	if (r < 0 && r != -EWOULDBLOCK) /* refused for the lock: said so, nothing had started */
		log_error("ezlb stopped: %s", strerror(-r));
	teardown(&d);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
