/* The IPVS generic netlink socket: opening it, and the one request/response loop that GET_INFO
 * and the dumps share.
 *
 * libnl opens the socket and resolves the family; after that we send and receive on the raw fd
 * so that the pipelined apply can put thousands of requests in one sendmsg and so that every
 * kernel error keeps its exact errno (libnl would translate it into its own codes). libnl's
 * attribute parser still reads every reply. */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvs_priv.h"
#include "log.h"
#include "util.h"

/* Error replies (one per failed request) are small but each costs the receive buffer about a
 * kilobyte of skb overhead; 4 MiB leaves room for thousands, and a batch is sized to fit. */
#define RCVBUF_WANT (4 * 1024 * 1024)
#define SNDBUF_WANT (1024 * 1024)
#define REPLY_TRUESIZE 2048
#define BATCH_MSGS_MAX 2048
/* A reply the kernel owes us is normally there at once; waiting longer than this would be a hung
 * loop, and systemd's watchdog (WatchdogSec=30s) must never be what notices. */
#define REPLY_TIMEOUT_MS 5000

static int nlerr_to_errno(int nlerr) {
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_NOMEM: return ENOMEM;
	case NLE_PERM: return EPERM;
	case NLE_OBJ_NOTFOUND: return ENOENT;
	case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
	case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
	case NLE_AGAIN: return EAGAIN;
	case NLE_BUSY: return EBUSY;
	default: return EIO;
	}
}

/* The FORCE variants pass the sysctl caps (net.core.rmem_max); they need CAP_NET_ADMIN, which
 * programming IPVS needs anyway. Without it we live with the capped size. */
static void set_buf(int fd, int force_opt, int opt, int bytes) {
	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static int get_buf(int fd, int opt) {
	int v = 0;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0)
		return 0;
	return v;
}

/* EZLB_NETLINK_RCVBUF=BYTES: a test knob (the resource-fault tests shrink the buffer to see that
 * dumps and batches still complete); not for production. */
static int rcvbuf_want(void) {
	const char *e = getenv("EZLB_NETLINK_RCVBUF");
	char *end;
	long n = e ? strtol(e, &end, 10) : 0;
	if (e && *end == 0 && n >= 1024 && n <= RCVBUF_WANT) {
		log_warn("ipvs: netlink receive buffer %ld bytes (EZLB_NETLINK_RCVBUF, a test knob)", n);
		return (int)n;
	}
	return RCVBUF_WANT;
}

static void tune_socket(struct lb_ipvs *v) {
	int one = 1;
	set_buf(v->fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf_want());
	set_buf(v->fd, SO_SNDBUFFORCE, SO_SNDBUF, SNDBUF_WANT);
	/* CAP_ACK: an error reply carries only the failed request's header, not its whole body.
	 * EXT_ACK: the kernel may add a text message; we log it. Both are optional (kernel >= 4.2 /
	 * 4.12): without them replies are just bigger and plainer. */
	if (setsockopt(v->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		log_debug("ipvs: NETLINK_CAP_ACK unsupported: %m");
	if (setsockopt(v->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0)
		log_debug("ipvs: NETLINK_EXT_ACK unsupported: %m");

	/* getsockopt reports what the kernel checks against: a sendmsg longer than sndbuf - 32 is
	 * refused, and replies beyond rcvbuf are dropped (ENOBUFS). Keep both well inside. */
	int rcv = get_buf(v->fd, SO_RCVBUF), snd = get_buf(v->fd, SO_SNDBUF);
	size_t msgs = (size_t)rcv / 2 / REPLY_TRUESIZE;
	v->batch_msgs = msgs < 1 ? 1 : msgs > BATCH_MSGS_MAX ? BATCH_MSGS_MAX : msgs;
	v->batch_bytes = (size_t)snd / 2 > LB_IPVS_MSG_MAX ? (size_t)snd / 2 : LB_IPVS_MSG_MAX;
	log_debug("ipvs: rcvbuf %d sndbuf %d: up to %zu requests / %zu bytes per batch", rcv, snd,
		  v->batch_msgs, v->batch_bytes);
}

/* No destination address: an unconnected netlink socket sends to its default peer, port 0, the
 * kernel. */
int lb_ipvs_send(struct lb_ipvs *v, const void *buf, size_t len) {
	for (;;) {
		ssize_t r = send(v->fd, buf, len, 0);
		v->stats.sendmsgs++;
		if (r >= 0)
			return (size_t)r == len ? 0 : -EIO;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t lb_ipvs_recv(struct lb_ipvs *v, int flags) {
	for (;;) {
		ssize_t r = recv(v->fd, v->rbuf, LB_IPVS_RBUF, flags | MSG_TRUNC);
		if (r >= 0)
			return r > LB_IPVS_RBUF ? -EMSGSIZE : r;
		if (errno != EINTR)
			return -errno;
	}
}

/* The kernel answers inside sendmsg, so replies are normally queued by the time we read; the
 * wait is only a guard against a kernel that processes asynchronously or drops our batch. */
ssize_t lb_ipvs_recv_wait(struct lb_ipvs *v) {
	ssize_t r = lb_ipvs_recv(v, MSG_DONTWAIT);
	if (r != -EAGAIN)
		return r;
	struct pollfd p = {.fd = v->fd, .events = POLLIN};
	int pr;
	do
		pr = poll(&p, 1, v->reply_timeout_ms);
	while (pr < 0 && errno == EINTR);
	if (pr < 0)
		return -errno;
	if (pr == 0)
		return -ETIMEDOUT;
	return lb_ipvs_recv(v, MSG_DONTWAIT);
}

void lb_ipvs_drain(struct lb_ipvs *v) {
	for (int i = 0; i < 100000; i++) {
		ssize_t r = lb_ipvs_recv(v, MSG_DONTWAIT);
		if (r == -EAGAIN || r == -EBADF)
			return;
	}
}

/* One netlink error message: 0 for an ACK, else the negative errno. */
static int msg_error(const struct nlmsghdr *h) {
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
		return -EPROTO;
	const struct nlmsgerr *e = NLMSG_DATA(h);
	return e->error;
}

int lb_ipvs_request(struct lb_ipvs *v, struct lb_nlbuf *req, uint32_t seq, bool dump,
		    lb_ipvs_msg_cb cb, void *ctx) {
	int r = lb_ipvs_send(v, req->data, req->len);
	if (r < 0)
		return r;
	v->stats.requests++;
	v->datagrams = 0;
	for (;;) {
		ssize_t n = lb_ipvs_recv_wait(v);
		v->datagrams++;
		if (n < 0)
			return (int)n;
		int len = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)v->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue; /* a late reply to something we already gave up on */
			if (h->nlmsg_type == NLMSG_ERROR)
				return msg_error(h); /* an ACK (0) also ends a request */
			if (h->nlmsg_type == NLMSG_DONE)
				return h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) ? *(int *)NLMSG_DATA(h) : 0;
			if (h->nlmsg_type == NLMSG_OVERRUN)
				return -EOVERFLOW;
			r = cb(h, ctx);
			if (r < 0) {
				lb_ipvs_drain(v);
				return r;
			}
			if (!dump)
				return 0;
		}
	}
}

static int info_cb(struct nlmsghdr *h, void *ctx) {
	struct nlattr *tb[IPVS_INFO_ATTR_MAX + 1];
	static struct nla_policy pol[IPVS_INFO_ATTR_MAX + 1] = {
		[IPVS_INFO_ATTR_VERSION] = {.type = NLA_U32},
		[IPVS_INFO_ATTR_CONN_TAB_SIZE] = {.type = NLA_U32},
	};
	if (genlmsg_parse(h, 0, tb, IPVS_INFO_ATTR_MAX, pol) < 0 || !tb[IPVS_INFO_ATTR_VERSION])
		return -EPROTO;
	*(uint32_t *)ctx = nla_get_u32(tb[IPVS_INFO_ATTR_VERSION]);
	return 0;
}

/* GET_INFO needs CAP_NET_ADMIN like every IPVS command, so it tells at start-up, with a clear
 * message, whether we may change the table at all. */
static int check_info(struct lb_ipvs *v) {
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++, version = 0;
	int r = lb_ipvs_msg_cmd(&req, v->family, seq, 0, IPVS_CMD_GET_INFO, NULL);
	if (r >= 0)
		r = lb_ipvs_request(v, &req, seq, false, info_cb, &version);
	lb_nlbuf_free(&req);
	if (r == -EPERM || r == -EACCES) {
		log_error("IPVS: permission denied: changing the IPVS table needs CAP_NET_ADMIN "
			  "(run as root or grant the capability)");
		return -EPERM;
	}
	if (r < 0) {
		log_error("IPVS: cannot query the kernel's IPVS: %s", strerror(-r));
		return r;
	}
	log_debug("ipvs: kernel IPVS version %u.%u.%u, generic netlink family %u",
		  (version >> 16) & 0xff, (version >> 8) & 0xff, version & 0xff, v->family);
	return 0;
}

static int connect_family(struct lb_ipvs *v) {
	v->sk = nl_socket_alloc();
	if (!v->sk)
		return -ENOMEM;
	int r = genl_connect(v->sk);
	if (r < 0) {
		log_error("IPVS: cannot open a generic netlink socket: %s", nl_geterror(r));
		return -nlerr_to_errno(r);
	}
	r = genl_ctrl_resolve(v->sk, IPVS_GENL_NAME);
	if (r < 0) {
		if (r == -NLE_OBJ_NOTFOUND) {
			log_error("IPVS not available: load ip_vs or use a kernel with CONFIG_IP_VS");
			return -EPROTONOSUPPORT;
		}
		log_error("IPVS: cannot resolve the generic netlink family: %s", nl_geterror(r));
		return -nlerr_to_errno(r);
	}
	v->family = (uint16_t)r;
	/* every later request is ours to acknowledge or not */
	nl_socket_disable_auto_ack(v->sk);
	v->fd = nl_socket_get_fd(v->sk);
	return 0;
}

int lb_ipvs_open(struct lb_ipvs **out) {
	struct lb_ipvs *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->fd = -1;
	v->reply_timeout_ms = REPLY_TIMEOUT_MS;
	/* any start will do: replies are matched on the exact number */
	v->seq = (uint32_t)now_usec(CLOCK_MONOTONIC);
	v->rbuf = malloc(LB_IPVS_RBUF);
	int r = v->rbuf ? connect_family(v) : -ENOMEM;
	if (r >= 0) {
		tune_socket(v);
		r = check_info(v);
	}
	if (r < 0) {
		lb_ipvs_close(v);
		return r;
	}
	*out = v;
	return 0;
}

void lb_ipvs_close(struct lb_ipvs *v) {
	if (!v)
		return;
	if (v->sk)
		nl_socket_free(v->sk); /* closes the fd */
	free(v->rbuf);
	free(v);
}

int lb_ipvs_fd(const struct lb_ipvs *v) { return v->fd; }

void lb_ipvs_get_stats(const struct lb_ipvs *v, struct lb_ipvs_stats *out) { *out = v->stats; }
