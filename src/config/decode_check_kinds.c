/* The kind-specific blocks of health_check: http (also https), exec, dns and udp, and the defaults
 * of each kind. Every string that ends up on the wire (path, Host) is checked here, so a config
 * cannot inject a header or a second request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../health/dns_msg.h"
#include "internal.h"
#include "util.h"

#define EXPECT_MAX 1024   /* a body or reply prefix to look for */
#define PAYLOAD_MAX 1400  /* a UDP probe datagram: one unfragmented packet */
#define ARGV_MAX 64

/* Pushes key on the path, reports, pops. */
#define KEY_ERROR(c, key, at, ...)                                                                  \
	do {                                                                                        \
		size_t _old = cfg_path_push_name(c, key);                                           \
		cfg_error(c, at, __VA_ARGS__);                                                      \
		cfg_path_pop(c, _old);                                                              \
	} while (0)

static bool set_str(struct cfg_ctx *c, char **dst, const char *s) {
	free(*dst);
	if (!(*dst = strdup(s)))
		c->oom = true;
	return *dst != NULL;
}

/* Printable ASCII without spaces: what a request target or a Host value may hold. */
static bool visible_ascii(const char *s) {
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* --- http --- */

/* "200-299 301": codes and ranges separated by spaces. A bad token is reported at its column. */
static bool parse_one_range(const char *tok, size_t len, struct lb_status_range *r) {
	char buf[16];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, tok, len);
	buf[len] = 0;
	unsigned lo, hi;
	int used = 0;
	if (sscanf(buf, "%3u-%3u%n", &lo, &hi, &used) == 2 && (size_t)used == len && buf[0] != '-')
		;
	else if (sscanf(buf, "%3u%n", &lo, &used) == 1 && (size_t)used == len)
		hi = lo;
	else
		return false;
	if (strspn(buf, "0123456789-") != len || lo < 100 || hi > 599 || lo > hi)
		return false;
	*r = (struct lb_status_range){(uint16_t)lo, (uint16_t)hi};
	return true;
}

static void decode_status(struct cfg_ctx *c, const struct cnode *n, struct lb_check_http *h) {
	const char *s;
	if (!cfg_str(c, n, "status", &s))
		return;
	size_t old = cfg_path_push(c, ".status"), count = 0;
	bool bad = false;
	uint32_t col0 = n->col + (n->quoted ? 1 : 0);
	for (const char *p = s; *p;) {
		p += strspn(p, " ");
		size_t len = strcspn(p, " ");
		if (!len)
			break;
		if (count == LB_HTTP_MAX_RANGES) {
			cfg_error(c, n, "more than %d codes and ranges", LB_HTTP_MAX_RANGES);
			break;
		}
		if (!parse_one_range(p, len, &h->status[count])) {
			cfg_error_at(c, n->line, col0 + (uint32_t)(p - s),
				     "\"%.*s\" is not an HTTP status code or range such as 200 or 200-299 "
				     "(codes are 100..599)", (int)(len > 32 ? 32 : len), p);
			count = 0;
			bad = true;
			break;
		}
		count++;
		p += len;
	}
	if (count == 0 && !bad)
		cfg_error(c, n, "no status code given; write e.g. \"200-299\"");
	h->n_status = count;
	cfg_path_pop(c, old);
}

static void decode_path(struct cfg_ctx *c, const struct cnode *n, struct lb_check_http *h) {
	const char *s;
	if (!cfg_str(c, n, "path", &s))
		return;
	char buf[CFG_QUOTE_MAX];
	if (s[0] != '/' || !visible_ascii(s) || strlen(s) > 1024)
		KEY_ERROR(c, "path", n, "%s is not a request path: it must start with \"/\" and hold no "
					"spaces or control characters (encode them as %%20 ...)",
			  cfg_quote(s, buf, sizeof(buf)));
	else
		set_str(c, &h->path, s);
}

/* A host name, an IP, or either with ":port": what a Host header carries. */
static void decode_host(struct cfg_ctx *c, const struct cnode *n, struct lb_check_http *h) {
	const char *s;
	if (!cfg_str(c, n, "host", &s))
		return;
	char buf[CFG_QUOTE_MAX];
	size_t len = strlen(s);
	if (len == 0 || len > 255 || !visible_ascii(s) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") != len)
		KEY_ERROR(c, "host", n, "%s is not a host name or address", cfg_quote(s, buf, sizeof(buf)));
	else
		set_str(c, &h->host, s);
}

/* A non-empty text of at most max bytes. */
static bool decode_text(struct cfg_ctx *c, const struct cnode *n, const char *key, size_t max,
			const char **out) {
	if (!cfg_str(c, n, key, out))
		return false;
	size_t len = strlen(*out);
	if (len >= 1 && len <= max)
		return true;
	KEY_ERROR(c, key, n, len ? "the value is longer than %zu bytes" : "the value is empty; leave the key out instead",
		  max);
	return false;
}

void cfg_decode_check_http(struct cfg_ctx *c, const struct cnode *n, struct lb_check_http *h,
			   bool https) {
	enum { P_PATH, P_HOST, P_STATUS, P_EXPECT, P_VERIFY, P_CA, P_N };
	static const struct cfg_key keys[P_N] = {
		[P_PATH] = {"path", false, NULL},     [P_HOST] = {"host", false, NULL},
		[P_STATUS] = {"status", false, NULL}, [P_EXPECT] = {"expect", false, NULL},
		[P_VERIFY] = {"tls_verify", false, NULL}, [P_CA] = {"ca_file", false, NULL},
	};
	const struct cnode *v[P_N];
	size_t old = cfg_path_push(c, ".http");
	if (!cfg_map(c, n, keys, P_N, v))
		goto out;
	decode_path(c, v[P_PATH], h);
	decode_host(c, v[P_HOST], h);
	decode_status(c, v[P_STATUS], h);
	const char *s;
	if (decode_text(c, v[P_EXPECT], "expect", EXPECT_MAX, &s))
		set_str(c, &h->expect, s);
	for (int k = P_VERIFY; k <= P_CA && !https; k++)
		if (v[k])
			KEY_ERROR(c, keys[k].name, v[k], "only applies to type: https");
	if (!https)
		goto out;
	cfg_bool(c, v[P_VERIFY], "tls_verify", &h->tls_verify);
	if (cfg_str(c, v[P_CA], "ca_file", &s)) {
		if (s[0] != '/')
			KEY_ERROR(c, "ca_file", v[P_CA], "\"%s\" is not an absolute path", s);
		else
			set_str(c, &h->ca_file, s);
	}
out:
	cfg_path_pop(c, old);
}

/* --- exec --- */

static void decode_argv(struct cfg_ctx *c, const struct cnode *n, struct lb_check_exec *e) {
	size_t old = cfg_path_push(c, ".command");
	if (!cfg_expect(c, n, CN_SEQ, "; write the program and its arguments as a list, e.g. "
				      "[\"/usr/local/bin/check\", \"--quick\"]"))
		goto out;
	if (n->n == 0 || n->n > ARGV_MAX) {
		cfg_error(c, n, n->n ? "more than %d arguments" : "is empty; give at least the program",
			  ARGV_MAX);
		goto out;
	}
	if (!(e->argv = calloc(n->n + 1, sizeof(*e->argv)))) {
		c->oom = true;
		goto out;
	}
	size_t i = 0;
	for (const struct cnode *a = n->child; a; a = a->next, i++) {
		const char *s;
		size_t at = cfg_path_push_index(c, i);
		if (cfg_expect(c, a, CN_SCALAR, NULL) && !cfg_is_null(a)) {
			s = a->str;
			if (i == 0 && s[0] != '/')
				cfg_error(c, a, "\"%s\" is not an absolute path; the command runs without a "
						"shell and without a PATH search", s);
			else if (!(e->argv[e->argc++] = strdup(s)))
				c->oom = true;
		} else if (cfg_is_null(a)) {
			cfg_error(c, a, "missing value");
		}
		cfg_path_pop(c, at);
	}
out:
	cfg_path_pop(c, old);
}

void cfg_decode_check_exec(struct cfg_ctx *c, const struct cnode *n, struct lb_check_exec *e) {
	static const struct cfg_key keys[] = {
		{"command", true, "; the program to run and its arguments, e.g. [\"/usr/local/bin/check\"]"}};
	const struct cnode *v[ARRAY_SIZE(keys)];
	size_t old = cfg_path_push(c, ".exec");
	if (cfg_map(c, n, keys, ARRAY_SIZE(keys), v) && v[0])
		decode_argv(c, v[0], e);
	cfg_path_pop(c, old);
}

/* --- dns --- */

void cfg_decode_check_dns(struct cfg_ctx *c, const struct cnode *n, struct lb_check_dns *d) {
	static const struct cfg_key keys[] = {{"name", false, NULL}, {"qtype", false, NULL}};
	static const char *const qtypes[] = {"A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME"};
	const struct cnode *v[ARRAY_SIZE(keys)];
	size_t old = cfg_path_push(c, ".dns");
	if (!cfg_map(c, n, keys, ARRAY_SIZE(keys), v))
		goto out;
	const char *s;
	char buf[CFG_QUOTE_MAX];
	if (cfg_str(c, v[0], "name", &s)) {
		if (lb_dns_name_check(s) == 0)
			set_str(c, &d->name, s);
		else
			KEY_ERROR(c, "name", v[0], "%s is not a DNS name (labels of 1 to 63 bytes, at "
						   "most 255 bytes on the wire)", cfg_quote(s, buf, sizeof(buf)));
	}
	unsigned i;
	if (cfg_enum(c, v[1], "qtype", "query type", qtypes, ARRAY_SIZE(qtypes), &i))
		(void)lb_dns_qtype_parse(qtypes[i], &d->qtype); /* names from its own table */
out:
	cfg_path_pop(c, old);
}

/* --- udp --- */

/* Two hex digits as a byte, or -1. */
static int hex_byte(const char *p) {
	int hi = lb_hex_digit(p[0]), lo = hi < 0 ? -1 : lb_hex_digit(p[1]);
	return lo < 0 ? -1 : hi * 16 + lo;
}

/* text (raw) or hex ("0a0b...") into an owned byte buffer. */
static bool decode_bytes(struct cfg_ctx *c, const struct cnode *n, const char *key, bool hex,
			 uint8_t **out, size_t *out_len) {
	const char *s;
	if (!cfg_str(c, n, key, &s))
		return false;
	size_t len = strlen(s), n_bytes = hex ? len / 2 : len;
	bool ok = len > 0 && n_bytes <= PAYLOAD_MAX && (!hex || len % 2 == 0);
	uint8_t *b = ok ? malloc(n_bytes) : NULL;
	for (size_t i = 0; b && ok && i < n_bytes; i++) {
		int v = hex ? hex_byte(s + 2 * i) : (uint8_t)s[i];
		ok = v >= 0;
		b[i] = (uint8_t)v;
	}
	if (!ok || !b) {
		free(b);
		if (ok)
			c->oom = true;
		else
			KEY_ERROR(c, key, n, hex ? "the value is not pairs of hex digits (1 to %d bytes)"
						 : "the value must be 1 to %d bytes", PAYLOAD_MAX);
		return false;
	}
	free(*out);
	*out = b;
	*out_len = n_bytes;
	return true;
}

/* key and key_hex say the same thing two ways: one of them at most. */
static const struct cnode *one_of(struct cfg_ctx *c, const struct cnode *text, const struct cnode *hex,
				  const char *key, bool *is_hex) {
	if (text && hex)
		KEY_ERROR(c, key, hex, "give %s or %s_hex, not both", key, key);
	*is_hex = !text && hex;
	return text ? text : hex;
}

void cfg_decode_check_udp(struct cfg_ctx *c, const struct cnode *n, struct lb_check_udp *u) {
	static const struct cfg_key keys[] = {{"send", false, NULL}, {"send_hex", false, NULL},
					      {"expect", false, NULL}, {"expect_hex", false, NULL}};
	const struct cnode *v[ARRAY_SIZE(keys)];
	size_t old = cfg_path_push(c, ".udp");
	if (!cfg_map(c, n, keys, ARRAY_SIZE(keys), v))
		goto out;
	bool hex;
	const struct cnode *send = one_of(c, v[0], v[1], "send", &hex);
	if (send)
		decode_bytes(c, send, hex ? "send_hex" : "send", hex, &u->send, &u->send_len);
	const struct cnode *expect = one_of(c, v[2], v[3], "expect", &hex);
	if (expect)
		u->has_expect = decode_bytes(c, expect, hex ? "expect_hex" : "expect", hex, &u->expect,
					     &u->expect_len);
out:
	cfg_path_pop(c, old);
}

/* --- defaults --- */

void cfg_check_defaults(struct cfg_ctx *c, struct lb_check_conf *chk, enum lb_check_type t) {
	if (t == LB_CHECK_HTTP || t == LB_CHECK_HTTPS) {
		if (!chk->http.path)
			set_str(c, &chk->http.path, "/");
		if (!chk->http.n_status)
			chk->http.status[chk->http.n_status++] = (struct lb_status_range){200, 299};
	}
	if (t == LB_CHECK_DNS) {
		if (!chk->dns.name)
			set_str(c, &chk->dns.name, ".");
		if (!chk->dns.qtype)
			chk->dns.qtype = LB_DNS_TYPE_SOA;
	}
}
