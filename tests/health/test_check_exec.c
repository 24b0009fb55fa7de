/* Exec check with scripts written at test time: exit statuses, signals and stderr in the reason;
 * the environment, fds and signal state a command gets; the deadline kills the command's whole
 * group; a stderr flood neither blocks the command nor slows the verdict; a descendant holding
 * stderr open does not hold the verdict back; at most max_exec_checks at once; spawn failures;
 * and no zombie, no child and no fd left after a round, a sync that removes running probes, or
 * lb_health_free with probes running. Under valgrind (no pidfd_open) the same tests run the
 * reaper's polling fallback. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "health_test.h"
#include "loop.h"
#include "../../src/health/check.h"

static char dir[64]; /* the scripts' temporary directory */

static int group_setup(void **state) {
	snprintf(dir, sizeof(dir), "/tmp/ezlb-exec-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return health_test_setup(state);
}

static int group_teardown(void **state) {
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name.sh containing "#!/bin/sh\n" body, with mode; returns its path (static, per name slot). */
static char *script(char *path, size_t len, const char *name, const char *body, mode_t mode) {
	snprintf(path, len, "%s/%s.sh", dir, name);
	write_script(path, body, mode);
	return path;
}

static struct lb_check_conf exec_check(char **argv, uint32_t interval_ms, uint32_t timeout_ms,
				       bool initial_up) {
	struct lb_check_conf c = check_conf(interval_ms, timeout_ms, 1, 1, initial_up);
	c.type = LB_CHECK_EXEC;
	c.exec.argv = argv;
	while (argv[c.exec.argc])
		c.exec.argc++;
	return c;
}

static void add_exec(struct lb_config *cfg, const char *name, char **argv, bool initial_up,
		     const char *backend) {
	const char *be[] = {backend};
	add_service(cfg, name, IPPROTO_TCP, exec_check(argv, 10000, 3000, initial_up), be, 1);
}

/* --- processes --- */

static pid_t read_pid(const char *path) {
	for (int i = 0; i < 200; i++) { /* written by a script that may still be starting */
		FILE *f = fopen(path, "r");
		int pid = 0;
		if (f) {
			int n = fscanf(f, "%d", &pid);
			fclose(f);
			if (n == 1 && pid > 0)
				return pid;
		}
		usleep(10000);
	}
	fail_msg("no pid in %s", path);
	return -1;
}

static bool exists(const char *path) {
	return access(path, F_OK) == 0;
}

/* --- rounds --- */

static int n_changes;
static void on_change(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health st, void *ud) {
	n_changes++;
}

/* One decisive round over cfg; returns its log (caller frees). Afterwards no child, zombie or
 * fd of the round is left. */
static char *round_log(struct lb_config *cfg, usec_t *elapsed, struct lb_health_stats *st) {
	int fds = count_fds();
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, on_change, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, cfg), 0);
	n_changes = 0;
	capture_start();
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_health_run_round(h), 0);
	if (elapsed)
		*elapsed = now_usec(CLOCK_MONOTONIC) - start;
	char *log = capture_take();
	struct lb_health_stats s;
	lb_health_get_stats(h, st ? st : &s);
	lb_health_free(h);
	lb_loop_free(l);
	assert_no_children();
	assert_int_equal(count_fds(), fds);
	return log;
}

/* --- verdicts and reasons --- */

static void test_verdicts_and_reasons(void **state) {
	char p[12][128];
	char *ok[] = {script(p[0], 128, "ok", "exit 0", 0755), NULL};
	char *fail[] = {script(p[1], 128, "fail",
			       "echo 'db not ready' >&2; echo second >&2; exit 2", 0755), NULL};
	char *quiet[] = {script(p[2], 128, "quiet", "exit 1", 0755), NULL};
	char *sig9[] = {script(p[3], 128, "sig9", "kill -9 $$", 0755), NULL};
	/* blocked (for a signalfd) or ignored (systemd's SIGPIPE) in ezlb: default in the command */
	char *term[] = {script(p[4], 128, "term", "kill -TERM $$; exit 0", 0755), NULL};
	char *pipe_[] = {script(p[5], 128, "pipe", "kill -PIPE $$; exit 0", 0755), NULL};
	char *ws[] = {script(p[6], 128, "ws", "printf '\\n \\n  \\tweird\\033[0m line \\r\\n' >&2; exit 5",
			     0755), NULL};
	char *longl[] = {script(p[7], 128, "long", "printf '%0300d\\n' 0 >&2; exit 6", 0755), NULL};
	char *noent[] = {"/nonexistent/ezlb-check", NULL};
	char *noexec[] = {script(p[8], 128, "noexec", "exit 0", 0644), NULL};
	/* no shell between ezlb and the command: arguments arrive as they are */
	char *args[] = {script(p[9], 128, "args", "[ \"$1\" = 'a b' ] && [ \"$2\" = '$HOME;x' ]", 0755),
			"a b", "$HOME;x", NULL};
	struct lb_config cfg = {0};
	add_exec(&cfg, "ok", ok, false, "127.0.0.1:80");
	add_exec(&cfg, "fail", fail, true, "127.0.0.1:80");
	add_exec(&cfg, "quiet", quiet, true, "127.0.0.1:80");
	add_exec(&cfg, "sig9", sig9, true, "127.0.0.1:80");
	add_exec(&cfg, "term", term, true, "127.0.0.1:80");
	add_exec(&cfg, "pipe", pipe_, true, "127.0.0.1:80");
	add_exec(&cfg, "ws", ws, true, "127.0.0.1:80");
	add_exec(&cfg, "long", longl, true, "127.0.0.1:80");
	add_exec(&cfg, "noent", noent, true, "127.0.0.1:80");
	add_exec(&cfg, "noexec", noexec, true, "127.0.0.1:80");
	add_exec(&cfg, "args", args, false, "127.0.0.1:80");

	sigset_t block, old_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	char *log = round_log(&cfg, NULL, NULL);
	signal(SIGPIPE, old_pipe);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);

	assert_line(log, "ok 127.0.0.1:80 down -> up (1 success)");
	assert_line(log, "fail 127.0.0.1:80 up -> down (1 failure: exit status 2: db not ready)");
	assert_line(log, "quiet 127.0.0.1:80 up -> down (1 failure: exit status 1)");
	assert_line(log, "sig9 127.0.0.1:80 up -> down (1 failure: killed by signal 9)");
	assert_line(log, "term 127.0.0.1:80 up -> down (1 failure: killed by signal 15)");
	assert_line(log, "pipe 127.0.0.1:80 up -> down (1 failure: killed by signal 13)");
	assert_line(log, "ws 127.0.0.1:80 up -> down (1 failure: exit status 5: weird?[0m line)");
	char want[256];
	snprintf(want, sizeof(want), "long 127.0.0.1:80 up -> down (1 failure: exit status 6: %0120d...)", 0);
	assert_line(log, want);
	if (under_valgrind()) { /* its vfork is a fork: the exec's errno is lost, sh's 127 remains */
		assert_line(log, "noent 127.0.0.1:80 up -> down (1 failure: exit status 127)");
		assert_line(log, "noexec 127.0.0.1:80 up -> down (1 failure: exit status 127)");
	} else {
		assert_line(log, "noent 127.0.0.1:80 up -> down (1 failure: cannot run "
				 "/nonexistent/ezlb-check: No such file or directory)");
		snprintf(want, sizeof(want), "noexec 127.0.0.1:80 up -> down (1 failure: cannot run %s: "
					     "Permission denied)", noexec[0]);
		assert_line(log, want);
	}
	assert_line(log, "args 127.0.0.1:80 down -> up (1 success)");
	assert_int_equal(n_lines(log), 11);
	assert_int_equal(n_changes, 11);
	free(log);
	free_conf(&cfg);
}

/* --- what the command gets --- */

static const char env_body[] =
	"svc=$1 ip=$2 port=$3\n"
	/* first, and with builtins only: the shell blocks signals around its forks */
	"while read -r k v; do case $k in SigBlk:) blk=$v;; SigIgn:) ign=$v;; esac; done < /proc/$$/status\n"
	"fail() { echo \"$*\" >&2; exit 1; }\n"
	"[ \"$EZLB_SERVICE\" = \"$svc\" ] || fail \"EZLB_SERVICE '$EZLB_SERVICE'\"\n"
	"[ \"$EZLB_BACKEND_ADDRESS\" = \"$ip\" ] || fail \"EZLB_BACKEND_ADDRESS '$EZLB_BACKEND_ADDRESS'\"\n"
	"[ \"$EZLB_BACKEND_PORT\" = \"$port\" ] || fail \"EZLB_BACKEND_PORT '$EZLB_BACKEND_PORT'\"\n"
	"[ \"$PATH\" = /usr/sbin:/usr/bin:/sbin:/bin ] || fail \"PATH '$PATH'\"\n"
	"[ -z \"$EZLB_TEST_LEAK\" ] || fail 'environment leaked'\n"
	"[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] || fail stdin\n"
	"[ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] || fail stdout\n"
	"case \"$(readlink /proc/$$/fd/2)\" in pipe:*) ;; *) fail stderr;; esac\n"
	"for f in /proc/$$/fd/*; do\n"
	"  case ${f##*/} in 0|1|2) continue;; esac\n"
	"  [ ! -e \"$f\" ] || [ -f \"$f\" ] || fail \"fd ${f##*/} leaked\"\n" /* the script itself */
	"done\n"
	"set -- $(cat /proc/$$/stat)\n"
	"[ \"$5\" = $$ ] || fail \"process group $5\"\n"
	"case $blk in ''|*[!0]*) fail \"blocked $blk\";; esac\n"
	/* glibc's posix_spawn leaves its internal signals 32 and 33 ignored; 1 to 31 are default */
	"case $ign in *00000000|*80000000) ;; *) fail \"ignored $ign\";; esac\n"
	"exit 0";

static void test_environment_fds_and_signals(void **state) {
	char path[128];
	script(path, sizeof(path), "env", env_body, 0755);
	char *a4[] = {path, "env4", "127.0.0.1", "9000", NULL};
	char *a6[] = {path, "env6", "::1", "8443", NULL};
	struct lb_config cfg = {0};
	/* initial_up: a success logs nothing, a failure its reason */
	add_exec(&cfg, "env4", a4, true, "127.0.0.1:80");
	cfg.services[0].check.port = 9000; /* health_check.port: the probed port */
	add_exec(&cfg, "env6", a6, true, "[::1]:8443");
	setenv("EZLB_TEST_LEAK", "1", 1);
	int inherited[2]; /* as if ezlb had inherited fds without close-on-exec from its parent */
	assert_int_equal(pipe(inherited), 0);
	sigset_t block, old_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	struct lb_health_stats st;
	char *log = round_log(&cfg, NULL, &st);
	signal(SIGPIPE, old_pipe);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	unsetenv("EZLB_TEST_LEAK");
	close(inherited[0]);
	close(inherited[1]);
	assert_string_equal(log, "");
	assert_int_equal(st.probes, 2);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.up, 2);
	free(log);
	free_conf(&cfg);
}

/* --- the deadline --- */

static void test_timeout_kills_the_group(void **state) {
	char path[128], pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/hang.sleep.pid", dir);
	script(path, sizeof(path), "hang", "echo starting >&2; sleep 30 & echo $! > \"$1\"; wait", 0755);
	char *argv[] = {path, pidfile, NULL};
	struct lb_config cfg = {0};
	const char *be[] = {"127.0.0.1:80"};
	add_service(&cfg, "hang", IPPROTO_TCP, exec_check(argv, 1000, 300, true), be, 1);
	usec_t elapsed;
	char *log = round_log(&cfg, &elapsed, NULL);
	assert_string_equal(log, "hang 127.0.0.1:80 up -> down (1 failure: timeout (killed): starting)\n");
	assert_true(elapsed >= 300 * USEC_PER_MSEC);
	assert_true(elapsed < 1500 * USEC_PER_MSEC);
	assert_true(dies(read_pid(pidfile))); /* the grandchild, in the command's group */
	free(log);
	free_conf(&cfg);
}

/* --- stderr --- */

static void test_stderr_flood(void **state) {
	char p1[128], p2[128];
	char *up[] = {script(p1, 128, "flood-ok", "yes 'flood line' | head -c 8000000 >&2; exit 0", 0755),
		      NULL};
	char *down[] = {script(p2, 128, "flood-fail", "yes 'flood line' | head -c 4000000 >&2; exit 3",
			       0755), NULL};
	struct lb_config cfg = {0};
	add_exec(&cfg, "flood-ok", up, false, "127.0.0.1:80");
	add_exec(&cfg, "flood-fail", down, true, "127.0.0.1:80");
	usec_t elapsed;
	char *log = round_log(&cfg, &elapsed, NULL);
	assert_line(log, "flood-ok 127.0.0.1:80 down -> up (1 success)");
	assert_line(log, "flood-fail 127.0.0.1:80 up -> down (1 failure: exit status 3: flood line)");
	assert_int_equal(n_lines(log), 2);
	assert_true(elapsed < 2500 * USEC_PER_MSEC); /* the timeout is 3 s */
	free(log);
	free_conf(&cfg);
}

/* A descendant keeps the command's stderr open: the verdict comes with the command's exit. */
static void test_descendant_holding_stderr(void **state) {
	char path[128], pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/holder.pid", dir);
	script(path, sizeof(path), "holder",
	       "sleep 5 >&2 & echo $! > \"$1\"; echo first >&2; exit 4", 0755);
	char *argv[] = {path, pidfile, NULL};
	struct lb_config cfg = {0};
	add_exec(&cfg, "holder", argv, true, "127.0.0.1:80");
	usec_t elapsed;
	char *log = round_log(&cfg, &elapsed, NULL);
	assert_string_equal(log, "holder 127.0.0.1:80 up -> down (1 failure: exit status 4: first)\n");
	assert_true(elapsed < 2000 * USEC_PER_MSEC);
	pid_t pid = read_pid(pidfile);
	kill(pid, SIGKILL);
	assert_true(dies(pid));
	free(log);
	free_conf(&cfg);
}

/* --- max_exec_checks --- */

static void test_at_most_max_exec_checks(void **state) {
	char path[128], sub[128];
	snprintf(sub, sizeof(sub), "%s/limit", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	/* run.<pid> exists while a command runs; count.<pid> is how many it saw running */
	script(path, sizeof(path), "limit",
	       "touch \"$1/run.$$\"\n"
	       "ls \"$1\" | grep -c '^run\\.' > \"$1/count.$$\"\n"
	       "sleep 0.2\n"
	       "rm \"$1/run.$$\"", 0755);
	char *argv[] = {path, sub, NULL};
	const char *be[] = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3",
			    "127.0.0.1:4", "127.0.0.1:5", "127.0.0.1:6"};
	struct lb_config cfg = {.max_exec_checks = 2};
	add_service(&cfg, "limit", IPPROTO_TCP, exec_check(argv, 10000, 3000, false), be, 6);
	char *log = round_log(&cfg, NULL, NULL);
	for (int i = 1; i <= 6; i++) {
		char want[64];
		snprintf(want, sizeof(want), "limit 127.0.0.1:%d down -> up (1 success)", i);
		assert_line(log, want);
	}
	assert_int_equal(n_lines(log), 6);
	DIR *d = opendir(sub);
	assert_non_null(d);
	int counts = 0, max = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, "count.", 6) != 0)
			continue;
		char f[512];
		snprintf(f, sizeof(f), "%s/%s", sub, e->d_name);
		int n = read_pid(f); /* a number */
		counts++;
		max = n > max ? n : max;
	}
	closedir(d);
	assert_int_equal(counts, 6);
	assert_int_equal(max, 2); /* two at once, never more */
	free(log);
	free_conf(&cfg);
}

/* --- spawn failures of this host --- */

static void test_local_error_is_not_a_failure(void **state) {
	char path[128];
	char *argv[] = {script(path, sizeof(path), "never", "exit 0", 0755), NULL};
	struct lb_config cfg = {0};
	add_exec(&cfg, "emfile", argv, true, "127.0.0.1:80");
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	int lowest = dup(0); /* the lowest free fd: a limit there makes pipe2() fail */
	close(lowest);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	capture_start();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = lb_health_run_round(h);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	char *log = capture_take();
	assert_int_equal(r, 0);
	assert_string_equal(log, "health check of 127.0.0.1:80 not run: Too many open files\n");
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.probes, 0);
	lb_health_free(h);
	lb_loop_free(l);
	assert_no_children();
	free(log);
	free_conf(&cfg);
}

/* --- stopping running commands --- */

/* Starts n hanging commands (each records its grandchild's pid in dir/<tag>.<i>), waits until
 * all run. */
static void start_hanging(const char *tag, struct lb_config *cfg, char **argv, char *pidfiles,
			  size_t n, struct lb_loop **l, struct lb_health_mgr **h) {
	char path[128];
	snprintf(pidfiles, 128, "%s/%s", dir, tag);
	mkdir(pidfiles, 0755);
	script(path, sizeof(path), tag, "sleep 30 & echo $! > \"$1/$EZLB_BACKEND_PORT\"; wait", 0755);
	argv[0] = strdup(path);
	argv[1] = pidfiles;
	argv[2] = NULL;
	const char *be[] = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};
	assert_true(n <= 3);
	add_service(cfg, tag, IPPROTO_TCP, exec_check(argv, 10000, 5000, true), be, n);
	assert_int_equal(lb_loop_new(l), 0);
	assert_int_equal(lb_health_new(*l, NULL, NULL, h), 0);
	assert_int_equal(lb_health_sync(*h, cfg), 0);
	assert_int_equal(lb_health_probe_all(*h), 0); /* all start now */
	struct lb_health_stats st;
	lb_health_get_stats(*h, &st);
	assert_int_equal(st.in_flight, n);
	for (size_t i = 1; i <= n; i++) {
		char f[160];
		snprintf(f, sizeof(f), "%s/%zu", pidfiles, i);
		while (!exists(f))
			lb_loop_run_once(*l, 10);
	}
}

static void assert_grandchildren_die(const char *pidfiles, size_t n) {
	for (size_t i = 1; i <= n; i++) {
		char f[160];
		snprintf(f, sizeof(f), "%s/%zu", pidfiles, i);
		assert_true(dies(read_pid(f)));
	}
}


static void test_sync_removing_running_probes(void **state) {
	char *argv[3], pidfiles[128];
	struct lb_config cfg = {0}, empty = {0};
	struct lb_loop *l;
	struct lb_health_mgr *h;
	start_hanging("removed", &cfg, argv, pidfiles, 3, &l, &h);
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_health_sync(h, &empty), 0);
	assert_true(now_usec(CLOCK_MONOTONIC) - start < 100 * USEC_PER_MSEC); /* nothing waits */
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.in_flight, 0);
	/* the killed children are reaped from the loop */
	for (int i = 0; i < 100; i++) {
		int all, zombies;
		run_loop_ms(l, 20);
		count_children(&all, &zombies);
		if (all == 0)
			break;
	}
	assert_no_children();
	assert_grandchildren_die(pidfiles, 3);
	lb_health_free(h);
	lb_loop_free(l);
	free(argv[0]);
	free_conf(&cfg);
}

static void test_free_with_running_probes(void **state) {
	char *argv[3], pidfiles[128];
	struct lb_config cfg = {0};
	struct lb_loop *l;
	struct lb_health_mgr *h;
	int fds = count_fds();
	start_hanging("freed", &cfg, argv, pidfiles, 3, &l, &h);
	usec_t start = now_usec(CLOCK_MONOTONIC);
	lb_health_free(h);
	assert_true(now_usec(CLOCK_MONOTONIC) - start < 1000 * USEC_PER_MSEC);
	lb_loop_free(l);
	assert_no_children();
	assert_int_equal(count_fds(), fds);
	assert_grandchildren_die(pidfiles, 3);
	free(argv[0]);
	free_conf(&cfg);
}

/* A settled target is reused across reloads only while its command line is the same. */
static void test_conf_cmp(void **state) {
	char *a[] = {"/bin/check", "x", NULL}, *b[] = {"/bin/check", "y", NULL}, *c[] = {"/bin/check", NULL};
	char *a2[] = {"/bin/check", "x", NULL};
	struct lb_check_conf ca = exec_check(a, 1000, 500, true), cb = exec_check(b, 1000, 500, true),
			     cc = exec_check(c, 1000, 500, true), ca2 = exec_check(a2, 1000, 500, true);
	assert_int_equal(lb_check_exec.conf_cmp(&ca, &ca2), 0);
	assert_true(lb_check_exec.conf_cmp(&ca, &cb) < 0);
	assert_true(lb_check_exec.conf_cmp(&cb, &ca) > 0);
	assert_true(lb_check_exec.conf_cmp(&cc, &ca) < 0);
	assert_true(lb_check_exec.limited);
	assert_true(lb_check_exec.per_service);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_and_reasons),
		cmocka_unit_test(test_environment_fds_and_signals),
		cmocka_unit_test(test_timeout_kills_the_group),
		cmocka_unit_test(test_stderr_flood),
		cmocka_unit_test(test_descendant_holding_stderr),
		cmocka_unit_test(test_at_most_max_exec_checks),
		cmocka_unit_test(test_local_error_is_not_a_failure),
		cmocka_unit_test(test_sync_removing_running_probes),
		cmocka_unit_test(test_free_with_running_probes),
		cmocka_unit_test(test_conf_cmp),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
