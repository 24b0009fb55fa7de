/* The HTTP probe state machine: see http_client.h. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "http_resp.h"

enum phase { CONNECTING, HANDSHAKE, SENDING, READING };

/* What a step of the machine left to do. */
enum step { STEP_NEXT, STEP_WAIT, STEP_END };

/* p->run while a probe runs: a few dozen bytes plus the request; the reader is one more block. */
struct run {
	const struct lb_http_xport *x;
	void *xs;
	struct lb_http_resp *resp;
	enum phase phase;
	uint32_t events; /* registered with the loop */
	size_t req_len, req_off;
	char req[];
};

/* --- the request --- */

static const char *path_of(const struct lb_check_http *c) { return c->path ? c->path : "/"; }

size_t lb_http_request_len(const struct lb_check_http *c) {
	static const char fixed[] = "GET  HTTP/1.1\r\nHost: \r\nUser-Agent: ezlb/" EZLB_VERSION
				    "\r\nConnection: close\r\n\r\n";
	return sizeof(fixed) + strlen(path_of(c)) + (c->host ? strlen(c->host) : LB_ADDRSTRLEN);
}

static bool clean(const char *s, bool space_ok) {
	for (; *s; s++)
		if (*s == '\r' || *s == '\n' || (*s == ' ' && !space_ok))
			return false;
	return true;
}

/* Host: the configured name, else the probed address, with its port unless it is the scheme's
 * default ("10.0.0.1", "10.0.0.1:8080", "[2001:db8::1]:8443"). */
static const char *host_of(const struct lb_check_http *c, const struct lb_addr *a, bool tls,
			   char buf[static LB_ADDRSTRLEN]) {
	if (c->host)
		return c->host;
	if (a->port != (tls ? 443 : 80))
		return lb_addr_fmt(a, buf);
	char ip[LB_ADDRSTRLEN];
	lb_ip_fmt(a->af, &a->ip, ip);
	snprintf(buf, LB_ADDRSTRLEN, a->af == AF_INET6 ? "[%s]" : "%s", ip);
	return buf;
}

int lb_http_request(const struct lb_check_http *c, const struct lb_addr *addr, bool tls, char *buf,
		    size_t len) {
	char hbuf[LB_ADDRSTRLEN];
	const char *path = path_of(c), *host = host_of(c, addr, tls, hbuf);
	if (!clean(path, false) || !*path || !clean(host, true) || !*host)
		return -EINVAL;
	int n = snprintf(buf, len,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ezlb/" EZLB_VERSION
			 "\r\nConnection: close\r\n\r\n",
			 path, host);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* --- the one end of every probe --- */

enum result { ABORT = -2, FAIL = -1, UP = 1 };

static void run_free(struct lb_probe *p) {
	struct run *r = p->run;
	if (!r)
		return;
	if (r->x->close)
		r->x->close(p, r->xs);
	lb_http_resp_free(r->resp);
	free(r);
	p->run = NULL;
}

/* Free the probe's state, close its socket (with RST once connected: no TIME_WAIT) and report:
 * UP; FAIL with why, or else err's reason; ABORT (a local problem, no result) with err. */
static void end(struct lb_probe *p, enum result res, int err, const char *why) {
	struct run *r = p->run;
	bool connected = r && r->phase != CONNECTING;
	run_free(p);
	lb_probe_close(p, connected);
	if (res == UP)
		lb_probe_done(p, true, NULL);
	else if (res == ABORT)
		lb_probe_abort(p, err);
	else if (why && *why)
		lb_probe_done(p, false, why);
	else
		lb_probe_fail_errno(p, err);
}

/* A transport error: -EAGAIN is handled by the caller, -EPROTO carries why. */
static enum step xport_error(struct lb_probe *p, int err, const char *why) {
	end(p, FAIL, err, err == EPROTO ? why : NULL);
	return STEP_END;
}

/* --- the steps --- */

/* The outcome of the non-blocking connect: 0, -EAGAIN (not yet) or a negative errno. */
static int connect_result(int fd, uint32_t revents) {
	int err = 0;
	socklen_t len = sizeof(err);
	if (revents & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		return -(err ? err : ECONNRESET);
	}
	return revents & EPOLLOUT ? 0 : -EAGAIN;
}

static enum step step_connect(struct lb_probe *p, struct run *r, uint32_t revents, uint32_t *want,
			      char *why) {
	int e = connect_result(p->fd, revents);
	if (e == -EAGAIN) {
		*want = EPOLLOUT;
		return STEP_WAIT;
	}
	if (e < 0) {
		end(p, FAIL, -e, NULL);
		return STEP_END;
	}
	r->phase = r->x->handshake ? HANDSHAKE : SENDING;
	if (r->x->open && (e = r->x->open(p, &r->xs, why)) < 0) {
		end(p, e == -ENOMEM ? ABORT : FAIL, -e, why);
		return STEP_END;
	}
	return STEP_NEXT;
}

static enum step step_handshake(struct lb_probe *p, struct run *r, uint32_t *want, char *why) {
	int e = r->x->handshake(p, r->xs, want, why);
	if (e == -EAGAIN)
		return STEP_WAIT;
	if (e < 0)
		return xport_error(p, -e, why);
	r->phase = SENDING;
	return STEP_NEXT;
}

static enum step step_send(struct lb_probe *p, struct run *r, uint32_t *want, char *why) {
	while (r->req_off < r->req_len) {
		ssize_t n = r->x->write(p, r->xs, r->req + r->req_off, r->req_len - r->req_off, want,
					why);
		if (n == -EAGAIN)
			return STEP_WAIT;
		if (n < 0)
			return xport_error(p, (int)-n, why);
		r->req_off += (size_t)n;
	}
	/* The answer cannot be there yet: wait for it rather than try a read bound to fail. */
	r->phase = READING;
	*want = EPOLLIN;
	return STEP_WAIT;
}

static enum step step_read(struct lb_probe *p, struct run *r, uint32_t *want, char *why) {
	for (;;) {
		char buf[4096];
		ssize_t n = r->x->read(p, r->xs, buf, sizeof(buf), want, why);
		if (n == -EAGAIN)
			return STEP_WAIT;
		if (n < 0)
			return xport_error(p, (int)-n, why);
		if (n == 0)
			lb_http_resp_eof(r->resp);
		else
			lb_http_resp_feed(r->resp, buf, (size_t)n);
		/* Read through p: a reload may have moved conf to an equal copy. */
		int v = lb_http_resp_verdict(r->resp, &p->conf->http, why, LB_PROBE_REASON_MAX);
		if (v != 0) {
			end(p, v > 0 ? UP : FAIL, 0, why);
			return STEP_END;
		}
	}
}

/* Run the machine as far as it goes without blocking, then wait for what it needs. */
static void drive(struct lb_probe *p, uint32_t revents) {
	struct run *r = p->run;
	char why[LB_PROBE_REASON_MAX] = "";
	uint32_t want = 0;
	enum step s = STEP_NEXT;
	if (r->phase == CONNECTING)
		s = step_connect(p, r, revents, &want, why);
	while (s == STEP_NEXT) {
		switch (r->phase) {
		case HANDSHAKE: s = step_handshake(p, r, &want, why); break;
		case SENDING: s = step_send(p, r, &want, why); break;
		default: s = step_read(p, r, &want, why); break;
		}
	}
	/* Registered edge-triggered for both directions: nothing to change while waiting. */
	if (s != STEP_WAIT || (r->events & EPOLLET) || want == r->events)
		return;
	int e = lb_loop_io_mod(p->loop, &p->io, want);
	if (e < 0) {
		end(p, ABORT, -e, NULL);
		return;
	}
	r->events = want;
}

static void on_io(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	drive(userdata, revents);
}

/* --- the kind's ops --- */

void lb_http_start(struct lb_probe *p, const struct lb_http_xport *x) {
	const struct lb_check_http *c = &p->conf->http;
	size_t room = lb_http_request_len(c);
	struct run *r = calloc(1, sizeof(*r) + room);
	struct lb_http_resp *resp = r ? lb_http_resp_new(c->expect) : NULL;
	if (!resp) {
		free(r);
		lb_probe_abort(p, ENOMEM);
		return;
	}
	/* Edge-triggered for both directions from the start: the connect raises EPOLLOUT once, the
	 * answer EPOLLIN, and the probe never pays an epoll_ctl to switch between them. Every step
	 * reads or writes until EAGAIN (or the end), as edges require. */
	*r = (struct run){.x = x, .resp = resp, .phase = CONNECTING,
			  .events = EPOLLIN | EPOLLOUT | EPOLLET};
	int n = lb_http_request(c, p->addr, x != &lb_http_plain, r->req, room);
	r->req_len = n > 0 ? (size_t)n : 0;
	p->run = r;
	if (n < 0) {
		end(p, FAIL, 0, "invalid path or host");
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len = lb_probe_sockaddr(p->addr, &ss);
	p->fd = socket(p->addr->af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (p->fd < 0) {
		int err = errno;
		end(p, ABORT, err, NULL);
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		int err = errno;
		end(p, FAIL, err, NULL); /* local errors (EADDRNOTAVAIL) still abort */
		return;
	}
	/* Even a connect that completed at once is taken up by the EPOLLOUT it raises. */
	int e = lb_loop_io_add(p->loop, &p->io, p->fd, r->events, on_io, p);
	if (e < 0)
		end(p, ABORT, -e, NULL);
}

void lb_http_cancel(struct lb_probe *p) {
	struct run *r = p->run;
	bool connected = r && r->phase != CONNECTING;
	run_free(p);
	lb_probe_close(p, connected);
}

static const char *timeout_reason(const struct run *r, char *buf, size_t len) {
	switch (r->phase) {
	case CONNECTING: return "timeout connecting";
	case HANDSHAKE: return "timeout in the TLS handshake";
	case SENDING: return "timeout sending the request";
	default: break;
	}
	snprintf(buf, len, "timeout reading %s", lb_http_resp_waiting_for(r->resp));
	return buf;
}

void lb_http_expire(struct lb_probe *p) {
	if (!p->run) { /* never: a running probe has its state; but end it all the same */
		lb_probe_close(p, false);
		lb_probe_done(p, false, "timeout");
		return;
	}
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN | POLLOUT};
	if (p->fd >= 0 && poll(&pfd, 1, 0) == 1) {
		uint32_t ev = (pfd.revents & POLLIN ? EPOLLIN : 0) | (pfd.revents & POLLOUT ? EPOLLOUT : 0) |
			      (pfd.revents & POLLERR ? EPOLLERR : 0) | (pfd.revents & POLLHUP ? EPOLLHUP : 0);
		drive(p, ev);
		if (!p->run)
			return; /* what waited decided */
	}
	char buf[64];
	end(p, FAIL, 0, timeout_reason(p->run, buf, sizeof(buf)));
}

/* --- settings --- */

static int str_cmp(const char *a, const char *b) {
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

int lb_http_conf_cmp(const struct lb_check_conf *ca, const struct lb_check_conf *cb) {
	const struct lb_check_http *a = &ca->http, *b = &cb->http;
	int r;
	if ((r = strcmp(path_of(a), path_of(b))) || (r = str_cmp(a->host, b->host)) ||
	    (r = str_cmp(a->expect, b->expect)))
		return r;
	if (a->n_status != b->n_status)
		return a->n_status < b->n_status ? -1 : 1;
	for (size_t i = 0; i < a->n_status && i < LB_HTTP_MAX_RANGES; i++) {
		const struct lb_status_range *x = &a->status[i], *y = &b->status[i];
		if (x->lo != y->lo || x->hi != y->hi)
			return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : 1);
	}
	return 0;
}

/* --- plain transport --- */

static ssize_t plain_io_result(ssize_t n, uint32_t *want, uint32_t wait_for) {
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR) {
		*want = wait_for;
		return -EAGAIN;
	}
	return -errno;
}

static ssize_t plain_read(struct lb_probe *p, void *xs, void *buf, size_t n, uint32_t *want,
			  char why[static LB_PROBE_REASON_MAX]) {
	return plain_io_result(recv(p->fd, buf, n, 0), want, EPOLLIN);
}

static ssize_t plain_write(struct lb_probe *p, void *xs, const void *buf, size_t n, uint32_t *want,
			   char why[static LB_PROBE_REASON_MAX]) {
	/* MSG_NOSIGNAL: a backend that resets must not SIGPIPE the daemon. */
	return plain_io_result(send(p->fd, buf, n, MSG_NOSIGNAL), want, EPOLLOUT);
}

const struct lb_http_xport lb_http_plain = {
	.read = plain_read,
	.write = plain_write,
};
