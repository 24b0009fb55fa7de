/* The HTTP response reader, table-driven: every case is fed whole, split in two at every byte
 * position, and one byte at a time, and must give the same verdict, reason and status each way
 * (the first decided verdict counts, as in the probe, which stops reading there). Also the status
 * ranges and the request the probe sends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "../../src/health/http_client.h"
#include "../../src/health/http_resp.h"

struct tcase {
	const char *name;
	const char *in;
	bool eof;           /* the peer closes after in */
	const char *expect; /* NULL: no body check */
	const char *status; /* ranges, "200-299 301"; NULL: the default */
	int verdict;        /* 1 up, -1 down, 0 undecided */
	const char *why;    /* the reason, when down */
	unsigned code;      /* the final status, 0: none */
};

#define CL200 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
#define CHUNKED200 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static const struct tcase cases[] = {
	/* Content-Length */
	{"length", CL200 "hello", false, NULL, NULL, 1, NULL, 200},
	{"length, expect", CL200 "hello", false, "ell", NULL, 1, NULL, 200},
	{"length, expect absent", CL200 "hello", false, "help", NULL, -1, "body lacks \"help\"", 200},
	{"length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, NULL, NULL, 1, NULL, 200},
	{"length, bytes after the end are ignored", CL200 "helloHTTP/1.1 500 x\r\n", false, "lloH", NULL,
	 -1, "body lacks \"lloH\"", 200},
	{"length, incomplete", CL200 "hel", false, NULL, NULL, 0, NULL, 200},
	{"length, case and spaces", "HTTP/1.1 200 OK\r\ncontent-length:   2  \r\n\r\nok", false, "ok",
	 NULL, 1, NULL, 200},
	{"two equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	 false, NULL, NULL, 1, NULL, 200},
	{"two different lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
	 false, NULL, NULL, -1, "bad Content-Length", 0},
	{"length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok", false, NULL, NULL, -1,
	 "bad Content-Length", 0},
	{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, "ok", NULL, 1, NULL, 200},
	{"folded header ignored", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 2\r\n\r\nok",
	 false, NULL, NULL, 1, NULL, 200},
	{"header without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", false, NULL, NULL, -1,
	 "malformed header", 0},
	{"header with empty name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n", false, NULL, NULL, -1,
	 "malformed header", 0},

	/* status */
	{"503", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", false, NULL, NULL, -1,
	 "HTTP 503", 503},
	{"503 decides before the body", "HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\nxx", false, "ok",
	 NULL, -1, "HTTP 503", 503},
	{"503 before a bad body", "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
	 NULL, NULL, -1, "HTTP 503", 503},
	{"301 in ranges", "HTTP/1.1 301 Moved\r\nContent-Length: 0\r\n\r\n", false, NULL, "200-299 301",
	 1, NULL, 301},
	{"302 not in ranges", "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", false, NULL,
	 "200-299 301", -1, "HTTP 302", 302},
	{"200 in ranges", "HTTP/1.1 250 Odd\r\nContent-Length: 0\r\n\r\n", false, NULL, "200-299 301", 1,
	 NULL, 250},
	{"404 wanted", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, NULL, "404", 1, NULL,
	 404},
	{"200 not wanted", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, NULL, "404", -1,
	 "HTTP 200", 200},
	{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, NULL, NULL, 1, NULL, 200},
	{"empty reason phrase", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false, NULL, NULL, 1, NULL,
	 200},
	{"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false, NULL, NULL, 1, NULL, 204},
	{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, NULL, "304",
	 1, NULL, 304},

	/* not HTTP */
	{"garbage", "SSH-2.0-OpenSSH_9.2\r\n", false, NULL, NULL, -1, "malformed status line", 0},
	{"garbage, no line end", "\x16\x03\x01\x02", false, NULL, NULL, -1, "malformed status line", 0},
	{"empty line", "\r\nHTTP/1.1 200 OK\r\n", false, NULL, NULL, -1, "malformed status line", 0},
	{"no code", "HTTP/1.1 abc\r\n\r\n", false, NULL, NULL, -1, "malformed status line", 0},
	{"code glued to reason", "HTTP/1.1 200OK\r\n\r\n", false, NULL, NULL, -1, "malformed status line",
	 0},
	{"code 099", "HTTP/1.1 099 x\r\n\r\n", false, NULL, NULL, -1, "malformed status line", 0},
	{"bad version", "HTTP/x.1 200 OK\r\n\r\n", false, NULL, NULL, -1, "malformed status line", 0},
	{"lowercase http", "http/1.1 200 OK\r\n\r\n", false, NULL, NULL, -1, "malformed status line", 0},

	/* HTTP/1.0 and close-delimited bodies */
	{"HTTP/1.0, body until close", "HTTP/1.0 200 OK\r\n\r\nall is ok", true, "is ok", NULL, 1, NULL,
	 200},
	{"HTTP/1.0, no expect", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody", true, NULL, NULL, 1, NULL, 200},
	{"HTTP/1.0, expect absent", "HTTP/1.0 200 OK\r\n\r\nbody", true, "ok", NULL, -1,
	 "body lacks \"ok\"", 200},
	{"close-delimited waits for the close", "HTTP/1.1 200 OK\r\n\r\nbody", false, NULL, NULL, 0, NULL,
	 200},
	{"close-delimited, found before the close", "HTTP/1.1 200 OK\r\n\r\nbody ok", false, "ok", NULL,
	 1, NULL, 200},
	{"unknown coding: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n5\r\nhello",
	 true, "5\r\nhe", NULL, 1, NULL, 200},

	/* 1xx */
	{"100 then 200", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	 false, "ok", NULL, 1, NULL, 200},
	{"103 with headers then 500",
	 "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
	 false, NULL, NULL, -1, "HTTP 500", 500},
	{"two 1xx then 200",
	 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
	 "0\r\n\r\n",
	 false, NULL, NULL, 1, NULL, 200},
	{"100 then close", "HTTP/1.1 100 Continue\r\n\r\n", true, NULL, NULL, -1,
	 "connection closed before the status line", 0},
	{"101 is final", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false, NULL, NULL, -1, "HTTP 101",
	 101},

	/* chunked */
	{"chunked", CHUNKED200 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false, NULL, NULL, 1, NULL, 200},
	{"chunked, expect across chunks", CHUNKED200 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false,
	 "lo wo", NULL, 1, NULL, 200},
	{"chunked, expect absent", CHUNKED200 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false, "low",
	 NULL, -1, "body lacks \"low\"", 200},
	{"chunked, framing is not body", CHUNKED200 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false,
	 "o\r\n6", NULL, -1, "body lacks \"o..6\"", 200},
	{"chunked, extensions and trailers",
	 CHUNKED200 "5;name=value\r\nhello\r\nA ; a=1;b=\"x\"\r\n0123456789\r\n0;last\r\nX-Sum: 1\r\n"
		    "X-Other: 2\r\n\r\n",
	 false, "lo01", NULL, 1, NULL, 200},
	{"chunked, upper-case hex", CHUNKED200 "A\r\n0123456789\r\n0\r\n\r\n", false, "89", NULL, 1, NULL,
	 200},
	{"chunked after gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	 false, NULL, NULL, 1, NULL, 200},
	{"chunked wins over length",
	 "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	 false, NULL, NULL, 1, NULL, 200},
	{"chunked, incomplete", CHUNKED200 "5\r\nhello\r\n", false, NULL, NULL, 0, NULL, 200},
	{"chunked, missing last CRLF", CHUNKED200 "2\r\nok\r\n0\r\n", true, NULL, NULL, 1, NULL, 200},
	{"bad chunk size: not hex", CHUNKED200 "zz\r\n", false, NULL, NULL, -1, "bad chunk size", 200},
	{"bad chunk size: empty", CHUNKED200 "\r\n", false, NULL, NULL, -1, "bad chunk size", 200},
	{"bad chunk size: trailing junk", CHUNKED200 "5 x\r\nhello\r\n", false, NULL, NULL, -1,
	 "bad chunk size", 200},
	{"bad chunk size: negative", CHUNKED200 "-5\r\n", false, NULL, NULL, -1, "bad chunk size", 200},
	{"bad chunk size: huge", CHUNKED200 "10000000000000000\r\n", false, NULL, NULL, -1,
	 "bad chunk size", 200},
	{"chunk data too long", CHUNKED200 "2\r\nokX\r\n", false, NULL, NULL, -1, "malformed chunk", 200},

	/* early close */
	{"close before anything", "", true, NULL, NULL, -1, "connection closed before the status line", 0},
	{"close in the status line", "HTTP/1.1 20", true, NULL, NULL, -1,
	 "connection closed before the status line", 0},
	{"close in the headers", "HTTP/1.1 200 OK\r\nContent-", true, NULL, NULL, -1,
	 "connection closed in the headers", 0},
	{"close mid-body (length)", CL200 "hel", true, NULL, NULL, -1, "connection closed in the body",
	 200},
	{"close mid-body, expect already found", CL200 "hel", true, "he", NULL, 1, NULL, 200},
	{"close mid-body (chunked)", CHUNKED200 "5\r\nhel", true, NULL, NULL, -1,
	 "connection closed in the body", 200},
	{"close between chunks", CHUNKED200 "5\r\nhello\r\n", true, NULL, NULL, -1,
	 "connection closed in the body", 200},

	/* expect edge cases */
	{"expect is the whole body", CL200 "hello", false, "hello", NULL, 1, NULL, 200},
	{"expect longer than the body", CL200 "hello", false, "hello!", NULL, -1, "body lacks \"hello!\"",
	 200},
	{"expect of one byte", CL200 "hello", false, "o", NULL, 1, NULL, 200},
	{"expect never in headers", CL200 "hello", false, "Content", NULL, -1, "body lacks \"Content\"",
	 200},
	{"expect with a repeated prefix", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\naaaaaaaab", false,
	 "aaab", NULL, 1, NULL, 200},
	{"expect shown printable", CL200 "hello", false, "a\r\nb", NULL, -1, "body lacks \"a..b\"", 200},
};

/* "200-299 301" -> ranges */
static void parse_ranges(const char *s, struct lb_check_http *c) {
	c->n_status = 0;
	while (s && *s) {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		c->status[c->n_status++] = (struct lb_status_range){(uint16_t)lo, (uint16_t)hi};
		s = *end ? end + 1 : end;
	}
}

struct outcome {
	int verdict;
	char why[LB_PROBE_REASON_MAX];
	unsigned code;
};

/* Feed len bytes in pieces of at most step bytes after a first piece of first bytes, checking the
 * verdict after each piece and stopping at the first decided one, as the probe does. */
static struct outcome run(const struct tcase *t, const char *in, size_t len, size_t first,
			  size_t step) {
	struct lb_check_http c = {0};
	parse_ranges(t->status, &c);
	struct lb_http_resp *r = lb_http_resp_new(t->expect);
	assert_non_null(r);
	struct outcome o = {0};
	size_t off = 0;
	while (off < len && o.verdict == 0) {
		size_t n = off == 0 && first ? first : step;
		if (n > len - off)
			n = len - off;
		lb_http_resp_feed(r, in + off, n);
		off += n;
		o.verdict = lb_http_resp_verdict(r, &c, o.why, sizeof(o.why));
	}
	if (o.verdict == 0 && t->eof) {
		lb_http_resp_eof(r);
		o.verdict = lb_http_resp_verdict(r, &c, o.why, sizeof(o.why));
	}
	o.code = r->have_status ? r->status : 0;
	lb_http_resp_free(r);
	return o;
}

static void check(const struct tcase *t, const struct outcome *o, const char *how, size_t at) {
	if (o->verdict != t->verdict || o->code != t->code ||
	    (t->verdict < 0 && strcmp(o->why, t->why) != 0))
		fail_msg("case \"%s\" (%s %zu): verdict %d code %u \"%s\", want %d code %u \"%s\"", t->name,
			 how, at, o->verdict, o->code, o->verdict < 0 ? o->why : "", t->verdict, t->code,
			 t->why ? t->why : "");
}

/* Whole, split in two at every position (and so each piece at least once at the edge of a
 * read), and byte by byte. stride > 1 samples the split positions of long inputs. */
static void run_case(const struct tcase *t, const char *in, size_t len, size_t stride) {
	struct outcome o = run(t, in, len, 0, len ? len : 1);
	check(t, &o, "whole", len);
	for (size_t i = 0; i <= len; i += stride) {
		o = run(t, in, len, i, len ? len : 1);
		check(t, &o, "split at", i);
	}
	o = run(t, in, len, 0, 1);
	check(t, &o, "byte by byte", 1);
}

static void test_table(void **state) {
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], cases[i].in, strlen(cases[i].in), 1);
}

/* --- generated inputs: large headers and bodies --- */

static char *repeat(char *p, char ch, size_t n) {
	memset(p, ch, n);
	return p + n;
}

static void test_header_line_too_long(void **state) {
	char *in = malloc(LB_HTTP_LINE_MAX + 100), *p = in;
	p += sprintf(p, "HTTP/1.1 200 OK\r\nX-Big: ");
	p = repeat(p, 'a', LB_HTTP_LINE_MAX);
	p += sprintf(p, "\r\n\r\n");
	struct tcase t = {"header line too long", NULL, true, NULL, NULL, -1, "headers too large", 0};
	run_case(&t, in, (size_t)(p - in), 7);
	free(in);
}

static void test_headers_too_large(void **state) {
	/* Lines that fit, but too many of them. */
	char *in = malloc(LB_HTTP_HEAD_MAX + 2000), *p = in;
	p += sprintf(p, "HTTP/1.1 200 OK\r\n");
	while (p - in < LB_HTTP_HEAD_MAX)
		p += sprintf(p, "X-Filler: %0100d\r\n", 0);
	p += sprintf(p, "Content-Length: 0\r\n\r\n");
	struct tcase t = {"headers too large", NULL, true, NULL, NULL, -1, "headers too large", 0};
	run_case(&t, in, (size_t)(p - in), 61);
	free(in);
}

static void test_headers_just_fit(void **state) {
	char *in = malloc(LB_HTTP_HEAD_MAX + 2000), *p = in;
	p += sprintf(p, "HTTP/1.1 200 OK\r\n");
	while (p - in < LB_HTTP_HEAD_MAX - 200)
		p += sprintf(p, "X-Filler: %0100d\r\n", 0);
	p += sprintf(p, "Content-Length: 2\r\n\r\nok");
	struct tcase t = {"headers just fit", NULL, false, "ok", NULL, 1, NULL, 200};
	run_case(&t, in, (size_t)(p - in), 61);
	free(in);
}

static void test_trailers_too_large(void **state) {
	char *in = malloc(LB_HTTP_HEAD_MAX + 2000), *p = in;
	p += sprintf(p, CHUNKED200 "2\r\nok\r\n0\r\n");
	while (p - in < LB_HTTP_HEAD_MAX + 500)
		p += sprintf(p, "X-Filler: %0100d\r\n", 0);
	p += sprintf(p, "\r\n");
	struct tcase t = {"trailers too large", NULL, false, NULL, NULL, -1, "headers too large", 200};
	run_case(&t, in, (size_t)(p - in), 61);
	free(in);
}

static void test_chunk_size_line_too_long(void **state) {
	char *in = malloc(LB_HTTP_LINE_MAX + 200), *p = in;
	p += sprintf(p, CHUNKED200 "5;");
	p = repeat(p, 'e', LB_HTTP_LINE_MAX);
	p += sprintf(p, "\r\nhello\r\n0\r\n\r\n");
	struct tcase t = {"chunk size line too long", NULL, false, NULL, NULL, -1, "bad chunk size", 200};
	run_case(&t, in, (size_t)(p - in), 13);
	free(in);
}

/* An endless stream of interim responses ends like an endless header. */
static void test_interim_flood(void **state) {
	char *in = malloc(LB_HTTP_HEAD_MAX + 200), *p = in;
	while (p - in < LB_HTTP_HEAD_MAX + 100)
		p += sprintf(p, "HTTP/1.1 100 Continue\r\n\r\n");
	struct tcase t = {"interim flood", NULL, false, NULL, NULL, -1, "headers too large", 0};
	run_case(&t, in, (size_t)(p - in), 61);
	free(in);
}

/* Tiny chunks with long extensions: the framing has its own budget. */
static void test_chunk_framing_flood(void **state) {
	char *in = malloc(LB_HTTP_BODY_MAX + 2000), *p = in;
	p += sprintf(p, CHUNKED200);
	while (p - in < LB_HTTP_BODY_MAX + 1000)
		p += sprintf(p, "1;%0500d\r\nx\r\n", 0);
	struct tcase t = {"framing flood", NULL, false, NULL, NULL, -1, "chunk framing too large", 200};
	run_case(&t, in, (size_t)(p - in), 251);
	free(in);
}

/* A body of body_len bytes of 'x' with expect placed at offset at (none if at < 0); the reader
 * stops after LB_HTTP_BODY_MAX bytes, so a longer body decides without waiting for its end. */
static void body_case(size_t body_len, long at, const char *expect, int verdict, const char *why,
		      bool chunked) {
	char *in = malloc(body_len + 200), *p = in;
	if (chunked)
		p += sprintf(p, CHUNKED200 "%zx\r\n", body_len);
	else
		p += sprintf(p, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body_len);
	char *body = p;
	p = repeat(p, 'x', body_len);
	if (at >= 0)
		memcpy(body + at, expect, strlen(expect));
	if (chunked)
		p += sprintf(p, "\r\n0\r\n\r\n");
	struct tcase t = {"large body", NULL, false, expect, NULL, verdict, why, 200};
	run_case(&t, in, (size_t)(p - in), 4099);
	/* And with the split right around the body's first 64 KiB. */
	size_t lim = (size_t)(body - in) + LB_HTTP_BODY_MAX;
	for (size_t i = lim - 8; i <= lim + 8 && i <= (size_t)(p - in); i++) {
		struct outcome o = run(&t, in, (size_t)(p - in), i, 1000);
		check(&t, &o, "split near 64 KiB at", i);
	}
	free(in);
}

static void test_large_bodies(void **state) {
	/* No expect: 64 KiB read is enough. */
	body_case(100000, -1, NULL, 1, NULL, false);
	/* expect inside the first 64 KiB, straddling nothing, or ending at its last byte. */
	body_case(100000, 30000, "needle", 1, NULL, false);
	body_case(100000, LB_HTTP_BODY_MAX - 6, "needle", 1, NULL, false);
	body_case(100000, LB_HTTP_BODY_MAX - 6, "needle", 1, NULL, true);
	/* expect crossing the 64 KiB mark, or beyond it: not found. */
	body_case(100000, LB_HTTP_BODY_MAX - 3, "needle", -1, "body lacks \"needle\"", false);
	body_case(100000, 70000, "needle", -1, "body lacks \"needle\"", true);
	/* A body of exactly 64 KiB. */
	body_case(LB_HTTP_BODY_MAX, LB_HTTP_BODY_MAX - 6, "needle", 1, NULL, false);
}

/* A long expect, found across many small reads. */
static void test_long_expect(void **state) {
	char expect[301], *in = malloc(2000), *p = in;
	memset(expect, 'a', 300);
	expect[299] = 'b';
	expect[300] = '\0';
	p += sprintf(p, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	p = repeat(p, 'a', 1000);
	p[-1] = 'b';
	struct tcase t = {"long expect", NULL, false, expect, NULL, 1, NULL, 200};
	run_case(&t, in, (size_t)(p - in), 1);
	for (size_t step = 2; step < 400; step += 37) {
		struct outcome o = run(&t, in, (size_t)(p - in), 0, step);
		check(&t, &o, "step", step);
	}
	p[-1] = 'a';
	t.verdict = -1;
	t.why = "body lacks \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"";
	run_case(&t, in, (size_t)(p - in), 1);
	free(in);
}

/* The reader's own footprint: a few KiB, whatever the body. */
static void test_small_state(void **state) {
	assert_true(sizeof(struct lb_http_resp) < LB_HTTP_LINE_MAX + 256);
}

static void test_status_ok(void **state) {
	struct lb_check_http c = {0};
	assert_true(lb_http_status_ok(&c, 200));
	assert_true(lb_http_status_ok(&c, 299));
	assert_false(lb_http_status_ok(&c, 199));
	assert_false(lb_http_status_ok(&c, 300));
	parse_ranges("200-299 301", &c);
	assert_int_equal(c.n_status, 2);
	assert_true(lb_http_status_ok(&c, 204));
	assert_true(lb_http_status_ok(&c, 301));
	assert_false(lb_http_status_ok(&c, 302));
	assert_false(lb_http_status_ok(&c, 500));
	parse_ranges("500-599", &c);
	assert_true(lb_http_status_ok(&c, 503));
	assert_false(lb_http_status_ok(&c, 200));
}

static void test_request(void **state) {
	struct lb_check_http c = {0};
	struct lb_addr a;
	char buf[512];
	assert_int_equal(lb_addr_parse("10.0.0.1:8080", &a), 0);
	int n = lb_http_request(&c, &a, false, buf, sizeof(buf));
	const char *want = "GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: ezlb/" EZLB_VERSION
			   "\r\nConnection: close\r\n\r\n";
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	assert_true(lb_http_request_len(&c) > (size_t)n);
	/* The scheme's default port is left out. */
	a.port = 80;
	lb_http_request(&c, &a, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\r\nHost: 10.0.0.1\r\n"));
	assert_int_equal(lb_addr_parse("[2001:db8::1]:443", &a), 0);
	lb_http_request(&c, &a, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\r\nHost: [2001:db8::1]\r\n"));
	lb_http_request(&c, &a, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\r\nHost: [2001:db8::1]:443\r\n"));
	/* Configured path and host. */
	c.path = "/healthz?full=1";
	c.host = "www.example.com";
	lb_http_request(&c, &a, true, buf, sizeof(buf));
	const char *head = "GET /healthz?full=1 HTTP/1.1\r\nHost: www.example.com\r\n";
	assert_true(strncmp(buf, head, strlen(head)) == 0);
	assert_true(lb_http_request_len(&c) > strlen(buf));
	/* Nothing that would break the request. */
	c.path = "/a b";
	assert_int_equal(lb_http_request(&c, &a, true, buf, sizeof(buf)), -EINVAL);
	c.path = "/\r\nX-Injected: 1";
	assert_int_equal(lb_http_request(&c, &a, true, buf, sizeof(buf)), -EINVAL);
	c.path = "/";
	c.host = "a\nb";
	assert_int_equal(lb_http_request(&c, &a, true, buf, sizeof(buf)), -EINVAL);
	c.host = "x";
	assert_int_equal(lb_http_request(&c, &a, true, buf, 10), -ENOSPC);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_header_line_too_long),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_headers_just_fit),
		cmocka_unit_test(test_trailers_too_large),
		cmocka_unit_test(test_chunk_size_line_too_long),
		cmocka_unit_test(test_interim_flood),
		cmocka_unit_test(test_chunk_framing_flood),
		cmocka_unit_test(test_large_bodies),
		cmocka_unit_test(test_long_expect),
		cmocka_unit_test(test_small_state),
		cmocka_unit_test(test_status_ok),
		cmocka_unit_test(test_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
