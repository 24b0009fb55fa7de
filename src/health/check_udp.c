/* UDP check. UDP has no handshake, and a TCP connect to the same port would test another service,
 * so, like keepalived's UDP_CHECK: send an empty datagram on a connected socket and wait until the
 * deadline. An ICMP error (port unreachable -> "connection refused", host/network unreachable) or
 * a local routing error is a failure; a reply, or silence until the deadline, is a success.
 * So the probe catches a dead process or host that answers with ICMP; a host that drops
 * everything silently is not detected. */
#include <errno.h>
#include <netinet/in.h>

#include "check.h"

static void udp_ready(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	struct lb_probe *p = userdata;
	char buf[1];
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0) {
		lb_probe_close(p, false);
		lb_probe_done(p, true, NULL);
		return;
	}
	int err = errno;
	if (err == EAGAIN || err == EINTR)
		return; /* spurious wakeup: keep waiting */
	lb_probe_close(p, false);
	lb_probe_fail_errno(p, err);
}

static void udp_start(struct lb_probe *p) {
	struct sockaddr_storage ss;
	socklen_t len = lb_probe_sockaddr(p->addr, &ss);
	int fd = lb_probe_open(p, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		return;
	/* Connected, so that the kernel reports ICMP errors for this peer on the socket. */
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 || send(fd, "", 0, 0) < 0) {
		int err = errno;
		lb_probe_close(p, false);
		lb_probe_fail_errno(p, err);
		return;
	}
	lb_probe_watch(p, EPOLLIN, udp_ready);
}

static void udp_cancel(struct lb_probe *p) { lb_probe_close(p, false); }

/* No ICMP error within the timeout: nothing says the backend is down. But a late loop (a busy
 * turn, a stalled process) may not have read an error that arrived in time: look at the socket
 * before judging, as TCP does. */
static void udp_expire(struct lb_probe *p) {
	char buf[1];
	if (p->fd >= 0 && recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		int err = errno;
		lb_probe_close(p, false);
		lb_probe_fail_errno(p, err);
		return;
	}
	lb_probe_close(p, false);
	lb_probe_done(p, true, NULL);
}

const struct lb_check_ops lb_check_udp = {
	.name = "udp",
	.type = LB_CHECK_UDP,
	.start = udp_start,
	.cancel = udp_cancel,
	.expire = udp_expire,
};
