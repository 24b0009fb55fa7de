/* UDP check. UDP has no handshake, and a TCP connect to the same port would test another service,
 * so, like keepalived's UDP_CHECK: send a datagram (health_check.udp.send, else an empty one) on a
 * connected socket and wait until the deadline. An ICMP error (port unreachable -> "connection
 * refused", host/network unreachable) or a local routing error is a failure.
 *
 * Without udp.expect, a reply, or silence until the deadline, is a success: the probe catches a
 * dead process or host that answers with ICMP; a host that drops everything silently is not
 * detected. With udp.expect (keepalived's require_reply), the first reply decides: up when it
 * starts with the expected bytes, else "reply lacks expected prefix"; silence is a failure. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Replies are compared on the stack up to this many expected bytes, beyond in a heap buffer. */
#define STACK_EXPECT 256

static bool reply_matches(const struct lb_check_udp *u, const uint8_t *buf, ssize_t n) {
	if (!u->has_expect)
		return true;
	/* With MSG_TRUNC, n is the datagram's length even when buf held only its first bytes. */
	return (size_t)n >= u->expect_len &&
	       (u->expect_len == 0 || memcmp(buf, u->expect, u->expect_len) == 0);
}

/* Read one datagram, or the socket's error: only the first expect_len bytes are kept. Returns
 * the recv() result, errno in *err. */
static ssize_t read_reply(struct lb_probe *p, bool *match, int *err) {
	const struct lb_check_udp *u = &p->conf->udp;
	size_t cap = u->has_expect ? u->expect_len : 0;
	uint8_t small[STACK_EXPECT], *buf = cap <= sizeof(small) ? small : malloc(cap);
	if (!buf) {
		*err = ENOMEM;
		return -1;
	}
	ssize_t n = recv(p->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC);
	*err = errno;
	*match = n >= 0 && reply_matches(u, buf, n);
	if (buf != small)
		free(buf);
	return n;
}

/* Judge what waits on the socket; returns true when the probe ended. */
static bool udp_read(struct lb_probe *p) {
	bool match;
	int err;
	ssize_t n = read_reply(p, &match, &err);
	if (n < 0 && (err == EAGAIN || err == EINTR))
		return false; /* nothing yet: keep waiting */
	lb_probe_close(p, false);
	if (n < 0)
		lb_probe_fail_errno(p, err);
	else if (match)
		lb_probe_done(p, true, NULL);
	else
		lb_probe_done(p, false, "reply lacks expected prefix");
	return true;
}

static void udp_ready(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	udp_read(userdata);
}

static void udp_start(struct lb_probe *p) {
	const struct lb_check_udp *u = &p->conf->udp;
	struct sockaddr_storage ss;
	socklen_t len = lb_probe_sockaddr(p->addr, &ss);
	int fd = lb_probe_open(p, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		return;
	/* Connected, so that the kernel reports ICMP errors for this peer on the socket. */
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 ||
	    send(fd, u->send_len ? (const void *)u->send : "", u->send_len, 0) < 0) {
		int err = errno;
		lb_probe_close(p, false);
		lb_probe_fail_errno(p, err);
		return;
	}
	lb_probe_watch(p, EPOLLIN, udp_ready);
}

static void udp_cancel(struct lb_probe *p) { lb_probe_close(p, false); }

/* The deadline. A late loop (a busy turn, a stalled process) may not have read a reply or an
 * error that arrived in time: look at the socket before judging, as TCP does. Then silence is a
 * success without expect (no ICMP error: nothing says the backend is down), a failure with. */
static void udp_expire(struct lb_probe *p) {
	if (p->fd >= 0 && udp_read(p))
		return;
	lb_probe_close(p, false);
	if (p->conf->udp.has_expect)
		lb_probe_done(p, false, "timeout (no reply)");
	else
		lb_probe_done(p, true, NULL);
}

static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen ? memcmp(a, b, alen) : 0;
}

static int udp_conf_cmp(const struct lb_check_conf *a, const struct lb_check_conf *b) {
	const struct lb_check_udp *x = &a->udp, *y = &b->udp;
	int r = bytes_cmp(x->send, x->send_len, y->send, y->send_len);
	if (r)
		return r;
	if (x->has_expect != y->has_expect)
		return x->has_expect ? 1 : -1;
	/* Without has_expect, the expect bytes are not read: they do not tell targets apart. */
	return x->has_expect ? bytes_cmp(x->expect, x->expect_len, y->expect, y->expect_len) : 0;
}

const struct lb_check_ops lb_check_udp = {
	.name = "udp",
	.type = LB_CHECK_UDP,
	.start = udp_start,
	.cancel = udp_cancel,
	.expire = udp_expire,
	.conf_cmp = udp_conf_cmp,
};
