/* The checker blocks of a real server: TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, DNS_CHECK and
 * UDP_CHECK are read with their options (and keepalived's per-kind defaults); SMTP_CHECK,
 * PING_CHECK, FILE_CHECK and BFD_CHECK have no ezlb kind and are warned about. */
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "util.h"

static const struct {
	const char *name;
	int kind; /* enum kv_ck_kind, -1: no ezlb equivalent */
} checkers[] = {
	{"TCP_CHECK", KV_CK_TCP},  {"HTTP_GET", KV_CK_HTTP},  {"SSL_GET", KV_CK_SSL},
	{"MISC_CHECK", KV_CK_MISC}, {"DNS_CHECK", KV_CK_DNS}, {"UDP_CHECK", KV_CK_UDP},
	{"SMTP_CHECK", -1},        {"PING_CHECK", -1},        {"FILE_CHECK", -1},
	{"BFD_CHECK", -1},
};

static int kind_of(const char *k) {
	for (size_t i = 0; i < ARRAY_SIZE(checkers); i++)
		if (!strcmp(k, checkers[i].name))
			return (int)i;
	return -1;
}

bool kv_is_checker(const char *keyword) {
	return kind_of(keyword) >= 0;
}

/* ---- HTTP_GET, SSL_GET: url { path status_code digest virtualhost regex } ---- */

static void status_codes(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	for (size_t i = 1; i < n->n; i++) {
		uint64_t lo, hi;
		const char *w = n->w[i], *dash = strchr(w, '-');
		char first[8];
		size_t len = dash ? (size_t)(dash - w) : strlen(w);
		bool ok = len < sizeof(first);
		if (ok) {
			memcpy(first, w, len);
			first[len] = '\0';
			ok = kv_uint(first, KV_HTTP_MAX, &lo) == 0 &&
			     kv_uint(dash ? dash + 1 : first, KV_HTTP_MAX, &hi) == 0 && lo >= KV_HTTP_MIN &&
			     lo <= hi;
		}
		if (!ok) {
			kv_warn(c, n->at, "status_code %s: not a code or range of 100..599; ignored, as "
					  "keepalived does", w);
			continue;
		}
		for (uint64_t code = lo; code <= hi; code++)
			ck->status[(code - KV_HTTP_MIN) / 8] |= (uint8_t)(1u << ((code - KV_HTTP_MIN) % 8));
	}
}

/* keepalived's regex is PCRE; a pattern without any special character is a plain substring,
 * which is what ezlb's http.expect looks for. */
static void regex(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char **w;
	size_t nw;
	if (kv_words_qe(&c->arena, n->raw, &w, &nw) < 0 || nw != 2) {
		kv_warn(c, n->at, "regex: keepalived wants exactly one pattern; ignored");
		return;
	}
	if (!w[1][0] || strpbrk(w[1], ".^$*+?()[]{}|\\"))
		kv_not_imported(c, n, "ezlb's http.expect is a plain substring, and this pattern uses "
				      "regular expression syntax");
	else
		ck->expect = w[1];
}

static void url_keyword(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char *k = n->w[0];
	if (!strcmp(k, "path")) {
		if (kv_args(c, n, 1, 1))
			ck->path = n->w[1];
	} else if (!strcmp(k, "status_code")) {
		status_codes(c, ck, n);
	} else if (!strcmp(k, "virtualhost")) {
		if (kv_args(c, n, 1, 1))
			ck->url_vhost = n->w[1];
	} else if (!strcmp(k, "digest")) {
		kv_not_imported(c, n, "ezlb compares no MD5 of the body; http.expect (a substring the "
				      "body must contain) is the nearest");
	} else if (!strcmp(k, "regex")) {
		regex(c, ck, n);
	} else if (!strncmp(k, "regex_", 6)) {
		kv_not_imported(c, n, "ezlb has no regular expressions, only http.expect");
	} else {
		kv_warn(c, n->at, "%s: unknown keyword in url; ignored, as keepalived does", k);
	}
}

static void url(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	if (ck->has_url) {
		kv_warn(c, n->at, "url not imported: ezlb checks one path per service (the first url "
				  "is used)");
		return;
	}
	for (const struct kv_node *k = n->child; k; k = k->next)
		url_keyword(c, ck, k);
	if (!ck->path) {
		kv_warn(c, n->at, "url without path; ignored, as keepalived does");
		memset(ck->status, 0, sizeof(ck->status));
		ck->url_vhost = ck->expect = NULL;
		return;
	}
	ck->has_url = true;
}

static bool http_keyword(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char *k = n->w[0];
	if (!strcmp(k, "url"))
		url(c, ck, n);
	else if (!strcmp(k, "virtualhost")) {
		if (kv_args(c, n, 1, 1))
			ck->o.vhost = n->w[1];
	} else if (!strcmp(k, "nb_get_retry")) {
		uint64_t v;
		if (kv_args(c, n, 1, 1) && kv_uint(n->w[1], UINT32_MAX, &v) == 0)
			ck->o.retry = v;
	} else if (!strcmp(k, "enable_sni")) {
		ck->sni = n->n < 2 || kv_bool(n->w[1]) == 1;
	} else if (!strcmp(k, "http_protocol")) {
		kv_not_imported(c, n, "ezlb always sends HTTP/1.1 requests with Connection: close");
	} else if (!strcmp(k, "fast_recovery")) {
		kv_not_imported(c, n, "ezlb checks one url, so a recovered backend is up after one "
				      "success anyway");
	} else {
		return false;
	}
	return true;
}

/* ---- MISC_CHECK ---- */

/* keepalived re-reads the line with quotes and escapes and takes its second word as the
 * command line, which it splits again: misc_path "/bin/check a b". */
static void misc_path(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char **w, **argv;
	size_t nw, argc;
	if (kv_words_qe(&c->arena, n->raw, &w, &nw) < 0 || nw < 2 ||
	    kv_words_qe(&c->arena, w[1], &argv, &argc) < 0 || argc == 0) {
		kv_warn(c, n->at, "misc_path: cannot read the command (quotes or escapes); ignored");
		return;
	}
	if (nw > 2)
		kv_warn(c, n->at, "misc_path: \"%s\" and what follows ignored, as keepalived does (quote "
				  "the whole command line to pass arguments)", w[2]);
	ck->argv = argv;
	ck->argc = argc;
}

static bool misc_keyword(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char *k = n->w[0];
	uint64_t v;
	if (!strcmp(k, "misc_path"))
		misc_path(c, ck, n);
	else if (!strcmp(k, "misc_timeout")) {
		if (kv_args(c, n, 1, 1) && kv_uint(n->w[1], UINT32_MAX / 1000000, &v) == 0)
			ck->misc_timeout_us = v ? v * 1000000 : KV_UNSET;
		else if (n->n > 1)
			kv_warn(c, n->at, "misc_timeout %s: not a number of seconds; ignored", n->w[1]);
	} else if (!strcmp(k, "misc_dynamic")) {
		kv_not_imported(c, n, "ezlb takes a backend's weight from the config only (exit status "
				      "0 is up, anything else down)");
	} else if (!strcmp(k, "user")) {
		kv_not_imported(c, n, "ezlb runs exec checks as its own user, in its service's sandbox");
	} else {
		return false;
	}
	return true;
}

/* ---- DNS_CHECK, UDP_CHECK ---- */

static bool dns_keyword(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	static const char *const types[] = {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"};
	const char *k = n->w[0];
	if (!strcmp(k, "type")) {
		if (!kv_args(c, n, 1, 1))
			return true;
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (!strcasecmp(n->w[1], types[i]))
				ck->dns_type = types[i];
		if (!ck->dns_type || strcasecmp(ck->dns_type, n->w[1]))
			kv_warn(c, n->at, "type %s: unknown DNS type; ignored, as keepalived does", n->w[1]);
	} else if (!strcmp(k, "name")) {
		const char *s = n->n > 1 ? n->w[1] : "";
		if (!kv_args(c, n, 1, 1))
			return true;
		if (ck->dns_name)
			kv_warn(c, n->at, "name: given twice; the first stays, as keepalived does");
		else if ((s[0] == '.' && s[1]) || strstr(s, ".."))
			kv_warn(c, n->at, "name %s: empty label; ignored, as keepalived does", s);
		else
			ck->dns_name = s;
	} else {
		return false;
	}
	return true;
}

/* The words after the keyword as keepalived joins them for its hex reader. */
static size_t hex_arg(struct kv_ctx *c, const struct kv_node *n, uint8_t **out, bool *wild) {
	size_t len = strlen(n->raw) - strlen(n->w[0]);
	uint8_t *b = kv_alloc(&c->arena, len / 2 + 2);
	char *joined = kv_alloc(&c->arena, len + 1);
	if (!b || !joined) {
		c->oom = true;
		return 0;
	}
	for (size_t i = 1; i < n->n; i++) {
		strcat(joined, n->w[i]);
		if (i + 1 < n->n)
			strcat(joined, " ");
	}
	*out = b;
	return kv_hex(joined, b, len / 2 + 2, wild);
}

static bool udp_keyword(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char *k = n->w[0];
	bool wild = false;
	if (!strcmp(k, "payload")) {
		if (kv_args(c, n, 1, SIZE_MAX) && !(ck->send_len = hex_arg(c, n, &ck->send, NULL)))
			kv_warn(c, n->at, "payload: not a hex string; ignored, as keepalived does");
	} else if (!strcmp(k, "require_reply")) {
		if (n->n < 2)
			kv_not_imported(c, n, "ezlb's udp check cannot require just any reply: give the "
					      "bytes it starts with (udp.expect_hex)");
		else if (!(ck->reply_len = hex_arg(c, n, &ck->reply, &wild)))
			kv_warn(c, n->at, "require_reply: not a hex string; ignored, as keepalived does");
		else if (wild) {
			ck->reply_len = 0;
			kv_not_imported(c, n, "ezlb's udp.expect_hex has no wildcard nibbles (x)");
		}
	} else if (!strcmp(k, "min_reply_length") || !strcmp(k, "max_reply_length")) {
		kv_not_imported(c, n, "ezlb's udp check compares the reply's first bytes only");
	} else {
		return false;
	}
	return true;
}

/* ---- the block ---- */

static void checker_keyword(struct kv_ctx *c, struct kv_checker *ck, const struct kv_node *n) {
	const char *k = n->w[0];
	bool misc = ck->kind == KV_CK_MISC;
	if (kv_common_opt(c, n, &ck->o, misc ? KV_AT_MISC : KV_AT_CHECKER))
		return;
	if (!misc && !strcmp(k, "connect_port")) {
		uint64_t v;
		if (kv_args(c, n, 1, 1) && kv_uint(n->w[1], 65535, &v) == 0 && v)
			ck->port = (uint16_t)v;
		else if (n->n > 1)
			kv_warn(c, n->at, "connect_port %s: not a port; ignored, as keepalived does", n->w[1]);
		return;
	}
	if (!misc && (!strcmp(k, "connect_ip") || !strcmp(k, "bindto") || !strcmp(k, "bind_port") ||
		      !strcmp(k, "bind_if") || !strcmp(k, "fwmark"))) {
		kv_not_imported(c, n, "ezlb probes each backend's own address from the host's default "
				      "source (only the port can change: health_check.port)");
		return;
	}
	bool done = false;
	if (ck->kind == KV_CK_HTTP || ck->kind == KV_CK_SSL)
		done = http_keyword(c, ck, n);
	else if (misc)
		done = misc_keyword(c, ck, n);
	else if (ck->kind == KV_CK_DNS)
		done = dns_keyword(c, ck, n);
	else if (ck->kind == KV_CK_UDP)
		done = udp_keyword(c, ck, n);
	if (!done)
		kv_warn(c, n->at, "%s: unknown keyword in %s; ignored, as keepalived does", k,
			checkers[ck->kind].name); /* the first entries are in enum kv_ck_kind order */
}

/* keepalived drops an HTTP checker without a usable url and a MISC one without a command. */
static bool complete(struct kv_ctx *c, const struct kv_checker *ck, const struct kv_node *n) {
	if ((ck->kind == KV_CK_HTTP || ck->kind == KV_CK_SSL) && !ck->has_url)
		kv_warn(c, n->at, "%s has no url with a path; ignored, as keepalived does", n->w[0]);
	else if (ck->kind == KV_CK_MISC && !ck->argc)
		kv_warn(c, n->at, "MISC_CHECK has no misc_path; ignored, as keepalived does");
	else
		return true;
	return false;
}

void kv_checker(struct kv_ctx *c, struct kv_rs *rs, const struct kv_node *n) {
	int i = kind_of(n->w[0]);
	if (n->n > 1)
		kv_warn(c, n->at, "%s: \"%s\" and what follows ignored, as keepalived does", n->w[0], n->w[1]);
	if (checkers[i].kind < 0) {
		kv_not_imported(c, n, "ezlb has no such check (its kinds: tcp, udp, http, https, exec, "
				      "dns); the real server counts as unchecked");
		rs->n_other++;
		return;
	}
	struct kv_checker *ck = kv_alloc(&c->arena, sizeof(*ck));
	if (!ck) {
		c->oom = true;
		return;
	}
	*ck = (struct kv_checker){
		.kind = (enum kv_ck_kind)checkers[i].kind, .at = n->at,
		.o = {.alpha = -1, .inhibit = -1, .retry = KV_UNSET, .connect_us = KV_UNSET,
		      .delay_us = KV_UNSET, .dbr_us = KV_UNSET},
		.default_retry = 1, .default_dbr_us = 1000000, .misc_timeout_us = KV_UNSET,
	};
	if (ck->kind == KV_CK_HTTP || ck->kind == KV_CK_SSL)
		ck->default_dbr_us = 3000000;
	else if (ck->kind == KV_CK_MISC)
		ck->default_retry = 0;
	else if (ck->kind == KV_CK_DNS) {
		ck->default_retry = 3;
		ck->default_dbr_us = 0;
	}
	for (const struct kv_node *k = n->child; k; k = k->next)
		checker_keyword(c, ck, k);
	if (!complete(c, ck, n))
		return;
	*rs->checkers_tail = ck;
	rs->checkers_tail = &ck->next;
	rs->n_checkers++;
}
