/* json.c: the writer (structure, pretty form, escaping of every hostile byte, numbers, misuse)
 * and the strict reader (grammar, UTF-8, surrogates, duplicates, limits, queries), and the round
 * trip between them. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

/* ---- writer helpers: each test writes into a memstream and compares the text ---- */

struct out {
	char *buf;
	size_t len;
	FILE *f;
	struct lb_jw w;
};

static void out_open(struct out *o, unsigned indent) {
	memset(o, 0, sizeof(*o));
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
	lb_jw_init(&o->w, o->f, indent);
}

/* Closes the stream; returns lb_jw_finish's result. */
static int out_close(struct out *o) {
	int r = lb_jw_finish(&o->w);
	assert_int_equal(fclose(o->f), 0);
	return r;
}

static void expect(struct out *o, const char *want) {
	assert_int_equal(out_close(o), 0);
	assert_string_equal(o->buf, want);
	free(o->buf);
}

/* The escaped form of n bytes, as a JSON string value. */
static char *escaped(const char *s, size_t n) {
	struct out o;
	out_open(&o, 0);
	lb_jw_string_n(&o.w, s, n);
	assert_int_equal(out_close(&o), 0);
	return o.buf;
}

static void expect_escape(const char *s, size_t n, const char *want) {
	char *got = escaped(s, n);
	assert_string_equal(got, want);
	free(got);
}

/* ---- reader helpers ---- */

static struct lb_json *parse_ok(const char *s) {
	struct lb_json *v = NULL;
	struct lb_json_error err = {0};
	int r = lb_json_parse(s, strlen(s), 65536, 32, &v, &err);
	if (r < 0)
		fail_msg("\"%s\": %d %s at %zu", s, r, err.why ? err.why : "", err.offset);
	return v;
}

/* Parse must fail with -EBADMSG at offset at, for reason why (a substring). */
static void parse_bad_n(const char *s, size_t n, size_t at, const char *why) {
	struct lb_json *v = (struct lb_json *)1;
	struct lb_json_error err = {0};
	int r = lb_json_parse(s, n, 65536, 32, &v, &err);
	if (r != -EBADMSG)
		fail_msg("\"%.*s\": expected -EBADMSG, got %d", (int)n, s, r);
	assert_null(v);
	if (!err.why || !strstr(err.why, why) || err.offset != at)
		fail_msg("\"%.*s\": expected \"%s\" at %zu, got \"%s\" at %zu", (int)n, s, why, at,
			 err.why ? err.why : "(null)", err.offset);
}

static void parse_bad(const char *s, size_t at, const char *why) { parse_bad_n(s, strlen(s), at, why); }

/* Written back compactly. */
static char *rewrite(const struct lb_json *v, unsigned indent) {
	struct out o;
	out_open(&o, indent);
	lb_jw_value(&o.w, v);
	assert_int_equal(out_close(&o), 0);
	return o.buf;
}

static void expect_roundtrip(const char *in, const char *want) {
	struct lb_json *v = parse_ok(in);
	char *got = rewrite(v, 0);
	assert_string_equal(got, want);
	lb_json_free(v);
	free(got);
}

/* ---- writer ---- */

static void test_write_structure(void **state) {
	struct out o;
	out_open(&o, 0);
	lb_jw_object(&o.w);
	lb_jw_key(&o.w, "a");
	lb_jw_int(&o.w, -1);
	lb_jw_key(&o.w, "b");
	lb_jw_array(&o.w);
	lb_jw_bool(&o.w, true);
	lb_jw_null(&o.w);
	lb_jw_string(&o.w, "x");
	lb_jw_string(&o.w, NULL);
	lb_jw_object(&o.w);
	lb_jw_object_end(&o.w);
	lb_jw_array(&o.w);
	lb_jw_array_end(&o.w);
	lb_jw_array_end(&o.w);
	lb_jw_key(&o.w, "k\"ey");
	lb_jw_uint(&o.w, UINT64_MAX);
	lb_jw_object_end(&o.w);
	expect(&o, "{\"a\":-1,\"b\":[true,null,\"x\",null,{},[]],\"k\\\"ey\":18446744073709551615}");

	out_open(&o, 2);
	lb_jw_object(&o.w);
	lb_jw_key(&o.w, "a");
	lb_jw_array(&o.w);
	lb_jw_int(&o.w, 1);
	lb_jw_int(&o.w, 2);
	lb_jw_array_end(&o.w);
	lb_jw_key(&o.w, "e");
	lb_jw_object(&o.w);
	lb_jw_object_end(&o.w);
	lb_jw_object_end(&o.w);
	expect(&o, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"e\": {}\n}");

	out_open(&o, 0); /* a scalar is a document too */
	lb_jw_int(&o.w, INT64_MIN);
	expect(&o, "-9223372036854775808");
}

static void test_write_misuse(void **state) {
	struct out o;
	out_open(&o, 0); /* nothing written */
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);

	out_open(&o, 0); /* a value without a key */
	lb_jw_object(&o.w);
	lb_jw_int(&o.w, 1);
	lb_jw_object_end(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);

	out_open(&o, 0); /* a key in an array */
	lb_jw_array(&o.w);
	lb_jw_key(&o.w, "k");
	lb_jw_array_end(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);

	out_open(&o, 0); /* a key without a value */
	lb_jw_object(&o.w);
	lb_jw_key(&o.w, "k");
	lb_jw_object_end(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);

	out_open(&o, 0); /* mismatched and unbalanced ends */
	lb_jw_array(&o.w);
	lb_jw_object_end(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);
	out_open(&o, 0);
	lb_jw_array(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);
	out_open(&o, 0);
	lb_jw_array_end(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	free(o.buf);

	out_open(&o, 0); /* two documents */
	lb_jw_int(&o.w, 1);
	lb_jw_int(&o.w, 2);
	assert_int_equal(out_close(&o), -EINVAL);
	assert_string_equal(o.buf, "1");
	free(o.buf);

	out_open(&o, 0); /* deeper than the limit: refused, nothing past it written */
	for (int i = 0; i <= LB_JSON_MAX_DEPTH; i++)
		lb_jw_array(&o.w);
	assert_int_equal(out_close(&o), -EINVAL);
	assert_int_equal(o.len, LB_JSON_MAX_DEPTH);
	free(o.buf);

	out_open(&o, 0); /* number text that is no number */
	lb_jw_number_text(&o.w, "1.", 2);
	assert_int_equal(out_close(&o), -EINVAL);
	assert_int_equal(o.len, 0);
	free(o.buf);
}

static void test_write_io_error(void **state) {
	FILE *full = fopen("/dev/full", "w");
	if (!full)
		skip();
	setvbuf(full, NULL, _IONBF, 0);
	struct lb_jw w;
	lb_jw_init(&w, full, 0);
	lb_jw_string(&w, "x");
	assert_int_equal(lb_jw_finish(&w), -EIO);
	fclose(full);
}

static void test_escape(void **state) {
	expect_escape("a\"b\\c/", 6, "\"a\\\"b\\\\c/\"");
	expect_escape("\n\r\t\b\f", 5, "\"\\n\\r\\t\\u0008\\u000c\"");
	expect_escape("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	expect_escape("a\0b", 3, "\"a\\u0000b\"");
	/* valid UTF-8 passes: 2, 3 and 4 bytes, the edges of each range */
	expect_escape("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 18,
		      "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");
	/* U+2028 and U+2029 end lines in JavaScript */
	expect_escape("\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa", 9, "\"\\u2028\\u2029\xe2\x80\xaa\"");
#define FFFD "\xef\xbf\xbd"
	expect_escape("\x80", 1, "\"" FFFD "\"");                            /* lone continuation */
	expect_escape("\xc0\x80", 2, "\"" FFFD FFFD "\"");                   /* overlong NUL */
	expect_escape("\xc1\xbf", 2, "\"" FFFD FFFD "\"");                   /* overlong */
	expect_escape("\xe0\x9f\xbf", 3, "\"" FFFD FFFD FFFD "\"");          /* overlong 3-byte */
	expect_escape("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"");          /* surrogate U+D800 */
	expect_escape("\xf0\x8f\xbf\xbf", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* overlong 4-byte */
	expect_escape("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* above U+10FFFF */
	expect_escape("\xf5\xff\xfe", 3, "\"" FFFD FFFD FFFD "\"");
	expect_escape("a\xe2\x82", 3, "\"a" FFFD FFFD "\"");                 /* truncated at the end */
	expect_escape("\xe2\x82" "b", 3, "\"" FFFD FFFD "b\"");              /* truncated inside */
#undef FFFD
}

/* Every single byte and every pair of bytes: the writer's output always parses, and reads back
 * as the input wherever the input was valid UTF-8. */
static void test_escape_exhaustive(void **state) {
	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 257; b++) {
			char in[2] = {(char)a, (char)b};
			size_t n = b == 256 ? 1 : 2;
			char *s = escaped(in, n);
			struct lb_json *v = NULL;
			assert_int_equal(lb_json_parse(s, strlen(s), 64, 1, &v, NULL), 0);
			assert_int_equal(v->type, LB_JSON_STRING);
			bool valid = true;
			for (size_t i = 0; i < n && valid;) {
				size_t l = lb_utf8_len((const unsigned char *)in + i, n - i);
				valid = l > 0;
				i += l;
			}
			if (valid) {
				assert_int_equal(v->len, n);
				assert_memory_equal(v->str, in, n);
			}
			lb_json_free(v);
			free(s);
		}
}

static void test_numbers(void **state) {
	struct out o;
	out_open(&o, 0);
	lb_jw_array(&o.w);
	lb_jw_double(&o.w, 0.1);
	lb_jw_double(&o.w, 1e300);
	lb_jw_double(&o.w, -0.0);
	lb_jw_double(&o.w, 1.0 / 3);
	lb_jw_double(&o.w, NAN);
	lb_jw_double(&o.w, INFINITY);
	lb_jw_double(&o.w, -INFINITY);
	lb_jw_double(&o.w, 5e-324);
	lb_jw_number_text(&o.w, "-1.5e+3", 7);
	lb_jw_array_end(&o.w);
	expect(&o, "[0.1,1e+300,-0,0.33333333333333331,null,null,null,4.94065645841247e-324,-1.5e+3]");

	/* doubles read back exactly */
	const double ds[] = {0.1, 1.0 / 3, 123456789.125, 1e-7, 2.2250738585072014e-308};
	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		struct out d;
		out_open(&d, 0);
		lb_jw_double(&d.w, ds[i]);
		assert_int_equal(out_close(&d), 0);
		assert_true(strtod(d.buf, NULL) == ds[i]);
		free(d.buf);
	}
}

/* ---- reader ---- */

static void test_parse_values(void **state) {
	struct lb_json *v = parse_ok(" {\"cmd\" : \"status\", \"services\": [\"web\", \"a b\"], "
				     "\"n\": -12, \"f\": 1.5e3, \"t\": true, \"x\": false, \"z\": null} \n");
	assert_int_equal(v->type, LB_JSON_OBJECT);
	assert_int_equal(v->n, 7);
	assert_string_equal(lb_json_cstr(lb_json_get(v, "cmd")), "status");
	const struct lb_json *s = lb_json_get(v, "services");
	assert_true(lb_json_is(s, LB_JSON_ARRAY));
	assert_int_equal(s->n, 2);
	assert_string_equal(lb_json_cstr(&s->items[1]), "a b");
	int64_t i;
	uint64_t u;
	assert_int_equal(lb_json_int64(lb_json_get(v, "n"), &i), 0);
	assert_int_equal(i, -12);
	assert_int_equal(lb_json_uint64(lb_json_get(v, "n"), &u), -ERANGE);
	assert_int_equal(lb_json_int64(lb_json_get(v, "f"), &i), -EINVAL);
	assert_int_equal(lb_json_int64(lb_json_get(v, "t"), &i), -EINVAL);
	assert_true(lb_json_get(v, "t")->boolean);
	assert_false(lb_json_get(v, "x")->boolean);
	assert_true(lb_json_is(lb_json_get(v, "z"), LB_JSON_NULL));
	assert_null(lb_json_get(v, "missing"));
	assert_null(lb_json_get(v, "cm"));
	assert_null(lb_json_get(s, "cmd")); /* not an object */
	assert_null(lb_json_cstr(lb_json_get(v, "n")));
	assert_false(lb_json_is(NULL, LB_JSON_NULL));
	lb_json_free(v);

	/* scalars at the top */
	v = parse_ok("\"x\"");
	assert_string_equal(lb_json_cstr(v), "x");
	lb_json_free(v);
	v = parse_ok("0");
	assert_int_equal(lb_json_uint64(v, &u), 0);
	assert_int_equal(u, 0);
	lb_json_free(v);
	lb_json_free(NULL);
}

static void test_parse_integers(void **state) {
	static const struct {
		const char *text;
		int r64;
		int64_t v64;
		int ru;
		uint64_t vu;
	} cases[] = {
		{"9223372036854775807", 0, INT64_MAX, 0, INT64_MAX},
		{"9223372036854775808", -ERANGE, 0, 0, 9223372036854775808ULL},
		{"-9223372036854775808", 0, INT64_MIN, -ERANGE, 0},
		{"-9223372036854775809", -ERANGE, 0, -ERANGE, 0},
		{"18446744073709551615", -ERANGE, 0, 0, UINT64_MAX},
		{"18446744073709551616", -ERANGE, 0, -ERANGE, 0},
		{"-0", 0, 0, 0, 0},
		{"1e2", -EINVAL, 0, -EINVAL, 0},
		{"1.0", -EINVAL, 0, -EINVAL, 0},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lb_json *v = parse_ok(cases[k].text);
		int64_t i = 0;
		uint64_t u = 0;
		assert_int_equal(lb_json_int64(v, &i), cases[k].r64);
		if (cases[k].r64 == 0)
			assert_int_equal(i, cases[k].v64);
		assert_int_equal(lb_json_uint64(v, &u), cases[k].ru);
		if (cases[k].ru == 0)
			assert_true(u == cases[k].vu);
		lb_json_free(v);
	}
}

static void test_parse_strings(void **state) {
	struct lb_json *v = parse_ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
	assert_string_equal(v->str, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	lb_json_free(v);
	/* raw UTF-8 is kept; "\u0000" is a NUL inside: no C string, but the bytes survive */
	v = parse_ok("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
	assert_string_equal(lb_json_cstr(v), "caf\xc3\xa9 \xf0\x9f\x98\x80");
	lb_json_free(v);
	v = parse_ok("\"web\\u0000x\"");
	assert_int_equal(v->len, 5);
	assert_memory_equal(v->str, "web\0x", 5);
	assert_null(lb_json_cstr(v));
	lb_json_free(v);
	v = parse_ok("{\"a\\u0000\":1,\"a\":2}"); /* distinct names */
	int64_t i;
	assert_int_equal(lb_json_int64(lb_json_get(v, "a"), &i), 0);
	assert_int_equal(i, 2);
	lb_json_free(v);
}

static void test_parse_errors(void **state) {
	parse_bad("", 0, "unexpected end");
	parse_bad("   ", 3, "unexpected end");
	parse_bad("{", 1, "expected a member name");
	parse_bad("{\"a\"}", 4, "expected ':'");
	parse_bad("{\"a\":}", 5, "unexpected character");
	parse_bad("{\"a\":1,}", 7, "expected a member name");
	parse_bad("[1,]", 3, "unexpected character");
	parse_bad("[1 2]", 3, "expected ',' or ']'");
	parse_bad("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
	parse_bad("{'a':1}", 1, "expected a member name");
	parse_bad("[1] [2]", 4, "data after the value");
	parse_bad("01", 1, "data after the value");
	parse_bad("1.", 0, "bad number");
	parse_bad(".5", 0, "unexpected character");
	parse_bad("+1", 0, "unexpected character");
	parse_bad("-", 0, "bad number");
	parse_bad("1e", 0, "bad number");
	parse_bad("1e+", 0, "bad number");
	parse_bad("NaN", 0, "unexpected character");
	parse_bad("Infinity", 0, "unexpected character");
	parse_bad("tru", 0, "unexpected character");
	parse_bad("nul", 0, "unexpected character");
	parse_bad("truex", 4, "data after the value");
	parse_bad("\"abc", 0, "unterminated string");
	parse_bad("\"abc\\", 0, "unterminated string");
	parse_bad("\"a\tb\"", 2, "control character");
	parse_bad("\"a\nb\"", 2, "control character");
	parse_bad("\"\\x41\"", 1, "bad escape");
	parse_bad("\"\\u12\"", 1, "bad \\u escape");
	parse_bad("\"\\u12G4\"", 1, "bad \\u escape");
	parse_bad("\"\\ud83d\"", 1, "lone high surrogate");
	parse_bad("\"\\ud83dx\"", 1, "lone high surrogate");
	parse_bad("\"\\ud83d\\u0041\"", 1, "lone high surrogate");
	parse_bad("\"\\ude00\"", 1, "lone low surrogate");
	parse_bad("\"\xff\"", 1, "invalid UTF-8");
	parse_bad("\"\xc0\xaf\"", 1, "invalid UTF-8");
	parse_bad("\"\xed\xa0\x80\"", 1, "invalid UTF-8");
	parse_bad("\"\xe2\x82\"", 1, "invalid UTF-8");
	parse_bad("{\"a\":1,\"b\":2,\"a\":3}", 0, "duplicate member name");
	parse_bad("[{\"x\":[],\"x\":[]}]", 1, "duplicate member name");
	parse_bad_n("[1]\0", 4, 3, "data after the value");
	parse_bad_n("\"a\0b\"", 5, 2, "control character");
	parse_bad("\xef\xbb\xbf{}", 0, "unexpected character"); /* no BOM */
	parse_bad("/* */{}", 0, "unexpected character");     /* no comments */
}

/* A duplicate among many members is found too (the sorted check). */
static void test_parse_duplicates_many(void **state) {
	char buf[8192];
	size_t off = 0;
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "{");
	for (int i = 0; i < 500; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\"k%d\":%d", i ? "," : "", i, i);
	snprintf(buf + off, sizeof(buf) - off, "}");
	struct lb_json *v = parse_ok(buf);
	assert_int_equal(v->n, 500);
	lb_json_free(v);
	snprintf(buf + off, sizeof(buf) - off, ",\"k250\":0}");
	parse_bad(buf, 0, "duplicate member name");
}

static void test_parse_limits(void **state) {
	struct lb_json *v = NULL;
	struct lb_json_error err = {0};
	/* depth: max_depth containers nested, not one more */
	assert_int_equal(lb_json_parse("[[1]]", 5, 100, 2, &v, &err), 0);
	lb_json_free(v);
	assert_int_equal(lb_json_parse("[[[1]]]", 7, 100, 2, &v, &err), -EBADMSG);
	assert_string_equal(err.why, "nested too deeply");
	assert_int_equal(err.offset, 2);
	assert_int_equal(lb_json_parse("{\"a\":{\"b\":{}}}", 14, 100, 2, &v, &err), -EBADMSG);
	assert_int_equal(lb_json_parse("1", 1, 100, 0, &v, &err), 0);
	lb_json_free(v);
	assert_int_equal(lb_json_parse("[]", 2, 100, 0, &v, &err), -EBADMSG);
	/* a deep document is refused without deep recursion: max_depth is capped */
	static char deep[200000];
	memset(deep, '[', sizeof(deep));
	assert_int_equal(lb_json_parse(deep, sizeof(deep), sizeof(deep), 1000000, &v, &err), -EBADMSG);
	assert_int_equal(err.offset, LB_JSON_MAX_DEPTH);
	/* size */
	assert_int_equal(lb_json_parse("[1, 2]", 6, 5, 8, &v, &err), -E2BIG);
	assert_null(v);
	assert_int_equal(lb_json_parse("[1, 2]", 6, 6, 8, &v, &err), 0);
	lb_json_free(v);
}

static void test_roundtrip(void **state) {
	expect_roundtrip(" { \"b\" : [ 1 , -0.5e-3 , \"\\u00e9\\n\" ] , \"a\" : { } } ",
			 "{\"b\":[1,-0.5e-3,\"\xc3\xa9\\n\"],\"a\":{}}");
	expect_roundtrip("\"\\u2028\\u0000\\/\"", "\"\\u2028\\u0000/\"");
	expect_roundtrip("18446744073709551615123", "18446744073709551615123");
	expect_roundtrip("[true,false,null,[],{}]", "[true,false,null,[],{}]");
	/* pretty, then back */
	struct lb_json *v = parse_ok("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}");
	char *p = rewrite(v, 4);
	assert_string_equal(p, "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ],\n    \"c\": \"d\"\n}");
	struct lb_json *w = parse_ok(p);
	char *c = rewrite(w, 0);
	assert_string_equal(c, "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}");
	free(p);
	free(c);
	lb_json_free(v);
	lb_json_free(w);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_structure),
		cmocka_unit_test(test_write_misuse),
		cmocka_unit_test(test_write_io_error),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_exhaustive),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_integers),
		cmocka_unit_test(test_parse_strings),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_duplicates_many),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
