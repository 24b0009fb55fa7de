/* ezlb import-keepalived on files: include resolution as keepalived does it (relative to the
 * including file, globs sorted, braces), include loops and depth, files that must not be read
 * (FIFOs, directories, executables, huge ones) handled without blocking, errors located in the
 * file they are in. Each test builds its tree in a fresh temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "import.h"
#include "import_test.h"

static char dir[64]; /* /tmp/ezlb-import-XXXXXX */

static const char *at(const char *name) {
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void put(const char *name, const char *text) {
	const char *p = at(name);
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s", p);
	for (char *s = sub + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(sub, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state) {
	snprintf(dir, sizeof(dir), "/tmp/ezlb-import-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define VS(ip) "virtual_server " ip " 80 {\n protocol TCP\n real_server 10.1.1.2 80 {\n }\n}\n"

static void assert_has(const char *text, const char *want) {
	if (!strstr(text, want))
		print_error("\"%s\" not in:\n%s\n", want, text);
	assert_non_null(strstr(text, want));
}

/* Relative includes from the including file's directory, a glob in sorted order, braces. */
static void test_relative_and_glob(void **state) {
	put("etc/keepalived.conf", "include conf.d/*.conf\ninclude {x,y}/more.conf\n" VS("10.0.0.9"));
	put("etc/conf.d/b.conf", VS("10.0.0.2"));
	put("etc/conf.d/a.conf", "include ../sub/deep.conf\n" VS("10.0.0.1"));
	put("etc/sub/deep.conf", VS("10.0.0.3"));
	put("etc/x/more.conf", VS("10.0.0.4"));
	put("etc/y/more.conf", VS("10.0.0.5"));
	struct import_run r = import_file(at("etc/keepalived.conf"));
	assert_int_equal(r.rc, 0);
	const char *order[] = {"10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.4:80", "10.0.0.5:80", "10.0.0.9:80"};
	const char *p = r.out;
	for (size_t i = 0; i < ARRAY_LEN(order); i++) {
		const char *q = strstr(p, order[i]);
		if (!q)
			print_error("%s not after the previous one in:\n%s\n", order[i], r.out);
		assert_non_null(q);
		p = q;
	}
	assert_string_equal(r.err, "");
	import_run_free(&r);
}

/* Errors name the included file and its line. */
static void test_error_in_included_file(void **state) {
	put("main.conf", VS("10.0.0.1") "include inc.conf\n");
	put("inc.conf", "virtual_server 10.0.0.2 80 {\n protocol TCP\n");
	struct import_run r = import_file(at("main.conf"));
	assert_int_equal(r.rc, -EINVAL);
	assert_has(r.err, "/inc.conf:1: the block of \"virtual_server\" is not closed");
	assert_string_equal(r.out, "");
	import_run_free(&r);
}

static void test_include_loop(void **state) {
	put("a.conf", "include b.conf\n");
	put("b.conf", "\n\ninclude a.conf\n");
	struct import_run r = import_file(at("a.conf"));
	assert_int_equal(r.rc, -ELOOP);
	assert_has(r.err, "/b.conf:3: include: ");
	assert_has(r.err, "a.conf includes itself (an include loop)");
	import_run_free(&r);
}

/* A chain deeper than the limit, without a loop. */
static void test_include_depth(void **state) {
	char name[32], text[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "include d%d.conf\n", i + 1);
		put(name, text);
	}
	put("d20.conf", VS("10.0.0.1"));
	struct import_run r = import_file(at("d0.conf"));
	assert_int_equal(r.rc, -ELOOP);
	assert_has(r.err, "includes nested deeper than 16");
	import_run_free(&r);
}

/* What keepalived skips with a message: nothing matching, a directory, a FIFO (never opened for
 * a blocking read), an executable file, a symbolic link to a FIFO. A link to a file is read. */
static void test_skipped_files(void **state) {
	put("main.conf", "include none/*.conf\ninclude dir*\ninclude fifo\ninclude exec.conf\n"
			 "include link-fifo\ninclude link-ok\n" VS("10.0.0.1"));
	mkdir(at("dir.d"), 0755);
	assert_int_equal(mkfifo(at("fifo"), 0644), 0);
	put("exec.conf", VS("10.0.0.2"));
	chmod(at("exec.conf"), 0755);
	assert_int_equal(symlink(at("fifo"), at("link-fifo")), 0);
	put("ok.conf", VS("10.0.0.3"));
	assert_int_equal(symlink("ok.conf", at("link-ok")), 0);
	struct import_run r = import_file(at("main.conf"));
	assert_int_equal(r.rc, 0);
	assert_has(r.err, "main.conf:1: warning: include none/*.conf: no file matches");
	assert_has(r.err, "main.conf:2: warning: include dir*: ");
	assert_has(r.err, "dir.d/ is a directory; skipped");
	assert_has(r.err, "main.conf:3: warning: include: ");
	assert_has(r.err, "fifo is not a regular file; skipped");
	assert_has(r.err, "main.conf:4: warning: include: ");
	assert_has(r.err, "exec.conf is executable; skipped");
	assert_has(r.err, "main.conf:5: warning: include: ");
	assert_has(r.out, "10.0.0.3:80");
	assert_has(r.out, "10.0.0.1:80");
	assert_null(strstr(r.out, "10.0.0.2"));
	import_run_free(&r);
}

static void test_main_file_unreadable(void **state) {
	struct import_run r = import_file(at("missing.conf"));
	assert_int_equal(r.rc, -ENOENT);
	assert_has(r.err, "missing.conf: No such file or directory");
	import_run_free(&r);
	assert_int_equal(mkfifo(at("main-fifo"), 0644), 0);
	r = import_file(at("main-fifo"));
	assert_int_equal(r.rc, -EINVAL);
	assert_has(r.err, "main-fifo: is not a regular file");
	import_run_free(&r);
	r = import_file(dir);
	assert_int_equal(r.rc, -EINVAL);
	assert_has(r.err, ": is a directory");
	import_run_free(&r);
}

/* Past 16 MiB nothing more is read. */
static void test_huge_file(void **state) {
	put("huge.conf", "");
	assert_int_equal(truncate(at("huge.conf"), (16 << 20) + 1), 0);
	put("main.conf", "include huge.conf\n");
	struct import_run r = import_file(at("main.conf"));
	assert_int_equal(r.rc, -EFBIG);
	assert_has(r.err, "main.conf:1: include: ");
	assert_has(r.err, "huge.conf is too large");
	import_run_free(&r);
}

/* A NUL byte or a line keepalived would cut: errors with their line. */
static void test_bad_text(void **state) {
	FILE *f = fopen(at("nul.conf"), "w");
	assert_non_null(f);
	fwrite("global_defs {\n}\nvirtual_server\0x\n", 1, 33, f);
	fclose(f);
	struct import_run r = import_file(at("nul.conf"));
	assert_int_equal(r.rc, -EINVAL);
	assert_has(r.err, "nul.conf:3: NUL byte in the line");
	import_run_free(&r);
	char line[1100];
	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	put("long.conf", line);
	r = import_file(at("long.conf"));
	assert_int_equal(r.rc, -E2BIG);
	assert_has(r.err, "long.conf:1: line longer than 1022 bytes");
	import_run_free(&r);
}

/* The fuzzer's mode: includes are named, not followed. */
static void test_no_include(void **state) {
	struct import_run r = import_text("include /etc/passwd\n", KV_NO_INCLUDE);
	assert_int_equal(r.rc, 0);
	assert_has(r.err, "k.conf:1: warning: include /etc/passwd: not followed here");
	import_run_free(&r);
}

/* An include inside a block is read in place, as keepalived does (it reads includes as text). */
static void test_include_inside_block(void **state) {
	put("main.conf", "virtual_server 10.0.0.1 80 {\n protocol TCP\n include rs/*.conf\n}\n");
	put("rs/1.conf", "real_server 10.1.1.2 80 {\n weight 5\n}\n");
	put("rs/2.conf", "real_server 10.1.1.3 80 {\n weight 6\n}\n");
	struct import_run r = import_file(at("main.conf"));
	assert_int_equal(r.rc, 0);
	assert_has(r.out, "      - {address: 10.1.1.2:80, weight: 5}\n      - {address: 10.1.1.3:80, weight: 6}\n");
	import_run_free(&r);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relative_and_glob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_in_included_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skipped_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_file_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_text, setup, teardown),
		cmocka_unit_test(test_no_include),
		cmocka_unit_test_setup_teardown(test_include_inside_block, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
