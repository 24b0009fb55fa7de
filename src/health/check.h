/* The interface between the health engine (health.c) and the check kinds (check_*.c).
 *
 * A check kind is a struct lb_check_ops plus one line in kinds.c: the engine owns scheduling,
 * deadlines, verdicts and logging; a kind only turns "probe this address now" into one call of
 * lb_probe_done() (or lb_probe_abort()). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "health.h"
#include "loop.h"

/* What the kinds of one health manager share (one per manager, never a global): a kind keeps
 * here what its probes have in common (say, TLS contexts), created on first use and freed with
 * the manager through its ops->shared_free. */
struct lb_check_shared {
	void *kind[LB_CHECK_N];
};

/* One per target, embedded in it and reused by every probe. */
struct lb_probe {
	/* Set by the engine; constant while a probe runs, except that a config reload may point
	 * conf and svc at the new config's equal settings: read them through p, never keep them. */
	struct lb_loop *loop;
	const struct lb_addr *addr;          /* what to probe: the backend, port already applied */
	uint32_t timeout_ms;
	const struct lb_check_conf *conf;    /* the service's health_check */
	const struct lb_service_conf *svc;   /* the first service using this target (exec's env) */
	struct lb_check_shared *shared;
	/* The kind's while a probe runs; fd is -1 when the kind holds no socket. */
	int fd;
	struct lb_io io;
	void *run;     /* the kind's per-probe state (buffers), NULL between probes */
	uint64_t word; /* a small per-probe value of the kind's (the DNS query id) */
	void *persist; /* the kind's per-target state kept across probes (a TLS session); freed by
			* ops->release when the target goes */
};

struct lb_check_ops {
	const char *name;          /* "tcp" */
	enum lb_check_type type;   /* LB_CHECK_TCP */
	/* Begin a probe. It ends through exactly one lb_probe_done() or lb_probe_abort(), which may
	 * be called before start() returns. */
	void (*start)(struct lb_probe *p);
	/* The engine stops a running probe (target removed, shutdown, deadline): release the socket
	 * and per-probe state, and report nothing. */
	void (*cancel)(struct lb_probe *p);
	/* The probe's deadline passed. NULL means: cancel, then fail with "timeout". */
	void (*expire)(struct lb_probe *p);
	/* Order two check confs of this kind by the settings the kind reads (http path, exec argv,
	 * ...): targets whose settings compare equal are probed once. NULL: no settings of its own. */
	int (*conf_cmp)(const struct lb_check_conf *a, const struct lb_check_conf *b);
	/* Free p->persist (the target is going). NULL: the kind keeps none. */
	void (*release)(struct lb_probe *p);
	/* Free shared->kind[type] (the manager is going). NULL: the kind shares nothing. */
	void (*shared_free)(void *shared);
	/* Run at most lb_health_mgr's limit of these at once (exec); the engine queues the rest,
	 * late, and starts them as others end. */
	bool limited;
	/* The probe's env names its service (exec): a backend in two services is two targets. */
	bool per_service;
};

/* The one way a probe ends with a result. reason (failures only) is copied (at most
 * LB_PROBE_REASON_MAX - 1 bytes kept), so a kind may format it on its stack: "HTTP 503". */
#define LB_PROBE_REASON_MAX 160
void lb_probe_done(struct lb_probe *p, bool ok, const char *reason);
/* The probe could not be run for a local reason (no fd, no memory, no local port): no result is
 * counted, a rate-limited warning is logged, and the target keeps its schedule. */
void lb_probe_abort(struct lb_probe *p, int err);
/* End a probe on a socket error: lb_probe_abort for local errors, else a failure with its reason. */
void lb_probe_fail_errno(struct lb_probe *p, int err);

/* "connection refused", "timeout", "network unreachable", "host unreachable", else strerror. */
const char *lb_probe_reason(int err);
/* Fill ss from a; returns its length. */
socklen_t lb_probe_sockaddr(const struct lb_addr *a, struct sockaddr_storage *ss);
/* Open the probe's non-blocking socket (p->fd) for p->addr's family; on failure the probe is
 * aborted and -1 returned. */
int lb_probe_open(struct lb_probe *p, int type, int proto);
/* Wait for events on the probe's socket with cb(userdata = p); on failure the socket is closed,
 * the probe aborted, and false returned. */
bool lb_probe_watch(struct lb_probe *p, uint32_t events, lb_io_fn cb);
/* Remove the probe's socket from the loop and close it; with rst, close with SO_LINGER 0 so a
 * connected TCP socket sends RST and leaves no TIME_WAIT behind (10k checks/s would otherwise
 * keep ~600k TIME_WAIT sockets). */
void lb_probe_close(struct lb_probe *p, bool rst);

extern const struct lb_check_ops lb_check_tcp;
extern const struct lb_check_ops lb_check_udp;

extern const struct lb_check_ops lb_check_http;
extern const struct lb_check_ops lb_check_https;
extern const struct lb_check_ops lb_check_exec;
extern const struct lb_check_ops lb_check_dns;

/* The built-in kinds (kinds.c), and the one of a type, or NULL. */
extern const struct lb_check_ops *const lb_check_kinds[];
extern const size_t lb_check_n_kinds;
const struct lb_check_ops *lb_check_kind(const struct lb_check_ops *const *kinds, size_t n,
					 enum lb_check_type type);

/* Tests: make h use another kind table (e.g. a fake kind completing probes on demand). Call
 * before the first lb_health_sync. */
void lb_health_set_kinds(struct lb_health_mgr *h, const struct lb_check_ops *const *kinds, size_t n);
