/* A service's "backends" and "sorry_servers" lists, and how each entry must fit its service. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "util.h"

static const char *family(uint16_t af) {
	return af == AF_INET6 ? "IPv6" : "IPv4";
}


/* IPVS forwards across families only through a tunnel, and only NAT rewrites the port (ipvsadm
 * silently replaces a DR/TUN backend's port with the service's; we refuse instead of guessing).
 * A fwmark service has no port of its own: each backend's port is used as written, so only the
 * family is checked, against the service's family. */
static void check_fit(struct cfg_ctx *c, const struct cnode *n, const struct lb_service_conf *s,
		      const struct lb_addr *a) {
	char buf[CFG_QUOTE_MAX], l[LB_ADDRSTRLEN];
	if (!s->listen.af)
		return;
	if (a->af != s->listen.af && s->forward != LB_FWD_TUN) {
		if (s->fwmark)
			cfg_error(c, n, "%s is %s but the service (fwmark %u) is %s; only forward: tun "
					"can mix families", cfg_quote(n->str, buf, sizeof(buf)),
				  family(a->af), s->fwmark, family(s->listen.af));
		else
			cfg_error(c, n, "%s is %s but listen %s is %s; only forward: tun can mix families",
				  cfg_quote(n->str, buf, sizeof(buf)), family(a->af),
				  lb_addr_fmt(&s->listen, l), family(s->listen.af));
	}
	if (!s->fwmark && a->port != s->listen.port && s->forward != LB_FWD_NAT)
		cfg_error(c, n, "%s has port %u but forward: %s cannot change the port; use the listen "
				"port %u", cfg_quote(n->str, buf, sizeof(buf)), a->port,
			  lb_fwd_name(s->forward), s->listen.port);
}

/* max_conns stops new connections to a backend at that many (the kernel marks it overloaded);
 * min_conns is where it takes them again, so it means something only below a max_conns. */
static void decode_thresholds(struct cfg_ctx *c, const struct cnode *max, const struct cnode *min,
			      struct lb_backend_conf *be) {
	char buf[CFG_QUOTE_MAX];
	bool max_ok = cfg_uint(c, max, "max_conns", 0, LB_CONNS_MAX, &be->max_conns);
	uint32_t v;
	if (!cfg_uint(c, min, "min_conns", 0, LB_CONNS_MAX, &v))
		return;
	if (!max)
		cfg_key_error(c, "min_conns", min, "needs max_conns: min_conns is where a backend that "
						     "max_conns stopped takes new connections again");
	else if (!max_ok)
		return; /* reported */
	else if (v && !be->max_conns)
		cfg_key_error(c, "min_conns", min, "%s has no effect with max_conns 0 (no limit); set "
						     "max_conns above it or write 0",
			      cfg_quote(min->str, buf, sizeof(buf)));
	else if (v && v >= be->max_conns)
		cfg_key_error(c, "min_conns", min, "%s must be less than max_conns (%u)",
			      cfg_quote(min->str, buf, sizeof(buf)), be->max_conns);
	else
		be->min_conns = v;
}

static void decode_backend(struct cfg_ctx *c, const struct cnode *n, struct lb_backend_conf *be,
			   const struct lb_service_conf *s, struct cfg_pos *addr_pos) {
	static const struct cfg_key keys[] = {{"address", true, NULL},
					      {"weight", false, NULL},
					      {"max_conns", false, NULL},
					      {"min_conns", false, NULL}};
	const struct cnode *v[ARRAY_SIZE(keys)];
	be->weight = 1;
	if (!cfg_map(c, n, keys, ARRAY_SIZE(keys), v))
		return;
	if (cfg_endpoint(c, v[0], "address", &be->addr)) {
		size_t old = cfg_path_push(c, ".address");
		check_fit(c, v[0], s, &be->addr);
		cfg_path_pop(c, old);
		*addr_pos = cfg_pos_of(v[0]);
	}
	cfg_uint(c, v[1], "weight", 0, LB_WEIGHT_MAX, &be->weight);
	decode_thresholds(c, v[2], v[3], be);
}

/* A list of {address, weight, max_conns, min_conns}: backends and sorry servers are both IPVS
 * destinations of the service, so they are read and checked by this one decoder. key names the
 * list in errors and noun what it holds ("write \"backends: []\" for no backends"). */
static void decode_list(struct cfg_ctx *c, const struct cnode *n, const char *key, const char *noun,
			const struct lb_service_conf *s, struct lb_backend_conf **out, size_t *n_out,
			struct cfg_pos **pos) {
	size_t old = cfg_path_push_name(c, key);
	if (cfg_is_null(n))
		cfg_error(c, n, "expected a sequence, got null; write \"%s: []\" for no %s", key, noun);
	if (cfg_is_null(n) || !cfg_expect(c, n, CN_SEQ, NULL))
		goto out;
	*out = calloc(n->n ? n->n : 1, sizeof(**out));
	*pos = calloc(n->n ? n->n : 1, sizeof(**pos));
	if (!*out || !*pos) {
		c->oom = true;
		goto out;
	}
	size_t i = 0;
	for (const struct cnode *item = n->child; item; item = item->next, i++) {
		size_t at = cfg_path_push_index(c, i);
		decode_backend(c, item, &(*out)[i], s, &(*pos)[i]);
		cfg_path_pop(c, at);
	}
	*n_out = i;
out:
	cfg_path_pop(c, old);
}

void cfg_decode_backends(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			 struct cfg_svc_src *src) {
	decode_list(c, n, "backends", "backends", s, &s->backends, &s->n_backends, &src->be_addr);
}

void cfg_decode_sorry(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
		      struct cfg_svc_src *src) {
	decode_list(c, n, "sorry_servers", "sorry servers", s, &s->sorry, &s->n_sorry,
		    &src->sorry_addr);
}
