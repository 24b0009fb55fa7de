/* A service's health_check block: the kind, its schedule and thresholds, and which kind-specific
 * block (http, exec, dns, udp: decode_check_kinds.c) goes with which type. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "util.h"

#define COUNT_MAX 1000
#define FAST_DEFAULT_MS 1000

enum {
	K_ENABLED, K_TYPE, K_PORT, K_INTERVAL, K_FAST, K_TIMEOUT, K_FAIL, K_RISE, K_INITIAL,
	K_ON_FAILURE, K_HTTP, K_EXEC, K_DNS, K_UDP, N_KEYS
};

/* The config's names of the types, in the order of the enum values they map to. */
static const char *const type_names[] = {"tcp", "udp", "http", "https", "exec", "dns", "none"};
static const enum lb_check_type type_values[] = {LB_CHECK_TCP,   LB_CHECK_UDP,  LB_CHECK_HTTP,
						 LB_CHECK_HTTPS, LB_CHECK_EXEC, LB_CHECK_DNS,
						 LB_CHECK_NONE};

/* The timeout bounds a probe that runs once per interval: it must end before the next starts. */
static void check_timeout(struct cfg_ctx *c, const struct cnode *const *v,
			  const struct lb_check_conf *chk) {
	if (chk->timeout_ms < chk->interval_ms)
		return;
	char t[32], i[32], buf[CFG_QUOTE_MAX];
	cfg_fmt_duration(chk->timeout_ms, t, sizeof(t));
	cfg_fmt_duration(chk->interval_ms, i, sizeof(i));
	bool at_timeout = v[K_TIMEOUT] != NULL;
	const struct cnode *at = at_timeout ? v[K_TIMEOUT] : v[K_INTERVAL];
	size_t old = cfg_path_push(c, at_timeout ? ".timeout" : ".interval");
	if (at_timeout)
		cfg_error(c, at, "%s must be shorter than the interval (%s)",
			  cfg_quote(at->str, buf, sizeof(buf)), i);
	else
		cfg_error(c, at, "%s must be longer than the timeout (%s)",
			  cfg_quote(at->str, buf, sizeof(buf)), t);
	cfg_path_pop(c, old);
}

/* fast_interval re-checks a backend between states sooner, never later, than the interval. An
 * absent one is 1s, or the interval when that is shorter. */
static void decode_fast(struct cfg_ctx *c, const struct cnode *n, struct lb_check_conf *chk) {
	if (!n) {
		chk->fast_interval_ms = chk->interval_ms < FAST_DEFAULT_MS ? chk->interval_ms
									    : FAST_DEFAULT_MS;
		return;
	}
	uint32_t ms;
	if (!cfg_duration(c, n, "fast_interval", &ms))
		return;
	if (ms > chk->interval_ms) {
		char i[32], buf[CFG_QUOTE_MAX];
		size_t old = cfg_path_push(c, ".fast_interval");
		cfg_error(c, n, "%s must not be longer than the interval (%s)",
			  cfg_quote(n->str, buf, sizeof(buf)),
			  cfg_fmt_duration(chk->interval_ms, i, sizeof(i)));
		cfg_path_pop(c, old);
		return;
	}
	chk->fast_interval_ms = ms;
}

/* HTTP runs over TCP only; the other kinds probe whatever the backend serves (with port:, a TCP
 * service's backend may well answer DNS or a UDP ping on another port). */
static void check_type_fits(struct cfg_ctx *c, const struct cnode *at, enum lb_check_type t,
			    uint16_t protocol) {
	if ((t != LB_CHECK_HTTP && t != LB_CHECK_HTTPS) || protocol == IPPROTO_TCP)
		return;
	size_t old = cfg_path_push(c, ".type");
	cfg_error(c, at, "type %s needs a tcp service, this one is %s", lb_check_type_name(t),
		  lb_proto_name(protocol));
	cfg_path_pop(c, old);
}

/* A kind's block given to a service whose check is another kind. */
static bool block_fits(struct cfg_ctx *c, const struct cnode *n, const char *key, enum lb_check_type t,
		       enum lb_check_type a, enum lb_check_type b) {
	if (!n)
		return false;
	if (t == a || t == b)
		return true;
	size_t old = cfg_path_push_name(c, key);
	if (a == b)
		cfg_error(c, n, "%s settings need type: %s, but the check is %s", key,
			  lb_check_type_name(a), lb_check_type_name(t));
	else
		cfg_error(c, n, "%s settings need type: %s or %s, but the check is %s", key,
			  lb_check_type_name(a), lb_check_type_name(b), lb_check_type_name(t));
	cfg_path_pop(c, old);
	return false;
}

static void decode_blocks(struct cfg_ctx *c, const struct cnode *const *v, struct lb_check_conf *chk,
			  uint16_t protocol) {
	enum lb_check_type t = lb_check_type_of(chk, protocol);
	if (block_fits(c, v[K_HTTP], "http", t, LB_CHECK_HTTP, LB_CHECK_HTTPS))
		cfg_decode_check_http(c, v[K_HTTP], &chk->http, t == LB_CHECK_HTTPS);
	if (block_fits(c, v[K_EXEC], "exec", t, LB_CHECK_EXEC, LB_CHECK_EXEC))
		cfg_decode_check_exec(c, v[K_EXEC], &chk->exec);
	else if (t == LB_CHECK_EXEC && !v[K_EXEC]) {
		size_t old = cfg_path_push(c, ".type");
		cfg_error(c, v[K_TYPE], "type exec needs exec.command, the program to run");
		cfg_path_pop(c, old);
	}
	if (block_fits(c, v[K_DNS], "dns", t, LB_CHECK_DNS, LB_CHECK_DNS))
		cfg_decode_check_dns(c, v[K_DNS], &chk->dns);
	if (block_fits(c, v[K_UDP], "udp", t, LB_CHECK_UDP, LB_CHECK_UDP))
		cfg_decode_check_udp(c, v[K_UDP], &chk->udp);
	cfg_check_defaults(c, chk, t);
}

void cfg_decode_check(struct cfg_ctx *c, const struct cnode *n, struct lb_check_conf *chk,
		      uint16_t protocol) {
	static const struct cfg_key keys[N_KEYS] = {
		[K_ENABLED] = {"enabled", false, NULL},   [K_TYPE] = {"type", false, NULL},
		[K_PORT] = {"port", false, NULL},         [K_INTERVAL] = {"interval", false, NULL},
		[K_FAST] = {"fast_interval", false, NULL}, [K_TIMEOUT] = {"timeout", false, NULL},
		[K_FAIL] = {"fail_count", false, NULL},   [K_RISE] = {"rise_count", false, NULL},
		[K_INITIAL] = {"initial", false, NULL},   [K_ON_FAILURE] = {"on_failure", false, NULL},
		[K_HTTP] = {"http", false, NULL},         [K_EXEC] = {"exec", false, NULL},
		[K_DNS] = {"dns", false, NULL},           [K_UDP] = {"udp", false, NULL},
	};
	static const char *const states[] = {"down", "up"};
	static const char *const actions[] = {"remove", "quiesce"};
	const struct cnode *v[N_KEYS];
	size_t old = cfg_path_push(c, ".health_check");
	if (!cfg_map(c, n, keys, N_KEYS, v))
		goto out;
	cfg_bool(c, v[K_ENABLED], "enabled", &chk->enabled);
	unsigned i;
	if (cfg_enum(c, v[K_TYPE], "type", "check type", type_names, ARRAY_SIZE(type_names), &i)) {
		chk->type = type_values[i];
		check_type_fits(c, v[K_TYPE], chk->type, protocol);
	}
	uint32_t port;
	if (cfg_uint(c, v[K_PORT], "port", 1, 65535, &port))
		chk->port = (uint16_t)port;
	bool times_ok = (!v[K_INTERVAL] || cfg_duration(c, v[K_INTERVAL], "interval", &chk->interval_ms)) &
			(!v[K_TIMEOUT] || cfg_duration(c, v[K_TIMEOUT], "timeout", &chk->timeout_ms));
	if (times_ok)
		check_timeout(c, v, chk);
	decode_fast(c, v[K_FAST], chk);
	cfg_uint(c, v[K_FAIL], "fail_count", 1, COUNT_MAX, &chk->fail_count);
	cfg_uint(c, v[K_RISE], "rise_count", 1, COUNT_MAX, &chk->rise_count);
	if (cfg_enum(c, v[K_INITIAL], "initial", "initial state", states, ARRAY_SIZE(states), &i))
		chk->initial_up = i == 1;
	if (cfg_enum(c, v[K_ON_FAILURE], "on_failure", "on_failure action", actions, ARRAY_SIZE(actions), &i))
		chk->on_failure = i == 0 ? LB_ON_FAILURE_REMOVE : LB_ON_FAILURE_QUIESCE;
	decode_blocks(c, v, chk, protocol);
out:
	cfg_path_pop(c, old);
}
