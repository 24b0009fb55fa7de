/* TCP check: the backend is up when a TCP connection to it completes before the deadline.
 * Non-blocking connect, then EPOLLOUT and SO_ERROR. A connected socket is closed with RST (like
 * haproxy's connect checks), so thousands of checks per second leave no TIME_WAIT behind. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>

#include "check.h"

static void tcp_ready(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	struct lb_probe *p = userdata;
	int err = 0;
	socklen_t len = sizeof(err);
	/* EPOLLOUT alone: the handshake completed. An error (refused, unreachable) comes with
	 * EPOLLERR and is read, and cleared, through SO_ERROR. */
	if (revents & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		else if (err == 0)
			err = ECONNRESET; /* hung up with no error left: treat as reset */
	}
	lb_probe_close(p, err == 0);
	if (err == 0)
		lb_probe_done(p, true, NULL);
	else
		lb_probe_fail_errno(p, err);
}

static void tcp_start(struct lb_probe *p) {
	struct sockaddr_storage ss;
	socklen_t len = lb_probe_sockaddr(p->addr, &ss);
	int fd = lb_probe_open(p, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		lb_probe_close(p, true);
		lb_probe_done(p, true, NULL);
		return;
	}
	if (errno != EINPROGRESS) {
		int err = errno;
		lb_probe_close(p, false);
		lb_probe_fail_errno(p, err);
		return;
	}
	lb_probe_watch(p, EPOLLOUT, tcp_ready);
}

static void tcp_cancel(struct lb_probe *p) {
	lb_probe_close(p, false); /* SYN_SENT: nothing to reset */
}

/* The deadline passed. When the checker itself is late (thousands of probes in one busy turn),
 * the backend's answer may already wait on the socket unread: take it, rather than blame the
 * backend for the checker's own lag. Only a socket with nothing to say times out. */
static void tcp_expire(struct lb_probe *p) {
	struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
	if (p->fd >= 0 && poll(&pfd, 1, 0) == 1) {
		uint32_t ev = (pfd.revents & POLLOUT ? EPOLLOUT : 0) | (pfd.revents & POLLERR ? EPOLLERR : 0) |
			      (pfd.revents & POLLHUP ? EPOLLHUP : 0);
		if (ev) {
			tcp_ready(p->loop, p->fd, ev, p);
			return;
		}
	}
	tcp_cancel(p);
	lb_probe_done(p, false, "timeout");
}

const struct lb_check_ops lb_check_tcp = {
	.name = "tcp",
	.type = LB_CHECK_TCP,
	.start = tcp_start,
	.cancel = tcp_cancel,
	.expire = tcp_expire,
};
