/* Event hooks with real child processes (shell scripts written to a temporary directory): the
 * environment and arguments a hook gets; the order of one backend's events under load, and no
 * overlap within a sequence; at most 8 hooks at once; the deadline kills the hook's whole process
 * group; overflow drops and counts with one log line per episode; a stderr flood neither grows
 * nor stalls anything; failures logged once with stderr on one line; hooks off drop silently;
 * lb_notify_free with hooks running leaves no child, zombie or fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "loop.h"
#include "notify.h"
#include "util.h"
#include "loop_test.h"
#include "test_fds.h"

static char dir[64]; /* scripts and their output */

/* --- files and scripts --- */

/* dir/name (a path into buf). */
static char *in_dir(char *buf, size_t len, const char *name) {
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

/* dir/name.sh containing "#!/bin/sh\n" body, executable; its path into buf. */
static char *script(char *buf, size_t len, const char *name, const char *body) {
	char file[64];
	snprintf(file, sizeof(file), "%s.sh", name);
	write_script(in_dir(buf, len, file), body, 0755);
	return buf;
}

/* The whole file, or "" when it does not exist (caller frees). */
static char *slurp(const char *path) {
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	assert_non_null(m);
	for (int ch; f && (ch = fgetc(f)) != EOF;)
		fputc(ch, m);
	fclose(m);
	if (f)
		fclose(f);
	return s;
}

static int count_lines(const char *path) {
	char *s = slurp(path);
	int n = n_lines(s);
	free(s);
	return n;
}

/* --- the loop --- */

/* Run the loop until path has n lines (checked every 10 ms), for max_ms at most. */
static bool run_until_lines(struct lb_loop *l, const char *path, int n, unsigned max_ms) {
	usec_t end = now_usec(CLOCK_MONOTONIC) + (usec_t)max_ms * USEC_PER_MSEC;
	while (count_lines(path) < n) {
		if (now_usec(CLOCK_MONOTONIC) >= end)
			return false;
		run_loop_ms(l, 10);
	}
	return true;
}

/* --- fixtures --- */

struct t {
	struct lb_loop *l;
	struct lb_notify *n;
	int fds; /* before the loop and the notifier */
};

static void t_begin(struct t *t, char *const *argv, uint32_t timeout_ms) {
	t->fds = count_fds();
	assert_int_equal(lb_loop_new(&t->l), 0);
	assert_int_equal(lb_notify_new(t->l, &t->n), 0);
	if (argv)
		assert_int_equal(lb_notify_configure(t->n, argv, timeout_ms), 0);
}

/* Free everything: no child, zombie or fd is left. */
static void t_end(struct t *t) {
	lb_notify_free(t->n);
	lb_loop_free(t->l);
	assert_no_children();
	assert_int_equal(count_fds(), t->fds);
}

static int group_setup(void **state) {
	snprintf(dir, sizeof(dir), "/tmp/ezlb-notify-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	log_set_max_level(LOG_NOTICE); /* not the info line of the reaper under valgrind */
	capture_fd = memfd_create("log", MFD_CLOEXEC);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	return capture_fd >= 0 && saved_stderr >= 0 ? 0 : -1;
}

static int group_teardown(void **state) {
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- tests --- */

/* Exactly the variables that apply, PATH, the arguments as given (no shell), /dev/null on stdin
 * and stdout, a pipe on stderr, a process group of its own. */
static void test_environment(void **state) {
	char sh[128], out[128];
	script(sh, sizeof(sh), "env",
	       "f=$1.$EZLB_EVENT\n"
	       "fds=\"stdin=$(readlink /proc/$$/fd/0) stdout=$(readlink /proc/$$/fd/1)\"\n"
	       "err=$(readlink /proc/$$/fd/2)\n"
	       "{ env | grep -v '^PWD=' | sort\n"
	       "  echo \"args=$2|$3\"\n"
	       "  echo \"$fds\"\n"
	       "  case \"$err\" in pipe:*) echo stderr=pipe;; esac\n"
	       "  set -- $(cat /proc/$$/stat); [ \"$5\" = $$ ] && echo pgrp=own\n"
	       "} > \"$f.tmp\" && mv \"$f.tmp\" \"$f\"");
	char *argv[] = {sh, in_dir(out, sizeof(out), "env-out"), "a b", "$HOME;x", NULL};
	setenv("EZLB_TEST_LEAK", "1", 1);
	struct t t;
	t_begin(&t, argv, 5000);
	lb_notify_event(t.n, "backend_down", "web", "10.0.0.1:80", "3 failures: connection refused");
	lb_notify_event(t.n, "quorum_lost", "web", NULL, NULL);
	lb_notify_event(t.n, "config_loaded", NULL, NULL, NULL);
	char f1[160], f2[160], f3[160];
	snprintf(f1, sizeof(f1), "%s.backend_down", out);
	snprintf(f2, sizeof(f2), "%s.quorum_lost", out);
	snprintf(f3, sizeof(f3), "%s.config_loaded", out);
	capture_start();
	assert_true(run_until_lines(t.l, f1, 9, 3000));
	assert_true(run_until_lines(t.l, f2, 7, 3000));
	assert_true(run_until_lines(t.l, f3, 6, 3000));
	run_loop_ms(t.l, 50);
	char *log = capture_take();
	static const char tail[] = "args=a b|$HOME;x\n"
				   "stdin=/dev/null stdout=/dev/null\n"
				   "stderr=pipe\n"
				   "pgrp=own\n";
	char want[512];
	char *got = slurp(f1);
	snprintf(want, sizeof(want), "EZLB_BACKEND=10.0.0.1:80\nEZLB_EVENT=backend_down\n"
				     "EZLB_REASON=3 failures: connection refused\nEZLB_SERVICE=web\n"
				     "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n%s", tail);
	assert_string_equal(got, want);
	free(got);
	got = slurp(f2);
	snprintf(want, sizeof(want), "EZLB_EVENT=quorum_lost\nEZLB_SERVICE=web\n"
				     "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n%s", tail);
	assert_string_equal(got, want);
	free(got);
	got = slurp(f3);
	snprintf(want, sizeof(want), "EZLB_EVENT=config_loaded\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n%s",
		 tail);
	assert_string_equal(got, want);
	free(got);
	assert_string_equal(log, ""); /* success is silent */
	free(log);
	assert_int_equal(lb_notify_dropped(t.n), 0);
	unsetenv("EZLB_TEST_LEAK");
	t_end(&t);
}

/* 50 events of one backend, 50 of another and 20 without a backend (of several services: one
 * sequence all the same), interleaved, with hooks of varying length: each sequence is recorded in
 * order, and no two hooks of one sequence ever overlap (mkdir of a lock fails if one does). */
static void test_order_per_sequence(void **state) {
	char sh[128], out[128], locks[128];
	in_dir(locks, sizeof(locks), "locks");
	assert_int_equal(mkdir(locks, 0755), 0);
	script(sh, sizeof(sh), "order",
	       "lock=$2/${EZLB_BACKEND:-none}\n"
	       "mkdir \"$lock\" 2>/dev/null || echo \"OVERLAP $EZLB_BACKEND\" >> \"$1\"\n"
	       "case $((EZLB_REASON % 3)) in 0) sleep 0.02;; 1) sleep 0.005;; esac\n"
	       "rmdir \"$lock\"\n"
	       "echo \"${EZLB_BACKEND:-none} $EZLB_REASON\" >> \"$1\"");
	char *argv[] = {sh, in_dir(out, sizeof(out), "order-out"), locks, NULL};
	struct t t;
	t_begin(&t, argv, 5000);
	char reason[16];
	for (int i = 0; i < 50; i++) {
		snprintf(reason, sizeof(reason), "%d", i);
		lb_notify_event(t.n, "backend_down", "web", "10.0.0.1:80", reason);
		lb_notify_event(t.n, "backend_up", "web", "10.0.0.2:80", reason);
		if (i < 20)
			lb_notify_event(t.n, i % 2 ? "quorum_lost" : "config_loaded", i % 4 ? "web" : NULL,
					NULL, reason);
		if (i == 25) /* more arrive while the first ones run */
			run_loop_ms(t.l, 30);
	}
	assert_true(run_until_lines(t.l, out, 120, 20000));
	char *got = slurp(out);
	assert_null(strstr(got, "OVERLAP"));
	int next[3] = {0, 0, 0};
	char *save = NULL;
	for (char *line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char who[32];
		int i;
		assert_int_equal(sscanf(line, "%31s %d", who, &i), 2);
		int s = !strcmp(who, "10.0.0.1:80") ? 0 : !strcmp(who, "10.0.0.2:80") ? 1 : 2;
		if (s == 2)
			assert_string_equal(who, "none");
		assert_int_equal(i, next[s]);
		next[s]++;
	}
	assert_int_equal(next[0], 50);
	assert_int_equal(next[1], 50);
	assert_int_equal(next[2], 20);
	free(got);
	t_end(&t);
}

/* 24 events of 24 backends, each hook lasting 0.4 s: each counts the hooks running midway (the
 * files that exist while a hook runs); the most is exactly 8. */
static void test_concurrency_cap(void **state) {
	char sh[128], out[128], runs[128];
	in_dir(runs, sizeof(runs), "runs");
	assert_int_equal(mkdir(runs, 0755), 0);
	script(sh, sizeof(sh), "cap",
	       "touch \"$2/run.$$\"\n"
	       "sleep 0.2\n"
	       "n=$(ls \"$2\" | grep -c '^run\\.')\n"
	       "sleep 0.2\n"
	       "rm \"$2/run.$$\"\n"
	       "echo $n >> \"$1\"");
	char *argv[] = {sh, in_dir(out, sizeof(out), "cap-out"), runs, NULL};
	struct t t;
	t_begin(&t, argv, 5000);
	for (int i = 0; i < 24; i++) {
		char be[32];
		snprintf(be, sizeof(be), "10.0.1.%d:80", i + 1);
		lb_notify_event(t.n, "backend_up", "web", be, NULL);
	}
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_true(run_until_lines(t.l, out, 24, 10000));
	usec_t took = now_usec(CLOCK_MONOTONIC) - start;
	char *got = slurp(out);
	int max = 0;
	char *save = NULL;
	for (char *line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		max = atoi(line) > max ? atoi(line) : max;
	free(got);
	assert_int_equal(max, 8);
	assert_true(took >= 1200 * USEC_PER_MSEC); /* three rounds of 8, 0.4 s each */
	t_end(&t);
}

/* A hook past its deadline: its whole group (a background grandchild too) is killed, the failure
 * logged once with the event and stderr; a later event of the backend runs. */
static void test_timeout_kills_group(void **state) {
	char sh[128], pidf[128], out[128];
	script(sh, sizeof(sh), "slow",
	       "if [ \"$EZLB_REASON\" = second ]; then echo second >> \"$2\"; exit 0; fi\n"
	       "sleep 30 & echo $! > \"$1\"\n"
	       "echo 'waiting for' >&2; echo '  the answer' >&2\n"
	       "sleep 30");
	char *argv[] = {sh, in_dir(pidf, sizeof(pidf), "slow-pid"), in_dir(out, sizeof(out), "slow-out"),
			NULL};
	struct t t;
	t_begin(&t, argv, 300);
	capture_start();
	usec_t start = now_usec(CLOCK_MONOTONIC);
	lb_notify_event(t.n, "backend_down", "web", "10.0.0.1:80", "first");
	lb_notify_event(t.n, "backend_up", "web", "10.0.0.1:80", "second");
	assert_true(run_until_lines(t.l, out, 1, 3000));
	usec_t took = now_usec(CLOCK_MONOTONIC) - start;
	char *log = capture_take();
	assert_line(log, "notify: hook for backend_down web 10.0.0.1:80 failed: timeout after 300ms "
			 "(process group killed): waiting for | the answer");
	assert_int_equal(n_lines(log), 1);
	free(log);
	assert_true(took >= 300 * USEC_PER_MSEC && took < 2000 * USEC_PER_MSEC);
	char *p = slurp(pidf);
	pid_t grandchild = atoi(p);
	free(p);
	assert_true(grandchild > 0);
	assert_true(dies(grandchild));
	run_loop_ms(t.l, 50); /* the reaper reaps the killed hook */
	assert_no_children();
	t_end(&t);
}

/* Exit statuses and signals are logged once each, stderr joined on one line; a success with
 * stderr is silent; a program that cannot run is logged. */
static void test_failures_logged(void **state) {
	char sh[128], out[128];
	script(sh, sizeof(sh), "fail",
	       "echo \"$EZLB_EVENT\" >> \"$1\"\n"
	       "case $EZLB_REASON in\n"
	       "  status) printf 'line one\\n\\n   line two\\r\\n\\tend\\033\\n' >&2; exit 3;;\n"
	       "  signal) kill -9 $$;;\n"
	       "  ok) echo 'all fine' >&2; exit 0;;\n"
	       "esac");
	char *argv[] = {sh, in_dir(out, sizeof(out), "fail-out"), NULL};
	struct t t;
	t_begin(&t, argv, 5000);
	capture_start();
	lb_notify_event(t.n, "reconcile_failed", NULL, NULL, "status");
	lb_notify_event(t.n, "backend_down", "web", "10.0.0.1:80", "signal");
	lb_notify_event(t.n, "backend_up", "web", "10.0.0.2:80", "ok");
	assert_true(run_until_lines(t.l, out, 3, 3000));
	run_loop_ms(t.l, 100);
	char *log = capture_take();
	assert_line(log, "notify: hook for reconcile_failed failed: exit status 3: line one | line two | "
			 "end?");
	assert_line(log, "notify: hook for backend_down web 10.0.0.1:80 failed: killed by signal 9");
	assert_int_equal(n_lines(log), 2);
	free(log);
	t_end(&t);

	if (under_valgrind()) /* its vfork is a fork: the exec's errno is lost */
		return;
	char *missing[] = {"/nonexistent/ezlb-hook", NULL};
	t_begin(&t, missing, 5000);
	capture_start();
	lb_notify_event(t.n, "config_error", NULL, NULL, "bad file");
	run_loop_ms(t.l, 50);
	log = capture_take();
	assert_string_equal(log, "notify: hook for config_error failed: cannot run /nonexistent/ezlb-hook: "
				 "No such file or directory\n");
	free(log);
	t_end(&t);
}

/* 300 events at once: 256 wait, 44 are dropped with one log line. Once the queue drained, a new
 * overflow is a new episode: one more line. */
static void test_overflow(void **state) {
	char sh[128], out[128];
	script(sh, sizeof(sh), "quick", "echo \"$EZLB_BACKEND\" >> \"$1\"");
	char *argv[] = {sh, in_dir(out, sizeof(out), "quick-out"), NULL};
	struct t t;
	t_begin(&t, argv, 5000);
	static const char line[] = "notify: the event queue is full (0 hooks running, 256 events "
				   "waiting): dropping events until the queue drains; the first "
				   "dropped: backend_up\n";
	for (int round = 1; round <= 2; round++) {
		capture_start();
		for (int i = 0; i < 300; i++) {
			char be[32];
			snprintf(be, sizeof(be), "10.0.%d.%d:80", i / 200, i % 200 + 1);
			lb_notify_event(t.n, "backend_up", "web", be, NULL);
		}
		char *log = capture_take();
		assert_string_equal(log, line);
		free(log);
		assert_int_equal(lb_notify_dropped(t.n), 44 * round);
		assert_true(run_until_lines(t.l, out, 256 * round, 20000));
		run_loop_ms(t.l, 100);
		assert_int_equal(count_lines(out), 256 * round); /* the dropped ones never ran */
	}
	t_end(&t);
}

struct ticker {
	struct lb_timer t;
	usec_t last, max_gap;
};

static void on_tick(struct lb_loop *l, struct lb_timer *t, void *userdata) {
	struct ticker *k = userdata;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (k->last && now - k->last > k->max_gap)
		k->max_gap = now - k->last;
	k->last = now;
	assert_int_equal(lb_timer_arm(l, t, now + 5 * USEC_PER_MSEC), 0);
}

/* A hook writing 32 MB to stderr: drained (it exits on its own, well before its deadline), the
 * loop keeps running timers meanwhile, and the log line holds a bounded excerpt. */
static void test_stderr_flood(void **state) {
	char sh[128], out[128];
	script(sh, sizeof(sh), "flood",
	       "head -c 32000000 /dev/zero | tr '\\0' x >&2\n"
	       "echo done >> \"$1\"\n"
	       "exit 4");
	char *argv[] = {sh, in_dir(out, sizeof(out), "flood-out"), NULL};
	struct t t;
	t_begin(&t, argv, 20000);
	struct ticker k = {0};
	lb_timer_init(&k.t, on_tick, &k);
	assert_int_equal(lb_timer_arm(t.l, &k.t, 0), 0);
	capture_start();
	lb_notify_event(t.n, "config_error", NULL, NULL, NULL);
	assert_true(run_until_lines(t.l, out, 1, 15000));
	run_loop_ms(t.l, 100);
	lb_timer_cancel(t.l, &k.t);
	char *log = capture_take();
	static const char prefix[] = "notify: hook for config_error failed: exit status 4: xxxx";
	assert_memory_equal(log, prefix, sizeof(prefix) - 1);
	assert_int_equal(n_lines(log), 1);
	size_t len = strlen(log);
	assert_true(len < 1700);
	assert_memory_equal(log + len - 5, "x...\n", 5);
	free(log);
	assert_true(k.max_gap < 200 * USEC_PER_MSEC);
	t_end(&t);
}

/* Without a command, events vanish without a trace; turning hooks off drops the waiting ones. */
static void test_hooks_off(void **state) {
	char sh[128], out[128];
	script(sh, sizeof(sh), "off", "echo ran >> \"$1\"");
	char *argv[] = {sh, in_dir(out, sizeof(out), "off-out"), NULL};
	struct t t;
	t_begin(&t, NULL, 0);
	capture_start();
	lb_notify_event(t.n, "backend_down", "web", "10.0.0.1:80", "x");
	run_loop_ms(t.l, 100);
	assert_int_equal(lb_notify_configure(t.n, argv, 1000), 0);
	lb_notify_event(t.n, "backend_up", "web", "10.0.0.1:80", NULL);
	lb_notify_event(t.n, "config_loaded", NULL, NULL, NULL);
	assert_int_equal(lb_notify_configure(t.n, NULL, 0), 0);
	lb_notify_event(t.n, "config_loaded", NULL, NULL, NULL);
	run_loop_ms(t.l, 200);
	char *log = capture_take();
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(count_lines(out), 0);
	assert_int_equal(lb_notify_dropped(t.n), 0);
	t_end(&t);
}

/* Bad settings are refused and change nothing. */
static void test_configure_invalid(void **state) {
	char sh[128], out[128];
	script(sh, sizeof(sh), "valid", "echo ran >> \"$1\"");
	char *good[] = {sh, in_dir(out, sizeof(out), "valid-out"), NULL};
	char *relative[] = {"hook.sh", NULL}, *empty[] = {NULL};
	struct t t;
	t_begin(&t, good, 1000);
	assert_int_equal(lb_notify_configure(t.n, relative, 1000), -EINVAL);
	assert_int_equal(lb_notify_configure(t.n, empty, 1000), -EINVAL);
	assert_int_equal(lb_notify_configure(t.n, good, 0), -EINVAL);
	lb_notify_event(t.n, "config_loaded", NULL, NULL, NULL);
	assert_true(run_until_lines(t.l, out, 1, 3000));
	t_end(&t);
}

/* lb_notify_free with hooks running (and their background children): every group is killed and
 * every hook reaped before it returns; no fd is left (t_end). */
static void test_free_with_hooks_running(void **state) {
	char sh[128], pids[128];
	script(sh, sizeof(sh), "linger", "sleep 30 & echo $! >> \"$1\"; sleep 30");
	char *argv[] = {sh, in_dir(pids, sizeof(pids), "linger-pids"), NULL};
	struct t t;
	t_begin(&t, argv, 60000);
	for (int i = 0; i < 3; i++) {
		char be[32];
		snprintf(be, sizeof(be), "10.0.2.%d:80", i + 1);
		lb_notify_event(t.n, "backend_down", "web", be, NULL);
	}
	lb_notify_event(t.n, "backend_down", "web", "10.0.2.1:80", "waits behind the first");
	assert_true(run_until_lines(t.l, pids, 3, 3000));
	usec_t start = now_usec(CLOCK_MONOTONIC);
	t_end(&t);
	assert_true(now_usec(CLOCK_MONOTONIC) - start < 1000 * USEC_PER_MSEC);
	char *p = slurp(pids), *save = NULL;
	for (char *line = strtok_r(p, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		assert_true(dies(atoi(line)));
	free(p);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_order_per_sequence),
		cmocka_unit_test(test_concurrency_cap),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_failures_logged),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_stderr_flood),
		cmocka_unit_test(test_hooks_off),
		cmocka_unit_test(test_configure_invalid),
		cmocka_unit_test(test_free_with_hooks_running),
	};
	return cmocka_run_group_tests_name("notify", tests, group_setup, group_teardown);
}
