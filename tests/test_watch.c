/* The config watcher sees every way of saving the file, and the signature tells versions apart. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "watch.h"

struct fx {
	char dir[64];
	char path[128];
	struct lb_watch *w;
	struct lb_file_sig sig;
};

static void write_file(const char *path, const char *text) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *at(struct fx *f, const char *name) {
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s/%s", f->dir, name);
	return buf;
}

static int setup(void **state) {
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ezlb-watch-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ezlb.yaml", f->dir);
	write_file(f->path, "services: []\n");
	assert_int_equal(lb_watch_new(f->path, &f->w), 0);
	lb_file_sig_get(f->path, &f->sig);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fx *f = *state;
	lb_watch_free(f->w);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The file changed: the watcher says so and the signature differs from the last one. */
static void expect_change(struct fx *f) {
	assert_int_equal(lb_watch_drain(f->w), 1);
	struct lb_file_sig now;
	lb_file_sig_get(f->path, &now);
	assert_false(lb_file_sig_eq(&now, &f->sig));
	f->sig = now;
	assert_int_equal(lb_watch_drain(f->w), 0); /* drained */
}

static void test_in_place_write(void **state) {
	struct fx *f = *state;
	write_file(f->path, "services: [] # edited in place\n");
	expect_change(f);
}

static void test_rename_over(void **state) {
	struct fx *f = *state;
	write_file(at(f, "ezlb.yaml.new"), "services: [] # renamed over\n");
	assert_int_equal(rename(at(f, "ezlb.yaml.new"), f->path), 0); /* f->path is not at()'s buffer */
	expect_change(f);
}

static void test_delete_recreate(void **state) {
	struct fx *f = *state;
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(lb_watch_drain(f->w), 1);
	write_file(f->path, "services: [] # re-created\n");
	expect_change(f);
}

/* Kubernetes mounts a ConfigMap as name -> ..data/name, and swaps ..data atomically. */
static void test_symlink_swap(void **state) {
	struct fx *f = *state;
	unlink(f->path);
	assert_int_equal(mkdir(at(f, "..v1"), 0755), 0);
	assert_int_equal(mkdir(at(f, "..v2"), 0755), 0);
	write_file(at(f, "..v1/ezlb.yaml"), "services: [] # v1\n");
	write_file(at(f, "..v2/ezlb.yaml"), "services: [] # v2, longer\n");
	assert_int_equal(symlink("..v1", at(f, "..data")), 0);
	assert_int_equal(symlink("..data/ezlb.yaml", f->path), 0);
	lb_watch_drain(f->w);
	lb_file_sig_get(f->path, &f->sig);
	assert_int_equal(symlink("..v2", at(f, "..data_tmp")), 0);
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", at(f, "..data_tmp")); /* at() reuses one buffer */
	assert_int_equal(rename(tmp, at(f, "..data")), 0);
	expect_change(f);
}

/* /etc/ezlb/ezlb.yaml -> /srv/lb/ezlb.yaml: an edit of the target, in its own directory, is seen. */
static void test_symlink_elsewhere(void **state) {
	struct fx *f = *state;
	char target_dir[64] = "/tmp/ezlb-watch-target-XXXXXX", target[128], cmd[128];
	assert_non_null(mkdtemp(target_dir));
	snprintf(target, sizeof(target), "%s/ezlb.yaml", target_dir);
	write_file(target, "services: [] # v1\n");
	unlink(f->path);
	assert_int_equal(symlink(target, f->path), 0);
	lb_watch_free(f->w); /* the watch looks at where the link points when it starts */
	assert_int_equal(lb_watch_new(f->path, &f->w), 0);
	lb_file_sig_get(f->path, &f->sig);
	write_file(target, "services: [] # v2, edited through the target\n");
	expect_change(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", target_dir);
	assert_int_equal(system(cmd), 0);
}

/* A slow in-place write (scp, `cat >`, rsync --inplace): the prefix on disk is never announced as
 * a version; the close is. */
static void test_half_written_file_waits_for_close(void **state) {
	struct fx *f = *state;
	int fd = open(f->path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "services:\n  - name: a\n", 22), 22);
	assert_int_equal(lb_watch_drain(f->w), 0);
	assert_true(lb_watch_writing(f->w));
	assert_int_equal(write(fd, "    listen: 10.0.0.1:80\n", 24), 24);
	assert_int_equal(lb_watch_drain(f->w), 0); /* still open: still not a version */
	assert_true(lb_watch_writing(f->w));
	close(fd);
	expect_change(f);
	assert_false(lb_watch_writing(f->w));
}

/* Delete, then create and write: complete only at the close. */
static void test_created_file_waits_for_close(void **state) {
	struct fx *f = *state;
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(lb_watch_drain(f->w), 1); /* gone: the load will say so */
	int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(lb_watch_drain(f->w), 0);
	assert_true(lb_watch_writing(f->w));
	assert_int_equal(write(fd, "services: []\n", 13), 13);
	assert_int_equal(lb_watch_drain(f->w), 0);
	close(fd);
	expect_change(f);
}

/* A symlink put in the file's place is complete at once (it has no close). */
static void test_new_symlink_is_a_version(void **state) {
	struct fx *f = *state;
	write_file(at(f, "real.yaml"), "services: [] # through a link\n");
	lb_watch_drain(f->w);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(lb_watch_drain(f->w), 1);
	assert_int_equal(symlink("real.yaml", f->path), 0);
	expect_change(f);
	assert_false(lb_watch_writing(f->w));
}

static void test_unrelated_files_ignored(void **state) {
	struct fx *f = *state;
	write_file(at(f, ".ezlb.yaml.swp"), "swap");
	write_file(at(f, "other.conf"), "x");
	/* creating other.conf is a directory change we cannot rule out; its writes are not */
	lb_watch_drain(f->w);
	write_file(at(f, "other.conf"), "y");
	write_file(at(f, ".ezlb.yaml.swp"), "swap2");
	assert_int_equal(lb_watch_drain(f->w), 0);
	struct lb_file_sig now;
	lb_file_sig_get(f->path, &now);
	assert_true(lb_file_sig_eq(&now, &f->sig));
}

/* conf.d/ watched for "*.yaml": creating the directory in the main file's directory is a change
 * there; then each matching name follows the main file's rules on its own. */
static void watch_confd(struct fx *f) {
	assert_int_equal(mkdir(at(f, "conf.d"), 0755), 0);
	lb_watch_drain(f->w);
	const char *dirs[] = {at(f, "conf.d")}, *globs[] = {"*.yaml"};
	assert_int_equal(lb_watch_set_includes(f->w, dirs, globs, 1), 0);
}

static void test_include_write_and_close(void **state) {
	struct fx *f = *state;
	watch_confd(f);
	int fd = open(at(f, "conf.d/a.yaml"), O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "services:\n", 10), 10);
	assert_int_equal(lb_watch_drain(f->w), 0); /* created and written, not closed */
	assert_true(lb_watch_writing(f->w));
	close(fd);
	assert_int_equal(lb_watch_drain(f->w), LB_WATCH_INCLUDED);
	assert_false(lb_watch_writing(f->w));
	/* which files: not known until a first clear (the start), then exactly those */
	const char *const *dirty;
	size_t n;
	assert_false(lb_watch_dirty(f->w, &dirty, &n));
	lb_watch_dirty_clear(f->w);
	write_file(at(f, "conf.d/b.yaml"), "services: []\n");
	write_file(at(f, "conf.d/b.yaml"), "services: [] # again\n");
	lb_watch_drain(f->w);
	assert_true(lb_watch_dirty(f->w, &dirty, &n));
	assert_int_equal(n, 1);
	assert_string_equal(dirty[0], at(f, "conf.d/b.yaml"));
	/* the main file is still told apart */
	write_file(f->path, "services: [] # main\n");
	assert_int_equal(lb_watch_drain(f->w), LB_WATCH_CHANGED);
}

/* A writer's temporary name matches no glob: only the rename into place counts. Removing and
 * renaming away are changes too. Other names are ignored. */
static void test_include_rename_delete(void **state) {
	struct fx *f = *state;
	watch_confd(f);
	write_file(at(f, "conf.d/.a.yaml.tmp"), "services: []\n");
	write_file(at(f, "conf.d/notes.txt"), "x");
	assert_int_equal(lb_watch_drain(f->w), 0);
	assert_false(lb_watch_writing(f->w));
	char a[256];
	snprintf(a, sizeof(a), "%s", at(f, "conf.d/.a.yaml.tmp"));
	assert_int_equal(rename(a, at(f, "conf.d/a.yaml")), 0);
	assert_int_equal(lb_watch_drain(f->w), LB_WATCH_INCLUDED);
	snprintf(a, sizeof(a), "%s", at(f, "conf.d/a.yaml"));
	assert_int_equal(rename(a, at(f, "conf.d/a.yaml.off")), 0);
	assert_int_equal(lb_watch_drain(f->w), LB_WATCH_INCLUDED);
	write_file(at(f, "conf.d/b.yaml"), "services: []\n");
	lb_watch_drain(f->w);
	assert_int_equal(unlink(at(f, "conf.d/b.yaml")), 0);
	assert_int_equal(lb_watch_drain(f->w), LB_WATCH_INCLUDED);
	/* the directory itself going away is a change the load reports */
	assert_int_equal(unlink(at(f, "conf.d/a.yaml.off")), 0);
	assert_int_equal(unlink(at(f, "conf.d/notes.txt")), 0);
	lb_watch_drain(f->w);
	lb_watch_dirty_clear(f->w);
	assert_int_equal(rmdir(at(f, "conf.d")), 0);
	assert_true(lb_watch_drain(f->w) & LB_WATCH_CHANGED);
	const char *const *dirty;
	size_t n;
	assert_false(lb_watch_dirty(f->w, &dirty, &n)); /* whatever comes back was never seen */
}

/* Dropping an include directory from the set stops its events, and its writers are forgotten. */
static void test_include_unwatched(void **state) {
	struct fx *f = *state;
	watch_confd(f);
	int fd = open(at(f, "conf.d/a.yaml"), O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	lb_watch_drain(f->w);
	assert_true(lb_watch_writing(f->w));
	assert_int_equal(lb_watch_set_includes(f->w, NULL, NULL, 0), 0);
	assert_false(lb_watch_writing(f->w));
	close(fd);
	write_file(at(f, "conf.d/b.yaml"), "services: []\n");
	assert_int_equal(lb_watch_drain(f->w), 0);
}

static void test_missing_dir_fails(void **state) {
	struct lb_watch *w = NULL;
	assert_int_equal(lb_watch_new("/nonexistent-ezlb-dir/ezlb.yaml", &w), -ENOENT);
	assert_null(w);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_place_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_write_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_rename_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_unwatched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_recreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrelated_files_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_written_file_waits_for_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_created_file_waits_for_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_symlink_is_a_version, setup, teardown),
		cmocka_unit_test(test_missing_dir_fails),
	};
	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
