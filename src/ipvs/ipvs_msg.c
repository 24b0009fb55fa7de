/* Building IPVS generic netlink requests straight into a batch buffer.
 *
 * The apply path sends thousands of requests per sendmsg; writing them back to back into one
 * buffer (instead of one libnl nl_msg each, a 4 KiB calloc apiece) keeps the user-space cost per
 * op far below the kernel's. The layout is the plain netlink one: nlmsghdr, genlmsghdr, then
 * attributes, each padded to 4 bytes; nests are closed by patching their length. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "ipvs_priv.h"
#include "util.h"

int lb_nlbuf_reserve(struct lb_nlbuf *b, size_t more) {
	return GROW(b->data, b->cap, b->len + more);
}

void lb_nlbuf_free(struct lb_nlbuf *b) {
	free(b->data);
	*b = (struct lb_nlbuf){0};
}

/* Appends an attribute; the caller reserved room (LB_IPVS_MSG_MAX per request). Padding is
 * zeroed so the bytes sent are fully defined. */
void lb_ipvs_put_attr(struct lb_nlbuf *b, uint16_t type, const void *data, size_t len) {
	struct nlattr *a = (struct nlattr *)(b->data + b->len);
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	size_t total = NLA_ALIGN(NLA_HDRLEN + len);
	memset((uint8_t *)a + NLA_HDRLEN + len, 0, total - NLA_HDRLEN - len);
	b->len += total;
}

/* Nests are referred to by offset: the buffer may not move while a request is written (room is
 * reserved up front), but offsets keep that an implementation detail. */
size_t lb_ipvs_nest_begin(struct lb_nlbuf *b, uint16_t type) {
	size_t off = b->len;
	struct nlattr *a = (struct nlattr *)(b->data + off);
	a->nla_type = type | NLA_F_NESTED;
	a->nla_len = NLA_HDRLEN;
	b->len += NLA_HDRLEN;
	return off;
}

void lb_ipvs_nest_end(struct lb_nlbuf *b, size_t off) {
	((struct nlattr *)(b->data + off))->nla_len = (uint16_t)(b->len - off);
}

int lb_ipvs_msg_begin(struct lb_nlbuf *b, uint16_t family, uint32_t seq, uint16_t flags,
		      uint8_t cmd, size_t *off) {
	int r = lb_nlbuf_reserve(b, LB_IPVS_MSG_MAX);
	if (r < 0)
		return r;
	*off = b->len;
	struct nlmsghdr *h = (struct nlmsghdr *)(b->data + b->len);
	*h = (struct nlmsghdr){
		.nlmsg_len = 0,
		.nlmsg_type = family,
		.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags),
		.nlmsg_seq = seq,
		.nlmsg_pid = 0, /* the kernel knows who sent it */
	};
	struct genlmsghdr *g = (struct genlmsghdr *)(b->data + b->len + NLMSG_HDRLEN);
	*g = (struct genlmsghdr){.cmd = cmd, .version = IPVS_GENL_VERSION};
	b->len += NLMSG_HDRLEN + NLMSG_ALIGN(GENL_HDRLEN);
	return 0;
}

void lb_ipvs_msg_end(struct lb_nlbuf *b, size_t off) {
	((struct nlmsghdr *)(b->data + off))->nlmsg_len = (uint32_t)(b->len - off);
}

/* The kernel takes the address as a union nf_inet_addr (16 bytes); an IPv4 one is the first 4,
 * and lb_inaddr keeps the rest zero. Ports travel in network byte order. A firewall-mark service
 * is named by family and mark alone (ip_vs_genl_parse_service looks it up by them and ignores
 * protocol, address and port when the mark is there): nothing else is sent for it. */
static void put_svc_key(struct lb_nlbuf *b, const struct lb_service *s) {
	lb_ipvs_put_u16(b, IPVS_SVC_ATTR_AF, s->key.addr.af);
	if (s->key.fwmark) {
		lb_ipvs_put_u32(b, IPVS_SVC_ATTR_FWMARK, s->key.fwmark);
		return;
	}
	lb_ipvs_put_u16(b, IPVS_SVC_ATTR_PROTOCOL, s->key.proto);
	lb_ipvs_put_attr(b, IPVS_SVC_ATTR_ADDR, s->key.addr.ip.bytes, sizeof(s->key.addr.ip.bytes));
	lb_ipvs_put_u16(b, IPVS_SVC_ATTR_PORT, htons(s->key.addr.port));
}

/* SET_SERVICE replaces the whole configuration, so add and edit send every field. The mask
 * covers all bits: the kernel's flags become exactly ours (it keeps HASHED itself). */
static void put_svc_config(struct lb_nlbuf *b, const struct lb_service *s) {
	size_t n = strnlen(s->sched, sizeof(s->sched) - 1);
	char sched[sizeof(s->sched)];
	memcpy(sched, s->sched, n);
	sched[n] = 0;
	lb_ipvs_put_attr(b, IPVS_SVC_ATTR_SCHED_NAME, sched, n + 1);
	struct ip_vs_flags fl = {.flags = s->flags & ~IP_VS_SVC_F_HASHED, .mask = ~0u};
	lb_ipvs_put_attr(b, IPVS_SVC_ATTR_FLAGS, &fl, sizeof(fl));
	lb_ipvs_put_u32(b, IPVS_SVC_ATTR_TIMEOUT, s->timeout);
	lb_ipvs_put_u32(b, IPVS_SVC_ATTR_NETMASK, s->netmask);
}

static void put_service(struct lb_nlbuf *b, const struct lb_service *s, bool full) {
	size_t nest = lb_ipvs_nest_begin(b, IPVS_CMD_ATTR_SERVICE);
	put_svc_key(b, s);
	if (full)
		put_svc_config(b, s);
	lb_ipvs_nest_end(b, nest);
}

/* Tunnel encapsulation (ip_vs_genl_parse_dest: TUN_TYPE u8, TUN_PORT big-endian, TUN_FLAGS u16).
 * Sent only when one of them is set: plain ipip must stay readable by kernels before 5.2, and the
 * kernel zeroes what a SET_DEST leaves out (it clears the whole request first), so going back to
 * ipip is done by not sending them. */
static void put_tunnel(struct lb_nlbuf *b, const struct lb_dest *d) {
	if (!d->tun_type && !d->tun_port && !d->tun_flags)
		return;
	lb_ipvs_put_u8(b, IPVS_DEST_ATTR_TUN_TYPE, d->tun_type);
	lb_ipvs_put_u16(b, IPVS_DEST_ATTR_TUN_PORT, htons(d->tun_port));
	lb_ipvs_put_u16(b, IPVS_DEST_ATTR_TUN_FLAGS, d->tun_flags);
}

/* The destination's family is sent only when it differs from the service's (tunnelling an IPv4
 * VIP to IPv6 real servers): the kernel defaults to the service family otherwise, and kernels
 * older than 3.18 do not know the attribute. */
static void put_dest(struct lb_nlbuf *b, const struct lb_service *s, const struct lb_dest *d,
		     bool full) {
	size_t nest = lb_ipvs_nest_begin(b, IPVS_CMD_ATTR_DEST);
	lb_ipvs_put_attr(b, IPVS_DEST_ATTR_ADDR, d->addr.ip.bytes, sizeof(d->addr.ip.bytes));
	lb_ipvs_put_u16(b, IPVS_DEST_ATTR_PORT, htons(d->addr.port));
	if (d->addr.af != s->key.addr.af)
		lb_ipvs_put_u16(b, IPVS_DEST_ATTR_ADDR_FAMILY, d->addr.af);
	if (full) {
		lb_ipvs_put_u32(b, IPVS_DEST_ATTR_FWD_METHOD, d->fwd & IP_VS_CONN_F_FWD_MASK);
		lb_ipvs_put_u32(b, IPVS_DEST_ATTR_WEIGHT, d->weight);
		lb_ipvs_put_u32(b, IPVS_DEST_ATTR_U_THRESH, d->u_thresh);
		lb_ipvs_put_u32(b, IPVS_DEST_ATTR_L_THRESH, d->l_thresh);
		put_tunnel(b, d);
	}
	lb_ipvs_nest_end(b, nest);
}

uint8_t lb_ipvs_op_cmd(enum lb_op_kind k) {
	switch (k) {
	case LB_OP_ADD_SVC: return IPVS_CMD_NEW_SERVICE;
	case LB_OP_EDIT_SVC: return IPVS_CMD_SET_SERVICE;
	case LB_OP_DEL_SVC: return IPVS_CMD_DEL_SERVICE;
	case LB_OP_ADD_DEST: return IPVS_CMD_NEW_DEST;
	case LB_OP_EDIT_DEST: return IPVS_CMD_SET_DEST;
	case LB_OP_DEL_DEST: return IPVS_CMD_DEL_DEST;
	case LB_OP_DRAIN_DEST: return IPVS_CMD_SET_DEST;
	}
	return IPVS_CMD_UNSPEC;
}

static bool op_is_dest(enum lb_op_kind k) {
	return k == LB_OP_ADD_DEST || k == LB_OP_EDIT_DEST || k == LB_OP_DEL_DEST ||
	       k == LB_OP_DRAIN_DEST;
}

int lb_ipvs_msg_op(struct lb_nlbuf *b, uint16_t family, uint32_t seq, uint16_t flags,
		   const struct lb_op *op) {
	uint8_t cmd = lb_ipvs_op_cmd(op->kind);
	if (cmd == IPVS_CMD_UNSPEC || !op->svc || (op_is_dest(op->kind) && !op->dest))
		return -EINVAL;
	size_t off;
	int r = lb_ipvs_msg_begin(b, family, seq, flags, cmd, &off);
	if (r < 0)
		return r;
	bool full_svc = op->kind == LB_OP_ADD_SVC || op->kind == LB_OP_EDIT_SVC;
	put_service(b, op->svc, full_svc);
	if (op->kind == LB_OP_DRAIN_DEST) {
		/* the destination as the kernel has it (its tunnel too: SET_DEST would clear what is
		 * left out), but for its weight */
		struct lb_dest d = *op->dest;
		d.weight = 0;
		put_dest(b, op->svc, &d, true);
	} else if (op_is_dest(op->kind)) {
		put_dest(b, op->svc, op->dest, op->kind != LB_OP_DEL_DEST);
	}
	lb_ipvs_msg_end(b, off);
	return 0;
}

int lb_ipvs_msg_cmd(struct lb_nlbuf *b, uint16_t family, uint32_t seq, uint16_t flags, uint8_t cmd,
		    const struct lb_service *svc) {
	size_t off;
	int r = lb_ipvs_msg_begin(b, family, seq, flags, cmd, &off);
	if (r < 0)
		return r;
	if (svc)
		put_service(b, svc, false);
	lb_ipvs_msg_end(b, off);
	return 0;
}
