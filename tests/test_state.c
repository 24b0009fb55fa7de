/* The ownership record: the sorted set, and the file (roundtrip, missing, corrupt, atomic). */
#define STATEDIR_TEST_NAME "state"
#include "statedir_test.h"

#include "state.h"

static void key(const char *s, struct lb_svc_key *k) {
	assert_int_equal(lb_svc_key_parse(s, k), 0);
}

static void add(struct lb_owned *o, const char *s) {
	struct lb_svc_key k;
	key(s, &k);
	assert_int_equal(lb_owned_add(o, &k), 0);
}

static bool has(const struct lb_owned *o, const char *s) {
	struct lb_svc_key k;
	key(s, &k);
	return lb_owned_has(o, &k);
}

/* The set as "k1; k2; ...", to compare with one string. */
static const char *dump(const struct lb_owned *o, char *buf, size_t len) {
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < o->n; i++) {
		char k[LB_SVC_KEYSTRLEN];
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "; " : "",
					lb_svc_key_fmt(&o->keys[i], k, sizeof(k)));
		assert_true(off < len);
	}
	return buf;
}

static void test_set_sorted_unique(void **state) {
	struct lb_owned o = {0};
	char buf[512];
	add(&o, "udp [::1]:53");
	add(&o, "tcp 10.0.0.2:80");
	add(&o, "sctp 10.0.0.1:9");
	add(&o, "tcp 10.0.0.1:443");
	add(&o, "tcp 10.0.0.1:80");
	add(&o, "tcp 10.0.0.2:80"); /* duplicate: no change */
	add(&o, "udp 10.0.0.1:53");
	assert_string_equal(dump(&o, buf, sizeof(buf)),
			    "tcp 10.0.0.1:80; tcp 10.0.0.1:443; tcp 10.0.0.2:80; udp 10.0.0.1:53; "
			    "udp [::1]:53; sctp 10.0.0.1:9");
	assert_true(has(&o, "tcp 10.0.0.1:443"));
	assert_true(has(&o, "sctp 10.0.0.1:9"));
	assert_false(has(&o, "udp 10.0.0.1:80"));
	assert_false(has(&o, "tcp 10.0.0.1:81"));
	struct lb_svc_key k;
	key("tcp 10.0.0.2:80", &k);
	lb_owned_remove(&o, &k);
	lb_owned_remove(&o, &k); /* absent: no-op */
	key("sctp 10.0.0.1:9", &k);
	lb_owned_remove(&o, &k); /* the last one */
	key("tcp 10.0.0.1:80", &k);
	lb_owned_remove(&o, &k); /* the first one */
	assert_string_equal(dump(&o, buf, sizeof(buf)),
			    "tcp 10.0.0.1:443; udp 10.0.0.1:53; udp [::1]:53");
	assert_false(has(&o, "tcp 10.0.0.2:80"));
	lb_owned_free(&o);
	assert_int_equal(o.n, 0);
	assert_false(has(&o, "tcp 10.0.0.1:443")); /* an empty set answers too */
	assert_null(o.keys);
}

static void test_set_many(void **state) {
	struct lb_owned o = {0};
	/* descending insertion of 500 keys: each goes to the front */
	for (int i = 499; i >= 0; i--) {
		char s[64];
		snprintf(s, sizeof(s), "tcp 10.0.%d.%d:80", i / 256, i % 256);
		add(&o, s);
	}
	assert_int_equal(o.n, 500);
	for (size_t i = 1; i < o.n; i++)
		assert_true(lb_svc_key_cmp(&o.keys[i - 1], &o.keys[i]) < 0);
	lb_owned_free(&o);
}

static void test_roundtrip(void **state) {
	_cleanup_free_ char *path = path_in("run/ezlb/owned"); /* directories made on demand */
	struct lb_owned o = {0}, back = {0};
	struct lb_statedir sd;
	char a[512], b[512];
	sd_open("run/ezlb", &sd);
	add(&o, "udp [2001:db8::1]:53");
	add(&o, "tcp 10.0.0.1:80");
	add(&o, "sctp 10.0.0.1:9");
	mode_t old = umask(022);
	assert_int_equal(lb_owned_save(&sd, &o), 0);
	umask(old);
	_cleanup_free_ char *text = read_file(path);
	assert_string_equal(text, "# ezlb owned services v1\n"
				  "tcp 10.0.0.1:80\n"
				  "udp [2001:db8::1]:53\n"
				  "sctp 10.0.0.1:9\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	list_dir("run/ezlb", a, sizeof(a));
	assert_string_equal(a, "owned"); /* no temporary file left behind */
	add(&back, "tcp 10.9.9.9:1"); /* load replaces what was there */
	assert_int_equal(lb_owned_load(&sd, &back), 0);
	assert_string_equal(dump(&back, b, sizeof(b)), dump(&o, a, sizeof(a)));
	/* an empty set saves and loads as empty */
	struct lb_owned none = {0};
	assert_int_equal(lb_owned_save(&sd, &none), 0);
	assert_int_equal(lb_owned_load(&sd, &back), 0);
	assert_int_equal(back.n, 0);
	lb_owned_free(&o);
	lb_owned_free(&back);
	lb_statedir_close(&sd);
}

static void test_overwrite_and_stale_tmp(void **state) {
	_cleanup_free_ char *tmp = path_in("stale/owned.tmp");
	struct lb_owned o = {0}, back = {0};
	struct lb_statedir sd;
	struct lb_statedir_holder h;
	char buf[256];
	sd_open("stale", &sd);
	add(&o, "tcp 10.0.0.1:80");
	add(&o, "tcp 10.0.0.2:80");
	assert_int_equal(lb_owned_save(&sd, &o), 0);
	/* a crash mid-save left a longer temporary file; the next save must not inherit its tail */
	write_file(tmp, "garbage garbage garbage garbage garbage garbage garbage garbage\n");
	struct lb_svc_key k;
	key("tcp 10.0.0.1:80", &k);
	lb_owned_remove(&o, &k);
	assert_int_equal(lb_owned_save(&sd, &o), 0);
	assert_int_equal(lb_owned_load(&sd, &back), 0);
	assert_string_equal(dump(&back, buf, sizeof(buf)), "tcp 10.0.0.2:80");
	/* ...and it goes when the lock is next taken */
	assert_int_equal(lb_statedir_lock(&sd, "once", &h), 0);
	list_dir("stale", buf, sizeof(buf));
	assert_string_equal(buf, "lock owned");
	lb_owned_free(&o);
	lb_owned_free(&back);
	lb_statedir_close(&sd);
}

/* Only files in the test dir: the directory listing must show exactly what the test made. */
static void test_atomic_leaves_only_the_record(void **state) {
	struct lb_owned o = {0};
	struct lb_statedir sd;
	char buf[256];
	sd_open("clean", &sd);
	add(&o, "tcp 10.0.0.1:80");
	for (int i = 0; i < 3; i++)
		assert_int_equal(lb_owned_save(&sd, &o), 0);
	list_dir("clean", buf, sizeof(buf));
	assert_string_equal(buf, "owned");
	lb_owned_free(&o);
	lb_statedir_close(&sd);
}

static int load_logged(const struct lb_statedir *sd, struct lb_owned *o, char *buf, size_t len);

static void assert_precious(const char *target) {
	_cleanup_free_ char *text = read_file(target);
	assert_string_equal(text, "precious\n");
}

/* A symbolic link planted where the older versions wrote their temporary file (owned.tmp) used
 * to redirect the write to its target. Now the write goes to a new file and the link is left:
 * the target is untouched and the record is a regular file. */
static void test_planted_tmp_symlink(void **state) {
	_cleanup_free_ char *target = path_in("victim");
	_cleanup_free_ char *planted = path_in("plant/owned.tmp");
	_cleanup_free_ char *path = path_in("plant/owned");
	struct lb_owned o = {0}, back = {0};
	struct lb_statedir sd;
	char buf[256];
	write_file(target, "precious\n");
	sd_open("plant", &sd);
	assert_int_equal(symlink(target, planted), 0);
	add(&o, "tcp 10.0.0.1:80");
	assert_int_equal(lb_owned_save(&sd, &o), 0);
	assert_precious(target);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lb_owned_load(&sd, &back), 0);
	assert_string_equal(dump(&back, buf, sizeof(buf)), "tcp 10.0.0.1:80");
	lb_owned_free(&o);
	lb_owned_free(&back);
	lb_statedir_close(&sd);
}

/* A symbolic link at the record itself is not followed: load refuses it (-ELOOP, which the
 * callers treat as an error, not as an empty record), and its target is never read or written. */
static void test_planted_record_symlink(void **state) {
	_cleanup_free_ char *target = path_in("victim2");
	_cleanup_free_ char *path = path_in("plant2/owned");
	struct lb_owned o = {0};
	struct lb_statedir sd;
	char log[1024];
	write_file(target, "precious\n");
	sd_open("plant2", &sd);
	assert_int_equal(symlink(target, path), 0);
	add(&o, "tcp 10.0.0.1:80");
	assert_int_equal(load_logged(&sd, &o, log, sizeof(log)), -ELOOP);
	assert_int_equal(o.n, 0);
	assert_non_null(strstr(log, "cannot read ownership record "));
	assert_non_null(strstr(log, "/plant2/owned: it is a symbolic link, which ezlb never follows"));
	/* a save replaces the link itself, never writes through it */
	add(&o, "tcp 10.0.0.1:80");
	assert_int_equal(lb_owned_save(&sd, &o), 0);
	assert_precious(target);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	lb_owned_free(&o);
	lb_statedir_close(&sd);
}

static void test_missing(void **state) {
	struct lb_owned o = {0};
	struct lb_statedir sd;
	sd_open("nothing-here", &sd);
	add(&o, "tcp 10.0.0.1:80");
	assert_int_equal(lb_owned_load(&sd, &o), -ENOENT);
	assert_int_equal(o.n, 0);
	lb_owned_free(&o);
	lb_statedir_close(&sd);
}

/* Every one is refused whole: a record that is partly wrong cannot be trusted for the rest. */
static const char *const corrupt[] = {
	"",                                                   /* empty */
	"tcp 10.0.0.1:80\n",                                  /* no header */
	"# ezlb owned services v2\ntcp 10.0.0.1:80\n",        /* unknown version */
	"# ezlb owned services v1\ntcp 10.0.0.1:80\nhello\n", /* garbage line */
	"# ezlb owned services v1\ntcp 10.0.0.1:80\ntcp 10.0.0.2:8", /* truncated last line */
	"# ezlb owned services v1",                           /* truncated header */
	"# ezlb owned services v1\ntcp 10.0.0.1:0\n",         /* port 0 */
	"# ezlb owned services v1\ntcp 10.0.0.1:65536\n",     /* port too big */
	"# ezlb owned services v1\ntcp ::1:80\n",             /* unbracketed IPv6 */
	"# ezlb owned services v1\nicmp 10.0.0.1:80\n",       /* unknown protocol */
	"# ezlb owned services v1\ntcp  10.0.0.1:80\n",       /* two spaces */
	"# ezlb owned services v1\ntcp 10.0.0.1:80 \n",       /* trailing space */
	"# ezlb owned services v1\r\ntcp 10.0.0.1:80\r\n",    /* CRLF */
};

/* The loader of the corrupt cases (statedir_test.h): into a record that held a key. */
static int load_over_one(const struct lb_statedir *sd, size_t *n) {
	struct lb_owned o = {0};
	add(&o, "tcp 10.0.0.1:80");
	int r = lb_owned_load(sd, &o);
	*n = o.n;
	lb_owned_free(&o);
	return r;
}

static void test_corrupt(void **state) {
	_cleanup_free_ char *path = path_in("corrupt/owned");
	struct lb_statedir sd;
	sd_open("corrupt", &sd);
	assert_all_refused(&sd, path, corrupt, ARRAY_SIZE(corrupt), load_over_one);
	/* a line far too long to be a key */
	assert_long_line_refused(&sd, path, "# ezlb owned services v1\ntcp 10.0.0.1:80", ' ',
				 load_over_one);
	/* a NUL byte inside a line that would parse if the line ended there */
	static const char nul[] = "# ezlb owned services v1\ntcp 10.0.0.1:80\0tcp 10.0.0.2:80\n";
	assert_refused(&sd, path, nul, sizeof(nul) - 1, load_over_one);
	lb_statedir_close(&sd);
}

/* Runs load with stderr (where log lines go off the journal) captured into buf. */
static int load_logged(const struct lb_statedir *sd, struct lb_owned *o, char *buf, size_t len) {
	int saved = stderr_capture_begin();
	int r = lb_owned_load(sd, o);
	stderr_capture_end(saved, buf, len);
	return r;
}

static void test_messages(void **state) {
	_cleanup_free_ char *missing = path_in("msg-missing/owned");
	_cleanup_free_ char *bad = path_in("msg-bad/owned");
	_cleanup_free_ char *want = NULL;
	struct lb_owned o = {0};
	struct lb_statedir sd1, sd2;
	char log[1024];
	sd_open("msg-missing", &sd1);
	sd_open("msg-bad", &sd2);
	assert_int_equal(load_logged(&sd1, &o, log, sizeof(log)), -ENOENT);
	assert_true(asprintf(&want, "ezlb[info]: no ownership record at %s: ezlb owns only the "
				    "services the config names\n", missing) > 0);
	assert_non_null(strstr(log, want));
	free(want);
	write_file(bad, "# ezlb owned services v1\ntcp 10.0.0.1:80\ntcp 10.0.0.1\n");
	assert_int_equal(load_logged(&sd2, &o, log, sizeof(log)), -EBADMSG);
	assert_true(asprintf(&want, "ezlb[warn]: %s:3: corrupt ownership record: not a service key "
				    "(expected e.g. \"tcp 10.0.0.1:80\"); ignoring it, so nothing "
				    "outside the config will be deleted this run\n", bad) > 0);
	assert_non_null(strstr(log, want));
	lb_owned_free(&o);
	lb_statedir_close(&sd1);
	lb_statedir_close(&sd2);
}

static void test_comments_and_blank_lines(void **state) {
	_cleanup_free_ char *path = path_in("commented/owned");
	struct lb_owned o = {0};
	struct lb_statedir sd;
	char buf[256];
	sd_open("commented", &sd);
	write_file(path, "# ezlb owned services v1\n\n# added by hand\nudp 10.0.0.1:53\n"
			 "tcp 10.0.0.1:80\ntcp 10.0.0.1:80\n\n");
	assert_int_equal(lb_owned_load(&sd, &o), 0);
	assert_string_equal(dump(&o, buf, sizeof(buf)), "tcp 10.0.0.1:80; udp 10.0.0.1:53");
	lb_owned_free(&o);
	lb_statedir_close(&sd);
}

static void test_io_errors(void **state) {
	_cleanup_free_ char *asdir = path_in("io/owned");
	_cleanup_free_ char *fifo = path_in("io2/owned");
	struct lb_owned o = {0};
	struct lb_statedir sd, sd2;
	char buf[256], log[1024];
	sd_open("io", &sd);
	sd_open("io2", &sd2);
	add(&o, "tcp 10.0.0.1:80");
	/* the record is a directory: not read, and rename fails and the temporary file is removed */
	assert_int_equal(mkdir(asdir, 0755), 0);
	assert_int_equal(lb_owned_load(&sd, &o), -EISDIR);
	assert_int_equal(o.n, 0);
	add(&o, "tcp 10.0.0.1:80");
	assert_int_equal(lb_owned_save(&sd, &o), -EISDIR);
	list_dir("io", buf, sizeof(buf));
	assert_string_equal(buf, "owned");
	/* a FIFO would block a plain open for ever */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(load_logged(&sd2, &o, log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "/io2/owned: not a regular file"));
	lb_owned_free(&o);
	lb_statedir_close(&sd);
	lb_statedir_close(&sd2);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_sorted_unique),
		cmocka_unit_test(test_set_many),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_overwrite_and_stale_tmp),
		cmocka_unit_test(test_atomic_leaves_only_the_record),
		cmocka_unit_test(test_planted_tmp_symlink),
		cmocka_unit_test(test_planted_record_symlink),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_io_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
