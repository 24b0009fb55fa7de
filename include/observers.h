/* The daemon's observers -- control socket, /metrics, notify hooks -- and the state they read
 * (struct lb_observe), kept in one place so that src/daemon.c only reports what happened. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "health.h"
#include "ipvs.h"
#include "kstat.h"
#include "loop.h"
#include "metrics_http.h"
#include "notify.h"
#include "observe.h"
#include "statedir.h"

struct lb_observers {
	struct lb_observe obs;
	struct lb_loop *loop;
	struct lb_kstat *kstat;
	struct lb_ctl *ctl;
	struct lb_notify *notify;
	struct lb_metrics_http *metrics;
	bool metrics_on;
	struct lb_addr metrics_at;
};

/* obs's pointers to daemon state (view, drains, no_quorum) are set by the caller, once. Opens
 * the control socket and the kernel-counter reader. 0 or a negative errno (logged). */
int lb_observers_start(struct lb_observers *o, struct lb_loop *l, struct lb_ipvs *v,
		       const struct lb_statedir *sd, const struct lb_health_mgr *health,
		       const char *config_path);
void lb_observers_stop(struct lb_observers *o);

/* A configuration came into force (at start, or a reload): notify hooks and the /metrics
 * listener follow it. reload: counted and notified as config_loaded. */
void lb_observers_config(struct lb_observers *o, const struct lb_config *cfg, bool reload);
/* A reload failed: error (the text the status shows) stays until the next good load. */
void lb_observers_config_error(struct lb_observers *o, const char *error);
/* A reconcile pass ended. */
void lb_observers_reconcile(struct lb_observers *o, enum lb_reconcile_kind kind, int err,
			    size_t changes, size_t failed, double seconds, uint64_t netlink_requests);
/* A backend's health changed, or a service's quorum. */
void lb_observers_backend(struct lb_observers *o, const struct lb_service_conf *svc,
			  const struct lb_backend_conf *be, bool up);
void lb_observers_quorum(struct lb_observers *o, const char *service, bool lost, const char *why);
