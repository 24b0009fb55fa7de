/* Typed scalar values with their error messages. The value's own text is quoted in every message,
 * so the user sees exactly what was read. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define Q(n, buf) cfg_quote((n)->str, buf, sizeof(buf))

/* A single non-null value. */
static bool want_scalar(struct cfg_ctx *c, const struct cnode *n) {
	if (!cfg_expect(c, n, CN_SCALAR, NULL))
		return false;
	if (cfg_is_null(n)) {
		cfg_error(c, n, "missing value");
		return false;
	}
	return true;
}

static bool get_str(struct cfg_ctx *c, const struct cnode *n, const char **out) {
	if (!want_scalar(c, n))
		return false;
	*out = n->str;
	return true;
}

static bool all_digits(const char *s) {
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool get_uint(struct cfg_ctx *c, const struct cnode *n, uint32_t min, uint32_t max,
		     uint32_t *out) {
	char buf[CFG_QUOTE_MAX];
	if (!want_scalar(c, n))
		return false;
	bool negative = n->str[0] == '-' && all_digits(n->str + 1);
	if (!all_digits(n->str) && !negative) {
		cfg_error(c, n, "%s is not an integer", Q(n, buf));
		return false;
	}
	if (n->quoted) {
		cfg_error(c, n, "%s is a quoted string, not a number; remove the quotes", Q(n, buf));
		return false;
	}
	/* all digits: summed directly. More than 10 cannot be in range, and 10 cannot overflow. */
	unsigned long long v = ~0ULL;
	if (!negative && n->n <= 10) {
		v = 0;
		for (const char *d = n->str; *d; d++)
			v = v * 10 + (unsigned)(*d - '0');
	}
	if (negative || v < min || v > max) {
		cfg_error(c, n, "%s is out of range %u..%u", Q(n, buf), min, max);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool get_bool(struct cfg_ctx *c, const struct cnode *n, bool *out) {
	static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
	char buf[CFG_QUOTE_MAX];
	if (!want_scalar(c, n))
		return false;
	for (size_t i = 0; i < 3 && !n->quoted; i++) {
		if (!strcmp(n->str, yes[i]) || !strcmp(n->str, no[i])) {
			*out = !strcmp(n->str, yes[i]);
			return true;
		}
	}
	if (n->quoted)
		cfg_error(c, n, "%s is a quoted string, not a boolean; write true or false without quotes",
			  Q(n, buf));
	else
		cfg_error(c, n, "%s is not a boolean; write true or false", Q(n, buf));
	return false;
}

static bool get_enum(struct cfg_ctx *c, const struct cnode *n, const char *what,
		     const char *const *names, size_t nnames, unsigned *out) {
	char buf[CFG_QUOTE_MAX], list[256];
	if (!want_scalar(c, n))
		return false;
	for (size_t i = 0; i < nnames; i++) {
		if (!strcmp(n->str, names[i])) {
			*out = (unsigned)i;
			return true;
		}
	}
	const char *s = cfg_suggest(n->str, names, nnames);
	if (s)
		cfg_error(c, n, "%s is not a valid %s (did you mean \"%s\"?)", Q(n, buf), what, s);
	else
		cfg_error(c, n, "%s is not a valid %s; expected %s", Q(n, buf), what,
			  cfg_join(names, nnames, " or ", list, sizeof(list)));
	return false;
}

/* A duration in min_ms..max_ms. The parser's own limit (ERANGE) and a tighter max_ms read alike:
 * the user learns the limit that applies to this key. */
static bool get_duration(struct cfg_ctx *c, const struct cnode *n, uint32_t min_ms, uint32_t max_ms,
			 uint32_t *out) {
	char buf[CFG_QUOTE_MAX], lim[32];
	if (!want_scalar(c, n))
		return false;
	if (all_digits(n->str) && strlen(n->str) <= 10) {
		cfg_error(c, n, "%s has no unit; write e.g. \"%ss\" (units: ms, s, m, h)", Q(n, buf), n->str);
		return false;
	}
	uint32_t ms = 0;
	int r = cfg_parse_duration(n->str, &ms);
	if (r == -EINVAL) {
		cfg_error(c, n, "%s is not a duration (e.g. 500ms, 5s, 1m, 1h)", Q(n, buf));
		return false;
	}
	if (r == -ERANGE || ms > max_ms) {
		/* UINT32_MAX ms is 1193h2m47s295ms; the largest whole-hour value is what users write */
		cfg_error(c, n, "%s is too long (at most %s)", Q(n, buf),
			  max_ms == UINT32_MAX ? "1193h" : cfg_fmt_duration(max_ms, lim, sizeof(lim)));
		return false;
	}
	if (ms < min_ms) {
		if (ms == 0)
			cfg_error(c, n, "%s must be greater than zero", Q(n, buf));
		else
			cfg_error(c, n, "%s is too short; the minimum is %s", Q(n, buf),
				  cfg_fmt_duration(min_ms, lim, sizeof(lim)));
		return false;
	}
	*out = ms;
	return true;
}

static bool get_endpoint(struct cfg_ctx *c, const struct cnode *n, struct lb_addr *out) {
	char buf[CFG_QUOTE_MAX];
	if (!want_scalar(c, n))
		return false;
	int r = lb_addr_parse(n->str, out);
	if (r == -ERANGE) {
		cfg_error(c, n, "port %s in %s is out of range 1..65535", strrchr(n->str, ':') + 1,
			  Q(n, buf));
	} else if (r < 0) {
		const char *colon = strchr(n->str, ':');
		bool bare_v6 = n->str[0] != '[' && colon && strchr(colon + 1, ':');
		cfg_error(c, n, "%s is not an IP:port%s", Q(n, buf),
			  bare_v6 ? " (write IPv6 endpoints as \"[2001:db8::1]:80\")" : "");
	}
	return r == 0;
}

/* The public wrappers name the key in the error path and treat an absent key as "keep default". */
#define WITH_KEY(c, n, key, call)                                                                   \
	({                                                                                          \
		bool _ok = false;                                                                   \
		if (n) {                                                                            \
			size_t _old = cfg_path_push_name(c, key);                                   \
			_ok = (call);                                                               \
			cfg_path_pop(c, _old);                                                      \
		}                                                                                   \
		_ok;                                                                                \
	})

bool cfg_str(struct cfg_ctx *c, const struct cnode *n, const char *key, const char **out) {
	return WITH_KEY(c, n, key, get_str(c, n, out));
}

bool cfg_uint(struct cfg_ctx *c, const struct cnode *n, const char *key, uint32_t min, uint32_t max,
	      uint32_t *out) {
	return WITH_KEY(c, n, key, get_uint(c, n, min, max, out));
}

bool cfg_bool(struct cfg_ctx *c, const struct cnode *n, const char *key, bool *out) {
	return WITH_KEY(c, n, key, get_bool(c, n, out));
}

bool cfg_enum(struct cfg_ctx *c, const struct cnode *n, const char *key, const char *what,
	      const char *const *names, size_t nnames, unsigned *out) {
	return WITH_KEY(c, n, key, get_enum(c, n, what, names, nnames, out));
}

bool cfg_enum_here(struct cfg_ctx *c, const struct cnode *n, const char *what,
		   const char *const *names, size_t nnames, unsigned *out) {
	return get_enum(c, n, what, names, nnames, out);
}

bool cfg_duration(struct cfg_ctx *c, const struct cnode *n, const char *key, uint32_t *out_ms) {
	return WITH_KEY(c, n, key, get_duration(c, n, 1, UINT32_MAX, out_ms));
}

bool cfg_duration_in(struct cfg_ctx *c, const struct cnode *n, const char *key, uint32_t min_ms,
		     uint32_t max_ms, uint32_t *out_ms) {
	return WITH_KEY(c, n, key, get_duration(c, n, min_ms, max_ms, out_ms));
}

bool cfg_endpoint(struct cfg_ctx *c, const struct cnode *n, const char *key, struct lb_addr *out) {
	return WITH_KEY(c, n, key, get_endpoint(c, n, out));
}
