/* Reading services and destinations out of the kernel's dump replies. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <string.h>

#include "ipvs_priv.h"

/* Lengths follow the kernel's own policy in ip_vs_ctl.c. Addresses arrive as a 16-byte
 * union nf_inet_addr; 4 bytes are accepted too (what an IPv4-only peer would send). */
struct nla_policy lb_ipvs_cmd_policy[IPVS_CMD_ATTR_MAX + 1] = {
	[IPVS_CMD_ATTR_SERVICE] = {.type = NLA_NESTED},
	[IPVS_CMD_ATTR_DEST] = {.type = NLA_NESTED},
	[IPVS_CMD_ATTR_DAEMON] = {.type = NLA_NESTED},
	[IPVS_CMD_ATTR_TIMEOUT_TCP] = {.type = NLA_U32},
	[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = {.type = NLA_U32},
	[IPVS_CMD_ATTR_TIMEOUT_UDP] = {.type = NLA_U32},
};

struct nla_policy lb_ipvs_svc_policy[IPVS_SVC_ATTR_MAX + 1] = {
	[IPVS_SVC_ATTR_AF] = {.type = NLA_U16},
	[IPVS_SVC_ATTR_PROTOCOL] = {.type = NLA_U16},
	[IPVS_SVC_ATTR_ADDR] = {.type = NLA_UNSPEC, .minlen = sizeof(struct in_addr),
				.maxlen = sizeof(struct in6_addr)},
	[IPVS_SVC_ATTR_PORT] = {.type = NLA_U16},
	[IPVS_SVC_ATTR_FWMARK] = {.type = NLA_U32},
	[IPVS_SVC_ATTR_SCHED_NAME] = {.type = NLA_STRING, .maxlen = IP_VS_SCHEDNAME_MAXLEN},
	[IPVS_SVC_ATTR_FLAGS] = {.type = NLA_UNSPEC, .minlen = sizeof(struct ip_vs_flags)},
	[IPVS_SVC_ATTR_TIMEOUT] = {.type = NLA_U32},
	[IPVS_SVC_ATTR_NETMASK] = {.type = NLA_U32},
	[IPVS_SVC_ATTR_STATS] = {.type = NLA_NESTED},
	[IPVS_SVC_ATTR_PE_NAME] = {.type = NLA_STRING, .maxlen = IP_VS_PENAME_MAXLEN + 1},
	[IPVS_SVC_ATTR_STATS64] = {.type = NLA_NESTED},
};

struct nla_policy lb_ipvs_dest_policy[IPVS_DEST_ATTR_MAX + 1] = {
	[IPVS_DEST_ATTR_ADDR] = {.type = NLA_UNSPEC, .minlen = sizeof(struct in_addr),
				 .maxlen = sizeof(struct in6_addr)},
	[IPVS_DEST_ATTR_PORT] = {.type = NLA_U16},
	[IPVS_DEST_ATTR_FWD_METHOD] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_WEIGHT] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_U_THRESH] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_L_THRESH] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_ACTIVE_CONNS] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_INACT_CONNS] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_PERSIST_CONNS] = {.type = NLA_U32},
	[IPVS_DEST_ATTR_STATS] = {.type = NLA_NESTED},
	[IPVS_DEST_ATTR_ADDR_FAMILY] = {.type = NLA_U16},
	[IPVS_DEST_ATTR_STATS64] = {.type = NLA_NESTED},
	[IPVS_DEST_ATTR_TUN_TYPE] = {.type = NLA_U8},
	[IPVS_DEST_ATTR_TUN_PORT] = {.type = NLA_U16},
	[IPVS_DEST_ATTR_TUN_FLAGS] = {.type = NLA_U16},
};

/* The counters nested in IPVS_*_ATTR_STATS64: every one a u64. */
static const struct nla_policy stats64_policy[IPVS_STATS_ATTR_MAX + 1] = {
	[IPVS_STATS_ATTR_CONNS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_INPKTS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_OUTPKTS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_INBYTES] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_OUTBYTES] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_CPS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_INPPS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_OUTPPS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_INBPS] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_OUTBPS] = {.type = NLA_U64},
};

/* The older IPVS_*_ATTR_STATS (ip_vs_genl_fill_stats): the kernel truncates its counters and
 * rates to u32 there, but sends the byte counters whole. */
static const struct nla_policy stats32_policy[IPVS_STATS_ATTR_MAX + 1] = {
	[IPVS_STATS_ATTR_CONNS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_INPKTS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_OUTPKTS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_INBYTES] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_OUTBYTES] = {.type = NLA_U64},
	[IPVS_STATS_ATTR_CPS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_INPPS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_OUTPPS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_INBPS] = {.type = NLA_U32},
	[IPVS_STATS_ATTR_OUTBPS] = {.type = NLA_U32},
};

/* One stats nest under policy. A counter that is missing or shorter than its type (the policy
 * makes libnl refuse the nest) leaves the stats unknown rather than partly zero: a zero would read
 * as "no traffic" on a dashboard. */
static bool parse_stats(struct nlattr *nest, const struct nla_policy *policy,
			struct lb_kstats *out) {
	struct nlattr *tb[IPVS_STATS_ATTR_MAX + 1];
	uint64_t v[IPVS_STATS_ATTR_MAX + 1];
	if (nla_parse_nested(tb, IPVS_STATS_ATTR_MAX, nest, policy) < 0)
		return false;
	for (int a = IPVS_STATS_ATTR_CONNS; a <= IPVS_STATS_ATTR_OUTBPS; a++) {
		if (!tb[a])
			return false;
		v[a] = policy[a].type == NLA_U64 ? nla_get_u64(tb[a]) : nla_get_u32(tb[a]);
	}
	*out = (struct lb_kstats){
		.conns = v[IPVS_STATS_ATTR_CONNS],
		.inpkts = v[IPVS_STATS_ATTR_INPKTS], .outpkts = v[IPVS_STATS_ATTR_OUTPKTS],
		.inbytes = v[IPVS_STATS_ATTR_INBYTES], .outbytes = v[IPVS_STATS_ATTR_OUTBYTES],
		.cps = v[IPVS_STATS_ATTR_CPS],
		.inpps = v[IPVS_STATS_ATTR_INPPS], .outpps = v[IPVS_STATS_ATTR_OUTPPS],
		.inbps = v[IPVS_STATS_ATTR_INBPS], .outbps = v[IPVS_STATS_ATTR_OUTBPS],
	};
	return true;
}

/* STATS64 (kernels since 4.1), else the 32-bit STATS. A STATS64 that does not parse is not made
 * up for with the truncated copy: the kernel that sent it is not one we understand. Returns
 * whether *out was filled (else it is zeroed). */
static bool get_stats(struct nlattr *stats64, struct nlattr *stats32, struct lb_kstats *out) {
	bool ok = stats64 ? parse_stats(stats64, stats64_policy, out)
			  : stats32 && parse_stats(stats32, stats32_policy, out);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

/* Copies an address of family af out of attribute a: 4 bytes for IPv4 (the rest of the
 * 16-byte union stays zero, so two equal addresses compare equal with memcmp), 16 for IPv6. */
static int get_addr(const struct nlattr *a, uint16_t af, union lb_inaddr *ip) {
	size_t need = af == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
	if (af != AF_INET && af != AF_INET6)
		return -EAFNOSUPPORT;
	if ((size_t)nla_len(a) < need)
		return -EINVAL;
	memset(ip, 0, sizeof(*ip));
	memcpy(ip->bytes, nla_data(a), need);
	return 0;
}

static bool all_present(struct nlattr **tb, const int *which, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (!tb[which[i]])
			return false;
	return true;
}

/* The identity of a dumped service. ip_vs_genl_fill_service sends the family, then either the
 * mark (a firewall-mark service: no protocol, address nor port) or the protocol, address and
 * port. A mark of 0 is no mark: the kernel never sends one, and it would alias an address key. */
static int get_svc_key(struct nlattr **tb, struct lb_svc_key *k) {
	memset(k, 0, sizeof(*k));
	k->addr.af = nla_get_u16(tb[IPVS_SVC_ATTR_AF]);
	if (tb[IPVS_SVC_ATTR_FWMARK]) {
		k->fwmark = nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]);
		if (k->addr.af != AF_INET && k->addr.af != AF_INET6)
			return -EAFNOSUPPORT;
		return k->fwmark ? 0 : -EINVAL;
	}
	static const int need[] = {IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_PORT};
	if (!all_present(tb, need, sizeof(need) / sizeof(need[0])))
		return -EINVAL;
	int r = get_addr(tb[IPVS_SVC_ATTR_ADDR], k->addr.af, &k->addr.ip);
	if (r < 0)
		return r;
	k->proto = nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
	k->addr.port = ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT]));
	return 0;
}

int lb_ipvs_parse_service(struct nlattr *nest, struct lb_service *out) {
	struct nlattr *tb[IPVS_SVC_ATTR_MAX + 1];
	if (!nest || nla_parse_nested(tb, IPVS_SVC_ATTR_MAX, nest, lb_ipvs_svc_policy) < 0)
		return -EINVAL;
	static const int need[] = {IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_SCHED_NAME, IPVS_SVC_ATTR_FLAGS,
				   IPVS_SVC_ATTR_TIMEOUT, IPVS_SVC_ATTR_NETMASK};
	if (!all_present(tb, need, sizeof(need) / sizeof(need[0])))
		return -EINVAL;

	struct lb_service s;
	memset(&s, 0, sizeof(s));
	int r = get_svc_key(tb, &s.key);
	if (r < 0)
		return r;
	/* the policy bounds the string to 16 bytes including its NUL */
	strncpy(s.sched, nla_get_string(tb[IPVS_SVC_ATTR_SCHED_NAME]), sizeof(s.sched) - 1);
	struct ip_vs_flags fl;
	memcpy(&fl, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
	s.flags = fl.flags & ~IP_VS_SVC_F_HASHED; /* kernel bookkeeping, not configuration */
	s.timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
	s.netmask = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
	s.stats_known = get_stats(tb[IPVS_SVC_ATTR_STATS64], tb[IPVS_SVC_ATTR_STATS], &s.stats);
	*out = s;
	return 1;
}

/* The tunnel of a dumped destination (ip_vs_genl_fill_dest: TUN_TYPE u8, TUN_PORT big-endian,
 * TUN_FLAGS u16, each sent for every destination by the kernels that know it); what the
 * attributes present say about the kernel goes to *tun. */
static void get_tunnel(struct nlattr **tb, struct lb_dest *d, enum lb_ipvs_tun *tun) {
	if (tb[IPVS_DEST_ATTR_TUN_TYPE])
		d->tun_type = nla_get_u8(tb[IPVS_DEST_ATTR_TUN_TYPE]);
	if (tb[IPVS_DEST_ATTR_TUN_PORT])
		d->tun_port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]));
	if (tb[IPVS_DEST_ATTR_TUN_FLAGS])
		d->tun_flags = nla_get_u16(tb[IPVS_DEST_ATTR_TUN_FLAGS]);
	if (!tun)
		return;
	if (tb[IPVS_DEST_ATTR_TUN_FLAGS])
		*tun = LB_IPVS_TUN_ALL;
	else if (tb[IPVS_DEST_ATTR_TUN_TYPE])
		*tun = LB_IPVS_TUN_GUE;
	else
		*tun = LB_IPVS_TUN_NONE;
}

int lb_ipvs_parse_dest_tun(struct nlattr *nest, uint16_t svc_af, struct lb_dest *out,
			   enum lb_ipvs_tun *tun) {
	struct nlattr *tb[IPVS_DEST_ATTR_MAX + 1];
	if (!nest || nla_parse_nested(tb, IPVS_DEST_ATTR_MAX, nest, lb_ipvs_dest_policy) < 0)
		return -EINVAL;
	static const int need[] = {IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_PORT,
				   IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_WEIGHT,
				   IPVS_DEST_ATTR_U_THRESH, IPVS_DEST_ATTR_L_THRESH};
	if (!all_present(tb, need, sizeof(need) / sizeof(need[0])))
		return -EINVAL;

	struct lb_dest d;
	memset(&d, 0, sizeof(d));
	/* kernels before 3.18 had no per-destination family: it was the service's */
	d.addr.af = tb[IPVS_DEST_ATTR_ADDR_FAMILY] ? nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY])
						   : svc_af;
	int r = get_addr(tb[IPVS_DEST_ATTR_ADDR], d.addr.af, &d.addr.ip);
	if (r < 0)
		return r;
	d.addr.port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]));
	d.fwd = nla_get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
	d.weight = nla_get_u32(tb[IPVS_DEST_ATTR_WEIGHT]);
	d.u_thresh = nla_get_u32(tb[IPVS_DEST_ATTR_U_THRESH]);
	d.l_thresh = nla_get_u32(tb[IPVS_DEST_ATTR_L_THRESH]);
	/* every kernel with the netlink interface sends the counts; without them they are unknown,
	 * which lb_dest_live takes as live */
	d.conns_known = tb[IPVS_DEST_ATTR_ACTIVE_CONNS] && tb[IPVS_DEST_ATTR_INACT_CONNS];
	if (d.conns_known) {
		d.active = nla_get_u32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS]);
		d.inactive = nla_get_u32(tb[IPVS_DEST_ATTR_INACT_CONNS]);
	}
	if (tb[IPVS_DEST_ATTR_PERSIST_CONNS])
		d.persist = nla_get_u32(tb[IPVS_DEST_ATTR_PERSIST_CONNS]);
	d.stats_known = get_stats(tb[IPVS_DEST_ATTR_STATS64], tb[IPVS_DEST_ATTR_STATS], &d.stats);
	get_tunnel(tb, &d, tun);
	*out = d;
	return 0;
}

int lb_ipvs_parse_dest(struct nlattr *nest, uint16_t svc_af, struct lb_dest *out) {
	return lb_ipvs_parse_dest_tun(nest, svc_af, out, NULL);
}
