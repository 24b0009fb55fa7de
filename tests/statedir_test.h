/* Helpers shared by the tests of the state directory and its records (test_statedir, test_state,
 * test_drain): a temporary directory per test binary, files in it, the directory opened as a state
 * directory, log capture, and the corrupt-record loop.
 *
 * Define STATEDIR_TEST_NAME (a string, e.g. "drain") before including: the directory is
 * /tmp/ezlb-test-<name>-XXXXXX, made by setup and removed by teardown. */
#pragma once
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "statedir.h"
#include "util.h"

#ifndef STATEDIR_TEST_NAME
#error "define STATEDIR_TEST_NAME before including statedir_test.h"
#endif

static char dir[] = "/tmp/ezlb-test-" STATEDIR_TEST_NAME "-XXXXXX";

/* dir/name, to free. */
static inline char *path_in(const char *name) {
	char *p;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static inline void write_bytes(const char *path, const char *data, size_t len) {
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static inline void write_file(const char *path, const char *text) {
	write_bytes(path, text, strlen(text));
}

/* The file's text (up to 8191 bytes), to free. */
static inline char *read_file(const char *path) {
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char *buf = calloc(1, 8192);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 8191, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* The state directory dir/name, made if missing. */
static inline void sd_open(const char *name, struct lb_statedir *sd) {
	_cleanup_free_ char *p = path_in(name);
	assert_int_equal(lb_statedir_open(p, sd), 0);
}

/* The names in a directory other than . and .., as "a b c" (sorted); they must fit in buf. */
static inline void list_dir(const char *name, char *buf, size_t len) {
	_cleanup_free_ char *p = path_in(name);
	struct dirent **e;
	int n = scandir(p, &e, NULL, alphasort);
	assert_true(n >= 0);
	size_t off = 0;
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		if (e[i]->d_name[0] != '.') {
			int w = snprintf(buf + off, len - off, "%s%s", off ? " " : "", e[i]->d_name);
			assert_true(w >= 0 && (size_t)w < len - off);
			off += (size_t)w;
		}
		free(e[i]);
	}
	free(e);
}

/* stderr (where log lines go off the journal) into dir/stderr until stderr_capture_end, which
 * puts what was written into buf. Returns the saved stderr for stderr_capture_end. */
static inline int stderr_capture_begin(void) {
	_cleanup_free_ char *cap = path_in("stderr");
	int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	return saved;
}

static inline void stderr_capture_end(int saved, char *buf, size_t len) {
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	_cleanup_free_ char *cap = path_in("stderr");
	_cleanup_free_ char *text = read_file(cap);
	snprintf(buf, len, "%s", text);
}

/* ---- corrupt records ----
 * A loader loads the record of sd into a record that holds an entry beforehand (so that the load
 * is seen to empty it), frees it, and returns what the load returned; *n is how many entries the
 * load left. */
typedef int (*record_loader)(const struct lb_statedir *sd, size_t *n);

/* data (len bytes, NULs included) as the record file at path: the load refuses it whole
 * (-EBADMSG) and leaves the record empty. */
static inline void assert_refused(const struct lb_statedir *sd, const char *path, const char *data,
				  size_t len, record_loader load) {
	size_t n = SIZE_MAX;
	write_bytes(path, data, len);
	assert_int_equal(load(sd, &n), -EBADMSG);
	assert_int_equal(n, 0);
}

/* A line far too long: prefix (the header and the start of an entry) padded with fill to 1500
 * bytes, then a newline; refused as assert_refused says. */
static inline void assert_long_line_refused(const struct lb_statedir *sd, const char *path,
					    const char *prefix, char fill, record_loader load) {
	char big[1502];
	size_t n = strlen(prefix);
	assert_true(n < 1500);
	memcpy(big, prefix, n);
	memset(big + n, fill, 1500 - n);
	strcpy(big + 1500, "\n");
	assert_refused(sd, path, big, strlen(big), load);
}

/* Each of the n_texts texts in turn as the record file at path: every one refused whole. */
static inline void assert_all_refused(const struct lb_statedir *sd, const char *path,
				      const char *const *texts, size_t n_texts, record_loader load) {
	for (size_t i = 0; i < n_texts; i++) {
		print_message("  corrupt[%zu]\n", i);
		assert_refused(sd, path, texts[i], strlen(texts[i]), load);
	}
}

/* ---- the group's setup and teardown ---- */

static inline int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	return remove(path);
}

static inline int setup(void **state) {
	log_set_max_level(LOG_DEBUG); /* the messages are part of what is checked by eye */
	return mkdtemp(dir) ? 0 : -1;
}

static inline int teardown(void **state) {
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
