/* libFuzzer harness: the JSON reader and writer (src/json.c) on arbitrary bytes.
 * - The reader never crashes or leaks, whatever the input, within its size and depth limits.
 * - What it accepts, the writer writes back (compact and pretty); that text parses again and is
 *   written back byte for byte the same (the round trip is a fixed point).
 * - The writer given the raw input as a string always produces text the strict reader accepts
 *   (every byte escaped or replaced as needed), and valid UTF-8 input reads back unchanged. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LEN (64 * 1024)
#define MAX_DEPTH 32

static char *write_value(const struct lb_json *v, unsigned indent, size_t *len) {
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	struct lb_jw w;
	lb_jw_init(&w, f, indent);
	lb_jw_value(&w, v);
	if (lb_jw_finish(&w) != 0 || fclose(f) != 0)
		abort();
	return buf;
}

/* Parses text that must parse, writes it back, and returns that. */
static char *reparse(const char *text, size_t len, size_t *out_len) {
	struct lb_json *v = NULL;
	if (lb_json_parse(text, len, SIZE_MAX, MAX_DEPTH, &v, NULL) != 0)
		abort();
	char *again = write_value(v, 0, out_len);
	lb_json_free(v);
	return again;
}

static void roundtrip(const struct lb_json *v) {
	size_t len, len2, plen, plen2;
	char *text = write_value(v, 0, &len);
	char *again = reparse(text, len, &len2);
	if (len2 != len || memcmp(text, again, len) != 0)
		abort();
	char *pretty = write_value(v, 2, &plen);
	char *from_pretty = reparse(pretty, plen, &plen2);
	if (plen2 != len || memcmp(text, from_pretty, len) != 0)
		abort();
	free(text);
	free(again);
	free(pretty);
	free(from_pretty);
}

/* Queries on whatever came out: they must not crash. */
static void query(const struct lb_json *v) {
	int64_t i;
	uint64_t u;
	lb_json_cstr(lb_json_get(v, "cmd"));
	lb_json_int64(v, &i);
	lb_json_uint64(v, &u);
	for (size_t k = 0; lb_json_is(v, LB_JSON_ARRAY) && k < v->n; k++)
		lb_json_cstr(&v->items[k]);
}

static void escape_any(const uint8_t *data, size_t size) {
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	struct lb_jw w;
	lb_jw_init(&w, f, 0);
	lb_jw_string_n(&w, (const char *)data, size);
	if (lb_jw_finish(&w) != 0 || fclose(f) != 0)
		abort();
	struct lb_json *v = NULL;
	if (lb_json_parse(buf, len, SIZE_MAX, 1, &v, NULL) != 0 || v->type != LB_JSON_STRING)
		abort();
	bool valid = true;
	for (size_t i = 0; i < size && valid;) {
		size_t l = lb_utf8_len(data + i, size - i);
		valid = l > 0;
		i += l;
	}
	if (valid && (v->len != size || memcmp(v->str, data, size) != 0))
		abort();
	lb_json_free(v);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	struct lb_json *v = NULL;
	struct lb_json_error err;
	int r = lb_json_parse((const char *)data, size, MAX_LEN, MAX_DEPTH, &v, &err);
	if (r == 0) {
		query(v);
		roundtrip(v);
		lb_json_free(v);
	} else if (v || (r == -EBADMSG && (err.offset > size || !err.why)))
		abort();
	escape_any(data, size);
	return 0;
}
