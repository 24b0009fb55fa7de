/* libFuzzer harness: the HTTP response reader (src/health/http_resp.c) on arbitrary bytes.
 * Input: one byte n (mod 16), then n bytes of `expect` (none when n is 0), then the stream. The
 * reader must give the same result fed whole, one byte at a time, and in the uneven pieces the
 * stream's own bytes choose: a split must never change a verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/health/http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	enum lb_http_phase phase;
	bool have_status, found;
	unsigned status;
	const char *error;
};

/* Feed in pieces: step 0 whole, 1 one byte at a time, else sizes taken from the data itself. */
static struct outcome run(const char *expect, const char *s, size_t n, int step) {
	struct lb_http_resp *r = lb_http_resp_new(expect);
	if (!r)
		abort();
	for (size_t i = 0; i < n;) {
		size_t k = step == 0 ? n - i : step == 1 ? 1 : 1 + (uint8_t)s[i] % 7;
		if (k > n - i)
			k = n - i;
		lb_http_resp_feed(r, s + i, k);
		i += k;
	}
	lb_http_resp_eof(r);
	struct outcome o = {r->phase, r->have_status, r->found, r->status, r->error};
	lb_http_resp_free(r);
	return o;
}

static bool same(struct outcome a, struct outcome b) {
	return a.phase == b.phase && a.have_status == b.have_status && a.found == b.found &&
	       (!a.have_status || a.status == b.status) &&
	       (a.error == b.error || (a.error && b.error && !strcmp(a.error, b.error)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (size < 1)
		return 0;
	size_t n = data[0] % 16;
	if (size < 1 + n)
		return 0;
	char expect[16];
	memcpy(expect, data + 1, n);
	expect[n] = 0;
	if (strlen(expect) != n)
		return 0; /* the config never holds a NUL in expect */
	const char *s = (const char *)data + 1 + n;
	size_t len = size - 1 - n;
	struct outcome whole = run(n ? expect : NULL, s, len, 0);
	if (!same(whole, run(n ? expect : NULL, s, len, 1)) ||
	    !same(whole, run(n ? expect : NULL, s, len, 2)))
		abort();
	return 0;
}
