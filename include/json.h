/* A small JSON writer and a small strict JSON reader, for the control socket (requests from
 * clients, answers to them) and `ezlb status --json`.
 *
 * Writer: streams into a FILE * (open_memstream for a buffer). Its output is always valid JSON,
 * whatever bytes it is given: strings are escaped (", \, \n \r \t as such, other control
 * characters, DEL, U+2028 and U+2029 as \u00XX / \u20XX), every byte that is not part of valid
 * UTF-8 becomes U+FFFD, non-finite doubles become null. Misuse (a value where a key is due, an
 * unbalanced end, nesting deeper than LB_JSON_MAX_DEPTH) is recorded and reported by
 * lb_jw_finish, never written as broken JSON silently.
 *
 * Reader: RFC 8259 without extensions, for input from outside. Bounded by the caller's size and
 * depth limits (recursion depth = nesting depth); strings must be valid UTF-8 (no overlong forms,
 * no surrogates), \uXXXX escapes must pair surrogates, duplicate member names are refused, and
 * nothing may follow the value but whitespace. Numbers keep their text, so that a uint64
 * counter survives a round trip exactly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LB_JSON_MAX_DEPTH 64 /* the writer's nesting limit; the reader's is the caller's, at most this */

/* ---- writer ---- */

struct lb_jw {
	FILE *f;
	unsigned indent;   /* 0: compact, on one line; n: pretty, n spaces per level */
	unsigned depth;    /* open containers */
	bool in_object[LB_JSON_MAX_DEPTH];
	bool has_items[LB_JSON_MAX_DEPTH];
	bool key_pending;  /* a key was written, its value is due */
	bool done;         /* a complete top-level value was written */
	int err;           /* first misuse (-EINVAL); -EIO is found at lb_jw_finish */
};

void lb_jw_init(struct lb_jw *w, FILE *f, unsigned indent);
/* 0 when exactly one complete value was written and f has no error; else -EINVAL (misuse, see
 * above) or -EIO (ferror). Writes nothing itself (no trailing newline). */
int lb_jw_finish(struct lb_jw *w);

void lb_jw_object(struct lb_jw *w);      /* { */
void lb_jw_object_end(struct lb_jw *w);  /* } */
void lb_jw_array(struct lb_jw *w);       /* [ */
void lb_jw_array_end(struct lb_jw *w);   /* ] */
void lb_jw_key(struct lb_jw *w, const char *name);
void lb_jw_string(struct lb_jw *w, const char *s); /* NULL writes null */
void lb_jw_string_n(struct lb_jw *w, const char *s, size_t n);
void lb_jw_int(struct lb_jw *w, int64_t v);
void lb_jw_uint(struct lb_jw *w, uint64_t v);
void lb_jw_double(struct lb_jw *w, double v);  /* shortest text that reads back the same */
void lb_jw_bool(struct lb_jw *w, bool v);
void lb_jw_null(struct lb_jw *w);
/* A number given as JSON text (e.g. from the reader); text that is not a JSON number is misuse. */
void lb_jw_number_text(struct lb_jw *w, const char *text, size_t n);

/* Writes the bytes s[0..n) as the body of a JSON string (no quotes), escaped as above. */
void lb_json_escape(FILE *f, const char *s, size_t n);

/* Length (1..4) of the valid UTF-8 sequence at p[0..n), n >= 1; 0 when p[0] starts none. */
size_t lb_utf8_len(const unsigned char *p, size_t n);

/* ---- reader ---- */

enum lb_json_type {
	LB_JSON_NULL = 0,
	LB_JSON_BOOL,
	LB_JSON_NUMBER,
	LB_JSON_STRING,
	LB_JSON_ARRAY,
	LB_JSON_OBJECT,
};

struct lb_json_member;

struct lb_json {
	enum lb_json_type type;
	bool boolean;                     /* BOOL */
	char *str;                        /* STRING: decoded UTF-8, NUL-terminated (and may hold
					   * NUL itself: see len); NUMBER: its text */
	size_t len;
	struct lb_json *items;            /* ARRAY */
	struct lb_json_member *members;   /* OBJECT, in document order */
	size_t n;                         /* items or members */
};

struct lb_json_member {
	char *name; /* decoded, NUL-terminated */
	size_t name_len;
	struct lb_json value;
};

/* Where and why a parse failed. */
struct lb_json_error {
	size_t offset;   /* byte offset in the input */
	const char *why; /* e.g. "expected ':'", "invalid UTF-8", "nested too deeply" */
};

/* Parses buf[0..len) (need not be NUL-terminated). max_depth: containers nested at most this
 * deep (1: a flat object), at most LB_JSON_MAX_DEPTH. Returns 0 and *out (free with
 * lb_json_free); -E2BIG when len > max_len; -EBADMSG with *err when the text is not valid JSON
 * within the limits; -ENOMEM. err may be NULL. */
int lb_json_parse(const char *buf, size_t len, size_t max_len, unsigned max_depth,
		  struct lb_json **out, struct lb_json_error *err);
void lb_json_free(struct lb_json *v); /* NULL is fine */

/* The value of member name of an object, or NULL (not an object, no such member, v NULL). */
const struct lb_json *lb_json_get(const struct lb_json *v, const char *name);
/* A string's value as a C string: NULL unless v is a string without NUL inside (a name with
 * "\u0000" in it must never compare equal to its prefix). */
const char *lb_json_cstr(const struct lb_json *v);
/* A number that is an integer in range: 0 and *out, else -EINVAL (not an integer) or -ERANGE. */
int lb_json_int64(const struct lb_json *v, int64_t *out);
int lb_json_uint64(const struct lb_json *v, uint64_t *out);
bool lb_json_is(const struct lb_json *v, enum lb_json_type t); /* false for NULL */

/* Writes a parsed value back (the round trip: strings re-escaped, numbers as their text). */
void lb_jw_value(struct lb_jw *w, const struct lb_json *v);
