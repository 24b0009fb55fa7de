/* The daemon's observers: they read struct lb_observe; this file keeps it current and tells the
 * notify hooks what happened. */
#include "observers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sync.h"
#include "util.h"

static bool detail(const void *ud, const struct lb_service_conf *svc,
		   const struct lb_backend_conf *be, struct lb_health_detail *out) {
	return lb_health_detail(ud, svc, be, out);
}

static size_t kind_stats(const void *ud, struct lb_health_kind_stats *out, size_t max) {
	return lb_health_kind_stats(ud, out, max);
}

static void lateness(const void *ud, uint64_t buckets[LB_OBSERVE_BUCKETS + 1], double *sum,
		     uint64_t *count) {
	lb_health_lateness(ud, buckets, sum, count);
}

int lb_observers_start(struct lb_observers *o, struct lb_loop *l, struct lb_ipvs *v,
		       const struct lb_statedir *sd, const struct lb_health_mgr *health,
		       const char *config_path) {
	o->loop = l;
	o->obs.config_path = config_path;
	o->obs.start_ms = lb_realtime_ms();
	o->obs.health_detail = detail;
	o->obs.kind_stats = kind_stats;
	o->obs.lateness = lateness;
	o->obs.health_ud = health;
	/* one read of the counters serves every observer asking within a second */
	int r = lb_kstat_new(l, v, 1000, &o->kstat);
	if (r == 0)
		r = lb_notify_new(l, &o->notify);
	if (r == 0)
		r = lb_ctl_open(l, sd, &o->obs, o->kstat, &o->ctl);
	if (r < 0)
		log_error("observers: %s", strerror(-r));
	return r;
}

void lb_observers_stop(struct lb_observers *o) {
	lb_metrics_http_stop(o->metrics);
	o->metrics = NULL;
	if (o->ctl)
		lb_ctl_close(o->ctl);
	o->ctl = NULL;
	lb_notify_free(o->notify);
	o->notify = NULL;
	if (o->kstat)
		lb_kstat_free(o->kstat);
	o->kstat = NULL;
}

/* A listener that fails to start is logged and retried at the next load: /metrics is not worth
 * stopping the load balancer for. */
static void follow_metrics(struct lb_observers *o, const struct lb_config *cfg) {
	bool same = o->metrics_on == cfg->metrics &&
		    (!cfg->metrics || lb_addr_cmp(&o->metrics_at, &cfg->metrics_listen) == 0);
	if (same && (o->metrics || !cfg->metrics))
		return;
	lb_metrics_http_stop(o->metrics);
	o->metrics = NULL;
	o->metrics_on = cfg->metrics;
	o->metrics_at = cfg->metrics_listen;
	if (cfg->metrics)
		lb_metrics_http_start(o->loop, &cfg->metrics_listen, &o->obs, o->kstat, &o->metrics);
}

void lb_observers_config(struct lb_observers *o, const struct lb_config *cfg, bool reload) {
	o->obs.cfg = cfg;
	o->obs.config_loaded_ms = lb_realtime_ms();
	o->obs.config_error = NULL;
	lb_notify_configure(o->notify, cfg->notify_argv, cfg->notify_timeout_ms);
	follow_metrics(o, cfg);
	/* Prometheus' convention: the first load counts as a successful one */
	o->obs.last_reload_ok = true;
	o->obs.last_reload_success_ms = o->obs.config_loaded_ms;
	if (!reload)
		return;
	o->obs.reloads[0]++;
	lb_notify_event(o->notify, "config_loaded", NULL, NULL, NULL);
}

void lb_observers_config_error(struct lb_observers *o, const char *error) {
	o->obs.config_error = error;
	o->obs.reloads[1]++;
	o->obs.last_reload_ok = false;
	lb_notify_event(o->notify, "config_error", NULL, NULL, error);
}

void lb_observers_reconcile(struct lb_observers *o, enum lb_reconcile_kind kind, int err,
			    size_t changes, size_t failed, double seconds, uint64_t netlink_requests) {
	struct lb_observe *ob = &o->obs;
	ob->last_reconcile_ms = lb_realtime_ms();
	ob->last_kind = kind;
	ob->last_changes = changes;
	ob->last_failed = failed;
	ob->last_err = err;
	ob->reconciles[kind][err != 0]++;
	ob->reconcile_seconds_sum += seconds;
	lb_observe_bucket_add(ob->reconcile_buckets, seconds);
	ob->netlink_requests += netlink_requests;
	ob->notify_dropped = lb_notify_dropped(o->notify);
	if (err)
		lb_notify_event(o->notify, "reconcile_failed", NULL, NULL,
				err == -EIO ? "some kernel operations failed (see the log)" : strerror(-err));
}

void lb_observers_backend(struct lb_observers *o, const struct lb_service_conf *svc,
			  const struct lb_backend_conf *be, bool up) {
	struct lb_health_detail det;
	char addr[LB_ADDRSTRLEN];
	lb_health_detail(o->obs.health_ud, svc, be, &det);
	lb_notify_event(o->notify, up ? "backend_up" : "backend_down", svc->name,
			lb_addr_fmt(&be->addr, addr), up ? NULL : det.reason);
}

void lb_observers_quorum(struct lb_observers *o, const char *service, bool lost, const char *why) {
	lb_notify_event(o->notify, lost ? "quorum_lost" : "quorum_regained", service, NULL, why);
}
