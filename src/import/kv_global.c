/* global_defs: the two settings with an ezlb key, lvs_timeouts (global.timeouts) and
 * lvs_sync_daemon (global.sync); every other keyword is warned about one by one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "kv.h"
#include "util.h"

#define TIMEOUT_MAX_S 2073600 /* ezlb's global.timeouts: 24 days */

static void timeouts(struct kv_ctx *c, const struct kv_node *n, struct kv_global *g) {
	static const char *const keys[] = {"tcp", "tcpfin", "udp"};
	uint32_t *slot[] = {&g->tcp_s, &g->tcpfin_s, &g->udp_s};
	for (size_t i = 1; i < n->n; i++) {
		size_t k;
		for (k = 0; k < ARRAY_SIZE(keys) && strcmp(n->w[i], keys[k]); k++)
			;
		uint64_t v;
		if (k == ARRAY_SIZE(keys) || i + 1 == n->n) {
			kv_warn(c, n->at, "lvs_timeouts: \"%s\" ignored, as keepalived does", n->w[i]);
			continue;
		}
		if (kv_uint(n->w[++i], TIMEOUT_MAX_S, &v) < 0)
			kv_warn(c, n->at, "lvs_timeouts %s %s not imported: ezlb takes 1 s to 24 days",
				keys[k], n->w[i]);
		else
			*slot[k] = (uint32_t)v; /* 0: keepalived leaves it unchanged, as ezlb without it */
	}
	g->timeouts_at = n->at;
}

/* keepalived's default sync id: the virtual_router_id of the VRRP instance. */
static uint64_t vrid(const struct kv_node *root, const char *inst) {
	uint64_t v = 0;
	for (const struct kv_node *n = root; n; n = n->next)
		if (!strcmp(n->w[0], "vrrp_instance") && n->n > 1 && !strcmp(n->w[1], inst))
			for (const struct kv_node *k = n->child; k; k = k->next)
				if (!strcmp(k->w[0], "virtual_router_id") && k->n > 1)
					kv_uint(k->w[1], 255, &v);
	return v;
}

/* One "word value" option of lvs_sync_daemon; false when it is none of them. */
static bool sync_opt(struct kv_ctx *c, const struct kv_node *n, size_t *i, struct kv_global *g) {
	static const struct { const char *word; uint64_t lo, hi; } opts[] = {
		{"id", 0, 255}, {"maxlen", 1, 65507}, {"port", 1, 65535}, {"ttl", 1, 255}};
	uint64_t *slot[] = {&g->sync_id, &g->sync_maxlen, &g->sync_port, &g->sync_ttl};
	const char *w = n->w[*i], *v = *i + 1 < n->n ? n->w[*i + 1] : NULL;
	if (!strcmp(w, "inst") || !strcmp(w, "group")) {
		if (v && !strcmp(w, "inst"))
			g->sync_inst = v;
		else if (v && (lb_ip_parse(v, &g->sync_group.af, &g->sync_group.ip) < 0 ||
			       !(g->sync_group.af == AF_INET ? IN_MULTICAST(ntohl(g->sync_group.ip.v4.s_addr))
							       : IN6_IS_ADDR_MULTICAST(&g->sync_group.ip.v6)))) {
			kv_warn(c, n->at, "lvs_sync_daemon group %s: not a multicast address; ignored", v);
			g->sync_group.af = 0;
		}
		*i += v != NULL;
		return true;
	}
	for (size_t k = 0; k < ARRAY_SIZE(opts); k++) {
		if (strcmp(w, opts[k].word))
			continue;
		uint64_t x;
		if (v && kv_uint(v, opts[k].hi, &x) == 0 && x >= opts[k].lo)
			*slot[k] = x;
		else
			kv_warn(c, n->at, "lvs_sync_daemon %s %s: invalid; ignored, as keepalived does", w,
				v ? v : "");
		*i += v != NULL;
		return true;
	}
	return false;
}

static void sync_daemon(struct kv_ctx *c, const struct kv_node *n, const struct kv_node *root,
			struct kv_global *g) {
	if (g->sync) {
		kv_warn(c, n->at, "lvs_sync_daemon given twice; the first stays, as keepalived does");
		return;
	}
	if (!kv_args(c, n, 1, SIZE_MAX))
		return;
	g->sync = true;
	g->sync_at = n->at;
	g->sync_ifname = n->w[1];
	g->sync_id = KV_UNSET;
	for (size_t i = 2; i < n->n; i++) {
		uint64_t id;
		if (sync_opt(c, n, &i, g))
			continue;
		if (i == 2) /* the old form: IF INSTANCE [SYNCID] */
			g->sync_inst = n->w[2];
		else if (i == 3 && kv_uint(n->w[3], 255, &id) == 0)
			g->sync_id = id;
		else
			kv_warn(c, n->at, "lvs_sync_daemon: \"%s\" ignored, as keepalived does", n->w[i]);
	}
	if (g->sync_id == KV_UNSET)
		g->sync_id = g->sync_inst ? vrid(root, g->sync_inst) : 0;
	if (g->sync_inst)
		kv_warn(c, n->at, "lvs_sync_daemon: keepalived runs the master or the backup daemon as "
				  "VRRP instance %s is master or not; ezlb has no VRRP: imported with role "
				  "both (both daemons run)", g->sync_inst);
}

static const char *why(const char *k) {
	static const struct { const char *prefix, *why; } whys[] = {
		{"lvs_flush_on_stop", "ezlb leaves the table in place when it stops (ezlb cleanup "
				      "removes what it owns)"},
		{"lvs_flush", "ezlb never flushes the table: it changes what it owns and leaves other "
			      "tools' services alone"},
		{"lvs_notify_fifo", "ezlb runs one program for every event: global.notify"},
		{"notify_fifo", "ezlb runs one program for every event: global.notify"},
		{"vrrp", "VRRP is not part of ezlb"}, {"garp", "VRRP is not part of ezlb"},
		{"gna", "VRRP is not part of ezlb"}, {"notification_email", "ezlb sends no mail"},
		{"smtp", "ezlb sends no mail"}, {"snmp", "ezlb has no SNMP agent (it serves Prometheus "
						"metrics: global.metrics)"},
		{"checker_", "ezlb's health checks run in its one event loop"},
		{"script_user", "ezlb runs exec checks as its own user"},
		{"enable_script_security", "ezlb runs exec checks as its own user, in its sandbox"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(whys); i++)
		if (!strncmp(k, whys[i].prefix, strlen(whys[i].prefix)))
			return whys[i].why;
	return "a keepalived setting ezlb has no equivalent for";
}

void kv_global_defs(struct kv_ctx *c, const struct kv_node *n, const struct kv_node *root,
		    struct kv_global *g) {
	for (const struct kv_node *k = n->child; k; k = k->next) {
		if (!strcmp(k->w[0], "lvs_timeouts"))
			timeouts(c, k, g);
		else if (!strcmp(k->w[0], "lvs_sync_daemon"))
			sync_daemon(c, k, root, g);
		else
			kv_not_imported(c, k, why(k->w[0]));
	}
}

/* What ezlb's interface name check (the kernel's dev_valid_name) accepts. */
static bool ifname_ok(const char *s) {
	size_t len = strlen(s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == ':')
			return false; /* and nothing but ASCII: YAML is UTF-8 */
	return len >= 1 && len < 16 && strcmp(s, ".") && strcmp(s, "..");
}

void kv_map_global(struct kv_ctx *c, struct kv_global *g) {
	if (!g->sync)
		return;
	if (!ifname_ok(g->sync_ifname)) {
		kv_warn(c, g->sync_at, "lvs_sync_daemon not imported: %s is not an interface name",
			g->sync_ifname);
		g->sync = false;
		return;
	}
	uint64_t max = g->sync_group.af == AF_INET6 ? 65487 : 65507;
	if (g->sync_maxlen && (g->sync_maxlen < 1024 || g->sync_maxlen > max)) {
		kv_warn(c, g->sync_at, "lvs_sync_daemon maxlen %ju not imported: ezlb takes 1024..%ju "
				       "with both daemons running", (uintmax_t)g->sync_maxlen, (uintmax_t)max);
		g->sync_maxlen = 0;
	}
}
