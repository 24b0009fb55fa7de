/* Pipelined apply: many requests per sendmsg, no ACK asked but for the last of each batch.
 *
 * The kernel walks every message of a sendmsg in order (netlink_rcv_skb) and answers each one
 * that fails with an NLMSG_ERROR carrying its sequence number, whether or not it asked for an
 * ACK. So a batch costs one syscall, the replies name exactly the ops that failed, and the ACK of
 * the last request tells that the kernel is through with the batch. Request i of a batch has
 * sequence number base + i, which maps a reply back to its op without a table. */
#include <errno.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <string.h>

#include "ipvs_priv.h"
#include "log.h"

bool lb_ipvs_err_is_benign(enum lb_op_kind k, int err) {
	switch (k) {
	case LB_OP_ADD_SVC:
	case LB_OP_ADD_DEST:
		return err == -EEXIST;
	case LB_OP_DEL_SVC:
	case LB_OP_DEL_DEST:
		return err == -ENOENT || err == -ESRCH;
	default:
		return false;
	}
}

/* Only add and edit carry the tunnel: a delete names the destination, and a drain copies what the
 * kernel itself reported. 5.2 has gue and its port; gre and the flags came with 5.3. */
bool lb_ipvs_tun_unsupported(enum lb_ipvs_tun tun, const struct lb_op *op) {
	const struct lb_dest *d = op->dest;
	if ((op->kind != LB_OP_ADD_DEST && op->kind != LB_OP_EDIT_DEST) || !d)
		return false;
	switch (tun) {
	case LB_IPVS_TUN_NONE: return d->tun_type || d->tun_port || d->tun_flags;
	case LB_IPVS_TUN_GUE: return d->tun_type > IP_VS_CONN_F_TUNNEL_TYPE_GUE || d->tun_flags;
	default: return false; /* unknown yet, or a kernel with all of them */
	}
}

struct batch {
	const struct lb_op *ops;  /* the batch's first op */
	int *errs;                /* its first result */
	size_t n;                 /* ops in the batch, sent or not */
	size_t first;             /* index of ops[0] in the whole apply, for messages */
	uint32_t base;            /* sequence number of ops[0] */
	uint32_t last_seq;        /* the request that carries NLM_F_ACK */
};

/* The kernel's extended ACK text, if it sent one (NETLINK_EXT_ACK), for the debug log. */
static const char *extack_msg(const struct nlmsghdr *h) {
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	if (off >= h->nlmsg_len)
		return NULL;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((uint8_t *)h + off),
		      (int)(h->nlmsg_len - off), NULL) < 0 || !tb[NLMSGERR_ATTR_MSG])
		return NULL;
	const char *s = nla_data(tb[NLMSGERR_ATTR_MSG]);
	return memchr(s, 0, nla_len(tb[NLMSGERR_ATTR_MSG])) ? s : NULL;
}

/* Records one NLMSG_ERROR. Returns 1 once the batch's last request is answered. */
static int take_reply(struct batch *b, const struct nlmsghdr *h) {
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		return -EPROTO;
	const struct nlmsgerr *e = NLMSG_DATA(h);
	uint32_t i = h->nlmsg_seq - b->base; /* unsigned: wraps past the end for strangers */
	if (i >= b->n)
		return 0; /* a reply to an earlier, abandoned batch */
	if (e->error < 0 && !lb_ipvs_err_is_benign(b->ops[i].kind, e->error)) {
		b->errs[i] = e->error;
		const char *msg = extack_msg(h);
		if (msg)
			log_debug("ipvs: op %zu: kernel says: %s", b->first + i, msg);
	}
	return h->nlmsg_seq == b->last_seq;
}

static int read_replies(struct lb_ipvs *v, struct batch *b) {
	for (;;) {
		ssize_t n = lb_ipvs_recv_wait(v);
		if (n < 0)
			return (int)n;
		int len = (int)n, done = 0;
		for (struct nlmsghdr *h = (struct nlmsghdr *)v->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue; /* nothing else answers a change request */
			int r = take_reply(b, h);
			if (r < 0)
				return r;
			done |= r;
		}
		if (done)
			return 0;
	}
}

/* Builds ops[0..] into buf until a limit, sets the batch up; returns ops consumed or -errno. */
static ssize_t build_batch(struct lb_ipvs *v, struct lb_nlbuf *buf, const struct lb_op *ops,
			   size_t n, int *errs, size_t first, struct batch *b) {
	size_t i, last_off = SIZE_MAX;
	*b = (struct batch){.ops = ops, .errs = errs, .first = first, .base = v->seq};
	buf->len = 0;
	for (i = 0; i < n && i < v->batch_msgs && buf->len + LB_IPVS_MSG_MAX <= v->batch_bytes; i++) {
		size_t off = buf->len;
		if (lb_ipvs_tun_unsupported(v->tun, &ops[i])) {
			errs[i] = -EOPNOTSUPP; /* the kernel would drop the tunnel without a word */
			continue;
		}
		int r = lb_ipvs_msg_op(buf, v->family, b->base + (uint32_t)i, 0, &ops[i]);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			errs[i] = r; /* a planner bug, not a kernel answer: the op is never sent */
			log_error("IPVS: op %zu (kind %d) lacks its service or destination; not sent",
				  first + i, (int)ops[i].kind);
			continue;
		}
		last_off = off;
	}
	b->n = i;
	v->seq += (uint32_t)i;
	v->stats.requests += i;
	if (last_off == SIZE_MAX)
		return (ssize_t)i; /* nothing to send */
	struct nlmsghdr *last = (struct nlmsghdr *)(buf->data + last_off);
	last->nlmsg_flags |= NLM_F_ACK;
	b->last_seq = last->nlmsg_seq;
	return (ssize_t)i;
}

static void fail_rest(int *errs, size_t n, int err) {
	for (size_t i = 0; i < n; i++)
		if (errs[i] == 0)
			errs[i] = err;
}

int lb_ipvs_apply(struct lb_ipvs *v, const struct lb_op *ops, size_t n, int *errs) {
	struct lb_nlbuf buf = {0};
	struct batch b;
	int r = 0;
	memset(errs, 0, n * sizeof(*errs));
	for (size_t done = 0; done < n;) {
		ssize_t k = build_batch(v, &buf, ops + done, n - done, errs + done, done, &b);
		if (k < 0) {
			r = (int)k;
			break;
		}
		if (buf.len) {
			r = lb_ipvs_send(v, buf.data, buf.len);
			if (r >= 0)
				r = read_replies(v, &b);
			if (r < 0)
				break;
		}
		done += (size_t)k;
	}
	lb_nlbuf_free(&buf);
	if (r < 0) {
		/* which of the unanswered ops took effect is unknown: none may pass for success */
		size_t start = b.first;
		fail_rest(errs + start, n - start, r);
		lb_ipvs_drain(v);
		log_error("IPVS: netlink failed while applying changes (%s); %zu of %zu ops unconfirmed",
			  strerror(-r), n - start, n);
		return r;
	}
	int failed = 0;
	for (size_t i = 0; i < n; i++)
		failed += errs[i] != 0;
	return failed;
}
