/* Helpers shared by the check kinds: reasons, addresses, closing. */
#include <errno.h>
#include <string.h>

#include "check.h"

const char *lb_probe_reason(int err) {
	switch (err) {
	case ECONNREFUSED: return "connection refused";
	case ETIMEDOUT: return "timeout";
	case ENETUNREACH: return "network unreachable";
	case EHOSTUNREACH: return "host unreachable";
	case ECONNRESET: return "connection reset";
	case EHOSTDOWN: return "host down";
	case ENETDOWN: return "network down";
	}
	/* A static string, unlike strerror()'s buffer for unknown codes: the engine keeps it. */
	const char *s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

/* Errors that say something about this host, not about the backend. */
static bool local_error(int err) {
	switch (err) {
	case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM: case EADDRNOTAVAIL: case EAGAIN:
		return true;
	}
	return false;
}

void lb_probe_fail_errno(struct lb_probe *p, int err) {
	if (local_error(err))
		lb_probe_abort(p, err);
	else
		lb_probe_done(p, false, lb_probe_reason(err));
}

socklen_t lb_probe_sockaddr(const struct lb_addr *a, struct sockaddr_storage *ss) {
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		sin->sin_addr = a->ip.v4;
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(a->port);
	sin6->sin6_addr = a->ip.v6;
	return sizeof(*sin6);
}

int lb_probe_open(struct lb_probe *p, int type, int proto) {
	int fd = socket(p->addr->af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		lb_probe_abort(p, errno);
		return -1;
	}
	p->fd = fd;
	return fd;
}

bool lb_probe_watch(struct lb_probe *p, uint32_t events, lb_io_fn cb) {
	int r = lb_loop_io_add(p->loop, &p->io, p->fd, events, cb, p);
	if (r < 0) {
		lb_probe_close(p, false);
		lb_probe_abort(p, -r);
	}
	return r == 0;
}

void lb_probe_close(struct lb_probe *p, bool rst) {
	if (p->fd < 0)
		return;
	if (rst) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* best effort */
	}
	if (p->io.added)
		lb_loop_io_close(p->loop, &p->io); /* the socket is never dup'ed */
	else
		close(p->fd);
	p->fd = -1;
}
