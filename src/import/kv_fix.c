/* What keepalived 2.2 decides about a virtual server once its block is read (check_parser.c's
 * end handlers and check_data.c's validate_check_config): the address family of a fwmark
 * service, defaults it announces ("no protocol set - defaulting to UDP"), the options a real
 * server takes from its virtual server, and the ports it gives the kernel (DR and TUN real
 * servers get the service's port, those of a fwmark service port 0). The import reproduces
 * what reaches the kernel, not what the file seems to say, and warns where they differ. */
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define PERSIST_DEFAULT_S 360

/* The family of a fwmark service whose servers are all tunnelled: theirs when they agree. */
static void fwmark_family(struct kv_vs *vs) {
	if (vs->addr.af)
		return;
	uint16_t af = vs->has_sorry ? vs->sorry.af : 0;
	for (const struct kv_rs *rs = vs->rs; rs; rs = rs->next) {
		if (af && rs->addr.af != af) {
			af = 0;
			break;
		}
		af = rs->addr.af;
	}
	vs->addr.af = af ? af : AF_INET;
}

static void end_of_block(struct kv_ctx *c, struct kv_vs *vs) {
	if (vs->has_sorry && vs->sorry_fwd.method != KV_FWD_TUN) {
		if (!vs->addr.af) {
			vs->addr.af = vs->sorry.af;
		} else if (vs->addr.af != vs->sorry.af) {
			kv_warn(c, vs->sorry_at, "sorry_server: not the address family of its virtual "
						 "server; ignored, as keepalived does");
			vs->has_sorry = false;
		}
	}
	if (vs->is_fwmark)
		fwmark_family(vs);
}

static void address_service(struct kv_ctx *c, struct kv_vs *vs) {
	if (!vs->proto) {
		kv_warn(c, vs->at, "virtual_server without protocol: keepalived 2.2 makes it UDP (and "
				   "says so); imported as udp, write \"protocol TCP\" if you meant TCP");
		vs->proto = IPPROTO_UDP;
	}
	if ((vs->flags & IP_VS_SVC_F_ONEPACKET) && vs->proto != IPPROTO_UDP) {
		kv_warn(c, vs->flag_at[3], "ops: one-packet scheduling needs UDP; keepalived clears it");
		vs->flags &= ~(uint32_t)IP_VS_SVC_F_ONEPACKET;
	}
	if (!vs->addr.port && !vs->persist_s) {
		kv_warn(c, vs->at, "virtual_server without port: keepalived makes it persistent (%us)",
			PERSIST_DEFAULT_S);
		vs->persist_s = PERSIST_DEFAULT_S;
	}
}

static void inherit(struct kv_opts *o, const struct kv_opts *from) {
	if (o->alpha < 0)
		o->alpha = from->alpha;
	if (o->inhibit < 0)
		o->inhibit = from->inhibit;
	if (o->retry == KV_UNSET)
		o->retry = from->retry;
	if (o->connect_us == KV_UNSET)
		o->connect_us = from->connect_us;
	if (o->delay_us == KV_UNSET)
		o->delay_us = from->delay_us;
	if (o->dbr_us == KV_UNSET)
		o->dbr_us = from->dbr_us;
	if (!o->vhost)
		o->vhost = from->vhost;
}

/* keepalived drops a real server equal (address and port as written) to one before it. */
static void duplicates(struct kv_ctx *c, struct kv_vs *vs) {
	struct kv_rs **list = malloc(vs->n_rs * sizeof(*list));
	struct lb_addr *keys = calloc(vs->n_rs, sizeof(*keys));
	size_t *first = malloc(vs->n_rs * sizeof(*first)), i = 0;
	for (struct kv_rs *rs = vs->rs; list && keys && rs; rs = rs->next, i++) {
		list[i] = rs;
		keys[i] = rs->addr;
	}
	if (!list || !keys || !first || kv_first_equal(keys, vs->n_rs, sizeof(*keys), first) < 0)
		c->oom = true;
	for (i = 0; !c->oom && i < vs->n_rs; i++)
		if (first[i] != i) {
			kv_warn(c, list[i]->at, "real_server: a duplicate of line %u; dropped, as keepalived "
						"does", list[first[i]]->at.line);
			list[i]->dropped = true;
		}
	free(list);
	free(keys);
	free(first);
}

/* The method a server without one gets: the virtual server's, NAT by default. */
static void default_fwd(struct kv_vs *vs, struct kv_fwd *f) {
	if (f->method != KV_FWD_UNSET)
		return;
	if (vs->fwd.method == KV_FWD_UNSET)
		vs->fwd.method = KV_FWD_NAT;
	*f = vs->fwd;
}

static void real_servers(struct kv_ctx *c, struct kv_vs *vs) {
	uint64_t weight_sum = 0;
	duplicates(c, vs);
	for (struct kv_rs *rs = vs->rs; rs; rs = rs->next) {
		if (rs->dropped)
			continue;
		default_fwd(vs, &rs->fwd);
		inherit(&rs->o, &vs->o);
		if (rs->weight == KV_UNSET)
			rs->weight = vs->weight;
		weight_sum += rs->weight;
	}
	if (vs->has_sorry)
		default_fwd(vs, &vs->sorry_fwd);
	if (vs->quorum > weight_sum)
		vs->quorum = weight_sum; /* keepalived: "quorum exceeds total weight", lowered */
}

/* A server's port in the kernel. keepalived: NAT keeps its own (none: the service's); DR and
 * TUN cannot change ports, so they get the service's; in a fwmark service those get 0. */
static void server_port(struct kv_ctx *c, const struct kv_vs *vs, struct lb_addr *a, int method,
			struct kv_loc at) {
	if (vs->is_fwmark) {
		if (method != KV_FWD_NAT && a->port)
			a->port = 0; /* kv_map warns: ezlb cannot write port 0 */
		return;
	}
	if (method != KV_FWD_NAT && a->port && a->port != vs->addr.port)
		kv_warn(c, at, "port %u: DR and TUN cannot change the port; keepalived uses the "
			       "virtual server's, %u", a->port, vs->addr.port);
	if (!a->port || method != KV_FWD_NAT)
		a->port = vs->addr.port;
}

void kv_fix(struct kv_ctx *c, struct kv_vs *vs) {
	end_of_block(c, vs);
	if (!vs->n_rs) {
		kv_warn(c, vs->at, "virtual_server has no real servers; keepalived ignores it, and so "
				   "does the import");
		vs->skip = true;
		return;
	}
	if (!vs->is_fwmark)
		address_service(c, vs);
	if (!vs->sched[0])
		strcpy(vs->sched, "wlc");
	real_servers(c, vs);
	for (struct kv_rs *rs = vs->rs; rs; rs = rs->next)
		if (!rs->dropped)
			server_port(c, vs, &rs->addr, rs->fwd.method, rs->at);
	if (vs->has_sorry && (vs->sorry_fwd.method != KV_FWD_NAT || vs->is_fwmark))
		server_port(c, vs, &vs->sorry, vs->sorry_fwd.method, vs->sorry_at);
}
