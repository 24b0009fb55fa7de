/* Kernel errors in words: what ip_vs_ctl.c means by each errno, for each kind of request. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <string.h>

#include "ipvs_priv.h"
#include "kconf.h"

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

/* A destination whose family differs from its service's (ip_vs_genl_set_cmd, add and edit only):
 * refused unless it is tunnelled, and refused while a sync daemon runs (sync_state set), whose
 * protocol cannot carry mixed families. */
static const char *dest_mixed_einval(const struct lb_dest *d) {
	if ((d->fwd & IP_VS_CONN_F_FWD_MASK) != IP_VS_CONN_F_TUNNEL)
		return "a destination of another address family than its service needs forward: tun "
		       "(and no sync daemon running: the sync protocol cannot carry mixed families)";
	return "a destination of another address family than its service is refused while a sync "
	       "daemon runs (the sync protocol cannot carry mixed families)";
}

/* EINVAL on a destination: ip_vs_add_dest / ip_vs_edit_dest refuse a gue tunnel without a port
 * and (recent kernels) an upper threshold above INT_MAX; a family other than the service's has
 * its own rules; else the address must be one the kernel can route to (unicast or local, not
 * link-local IPv6). */
static const char *dest_einval(const struct lb_op *op, char *buf, size_t len) {
	const struct lb_dest *d = op->dest;
	if (d && op->kind != LB_OP_DEL_DEST && d->tun_type == IP_VS_CONN_F_TUNNEL_TYPE_GUE &&
	    !d->tun_port)
		return "a gue tunnel needs a port (tun_port 0)";
	if (d && op->kind != LB_OP_DEL_DEST && d->u_thresh > INT32_MAX) {
		snprintf(buf, len, "upper connection threshold %u above the kernel's limit %d",
			 d->u_thresh, INT32_MAX);
		return buf;
	}
	if (op->svc && d && op->kind != LB_OP_DEL_DEST && d->addr.af != op->svc->key.addr.af)
		return dest_mixed_einval(d);
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
	case EINVAL: return dest_einval(op, buf, len);
	case EOPNOTSUPP: /* lb_ipvs_apply's own verdict on a kernel that would ignore the tunnel */
		return "the kernel has no GUE/GRE tunnels for IPVS (gue needs Linux 5.2, gre 5.3)";
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

/* ---- sync daemons (ip_vs_genl_new_daemon, start_sync_thread) ---- */

static bool is_multicast(const struct lb_addr *g) {
	if (g->af == AF_INET)
		return IN_MULTICAST(ntohl(g->ip.v4.s_addr));
	return g->af == AF_INET6 && IN6_IS_ADDR_MULTICAST(&g->ip.v6);
}

/* EINVAL: the group is checked to be multicast, then the start is refused while any service has
 * destinations of mixed families (ipvs->mixed_address_family_dests). The kernel clamps max_len
 * into its range rather than refusing it. */
static const char *daemon_einval(const struct lb_syncd *d, char *buf, size_t len) {
	char g[LB_ADDRSTRLEN];
	if (d && d->group.af && !is_multicast(&d->group)) {
		snprintf(buf, len, "sync group %s is not a multicast address",
			 lb_ip_fmt(d->group.af, &d->group.ip, g));
		return buf;
	}
	return "the kernel refuses a sync daemon while destinations of another address family than "
	       "their service exist (the sync protocol cannot carry mixed families)";
}

static const char *daemon_msg(int e, const struct lb_syncd *d, char *buf, size_t len) {
	switch (e) {
	case ENODEV:
	case ENXIO:
		if (!d)
			return "no such network interface";
		snprintf(buf, len, "no network interface \"%.*s\" for the sync daemon",
			 (int)sizeof(d->ifname), d->ifname);
		return buf;
	case EINVAL: return daemon_einval(d, buf, len);
	case EEXIST:
		return "a sync daemon of that role already runs (the kernel cannot change it: stop it "
		       "first)";
	case EAFNOSUPPORT: return "the kernel's IPVS has no IPv6 (an IPv6 sync group needs it)";
	case ENOPROTOOPT: return "the ip_vs module is being unloaded";
	default: return common_msg(e);
	}
}

const char *lb_ipvs_daemon_strerror(int err, const struct lb_syncd *d, char *buf, size_t len) {
	int e = err < 0 ? -err : err;
	const char *s = daemon_msg(e, d, buf, len);
	if (!s)
		s = strerror_r(e, buf, len); /* GNU: may return a static string instead of buf */
	if (s != buf)
		snprintf(buf, len, "%s", s);
	return buf;
}
