/* The HTTP probe shared by the http and https kinds: a non-blocking state machine
 *
 *     connect -> [handshake] -> send the GET -> read the response (http_resp.c) -> verdict
 *
 * over a small transport (plain socket, or TLS from tls.c), run in the engine's loop. Every
 * probe ends in one place, which frees its state, closes its socket (RST once connected: no
 * TIME_WAIT) and reports. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "check.h"

/* A transport over the probe's connected socket p->fd. Functions returning int or ssize_t give
 * >= 0 on success, -EAGAIN with *want (EPOLLIN or EPOLLOUT) to wait for, or another negative
 * errno; -EPROTO comes with a reason in why ("TLS: certificate verify failed (...)"). */
struct lb_http_xport {
	/* Set up once the TCP connection is established; may store state in *xs. */
	int (*open)(struct lb_probe *p, void **xs, char why[static LB_PROBE_REASON_MAX]);
	/* NULL: nothing to negotiate. 0 once done. */
	int (*handshake)(struct lb_probe *p, void *xs, uint32_t *want,
			 char why[static LB_PROBE_REASON_MAX]);
	/* 0: the peer closed. */
	ssize_t (*read)(struct lb_probe *p, void *xs, void *buf, size_t n, uint32_t *want,
			char why[static LB_PROBE_REASON_MAX]);
	ssize_t (*write)(struct lb_probe *p, void *xs, const void *buf, size_t n, uint32_t *want,
			 char why[static LB_PROBE_REASON_MAX]);
	/* Free xs (NULL if open failed or never ran); the socket is closed afterwards. */
	void (*close)(struct lb_probe *p, void *xs);
};

extern const struct lb_http_xport lb_http_plain;

/* The kind's ops, over transport x. */
void lb_http_start(struct lb_probe *p, const struct lb_http_xport *x);
void lb_http_cancel(struct lb_probe *p);
/* At the deadline: first take what already waits on the socket (a late loop is not the backend's
 * fault), then fail with "timeout connecting", "timeout reading headers", ... */
void lb_http_expire(struct lb_probe *p);
/* Orders two confs by the settings an HTTP probe reads: path, host, status ranges, expect. */
int lb_http_conf_cmp(const struct lb_check_conf *a, const struct lb_check_conf *b);

/* The bytes of the GET for conf c towards addr, into buf (len bytes); returns its length, or -EINVAL
 * when path or host would break the request (CR or LF, an empty one, a space in the path),
 * -ENOSPC when buf is too small. lb_http_request_len gives the room needed. Exposed for tests. */
size_t lb_http_request_len(const struct lb_check_http *c);
int lb_http_request(const struct lb_check_http *c, const struct lb_addr *addr, bool tls, char *buf,
		    size_t len);
