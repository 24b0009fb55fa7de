/* keepalived's checkers (per real server, any number) -> ezlb's one health_check per service.
 *
 * The service's check is the first checker of its first real server that has one, with the
 * settings that checker ends up with in keepalived (its own, else its real server's, else the
 * virtual server's, else keepalived's default for the kind). Every other real server whose
 * check would differ, every further checker, is warned about. Timing:
 *   delay_loop         -> interval
 *   connect_timeout    -> timeout (misc_timeout for MISC_CHECK)
 *   retry N            -> fail_count N+1 (keepalived retries N times before it calls a server
 *                         down)
 *   delay_before_retry -> fast_interval (the pace while a server is between states)
 *   a first success brings a server up in keepalived -> rise_count 1
 *   alpha -> initial: down; inhibit_on_failure -> on_failure: quiesce
 * ezlb needs timeout < interval and fast_interval <= interval; values that are not are brought
 * within (timeout: interval - 1s, or half of an interval of 1s or less), with a warning. */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../health/dns_msg.h"
#include "kv.h"

#define MS_MAX 4294800000ull /* 1193h: ezlb's longest duration */
#define COUNT_MAX 1000       /* fail_count */
#define TEXT_MAX 1024        /* http.path and http.expect */
#define PAYLOAD_MAX 1400     /* udp.send and udp.expect */
#define ARGV_MAX 64          /* exec.command */

/* Where warnings about the chosen check go; NULL for the real servers only compared with it. */
struct report {
	struct kv_ctx *c;
	struct kv_loc at;
};

static void say(const struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct report *r, const char *fmt, ...) {
	if (!r)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	kv_warn(r->c, r->at, "%s", text);
}

static uint32_t to_ms(uint64_t us) {
	uint64_t ms = (us + 999) / 1000;
	return (uint32_t)(ms < 1 ? 1 : ms > MS_MAX ? MS_MAX : ms);
}

static const char *fmt_ms(uint32_t ms, char *buf) {
	snprintf(buf, 24, ms % 1000 ? "%ums" : "%us", ms % 1000 ? ms : ms / 1000);
	return buf;
}

/* ---- timing ---- */

static void timing(const struct kv_vs *vs, const struct kv_rs *rs, const struct kv_checker *ck,
		   struct ez_check *e, const struct report *r) {
	uint64_t delay = ck->o.delay_us != KV_UNSET ? ck->o.delay_us : rs->o.delay_us;
	uint64_t retry = ck->o.retry != KV_UNSET ? ck->o.retry
			 : rs->o.retry != KV_UNSET ? rs->o.retry : ck->default_retry;
	uint64_t dbr = ck->o.dbr_us != KV_UNSET ? ck->o.dbr_us
		       : rs->o.dbr_us != KV_UNSET ? rs->o.dbr_us
		       : ck->default_dbr_us ? ck->default_dbr_us : delay;
	bool misc = ck->kind == KV_CK_MISC, misc_default = misc && ck->misc_timeout_us == KV_UNSET;
	uint64_t timeout = !misc ? (ck->o.connect_us != KV_UNSET ? ck->o.connect_us : rs->o.connect_us)
			   : misc_default ? vs->o.delay_us : ck->misc_timeout_us;
	char a[24], b[24];
	e->interval_ms = to_ms(delay);
	if (e->interval_ms < 2) {
		say(r, "delay_loop %s: ezlb's interval must leave room for a timeout; imported as 2ms",
		    fmt_ms(e->interval_ms, a));
		e->interval_ms = 2; /* a timeout of 1ms fits below it */
	}
	e->timeout_ms = to_ms(timeout);
	if (e->timeout_ms >= e->interval_ms) {
		uint32_t t = e->interval_ms > 1000 ? e->interval_ms - 1000 : e->interval_ms / 2;
		t = t ? t : 1;
		if (!misc_default)
			say(r, "check timeout %s: ezlb needs it shorter than the interval; imported as %s",
			    fmt_ms(e->timeout_ms, a), fmt_ms(t, b));
		e->timeout_ms = t;
	}
	e->fail_count = (uint32_t)(retry + 1 > COUNT_MAX ? COUNT_MAX : retry + 1);
	if (retry + 1 > COUNT_MAX)
		say(r, "retry %ju: ezlb's fail_count stops at %d", (uintmax_t)retry, COUNT_MAX);
	e->fast_ms = 0;
	if (e->fail_count > 1) {
		e->fast_ms = to_ms(dbr);
		if (e->fast_ms > e->interval_ms) {
			say(r, "delay_before_retry %s: ezlb's fast_interval is at most the interval (%s)",
			    fmt_ms(e->fast_ms, a), fmt_ms(e->interval_ms, b));
			e->fast_ms = e->interval_ms;
		}
	}
	e->initial_down = (ck->o.alpha >= 0 ? ck->o.alpha : rs->o.alpha) == 1;
	e->quiesce = rs->o.inhibit == 1;
}

/* ---- the kinds ---- */

static bool visible(const char *s) {
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Valid UTF-8 (YAML's text): anything else could not be written as the same bytes. */
static bool utf8(const char *s) {
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2))
			return false;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static bool has_code(const struct kv_checker *ck, int code) {
	int bit = code - KV_HTTP_MIN;
	return ck->status[bit / 8] & (1u << (bit % 8));
}

/* The codes as ezlb's ranges ("200-299 404"); "" for keepalived's and ezlb's default 200-299. */
static void status(const struct kv_checker *ck, struct ez_check *e, const struct report *r) {
	size_t ranges = 0, len = 0;
	bool none = true;
	for (int code = KV_HTTP_MIN; code <= KV_HTTP_MAX; code++) {
		if (!has_code(ck, code))
			continue;
		none = false;
		int hi = code;
		while (hi < KV_HTTP_MAX && has_code(ck, hi + 1))
			hi++;
		if (ranges++ == EZ_HTTP_RANGES) {
			say(r, "status_code: more than %d ranges; ezlb takes the first %d", EZ_HTTP_RANGES,
			    EZ_HTTP_RANGES);
			break;
		}
		len += (size_t)snprintf(e->status + len, sizeof(e->status) - len, hi > code ? "%s%d-%d" : "%s%d",
					len ? " " : "", code, hi);
		code = hi;
	}
	if (none || !strcmp(e->status, "200-299"))
		e->status[0] = '\0';
}

static bool http(const struct kv_rs *rs, const struct kv_checker *ck, struct ez_check *e,
		 const struct report *r) {
	if (ck->path[0] != '/' || !visible(ck->path) || strlen(ck->path) > TEXT_MAX) {
		say(r, "url path %s not imported: ezlb's http.path starts with \"/\" and holds no spaces "
		       "or control characters", ck->path);
		return false;
	}
	e->path = ck->path;
	const char *host = ck->url_vhost ? ck->url_vhost : ck->o.vhost ? ck->o.vhost : rs->o.vhost;
	static const char host_chars[] = "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]";
	if (host && (strlen(host) > 255 || !host[0] || strspn(host, host_chars) != strlen(host)))
		say(r, "virtualhost %s not imported: not a host name or address", host);
	else
		e->host = host;
	if (ck->expect && (strlen(ck->expect) > TEXT_MAX || !utf8(ck->expect)))
		say(r, "regex not imported: longer than %d bytes or not UTF-8 text", TEXT_MAX);
	else
		e->expect = ck->expect;
	status(ck, e, r);
	bool name = e->host && strspn(e->host, "0123456789.:[]") != strlen(e->host);
	if (ck->kind == KV_CK_SSL && ck->sni && !name)
		say(r, "enable_sni: ezlb sends SNI only when http.host is a name");
	return true;
}

/* keepalived searches PATH for a bare program name (as execvp does); ezlb runs an absolute path
 * without a search, so the import searches this host's PATH. */
static const char *program(struct kv_ctx *c, const char *name, const struct report *r) {
	if (name[0] == '/')
		return name;
	const char *path = getenv("PATH");
	char buf[4096];
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if (!strchr(name, '/') && name[0]) {
		for (const char *p = path; *p;) {
			size_t len = strcspn(p, ":");
			struct stat st;
			if (len && snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, name) < (int)sizeof(buf) &&
			    buf[0] == '/' && stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) {
				say(r, "misc_path %s: found through PATH as %s (keepalived searches PATH; ezlb "
				       "does not)", name, buf);
				return kv_strndup(&c->arena, buf, strlen(buf));
			}
			p += len + (p[len] == ':');
		}
	}
	say(r, "misc_path %s not imported: ezlb needs an absolute path, and none was found in PATH",
	    name);
	return NULL;
}

static bool exec(struct kv_ctx *c, const struct kv_checker *ck, struct ez_check *e,
		 const struct report *r) {
	if (ck->argc > ARGV_MAX) {
		say(r, "misc_path not imported: more than %d arguments", ARGV_MAX);
		return false;
	}
	for (size_t i = 0; i < ck->argc; i++)
		if (!utf8(ck->argv[i])) {
			say(r, "misc_path not imported: an argument is not UTF-8 text");
			return false;
		}
	const char **argv = kv_alloc(&c->arena, ck->argc * sizeof(*argv));
	if (!argv || !(argv[0] = program(c, ck->argv[0], r)))
		return false;
	memcpy(argv + 1, ck->argv + 1, (ck->argc - 1) * sizeof(*argv));
	e->argv = argv;
	e->argc = ck->argc;
	return true;
}

static bool kind_settings(struct kv_ctx *c, const struct kv_rs *rs, const struct kv_checker *ck,
			  struct ez_check *e, const struct report *r) {
	switch (ck->kind) {
	case KV_CK_HTTP:
	case KV_CK_SSL:
		return http(rs, ck, e, r);
	case KV_CK_MISC:
		return exec(c, ck, e, r);
	case KV_CK_DNS:
		e->dns_type = ck->dns_type;
		if (ck->dns_name && (lb_dns_name_check(ck->dns_name) < 0 || !utf8(ck->dns_name)))
			say(r, "name %s not imported: not a DNS name ezlb can send", ck->dns_name);
		else
			e->dns_name = ck->dns_name;
		return true;
	case KV_CK_UDP:
		if (ck->send_len > PAYLOAD_MAX || ck->reply_len > PAYLOAD_MAX) {
			say(r, "UDP_CHECK not imported: payload or reply longer than %d bytes", PAYLOAD_MAX);
			return false;
		}
		e->send = ck->send;
		e->send_len = ck->send_len;
		e->reply = ck->reply;
		e->reply_len = ck->reply_len;
		return true;
	default:
		return true;
	}
}

/* The ezlb check one checker of one real server amounts to; false when it cannot be written. */
static bool spec(struct kv_ctx *c, const struct kv_vs *vs, const struct kv_rs *rs,
		 const struct kv_checker *ck, struct ez_check *e, const struct report *r) {
	*e = (struct ez_check){.enabled = true, .kind = ck->kind, .port = ck->port};
	timing(vs, rs, ck, e, r);
	return kind_settings(c, rs, ck, e, r);
}

/* ---- one check for the service ---- */

static bool str_eq(const char *a, const char *b) {
	return a == b || (a && b && !strcmp(a, b));
}

static bool same(const struct ez_check *a, const struct ez_check *b) {
	bool argv = a->argc == b->argc;
	for (size_t i = 0; argv && i < a->argc; i++)
		argv = str_eq(a->argv[i], b->argv[i]);
	return a->enabled == b->enabled && a->kind == b->kind && a->port == b->port &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
	       a->fast_ms == b->fast_ms && a->fail_count == b->fail_count &&
	       a->initial_down == b->initial_down && a->quiesce == b->quiesce &&
	       str_eq(a->path, b->path) && str_eq(a->host, b->host) && str_eq(a->expect, b->expect) &&
	       !strcmp(a->status, b->status) && argv && str_eq(a->dns_name, b->dns_name) &&
	       str_eq(a->dns_type, b->dns_type) && a->send_len == b->send_len &&
	       (!a->send_len || !memcmp(a->send, b->send, a->send_len)) && a->reply_len == b->reply_len &&
	       (!a->reply_len || !memcmp(a->reply, b->reply, a->reply_len));
}

static void extra_checkers(struct kv_ctx *c, const struct kv_rs *rs) {
	for (const struct kv_checker *ck = rs->checkers ? rs->checkers->next : NULL; ck; ck = ck->next)
		kv_warn(c, ck->at, "checker not imported: ezlb runs one check per backend (this real "
				   "server's first, line %u, is the one compared)", rs->checkers->at.line);
}

/* HTTP runs over TCP: a fwmark service becomes tcp for it, an address service must be. */
static bool fits_protocol(struct kv_ctx *c, struct ez_service *s, const struct kv_rs *rs) {
	if (s->check.kind != KV_CK_HTTP && s->check.kind != KV_CK_SSL)
		return true;
	if (s->is_fwmark)
		s->proto = IPPROTO_TCP;
	if (s->proto == IPPROTO_TCP)
		return true;
	kv_warn(c, rs->checkers->at, "%s not imported: ezlb runs http checks for tcp services only",
		s->check.kind == KV_CK_HTTP ? "HTTP_GET" : "SSL_GET");
	return false;
}

void kv_map_check(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s) {
	const struct kv_rs *first = NULL;
	for (const struct kv_rs *rs = vs->rs; rs && !first; rs = rs->next)
		if (!rs->dropped && rs->checkers)
			first = rs;
	s->check.enabled = false;
	if (first) {
		struct report r = {c, first->checkers->at};
		if (!spec(c, vs, first, first->checkers, &s->check, &r) || !fits_protocol(c, s, first)) {
			kv_warn(c, first->checkers->at, "health checks of this service not imported (see above): "
							"ezlb counts every backend as up");
			s->check.enabled = false;
		}
	}
	for (const struct kv_rs *rs = vs->rs; rs; rs = rs->next) {
		if (rs->dropped)
			continue;
		extra_checkers(c, rs);
		struct ez_check e = {0};
		bool alike = rs->checkers ? spec(c, vs, rs, rs->checkers, &e, NULL) && same(&e, &s->check)
					  : !s->check.enabled;
		if (rs == first || alike)
			continue;
		kv_warn(c, rs->at, rs->checkers ? "real_server's check differs from the one imported for "
						  "the service (line %u): ezlb checks every backend of a "
						  "service the same way"
					       : "real_server without checker (keepalived counts it as up): "
						 "ezlb checks it like the others (line %u)",
			first ? first->checkers->at.line : 0);
	}
}
