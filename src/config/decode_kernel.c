/* The kernel-wide IPVS settings of global: the connection timeouts (ipvsadm --set) and the
 * connection sync daemon (ipvsadm --start-daemon). Each key left out leaves the kernel's choice,
 * which is why absent values stay 0 in struct lb_config. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* --- timeouts --- */

/* 24 days. The kernel keeps a timeout as seconds * HZ in an int (ip_vs_set_timeout() refuses
 * more than INT_MAX / HZ seconds): with HZ 1000 that is 24.8 days, and whole days are what
 * anyone would write. */
#define TIMEOUT_MAX_MS (LB_TIMEOUT_MAX_S * 1000)

/* Whole seconds, 1s..24 days (576h): the kernel takes seconds, and 0 means "unchanged" to it, so
 * a 0 here could only be a mistake. */
static void decode_timeout(struct cfg_ctx *c, const struct cnode *n, const char *key,
			   uint32_t *out_s) {
	char buf[CFG_QUOTE_MAX];
	uint32_t ms;
	if (!cfg_duration_in(c, n, key, 0, TIMEOUT_MAX_MS, &ms))
		return;
	if (ms == 0)
		cfg_key_error(c, key, n, "%s must be greater than zero; leave the key out to keep the "
					 "kernel's timeout", cfg_quote(n->str, buf, sizeof(buf)));
	else if (ms % 1000)
		cfg_key_error(c, key, n, "%s is not a whole number of seconds; the kernel counts these "
					 "timeouts in seconds", cfg_quote(n->str, buf, sizeof(buf)));
	else
		*out_s = ms / 1000;
}

static void decode_timeouts(struct cfg_ctx *c, const struct cnode *n, struct lb_timeouts_conf *t) {
	static const struct cfg_key keys[] = {
		{"tcp", false, NULL}, {"tcp_fin", false, NULL}, {"udp", false, NULL}};
	const struct cnode *v[ARRAY_SIZE(keys)];
	size_t old = cfg_path_push(c, ".timeouts");
	if (cfg_map(c, n, keys, ARRAY_SIZE(keys), v)) {
		if (v[0])
			decode_timeout(c, v[0], "tcp", &t->tcp_s);
		if (v[1])
			decode_timeout(c, v[1], "tcp_fin", &t->tcp_fin_s);
		if (v[2])
			decode_timeout(c, v[2], "udp", &t->udp_s);
	}
	cfg_path_pop(c, old);
}

/* --- sync --- */

enum { S_IFACE, S_ID, S_ROLE, S_GROUP, S_PORT, S_TTL, S_MAXLEN, N_SKEYS };

/* The config's words, in the order messages list them, and the enum values they stand for. */
static const char *const role_names[] = {"master", "backup", "both"};
static const enum lb_sync_role role_values[] = {LB_SYNC_MASTER, LB_SYNC_BACKUP, LB_SYNC_BOTH};

static const char *role_name(enum lb_sync_role r) {
	for (size_t i = 0; i < ARRAY_SIZE(role_values); i++)
		if (role_values[i] == r)
			return role_names[i];
	return "unknown";
}

/* The kernel refuses a group that is not multicast (ip_vs_genl_new_daemon()). */
static bool is_multicast(uint16_t af, const union lb_inaddr *ip) {
	if (af == AF_INET)
		return (ntohl(ip->v4.s_addr) & 0xf0000000u) == 0xe0000000u; /* 224.0.0.0/4 */
	return ip->v6.s6_addr[0] == 0xff;                                  /* ff00::/8 */
}

/* A plain address: the port has its own key, as in the kernel's attributes. False when the
 * group was given and refused. */
static bool decode_group(struct cfg_ctx *c, const struct cnode *n, struct lb_sync_conf *sync) {
	char buf[CFG_QUOTE_MAX];
	const char *s;
	uint16_t af;
	union lb_inaddr ip;
	if (!cfg_str(c, n, "group", &s))
		return n == NULL;
	if (lb_ip_parse(s, &af, &ip) < 0) {
		cfg_key_error(c, "group", n, "%s is not an IP address; write the group alone, such as "
					     "224.0.0.81 or ff02::81 (the port is sync.port)",
			      cfg_quote(s, buf, sizeof(buf)));
		return false;
	}
	if (!is_multicast(af, &ip)) {
		cfg_key_error(c, "group", n, "%s is not a multicast address (%s)",
			      cfg_quote(s, buf, sizeof(buf)), af == AF_INET ? "224.0.0.0/4" : "ff00::/8");
		return false;
	}
	sync->group = (struct lb_addr){.af = af, .ip = ip};
	return true;
}

/* The message size. start_sync_thread() in net/netfilter/ipvs/ip_vs_sync.c clamps sync_maxlen to
 * min_mtu..65535 - hlen, where min_mtu is 1 for a master and 1024 for a backup, and hlen is the
 * size of the IP and UDP headers of the group's family (28 for IPv4, also the default group, 48
 * for IPv6). A value outside would be changed without a word, so it is refused; role both runs
 * a backup too. bounds_known is false when role or group was refused: the bounds are unknown. */
static void decode_max_len(struct cfg_ctx *c, const struct cnode *n, struct lb_sync_conf *sync,
			   bool bounds_known) {
	char buf[CFG_QUOTE_MAX];
	uint32_t v;
	if (!cfg_uint(c, n, "max_len", 1, 65535, &v) || !bounds_known)
		return;
	bool v6 = sync->group.af == AF_INET6;
	uint32_t min = sync->role == LB_SYNC_MASTER ? 1 : 1024, max = 65535 - (v6 ? 48 : 28);
	if (v < min)
		cfg_key_error(c, "max_len", n, "%s is out of range %u..%u: the kernel would raise a "
					       "backup's message size to 1024 (role %s)",
			      cfg_quote(n->str, buf, sizeof(buf)), min, max, role_name(sync->role));
	else if (v > max)
		cfg_key_error(c, "max_len", n, "%s is out of range %u..%u: a message and the %s and UDP "
					       "headers must fit in 65535 bytes",
			      cfg_quote(n->str, buf, sizeof(buf)), min, max, v6 ? "IPv6" : "IPv4");
	else
		sync->max_len = (uint16_t)v;
}

static void decode_sync(struct cfg_ctx *c, const struct cnode *n, struct lb_sync_conf *sync) {
	static const struct cfg_key keys[N_SKEYS] = {
		[S_IFACE] = {"interface", true, "; the network interface the sync messages use"},
		[S_ID] = {"id", false, NULL},
		[S_ROLE] = {"role", false, NULL},
		[S_GROUP] = {"group", false, NULL},
		[S_PORT] = {"port", false, NULL},
		[S_TTL] = {"ttl", false, NULL},
		[S_MAXLEN] = {"max_len", false, NULL},
	};
	const struct cnode *v[N_SKEYS];
	size_t old = cfg_path_push(c, ".sync");
	if (!cfg_map(c, n, keys, N_SKEYS, v))
		goto out;
	sync->enabled = true;
	cfg_ifname(c, v[S_IFACE], "interface", sync->ifname);
	cfg_uint(c, v[S_ID], "id", 0, 255, &sync->id); /* one byte in the sync messages */
	unsigned r = 0;
	bool role_ok = !v[S_ROLE] || cfg_enum(c, v[S_ROLE], "role", "sync role", role_names,
					      ARRAY_SIZE(role_names), &r);
	if (v[S_ROLE] && role_ok)
		sync->role = role_values[r]; /* else LB_SYNC_BOTH, the zero of the struct */
	bool group_ok = decode_group(c, v[S_GROUP], sync);
	uint32_t u;
	if (cfg_uint(c, v[S_PORT], "port", 1, 65535, &u))
		sync->port = (uint16_t)u;
	if (cfg_uint(c, v[S_TTL], "ttl", 1, 255, &u))
		sync->ttl = (uint8_t)u;
	decode_max_len(c, v[S_MAXLEN], sync, role_ok && group_ok);
out:
	cfg_path_pop(c, old);
}

void cfg_decode_kernel(struct cfg_ctx *c, const struct cnode *timeouts, const struct cnode *sync,
		       struct lb_config *cfg) {
	if (timeouts)
		decode_timeouts(c, timeouts, &cfg->timeouts);
	if (sync)
		decode_sync(c, sync, &cfg->sync);
}
