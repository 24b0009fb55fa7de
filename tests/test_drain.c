/* The drain record: the sorted set (put, find, merge, eq, copy), and the file in the state
 * directory (round trip, missing, corrupt, symbolic link, FIFO, directory). */
#include <signal.h>

#define STATEDIR_TEST_NAME "drain"
#include "drain_spec.h"
#include "statedir_test.h"

#include "drain.h"
#include "state.h"

/* ---- entries as text: "proto vip dest|* since timeout" (drain_spec.h) ---- */

static void put(struct lb_drains *d, const char *s) {
	struct lb_drain e = drain_entry(s);
	assert_int_equal(lb_drains_put(d, &e), 0);
}

/* find by the text of an entry's key ("proto vip dest|*"); NULL if absent */
static const struct lb_drain *find(const struct lb_drains *d, const char *svc, const char *dest) {
	struct lb_svc_key k;
	struct lb_addr a;
	assert_int_equal(lb_svc_key_parse(svc, &k), 0);
	if (!dest)
		return lb_drains_find(d, &k, NULL);
	assert_int_equal(lb_addr_parse(dest, &a), 0);
	return lb_drains_find(d, &k, &a);
}

static void keys_add(struct lb_owned *o, const char *s) {
	struct lb_svc_key k;
	assert_int_equal(lb_svc_key_parse(s, &k), 0);
	assert_int_equal(lb_owned_add(o, &k), 0);
}

/* ---- the set ---- */

static void test_put_find(void **state) {
	struct lb_drains d = {0};
	char buf[1024];
	assert_null(find(&d, "tcp 10.0.0.1:80", NULL)); /* an empty set answers */
	struct lb_drain probe = drain_entry("tcp 10.0.0.1:80 * 1 1");
	assert_null(lb_drains_find(NULL, &probe.svc, NULL)); /* no record at all */
	put(&d, "udp [2001:db8::1]:53 [2001:db8::10]:53 5 50");
	put(&d, "tcp 10.0.0.1:80 192.168.1.11:8080 3 30");
	put(&d, "tcp 10.0.0.1:80 * 1 10");
	put(&d, "tcp 10.0.0.1:80 192.168.1.10:8080 2 20");
	put(&d, "tcp 10.0.0.1:80 [2001:db8::10]:8080 7 70"); /* tun: another family than the VIP */
	put(&d, "sctp 10.0.0.3:9 * 6 60");
	put(&d, "tcp 10.0.0.0:80 192.168.1.10:8080 4 40");
	/* by service key (protocol, family, address, port), then destination: "*" (af 0) first */
	assert_string_equal(drains_fmt(&d, buf, sizeof(buf)),
			    "tcp 10.0.0.0:80 192.168.1.10:8080 4 40; "
			    "tcp 10.0.0.1:80 * 1 10; "
			    "tcp 10.0.0.1:80 192.168.1.10:8080 2 20; "
			    "tcp 10.0.0.1:80 192.168.1.11:8080 3 30; "
			    "tcp 10.0.0.1:80 [2001:db8::10]:8080 7 70; "
			    "udp [2001:db8::1]:53 [2001:db8::10]:53 5 50; "
			    "sctp 10.0.0.3:9 * 6 60");
	const struct lb_drain *e = find(&d, "tcp 10.0.0.1:80", NULL);
	assert_non_null(e);
	assert_int_equal(e->since_ms, 1);
	assert_int_equal(e->dest.af, 0);
	e = find(&d, "tcp 10.0.0.1:80", "192.168.1.11:8080");
	assert_non_null(e);
	assert_int_equal(e->since_ms, 3);
	assert_int_equal(e->timeout_ms, 30);
	e = find(&d, "udp [2001:db8::1]:53", "[2001:db8::10]:53");
	assert_non_null(e);
	assert_int_equal(e->since_ms, 5);
	/* absent: other port, other protocol, a service entry where only dests drain and back */
	assert_null(find(&d, "tcp 10.0.0.1:80", "192.168.1.11:8081"));
	assert_null(find(&d, "udp 10.0.0.1:80", "192.168.1.11:8080"));
	assert_null(find(&d, "tcp 10.0.0.0:80", NULL));
	assert_null(find(&d, "sctp 10.0.0.3:9", "10.0.0.3:9"));
	assert_null(find(&d, "tcp 9.9.9.9:1", NULL));
	assert_null(find(&d, "sctp 10.0.0.4:9", NULL));
	/* put replaces the entry with the same key */
	put(&d, "tcp 10.0.0.1:80 192.168.1.11:8080 33 330");
	assert_int_equal(d.n, 7);
	e = find(&d, "tcp 10.0.0.1:80", "192.168.1.11:8080");
	assert_int_equal(e->since_ms, 33);
	assert_int_equal(e->timeout_ms, 330);
	lb_drains_free(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.v);
	assert_null(find(&d, "tcp 10.0.0.1:80", NULL));
}

static void test_put_many(void **state) {
	struct lb_drains d = {0};
	/* descending: each goes to the front */
	for (int i = 399; i >= 0; i--) {
		char s[128];
		snprintf(s, sizeof(s), "tcp 10.0.%d.%d:80 %s %d 1000", i / 64, i % 64,
			 i % 2 ? "*" : "192.168.0.1:80", i);
		put(&d, s);
	}
	assert_int_equal(d.n, 400);
	for (size_t i = 1; i < d.n; i++)
		assert_true(lb_svc_key_cmp(&d.v[i - 1].svc, &d.v[i].svc) < 0);
	for (int i = 0; i < 400; i++)
		assert_int_equal(d.v[i].since_ms, i);
	lb_drains_free(&d);
}

static void test_merge(void **state) {
	struct lb_drains d = {0}, from = {0};
	struct lb_owned keys = {0};
	char buf[1024];
	put(&d, "tcp 10.0.0.1:80 192.168.1.10:8080 1 10");
	put(&d, "tcp 10.0.0.1:80 192.168.1.11:8080 2 10");
	put(&d, "tcp 10.0.0.2:80 192.168.1.10:8080 3 10");
	put(&d, "tcp 10.0.0.3:80 * 4 10");
	put(&d, "udp 10.0.0.1:80 * 5 10");
	/* a pass over 10.0.0.1:80 (tcp) and 10.0.0.3:80: their entries become from's; the others
	 * (10.0.0.2, and udp on the same VIP) stay */
	keys_add(&keys, "tcp 10.0.0.1:80");
	keys_add(&keys, "tcp 10.0.0.3:80");
	keys_add(&keys, "tcp 10.0.0.4:80"); /* planned, no entry before or after */
	put(&from, "tcp 10.0.0.1:80 192.168.1.11:8080 2 10"); /* kept */
	put(&from, "tcp 10.0.0.1:80 192.168.1.12:8080 9 60"); /* new */
	assert_int_equal(lb_drains_merge(&d, &keys, &from), 0);
	assert_string_equal(drains_fmt(&d, buf, sizeof(buf)),
			    "tcp 10.0.0.1:80 192.168.1.11:8080 2 10; "
			    "tcp 10.0.0.1:80 192.168.1.12:8080 9 60; "
			    "tcp 10.0.0.2:80 192.168.1.10:8080 3 10; "
			    "udp 10.0.0.1:80 * 5 10");
	/* nothing planned: no change */
	struct lb_owned none = {0};
	struct lb_drains empty = {0};
	assert_int_equal(lb_drains_merge(&d, &none, &empty), 0);
	assert_int_equal(d.n, 4);
	/* every service planned, nothing drains any more */
	keys_add(&keys, "tcp 10.0.0.2:80");
	keys_add(&keys, "udp 10.0.0.1:80");
	assert_int_equal(lb_drains_merge(&d, &keys, &empty), 0);
	assert_int_equal(d.n, 0);
	/* into an empty record */
	assert_int_equal(lb_drains_merge(&d, &keys, &from), 0);
	assert_string_equal(drains_fmt(&d, buf, sizeof(buf)),
			    "tcp 10.0.0.1:80 192.168.1.11:8080 2 10; tcp 10.0.0.1:80 192.168.1.12:8080 9 60");
	lb_drains_free(&d);
	lb_drains_free(&from);
	lb_owned_free(&keys);
}

static void test_eq_copy(void **state) {
	struct lb_drains a = {0}, b = {0}, c = {0};
	assert_true(lb_drains_eq(&a, &b)); /* empty */
	put(&a, "tcp 10.0.0.1:80 192.168.1.10:8080 1000 60000");
	put(&a, "udp [::1]:53 * 2000 30000");
	assert_false(lb_drains_eq(&a, &b));
	assert_false(lb_drains_eq(&b, &a));
	assert_int_equal(lb_drains_copy(&b, &a), 0);
	assert_true(lb_drains_eq(&a, &b));
	assert_ptr_not_equal(a.v, b.v);
	/* each field matters */
	static const char *const other[] = {
		"udp [::1]:53 * 2001 30000",           /* since */
		"udp [::1]:53 * 2000 30001",           /* timeout */
		"udp [::1]:54 * 2000 30000",           /* service port */
		"tcp [::1]:53 * 2000 30000",           /* protocol */
		"udp [::1]:53 [::1]:53 2000 30000",    /* dest instead of * */
	};
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		assert_int_equal(lb_drains_copy(&c, &a), 0);
		c.n = 1; /* keep the first, replace the second */
		put(&c, other[i]);
		print_message("  %s\n", other[i]);
		assert_int_equal(c.n, 2);
		assert_false(lb_drains_eq(&a, &c));
	}
	/* same dest, another address */
	assert_int_equal(lb_drains_copy(&c, &a), 0);
	c.v[0].dest.ip.bytes[3] ^= 1;
	assert_false(lb_drains_eq(&a, &c));
	/* copy over a longer record shrinks it; copy of an empty record empties */
	put(&c, "sctp 10.0.0.9:9 * 1 1");
	assert_int_equal(lb_drains_copy(&c, &a), 0);
	assert_true(lb_drains_eq(&a, &c));
	struct lb_drains empty = {0};
	assert_int_equal(lb_drains_copy(&c, &empty), 0);
	assert_int_equal(c.n, 0);
	assert_true(lb_drains_eq(&c, &empty));
	lb_drains_free(&a);
	lb_drains_free(&b);
	lb_drains_free(&c);
}

/* ---- the file ---- */

/* Runs load with stderr (where log lines go off the journal) captured into buf. */
static int load_logged(const struct lb_statedir *sd, struct lb_drains *d, char *buf, size_t len) {
	int saved = stderr_capture_begin();
	int r = lb_drains_load(sd, d);
	stderr_capture_end(saved, buf, len);
	return r;
}

static void test_roundtrip(void **state) {
	_cleanup_free_ char *path = path_in("rt/drains");
	struct lb_drains d = {0}, back = {0};
	struct lb_statedir sd;
	char a[2048], b[2048];
	sd_open("rt", &sd);
	put(&d, "udp [2001:db8::1]:53 [2001:db8::10]:53 1764662400456 30000");
	put(&d, "tcp 10.0.0.1:80 192.168.1.10:8080 1764662400123 60000");
	put(&d, "tcp 10.0.0.1:80 * 0 0");
	put(&d, "tcp [2001:db8::1]:443 * 9223372036854775807 4294967295"); /* the largest */
	put(&d, "tcp [2001:db8::1]:443 10.1.0.2:443 1 1");
	put(&d, "sctp 10.0.0.3:9 [::1]:9 42 86400000");
	mode_t old = umask(022);
	assert_int_equal(lb_drains_save(&sd, &d), 0);
	umask(old);
	_cleanup_free_ char *text = read_file(path);
	assert_string_equal(text, "# ezlb drains v1\n"
				  "tcp 10.0.0.1:80 * 0 0\n"
				  "tcp 10.0.0.1:80 192.168.1.10:8080 1764662400123 60000\n"
				  "tcp [2001:db8::1]:443 * 9223372036854775807 4294967295\n"
				  "tcp [2001:db8::1]:443 10.1.0.2:443 1 1\n"
				  "udp [2001:db8::1]:53 [2001:db8::10]:53 1764662400456 30000\n"
				  "sctp 10.0.0.3:9 [::1]:9 42 86400000\n");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	list_dir("rt", a, sizeof(a));
	assert_string_equal(a, "drains"); /* no temporary file left behind */
	put(&back, "tcp 10.9.9.9:1 * 1 1"); /* load replaces what was there */
	assert_int_equal(lb_drains_load(&sd, &back), 0);
	assert_string_equal(drains_fmt(&back, b, sizeof(b)), drains_fmt(&d, a, sizeof(a)));
	assert_true(lb_drains_eq(&back, &d));
	/* saved again over itself: the same */
	assert_int_equal(lb_drains_save(&sd, &back), 0);
	_cleanup_free_ char *again = read_file(path);
	assert_string_equal(again, text);
	/* an empty record saves as the header alone and loads as empty */
	struct lb_drains none = {0};
	assert_int_equal(lb_drains_save(&sd, &none), 0);
	_cleanup_free_ char *hdr = read_file(path);
	assert_string_equal(hdr, "# ezlb drains v1\n");
	assert_int_equal(lb_drains_load(&sd, &back), 0);
	assert_int_equal(back.n, 0);
	list_dir("rt", a, sizeof(a));
	assert_string_equal(a, "drains");
	lb_drains_free(&d);
	lb_drains_free(&back);
	lb_statedir_close(&sd);
}

static void test_comments_and_blank_lines(void **state) {
	_cleanup_free_ char *path = path_in("commented/drains");
	struct lb_drains d = {0};
	struct lb_statedir sd;
	char buf[512];
	sd_open("commented", &sd);
	write_file(path, "# ezlb drains v1\n\n# by hand\nudp 10.0.0.2:53 * 5 6\n"
			 "tcp 10.0.0.1:80 192.168.1.10:8080 1 2\n\n");
	assert_int_equal(lb_drains_load(&sd, &d), 0);
	assert_string_equal(drains_fmt(&d, buf, sizeof(buf)),
			    "tcp 10.0.0.1:80 192.168.1.10:8080 1 2; udp 10.0.0.2:53 * 5 6");
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

static void test_missing(void **state) {
	struct lb_drains d = {0};
	struct lb_statedir sd;
	char log[1024];
	sd_open("nothing-here", &sd);
	put(&d, "tcp 10.0.0.1:80 * 1 1");
	assert_int_equal(load_logged(&sd, &d, log, sizeof(log)), -ENOENT);
	assert_int_equal(d.n, 0);
	assert_string_equal(log, ""); /* the common case: not news */
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

/* Every one is refused whole, and the record loads empty (drains then restart in full). */
static const char *const corrupt[] = {
	"",                                                                  /* empty file */
	"tcp 10.0.0.1:80 * 1000 60000\n",                                    /* no header */
	"# ezlb drains v2\ntcp 10.0.0.1:80 * 1000 60000\n",                  /* unknown version */
	"# ezlb owned services v1\ntcp 10.0.0.1:80\n",                       /* another record */
	"# ezlb drains v1",                                                  /* truncated header */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000\ntcp 10.0.0.2:80 * 1000 6", /* truncated */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000\nhello\n",           /* garbage line */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000\n",                        /* 4 fields */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000 7\n",                /* 6 fields */
	"# ezlb drains v1\ntcp 10.0.0.1:80 192.168.1.1:80 1000 60000 \n",    /* trailing space */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000\r\n",                /* CRLF */
	"# ezlb drains v1\nicmp 10.0.0.1:80 * 1000 60000\n",                 /* unknown protocol */
	"# ezlb drains v1\ntcp 10.0.0.1 * 1000 60000\n",                     /* VIP without port */
	"# ezlb drains v1\ntcp 10.0.0.1:0 * 1000 60000\n",                   /* port 0 */
	"# ezlb drains v1\ntcp ::1:80 * 1000 60000\n",                       /* unbracketed IPv6 */
	"# ezlb drains v1\ntcp 10.0.0.1:80 192.168.1.1 1000 60000\n",        /* dest without port */
	"# ezlb drains v1\ntcp 10.0.0.1:80 192.168.1.300:80 1000 60000\n",   /* dest not an IP */
	"# ezlb drains v1\ntcp 10.0.0.1:80 192.168.1.1:65536 1000 60000\n",  /* dest port */
	"# ezlb drains v1\ntcp 10.0.0.1:80 ** 1000 60000\n",                 /* not "*" */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * soon 60000\n",                  /* since not a number */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 1m\n",                     /* timeout with a unit */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 0x10 60000\n",                  /* hex since */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000.5\n",                /* fraction */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * -1 60000\n",                    /* negative since */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * -1764662400123 60000\n",        /* negative since */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 4294967296\n",             /* timeout > 32 bits */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 -1\n",                     /* negative timeout */
	"# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 18446744073709551616\n",   /* past 64 bits */
	"# ezlb drains v1\nfwmark 100 ipv4 1000 60000\n",                   /* fwmark, no dest */
	"# ezlb drains v1\nfwmark 100 * 1000 60000\n",                      /* fwmark, no family */
	"# ezlb drains v1\nfwmark 100 ipv5 * 1000 60000\n",                 /* bad family */
	"# ezlb drains v1\nfwmark 0 ipv4 * 1000 60000\n",                   /* mark 0 */
	"# ezlb drains v1\nfwmark 100  ipv4 * 1000 60000\n",                /* two spaces */
	"# ezlb drains v1\nfwmark 100 ipv4 * 1000 60000 7\n",               /* 7 fields */
	"# ezlb drains v1\nfwmark\n",                                        /* the word alone */
};

/* The loader of the corrupt cases (statedir_test.h): into a record that held an entry. */
static int load_over_one(const struct lb_statedir *sd, size_t *n) {
	struct lb_drains d = {0};
	put(&d, "tcp 10.9.9.9:80 * 1 1");
	int r = lb_drains_load(sd, &d);
	*n = d.n;
	lb_drains_free(&d);
	return r;
}

static void test_corrupt(void **state) {
	_cleanup_free_ char *path = path_in("corrupt/drains");
	struct lb_statedir sd;
	sd_open("corrupt", &sd);
	assert_all_refused(&sd, path, corrupt, ARRAY_SIZE(corrupt), load_over_one);
	/* a line far too long */
	assert_long_line_refused(&sd, path, "# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000", '0',
				 load_over_one);
	/* a NUL byte inside a line that would parse if the line ended there */
	static const char nul[] = "# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000\0junk\n";
	assert_refused(&sd, path, nul, sizeof(nul) - 1, load_over_one);
	/* a good file after all that loads */
	struct lb_drains d = {0};
	write_file(path, "# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000\n");
	assert_int_equal(lb_drains_load(&sd, &d), 0);
	assert_int_equal(d.n, 1);
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

static void test_corrupt_message(void **state) {
	_cleanup_free_ char *path = path_in("msg/drains");
	_cleanup_free_ char *want = NULL;
	struct lb_drains d = {0};
	struct lb_statedir sd;
	char log[2048];
	sd_open("msg", &sd);
	write_file(path, "# ezlb drains v1\ntcp 10.0.0.1:80 * 1000 60000\ntcp 10.0.0.1:80 * -5 60000\n");
	assert_int_equal(load_logged(&sd, &d, log, sizeof(log)), -EBADMSG);
	assert_true(asprintf(&want, "%s:3: corrupt drain record: not a drain", path) > 0);
	print_message("  %s", log);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "drains in progress start again with their full timeout"));
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

static void assert_precious(const char *target) {
	_cleanup_free_ char *text = read_file(target);
	assert_string_equal(text, "# ezlb drains v1\ntcp 10.0.0.1:80 * 1 1\n");
}

/* A symbolic link at the record is never followed: load refuses it (-ELOOP, logged), and a save
 * replaces the link itself, leaving its target untouched. */
static void test_symlink(void **state) {
	_cleanup_free_ char *target = path_in("victim");
	_cleanup_free_ char *path = path_in("link/drains");
	struct lb_drains d = {0};
	struct lb_statedir sd;
	char log[1024];
	write_file(target, "# ezlb drains v1\ntcp 10.0.0.1:80 * 1 1\n"); /* would parse */
	sd_open("link", &sd);
	assert_int_equal(symlink(target, path), 0);
	put(&d, "tcp 10.9.9.9:80 * 1 1");
	assert_int_equal(load_logged(&sd, &d, log, sizeof(log)), -ELOOP);
	assert_int_equal(d.n, 0);
	assert_non_null(strstr(log, "/link/drains: it is a symbolic link, which ezlb never follows"));
	put(&d, "udp 10.0.0.2:53 * 2 2");
	assert_int_equal(lb_drains_save(&sd, &d), 0);
	assert_precious(target);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lb_drains_load(&sd, &d), 0);
	assert_int_equal(d.n, 1);
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

static void on_alarm(int sig) {
	static const char msg[] = "test_drain: lb_drains_load blocked on a FIFO\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* A FIFO would block a plain open for ever (no writer): refused at once, not read. */
static void test_fifo(void **state) {
	_cleanup_free_ char *fifo = path_in("fifo/drains");
	struct lb_drains d = {0};
	struct lb_statedir sd;
	char log[1024];
	sd_open("fifo", &sd);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	put(&d, "tcp 10.9.9.9:80 * 1 1");
	signal(SIGALRM, on_alarm);
	alarm(5);
	int r = load_logged(&sd, &d, log, sizeof(log));
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(d.n, 0);
	assert_non_null(strstr(log, "/fifo/drains: not a regular file"));
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

/* A directory in the record's place: not read, and a save cannot replace it (and leaves no
 * temporary file behind). */
static void test_directory(void **state) {
	_cleanup_free_ char *asdir = path_in("isdir/drains");
	struct lb_drains d = {0};
	struct lb_statedir sd;
	char buf[256];
	sd_open("isdir", &sd);
	assert_int_equal(mkdir(asdir, 0755), 0);
	put(&d, "tcp 10.9.9.9:80 * 1 1");
	assert_int_equal(lb_drains_load(&sd, &d), -EISDIR);
	assert_int_equal(d.n, 0);
	put(&d, "tcp 10.9.9.9:80 * 1 1");
	assert_int_equal(lb_drains_save(&sd, &d), -EISDIR);
	list_dir("isdir", buf, sizeof(buf));
	assert_string_equal(buf, "drains");
	lb_drains_free(&d);
	lb_statedir_close(&sd);
}

/* lb_svc_key_fmt writes an unknown protocol as "proto-N" and lb_svc_key_parse reads it back;
 * the record must round-trip such a key too (IPVS also knows AH and ESP, 51 and 50). */
static void test_roundtrip_unknown_protocol(void **state) {
	struct lb_drains d = {0}, back = {0};
	struct lb_statedir sd;
	char a[512], b[512];
	sd_open("proto", &sd);
	put(&d, "proto-50 10.0.0.1:1 * 1000 60000");
	put(&d, "proto-9 10.0.0.1:80 * 1000 60000");
	assert_int_equal(lb_drains_save(&sd, &d), 0);
	assert_int_equal(lb_drains_load(&sd, &back), 0);
	assert_string_equal(drains_fmt(&back, b, sizeof(b)), drains_fmt(&d, a, sizeof(a)));
	lb_drains_free(&d);
	lb_drains_free(&back);
	lb_statedir_close(&sd);
}

/* A firewall-mark service's key is three words: its drains read back like any other. */
static void test_roundtrip_fwmark(void **state) {
	struct lb_drains d = {0}, back = {0};
	struct lb_statedir sd;
	char a[512], b[512];
	sd_open("fwmark", &sd);
	put(&d, "fwmark 100 ipv4 * 1796212880033 4000");
	put(&d, "fwmark 100 ipv6 [2001:db8::10]:80 1000 60000");
	put(&d, "fwmark 7 ipv4 192.168.1.10:80 2000 30000");
	put(&d, "tcp 10.0.0.1:80 * 1000 60000");
	assert_int_equal(lb_drains_save(&sd, &d), 0);
	assert_int_equal(lb_drains_load(&sd, &back), 0);
	assert_int_equal(back.n, 4);
	assert_string_equal(drains_fmt(&back, b, sizeof(b)), drains_fmt(&d, a, sizeof(a)));
	assert_non_null(find(&back, "fwmark 100 ipv4", NULL));
	lb_drains_free(&d);
	lb_drains_free(&back);
	lb_statedir_close(&sd);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_fwmark),
		cmocka_unit_test(test_put_find),
		cmocka_unit_test(test_put_many),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_eq_copy),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_corrupt_message),
		cmocka_unit_test(test_symlink),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_roundtrip_unknown_protocol),
	};
	return cmocka_run_group_tests_name("drain", tests, setup, teardown);
}
