/* services[].announce: the interface the VIP goes on while the service can serve (announce.h).
 * A fwmark service has no VIP to announce; interface names follow the kernel's rule. */
#include <stdio.h>

#include "internal.h"
#include "util.h"

bool cfg_ifname(struct cfg_ctx *c, const struct cnode *n, const char *key, char out[16]) {
	char buf[CFG_QUOTE_MAX];
	const char *s;
	if (!cfg_str(c, n, key, &s))
		return false;
	if (!lb_ifname_ok(s)) {
		cfg_key_error(c, key, n, "%s is not an interface name: 1 to 15 bytes without "
					 "\"/\", \":\" or whitespace, and not \".\" or \"..\"",
			      cfg_quote(s, buf, sizeof(buf)));
		return false;
	}
	snprintf(out, 16, "%s", s);
	return true;
}

enum { A_IFACE, N_AKEYS };

void cfg_decode_announce(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s) {
	static const struct cfg_key keys[N_AKEYS] = {
		[A_IFACE] = {"interface", true, " (the interface the VIP goes on, e.g. ezlb0)"},
	};
	const struct cnode *v[N_AKEYS];
	if (!n)
		return;
	size_t old = cfg_path_push(c, ".announce");
	if (s->fwmark)
		cfg_error(c, n, "a fwmark service has no VIP to announce: announce needs listen");
	else if (cfg_map(c, n, keys, N_AKEYS, v))
		cfg_ifname(c, v[A_IFACE], "interface", s->announce_if);
	cfg_path_pop(c, old);
}
