/* A pure, incremental reader of one HTTP/1.x response, for the http and https checks.
 *
 * Bytes are fed in any split (one at a time works); the reader keeps one line (status, header,
 * chunk size or trailer) and a window of strlen(expect) - 1 bytes of body, never the body itself:
 * a probe costs a few KiB whatever the backend sends. It skips 1xx interim responses (100
 * Continue), finds the body's length (Content-Length, chunked, or up to the close), reads at most
 * LB_HTTP_BODY_MAX bytes of it and looks for `expect` there, across any split. Whatever a server
 * sends, a response ends (or fails) within about 200 KiB, so a probe never reads forever. It does
 * no IO and knows no sockets, so every split of every case is unit-testable. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define LB_HTTP_LINE_MAX 4096  /* one status, header, chunk-size or trailer line */
#define LB_HTTP_HEAD_MAX 32768 /* status lines and headers (1xx included), or trailers */
#define LB_HTTP_BODY_MAX 65536 /* body bytes read and searched for expect; also the most bytes
				* of chunk framing (sizes, extensions, CRLFs) taken */

enum lb_http_phase {
	LB_HTTP_STATUS,  /* before or in the status line */
	LB_HTTP_HEADERS, /* in the headers */
	LB_HTTP_BODY,    /* in the body (including chunk framing and trailers) */
	LB_HTTP_DONE,    /* the response ended, or LB_HTTP_BODY_MAX bytes of body were read */
	LB_HTTP_ERROR,   /* see error */
};

/* Read-only for callers, except through the functions below. */
struct lb_http_resp {
	enum lb_http_phase phase;
	bool have_status;  /* the final (non-1xx) response's headers are complete */
	unsigned status;   /* its code, once have_status */
	bool has_expect;
	bool found;        /* expect was seen in the body */
	const char *error; /* phase ERROR: a static reason ("bad chunk size") */

	/* private */
	uint8_t body, chunk;
	bool got_length, chunked, coded;
	uint64_t length, left;
	size_t body_seen, head_seen, frame_seen, line_len;
	size_t expect_len, tail_len;
	char *expect; /* a copy: the config may be replaced while a probe runs */
	char *tail;   /* the last expect_len - 1 body bytes, plus as many of scratch */
	char line[LB_HTTP_LINE_MAX];
};

/* A reader looking for expect (NULL: no body check). NULL when out of memory. */
struct lb_http_resp *lb_http_resp_new(const char *expect);
void lb_http_resp_free(struct lb_http_resp *r);

/* Feed the next n bytes of the stream; returns the phase after them. Bytes after the end of the
 * response (or after an error) are ignored. */
enum lb_http_phase lb_http_resp_feed(struct lb_http_resp *r, const char *buf, size_t n);
/* The peer closed the stream: ends a close-delimited body, else is an error. */
enum lb_http_phase lb_http_resp_eof(struct lb_http_resp *r);

/* The verdict so far for check c: 1 up, -1 down (reason in why, e.g. "HTTP 503",
 * "body lacks \"ok\""), 0 not decided yet (read on). Once non-zero it never changes: a status
 * outside the ranges decides as soon as the headers end, a found expect as soon as it is seen. */
int lb_http_resp_verdict(const struct lb_http_resp *r, const struct lb_check_http *c, char *why,
			 size_t len);
/* What a timeout interrupted: "headers" or "body". */
const char *lb_http_resp_waiting_for(const struct lb_http_resp *r);

/* Whether code is in c's status ranges (none configured: 200-299). */
bool lb_http_status_ok(const struct lb_check_http *c, unsigned code);
