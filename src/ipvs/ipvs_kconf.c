/* The kernel-wide IPVS settings over generic netlink: the connection timeouts (GET/SET_CONFIG) and
 * the connection sync daemons (GET/NEW/DEL_DAEMON). Each call is one request on the socket the
 * table uses, answered before it returns.
 *
 * The layouts follow ip_vs_ctl.c: the timeouts are top-level u32 attributes in seconds
 * (ip_vs_genl_set_config keeps the value of any it is not sent); a daemon is an
 * IPVS_CMD_ATTR_DAEMON nest whose STATE is IP_VS_STATE_MASTER or _BACKUP, with MCAST_IFN (a
 * NUL-terminated name of at most 15 characters), SYNC_ID u32, SYNC_MAXLEN u16, MCAST_GROUP (an
 * in_addr, network order) or MCAST_GROUP6 (an in6_addr), MCAST_PORT u16 in HOST order (the kernel
 * applies htons itself when it builds the socket address) and MCAST_TTL u8. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/genl/genl.h>
#include <stdio.h>
#include <string.h>

#include "ipvs_priv.h"
#include "kconf.h"

/* ---- requests ---- */

static uint32_t role_state(int role) {
	switch (role) {
	case LB_SYNCD_MASTER: return IP_VS_STATE_MASTER;
	case LB_SYNCD_BACKUP: return IP_VS_STATE_BACKUP;
	default: return IP_VS_STATE_NONE;
	}
}

static int state_role(uint32_t state) {
	switch (state) {
	case IP_VS_STATE_MASTER: return LB_SYNCD_MASTER;
	case IP_VS_STATE_BACKUP: return LB_SYNCD_BACKUP;
	default: return -1;
	}
}

/* Change requests carry NLM_F_ACK: the kernel answers a successful one with nothing else. */
int lb_ipvs_msg_set_timeouts(struct lb_nlbuf *b, uint16_t family, uint32_t seq,
			     const struct lb_timeouts *t) {
	size_t off;
	int r = lb_ipvs_msg_begin(b, family, seq, NLM_F_ACK, IPVS_CMD_SET_CONFIG, &off);
	if (r < 0)
		return r;
	if (t->tcp)
		lb_ipvs_put_u32(b, IPVS_CMD_ATTR_TIMEOUT_TCP, t->tcp);
	if (t->tcp_fin)
		lb_ipvs_put_u32(b, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t->tcp_fin);
	if (t->udp)
		lb_ipvs_put_u32(b, IPVS_CMD_ATTR_TIMEOUT_UDP, t->udp);
	lb_ipvs_msg_end(b, off);
	return 0;
}

/* The group, if one is set: MCAST_GROUP for IPv4 (its 4 bytes as stored, network order),
 * MCAST_GROUP6 for IPv6. */
static int put_group(struct lb_nlbuf *b, const struct lb_addr *g) {
	switch (g->af) {
	case 0: return 0;
	case AF_INET:
		lb_ipvs_put_attr(b, IPVS_DAEMON_ATTR_MCAST_GROUP, &g->ip.v4, sizeof(g->ip.v4));
		return 0;
	case AF_INET6:
		lb_ipvs_put_attr(b, IPVS_DAEMON_ATTR_MCAST_GROUP6, &g->ip.v6, sizeof(g->ip.v6));
		return 0;
	default: return -EINVAL;
	}
}

/* The interface name as the kernel's NLA_NUL_STRING policy wants it: NUL-terminated, at most
 * IP_VS_IFNAME_MAXLEN - 1 characters (a longer one could not name an interface anyway). */
static int put_ifname(struct lb_nlbuf *b, const char ifname[16]) {
	size_t n = strnlen(ifname, 16);
	char name[IP_VS_IFNAME_MAXLEN];
	if (n >= sizeof(name))
		return -EINVAL;
	memcpy(name, ifname, n);
	name[n] = 0;
	lb_ipvs_put_attr(b, IPVS_DAEMON_ATTR_MCAST_IFN, name, n + 1);
	return 0;
}

/* The optional fields, each only when set: the kernel picks its default for an absent one
 * (224.0.0.81, port 8848, ttl 1, max_len from the interface MTU). */
static int put_daemon(struct lb_nlbuf *b, int role, const struct lb_syncd *d) {
	lb_ipvs_put_u32(b, IPVS_DAEMON_ATTR_STATE, role_state(role));
	int r = put_ifname(b, d->ifname);
	if (r < 0)
		return r;
	lb_ipvs_put_u32(b, IPVS_DAEMON_ATTR_SYNC_ID, d->id);
	if (d->max_len)
		lb_ipvs_put_u16(b, IPVS_DAEMON_ATTR_SYNC_MAXLEN, d->max_len);
	if ((r = put_group(b, &d->group)) < 0)
		return r;
	if (d->port)
		lb_ipvs_put_u16(b, IPVS_DAEMON_ATTR_MCAST_PORT, d->port);
	if (d->ttl)
		lb_ipvs_put_u8(b, IPVS_DAEMON_ATTR_MCAST_TTL, d->ttl);
	return 0;
}

/* On failure the buffer is left as it was: a half-written request is never sent. */
int lb_ipvs_msg_new_daemon(struct lb_nlbuf *b, uint16_t family, uint32_t seq, int role,
			   const struct lb_syncd *d) {
	if (role_state(role) == IP_VS_STATE_NONE)
		return -EINVAL;
	size_t off;
	int r = lb_ipvs_msg_begin(b, family, seq, NLM_F_ACK, IPVS_CMD_NEW_DAEMON, &off);
	if (r < 0)
		return r;
	size_t nest = lb_ipvs_nest_begin(b, IPVS_CMD_ATTR_DAEMON);
	if ((r = put_daemon(b, role, d)) < 0) {
		b->len = off;
		return r;
	}
	lb_ipvs_nest_end(b, nest);
	lb_ipvs_msg_end(b, off);
	return 0;
}

/* ip_vs_genl_del_daemon reads the state alone. */
int lb_ipvs_msg_del_daemon(struct lb_nlbuf *b, uint16_t family, uint32_t seq, int role) {
	if (role_state(role) == IP_VS_STATE_NONE)
		return -EINVAL;
	size_t off;
	int r = lb_ipvs_msg_begin(b, family, seq, NLM_F_ACK, IPVS_CMD_DEL_DAEMON, &off);
	if (r < 0)
		return r;
	size_t nest = lb_ipvs_nest_begin(b, IPVS_CMD_ATTR_DAEMON);
	lb_ipvs_put_u32(b, IPVS_DAEMON_ATTR_STATE, role_state(role));
	lb_ipvs_nest_end(b, nest);
	lb_ipvs_msg_end(b, off);
	return 0;
}

/* ---- replies ---- */

/* What ip_vs_genl_fill_daemon sends; the lengths follow ip_vs_daemon_policy. */
static struct nla_policy daemon_policy[IPVS_DAEMON_ATTR_MAX + 1] = {
	[IPVS_DAEMON_ATTR_STATE] = {.type = NLA_U32},
	[IPVS_DAEMON_ATTR_MCAST_IFN] = {.type = NLA_STRING, .maxlen = IP_VS_IFNAME_MAXLEN},
	[IPVS_DAEMON_ATTR_SYNC_ID] = {.type = NLA_U32},
	[IPVS_DAEMON_ATTR_SYNC_MAXLEN] = {.type = NLA_U16},
	[IPVS_DAEMON_ATTR_MCAST_GROUP] = {.type = NLA_U32},
	[IPVS_DAEMON_ATTR_MCAST_GROUP6] = {.type = NLA_UNSPEC, .minlen = sizeof(struct in6_addr),
					   .maxlen = sizeof(struct in6_addr)},
	[IPVS_DAEMON_ATTR_MCAST_PORT] = {.type = NLA_U16},
	[IPVS_DAEMON_ATTR_MCAST_TTL] = {.type = NLA_U8},
};

/* The kernel sends TIMEOUT_TCP and _TCP_FIN together (CONFIG_IP_VS_PROTO_TCP) and TIMEOUT_UDP
 * (CONFIG_IP_VS_PROTO_UDP): a kernel built without one protocol leaves its group out, which reads
 * as 0. A reply with neither group, or half of the TCP pair, is not one a kernel sends. */
int lb_ipvs_parse_timeouts(struct nlmsghdr *h, struct lb_timeouts *out) {
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0)
		return -EINVAL;
	struct nlattr *tcp = tb[IPVS_CMD_ATTR_TIMEOUT_TCP], *fin = tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN],
		      *udp = tb[IPVS_CMD_ATTR_TIMEOUT_UDP];
	if (!tcp != !fin || (!tcp && !udp))
		return -EINVAL;
	*out = (struct lb_timeouts){
		.tcp = tcp ? nla_get_u32(tcp) : 0,
		.tcp_fin = fin ? nla_get_u32(fin) : 0,
		.udp = udp ? nla_get_u32(udp) : 0,
	};
	return 0;
}

/* The group of a dumped daemon: kernels since 4.3 always send one (the default if none was
 * asked for), older ones none (af 0). Both at once is not something a kernel sends. */
static int get_group(struct nlattr **tb, struct lb_addr *g) {
	struct nlattr *v4 = tb[IPVS_DAEMON_ATTR_MCAST_GROUP], *v6 = tb[IPVS_DAEMON_ATTR_MCAST_GROUP6];
	memset(g, 0, sizeof(*g));
	if (v4 && v6)
		return -EINVAL;
	if (v4) {
		g->af = AF_INET;
		memcpy(&g->ip.v4, nla_data(v4), sizeof(g->ip.v4));
	} else if (v6) {
		g->af = AF_INET6;
		memcpy(&g->ip.v6, nla_data(v6), sizeof(g->ip.v6));
	}
	return 0;
}

static void get_optional(struct nlattr **tb, struct lb_syncd *d) {
	if (tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN])
		d->max_len = nla_get_u16(tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
	if (tb[IPVS_DAEMON_ATTR_MCAST_PORT])
		d->port = nla_get_u16(tb[IPVS_DAEMON_ATTR_MCAST_PORT]);
	if (tb[IPVS_DAEMON_ATTR_MCAST_TTL])
		d->ttl = nla_get_u8(tb[IPVS_DAEMON_ATTR_MCAST_TTL]);
}

/* State, interface and id have been in every dump since the netlink interface exists; the policy
 * makes the name NUL-terminated within 16 bytes, and an empty one names no interface. */
int lb_ipvs_parse_daemon(struct nlattr *nest, int *role, struct lb_syncd *out) {
	struct nlattr *tb[IPVS_DAEMON_ATTR_MAX + 1];
	if (!nest || nla_parse_nested(tb, IPVS_DAEMON_ATTR_MAX, nest, daemon_policy) < 0)
		return -EINVAL;
	struct nlattr *ifn = tb[IPVS_DAEMON_ATTR_MCAST_IFN];
	if (!tb[IPVS_DAEMON_ATTR_STATE] || !ifn || !tb[IPVS_DAEMON_ATTR_SYNC_ID] ||
	    !nla_get_string(ifn)[0])
		return -EINVAL;
	struct lb_syncd d;
	memset(&d, 0, sizeof(d));
	if (get_group(tb, &d.group) < 0)
		return -EINVAL;
	*role = state_role(nla_get_u32(tb[IPVS_DAEMON_ATTR_STATE]));
	if (*role < 0)
		return 0; /* a role from a newer kernel: not ours to read */
	snprintf(d.ifname, sizeof(d.ifname), "%s", nla_get_string(ifn));
	d.id = nla_get_u32(tb[IPVS_DAEMON_ATTR_SYNC_ID]);
	get_optional(tb, &d);
	*out = d;
	return 0;
}

/* ---- the calls ---- */

/* A reply that does not parse is -EPROTO, as for the table dumps: the kernel said something we
 * do not understand, which is not the same as refusing our request. */
static int timeouts_cb(struct nlmsghdr *h, void *ctx) {
	return lb_ipvs_parse_timeouts(h, ctx) < 0 ? -EPROTO : 0;
}

static int no_reply_cb(struct nlmsghdr *h, void *ctx) {
	return -EPROTO; /* a change request is answered by an ACK or an error, nothing else */
}

/* Sends the request just built (built: what building it returned) and frees it. */
static int send_req(struct lb_ipvs *v, struct lb_nlbuf *req, uint32_t seq, bool dump, int built,
		    lb_ipvs_msg_cb cb, void *ctx) {
	int r = built < 0 ? built : lb_ipvs_request(v, req, seq, dump, cb, ctx);
	lb_nlbuf_free(req);
	return r;
}

int lb_ipvs_get_timeouts(struct lb_ipvs *v, struct lb_timeouts *out) {
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++;
	int r = lb_ipvs_msg_cmd(&req, v->family, seq, 0, IPVS_CMD_GET_CONFIG, NULL);
	return send_req(v, &req, seq, false, r, timeouts_cb, out);
}

int lb_ipvs_set_timeouts(struct lb_ipvs *v, const struct lb_timeouts *t) {
	if (!t->tcp && !t->tcp_fin && !t->udp)
		return 0; /* nothing to change: the kernel would just keep every value */
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++;
	int r = lb_ipvs_msg_set_timeouts(&req, v->family, seq, t);
	return send_req(v, &req, seq, false, r, no_reply_cb, NULL);
}

struct daemons_ctx {
	bool *run;
	struct lb_syncd *syncd;
};

static int daemon_cb(struct nlmsghdr *h, void *ctx) {
	struct daemons_ctx *c = ctx;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct lb_syncd d;
	int role;
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0 ||
	    lb_ipvs_parse_daemon(tb[IPVS_CMD_ATTR_DAEMON], &role, &d) < 0)
		return -EPROTO;
	if (role < 0)
		return 0;
	if (c->run[role])
		return -EPROTO; /* one daemon per role and namespace: a second is nonsense */
	c->run[role] = true;
	c->syncd[role] = d;
	return 0;
}

static void clear_daemons(bool *run, struct lb_syncd *syncd) {
	memset(run, 0, LB_SYNCD_N * sizeof(*run));
	memset(syncd, 0, LB_SYNCD_N * sizeof(*syncd));
}

int lb_ipvs_get_daemons(struct lb_ipvs *v, bool *run, struct lb_syncd *syncd) {
	struct lb_nlbuf req = {0};
	struct daemons_ctx c = {run, syncd};
	uint32_t seq = v->seq++;
	clear_daemons(run, syncd);
	int r = lb_ipvs_msg_cmd(&req, v->family, seq, NLM_F_DUMP, IPVS_CMD_GET_DAEMON, NULL);
	r = send_req(v, &req, seq, true, r, daemon_cb, &c);
	if (r < 0)
		clear_daemons(run, syncd); /* nothing half-read passes for the kernel's state */
	return r;
}

int lb_ipvs_start_daemon(struct lb_ipvs *v, int role, const struct lb_syncd *d) {
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++;
	int r = lb_ipvs_msg_new_daemon(&req, v->family, seq, role, d);
	return send_req(v, &req, seq, false, r, no_reply_cb, NULL);
}

/* ESRCH: stop_sync_thread found no daemon of that role; stopping is idempotent like the table's
 * deletes. */
int lb_ipvs_stop_daemon(struct lb_ipvs *v, int role) {
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++;
	int r = lb_ipvs_msg_del_daemon(&req, v->family, seq, role);
	r = send_req(v, &req, seq, false, r, no_reply_cb, NULL);
	return r == -ESRCH ? 0 : r;
}
