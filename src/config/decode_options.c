/* A service's persistence block (health_check has decode_check.c). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

static bool digits(const char *s) {
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* "/24" or 24 (any family), or "255.255.255.0" (IPv4 services only). af is 0 when the service's
 * listen address was itself invalid; the value is then only checked for being some netmask. */
static bool parse_netmask(struct cfg_ctx *c, const struct cnode *n, uint16_t af, uint32_t *out) {
	char buf[CFG_QUOTE_MAX];
	const char *q = cfg_quote(n->str, buf, sizeof(buf));
	const char *p = n->str[0] == '/' ? n->str + 1 : n->str;
	unsigned max = af == AF_INET ? 32 : 128;
	struct in_addr m;
	if (digits(p) && strlen(p) <= 3) {
		unsigned len = (unsigned)atoi(p);
		if (len < 1 || len > max) {
			cfg_error(c, n, "%s is out of range: a%s prefix length is 1..%u", q,
				  af == AF_INET ? "n IPv4" : af == AF_INET6 ? "n IPv6" : "", max);
			return false;
		}
		*out = af == AF_INET ? htonl(0xffffffffu << (32 - len)) : len;
		return true;
	}
	if (p != n->str || inet_pton(AF_INET, n->str, &m) != 1) {
		cfg_error(c, n, "%s is not a netmask; write a prefix length (/24) or a dotted IPv4 mask "
				"(255.255.255.0)", q);
		return false;
	}
	if (af == AF_INET6) {
		cfg_error(c, n, "%s is an IPv4 netmask but the service is IPv6; write a prefix length "
				"such as /64", q);
		return false;
	}
	uint32_t host = ~ntohl(m.s_addr); /* contiguous: the host part is 2^k - 1 */
	if ((host & (host + 1)) != 0 || host == 0xffffffffu) {
		cfg_error(c, n, "%s is not a contiguous netmask of 1 to 32 bits", q);
		return false;
	}
	*out = m.s_addr;
	return true;
}

void cfg_decode_persistence(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s) {
	static const struct cfg_key keys[] = {{"timeout", true, NULL}, {"netmask", false, NULL}};
	const struct cnode *v[ARRAY_SIZE(keys)];
	size_t old = cfg_path_push(c, ".persistence");
	if (!cfg_map(c, n, keys, ARRAY_SIZE(keys), v))
		goto out;
	uint32_t ms;
	if (cfg_duration(c, v[0], "timeout", &ms)) {
		if (ms % 1000) {
			char buf[CFG_QUOTE_MAX];
			size_t at = cfg_path_push(c, ".timeout");
			cfg_error(c, v[0], "%s is not a whole number of seconds",
				  cfg_quote(v[0]->str, buf, sizeof(buf)));
			cfg_path_pop(c, at);
		} else {
			s->persist_timeout_s = ms / 1000;
		}
	}
	const char *str;
	if (cfg_str(c, v[1], "netmask", &str)) {
		size_t at = cfg_path_push(c, ".netmask");
		uint32_t mask;
		if (parse_netmask(c, v[1], s->listen.af, &mask))
			s->persist_netmask = mask;
		cfg_path_pop(c, at);
	}
out:
	cfg_path_pop(c, old);
}
