/* JSON writer and strict reader (see json.h). */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The writer makes many small calls on one stream that no other thread uses: skip stdio's lock
 * (a third of the time of a large status). */
#define fputc fputc_unlocked
#define fputs fputs_unlocked
#define fwrite fwrite_unlocked

/* ---- UTF-8 ---- */

/* Overlong forms, surrogates (U+D800..DFFF) and code points above U+10FFFF are invalid (RFC
 * 3629's table). */
size_t lb_utf8_len(const unsigned char *p, size_t n) {
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static size_t utf8_put(uint32_t cp, char *out) {
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- numbers: RFC 8259's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? ---- */

static size_t digits(const char *s, size_t i, size_t n) {
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Length of the number at the start of s[0..n), or 0 when there is none. */
static size_t number_len(const char *s, size_t n) {
	size_t i = 0, j;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		i = digits(s, i, n);
	else
		return 0;
	if (i < n && s[i] == '.') {
		j = digits(s, i + 1, n);
		if (j == i + 1)
			return 0;
		i = j;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		j = digits(s, i, n);
		if (j == i)
			return 0;
		i = j;
	}
	return i;
}

/* ---- writer ---- */

void lb_jw_init(struct lb_jw *w, FILE *f, unsigned indent) {
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->indent = indent;
}

int lb_jw_finish(struct lb_jw *w) {
	if (w->err)
		return w->err;
	if (!w->done || w->depth)
		return -EINVAL;
	return ferror(w->f) ? -EIO : 0;
}

static void misuse(struct lb_jw *w) {
	if (!w->err)
		w->err = -EINVAL;
}

static void newline(struct lb_jw *w) {
	if (!w->indent)
		return;
	fputc('\n', w->f);
	for (unsigned i = 0; i < w->depth * w->indent; i++)
		fputc(' ', w->f);
}

/* The separator and indentation of the next item of the innermost container. */
static void next_item(struct lb_jw *w) {
	unsigned d = w->depth - 1;
	if (w->has_items[d])
		fputc(',', w->f);
	w->has_items[d] = true;
	newline(w);
}

/* Before a value: whether one may come here (else misuse is recorded). */
static bool value_begins(struct lb_jw *w) {
	if (w->err)
		return false;
	if (w->depth == 0) {
		if (w->done)
			misuse(w);
		return !w->done;
	}
	if (w->in_object[w->depth - 1]) {
		if (!w->key_pending) {
			misuse(w);
			return false;
		}
		w->key_pending = false;
		return true;
	}
	next_item(w);
	return true;
}

static void value_ends(struct lb_jw *w) {
	if (w->depth == 0)
		w->done = true;
}

static void open_container(struct lb_jw *w, bool object) {
	if (w->depth >= LB_JSON_MAX_DEPTH) {
		misuse(w);
		return;
	}
	if (!value_begins(w))
		return;
	fputc(object ? '{' : '[', w->f);
	w->in_object[w->depth] = object;
	w->has_items[w->depth] = false;
	w->depth++;
}

static void close_container(struct lb_jw *w, bool object) {
	if (w->err)
		return;
	if (w->depth == 0 || w->in_object[w->depth - 1] != object || w->key_pending) {
		misuse(w);
		return;
	}
	bool items = w->has_items[--w->depth];
	if (items)
		newline(w);
	fputc(object ? '}' : ']', w->f);
	value_ends(w);
}

void lb_jw_object(struct lb_jw *w) { open_container(w, true); }
void lb_jw_object_end(struct lb_jw *w) { close_container(w, true); }
void lb_jw_array(struct lb_jw *w) { open_container(w, false); }
void lb_jw_array_end(struct lb_jw *w) { close_container(w, false); }

static void put_string(FILE *f, const char *s, size_t n) {
	fputc('"', f);
	lb_json_escape(f, s, n);
	fputc('"', f);
}

static void key_n(struct lb_jw *w, const char *name, size_t n) {
	if (w->err)
		return;
	if (w->depth == 0 || !w->in_object[w->depth - 1] || w->key_pending) {
		misuse(w);
		return;
	}
	next_item(w);
	put_string(w->f, name, n);
	fputs(w->indent ? ": " : ":", w->f);
	w->key_pending = true;
}

void lb_jw_key(struct lb_jw *w, const char *name) { key_n(w, name, strlen(name)); }

void lb_jw_string_n(struct lb_jw *w, const char *s, size_t n) {
	if (!value_begins(w))
		return;
	put_string(w->f, s, n);
	value_ends(w);
}

void lb_jw_string(struct lb_jw *w, const char *s) {
	if (s)
		lb_jw_string_n(w, s, strlen(s));
	else
		lb_jw_null(w);
}

/* A value that is one piece of text (number or literal). */
static void raw(struct lb_jw *w, const char *text) {
	if (!value_begins(w))
		return;
	fputs(text, w->f);
	value_ends(w);
}

/* Decimal digits of v, right-aligned in buf[24]; returns the first. Faster than snprintf, which
 * counts in a status of 100k destinations. */
static char *u64_text(uint64_t v, char buf[24]) {
	char *p = buf + 23;
	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return p;
}

void lb_jw_int(struct lb_jw *w, int64_t v) {
	char buf[24];
	if (v >= 0) {
		raw(w, u64_text((uint64_t)v, buf));
		return;
	}
	char *p = u64_text(-(uint64_t)v, buf); /* well defined for INT64_MIN too */
	*--p = '-';
	raw(w, p);
}

void lb_jw_uint(struct lb_jw *w, uint64_t v) {
	char buf[24];
	raw(w, u64_text(v, buf));
}

void lb_jw_double(struct lb_jw *w, double v) {
	char buf[40];
	if (!isfinite(v)) {
		raw(w, "null");
		return;
	}
	/* %.17g always reads back the same, but prints 0.1 as 0.10000000000000001: use the shorter
	 * form when it is exact. Both are JSON numbers ("1e+20", "-0", never "inf" or "nan"). */
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	raw(w, buf);
}

void lb_jw_bool(struct lb_jw *w, bool v) { raw(w, v ? "true" : "false"); }
void lb_jw_null(struct lb_jw *w) { raw(w, "null"); }

void lb_jw_number_text(struct lb_jw *w, const char *text, size_t n) {
	if (n == 0 || number_len(text, n) != n) {
		misuse(w);
		return;
	}
	if (!value_begins(w))
		return;
	fwrite(text, 1, n, w->f);
	value_ends(w);
}

/* The escape of one ASCII byte, or NULL when it stands for itself. */
static const char *ascii_escape(unsigned char c, char buf[8]) {
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:
		if (c >= 0x20 && c != 0x7f)
			return NULL;
		snprintf(buf, 8, "\\u%04x", c);
		return buf;
	}
}

void lb_json_escape(FILE *f, const char *s, size_t n) {
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0; /* start of the bytes not yet written that stand for themselves */
	char buf[8];
	for (size_t i = 0; i < n;) {
		const char *esc = NULL;
		size_t len = 1;
		if (p[i] < 0x80)
			esc = ascii_escape(p[i], buf);
		else if ((len = lb_utf8_len(p + i, n - i)) == 0) {
			esc = "\xef\xbf\xbd"; /* U+FFFD for each byte that is not valid UTF-8 */
			len = 1;
		} else if (len == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8) {
			/* U+2028/2029 are valid JSON but end lines in JavaScript */
			esc = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
		}
		if (esc) {
			fwrite(p + run, 1, i - run, f);
			fputs(esc, f);
			run = i + len;
		}
		i += len;
	}
	fwrite(p + run, 1, n - run, f);
}

void lb_jw_value(struct lb_jw *w, const struct lb_json *v) {
	switch (v->type) {
	case LB_JSON_NULL: lb_jw_null(w); break;
	case LB_JSON_BOOL: lb_jw_bool(w, v->boolean); break;
	case LB_JSON_NUMBER: lb_jw_number_text(w, v->str, v->len); break;
	case LB_JSON_STRING: lb_jw_string_n(w, v->str, v->len); break;
	case LB_JSON_ARRAY:
		lb_jw_array(w);
		for (size_t i = 0; i < v->n; i++)
			lb_jw_value(w, &v->items[i]);
		lb_jw_array_end(w);
		break;
	case LB_JSON_OBJECT:
		lb_jw_object(w);
		for (size_t i = 0; i < v->n; i++) {
			key_n(w, v->members[i].name, v->members[i].name_len);
			lb_jw_value(w, &v->members[i].value);
		}
		lb_jw_object_end(w);
		break;
	}
}

/* ---- reader ---- */

struct parser {
	const char *s;   /* the input */
	size_t n, i;     /* its length, the position */
	unsigned max_depth;
	struct lb_json_error *err;
};

static int bad(struct parser *ps, size_t at, const char *why) {
	ps->err->offset = at;
	ps->err->why = why;
	return -EBADMSG;
}

static void skip_ws(struct parser *ps) {
	while (ps->i < ps->n && (ps->s[ps->i] == ' ' || ps->s[ps->i] == '\t' ||
				 ps->s[ps->i] == '\n' || ps->s[ps->i] == '\r'))
		ps->i++;
}

static void contents_free(struct lb_json *v) {
	for (size_t i = 0; v->items && i < v->n; i++)
		contents_free(&v->items[i]);
	for (size_t i = 0; v->members && i < v->n; i++) {
		free(v->members[i].name);
		contents_free(&v->members[i].value);
	}
	free(v->items);
	free(v->members);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

void lb_json_free(struct lb_json *v) {
	if (!v)
		return;
	contents_free(v);
	free(v);
}

static int hex4(const char *s, uint32_t *out) {
	uint32_t v = 0;
	for (int k = 0; k < 4; k++) {
		int d = lb_hex_digit(s[k]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* "\uXXXX" at ps->i (after the backslash's 'u'), with its low surrogate when it is a high one.
 * Writes the UTF-8 to out and returns its length, or a negative errno. */
static int unicode_escape(struct parser *ps, char *out) {
	size_t at = ps->i - 2;
	uint32_t cp, lo;
	if (ps->n - ps->i < 4 || hex4(ps->s + ps->i, &cp) < 0)
		return bad(ps, at, "bad \\u escape");
	ps->i += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return bad(ps, at, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->n - ps->i < 6 || ps->s[ps->i] != '\\' || ps->s[ps->i + 1] != 'u' ||
		    hex4(ps->s + ps->i + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return bad(ps, at, "lone high surrogate");
		ps->i += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return (int)utf8_put(cp, out);
}

/* One escape after a backslash (ps->i at the character after it). */
static int escape(struct parser *ps, char *out) {
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (ps->i >= ps->n)
		return bad(ps, ps->i, "unterminated string");
	char c = ps->s[ps->i++];
	if (c == 'u')
		return unicode_escape(ps, out);
	const char *p = c ? strchr(from, c) : NULL;
	if (!p)
		return bad(ps, ps->i - 2, "bad escape");
	out[0] = to[p - from];
	return 1;
}

/* A string at ps->i (its opening quote): the decoded bytes in *out (NUL-terminated), *len. */
static int parse_string(struct parser *ps, char **out, size_t *len) {
	size_t start = ps->i++, end = ps->i;
	/* The decoded text is never longer than the source: find its end first to size the buffer. */
	while (end < ps->n && ps->s[end] != '"')
		end += ps->s[end] == '\\' ? 2 : 1;
	if (end >= ps->n)
		return bad(ps, start, "unterminated string");
	char *buf = malloc(end - start + 1);
	if (!buf)
		return -ENOMEM;
	size_t k = 0;
	while (ps->s[ps->i] != '"') {
		const unsigned char c = (unsigned char)ps->s[ps->i];
		int r;
		if (c == '\\') {
			ps->i++;
			r = escape(ps, buf + k);
		} else if (c < 0x20) {
			r = bad(ps, ps->i, "control character in string");
		} else {
			r = (int)lb_utf8_len((const unsigned char *)ps->s + ps->i, ps->n - ps->i);
			if (r == 0)
				r = bad(ps, ps->i, "invalid UTF-8");
			else {
				memcpy(buf + k, ps->s + ps->i, (size_t)r);
				ps->i += (size_t)r;
			}
		}
		if (r < 0) {
			free(buf);
			return r;
		}
		k += (size_t)r;
	}
	ps->i++;
	buf[k] = 0;
	*out = buf;
	*len = k;
	return 0;
}

static int parse_number(struct parser *ps, struct lb_json *v) {
	size_t len = number_len(ps->s + ps->i, ps->n - ps->i);
	if (len == 0)
		return bad(ps, ps->i, "bad number");
	v->str = strndup(ps->s + ps->i, len);
	if (!v->str)
		return -ENOMEM;
	v->type = LB_JSON_NUMBER;
	v->len = len;
	ps->i += len;
	return 0;
}

static int parse_literal(struct parser *ps, struct lb_json *v) {
	static const struct {
		const char *text;
		enum lb_json_type type;
		bool b;
	} lits[] = {{"true", LB_JSON_BOOL, true}, {"false", LB_JSON_BOOL, false}, {"null", LB_JSON_NULL, false}};
	for (size_t k = 0; k < ARRAY_SIZE(lits); k++) {
		size_t len = strlen(lits[k].text);
		if (ps->n - ps->i >= len && memcmp(ps->s + ps->i, lits[k].text, len) == 0) {
			v->type = lits[k].type;
			v->boolean = lits[k].b;
			ps->i += len;
			return 0;
		}
	}
	return bad(ps, ps->i, "unexpected character");
}

static int parse_value(struct parser *ps, struct lb_json *v, unsigned depth);

/* After an item of a container: ',' (then another item) or the closing character. Returns 1 for
 * another item, 0 at the end, or a negative errno. */
static int item_sep(struct parser *ps, char close, const char *why) {
	skip_ws(ps);
	if (ps->i < ps->n && ps->s[ps->i] == ',') {
		ps->i++;
		return 1;
	}
	if (ps->i < ps->n && ps->s[ps->i] == close) {
		ps->i++;
		return 0;
	}
	return bad(ps, ps->i, why);
}

/* Opening a container at ps->i: its depth is checked, whitespace after it skipped. Returns 1 when
 * it is empty (closed at once), 0 when items follow, or a negative errno. */
static int container_open(struct parser *ps, char close, unsigned depth) {
	if (depth >= ps->max_depth)
		return bad(ps, ps->i, "nested too deeply");
	ps->i++;
	skip_ws(ps);
	if (ps->i < ps->n && ps->s[ps->i] == close) {
		ps->i++;
		return 1;
	}
	return 0;
}

static int parse_array(struct parser *ps, struct lb_json *v, unsigned depth) {
	size_t cap = 0;
	int r = container_open(ps, ']', depth);
	v->type = LB_JSON_ARRAY;
	while (r == 0) {
		struct lb_json item = {0};
		r = parse_value(ps, &item, depth + 1);
		if (r < 0)
			break;
		if (GROW(v->items, cap, v->n + 1) < 0) {
			contents_free(&item);
			r = -ENOMEM;
			break;
		}
		v->items[v->n++] = item;
		r = item_sep(ps, ']', "expected ',' or ']'");
		r = r == 1 ? 0 : r < 0 ? r : 1;
	}
	return r < 0 ? r : 0;
}

static int name_cmp(const void *a, const void *b) {
	const struct lb_json_member *x = *(const struct lb_json_member *const *)a;
	const struct lb_json_member *y = *(const struct lb_json_member *const *)b;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return memcmp(x->name, y->name, x->name_len);
}

/* Whether two members share a name: a request with {"cmd":"ping","cmd":"status"} means what the
 * reader's author guessed, so it means nothing. O(n log n): answers may hold large objects. */
static int check_duplicates(struct parser *ps, const struct lb_json *v, size_t at) {
	if (v->n < 2)
		return 0;
	const struct lb_json_member **idx = malloc(v->n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++)
		idx[i] = &v->members[i];
	qsort(idx, v->n, sizeof(*idx), name_cmp);
	int r = 0;
	for (size_t i = 1; i < v->n && r == 0; i++)
		if (name_cmp(&idx[i - 1], &idx[i]) == 0)
			r = bad(ps, at, "duplicate member name");
	free(idx);
	return r;
}

static int parse_member(struct parser *ps, struct lb_json_member *m, unsigned depth) {
	skip_ws(ps);
	if (ps->i >= ps->n || ps->s[ps->i] != '"')
		return bad(ps, ps->i, "expected a member name");
	int r = parse_string(ps, &m->name, &m->name_len);
	if (r < 0)
		return r;
	skip_ws(ps);
	if (ps->i >= ps->n || ps->s[ps->i] != ':')
		r = bad(ps, ps->i, "expected ':'");
	else {
		ps->i++;
		r = parse_value(ps, &m->value, depth + 1);
	}
	if (r < 0) {
		free(m->name);
		m->name = NULL;
	}
	return r;
}

static int parse_object(struct parser *ps, struct lb_json *v, unsigned depth) {
	size_t cap = 0, at = ps->i;
	int r = container_open(ps, '}', depth);
	v->type = LB_JSON_OBJECT;
	while (r == 0) {
		struct lb_json_member m = {0};
		r = parse_member(ps, &m, depth);
		if (r < 0)
			break;
		if (GROW(v->members, cap, v->n + 1) < 0) {
			free(m.name);
			contents_free(&m.value);
			r = -ENOMEM;
			break;
		}
		v->members[v->n++] = m;
		r = item_sep(ps, '}', "expected ',' or '}'");
		r = r == 1 ? 0 : r < 0 ? r : 1;
	}
	if (r >= 0)
		r = check_duplicates(ps, v, at);
	return r < 0 ? r : 0;
}

/* A value at ps->i (after whitespace), inside depth containers. On failure v's contents are
 * freed. */
static int parse_value(struct parser *ps, struct lb_json *v, unsigned depth) {
	int r;
	skip_ws(ps);
	if (ps->i >= ps->n)
		return bad(ps, ps->i, "unexpected end of input");
	char c = ps->s[ps->i];
	if (c == '{')
		r = parse_object(ps, v, depth);
	else if (c == '[')
		r = parse_array(ps, v, depth);
	else if (c == '"') {
		v->type = LB_JSON_STRING;
		r = parse_string(ps, &v->str, &v->len);
	} else if (c == '-' || (c >= '0' && c <= '9'))
		r = parse_number(ps, v);
	else
		r = parse_literal(ps, v);
	if (r < 0)
		contents_free(v);
	return r;
}

int lb_json_parse(const char *buf, size_t len, size_t max_len, unsigned max_depth,
		  struct lb_json **out, struct lb_json_error *err) {
	struct lb_json_error dummy;
	struct parser ps = {.s = buf, .n = len, .err = err ? err : &dummy,
			    .max_depth = max_depth < LB_JSON_MAX_DEPTH ? max_depth : LB_JSON_MAX_DEPTH};
	*out = NULL;
	if (len > max_len)
		return -E2BIG;
	struct lb_json *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	int r = parse_value(&ps, v, 0);
	if (r == 0) {
		skip_ws(&ps);
		if (ps.i < ps.n)
			r = bad(&ps, ps.i, "data after the value");
	}
	if (r < 0) {
		lb_json_free(v);
		return r;
	}
	*out = v;
	return 0;
}

/* ---- queries ---- */

bool lb_json_is(const struct lb_json *v, enum lb_json_type t) { return v && v->type == t; }

const struct lb_json *lb_json_get(const struct lb_json *v, const char *name) {
	if (!lb_json_is(v, LB_JSON_OBJECT))
		return NULL;
	size_t len = strlen(name);
	for (size_t i = 0; i < v->n; i++)
		if (v->members[i].name_len == len && memcmp(v->members[i].name, name, len) == 0)
			return &v->members[i].value;
	return NULL;
}

const char *lb_json_cstr(const struct lb_json *v) {
	if (!lb_json_is(v, LB_JSON_STRING) || strlen(v->str) != v->len)
		return NULL;
	return v->str;
}

/* The magnitude of an integer's digits (no fraction, no exponent), at most limit. */
static int int_magnitude(const struct lb_json *v, bool *neg, uint64_t limit, uint64_t *out) {
	if (!lb_json_is(v, LB_JSON_NUMBER))
		return -EINVAL;
	const char *s = v->str;
	*neg = *s == '-';
	if (*neg)
		s++;
	uint64_t m = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (m > (limit - d) / 10)
			return -ERANGE;
		m = m * 10 + d;
	}
	*out = m;
	return 0;
}

int lb_json_int64(const struct lb_json *v, int64_t *out) {
	bool neg;
	uint64_t m;
	int r = int_magnitude(v, &neg, (uint64_t)INT64_MAX + 1, &m);
	if (r < 0)
		return r;
	if (!neg && m > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
	return 0;
}

int lb_json_uint64(const struct lb_json *v, uint64_t *out) {
	bool neg;
	uint64_t m;
	int r = int_magnitude(v, &neg, UINT64_MAX, &m);
	if (r < 0)
		return r;
	if (neg && m != 0)
		return -ERANGE;
	*out = m;
	return 0;
}
