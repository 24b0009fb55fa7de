/* The top level of a keepalived configuration and its virtual_server blocks, read in order as
 * keepalived reads them (some keywords depend on what came before: sh-port needs lvs_sched sh
 * first, a real server takes the forwarding method set so far). kv_fix.c then applies what
 * keepalived decides once the block is complete. */
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "util.h"

#define PERSIST_DEFAULT_S 360          /* IPVS_SVC_PERSISTENT_TIMEOUT */
#define PERSIST_MAX_S (86400u * 31)    /* LVS_MAX_TIMEOUT */

static const char *const schedulers[] = {"rr",  "wrr", "lc", "wlc", "lblc", "sh",  "mh",
					 "dh",  "fo",  "ovf", "lblcr", "sed", "nq", "twos"};

static void sched(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	if (!kv_args(c, n, 1, 1))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(schedulers); i++)
		if (!strcmp(n->w[1], schedulers[i])) {
			snprintf(vs->sched, sizeof(vs->sched), "%s", schedulers[i]);
			return;
		}
	kv_warn(c, n->at, "%s %s: unknown scheduler; ignored, as keepalived does", n->w[0], n->w[1]);
}

/* ops, flag-N and the sh/mh words: bits of the kernel's service flags. */
static bool sched_flag(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	static const struct {
		const char *word, *sched;
		uint32_t bit;
		int slot;
	} words[] = {
		{"ops", NULL, IP_VS_SVC_F_ONEPACKET, 3},     {"flag-1", NULL, IP_VS_SVC_F_SCHED1, 0},
		{"flag-2", NULL, IP_VS_SVC_F_SCHED2, 1},     {"flag-3", NULL, IP_VS_SVC_F_SCHED3, 2},
		{"sh-fallback", "sh", IP_VS_SVC_F_SCHED1, 0}, {"sh-port", "sh", IP_VS_SVC_F_SCHED2, 1},
		{"mh-fallback", "mh", IP_VS_SVC_F_SCHED1, 0}, {"mh-port", "mh", IP_VS_SVC_F_SCHED2, 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if (strcmp(n->w[0], words[i].word))
			continue;
		kv_args(c, n, 0, 0);
		if (words[i].sched && strcmp(vs->sched, words[i].sched)) {
			kv_warn(c, n->at, "%s: ignored, as keepalived does: it applies only after "
					  "lvs_sched %s", n->w[0], words[i].sched);
			return true;
		}
		vs->flags |= words[i].bit;
		vs->flag_at[words[i].slot] = n->at;
		return true;
	}
	return false;
}

static void granularity(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	if (!kv_args(c, n, 1, 1))
		return;
	uint16_t af = vs->addr.af ? vs->addr.af : strchr(n->w[1], '.') ? AF_INET : AF_INET6;
	uint64_t len;
	struct in_addr m;
	if (af == AF_INET6 ? kv_uint(n->w[1], 128, &len) < 0 || !len : !inet_aton(n->w[1], &m)) {
		kv_warn(c, n->at, "persistence_granularity %s: not a netmask; ignored, as keepalived does",
			n->w[1]);
		return;
	}
	vs->has_gran = true;
	vs->gran = af == AF_INET6 ? (uint32_t)len : m.s_addr;
	vs->gran_at = n->at;
	if (!vs->addr.af)
		vs->addr.af = af;
	if (!vs->persist_s)
		vs->persist_s = PERSIST_DEFAULT_S;
}

static void persistence(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	uint64_t v;
	if (n->n < 2) {
		vs->persist_s = PERSIST_DEFAULT_S;
		return;
	}
	kv_args(c, n, 0, 1);
	if (kv_uint(n->w[1], PERSIST_MAX_S, &v) < 0 || !v)
		kv_warn(c, n->at, "persistence_timeout %s: not 1..%u seconds; ignored, as keepalived does",
			n->w[1], PERSIST_MAX_S);
	else
		vs->persist_s = (uint32_t)v;
}

static void protocol(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	static const struct { const char *name; uint16_t num; } protos[] = {
		{"TCP", IPPROTO_TCP}, {"UDP", IPPROTO_UDP}, {"SCTP", IPPROTO_SCTP}};
	if (!kv_args(c, n, 1, 1))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (!strcasecmp(n->w[1], protos[i].name)) {
			vs->proto = protos[i].num;
			return;
		}
	kv_warn(c, n->at, "protocol %s: unknown; ignored, as keepalived does", n->w[1]);
}

static void count(struct kv_ctx *c, const struct kv_node *n, uint64_t lo, uint64_t hi, uint64_t *out) {
	uint64_t v;
	if (!kv_args(c, n, 1, 1))
		return;
	if (kv_uint(n->w[1], hi, &v) < 0 || v < lo)
		kv_warn(c, n->at, "%s %s: not a number in %ju..%ju; ignored, as keepalived does", n->w[0],
			n->w[1], (uintmax_t)lo, (uintmax_t)hi);
	else
		*out = v;
}

static void sorry_server(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	if (!kv_args(c, n, 1, 2))
		return;
	struct lb_addr a;
	if (!kv_parse_addr(n->w[1], n->n > 2 ? n->w[2] : NULL, &a)) {
		kv_warn(c, n->at, "sorry_server: not an address and port; ignored, as keepalived does");
		return;
	}
	vs->has_sorry = true;
	vs->sorry = a;
	vs->sorry_conf_port = a.port;
	vs->sorry_fwd = vs->fwd;
	vs->sorry_at = n->at;
}

static void ip_family(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	if (!kv_args(c, n, 1, 1))
		return;
	uint16_t af = !strcmp(n->w[1], "inet") ? AF_INET : !strcmp(n->w[1], "inet6") ? AF_INET6 : 0;
	if (!af)
		kv_warn(c, n->at, "ip_family %s: not inet or inet6; ignored, as keepalived does", n->w[1]);
	else if (vs->addr.af && vs->addr.af != af)
		kv_warn(c, n->at, "ip_family %s: conflicts with the addresses; ignored, as keepalived "
				  "does", n->w[1]);
	else
		vs->addr.af = af;
}

static void add_rs(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	struct kv_rs *rs = kv_real_server(c, vs, n);
	if (!rs)
		return;
	*vs->rs_tail = rs;
	vs->rs_tail = &rs->next;
	vs->n_rs++;
}

#define QUORUM_NOTIFY \
	"ezlb runs one program for every event: global.notify (events quorum_lost and quorum_regained)"

/* Keywords that keep keepalived's features ezlb does not have. */
static bool not_imported(struct kv_ctx *c, const struct kv_node *n) {
	static const struct { const char *word, *why; } words[] = {
		{"hysteresis", "ezlb's quorum has no flap damping"},
		{"quorum_up", QUORUM_NOTIFY},
		{"quorum_down", QUORUM_NOTIFY},
		{"omega", "ezlb runs no notifier on shutdown"},
		{"ha_suspend", "ezlb checks whether or not the VIP is on this host"},
		{"smtp_alert", "ezlb sends no mail"},
		{"snmp_name", "ezlb has no SNMP agent (it serves Prometheus metrics: global.metrics)"},
		{"persistence_engine", "ezlb sets no IPVS persistence engine (sip)"},
		{"hashed", "the kernel sets it by itself"},
		{"sorry_server_inhibit", "ezlb never health-checks sorry servers; they are removed when "
					 "quorum returns"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(n->w[0], words[i].word)) {
			kv_not_imported(c, n, words[i].why);
			return true;
		}
	return false;
}

static void vs_keyword(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	const char *k = n->w[0];
	if (kv_common_opt(c, n, &vs->o, KV_AT_VS) || sched_flag(c, vs, n) || not_imported(c, n))
		return;
	if (!strcmp(k, "lb_algo") || !strcmp(k, "lvs_sched"))
		sched(c, vs, n);
	else if (!strcmp(k, "lb_kind") || !strcmp(k, "lvs_method"))
		kv_parse_fwd(c, n, &vs->fwd);
	else if (!strcmp(k, "persistence_timeout"))
		persistence(c, vs, n);
	else if (!strcmp(k, "persistence_granularity"))
		granularity(c, vs, n);
	else if (!strcmp(k, "protocol"))
		protocol(c, vs, n);
	else if (!strcmp(k, "quorum")) {
		count(c, n, 1, UINT32_MAX, &vs->quorum);
		vs->quorum_at = n->at;
	} else if (!strcmp(k, "weight"))
		count(c, n, 1, 65535, &vs->weight);
	else if (!strcmp(k, "sorry_server"))
		sorry_server(c, vs, n);
	else if (!strcmp(k, "sorry_server_lvs_method")) {
		if (vs->has_sorry && kv_parse_fwd(c, n, &vs->sorry_fwd))
			vs->sorry_fwd_at = n->at;
		else
			kv_warn(c, n->at, "sorry_server_lvs_method without sorry_server before it; ignored, "
					  "as keepalived does");
	} else if (!strcmp(k, "ip_family"))
		ip_family(c, vs, n);
	else if (!strcmp(k, "real_server"))
		add_rs(c, vs, n);
	else
		kv_warn(c, n->at, "%s: unknown keyword in virtual_server; ignored, as keepalived does", k);
}

/* "virtual_server IP [PORT]", "virtual_server fwmark N", "virtual_server group NAME". */
static struct kv_vs *new_vs(struct kv_ctx *c, const struct kv_node *n) {
	if (n->n < 2 || (n->n < 3 && (!strcmp(n->w[1], "fwmark") || !strcmp(n->w[1], "group")))) {
		kv_error(c, n->at, "virtual_server: missing address (keepalived stops on this)");
		return NULL;
	}
	if (!strcmp(n->w[1], "group")) {
		kv_not_imported(c, n, "virtual_server_group has no ezlb equivalent: write one service "
				      "per address (or a fwmark service)");
		return NULL;
	}
	struct kv_vs *vs = kv_alloc(&c->arena, sizeof(*vs));
	if (!vs) {
		c->oom = true;
		return NULL;
	}
	uint64_t mark;
	bool ok = !strcmp(n->w[1], "fwmark") ? kv_uint(n->w[2], UINT32_MAX, &mark) == 0
					      : kv_parse_addr(n->w[1], n->n > 2 ? n->w[2] : NULL, &vs->addr);
	if (!ok) {
		kv_warn(c, n->at, "virtual_server %s %s: invalid; skipped with its block, as keepalived "
				  "does", n->w[1], n->n > 2 ? n->w[2] : "");
		return NULL;
	}
	if (n->n > 3)
		kv_warn(c, n->at, "virtual_server: \"%s\" and what follows ignored, as keepalived does",
			n->w[3]);
	if (!strcmp(n->w[1], "fwmark")) {
		vs->is_fwmark = true;
		vs->fwmark = (uint32_t)mark;
	}
	vs->at = n->at;
	vs->rs_tail = &vs->rs;
	vs->fwd.method = KV_FWD_UNSET;
	vs->o = (struct kv_opts){.alpha = 0, .inhibit = 0, .retry = KV_UNSET, .connect_us = 5000000,
				 .delay_us = 60000000, .dbr_us = KV_UNSET};
	vs->weight = 1;
	vs->quorum = 1;
	return vs;
}

static const char *top_why(const char *k) {
	/* keepalived 2.2's other top-level keywords */
	static const char *const known[] = {
		"SSL", "bfd_instance", "child_wait_time", "garp_group", "instance",
		"interface_up_down_delays", "linkbeat_interfaces", "linkbeat_use_polling",
		"namespace_with_ipsets", "net_namespace", "net_namespace_ipvs", "static_ipaddress",
		"static_routes", "static_rules", "track_file", "track_group", "use_pid_dir",
		"virtual_server_group", "vrrp_instance", "vrrp_script", "vrrp_sync_group",
		"vrrp_track_file", "vrrp_track_process",
	};
	size_t i;
	for (i = 0; i < ARRAY_SIZE(known) && strcmp(k, known[i]); i++)
		;
	if (i == ARRAY_SIZE(known))
		return "an unknown keyword at the top level (keepalived ignores it too)";
	if (!strncmp(k, "vrrp_", 5) || !strcmp(k, "garp_group") || !strcmp(k, "track_group") ||
	    !strncmp(k, "linkbeat_", 9) || !strcmp(k, "interface_up_down_delays"))
		return "VRRP is not part of ezlb; keep keepalived (or another VRRP daemon) for the "
		       "VIPs";
	if (!strncmp(k, "static_", 7))
		return "ezlb manages no addresses, routes or rules";
	if (!strncmp(k, "net_namespace", 13))
		return "run ezlb itself in that network namespace (ip netns exec NAME ezlb ...)";
	if (!strcmp(k, "virtual_server_group"))
		return "ezlb has no groups: write one service per address (or a fwmark service)";
	if (!strcmp(k, "SSL"))
		return "ezlb presents no client certificate, and verifies servers only with "
		       "health_check.http.tls_verify (keepalived does not verify them)";
	return "ezlb has no equivalent";
}

struct kv_vs *kv_model(struct kv_ctx *c, const struct kv_node *root, struct kv_global *g) {
	struct kv_vs *head = NULL, **tail = &head;
	for (const struct kv_node *n = root; n; n = n->next) {
		if (!strcmp(n->w[0], "global_defs")) {
			kv_global_defs(c, n, root, g);
			continue;
		}
		if (strcmp(n->w[0], "virtual_server")) {
			kv_not_imported(c, n, top_why(n->w[0]));
			continue;
		}
		struct kv_vs *vs = new_vs(c, n);
		if (!vs)
			continue;
		if (!n->block)
			kv_warn(c, n->at, "virtual_server without a { } block: keepalived would read what "
					  "follows as its block");
		for (const struct kv_node *k = n->child; k; k = k->next)
			vs_keyword(c, vs, k);
		kv_fix(c, vs);
		*tail = vs;
		tail = &vs->next;
	}
	return head;
}
