/* The import tests' helper: run the import on a text or a file, with its output and messages
 * caught in memory. Header-only: every tests/import/test_*.c is a program of its own. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct import_run {
	int rc;
	char *out, *err;
	size_t out_len, err_len;
	FILE *o, *e;
};

static inline void import_open(struct import_run *r) {
	*r = (struct import_run){0};
	r->o = open_memstream(&r->out, &r->out_len);
	r->e = open_memstream(&r->err, &r->err_len);
	if (!r->o || !r->e)
		abort();
}

static inline void import_close(struct import_run *r) {
	fclose(r->o);
	fclose(r->e);
}

/* text, named "k.conf", with the config id "testhost". */
static inline struct import_run import_text(const char *text, unsigned flags) {
	struct import_run r;
	import_open(&r);
	r.rc = kv_import_buf("k.conf", text, strlen(text), flags, "testhost", r.o, r.e);
	import_close(&r);
	return r;
}

static inline struct import_run import_file(const char *path) {
	struct import_run r;
	import_open(&r);
	r.rc = kv_import_file(path, r.o, r.e);
	import_close(&r);
	return r;
}

static inline void import_run_free(struct import_run *r) {
	free(r->out);
	free(r->err);
}
