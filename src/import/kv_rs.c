/* real_server blocks, and what virtual servers, real servers and checkers share: the options
 * passed down from one to the other (keepalived: "the virtual server setting is the default for
 * real servers, and the real server setting is the default for checkers"), the forwarding
 * method, addresses. */
#include <arpa/inet.h>
#include <string.h>

#include "kv.h"
#include "proto.h"
#include "util.h"

bool kv_args(struct kv_ctx *c, const struct kv_node *n, size_t min, size_t max) {
	if (n->n - 1 < min) {
		kv_error(c, n->at, "%s: missing value (keepalived stops on this)", n->w[0]);
		return false;
	}
	if (n->n - 1 > max)
		kv_warn(c, n->at, "%s: \"%s\" and what follows ignored, as keepalived does", n->w[0],
			n->w[max + 1]);
	if (n->block)
		kv_warn(c, n->at, "%s: its { } block ignored (it takes none)", n->w[0]);
	return true;
}

void kv_not_imported(struct kv_ctx *c, const struct kv_node *n, const char *why) {
	kv_warn(c, n->at, "%s not imported: %s", n->w[0], why);
}

static void bad_value(struct kv_ctx *c, const struct kv_node *n, const char *what) {
	kv_warn(c, n->at, "%s %s: %s; ignored, as keepalived does", n->w[0], n->w[1], what);
}

/* An optional on/off argument (no argument: on). -1 after a warning. */
static int opt_bool(struct kv_ctx *c, const struct kv_node *n, bool takes_arg) {
	if (!takes_arg || n->n < 2)
		return kv_args(c, n, 0, takes_arg ? 1 : 0) ? 1 : -1;
	kv_args(c, n, 0, 1);
	int b = kv_bool(n->w[1]);
	if (b < 0)
		bad_value(c, n, "not on/off, true/false or yes/no");
	return b;
}

/* timer in microseconds within lo..hi (hi 0: any). */
static bool timer_arg(struct kv_ctx *c, const struct kv_node *n, uint64_t lo, uint64_t hi,
		      uint64_t *out) {
	uint64_t us;
	if (!kv_args(c, n, 1, 1))
		return false;
	if (kv_timer(n->w[1], &us) < 0 || us < lo || (hi && us > hi)) {
		bad_value(c, n, "not a time in seconds in range");
		return false;
	}
	*out = us;
	return true;
}

static bool count_arg(struct kv_ctx *c, const struct kv_node *n, uint64_t lo, uint64_t hi,
		      uint64_t *out) {
	uint64_t v;
	if (!kv_args(c, n, 1, 1))
		return false;
	if (kv_uint(n->w[1], hi, &v) < 0 || v < lo) {
		bad_value(c, n, "not a number in range");
		return false;
	}
	*out = v;
	return true;
}

bool kv_common_opt(struct kv_ctx *c, const struct kv_node *n, struct kv_opts *o,
		   enum kv_level level) {
	const char *k = n->w[0];
	bool checker = level == KV_AT_CHECKER || level == KV_AT_MISC;
	uint64_t v;
	if (!strcmp(k, "retry"))
		count_arg(c, n, checker ? 0 : 1, UINT32_MAX, &o->retry);
	else if (!strcmp(k, "delay_before_retry"))
		timer_arg(c, n, 0, 0, &o->dbr_us);
	else if (!strcmp(k, "delay_loop"))
		timer_arg(c, n, 1, 0, &o->delay_us);
	else if (!strcmp(k, "connect_timeout") && level != KV_AT_MISC)
		timer_arg(c, n, 1, UINT32_MAX, &o->connect_us);
	else if (!strcmp(k, "warmup")) {
		if (timer_arg(c, n, 0, 0, &v))
			kv_not_imported(c, n, "ezlb spreads the first probes evenly over the interval "
					      "(what keepalived's default warmup does at random)");
	} else if (!strcmp(k, "alpha")) {
		int b = opt_bool(c, n, level != KV_AT_VS);
		if (b >= 0)
			o->alpha = b;
	} else if (!strcmp(k, "inhibit_on_failure") && !checker) {
		int b = opt_bool(c, n, level == KV_AT_RS);
		if (b >= 0)
			o->inhibit = b;
	} else if (!strcmp(k, "virtualhost") && !checker) {
		if (kv_args(c, n, 1, 1))
			o->vhost = n->w[1];
	} else if (!strcmp(k, "log_all_failures") && checker) {
		kv_not_imported(c, n, "ezlb logs each state change once, with the reason");
	} else {
		return false;
	}
	return true;
}

/* "type ipip|gue|gre", "port N", "nocsum|csum|remcsum" after TUN. */
static bool tunnel_opts(struct kv_ctx *c, const struct kv_node *n, struct kv_fwd *f) {
	static const char *const csums[] = {"nocsum", "csum", "remcsum"};
	struct kv_fwd t = *f; /* every TUN starts again from ipip, no port, no checksum */
	t.tun_type = KV_TUN_IPIP;
	t.csum = KV_CSUM_NONE;
	uint64_t port = 0;
	for (size_t i = 2; i < n->n; i++) {
		const char *w = n->w[i], *next = i + 1 < n->n ? n->w[i + 1] : NULL;
		size_t k;
		for (k = 0; k < ARRAY_SIZE(csums) && strcmp(w, csums[k]); k++)
			;
		if (k < ARRAY_SIZE(csums)) {
			t.csum = (uint8_t)k;
			continue;
		}
		if (!next || (strcmp(w, "type") && strcmp(w, "port")))
			goto bad;
		i++;
		if (!strcmp(w, "port")) {
			if (kv_uint(next, 65535, &port) < 0 || !port)
				goto bad;
			continue;
		}
		for (k = 0; k < LB_N_TUN_TYPES && strcmp(next, lb_tun_type_names[k]); k++)
			;
		if (k == LB_N_TUN_TYPES)
			goto bad;
		t.tun_type = (uint8_t)k;
	}
	if ((t.tun_type == KV_TUN_GUE) != (port != 0) ||
	    (t.tun_type == KV_TUN_IPIP && t.csum != KV_CSUM_NONE) ||
	    (t.tun_type == KV_TUN_GRE && t.csum == KV_CSUM_REMOTE))
		goto bad;
	t.tun_port = (uint16_t)port;
	*f = t;
	return true;
bad:
	kv_warn(c, n->at, "%s: tunnel options \"%s\" invalid (gue needs a port, only gue takes one; "
			  "ipip takes no checksum option, gre no remcsum); the tunnel settings before "
			  "stay, as keepalived does", n->w[0], n->raw + strlen(n->w[0]) + 1);
	return false;
}

bool kv_parse_fwd(struct kv_ctx *c, const struct kv_node *n, struct kv_fwd *f) {
	static const char *const methods[] = {"NAT", "DR", "TUN"};
	if (!kv_args(c, n, 1, SIZE_MAX))
		return false;
	size_t m;
	for (m = 0; m < ARRAY_SIZE(methods) && strcmp(n->w[1], methods[m]); m++)
		;
	if (m == ARRAY_SIZE(methods)) {
		bad_value(c, n, "not NAT, DR or TUN");
		return false;
	}
	/* keepalived sets the method before it reads the tunnel options */
	f->method = (int)m;
	f->at = n->at;
	if (m != KV_FWD_TUN && n->n > 2)
		kv_warn(c, n->at, "%s: \"%s\" and what follows ignored (tunnel options need TUN)",
			n->w[0], n->w[2]);
	return m != KV_FWD_TUN || tunnel_opts(c, n, f);
}

bool kv_parse_addr(const char *ip, const char *port, struct lb_addr *out) {
	*out = (struct lb_addr){.af = strchr(ip, ':') ? AF_INET6 : AF_INET};
	uint64_t p = 0;
	if (port && port[strspn(port, "0")] && (kv_uint(port, 65535, &p) < 0 || !p))
		return false;
	out->port = (uint16_t)p;
	/* keepalived drops a range or a mask ("10.0.0.1-5", "10.0.0.0/24") from the address */
	char buf[INET6_ADDRSTRLEN + 1];
	size_t len = strcspn(ip, "-/");
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, ip, len);
	buf[len] = '\0';
	return inet_pton(out->af, buf, out->ip.bytes) == 1;
}

static void rs_keyword(struct kv_ctx *c, struct kv_rs *rs, const struct kv_node *n) {
	const char *k = n->w[0];
	if (kv_common_opt(c, n, &rs->o, KV_AT_RS))
		return;
	if (kv_is_checker(k))
		kv_checker(c, rs, n);
	else if (!strcmp(k, "weight"))
		count_arg(c, n, 0, 65535, &rs->weight);
	else if (!strcmp(k, "lvs_method"))
		kv_parse_fwd(c, n, &rs->fwd);
	else if (!strcmp(k, "uthreshold") && count_arg(c, n, 0, UINT32_MAX, &rs->uthreshold))
		rs->uthreshold_at = n->at;
	else if (!strcmp(k, "lthreshold") && count_arg(c, n, 0, UINT32_MAX, &rs->lthreshold))
		rs->lthreshold_at = n->at;
	else if (!strcmp(k, "uthreshold") || !strcmp(k, "lthreshold"))
		; /* warned */
	else if (!strcmp(k, "notify_up") || !strcmp(k, "notify_down"))
		kv_not_imported(c, n, "ezlb runs one program for every event: global.notify (events "
				      "backend_up and backend_down)");
	else if (!strcmp(k, "smtp_alert") || !strcmp(k, "snmp_name"))
		kv_not_imported(c, n, "ezlb sends no mail and has no SNMP agent (it serves Prometheus "
				      "metrics: global.metrics)");
	else
		kv_warn(c, n->at, "%s: unknown keyword in real_server; ignored, as keepalived does", k);
}

static const struct kv_opts unset_opts = {
	.alpha = -1, .inhibit = -1, .retry = KV_UNSET, .connect_us = KV_UNSET,
	.delay_us = KV_UNSET, .dbr_us = KV_UNSET,
};

struct kv_rs *kv_real_server(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n) {
	if (n->n < 2) {
		kv_error(c, n->at, "real_server: missing address (keepalived stops on this)");
		return NULL;
	}
	struct kv_rs *rs = kv_alloc(&c->arena, sizeof(*rs));
	if (!rs) {
		c->oom = true;
		return NULL;
	}
	if (!kv_parse_addr(n->w[1], n->n > 2 ? n->w[2] : NULL, &rs->addr)) {
		kv_warn(c, n->at, "real_server %s %s: not an address and port; skipped with its block, as "
				  "keepalived does", n->w[1], n->n > 2 ? n->w[2] : "");
		return NULL;
	}
	if (n->n > 3)
		kv_warn(c, n->at, "real_server: \"%s\" and what follows ignored, as keepalived does", n->w[3]);
	rs->at = n->at;
	rs->checkers_tail = &rs->checkers;
	rs->conf_port = rs->addr.port;
	rs->weight = rs->uthreshold = rs->lthreshold = KV_UNSET;
	rs->fwd = vs->fwd; /* keepalived copies the virtual server's method as it is by now */
	rs->o = unset_opts;
	if (!n->block)
		kv_warn(c, n->at, "real_server without a { } block: keepalived would read what follows "
				  "as its block");
	for (const struct kv_node *k = n->child; k; k = k->next)
		rs_keyword(c, rs, k);
	/* only a tunnel may cross address families */
	if (rs->fwd.method != KV_FWD_TUN) {
		if (!vs->addr.af) {
			vs->addr.af = rs->addr.af;
		} else if (vs->addr.af != rs->addr.af) {
			kv_warn(c, n->at, "real_server %s: not the address family of its virtual server; "
					  "skipped, as keepalived does", n->w[1]);
			return NULL;
		}
	}
	return rs;
}
