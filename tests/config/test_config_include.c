/* include: resolving the globs, errors located in the file they are in, checks across files, and
 * lb_config_reload re-reading exactly the files that changed (by unit identity). Each test works
 * in a fresh directory under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

struct fx {
	char dir[64];
	char main[PATH_MAX];
};

static int setup(void **state) {
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ezlb-include-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->main, sizeof(f->main), "%s/ezlb.yaml", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fx *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static const char *at(const struct fx *f, const char *rel) {
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->dir, rel);
	return buf[i];
}

/* Written to a temporary name and renamed: a new inode, like config management does. */
static void put(const struct fx *f, const char *rel, const char *text) {
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/.tmp-put", f->dir);
	FILE *o = fopen(tmp, "w");
	assert_non_null(o);
	fputs(text, o);
	assert_int_equal(fclose(o), 0);
	assert_int_equal(rename(tmp, at(f, rel)), 0);
}

static void mkd(const struct fx *f, const char *rel) { assert_int_equal(mkdir(at(f, rel), 0755), 0); }

/* One service named NAME on 10.0.0.N:80 with one backend. */
static void put_svc(const struct fx *f, const char *rel, const char *name, int n, int weight) {
	char text[512];
	snprintf(text, sizeof(text),
		 "services:\n  - name: %s\n    listen: 10.0.0.%d:80\n    backends:\n"
		 "      - {address: 10.1.0.%d:80, weight: %d}\n", name, n, n, weight);
	put(f, rel, text);
}

static struct lb_config *load(const char *path, const struct lb_config *prev) {
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	int r = lb_config_reload(prev, path, &c, &d);
	for (size_t i = 0; i < d.n; i++)
		print_message("unexpected: %s\n", d.msgs[i]);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	lb_diag_free(&d);
	return c;
}

/* The load fails with exactly these messages, each "DIR/" + want[i] (NULL-terminated). */
static void load_fails(const struct fx *f, const struct lb_config *prev, int err,
		       const char *const *want) {
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	int r = lb_config_reload(prev, f->main, &c, &d);
	size_t n = 0;
	while (want[n])
		n++;
	for (size_t i = 0; i < d.n; i++)
		print_message("  got: %s\n", d.msgs[i]);
	assert_int_equal(r, err);
	assert_null(c);
	assert_int_equal(d.n, n);
	for (size_t i = 0; i < n; i++) {
		char exp[1024];
		snprintf(exp, sizeof(exp), "%s/%s", f->dir, want[i]);
		assert_string_equal(d.msgs[i], exp);
	}
	lb_diag_free(&d);
}

static const char MAIN_INC[] = "global: {drain_timeout: 5s}\ninclude: [\"conf.d/*.yaml\"]\n";

/* Globs sorted, every file's services in order, the main file's first; defaults from global. */
static void test_basic(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", "global: {drain_timeout: 5s}\ninclude: [\"conf.d/*.yaml\"]\nservices:\n"
			    "  - {name: m, listen: 10.0.0.9:80, backends: []}\n");
	put_svc(f, "conf.d/b.yaml", "b", 2, 1);
	put_svc(f, "conf.d/a.yaml", "a", 1, 3);
	put(f, "conf.d/c.yml", "not: yaml of ours\n");  /* not matched */
	put(f, "conf.d/.d.yaml", "not: matched\n");     /* hidden: not matched by "*" */
	struct lb_config *c = load(f->main, NULL);
	assert_int_equal(c->n_files, 3);
	assert_string_equal(c->files[0]->path, f->main);
	assert_string_equal(c->files[1]->path, at(f, "conf.d/a.yaml"));
	assert_string_equal(c->files[2]->path, at(f, "conf.d/b.yaml"));
	assert_int_equal(c->n_services, 3);
	assert_string_equal(c->services[0].name, "m");
	assert_string_equal(c->services[1].name, "a");
	assert_string_equal(c->services[2].name, "b");
	assert_int_equal(c->services[1].backends[0].weight, 3);
	assert_int_equal(c->services[1].drain_timeout_ms, 5000);
	assert_int_equal(c->svc_file[2], 2);
	assert_int_equal(c->n_read, 3);
	assert_int_equal(c->n_includes, 1);
	assert_string_equal(c->includes[0].dir, at(f, "conf.d"));
	assert_string_equal(c->includes[0].name, "*.yaml");
	lb_config_free(c);
}

/* An empty directory is no error, and the main file needs no services of its own. */
static void test_empty_glob(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	struct lb_config *c = load(f->main, NULL);
	assert_int_equal(c->n_services, 0);
	assert_int_equal(c->n_files, 1);
	lb_config_free(c);
}

static void test_missing_dir(void **state) {
	struct fx *f = *state;
	put(f, "ezlb.yaml", MAIN_INC);
	const char *want[] = {"ezlb.yaml:2:11: include[0]: cannot read directory /tmp/", NULL};
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	assert_int_equal(lb_config_load(f->main, &c, &d), -ENOENT);
	assert_int_equal(d.n, 1);
	char exp[512];
	snprintf(exp, sizeof(exp), "%s/%s", f->dir, want[0]);
	assert_true(strncmp(d.msgs[0], exp, strlen(exp)) == 0);
	assert_non_null(strstr(d.msgs[0], "/conf.d: No such file or directory"));
	lb_diag_free(&d);
}

static void test_cross_file_duplicates(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", "include: [conf.d/*.yaml]\nservices:\n"
			    "  - {name: web, listen: 10.0.0.1:80, backends: []}\n");
	put_svc(f, "conf.d/a.yaml", "web", 2, 1);
	put_svc(f, "conf.d/b.yaml", "other", 1, 1);
	char first[2 * PATH_MAX], first2[2 * PATH_MAX];
	snprintf(first, sizeof(first), "conf.d/a.yaml:2:11: services[0].name: duplicate service name "
		 "\"web\" (first at %s:3)", f->main);
	snprintf(first2, sizeof(first2), "conf.d/b.yaml:3:13: services[0].listen: tcp 10.0.0.1:80 is "
		 "already used by service \"web\" (%s:3)", f->main);
	const char *want[] = {first, first2, NULL};
	load_fails(f, NULL, -EINVAL, want);
}

/* An error is reported in the file it is in, with that file's own service index. */
static void test_error_in_its_file(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	put_svc(f, "conf.d/a.yaml", "a", 1, 1);
	put(f, "conf.d/b.yaml", "services:\n  - {name: ok, listen: 10.0.0.2:80, backends: []}\n"
				"  - name: bad\n    listen: 10.0.0.3:80\n    backends: [{address: 1.2.3.4:80, weight: 70000}]\n");
	const char *want[] = {"conf.d/b.yaml:5:46: services[1].backends[0].weight: \"70000\" is out of "
			      "range 0..65535", NULL};
	load_fails(f, NULL, -EINVAL, want);
}

static void test_included_holds_services_only(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	put(f, "conf.d/a.yaml", "global: {log_level: debug}\nservices: []\n");
	put(f, "conf.d/b.yaml", "include: [x.yaml]\nservices: []\n");
	put(f, "conf.d/c.yaml", "servics: []\n");
	put(f, "conf.d/d.yaml", "");
	const char *want[] = {
		"conf.d/a.yaml:1:9: global: an included file holds only \"services\": \"global\" belongs "
		"in the main file",
		"conf.d/b.yaml:1:10: include: an included file holds only \"services\": \"include\" belongs "
		"in the main file (included files do not include others)",
		"conf.d/c.yaml:1:1: servics: unknown key (did you mean \"services\"?)",
		"conf.d/c.yaml:1:1: (top level): missing required key \"services\"; write \"services: []\" "
		"for a file with no services",
		"conf.d/d.yaml: empty file; write \"services: []\" for a file with no services",
		NULL};
	load_fails(f, NULL, -EINVAL, want);
}

/* Wildcards in the directory are refused; a plain name must exist; a glob next to the main file
 * does not read the main file twice; overlapping globs read a file once. */
static void test_patterns(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", "include: [\"*/x.yaml\", \"\"]\nservices: []\n");
	const char *want[] = {"ezlb.yaml:1:11: include[0]: wildcards are allowed in the file name only, "
			      "not in the directory (\"*/x.yaml\")",
			      "ezlb.yaml:1:23: include[1]: \"\" names no file; write a list of file names or "
			      "globs, e.g. [\"conf.d/*.yaml\"]", NULL};
	load_fails(f, NULL, -EINVAL, want);
	put(f, "ezlb.yaml", "include: [\"*.yaml\", conf.d/a.yaml, \"conf.d/*.yaml\"]\n");
	put_svc(f, "conf.d/a.yaml", "a", 1, 1);
	put_svc(f, "conf.d/b.yaml", "b", 2, 1);
	struct lb_config *c = load(f->main, NULL);
	assert_int_equal(c->n_files, 3); /* main, a (named first), b */
	assert_string_equal(c->files[1]->path, at(f, "conf.d/a.yaml"));
	assert_string_equal(c->files[2]->path, at(f, "conf.d/b.yaml"));
	lb_config_free(c);
	put(f, "ezlb.yaml", "include: [conf.d/nope.yaml]\n");
	struct lb_diag d = {0};
	assert_int_equal(lb_config_load(f->main, &c, &d), -ENOENT);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "conf.d/nope.yaml: cannot open: No such file or directory"));
	lb_diag_free(&d);
}

/* A FIFO matched by the glob is refused without blocking; a symlink is followed; a dangling one
 * cannot be opened. */
static void test_hostile_files(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	put_svc(f, "real.yaml", "real", 1, 1);
	assert_int_equal(symlink(at(f, "real.yaml"), at(f, "conf.d/link.yaml")), 0);
	struct lb_config *c = load(f->main, NULL);
	assert_int_equal(c->n_services, 1);
	lb_config_free(c);
	assert_int_equal(mkfifo(at(f, "conf.d/fifo.yaml"), 0644), 0);
	assert_int_equal(symlink(at(f, "gone.yaml"), at(f, "conf.d/z.yaml")), 0);
	mkd(f, "conf.d/sub.yaml");
	struct lb_diag d = {0};
	assert_int_equal(lb_config_load(f->main, &c, &d), -EISDIR); /* the first errno but EINVAL */
	assert_int_equal(d.n, 3);
	assert_non_null(strstr(d.msgs[0], "conf.d/fifo.yaml: is a FIFO, not a regular file: refused"));
	assert_non_null(strstr(d.msgs[1], "conf.d/sub.yaml: is a directory"));
	assert_non_null(strstr(d.msgs[2], "conf.d/z.yaml: cannot open: No such file"));
	lb_diag_free(&d);
}

static size_t file_index(const struct lb_config *c, const char *path) {
	for (size_t i = 0; i < c->n_files; i++)
		if (strcmp(c->files[i]->path, path) == 0)
			return i;
	fail_msg("%s not in the config", path);
	return 0;
}

/* Only the changed file is read again; every other unit is the very same. */
static void test_reload_reads_changed_only(void **state) {
	struct fx *f = *state;
	char rel[64], name[16];
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	for (int i = 0; i < 20; i++) {
		snprintf(rel, sizeof(rel), "conf.d/s%02d.yaml", i);
		snprintf(name, sizeof(name), "s%02d", i);
		put_svc(f, rel, name, i + 1, 1);
	}
	struct lb_config *a = load(f->main, NULL);
	assert_int_equal(a->n_read, 21);
	struct lb_config *b = load(f->main, a); /* nothing changed */
	assert_int_equal(b->n_read, 0);
	for (size_t i = 0; i < a->n_files; i++)
		assert_ptr_equal(a->files[i], b->files[i]);
	struct lb_config_diff d;
	assert_int_equal(lb_config_diff(a, b, &d), 0);
	assert_false(d.full);
	assert_int_equal(d.n_changed, 0);
	assert_int_equal(d.n_deleted, 0);
	lb_config_diff_free(&d);

	put_svc(f, "conf.d/s07.yaml", "s07", 8, 4); /* a weight edit */
	struct lb_config *c = load(f->main, b);
	lb_config_free(a); /* prev and next share units: any order of frees */
	assert_int_equal(c->n_read, 1);
	size_t k = file_index(c, at(f, "conf.d/s07.yaml"));
	for (size_t i = 0; i < c->n_files; i++) {
		assert_int_equal(c->fresh[i], i == k);
		if (i != k)
			assert_ptr_equal(c->files[i], b->files[i]);
	}
	assert_int_equal(lb_config_diff(b, c, &d), 0);
	assert_false(d.full);
	assert_int_equal(d.n_changed, 1);
	assert_string_equal(c->services[d.changed[0]].name, "s07");
	assert_int_equal(c->services[d.changed[0]].backends[0].weight, 4);
	assert_int_equal(d.n_deleted, 0);
	lb_config_diff_free(&d);

	/* a deletion and an addition */
	assert_int_equal(unlink(at(f, "conf.d/s03.yaml")), 0);
	put_svc(f, "conf.d/s99.yaml", "s99", 99, 1);
	struct lb_config *e = load(f->main, c);
	assert_int_equal(e->n_read, 1);
	assert_int_equal(e->n_services, 20);
	assert_int_equal(lb_config_diff(c, e, &d), 0);
	assert_int_equal(d.n_changed, 1);
	assert_int_equal(d.n_deleted, 1);
	lb_config_diff_free(&d);

	/* a service moved to another file is not deleted */
	put(f, "conf.d/s00.yaml", "services: []\n");
	put_svc(f, "conf.d/s98.yaml", "s00", 1, 1);
	struct lb_config *g = load(f->main, e);
	assert_int_equal(g->n_read, 2);
	assert_int_equal(lb_config_diff(e, g, &d), 0);
	assert_int_equal(d.n_changed, 1);
	assert_int_equal(d.n_deleted, 0);
	lb_config_diff_free(&d);

	/* the main file changed: everything is planned, the included files still reused */
	put(f, "ezlb.yaml", "global: {drain_timeout: 7s}\ninclude: [\"conf.d/*.yaml\"]\n");
	struct lb_config *h = load(f->main, g);
	assert_int_equal(h->n_read, 1);
	assert_true(h->fresh[0]);
	assert_int_equal(h->services[3].drain_timeout_ms, 7000); /* the new default reaches them */
	assert_int_equal(lb_config_diff(g, h, &d), 0);
	assert_true(d.full);
	lb_config_diff_free(&d);
	lb_config_free(b);
	lb_config_free(c);
	lb_config_free(e);
	lb_config_free(g);
	lb_config_free(h);
}

/* With the watcher's list of dirty files, only those are looked at: a change to another file
 * (a watcher would have seen it) is not even stat'ed. New files are still found. */
static void test_reload_dirty(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	put_svc(f, "conf.d/a.yaml", "a", 1, 1);
	put_svc(f, "conf.d/b.yaml", "b", 2, 1);
	struct lb_config *a = load(f->main, NULL), *b = NULL, *c = NULL;
	put_svc(f, "conf.d/a.yaml", "a", 1, 5);
	put_svc(f, "conf.d/b.yaml", "b", 2, 5);
	put_svc(f, "conf.d/c.yaml", "c", 3, 5);
	const char *dirty[] = {at(f, "conf.d/b.yaml")};
	struct lb_diag d = {0};
	assert_int_equal(lb_config_reload_dirty(a, f->main, dirty, 1, &b, &d), 0);
	assert_int_equal(b->n_read, 2); /* b (dirty) and c (new) */
	assert_ptr_equal(b->files[1], a->files[1]);
	assert_int_equal(b->services[0].backends[0].weight, 1); /* a: not looked at */
	assert_int_equal(b->services[1].backends[0].weight, 5);
	assert_int_equal(lb_config_reload_dirty(b, f->main, NULL, 0, &c, &d), 0);
	assert_int_equal(c->n_read, 0);
	lb_config_free(a);
	lb_config_free(b);
	lb_config_free(c);
}

/* A file made bad fails the whole reload (prev untouched and still usable); once fixed, the next
 * reload reads it again even though prev never had that version. */
static void test_reload_error_then_fix(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", MAIN_INC);
	put_svc(f, "conf.d/a.yaml", "a", 1, 1);
	put_svc(f, "conf.d/b.yaml", "b", 2, 1);
	struct lb_config *a = load(f->main, NULL);
	put_svc(f, "conf.d/b.yaml", "a", 2, 1); /* a duplicate name */
	char w[2 * PATH_MAX];
	snprintf(w, sizeof(w), "conf.d/b.yaml:2:11: services[0].name: duplicate service name \"a\" "
		 "(first at %s/conf.d/a.yaml:2)", f->dir);
	const char *want[] = {w, NULL};
	load_fails(f, a, -EINVAL, want);
	assert_string_equal(a->services[1].name, "b");
	put_svc(f, "conf.d/b.yaml", "b2", 2, 1);
	struct lb_config *b = load(f->main, a);
	assert_int_equal(b->n_read, 1);
	assert_string_equal(b->services[1].name, "b2");
	lb_config_free(a);
	lb_config_free(b);
}

/* The metrics listener is checked against every file's tcp VIPs. */
static void test_metrics_clash_across(void **state) {
	struct fx *f = *state;
	mkd(f, "conf.d");
	put(f, "ezlb.yaml", "global: {metrics: {listen: \"10.0.0.1:80\"}}\ninclude: [\"conf.d/*.yaml\"]\n");
	put_svc(f, "conf.d/a.yaml", "a", 1, 1);
	char w[2 * PATH_MAX];
	snprintf(w, sizeof(w), "ezlb.yaml:1:28: global.metrics.listen: 10.0.0.1:80 is the listen address "
		 "of tcp service \"a\" (%s/conf.d/a.yaml:3): IPVS would forward its connections to that "
		 "service's backends", f->dir);
	const char *want[] = {w, NULL};
	load_fails(f, NULL, -EINVAL, want);
}

/* The example of a split configuration loads (run from the repository root). */
static void test_example(void **state) {
	struct lb_config *c = load("examples/include/ezlb.yaml", NULL);
	assert_int_equal(c->n_files, 3);
	assert_int_equal(c->n_services, 3);
	assert_string_equal(c->files[1]->path, "examples/include/conf.d/10-web.yaml");
	assert_int_equal(c->services[1].drain_timeout_ms, 30000); /* global.drain_timeout */
	assert_int_equal(c->services[2].drain_timeout_ms, 120000);
	lb_config_free(c);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_glob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_file_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_in_its_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_included_holds_services_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_reads_changed_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_error_then_fix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_clash_across, setup, teardown),
		cmocka_unit_test(test_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
