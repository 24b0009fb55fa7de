/* One entry of "services": identity, scheduling, forwarding, persistence and draining; the lists
 * and blocks it holds have their own files, and so do its IPVS options (decode_ipvs.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "util.h"

#define NAME_MAX_LEN 64

/* Names appear in logs, journal fields and the status line: keep them to a safe alphabet. */
static bool name_ok(const char *s) {
	size_t len = strlen(s);
	if (len < 1 || len > NAME_MAX_LEN)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static void decode_name(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			struct cfg_svc_src *src) {
	const char *name;
	if (!cfg_str(c, n, "name", &name))
		return;
	if (!name_ok(name)) {
		char buf[CFG_QUOTE_MAX];
		size_t old = cfg_path_push(c, ".name");
		cfg_error(c, n, "%s is not a valid name: use 1 to %d letters, digits, \".\", \"_\" or \"-\"",
			  cfg_quote(name, buf, sizeof(buf)), NAME_MAX_LEN);
		cfg_path_pop(c, old);
		return;
	}
	if (!(s->name = strdup(name))) {
		c->oom = true;
		return;
	}
	src->name = cfg_pos_of(n);
}

/* ipvsadm's words for the forwarding methods, as "ipvsadm -L" prints them or its options say. */
static bool ipvsadm_forward_word(struct cfg_ctx *c, const struct cnode *n) {
	static const struct { const char *word, *ours; } words[] = {
		{"masq", "nat"}, {"masquerading", "nat"}, {"route", "dr"}, {"droute", "dr"},
		{"gatewaying", "dr"}, {"direct", "dr"}, {"tunnel", "tun"}, {"ipip", "tun"},
	};
	if (!n || n->type != CN_SCALAR)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if (!strcasecmp(n->str, words[i].word)) {
			char buf[CFG_QUOTE_MAX];
			size_t old = cfg_path_push(c, ".forward");
			cfg_error(c, n, "%s is not a valid forwarding method (did you mean \"%s\"?)",
				  cfg_quote(n->str, buf, sizeof(buf)), words[i].ours);
			cfg_path_pop(c, old);
			return true;
		}
	}
	return false;
}

/* In the order the unknown-key message lists them: identity, what the service matches, how it
 * schedules and forwards, then the blocks and lists. */
enum {
	K_NAME, K_LISTEN, K_FWMARK, K_FAMILY, K_PROTO, K_SCHED, K_SCHED_FLAGS, K_ONE_PACKET, K_FWD,
	K_TUNNEL, K_PERSIST, K_CHECK, K_BACKENDS, K_DRAIN, K_QUORUM, K_SORRY, K_ANNOUNCE, N_KEYS
};

/* Whether each enum's value is known: absent (the default) or valid. A key checked against one
 * that was refused would only repeat its error. */
struct svc_known {
	bool protocol, scheduler, forward;
};

static struct svc_known decode_enums(struct cfg_ctx *c, const struct cnode *const *v,
				     struct lb_service_conf *s) {
	static const char *const fwds[] = {"nat", "dr", "tun"};
	struct svc_known k = {!v[K_PROTO], !v[K_SCHED], !v[K_FWD]};
	unsigned i;
	if (cfg_enum(c, v[K_PROTO], "protocol", "protocol", lb_proto_names, LB_N_PROTOS, &i)) {
		s->protocol = lb_proto_nums[i];
		k.protocol = true;
	}
	if (cfg_enum(c, v[K_SCHED], "scheduler", "scheduler", lb_schedulers, LB_N_SCHEDULERS, &i)) {
		snprintf(s->scheduler, sizeof(s->scheduler), "%s", lb_schedulers[i]);
		k.scheduler = true;
	}
	if (!ipvsadm_forward_word(c, v[K_FWD]) &&
	    cfg_enum(c, v[K_FWD], "forward", "forwarding method", fwds, ARRAY_SIZE(fwds), &i)) {
		s->forward = (enum lb_fwd)i;
		k.forward = true;
	}
	return k;
}

static void set_defaults(struct lb_service_conf *s) {
	s->protocol = IPPROTO_TCP;
	snprintf(s->scheduler, sizeof(s->scheduler), "wlc"); /* ipvsadm's default */
	s->forward = LB_FWD_NAT;
	s->check = (struct lb_check_conf){
		.enabled = true,
		.interval_ms = 5000,
		.fast_interval_ms = 1000,
		.timeout_ms = 3000,
		.fail_count = 3,
		.rise_count = 2,
		.initial_up = true,
		.on_failure = LB_ON_FAILURE_REMOVE,
	};
}

void cfg_decode_service(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			struct cfg_svc_src *src) {
	static const struct cfg_key keys[N_KEYS] = {
		[K_NAME] = {"name", true, NULL},
		[K_LISTEN] = {"listen", false, NULL}, /* required unless fwmark: cfg_decode_vip */
		[K_FWMARK] = {"fwmark", false, NULL},
		[K_FAMILY] = {"family", false, NULL},
		[K_PROTO] = {"protocol", false, NULL},
		[K_SCHED] = {"scheduler", false, NULL},
		[K_SCHED_FLAGS] = {"scheduler_flags", false, NULL},
		[K_ONE_PACKET] = {"one_packet", false, NULL},
		[K_FWD] = {"forward", false, NULL},
		[K_TUNNEL] = {"tunnel", false, NULL},
		[K_PERSIST] = {"persistence", false, NULL},
		[K_CHECK] = {"health_check", false, NULL},
		[K_BACKENDS] = {"backends", false, NULL},
		[K_DRAIN] = {"drain_timeout", false, NULL},
		[K_QUORUM] = {"quorum", false, NULL},
		[K_SORRY] = {"sorry_servers", false, NULL},
		[K_ANNOUNCE] = {"announce", false, NULL},
	};
	const struct cnode *v[N_KEYS];
	set_defaults(s);
	if (!cfg_map(c, n, keys, N_KEYS, v))
		return;
	decode_name(c, v[K_NAME], s, src);
	/* sets listen.af, of a fwmark service too: the netmask below and the backends need it */
	cfg_decode_vip(c, n, v[K_LISTEN], v[K_FWMARK], v[K_FAMILY], s, src);
	/* persistence off, with the netmask ipvsadm shows for it */
	s->persist_netmask = s->listen.af == AF_INET6 ? 128 : htonl(0xffffffffu);
	struct svc_known known = decode_enums(c, v, s);
	cfg_decode_sched_flags(c, v[K_SCHED_FLAGS], s, known.scheduler);
	cfg_decode_one_packet(c, v[K_ONE_PACKET], s, known.protocol);
	cfg_decode_tunnel(c, v[K_TUNNEL], s, known.forward);
	cfg_decode_announce(c, v[K_ANNOUNCE], s);
	if (v[K_PERSIST] && !cfg_is_null(v[K_PERSIST]))
		cfg_decode_persistence(c, v[K_PERSIST], s);
	if (v[K_CHECK] && !cfg_is_null(v[K_CHECK]))
		cfg_decode_check(c, v[K_CHECK], &s->check, s->protocol);
	if (v[K_BACKENDS])
		cfg_decode_backends(c, v[K_BACKENDS], s, src);
	if (v[K_SORRY])
		cfg_decode_sorry(c, v[K_SORRY], s, src);
	/* quorum is checked against both lists, so it comes after them */
	cfg_decode_quorum(c, v[K_QUORUM], v[K_SORRY], s,
			  !v[K_BACKENDS] || v[K_BACKENDS]->type == CN_SEQ);
	src->drain_set = v[K_DRAIN] != NULL; /* an invalid one is reported: no default hides it */
	cfg_duration_in(c, v[K_DRAIN], "drain_timeout", 0, CFG_DRAIN_MAX_MS, &s->drain_timeout_ms);
}
