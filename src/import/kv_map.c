/* keepalived's virtual servers -> ezlb services: what the service matches and how it schedules
 * and forwards. The servers are kv_map_servers.c's, the health check kv_map_check.c's. A
 * virtual server ezlb cannot express is left out with a warning, never half-written. */
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "proto.h"
#include "util.h"

/* The kernel's flag bits as ezlb's scheduler_flags words, for the schedulers that have them. */
static void sched_flags(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s) {
	static const char *const slot_name[] = {"flag-1 (fallback)", "flag-2 (port)", "flag-3"};
	bool sh = !strcmp(s->sched, "sh"), mh = !strcmp(s->sched, "mh");
	for (int i = 0; i < 3; i++) {
		if (!(vs->flags & (IP_VS_SVC_F_SCHED1 << i)))
			continue;
		if ((sh || mh) && i < 2) {
			static const char *const words[2][2] = {{"sh-fallback", "sh-port"}, {"mh-fallback", "mh-port"}};
			s->sched_flags[s->n_sched_flags++] = words[mh][i];
		} else {
			kv_warn(c, vs->flag_at[i], "%s not imported: ezlb's scheduler_flags are those of the "
						   "sh and mh schedulers, and this service's is %s",
				slot_name[i], s->sched);
		}
	}
}

/* A contiguous IPv4 mask ("255.255.255.0"), or an IPv6 prefix length, as ezlb writes it. */
static void persistence(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s) {
	s->persist_s = vs->persist_s;
	if (!vs->has_gran)
		return;
	if (s->listen.af == AF_INET6) {
		if (vs->gran != 128)
			snprintf(s->netmask, sizeof(s->netmask), "%u", vs->gran);
		return;
	}
	uint32_t host = ~ntohl(vs->gran);
	if ((host & (host + 1)) != 0 || host == UINT32_MAX) {
		char m[INET_ADDRSTRLEN];
		kv_warn(c, vs->gran_at, "persistence_granularity %s not imported: ezlb takes contiguous "
					"netmasks only (keepalived passes any to the kernel)",
			inet_ntop(AF_INET, &vs->gran, m, sizeof(m)));
		return;
	}
	if (host)
		inet_ntop(AF_INET, &vs->gran, s->netmask, sizeof(s->netmask));
}

static bool same_fwd(const struct kv_fwd *a, const struct kv_fwd *b) {
	return a->method == b->method &&
	       (a->method != KV_FWD_TUN ||
		(a->tun_type == b->tun_type && a->tun_port == b->tun_port && a->csum == b->csum));
}

/* With the service's method chosen, the backends that differed must fit it: DR and TUN keep the
 * service's port, and only TUN crosses address families. */
static void fit_backends(struct kv_ctx *c, struct ez_service *s) {
	size_t kept = 0;
	for (size_t i = 0; i < s->n_backends; i++) {
		struct ez_backend *b = &s->backends[i];
		if (b->addr.af != s->listen.af && s->fwd != KV_FWD_TUN) {
			kv_warn(c, b->rs->at, "real_server not imported: only forward: tun can reach "
					      "another address family");
			b->rs->dropped = true;
			continue;
		}
		if (!s->is_fwmark && s->fwd != KV_FWD_NAT)
			b->addr.port = s->listen.port;
		s->backends[kept++] = *b;
	}
	s->n_backends = kept;
	kv_dedupe_backends(c, s, "with the service's port it is the same destination as another one");
}

/* ezlb forwards a whole service one way; keepalived sets it per real server. The first real
 * server's method is the service's, and each one that differs is warned about. */
static void forward(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s) {
	const struct kv_fwd *f = NULL;
	for (const struct kv_rs *rs = vs->rs; rs; rs = rs->next) {
		if (rs->dropped)
			continue;
		if (!f)
			f = &rs->fwd;
		else if (!same_fwd(f, &rs->fwd))
			kv_warn(c, rs->at, "real_server's lvs_method differs from the first real server's: "
					   "ezlb forwards a whole service one way; imported with the first one's");
	}
	if (!f)
		f = &vs->fwd;
	s->fwd = f->method < 0 ? KV_FWD_NAT : f->method;
	s->tun_type = f->tun_type;
	s->tun_port = f->tun_port;
	s->csum = f->csum;
	fit_backends(c, s);
}

/* One-packet scheduling needs a udp service in ezlb; a fwmark service is made udp for it unless
 * its check needs tcp. */
static void one_packet(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s) {
	if (!(vs->flags & IP_VS_SVC_F_ONEPACKET))
		return;
	bool tcp_check = s->check.enabled && (s->check.kind == KV_CK_HTTP || s->check.kind == KV_CK_SSL);
	if (s->is_fwmark && !tcp_check)
		s->proto = IPPROTO_UDP;
	if (s->proto == IPPROTO_UDP)
		s->one_packet = true;
	else
		kv_warn(c, vs->flag_at[3], "ops not imported: ezlb's one_packet needs a udp service, and "
					   "this one's http check needs tcp");
}

static void name(struct ez_service *s) {
	char ip[LB_ADDRSTRLEN];
	if (s->is_fwmark) {
		snprintf(s->name, sizeof(s->name), "vs-fwmark-%u%s", s->fwmark,
			 s->listen.af == AF_INET6 ? "-ipv6" : "");
		return;
	}
	lb_ip_fmt(s->listen.af, &s->listen.ip, ip);
	for (char *p = ip; *p; p++)
		if (*p == ':')
			*p = '-';
	snprintf(s->name, sizeof(s->name), "vs-%s-%u-%s", ip, s->listen.port, lb_proto_name(s->proto));
}

static struct ez_service *map_one(struct kv_ctx *c, struct kv_vs *vs) {
	if (!vs->is_fwmark && !vs->addr.port) {
		kv_warn(c, vs->at, "virtual_server without port (all ports, persistent) not imported: "
				   "ezlb's listen needs a port; use a fwmark service");
		return NULL;
	}
	if (vs->is_fwmark && !vs->fwmark) {
		kv_warn(c, vs->at, "virtual_server fwmark 0 not imported: 0 is no mark");
		return NULL;
	}
	struct ez_service *s = kv_alloc(&c->arena, sizeof(*s));
	if (!s) {
		c->oom = true;
		return NULL;
	}
	s->at = vs->at;
	s->is_fwmark = vs->is_fwmark;
	s->fwmark = vs->fwmark;
	s->listen = vs->addr;
	s->proto = vs->proto ? vs->proto : IPPROTO_TCP;
	s->sched = vs->sched;
	sched_flags(c, vs, s);
	persistence(c, vs, s);
	if (!kv_map_servers(c, vs, s))
		return NULL;
	forward(c, vs, s);
	kv_map_check(c, vs, s);
	one_packet(c, vs, s);
	kv_map_sorry(c, vs, s);
	name(s);
	return s;
}

/* What the kernel keys a service by: mark and family, or protocol, address and port. */
struct svc_key {
	uint32_t fwmark;
	uint16_t af, proto, port, is_fwmark;
	uint8_t ip[16];
};

static void key_of(const struct ez_service *s, struct svc_key *k) {
	k->is_fwmark = s->is_fwmark;
	k->af = s->listen.af;
	if (s->is_fwmark) {
		k->fwmark = s->fwmark;
		return;
	}
	k->proto = s->proto;
	k->port = s->listen.port;
	memcpy(k->ip, s->listen.ip.bytes, sizeof(k->ip));
}

/* Links the services, leaving out (with a warning) each one the kernel would take for one
 * before it. */
static struct ez_service *unique(struct kv_ctx *c, struct ez_service **all, size_t n) {
	struct svc_key *keys = calloc(n ? n : 1, sizeof(*keys));
	size_t *first = malloc((n ? n : 1) * sizeof(*first));
	struct ez_service *head = NULL, **tail = &head;
	for (size_t i = 0; keys && i < n; i++)
		key_of(all[i], &keys[i]);
	if (!keys || !first || kv_first_equal(keys, n, sizeof(*keys), first) < 0)
		c->oom = true;
	for (size_t i = 0; !c->oom && i < n; i++) {
		if (first[i] != i) {
			const struct ez_service *dup = all[first[i]];
			kv_warn(c, all[i]->at, "virtual_server not imported: the same IPVS service as the one "
					       "at %s:%u (keepalived would add to that one)",
				c->files[dup->at.file], dup->at.line);
			continue;
		}
		*tail = all[i];
		tail = &all[i]->next;
	}
	free(keys);
	free(first);
	return head;
}

struct ez_service *kv_map(struct kv_ctx *c, struct kv_vs *vs) {
	size_t n = 0, cap = 0;
	struct ez_service **all = NULL;
	for (; vs; vs = vs->next) {
		struct ez_service *s = vs->skip ? NULL : map_one(c, vs);
		if (!s)
			continue;
		if (GROW(all, cap, n + 1) < 0) {
			c->oom = true;
			break;
		}
		all[n++] = s;
	}
	struct ez_service *head = c->oom ? NULL : unique(c, all, n);
	free(all);
	return head;
}
