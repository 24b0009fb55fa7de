/* The IPVS-specific keys of a service: what it matches (listen, or fwmark with family), its
 * scheduler flags, one-packet scheduling and the encapsulation of forward: tun. The values are
 * the kernel's own (linux/ip_vs.h), so the table code passes them on untranslated. */
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* linux/ip_vs.h names only the sh scheduler's flags. net/netfilter/ipvs/ip_vs_mh.c defines its
 * own on the same bits: SCHED1 is fallback, SCHED2 port (like sh). */
#ifndef IP_VS_SVC_F_SCHED_MH_FALLBACK
#define IP_VS_SVC_F_SCHED_MH_FALLBACK IP_VS_SVC_F_SCHED1
#endif
#ifndef IP_VS_SVC_F_SCHED_MH_PORT
#define IP_VS_SVC_F_SCHED_MH_PORT IP_VS_SVC_F_SCHED2
#endif

/* --- listen or fwmark --- */

static const char *const family_names[] = {"ipv4", "ipv6"};
static const uint16_t family_afs[] = {AF_INET, AF_INET6};

/* A firewall-mark service: the mark and its family, and no address or port. On any error the
 * family stays 0, which tells the later checks (backends, persistence) that it is unknown. */
static void decode_fwmark(struct cfg_ctx *c, const struct cnode *fwmark, const struct cnode *family,
			  struct lb_service_conf *s, struct cfg_svc_src *src) {
	uint32_t mark;
	unsigned fam = 0; /* ipv4, like ipvsadm -f without -6 */
	bool mark_ok = cfg_uint(c, fwmark, "fwmark", 1, UINT32_MAX, &mark);
	bool fam_ok = !family || cfg_enum(c, family, "family", "address family", family_names,
					  ARRAY_SIZE(family_names), &fam);
	if (!mark_ok || !fam_ok)
		return;
	s->fwmark = mark;
	s->listen.af = family_afs[fam];
	src->fwmark = cfg_pos_of(fwmark);
}

void cfg_decode_vip(struct cfg_ctx *c, const struct cnode *svc, const struct cnode *listen,
		    const struct cnode *fwmark, const struct cnode *family, struct lb_service_conf *s,
		    struct cfg_svc_src *src) {
	memset(&s->listen, 0, sizeof(s->listen)); /* af 0: unknown family, skip family checks */
	if (!listen && !fwmark) {
		cfg_error(c, svc, "missing required key \"listen\" (or \"fwmark\" for a firewall-mark "
				  "service)");
		return;
	}
	if (listen && fwmark)
		cfg_key_error(c, "fwmark", fwmark, "give listen or fwmark, not both");
	/* the family of a VIP is its address's: a second one could only contradict it */
	if (listen && family && !fwmark)
		cfg_key_error(c, "family", family, "only applies to fwmark services; a listen address "
						   "has its own family");
	if (listen) {
		if (cfg_endpoint(c, listen, "listen", &s->listen))
			src->listen = cfg_pos_of(listen);
		else
			memset(&s->listen, 0, sizeof(s->listen));
		return;
	}
	decode_fwmark(c, fwmark, family, s, src);
}

/* --- scheduler_flags --- */

/* The words and their bits, in the same order; each word belongs to one scheduler. */
static const char *const sched_flag_names[] = {"sh-port", "sh-fallback", "mh-port", "mh-fallback"};
static const struct {
	const char *sched;
	uint32_t bit;
} sched_flags[] = {
	{"sh", IP_VS_SVC_F_SCHED_SH_PORT},
	{"sh", IP_VS_SVC_F_SCHED_SH_FALLBACK},
	{"mh", IP_VS_SVC_F_SCHED_MH_PORT},
	{"mh", IP_VS_SVC_F_SCHED_MH_FALLBACK},
};

/* One word of the list. The other schedulers read the same bits as something else, or not at
 * all: a flag for the wrong one is refused, not passed on to mean something unintended. */
static void decode_sched_flag(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			      bool sched_known, const struct cnode **seen) {
	char buf[CFG_QUOTE_MAX];
	unsigned f;
	if (!cfg_enum_here(c, n, "scheduler flag", sched_flag_names, ARRAY_SIZE(sched_flag_names), &f))
		return;
	if (seen[f]) {
		cfg_error(c, n, "%s is listed twice (first at line %u)", cfg_quote(n->str, buf, sizeof(buf)),
			  seen[f]->line);
		return;
	}
	seen[f] = n;
	if (sched_known && strcmp(s->scheduler, sched_flags[f].sched) != 0) {
		cfg_error(c, n, "%s needs scheduler: %s, but the scheduler is %s",
			  cfg_quote(n->str, buf, sizeof(buf)), sched_flags[f].sched, s->scheduler);
		return;
	}
	s->svc_flags |= sched_flags[f].bit;
}

void cfg_decode_sched_flags(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			    bool sched_known) {
	if (!n)
		return;
	const struct cnode *seen[ARRAY_SIZE(sched_flag_names)] = {0};
	size_t old = cfg_path_push(c, ".scheduler_flags");
	if (cfg_expect(c, n, CN_SEQ, "; write a list such as [mh-port, mh-fallback], or [] for none")) {
		size_t i = 0;
		for (const struct cnode *item = n->child; item; item = item->next, i++) {
			size_t at = cfg_path_push_index(c, i);
			decode_sched_flag(c, item, s, sched_known, seen);
			cfg_path_pop(c, at);
		}
	}
	cfg_path_pop(c, old);
}

/* --- one_packet --- */

/* One-packet scheduling makes each datagram a connection of its own: it means nothing to a
 * connection-oriented protocol. A fwmark service's protocol is that of its health checks, and
 * says just as well whether the marked traffic is udp. */
void cfg_decode_one_packet(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			   bool proto_known) {
	bool on;
	if (!cfg_bool(c, n, "one_packet", &on))
		return;
	if (proto_known && s->protocol != IPPROTO_UDP) {
		cfg_key_error(c, "one_packet", n, "one_packet needs a udp service, this one is %s",
			      lb_proto_name(s->protocol));
		return;
	}
	if (on)
		s->svc_flags |= IP_VS_SVC_F_ONEPACKET;
}

/* --- tunnel --- */

enum { T_TYPE, T_PORT, T_CSUM, N_TKEYS };


/* What each type takes: gue is the only one carried in UDP, so the only one with a port and
 * with remote checksum offload; ipip has no checksum at all. */
static void tunnel_fits(struct cfg_ctx *c, const struct cnode *n, const struct cnode *const *v,
			const struct lb_tunnel_conf *t, const char *type, bool csum_known) {
	bool gue = t->type == IP_VS_CONN_F_TUNNEL_TYPE_GUE;
	if (gue && !v[T_PORT])
		cfg_error(c, n, "type gue needs port, the UDP port the backends receive GUE on");
	if (!gue && v[T_PORT])
		cfg_key_error(c, "port", v[T_PORT], "only applies to type: gue, but the type is %s", type);
	if (!csum_known || !v[T_CSUM] || t->flags == IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM)
		return;
	if (t->type == IP_VS_CONN_F_TUNNEL_TYPE_IPIP)
		cfg_key_error(c, "checksum", v[T_CSUM], "type ipip has no checksum option; leave "
							"checksum out or write none");
	else if (!gue && t->flags == IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM)
		cfg_key_error(c, "checksum", v[T_CSUM], "remote needs type: gue, but the type is %s",
			      type);
}

static void decode_tunnel_keys(struct cfg_ctx *c, const struct cnode *n, struct lb_tunnel_conf *t) {
	static const struct cfg_key keys[N_TKEYS] = {
		[T_TYPE] = {"type", false, NULL},
		[T_PORT] = {"port", false, NULL},
		[T_CSUM] = {"checksum", false, NULL},
	};
	const struct cnode *v[N_TKEYS];
	if (!cfg_map(c, n, keys, N_TKEYS, v))
		return;
	unsigned type = 0, csum = 0; /* ipip and no checksum: what forward: tun always was */
	bool type_known = !v[T_TYPE] || cfg_enum(c, v[T_TYPE], "type", "tunnel type", lb_tun_type_names,
						 LB_N_TUN_TYPES, &type);
	t->type = (uint8_t)type; /* the names are indexed by the kernel's values */
	uint32_t port;
	if (cfg_uint(c, v[T_PORT], "port", 1, 65535, &port))
		t->port = (uint16_t)port;
	bool csum_known = !v[T_CSUM] || cfg_enum(c, v[T_CSUM], "checksum", "checksum mode", lb_tun_csum_names,
						 LB_N_TUN_CSUMS, &csum);
	t->flags = (uint16_t)csum;
	if (type_known)
		tunnel_fits(c, n, v, t, lb_tun_type_names[type], csum_known);
}

void cfg_decode_tunnel(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
		       bool fwd_known) {
	if (!n)
		return;
	size_t old = cfg_path_push(c, ".tunnel");
	if (fwd_known && s->forward != LB_FWD_TUN)
		cfg_error(c, n, "only applies to forward: tun, but the forwarding method is %s",
			  lb_fwd_name(s->forward));
	else
		decode_tunnel_keys(c, n, &s->tunnel);
	cfg_path_pop(c, old);
}
