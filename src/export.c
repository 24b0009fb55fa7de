/* The export writer: IPVS table + kernel-wide settings -> ezlb YAML (the rules are in export.h).
 *
 * Every value written must pass the config loader, so the bounds below mirror src/config/'s:
 * a service the loader would refuse, or would load as something else, is left out with its
 * reasons instead of being bent to fit. Two passes: the first decides each service's fate, so
 * the header can say what was left out and "services: []" is written when nothing remains. */
#include "export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "util.h"

#define PERSIST_MAX_S 4294967u  /* a duration is a uint32 of milliseconds */
#define SVC_FLAGS_KNOWN                                                                        \
	(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 |                  \
	 IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3)

/* ---- names ---- */

/* RFC 5952 text in hex groups only: inet_ntop writes "::ffff:1.2.3.4", whose name would be that
 * of ::ffff:1:2:3:4 once ':' is replaced. buf holds 40 bytes. */
static void ip6_hex(const struct in6_addr *a, char *buf) {
	unsigned g[8];
	int best = -1, best_len = 1; /* a run of one zero group is written as 0 */
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
	for (int i = 0, j; i < 8; i = j + 1) {
		for (j = i; j < 8 && !g[j]; j++)
			;
		if (j - i > best_len)
			best = i, best_len = j - i;
	}
	char *p = buf;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			p += sprintf(p, "::");
			i += best_len - 1;
			continue;
		}
		if (p != buf && p[-1] != ':')
			*p++ = ':';
		p += sprintf(p, "%x", g[i]);
	}
	*p = '\0';
}

const char *lb_export_name(const struct lb_svc_key *k, char *buf, size_t len) {
	char ip[INET6_ADDRSTRLEN] = "";
	if (k->fwmark) {
		snprintf(buf, len, "fwmark-%u-%s", k->fwmark, k->addr.af == AF_INET6 ? "ipv6" : "ipv4");
		return buf;
	}
	if (k->addr.af == AF_INET6) {
		ip6_hex(&k->addr.ip.v6, ip);
		for (char *c = ip; *c; c++)
			if (*c == ':')
				*c = '.';
	} else {
		inet_ntop(AF_INET, &k->addr.ip.v4, ip, sizeof(ip));
	}
	const char *proto = lb_proto_name(k->proto);
	if (proto)
		snprintf(buf, len, "%s-%s-%u", proto, ip, k->addr.port);
	else
		snprintf(buf, len, "proto%u-%s-%u", k->proto, ip, k->addr.port);
	return buf;
}

/* ---- values as YAML ---- */

/* An endpoint: IPv6 quoted, since unquoted YAML reads "[2001:db8::1]:80" as a list. */
static const char *endpoint(const struct lb_addr *a, char *buf, size_t len) {
	char s[LB_ADDRSTRLEN];
	lb_addr_fmt(a, s);
	snprintf(buf, len, a->af == AF_INET6 ? "\"%s\"" : "%s", s);
	return buf;
}

/* Whole seconds in the largest unit that divides them: 900 -> "15m", 301 -> "301s". */
static const char *secs(uint32_t s, char *buf, size_t len) {
	if (s % 60)
		snprintf(buf, len, "%us", s);
	else if (s % 3600)
		snprintf(buf, len, "%um", s / 60);
	else
		snprintf(buf, len, "%uh", s / 3600);
	return buf;
}

/* A kernel string in a message: anything but printable ASCII becomes '?', so no comment line is
 * ever broken by what the kernel reports. */
static const char *printable(const char *s, size_t max, char *buf, size_t len) {
	size_t i = 0;
	for (; i < max && s[i] && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static const char *fwd_name(uint32_t fwd) {
	switch (fwd) {
	case IP_VS_CONN_F_MASQ: return "nat";
	case IP_VS_CONN_F_DROUTE: return "dr";
	case IP_VS_CONN_F_TUNNEL: return "tun";
	}
	return NULL;
}

static const char *netmask_str(uint16_t af, uint32_t m, char *buf, size_t len) {
	if (af == AF_INET6 || !inet_ntop(AF_INET, &m, buf, (socklen_t)len))
		snprintf(buf, len, "/%u", m);
	return buf;
}

/* ---- why a service cannot be written ---- */

/* One reason per kind, the first offender's; destination kinds also count their offenders. */
enum why_kind {
	W_PROTO, W_PORT, W_SCHED, W_FLAGS, W_SCHED3, W_SCHED_FLAG, W_ONE_PACKET, W_PERSIST, W_NETMASK,
	W_DEST_FIRST, /* destination kinds from here */
	W_FWD = W_DEST_FIRST, W_FWD_MIX, W_TUN, W_TUN_MIX, W_DPORT0, W_DPORT, W_FAMILY, W_WEIGHT,
	W_THRESH, W_N
};

struct whys {
	size_t count[W_N];
	char msg[W_N][256];
};

/* Where the checks report: w NULL only notes that something is wrong (hit), which is how a
 * destination is checked before its address is formatted for the messages. */
struct sink {
	struct whys *w;
	bool hit;
};

__attribute__((format(printf, 3, 4))) static void why(struct sink *s, enum why_kind k,
						      const char *fmt, ...) {
	s->hit = true;
	if (!s->w || s->w->count[k]++)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->w->msg[k], sizeof(s->w->msg[k]), fmt, ap);
	va_end(ap);
}

static bool sched_known(const char *s) {
	for (size_t i = 0; i < LB_N_SCHEDULERS; i++)
		if (!strncmp(s, lb_schedulers[i], LB_SCHED_MAX))
			return true;
	return false;
}

static bool sched_has_flags(const char *s) {
	return !strncmp(s, "sh", LB_SCHED_MAX) || !strncmp(s, "mh", LB_SCHED_MAX);
}

static void check_key(const struct lb_service *s, struct sink *w) {
	if (s->key.addr.af != AF_INET && s->key.addr.af != AF_INET6)
		why(w, W_PROTO, "address family %u is neither IPv4 nor IPv6", s->key.addr.af);
	if (s->key.fwmark)
		return;
	if (!lb_proto_name(s->key.proto))
		why(w, W_PROTO, "protocol %u: ezlb has tcp, udp and sctp services only", s->key.proto);
	if (!s->key.addr.port)
		why(w, W_PORT, "port 0 (every port): a listen address needs a port 1..65535");
}

static void check_sched(const struct lb_service *s, struct sink *w) {
	char n[LB_SCHED_MAX];
	uint32_t f = s->flags;
	printable(s->sched, sizeof(s->sched), n, sizeof(n));
	if (!sched_known(s->sched))
		why(w, W_SCHED, "scheduler \"%s\" is not one ezlb knows", n);
	if (f & ~(uint32_t)SVC_FLAGS_KNOWN)
		why(w, W_FLAGS, "service flags 0x%x that ezlb does not manage",
		    f & ~(uint32_t)SVC_FLAGS_KNOWN);
	if (f & IP_VS_SVC_F_SCHED3)
		why(w, W_SCHED3, "scheduler flag 3 (ipvsadm -b flag-3) has no ezlb key");
	if ((f & (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2)) && !sched_has_flags(s->sched))
		why(w, W_SCHED_FLAG, "scheduler flag 1 or 2 with scheduler %s: ezlb has them for sh "
				     "and mh only", n);
	if ((f & IP_VS_SVC_F_ONEPACKET) && !s->key.fwmark && s->key.proto != IPPROTO_UDP)
		why(w, W_ONE_PACKET, "one-packet scheduling on a %s service: one_packet is for udp only",
		    lb_proto_name(s->key.proto) ? lb_proto_name(s->key.proto) : "non-udp");
}

static bool mask_v4_ok(uint32_t be) {
	uint32_t m = ntohl(be);
	return m && (m | (m - 1)) == 0xffffffffu; /* contiguous, at least /1 */
}

/* What the loader gives a service without persistence, and refuses to change without it. */
static uint32_t default_netmask(uint16_t af) {
	return af == AF_INET6 ? 128 : htonl(0xffffffffu);
}

static void check_persist(const struct lb_service *s, struct sink *w) {
	bool on = s->flags & IP_VS_SVC_F_PERSISTENT;
	uint16_t af = s->key.addr.af;
	char m[LB_ADDRSTRLEN];
	netmask_str(af, s->netmask, m, sizeof(m));
	if (on && !s->timeout)
		why(w, W_PERSIST, "persistent with a timeout of 0");
	else if (!on && s->timeout)
		why(w, W_PERSIST, "a persistence timeout (%us) without the persistent flag", s->timeout);
	else if (s->timeout > PERSIST_MAX_S)
		why(w, W_PERSIST, "persistence timeout %us is longer than a duration can be (%us)",
		    s->timeout, PERSIST_MAX_S);
	if (!on && s->netmask != default_netmask(af))
		why(w, W_NETMASK, "persistence netmask %s without persistence", m);
	else if (on && (af == AF_INET6 ? s->netmask < 1 || s->netmask > 128 : !mask_v4_ok(s->netmask)))
		why(w, W_NETMASK, "persistence netmask %s: ezlb takes a contiguous IPv4 mask (/1../32) "
				  "or an IPv6 prefix length 1..128", m);
}

static bool has_tunnel(const struct lb_dest *d) {
	return d->tun_type || d->tun_port || d->tun_flags;
}

static bool same_tunnel(const struct lb_dest *a, const struct lb_dest *b) {
	return a->tun_type == b->tun_type && a->tun_port == b->tun_port && a->tun_flags == b->tun_flags;
}

/* What services[].tunnel accepts: gue alone has (and needs) a port and remote checksums; ipip has
 * no checksum at all. */
static bool tunnel_ok(const struct lb_dest *d) {
	if (!lb_tun_type_name(d->tun_type) || !lb_tun_csum_name(d->tun_flags))
		return false;
	if (d->tun_type == IP_VS_CONN_F_TUNNEL_TYPE_GUE)
		return d->tun_port != 0;
	if (d->tun_port || d->tun_flags == IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM)
		return false;
	return d->tun_type != IP_VS_CONN_F_TUNNEL_TYPE_IPIP || !d->tun_flags;
}

static void check_dest_tunnel(const struct lb_service *s, const struct lb_dest *d, const char *a,
			      struct sink *w) {
	const struct lb_dest *d0 = &s->dests[0];
	char a0[LB_ADDRSTRLEN];
	if (d->fwd != IP_VS_CONN_F_TUNNEL) {
		if (has_tunnel(d))
			why(w, W_TUN, "destination %s forwards with %s but has tunnel settings (type %u, "
				      "port %u, flags 0x%x)", a, fwd_name(d->fwd) ? fwd_name(d->fwd) : "?",
			    d->tun_type, d->tun_port, d->tun_flags);
	} else if (!same_tunnel(d, d0)) {
		if (d0->fwd == IP_VS_CONN_F_TUNNEL) /* else the forwarding methods differ already */
			why(w, W_TUN_MIX, "destinations %s and %s have different tunnel settings: ezlb "
					  "has one tunnel per service", lb_addr_fmt(&d0->addr, a0), a);
	} else if (!tunnel_ok(d)) {
		why(w, W_TUN, "destination %s: tunnel type %u, port %u, checksum flags 0x%x is not one "
			      "ezlb accepts (ipip: no port, no checksum; gue: a port; gre: no port; "
			      "remote: gue only)", a, d->tun_type, d->tun_port, d->tun_flags);
	}
}

static void check_dest_fwd(const struct lb_service *s, const struct lb_dest *d, const char *a,
			   struct sink *w) {
	const struct lb_dest *d0 = &s->dests[0];
	char a0[LB_ADDRSTRLEN];
	if (!fwd_name(d->fwd))
		why(w, W_FWD, "destination %s forwards with method %u (ezlb has nat, dr and tun)", a,
		    d->fwd);
	else if (fwd_name(d0->fwd) && d->fwd != d0->fwd)
		why(w, W_FWD_MIX, "destinations forward with different methods (%s: %s, %s: %s): "
				  "ezlb has one forward per service", lb_addr_fmt(&d0->addr, a0),
		    fwd_name(d0->fwd), a, fwd_name(d->fwd));
}

static void check_dest_addr(const struct lb_service *s, const struct lb_dest *d, const char *a,
			    struct sink *w) {
	bool keeps_port = d->fwd == IP_VS_CONN_F_DROUTE || d->fwd == IP_VS_CONN_F_TUNNEL;
	if (!d->addr.port)
		why(w, W_DPORT0, "destination %s has port 0: a backend needs a port 1..65535", a);
	else if (!s->key.fwmark && keeps_port && d->addr.port != s->key.addr.port)
		why(w, W_DPORT, "destination %s has port %u but the service %u, and forward: %s cannot "
				"change the port", a, d->addr.port, s->key.addr.port, fwd_name(d->fwd));
	if (d->addr.af != s->key.addr.af && d->fwd != IP_VS_CONN_F_TUNNEL)
		why(w, W_FAMILY, "destination %s is of another address family than the service, "
				 "which only forward: tun can do", a);
}

static void check_dest_limits(const struct lb_dest *d, const char *a, struct sink *w) {
	if (d->weight > LB_WEIGHT_MAX)
		why(w, W_WEIGHT, "destination %s has weight %u, above ezlb's 65535", a, d->weight);
	if (d->u_thresh > LB_CONNS_MAX || d->l_thresh > LB_CONNS_MAX ||
	    (d->l_thresh && (!d->u_thresh || d->l_thresh >= d->u_thresh)))
		why(w, W_THRESH, "destination %s has thresholds -x %u -y %u: ezlb needs min_conns below "
				 "a nonzero max_conns, both at most 2147483647", a, d->u_thresh,
		    d->l_thresh);
}

static void check_dest(const struct lb_service *s, const struct lb_dest *d, const char *a,
		       struct sink *w) {
	check_dest_fwd(s, d, a, w);
	check_dest_tunnel(s, d, a, w);
	check_dest_addr(s, d, a, w);
	check_dest_limits(d, a, w);
}

/* Each destination is checked once without messages; only one with something to report is
 * checked again with its address formatted: 100k clean ones cost the comparisons alone. */
static void check_dests(const struct lb_service *s, struct sink *w) {
	for (size_t i = 0; i < s->n_dests; i++) {
		struct sink probe = {NULL, false};
		char a[LB_ADDRSTRLEN];
		check_dest(s, &s->dests[i], "", &probe);
		if (!probe.hit)
			continue;
		check_dest(s, &s->dests[i], lb_addr_fmt(&s->dests[i].addr, a), w);
	}
}

/* Whether s can be written; w (may be NULL) gets the reasons when not. */
static bool check_service(const struct lb_service *s, struct whys *w) {
	struct sink k = {w, false};
	if (w)
		memset(w, 0, sizeof(*w));
	check_key(s, &k);
	check_sched(s, &k);
	check_persist(s, &k);
	check_dests(s, &k);
	return !k.hit;
}

/* ---- services ---- */

static void write_sched(FILE *f, const struct lb_service *s) {
	fprintf(f, "    scheduler: %s\n", s->sched);
	uint32_t fl = s->flags & (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2);
	if (fl)
		fprintf(f, "    scheduler_flags: [%s%s%s%s%s]\n",
			fl & IP_VS_SVC_F_SCHED1 ? s->sched : "",
			fl & IP_VS_SVC_F_SCHED1 ? "-fallback" : "",
			fl == (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2) ? ", " : "",
			fl & IP_VS_SVC_F_SCHED2 ? s->sched : "", fl & IP_VS_SVC_F_SCHED2 ? "-port" : "");
	if (s->flags & IP_VS_SVC_F_ONEPACKET)
		fputs("    one_packet: true\n", f);
}

/* forward and tunnel come from the destinations (the kernel keeps them there, all alike once
 * check_service accepted the service); a service without any keeps the default, nat. */
static void write_forward(FILE *f, const struct lb_service *s) {
	if (!s->n_dests)
		return;
	const struct lb_dest *d = &s->dests[0];
	fprintf(f, "    forward: %s\n", fwd_name(d->fwd));
	if (d->fwd != IP_VS_CONN_F_TUNNEL)
		return;
	fprintf(f, "    tunnel: {type: %s", lb_tun_type_name(d->tun_type));
	if (d->tun_port)
		fprintf(f, ", port: %u", d->tun_port);
	if (d->tun_flags)
		fprintf(f, ", checksum: %s", lb_tun_csum_name(d->tun_flags));
	fputs("}\n", f);
}

static void write_persist(FILE *f, const struct lb_service *s) {
	char t[32], m[LB_ADDRSTRLEN];
	if (!(s->flags & IP_VS_SVC_F_PERSISTENT))
		return;
	fprintf(f, "    persistence: {timeout: %s", secs(s->timeout, t, sizeof(t)));
	/* the default (/32, /128) is left out; an IPv6 prefix is a plain number */
	if (s->netmask != default_netmask(s->key.addr.af)) {
		if (s->key.addr.af == AF_INET6)
			snprintf(m, sizeof(m), "%u", s->netmask);
		else
			netmask_str(AF_INET, s->netmask, m, sizeof(m));
		fprintf(f, ", netmask: %s", m);
	}
	fputs("}\n", f);
}

static void write_backends(FILE *f, const struct lb_service *s) {
	char a[LB_ADDRSTRLEN + 2];
	if (!s->n_dests) {
		fputs("    backends: []\n", f);
		return;
	}
	fputs("    backends:\n", f);
	for (size_t i = 0; i < s->n_dests; i++) {
		const struct lb_dest *d = &s->dests[i];
		fprintf(f, "      - {address: %s, weight: %u", endpoint(&d->addr, a, sizeof(a)), d->weight);
		if (d->u_thresh)
			fprintf(f, ", max_conns: %u", d->u_thresh);
		if (d->l_thresh)
			fprintf(f, ", min_conns: %u", d->l_thresh);
		fputs("}\n", f);
	}
}

static void write_service(FILE *f, const struct lb_service *s, const struct lb_export_opts *o) {
	char name[LB_EXPORT_NAME_MAX], a[LB_ADDRSTRLEN + 2];
	fprintf(f, "  - name: %s\n", lb_export_name(&s->key, name, sizeof(name)));
	if (s->key.fwmark) {
		fprintf(f, "    fwmark: %u\n    family: %s\n", s->key.fwmark,
			s->key.addr.af == AF_INET6 ? "ipv6" : "ipv4");
		/* the kernel keeps no protocol for it; one_packet needs udp */
		if (s->flags & IP_VS_SVC_F_ONEPACKET)
			fputs("    protocol: udp\n", f);
	} else {
		fprintf(f, "    listen: %s\n    protocol: %s\n", endpoint(&s->key.addr, a, sizeof(a)),
			lb_proto_name(s->key.proto));
	}
	write_sched(f, s);
	write_forward(f, s);
	write_persist(f, s);
	if (!o->health_checks)
		fputs("    health_check: {enabled: false}\n", f);
	write_backends(f, s);
}

/* The comment block of a service left out, and its warning. */
static size_t write_left_out(FILE *f, FILE *warn, const struct lb_service *s,
			     const struct whys *w) {
	char key[LB_SVC_KEYSTRLEN];
	lb_svc_key_fmt(&s->key, key, sizeof(key));
	fprintf(f, "  # LEFT OUT: %s (%zu destination%s) cannot be written as ezlb config; it is "
		   "unchanged in the kernel:\n", key, s->n_dests, s->n_dests == 1 ? "" : "s");
	if (warn)
		fprintf(warn, "ezlb: export: warning: %s left out:", key);
	const char *sep = " ";
	for (int k = 0; k < W_N; k++) {
		if (!w->count[k])
			continue;
		char more[64] = "";
		if (k >= W_DEST_FIRST && w->count[k] > 1)
			snprintf(more, sizeof(more), " (and %zu more destination%s)", w->count[k] - 1,
				 w->count[k] == 2 ? "" : "s");
		fprintf(f, "  #   - %s%s\n", w->msg[k], more);
		if (warn)
			fprintf(warn, "%s%s%s", sep, w->msg[k], more);
		sep = "; ";
	}
	if (warn)
		fputc('\n', warn);
	return warn ? 1 : 0;
}

/* ---- global ---- */

struct notes {
	char msg[8][256];
	size_t n;
	bool warn[8];
};

__attribute__((format(printf, 3, 4))) static void note(struct notes *n, bool warn,
						       const char *fmt, ...) {
	if (n->n >= ARRAY_SIZE(n->msg))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(n->msg[n->n], sizeof(n->msg[n->n]), fmt, ap);
	va_end(ap);
	n->warn[n->n++] = warn;
}

struct global_out {
	uint32_t timeouts[3]; /* 0: not written */
	bool sync;
	const char *role;
	struct lb_syncd d;    /* 0 / af 0: not written */
	struct notes notes;
};

static const char *const timeout_keys[] = {"tcp", "tcp_fin", "udp"};

static void plan_timeouts(const struct lb_timeouts *t, struct global_out *g) {
	const uint32_t v[] = {t->tcp, t->tcp_fin, t->udp};
	for (int i = 0; i < 3; i++) {
		if (v[i] <= LB_TIMEOUT_MAX_S)
			g->timeouts[i] = v[i];
		else
			note(&g->notes, true, "global.timeouts.%s left out: the kernel's %us is longer "
					      "than ezlb's limit of 24 days (the kernel keeps it)",
			     timeout_keys[i], v[i]);
	}
}

/* An interface name the YAML can carry exactly: printable ASCII, and none of what the kernel
 * refuses ('/', ':', blanks). Non-ASCII bytes would come back re-encoded. */
static bool ifname_ok(const char *s) {
	size_t len = strnlen(s, 16);
	if (len < 1 || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '/' || *s == ':')
			return false;
	return true;
}

static bool group_eq(const struct lb_syncd *a, const struct lb_syncd *b) {
	return a->group.af == b->group.af && !memcmp(&a->group.ip, &b->group.ip, sizeof(a->group.ip));
}

static bool multicast(const struct lb_addr *g) {
	if (g->af == AF_INET)
		return (ntohl(g->ip.v4.s_addr) & 0xf0000000u) == 0xe0000000u;
	return g->ip.v6.s6_addr[0] == 0xff;
}

/* The optional fields both daemons hold alike (the one daemon's when one runs). */
static void plan_sync_opts(const struct lb_syncd *a, const struct lb_syncd *b,
			   struct global_out *g) {
	char ga[LB_ADDRSTRLEN], gb[LB_ADDRSTRLEN];
	if (!group_eq(a, b) && a->group.af && b->group.af)
		note(&g->notes, true, "global.sync.group left out: the master daemon has %s, the backup "
				      "%s (the kernel keeps both)", lb_ip_fmt(a->group.af, &a->group.ip, ga),
		     lb_ip_fmt(b->group.af, &b->group.ip, gb));
	else if (a->group.af && multicast(&a->group))
		g->d.group = a->group;
	if (a->port != b->port)
		note(&g->notes, true, "global.sync.port left out: the master daemon has %u, the backup "
				      "%u (the kernel keeps both)", a->port, b->port);
	else
		g->d.port = a->port;
	if (a->ttl != b->ttl)
		note(&g->notes, true, "global.sync.ttl left out: the master daemon has %u, the backup "
				      "%u (the kernel keeps both)", a->ttl, b->ttl);
	else
		g->d.ttl = a->ttl;
}

/* max_len within the loader's bounds for the role and the group's family (decode_kernel.c).
 * The kernel derives it per role from the interface MTU when none was given, so two daemons
 * differing is the usual case: a note, not a warning. */
static void plan_sync_maxlen(const struct lb_syncd *a, const struct lb_syncd *b, bool master_only,
			     struct global_out *g) {
	uint32_t min = master_only ? 1 : 1024, max = 65535 - (g->d.group.af == AF_INET6 ? 48 : 28);
	if (a->max_len != b->max_len)
		note(&g->notes, false, "global.sync.max_len left out: the master daemon has %u, the "
				       "backup %u (the kernel keeps both)", a->max_len, b->max_len);
	else if (a->max_len && (a->max_len < min || a->max_len > max))
		note(&g->notes, true, "global.sync.max_len left out: the kernel's %u is outside %u..%u, "
				      "which ezlb accepts for role %s", a->max_len, min, max, g->role);
	else
		g->d.max_len = a->max_len;
}

/* The daemons' interface and id: what one sync block must give both. */
static bool sync_writable(const struct lb_syncd *a, const struct lb_syncd *c,
			  struct global_out *g) {
	char ia[16], ic[16];
	printable(a->ifname, sizeof(a->ifname), ia, sizeof(ia));
	printable(c->ifname, sizeof(c->ifname), ic, sizeof(ic));
	if (strncmp(a->ifname, c->ifname, sizeof(a->ifname)) || a->id != c->id) {
		note(&g->notes, true, "global.sync left out: the master daemon runs on %s with id %u, "
				      "the backup on %s with id %u, and one sync block gives both the "
				      "same (the kernel keeps both)", ia, a->id, ic, c->id);
		return false;
	}
	if (!ifname_ok(a->ifname) || a->id > 255) {
		note(&g->notes, true, "global.sync left out: interface \"%s\" with id %u cannot be "
				      "written as ezlb config (the kernel keeps it)", ia, a->id);
		return false;
	}
	return true;
}

/* role from which daemons run; a and c are the master's and the backup's, or the one daemon's
 * twice when only one runs. */
static void plan_sync(const struct lb_kconf *k, struct global_out *g) {
	bool m = k->run[LB_SYNCD_MASTER], b = k->run[LB_SYNCD_BACKUP];
	if (!m && !b)
		return;
	const struct lb_syncd *a = &k->syncd[m ? LB_SYNCD_MASTER : LB_SYNCD_BACKUP];
	const struct lb_syncd *c = &k->syncd[b ? LB_SYNCD_BACKUP : LB_SYNCD_MASTER];
	g->role = m && b ? "both" : m ? "master" : "backup";
	if (!sync_writable(a, c, g))
		return;
	g->sync = true;
	memcpy(g->d.ifname, a->ifname, sizeof(g->d.ifname));
	g->d.id = a->id;
	plan_sync_opts(a, c, g);
	plan_sync_maxlen(a, c, m && !b, g);
}

/* A string as a plain scalar when it cannot read as anything else (a YAML 1.1 boolean or null,
 * a number, an indicator), else double-quoted. */
static void put_str(FILE *f, const char *s) {
	static const char *const words[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
	bool plain = ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) &&
		     strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
			     strlen(s);
	for (size_t i = 0; plain && i < ARRAY_SIZE(words); i++)
		plain = strcasecmp(s, words[i]) != 0;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void write_sync(FILE *f, const struct global_out *g) {
	char ip[LB_ADDRSTRLEN];
	fputs("  sync:\n    interface: ", f);
	put_str(f, g->d.ifname);
	fprintf(f, "\n    id: %u\n    role: %s\n", g->d.id, g->role);
	if (g->d.group.af)
		fprintf(f, "    group: \"%s\"\n", lb_ip_fmt(g->d.group.af, &g->d.group.ip, ip));
	if (g->d.port)
		fprintf(f, "    port: %u\n", g->d.port);
	if (g->d.ttl)
		fprintf(f, "    ttl: %u\n", g->d.ttl);
	if (g->d.max_len)
		fprintf(f, "    max_len: %u\n", g->d.max_len);
}

/* The notes as comments (indented under global: when it is written), the warnings on warn. */
static size_t write_notes(FILE *f, FILE *warn, const struct notes *n, const char *indent) {
	size_t warned = 0;
	for (size_t i = 0; i < n->n; i++) {
		fprintf(f, "%s# %s\n", indent, n->msg[i]);
		if (warn && n->warn[i]) {
			fprintf(warn, "ezlb: export: warning: %s\n", n->msg[i]);
			warned++;
		}
	}
	return warned;
}

static size_t write_global(FILE *f, FILE *warn, const struct lb_kconf *k) {
	struct global_out g;
	char t[32];
	memset(&g, 0, sizeof(g));
	plan_timeouts(&k->timeouts, &g);
	plan_sync(k, &g);
	bool timeouts = g.timeouts[0] || g.timeouts[1] || g.timeouts[2];
	if (timeouts || g.sync)
		fputs("global:\n", f);
	size_t warned = write_notes(f, warn, &g.notes, timeouts || g.sync ? "  " : "");
	if (timeouts) {
		fputs("  timeouts:\n", f);
		for (int i = 0; i < 3; i++)
			if (g.timeouts[i])
				fprintf(f, "    %s: %s\n", timeout_keys[i], secs(g.timeouts[i], t, sizeof(t)));
	}
	if (g.sync)
		write_sync(f, &g);
	return warned;
}

/* ---- the file ---- */

enum fate { F_WRITE, F_LEFT_OUT, F_NOT_OWNED };

/* What was left out, and the danger of applying the file as it is: the planner deletes an owned
 * service the config does not name. */
static void write_left_out_note(FILE *f, const struct lb_export_opts *o,
				const struct lb_export_stats *st) {
	if (!st->left_out)
		return;
	bool one = st->left_out == 1;
	fprintf(f, "# %zu service%s ezlb cannot express %s left out: see the LEFT OUT comments "
		   "below.\n", st->left_out, one ? "" : "s", one ? "is" : "are");
	if (o->owned)
		fprintf(f, "# ezlb owns %s: `ezlb once` with this file as it is would delete %s.\n",
			one ? "it" : "them", one ? "it" : "them");
	else
		fputs("# Any of them that ezlb owns would be deleted by `ezlb once` with this file as "
		      "it is.\n", f);
}

static void write_header(FILE *f, FILE *warn, const struct lb_table *t,
			 const struct lb_export_opts *o, struct lb_export_stats *st) {
	for (const char *p = o->header; p && *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "# %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	if (!o->owned)
		fputs("# Services: every service in the kernel's IPVS table.\n", f);
	else
		fprintf(f, "# Services: the ones ezlb owns (its ownership record); %zu other%s in the "
			   "kernel left out (--all exports every service).\n", st->not_owned,
			st->not_owned == 1 ? "" : "s");
	if (o->health_checks)
		fputs("# Health checks: ezlb's defaults for each protocol.\n", f);
	else
		fputs("# Health checks: off (health_check: {enabled: false}); the kernel holds none. "
		      "Write the checks\n# you want before ezlb manages these services.\n", f);
	write_left_out_note(f, o, st);
	if (t->torn) {
		fputs("# WARNING: the table changed while it was read: an entry may be missing.\n", f);
		if (warn)
			fputs("ezlb: export: warning: the IPVS table changed while it was read: an entry "
			      "may be missing; export again\n", warn);
		st->warnings += warn != NULL;
	}
}

static unsigned char *decide(const struct lb_table *t, const struct lb_export_opts *o,
			     struct lb_export_stats *st) {
	unsigned char *fate = malloc(t->n ? t->n : 1);
	if (!fate)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct lb_service *s = &t->svcs[i];
		if (o->owned && !lb_owned_has(o->owned, &s->key))
			fate[i] = F_NOT_OWNED, st->not_owned++;
		else if (!check_service(s, NULL))
			fate[i] = F_LEFT_OUT, st->left_out++;
		else
			fate[i] = F_WRITE, st->services++, st->backends += s->n_dests;
	}
	return fate;
}

static void write_services(FILE *f, FILE *warn, const struct lb_table *t,
			   const unsigned char *fate, const struct lb_export_opts *o,
			   struct lb_export_stats *st) {
	struct whys *w = NULL;
	fputs(st->services ? "services:\n" : "services: []\n", f);
	for (size_t i = 0; i < t->n; i++) {
		if (fate[i] == F_WRITE) {
			write_service(f, &t->svcs[i], o);
		} else if (fate[i] == F_LEFT_OUT) {
			if (!w && !(w = malloc(sizeof(*w))))
				continue; /* cannot say why: the header still counts it */
			check_service(&t->svcs[i], w);
			st->warnings += write_left_out(f, warn, &t->svcs[i], w);
		}
	}
	free(w);
}

int lb_export_write(FILE *out, FILE *warn, const struct lb_table *t, const struct lb_kconf *k,
		    const struct lb_export_opts *o, struct lb_export_stats *st) {
	struct lb_export_stats local;
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	unsigned char *fate = decide(t, o, st);
	if (!fate)
		return -ENOMEM;
	write_header(out, warn, t, o, st);
	if (k)
		st->warnings += write_global(out, warn, k);
	write_services(out, warn, t, fate, o, st);
	free(fate);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
