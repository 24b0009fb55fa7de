/* The incremental HTTP/1.x response reader: see http_resp.h. Follows RFC 9112 where it matters to
 * a health check (message framing) and is lenient elsewhere: bare LF line ends are accepted, and
 * headers other than Content-Length and Transfer-Encoding are not looked at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_resp.h"
#include "util.h"

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

struct lb_http_resp *lb_http_resp_new(const char *expect) {
	size_t m = expect ? strlen(expect) : 0;
	/* One block: the struct, expect's copy, and a window of 2 * (m - 1) bytes (the kept tail
	 * plus as many bytes of the next segment, to find a match that straddles two reads). */
	struct lb_http_resp *r = calloc(1, sizeof(*r) + m + 1 + 2 * m);
	if (!r)
		return NULL;
	r->expect = (char *)(r + 1);
	r->tail = r->expect + m + 1;
	if (expect)
		memcpy(r->expect, expect, m + 1);
	r->expect_len = m;
	r->has_expect = expect != NULL;
	r->found = r->has_expect && m == 0;
	return r;
}

void lb_http_resp_free(struct lb_http_resp *r) { free(r); }

static void fail(struct lb_http_resp *r, const char *why) {
	r->phase = LB_HTTP_ERROR;
	r->error = why;
}

static bool digit(char c) { return c >= '0' && c <= '9'; }

/* --- expect, across reads --- */

static void search(struct lb_http_resp *r, const char *p, size_t n) {
	if (r->found || !r->has_expect)
		return;
	size_t m = r->expect_len, keep = m - 1;
	if (r->tail_len) { /* a match starting in the tail ends within the first m - 1 bytes of p */
		size_t k = n < keep ? n : keep;
		memcpy(r->tail + r->tail_len, p, k);
		if (memmem(r->tail, r->tail_len + k, r->expect, m)) {
			r->found = true;
			return;
		}
	}
	if (memmem(p, n, r->expect, m)) {
		r->found = true;
		return;
	}
	/* Keep the last m - 1 bytes of tail + p: a later match can start no earlier. */
	if (n >= keep) {
		memcpy(r->tail, p + n - keep, keep);
		r->tail_len = keep;
		return;
	}
	size_t old = r->tail_len < keep - n ? r->tail_len : keep - n;
	memmove(r->tail, r->tail + r->tail_len - old, old);
	memcpy(r->tail + old, p, n);
	r->tail_len = old + n;
}

/* n bytes of body payload (framing removed); the reading stops at LB_HTTP_BODY_MAX. */
static void body_data(struct lb_http_resp *r, const char *p, size_t n) {
	size_t room = LB_HTTP_BODY_MAX - r->body_seen;
	if (n > room)
		n = room;
	search(r, p, n);
	r->body_seen += n;
	if (r->body_seen == LB_HTTP_BODY_MAX)
		r->phase = LB_HTTP_DONE;
}

/* --- status line and headers --- */

/* "HTTP/1.1 200 OK", "HTTP/1.0 404" (the reason phrase is optional). */
static void status_line(struct lb_http_resp *r, const char *s, size_t len) {
	if (len < 12 || memcmp(s, "HTTP/", 5) != 0 || !digit(s[5]) || s[6] != '.' || !digit(s[7]) ||
	    s[8] != ' ' || s[9] < '1' || s[9] > '9' || !digit(s[10]) || !digit(s[11]) ||
	    (len > 12 && s[12] != ' ')) {
		fail(r, "malformed status line");
		return;
	}
	r->status = (unsigned)(s[9] - '0') * 100 + (unsigned)(s[10] - '0') * 10 +
		    (unsigned)(s[11] - '0');
	r->phase = LB_HTTP_HEADERS;
	r->got_length = r->chunked = r->coded = false;
}

static void content_length(struct lb_http_resp *r, const char *v, size_t len) {
	uint64_t n = 0;
	if (len == 0 || len > 18) {
		fail(r, "bad Content-Length");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (!digit(v[i])) {
			fail(r, "bad Content-Length");
			return;
		}
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (r->got_length && n != r->length) { /* two lengths: the framing is ambiguous */
		fail(r, "bad Content-Length");
		return;
	}
	r->got_length = true;
	r->length = n;
}

/* Only the last coding matters: chunked there frames the body, anything else means "until the
 * connection closes" (RFC 9112 6.3). */
static void transfer_encoding(struct lb_http_resp *r, const char *v, size_t len) {
	const char *comma = memrchr(v, ',', len);
	if (comma) {
		len -= (size_t)(comma + 1 - v);
		v = comma + 1;
	}
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	r->coded = true;
	r->chunked = len == 7 && strncasecmp(v, "chunked", 7) == 0;
}

static void header_line(struct lb_http_resp *r, const char *s, size_t len) {
	if (s[0] == ' ' || s[0] == '\t')
		return; /* obsolete line folding: more of a header we do not read */
	const char *colon = memchr(s, ':', len), *v, *end = s + len;
	if (!colon || colon == s) {
		fail(r, "malformed header");
		return;
	}
	size_t name = (size_t)(colon - s);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (name == 14 && strncasecmp(s, "Content-Length", 14) == 0)
		content_length(r, v, (size_t)(end - v));
	else if (name == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0)
		transfer_encoding(r, v, (size_t)(end - v));
}

static void end_of_headers(struct lb_http_resp *r) {
	/* Interim responses (100 Continue) are skipped; their bytes still count against
	 * LB_HTTP_HEAD_MAX, so that an endless stream of them ends too. */
	if (r->status / 100 == 1 && r->status != 101) {
		r->phase = LB_HTTP_STATUS;
		return;
	}
	r->head_seen = 0;
	r->have_status = true;
	if (r->status / 100 == 1 || r->status == 204 || r->status == 304) {
		r->phase = LB_HTTP_DONE; /* no body by definition */
		return;
	}
	r->phase = LB_HTTP_BODY;
	if (r->coded) {
		r->body = r->chunked ? BODY_CHUNKED : BODY_CLOSE;
		r->chunk = CH_SIZE;
	} else if (r->got_length) {
		r->body = BODY_LENGTH;
		r->left = r->length;
		if (r->left == 0)
			r->phase = LB_HTTP_DONE;
	} else {
		r->body = BODY_CLOSE;
	}
}

/* --- chunked framing --- */

/* "1a", "1a;name=value", "1a ;ext" */
static void chunk_size(struct lb_http_resp *r, const char *s, size_t len) {
	uint64_t v = 0;
	size_t i = 0;
	for (; i < len && lb_hex_digit(s[i]) >= 0; i++) {
		if (i == 15) { /* more than 2^60 bytes: nonsense, and the next digit could overflow */
			fail(r, "bad chunk size");
			return;
		}
		v = v * 16 + (uint64_t)lb_hex_digit(s[i]);
	}
	size_t digits = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (digits == 0 || (i < len && s[i] != ';')) {
		fail(r, "bad chunk size");
		return;
	}
	if (v == 0) {
		r->chunk = CH_TRAILER;
		r->head_seen = 0;
	} else {
		r->chunk = CH_DATA;
		r->left = v;
	}
}

static void chunk_line(struct lb_http_resp *r, const char *s, size_t len) {
	switch (r->chunk) {
	case CH_SIZE:
		chunk_size(r, s, len);
		break;
	case CH_DATA_END: /* the CRLF after a chunk's data */
		if (len)
			fail(r, "malformed chunk");
		else
			r->chunk = CH_SIZE;
		break;
	case CH_TRAILER: /* trailer fields are ignored; an empty line ends the message */
		if (!len)
			r->phase = LB_HTTP_DONE;
		break;
	}
}

/* --- feeding --- */

static bool in_line(const struct lb_http_resp *r) {
	return r->phase != LB_HTTP_BODY || (r->body == BODY_CHUNKED && r->chunk != CH_DATA);
}

/* Header bytes (status line, headers, trailers) count against LB_HTTP_HEAD_MAX. */
static bool head_bytes(const struct lb_http_resp *r) {
	return r->phase != LB_HTTP_BODY || r->chunk == CH_TRAILER;
}

/* Bytes of a line: header bytes, or chunk framing, which gets a budget too (tiny chunks with
 * long extensions would otherwise make a 64 KiB body out of hundreds of MiB). Whatever a server
 * sends, a probe reads a bounded number of bytes. */
static bool line_budget(struct lb_http_resp *r, size_t n) {
	if (head_bytes(r)) {
		if ((r->head_seen += n) <= LB_HTTP_HEAD_MAX)
			return true;
		fail(r, "headers too large");
		return false;
	}
	if ((r->frame_seen += n) <= LB_HTTP_BODY_MAX)
		return true;
	fail(r, "chunk framing too large");
	return false;
}

static void on_line(struct lb_http_resp *r, const char *s, size_t len) {
	switch (r->phase) {
	case LB_HTTP_STATUS:
		status_line(r, s, len);
		break;
	case LB_HTTP_HEADERS:
		if (len == 0)
			end_of_headers(r);
		else
			header_line(r, s, len);
		break;
	case LB_HTTP_BODY:
		chunk_line(r, s, len);
		break;
	default:
		break;
	}
}

/* Take bytes up to and including the next LF; returns how many were consumed. */
static size_t feed_line(struct lb_http_resp *r, const char *buf, size_t n) {
	const char *nl = memchr(buf, '\n', n);
	size_t take = nl ? (size_t)(nl - buf) + 1 : n, copy = nl ? take - 1 : take;
	if (!line_budget(r, take))
		return take;
	if (r->line_len + copy >= LB_HTTP_LINE_MAX) {
		bool size_line = r->phase == LB_HTTP_BODY && r->chunk == CH_SIZE;
		fail(r, size_line ? "bad chunk size" : "headers too large");
		return take;
	}
	memcpy(r->line + r->line_len, buf, copy);
	r->line_len += copy;
	/* Not HTTP at all (another protocol, TLS on a plain port): say so without waiting for a
	 * line end that may never come. */
	if (r->phase == LB_HTTP_STATUS &&
	    memcmp(r->line, "HTTP/", r->line_len < 5 ? r->line_len : 5) != 0) {
		fail(r, "malformed status line");
		return take;
	}
	if (!nl)
		return take;
	size_t len = r->line_len;
	if (len && r->line[len - 1] == '\r')
		len--;
	r->line[len] = '\0';
	r->line_len = 0;
	on_line(r, r->line, len);
	return take;
}

static size_t feed_body(struct lb_http_resp *r, const char *buf, size_t n) {
	size_t take = n;
	if (r->body != BODY_CLOSE && take > r->left)
		take = (size_t)r->left;
	body_data(r, buf, take);
	if (r->body == BODY_CLOSE)
		return take;
	r->left -= take;
	if (r->left == 0) {
		if (r->body == BODY_LENGTH)
			r->phase = LB_HTTP_DONE;
		else
			r->chunk = CH_DATA_END;
	}
	return take;
}

enum lb_http_phase lb_http_resp_feed(struct lb_http_resp *r, const char *buf, size_t n) {
	while (n > 0 && r->phase < LB_HTTP_DONE) {
		size_t used = in_line(r) ? feed_line(r, buf, n) : feed_body(r, buf, n);
		buf += used;
		n -= used;
	}
	return r->phase;
}

enum lb_http_phase lb_http_resp_eof(struct lb_http_resp *r) {
	switch (r->phase) {
	case LB_HTTP_STATUS:
		fail(r, "connection closed before the status line");
		break;
	case LB_HTTP_HEADERS:
		fail(r, "connection closed in the headers");
		break;
	case LB_HTTP_BODY:
		/* Close-delimited bodies end here; so does a chunked one missing only the last
		 * CRLF after its final chunk (the payload is complete). */
		if (r->body == BODY_CLOSE || (r->body == BODY_CHUNKED && r->chunk == CH_TRAILER))
			r->phase = LB_HTTP_DONE;
		else
			fail(r, "connection closed in the body");
		break;
	default:
		break;
	}
	return r->phase;
}

/* --- verdict --- */

bool lb_http_status_ok(const struct lb_check_http *c, unsigned code) {
	if (c->n_status == 0)
		return code >= 200 && code <= 299;
	for (size_t i = 0; i < c->n_status && i < LB_HTTP_MAX_RANGES; i++)
		if (code >= c->status[i].lo && code <= c->status[i].hi)
			return true;
	return false;
}

/* expect as it goes in a log line: control bytes as '.', long ones cut. */
static void printable(const char *s, size_t n, char *out, size_t len) {
	size_t max = 40, i = 0;
	for (; i < n && i < max && i + 4 < len; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '.' : s[i];
	if (i < n && i + 4 < len)
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
}

int lb_http_resp_verdict(const struct lb_http_resp *r, const struct lb_check_http *c, char *why,
			 size_t len) {
	if (r->have_status && !lb_http_status_ok(c, r->status)) {
		snprintf(why, len, "HTTP %u", r->status);
		return -1;
	}
	if (r->have_status && r->has_expect && r->found)
		return 1;
	if (r->phase == LB_HTTP_ERROR) {
		snprintf(why, len, "%s", r->error);
		return -1;
	}
	if (r->phase != LB_HTTP_DONE)
		return 0;
	if (r->has_expect && !r->found) {
		char e[48];
		printable(r->expect, r->expect_len, e, sizeof(e));
		snprintf(why, len, "body lacks \"%s\"", e);
		return -1;
	}
	return 1;
}

const char *lb_http_resp_waiting_for(const struct lb_http_resp *r) {
	return r->phase <= LB_HTTP_HEADERS ? "headers" : "body";
}
