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

/* One per target, embedded in it and reused by every probe: probing allocates nothing. */
struct lb_probe {
	/* Set by the engine; constant while a probe runs. */
	struct lb_loop *loop;
	const struct lb_addr *addr;
	uint32_t timeout_ms;
	/* The kind's while a probe runs; fd is -1 when the kind holds no socket. */
	int fd;
	struct lb_io io;
};

struct lb_check_ops {
	const char *name;   /* "tcp" */
	uint16_t proto;     /* the service protocol it checks: IPPROTO_TCP */
	/* Begin a probe. It ends through exactly one lb_probe_done() or lb_probe_abort(), which may
	 * be called before start() returns. */
	void (*start)(struct lb_probe *p);
	/* The engine stops a running probe (target removed, shutdown, deadline): release the socket
	 * and report nothing. */
	void (*cancel)(struct lb_probe *p);
	/* The probe's deadline passed. NULL means: cancel, then fail with "timeout". */
	void (*expire)(struct lb_probe *p);
};

/* The one way a probe ends with a result. reason (failures only) must be a static string. */
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

/* The built-in kinds (kinds.c), and the one for a service protocol or NULL. */
extern const struct lb_check_ops *const lb_check_kinds[];
extern const size_t lb_check_n_kinds;
const struct lb_check_ops *lb_check_kind(const struct lb_check_ops *const *kinds, size_t n,
					 uint16_t proto);

/* Tests: make h use another kind table (e.g. a fake kind completing probes on demand). Call
 * before the first lb_health_sync. */
void lb_health_set_kinds(struct lb_health_mgr *h, const struct lb_check_ops *const *kinds, size_t n);
