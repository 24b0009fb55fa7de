/* keepalived's string rules (lib/parser.c of keepalived 2.2), reimplemented from their
 * documented and observed behaviour: comments, the two word splitters, the cut of a line at
 * braces, hex strings, timers, numbers and booleans. Pure functions of their input. */
#include <errno.h>
#include <string.h>

#include "kv.h"
#include "util.h"

#define BLANKS " \t"
#define WHITE " \t\f\n\r\v" /* keepalived's WHITE_SPACE */

bool kv_decomment(char *s) {
	size_t lead = strspn(s, BLANKS);
	memmove(s, s + lead, strlen(s + lead) + 1);
	bool quote = false, cont = false;
	char *comment = NULL;
	for (char *p = s; (p = strpbrk(p, "!#\"\\"));) {
		if (*p == '"') {
			if (!comment)
				quote = !quote;
			p++;
		} else if (*p == '\\') {
			if (!p[1]) {
				/* a trailing backslash continues a $NAME definition: put back below */
				*p = '\0';
				cont = true;
				break;
			}
			if (!quote && (p[1] == '#' || p[1] == '!')) {
				memmove(p, p + 1, strlen(p + 1) + 1);
				p++;
			} else {
				p += 2;
			}
		} else {
			if (!quote && !comment)
				comment = p;
			p++;
		}
	}
	if (comment)
		*comment = '\0';
	size_t len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	if (cont) {
		s[len] = '\\';
		s[len + 1] = '\0';
	}
	return !quote;
}

/* Room for every word a string of this length can hold. */
static const char **word_array(struct kv_arena *a, const char *s) {
	return kv_alloc(a, (strlen(s) / 2 + 2) * sizeof(char *));
}

int kv_words(struct kv_arena *a, const char *s, const char ***w, size_t *n) {
	const char **out = word_array(a, s);
	if (!out)
		return -ENOMEM;
	size_t count = 0;
	for (const char *p = s;;) {
		p += strspn(p, WHITE);
		if (!*p)
			break;
		const char *start = p;
		size_t len;
		if (*p == '"') {
			start++;
			const char *end = strchr(start, '"');
			if (!end)
				return -EINVAL;
			len = (size_t)(end - start);
			p = end + 1;
		} else {
			len = strcspn(start, WHITE "\"");
			p = start + len;
		}
		if (!(out[count++] = kv_strndup(a, start, len)))
			return -ENOMEM;
	}
	*w = out;
	*n = count;
	return 0;
}

/* One backslash escape at p (just after the backslash): the byte it stands for; *p advanced. */
static char escape(const char **pp) {
	const char *p = *pp;
	unsigned v = 0;
	char out;
	if (*p == 'x' && lb_hex_digit(p[1]) >= 0) {
		for (p++; lb_hex_digit(*p) >= 0; p++)
			v = (v << 4) | (unsigned)lb_hex_digit(*p); /* keepalived keeps the last byte */
		out = (char)v;
	} else if (*p == 'c' && p[1]) {
		out = (char)(p[1] & 0x1f);
		p += 2;
	} else if (*p >= '0' && *p <= '7') {
		for (int i = 0; i < 3 && *p >= '0' && *p <= '7'; i++, p++)
			v = (v << 3) | (unsigned)(*p - '0');
		out = (char)v;
	} else {
		static const char from[] = "abEfnrtv", to[] = "\a\b\x1b\f\n\r\t\v";
		const char *f = strchr(from, *p);
		out = f && *p ? to[f - from] : *p;
		p++;
	}
	*pp = p;
	return out;
}

/* One word of kv_words_qe starting at *pp into buf; returns its length or -EINVAL. */
static long word_qe(const char **pp, char *buf) {
	const char *p = *pp;
	char quote = 0;
	size_t len = 0;
	while (*p) {
		const char *stop = quote == '"' ? "\"\\" : quote == '\'' ? "'\\" : WHITE "'\"\\";
		size_t run = strcspn(p, stop);
		memcpy(buf + len, p, run);
		len += run;
		p += run;
		if (!*p) {
			if (quote)
				return -EINVAL;
			break;
		}
		if (*p == '\\') {
			if (!*++p)
				return -EINVAL;
			buf[len++] = escape(&p);
		} else if (quote) {
			quote = 0; /* the closing quote */
			p++;
		} else if (*p == '"' || *p == '\'') {
			quote = *p++;
		} else {
			break; /* white space ends the word */
		}
	}
	*pp = p;
	return (long)len;
}

int kv_words_qe(struct kv_arena *a, const char *s, const char ***w, size_t *n) {
	const char **out = word_array(a, s);
	char *buf = kv_alloc(a, strlen(s) + 1);
	if (!out || !buf)
		return -ENOMEM;
	size_t count = 0;
	for (const char *p = s;;) {
		p += strspn(p, WHITE);
		if (!*p)
			break;
		long len = word_qe(&p, buf);
		if (len < 0)
			return -EINVAL;
		/* keepalived copies the word as a C string: it ends at an escaped NUL */
		if (!(out[count++] = kv_strndup(a, buf, strnlen(buf, (size_t)len))))
			return -ENOMEM;
	}
	*w = out;
	*n = count;
	return 0;
}

size_t kv_cut_piece(const char *s, const char **rest) {
	const char *p = s;
	if (*p != '{' && *p != '}') {
		/* the first brace outside "..."; an unmatched quote hides the rest of the line */
		while ((p = strpbrk(p, "{}\"")) && *p == '"') {
			if (!(p = strchr(p + 1, '"')))
				break;
			p++;
		}
	}
	size_t len;
	if (!p || (*p != '{' && *p != '}')) {
		len = strlen(s);
		*rest = s + len;
	} else if (p == s) {
		len = 1;
		*rest = s + 1 + strspn(s + 1, BLANKS);
	} else {
		len = (size_t)(p - s);
		*rest = p;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

size_t kv_hex(const char *s, uint8_t *out, size_t cap, bool *wild) {
	size_t len = 0;
	const char *p = s;
	for (;;) {
		p += strspn(p, BLANKS);
		if (!*p)
			break;
		uint8_t byte = 0;
		/* one digit, or two when a second follows without a space (keepalived checks only
		 * for ' ' there) */
		for (int i = 0; i < 2 && (i == 0 || (*p && *p != ' ')); i++, p++) {
			int d = lb_hex_digit(*p);
			if (d < 0 && wild && (*p == 'x' || *p == 'X')) {
				*wild = true;
				d = 0;
			}
			if (d < 0)
				return 0;
			byte = (uint8_t)(byte << 4 | d);
		}
		if (len == cap)
			return 0;
		out[len++] = byte;
	}
	return len;
}

int kv_timer(const char *s, uint64_t *us) {
	size_t whole = strspn(s, "0123456789");
	const char *frac = s + whole;
	size_t nfrac = 0;
	if (*frac == '.') {
		frac++;
		nfrac = strspn(frac, "0123456789");
		if (frac[nfrac] || nfrac > 6)
			return -EINVAL;
	} else if (*frac) {
		return -EINVAL;
	}
	if (whole == 0 && nfrac == 0)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < whole; i++) {
		if (v > (UINT64_MAX / 10 - 9) / 1000000)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	v *= 1000000;
	uint64_t scale = 100000;
	for (size_t i = 0; i < nfrac; i++, scale /= 10)
		v += (uint64_t)(frac[i] - '0') * scale;
	*us = v;
	return 0;
}

int kv_uint(const char *s, uint64_t max, uint64_t *out) {
	size_t len = strlen(s);
	if (!len || strspn(s, "0123456789") != len)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int kv_bool(const char *s) {
	if (!strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "yes"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "no"))
		return 0;
	return -1;
}
