/* Real servers -> backends, the sorry server -> sorry_servers, keepalived's quorum (a sum of
 * weights) -> quorum.min_up (a count of backends). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

/* A DR/TUN real server of a fwmark service: keepalived gives the kernel port 0, which IPVS
 * ignores for these methods; ezlb needs a port: the one written, else the checker's. */
static bool fwmark_port(struct kv_ctx *c, const struct kv_rs *rs, struct lb_addr *a) {
	if (rs->fwd.method == KV_FWD_NAT) {
		kv_warn(c, rs->at, "real_server without port in a fwmark service not imported: keepalived "
				   "gives the kernel port 0 (connections keep their destination port), "
				   "which ezlb cannot write");
		return false;
	}
	uint16_t port = rs->conf_port ? rs->conf_port : rs->checkers ? rs->checkers->port : 0;
	if (!port) {
		kv_warn(c, rs->at, "real_server not imported: ezlb needs a port for it (write one, or a "
				   "connect_port in its checker)");
		return false;
	}
	kv_warn(c, rs->at, "keepalived gives the kernel port 0 for a DR/TUN real server of a fwmark "
			   "service (IPVS does not use it); ezlb writes port %u", port);
	a->port = port;
	return true;
}

/* uthreshold and lthreshold as ezlb's max_conns and min_conns, which must make sense together. */
static void thresholds(struct kv_ctx *c, const struct kv_rs *rs, struct ez_backend *b) {
	if (rs->uthreshold != KV_UNSET && rs->uthreshold) {
		b->max_conns = rs->uthreshold;
		if (b->max_conns > INT_MAX) {
			kv_warn(c, rs->uthreshold_at, "uthreshold %ju: ezlb's max_conns stops at %d (the kernel counts "
					   "connections in an int)", (uintmax_t)rs->uthreshold, INT_MAX);
			b->max_conns = INT_MAX;
		}
	}
	if (rs->lthreshold == KV_UNSET || !rs->lthreshold)
		return;
	if (!b->max_conns)
		kv_warn(c, rs->lthreshold_at, "lthreshold not imported: without uthreshold it has no effect");
	else if (rs->lthreshold >= b->max_conns)
		kv_warn(c, rs->lthreshold_at, "lthreshold not imported: ezlb needs it below uthreshold");
	else
		b->min_conns = rs->lthreshold;
}

void kv_dedupe_backends(struct kv_ctx *c, struct ez_service *s, const char *why) {
	struct lb_addr *keys = calloc(s->n_backends ? s->n_backends : 1, sizeof(*keys));
	size_t *first = malloc((s->n_backends ? s->n_backends : 1) * sizeof(*first)), kept = 0;
	for (size_t i = 0; keys && i < s->n_backends; i++)
		keys[i] = s->backends[i].addr;
	if (!keys || !first || kv_first_equal(keys, s->n_backends, sizeof(*keys), first) < 0) {
		c->oom = true;
		kept = s->n_backends;
	}
	for (size_t i = 0; !c->oom && i < s->n_backends; i++) {
		struct ez_backend *b = &s->backends[i];
		if (first[i] == i) {
			s->backends[kept++] = *b;
			continue;
		}
		kv_warn(c, b->rs->at, "real_server not imported: %s", why);
		b->rs->dropped = true;
	}
	s->n_backends = kept;
	free(keys);
	free(first);
}

bool kv_map_servers(struct kv_ctx *c, struct kv_vs *vs, struct ez_service *s) {
	s->backends = kv_alloc(&c->arena, (vs->n_rs + 1) * sizeof(*s->backends));
	if (!s->backends) {
		c->oom = true;
		return false;
	}
	for (struct kv_rs *rs = vs->rs; rs; rs = rs->next) {
		if (rs->dropped)
			continue;
		struct lb_addr a = rs->addr;
		if (vs->is_fwmark && !a.port && !fwmark_port(c, rs, &a)) {
			rs->dropped = true;
			continue;
		}
		struct ez_backend *b = &s->backends[s->n_backends++];
		b->rs = rs;
		b->addr = a;
		b->weight = (uint32_t)rs->weight;
		thresholds(c, rs, b);
	}
	kv_dedupe_backends(c, s, "with its port as keepalived sets it, it is the same destination "
				 "as another one");
	if (!s->n_backends)
		kv_warn(c, vs->at, "virtual_server not imported: none of its real servers could be");
	return s->n_backends > 0;
}

/* The sorry server's port in ezlb: keepalived leaves a NAT one without port at 0, which for an
 * address service means the service's port. */
static bool sorry_port(struct kv_ctx *c, const struct kv_vs *vs, struct lb_addr *a) {
	if (a->port)
		return true;
	if (!vs->is_fwmark) {
		a->port = vs->addr.port;
		return true;
	}
	if (vs->sorry_fwd.method != KV_FWD_NAT && vs->sorry_conf_port) {
		kv_warn(c, vs->sorry_at, "keepalived gives the kernel port 0 for a DR/TUN sorry server "
					 "of a fwmark service (IPVS does not use it); ezlb writes port %u",
			vs->sorry_conf_port);
		a->port = vs->sorry_conf_port;
		return true;
	}
	kv_warn(c, vs->sorry_at, "sorry_server not imported: ezlb needs a port for it in a fwmark "
				 "service");
	return false;
}

/* keepalived has quorum while the weights of the live real servers add up to quorum; ezlb
 * while min_up backends are up. With equal weights w that is exactly min_up = ceil(q / w);
 * otherwise the mean weight stands for w, and a warning gives the range that is right. */
static uint32_t min_up(struct kv_ctx *c, const struct kv_vs *vs, const struct ez_service *s) {
	uint64_t sum = 0, q = vs->quorum;
	uint32_t wmin = UINT32_MAX, wmax = 0;
	for (size_t i = 0; i < s->n_backends; i++) {
		uint32_t w = s->backends[i].weight;
		sum += w;
		wmin = w < wmin ? w : wmin;
		wmax = w > wmax ? w : wmax;
	}
	if (q > sum)
		q = sum;
	uint64_t n = s->n_backends;
	uint64_t up = wmin == wmax ? (q + wmax - 1) / wmax : (q * n + sum - 1) / sum;
	up = up < 1 ? 1 : up > n ? n : up;
	if (wmin != wmax) {
		struct kv_loc at = vs->quorum_at.line ? vs->quorum_at : vs->at;
		kv_warn(c, at, "quorum %ju is a sum of weights in keepalived and a count of backends in "
			       "ezlb; with unequal weights (%u..%u) no count is exact: imported as min_up "
			       "%ju (mean weight)%s", (uintmax_t)q, wmin, wmax, (uintmax_t)up,
			wmin ? "" : "; a backend of weight 0 counts in ezlb, not in keepalived");
	}
	return (uint32_t)up;
}

void kv_map_sorry(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s) {
	if (!vs->has_sorry) {
		if (vs->quorum_at.line)
			kv_warn(c, vs->quorum_at, "quorum not imported: without sorry_server keepalived only "
						  "runs quorum_up and quorum_down, and ezlb's quorum changes the "
						  "table");
		return;
	}
	uint64_t sum = 0;
	for (size_t i = 0; i < s->n_backends; i++)
		sum += s->backends[i].weight;
	if (!sum) {
		kv_warn(c, vs->sorry_at, "sorry_server not imported: every real server weighs 0, so "
					 "keepalived's quorum never fails and the sorry server is never used");
		return;
	}
	if (vs->sorry_fwd.method != s->fwd)
		kv_warn(c, vs->sorry_fwd_at.line ? vs->sorry_fwd_at : vs->sorry_at,
			"the sorry server's forwarding method is not the service's: ezlb forwards sorry "
			"servers like the backends (%s)",
			s->fwd == KV_FWD_NAT ? "nat" : s->fwd == KV_FWD_DR ? "dr" : "tun");
	struct lb_addr a = vs->sorry;
	if (!sorry_port(c, vs, &a))
		return;
	if (!s->is_fwmark && s->fwd != KV_FWD_NAT)
		a.port = s->listen.port; /* DR and TUN cannot change the port */
	if (a.af != s->listen.af && s->fwd != KV_FWD_TUN) {
		kv_warn(c, vs->sorry_at, "sorry_server not imported: only forward: tun can reach another "
					 "address family");
		return;
	}
	if (!(s->sorry = kv_alloc(&c->arena, sizeof(*s->sorry)))) {
		c->oom = true;
		return;
	}
	s->sorry->addr = a;
	s->sorry->weight = 1;
	s->n_sorry = 1;
	uint32_t up = min_up(c, vs, s);
	s->min_up = up > 1 ? up : 0;
}
