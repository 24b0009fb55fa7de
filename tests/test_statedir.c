/* The state directory: what is refused, the single-instance lock, leftover temporary files. */
#include <sys/wait.h>

#define STATEDIR_TEST_NAME "statedir"
#include "statedir_test.h"

static struct stat fake(mode_t mode, uid_t uid) {
	struct stat st = {.st_mode = mode, .st_uid = uid};
	return st;
}

/* The pure decision, on crafted results of fstat: no root needed for the other-owner case. */
static void test_check(void **state) {
	char why[128];
	struct stat st = fake(S_IFDIR | 0700, 0);
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), 0);
	st = fake(S_IFDIR | 0755, 1000);
	assert_int_equal(lb_statedir_check(&st, 1000, why, sizeof(why)), 0);
	st = fake(S_IFLNK | 0777, 0);
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), -ELOOP);
	assert_string_equal(why, "is a symbolic link");
	st = fake(S_IFREG | 0600, 0);
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), -ENOTDIR);
	assert_string_equal(why, "is not a directory");
	st = fake(S_IFDIR | 0700, 1000);
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "is owned by uid 1000, not by ezlb's uid 0");
	st = fake(S_IFDIR | 0770, 0);
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "is writable by its group (mode 0770)");
	st = fake(S_IFDIR | 0703, 0);
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "is writable by others (mode 0703)");
	st = fake(S_IFDIR | 01777, 0); /* sticky like /tmp: still anyone's to fill */
	assert_int_equal(lb_statedir_check(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "is writable by group and others (mode 1777)");
}

static void test_open_creates(void **state) {
	_cleanup_free_ char *parent = path_in("a");
	_cleanup_free_ char *path = path_in("a/b/ezlb///");
	_cleanup_free_ char *real = path_in("a/b/ezlb");
	struct lb_statedir sd;
	mode_t old = umask(022);
	assert_int_equal(lb_statedir_open(path, &sd), 0);
	umask(old);
	assert_string_equal(sd.path, real); /* trailing slashes dropped */
	struct stat st;
	assert_int_equal(stat(real, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	lb_statedir_close(&sd);
	assert_int_equal(sd.fd, -1);
	lb_statedir_close(&sd); /* twice is harmless */
	/* an existing 0755 directory (systemd's RuntimeDirectory=) is fine */
	assert_int_equal(chmod(real, 0755), 0);
	assert_int_equal(lb_statedir_open(real, &sd), 0);
	lb_statedir_close(&sd);
}

static void test_open_refuses(void **state) {
	_cleanup_free_ char *target = path_in("target");
	_cleanup_free_ char *link = path_in("link");
	_cleanup_free_ char *ww = path_in("ww");
	_cleanup_free_ char *file = path_in("file");
	_cleanup_free_ char *below = path_in("file/sub");
	struct lb_statedir sd;
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(lb_statedir_open(link, &sd), -ELOOP);
	assert_int_equal(sd.fd, -1);
	assert_null(sd.path);
	assert_int_equal(mkdir(ww, 0700), 0);
	assert_int_equal(chmod(ww, 0777), 0);
	assert_int_equal(lb_statedir_open(ww, &sd), -EPERM);
	assert_int_equal(chmod(ww, 0720), 0);
	assert_int_equal(lb_statedir_open(ww, &sd), -EPERM);
	write_file(file, "x\n");
	assert_int_equal(lb_statedir_open(file, &sd), -ENOTDIR);
	assert_int_equal(lb_statedir_open(below, &sd), -ENOTDIR); /* cannot be made */
	assert_int_equal(lb_statedir_open("", &sd), -EINVAL);
}

/* The real check of the owner needs a directory owned by someone else: root can make one. */
static void test_open_other_owner(void **state) {
	if (geteuid() != 0)
		skip();
	_cleanup_free_ char *other = path_in("other");
	struct lb_statedir sd;
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(chown(other, 4321, 4321), 0);
	assert_int_equal(lb_statedir_open(other, &sd), -EPERM);
}

/* A forked child holds the lock; the parent is refused and told the child's pid. */
static void test_lock_held(void **state) {
	struct lb_statedir sd, mine;
	struct lb_statedir_holder h;
	sd_open("locked", &sd);
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c = 0;
		int r = lb_statedir_lock(&sd, "run", &h);
		if (write(ready[1], &r, sizeof(r)) != sizeof(r) || read(done[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	int r = -1;
	assert_int_equal(read(ready[0], &r, sizeof(r)), sizeof(r));
	assert_int_equal(r, 0);
	sd_open("locked", &mine);
	assert_int_equal(lb_statedir_lock(&mine, "once", &h), -EWOULDBLOCK);
	assert_int_equal(h.pid, child);
	assert_string_equal(h.cmd, "run");
	assert_int_equal(mine.lock_fd, -1);
	assert_int_equal(write(done[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(status, 0);
	/* the holder is gone, and its lock with it */
	assert_int_equal(lb_statedir_lock(&mine, "once", &h), 0);
	_cleanup_free_ char *lock = path_in("locked/lock");
	char want[64], got[64] = "";
	snprintf(want, sizeof(want), "%ld once\n", (long)getpid());
	FILE *f = fopen(lock, "re");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, want); /* truncated: no tail of the longer pid line before */
	struct stat st;
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	lb_statedir_close(&mine);
	lb_statedir_close(&sd);
	close(ready[0]), close(ready[1]), close(done[0]), close(done[1]);
}

/* An unreadable lock file still locks; the refused one learns nothing but that. */
static void test_lock_unknown_holder(void **state) {
	struct lb_statedir a, b;
	struct lb_statedir_holder h;
	sd_open("unknown", &a);
	sd_open("unknown", &b);
	assert_int_equal(lb_statedir_lock(&a, "run", &h), 0);
	_cleanup_free_ char *lock = path_in("unknown/lock");
	write_file(lock, "garbage\n");
	assert_int_equal(lb_statedir_lock(&b, "run", &h), -EWOULDBLOCK);
	assert_int_equal(h.pid, 0);
	assert_string_equal(h.cmd, "");
	lb_statedir_close(&a);
	lb_statedir_close(&b);
}

static void test_lock_symlink_refused(void **state) {
	_cleanup_free_ char *target = path_in("lock-target");
	_cleanup_free_ char *lock = path_in("sym/lock");
	struct lb_statedir sd;
	struct lb_statedir_holder h;
	write_file(target, "precious\n");
	sd_open("sym", &sd);
	assert_int_equal(symlink(target, lock), 0);
	assert_int_equal(lb_statedir_lock(&sd, "run", &h), -ELOOP);
	char buf[32] = "";
	FILE *f = fopen(target, "re");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	lb_statedir_close(&sd);
}

/* Temporary files left by a crash go when the lock is taken; a planted symbolic link among
 * them is removed itself, its target left alone; everything else stays. */
static void test_leftovers_removed(void **state) {
	_cleanup_free_ char *target = path_in("left-target");
	_cleanup_free_ char *a = path_in("left/owned.tmp.123.00ff");
	_cleanup_free_ char *b = path_in("left/owned.tmp");
	_cleanup_free_ char *c = path_in("left/owned.tmp.9.x");
	_cleanup_free_ char *keep = path_in("left/owned");
	struct lb_statedir sd;
	struct lb_statedir_holder h;
	write_file(target, "precious\n");
	sd_open("left", &sd);
	write_file(a, "half a rec");
	write_file(b, "older version's temporary\n");
	assert_int_equal(symlink(target, c), 0);
	write_file(keep, "# ezlb owned services v1\n");
	assert_int_equal(lb_statedir_lock(&sd, "once", &h), 0);
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(access(b, F_OK), -1);
	struct stat st;
	assert_int_equal(lstat(c, &st), -1);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 9);
	assert_int_equal(access(keep, F_OK), 0);
	lb_statedir_close(&sd);
}

static void test_create_tmp(void **state) {
	struct lb_statedir sd;
	char t1[LB_STATEDIR_TMPNAME_MAX], t2[LB_STATEDIR_TMPNAME_MAX];
	sd_open("tmp", &sd);
	int fd1 = lb_statedir_create_tmp(&sd, "owned", 0600, t1);
	int fd2 = lb_statedir_create_tmp(&sd, "owned", 0600, t2);
	assert_true(fd1 >= 0 && fd2 >= 0);
	assert_memory_equal(t1, "owned.tmp.", 10);
	assert_string_not_equal(t1, t2);
	close(fd1), close(fd2);
	/* the primitive under it never opens what exists, a planted symbolic link included */
	_cleanup_free_ char *target = path_in("tmp-target");
	_cleanup_free_ char *planted = path_in("tmp/planted");
	write_file(target, "precious\n");
	assert_int_equal(symlink(target, planted), 0);
	assert_int_equal(lb_statedir_openat(&sd, "planted", O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST);
	assert_int_equal(lb_statedir_openat(&sd, "planted", O_WRONLY | O_TRUNC, 0), -ELOOP);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 9);
	const char *step = NULL;
	assert_int_equal(lb_statedir_replace(&sd, t1, "final", &step), 0);
	assert_int_equal(lb_statedir_replace(&sd, "no-such", "final", &step), -ENOENT);
	assert_string_equal(step, "rename");
	lb_statedir_discard(&sd, t2);
	_cleanup_free_ char *p2 = path_in("tmp/");
	char full[256];
	snprintf(full, sizeof(full), "%s%s", p2, t2);
	assert_int_equal(access(full, F_OK), -1);
	lb_statedir_close(&sd);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_open_creates),
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test(test_open_other_owner),
		cmocka_unit_test(test_lock_held),
		cmocka_unit_test(test_lock_unknown_holder),
		cmocka_unit_test(test_lock_symlink_refused),
		cmocka_unit_test(test_leftovers_removed),
		cmocka_unit_test(test_create_tmp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
