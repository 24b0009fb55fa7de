/* Kernel errors in words: what ip_vs_ctl.c means by each errno, for each kind of request. */
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <string.h>

#include "ipvs_priv.h"

static bool is_svc_op(enum lb_op_kind k) {
	return k == LB_OP_ADD_SVC || k == LB_OP_EDIT_SVC || k == LB_OP_DEL_SVC;
}

/* EINVAL on add/edit service: the kernel checks little beyond the IPv6 prefix length. */
static const char *svc_einval(const struct lb_op *op, char *buf, size_t len) {
	const struct lb_service *s = op->svc;
	if (s && s->key.addr.af == AF_INET6 && (s->netmask < 1 || s->netmask > 128)) {
		snprintf(buf, len, "IPv6 persistence netmask must be a prefix length 1..128, not %u",
			 s->netmask);
		return buf;
	}
	return "the kernel rejected the service's settings as invalid";
}

/* EINVAL on a destination: a family other than the service's needs tunnelling, and the address
 * must be one the kernel can route to (unicast or local, not link-local IPv6). */
static const char *dest_einval(const struct lb_op *op) {
	const struct lb_dest *d = op->dest;
	if (op->svc && d && d->addr.af != op->svc->key.addr.af &&
	    (d->fwd & IP_VS_CONN_F_FWD_MASK) != IP_VS_CONN_F_TUNNEL)
		return "a destination of another address family than its service needs forward: tun";
	return "the kernel rejected the destination (not a unicast address it can forward to?)";
}

static const char *dest_erange(const struct lb_op *op, char *buf, size_t len) {
	const struct lb_dest *d = op->dest;
	if (d && d->l_thresh > d->u_thresh) {
		snprintf(buf, len, "lower connection threshold %u above upper threshold %u",
			 d->l_thresh, d->u_thresh);
		return buf;
	}
	if (d) {
		snprintf(buf, len, "weight %u out of range", d->weight);
		return buf;
	}
	return "weight out of range";
}

static const char *svc_msg(const struct lb_op *op, int e, char *buf, size_t len) {
	switch (e) {
	case ENOENT:
		if (op->kind == LB_OP_DEL_SVC || !op->svc)
			return NULL;
		snprintf(buf, len, "scheduler \"%.*s\" not in kernel (no module ip_vs_%.*s)",
			 (int)sizeof(op->svc->sched), op->svc->sched, (int)sizeof(op->svc->sched),
			 op->svc->sched);
		return buf;
	case ESRCH: return "service does not exist";
	case EEXIST: return "service already exists";
	case EINVAL: return op->kind == LB_OP_DEL_SVC ? NULL : svc_einval(op, buf, len);
	case ENOPROTOOPT: return "the ip_vs module is being unloaded";
	default: return NULL;
	}
}

static const char *dest_msg(const struct lb_op *op, int e, char *buf, size_t len) {
	switch (e) {
	case ESRCH: return "service does not exist";
	case EEXIST: return "destination already exists";
	case ENOENT: return "destination does not exist";
	case ERANGE: return dest_erange(op, buf, len);
	case EINVAL: return dest_einval(op);
	default: return NULL;
	}
}

static const char *common_msg(int e) {
	switch (e) {
	case EPERM:
	case EACCES: return "permission denied (needs CAP_NET_ADMIN)";
	case EAFNOSUPPORT: return "address family not supported by the kernel's IPVS (IPv6?)";
	case ENOMEM: return "the kernel is out of memory";
	case ENOBUFS: return "netlink receive buffer overflowed: result unknown";
	case ETIMEDOUT: return "the kernel did not answer: result unknown";
	default: return NULL;
	}
}

const char *lb_ipvs_strerror(const struct lb_op *op, int err, char *buf, size_t len) {
	int e = err < 0 ? -err : err;
	const char *s = NULL;
	if (op)
		s = is_svc_op(op->kind) ? svc_msg(op, e, buf, len) : dest_msg(op, e, buf, len);
	if (!s)
		s = common_msg(e);
	if (!s)
		s = strerror_r(e, buf, len); /* GNU: may return a static string instead of buf */
	if (s != buf)
		snprintf(buf, len, "%s", s);
	return buf;
}
