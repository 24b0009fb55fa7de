/* Exec check (keepalived's MISC_CHECK): each probe runs health_check.exec.command, without a
 * shell; exit status 0 is up. Its whole environment is EZLB_SERVICE, EZLB_BACKEND_ADDRESS (the IP),
 * EZLB_BACKEND_PORT (the probed port) and a minimal PATH; stdin and stdout are /dev/null, stderr a
 * pipe read on the loop. Another exit status, a signal, or the deadline (the command's whole
 * process group is SIGKILLed) is a failure whose reason carries the first line of stderr:
 * "exit status 2: db not ready", "killed by signal 9", "timeout (killed)".
 *
 * The engine runs at most max_exec_checks of these at once (.limited); children are spawned,
 * watched and reaped by exec_reaper.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exec_reaper.h"

#define ERR_WINDOW 4096          /* stderr bytes searched for the first line; later ones discarded */
#define LINE_KEEP 120            /* bytes of that line kept for the reason */
#define READ_BUDGET (256 * 1024) /* stderr bytes read per wake-up: a flooding child cannot hog the loop */
#define EXEC_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

struct exec_run {
	struct exec_child child; /* first: the reaper frees an abandoned run whole */
	struct lb_probe *p;
	struct lb_loop *loop;
	int err_fd;              /* our end of the child's stderr, -1 once closed */
	struct lb_io err_io;
	size_t seen;             /* stderr bytes searched for the line */
	size_t len;
	bool line_done, truncated;
	char line[LINE_KEEP];
};

/* --- stderr --- */

/* Keep the first non-empty line among the first ERR_WINDOW bytes; control characters become '?'
 * (it goes to the log, one line). */
static void scan(struct exec_run *r, const char *buf, size_t n) {
	for (size_t i = 0; i < n && !r->line_done && r->seen < ERR_WINDOW; i++, r->seen++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '\n' || ch == '\r') {
			r->line_done = r->len > 0;
		} else if (r->len == 0 && (ch == ' ' || ch == '\t')) {
			continue;
		} else if (r->len == LINE_KEEP) {
			r->truncated = r->line_done = true;
		} else {
			r->line[r->len++] = ch == '\t' ? ' ' : ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
	}
	if (r->seen >= ERR_WINDOW)
		r->line_done = true;
}

static void close_err(struct exec_run *r) {
	if (r->err_fd < 0)
		return;
	if (r->err_io.added)
		lb_loop_io_close(r->loop, &r->err_io);
	else
		close(r->err_fd);
	r->err_fd = -1;
}

/* Read up to budget bytes of what the pipe holds (always draining: a child blocked on a full pipe
 * would never exit); close it at EOF or on error. */
static void read_err(struct exec_run *r, size_t budget) {
	char buf[16384];
	while (r->err_fd >= 0 && budget > 0) {
		ssize_t n = read(r->err_fd, buf, sizeof(buf));
		if (n > 0) {
			scan(r, buf, (size_t)n);
			budget -= (size_t)n < budget ? (size_t)n : budget;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			close_err(r);
		}
	}
}

static void on_err(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	read_err(userdata, READ_BUDGET);
}

/* --- verdicts --- */

/* Append ": <first line of stderr>" to buf, if there was one. */
static void add_line(const struct exec_run *r, char *buf, size_t size) {
	size_t len = r->len, used = strlen(buf);
	while (len > 0 && r->line[len - 1] == ' ')
		len--;
	if (len > 0 && used < size)
		snprintf(buf + used, size - used, ": %.*s%s", (int)len, r->line, r->truncated ? "..." : "");
}

/* Whether the exit means up; else the reason in buf. */
static bool describe(const struct exec_run *r, const siginfo_t *si, char *buf, size_t size) {
	switch (si->si_code) {
	case CLD_EXITED:
		if (si->si_status == 0)
			return true;
		snprintf(buf, size, "exit status %d", si->si_status);
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		snprintf(buf, size, "killed by signal %d", si->si_status);
		break;
	default:
		snprintf(buf, size, "exit status unknown");
	}
	add_line(r, buf, size);
	return false;
}

/* The probe is over: close the pipe, and give the child to the reaper if it still runs. */
static void stop(struct exec_run *r, bool abandon) {
	close_err(r);
	r->p->run = NULL;
	if (abandon)
		exec_child_abandon(&r->child); /* frees r once reaped */
	else
		free(r);
}

/* The child exited. What it wrote before is in the pipe; a descendant that kept the pipe open
 * does not hold the verdict back. */
static void child_exited(struct exec_child *c, const siginfo_t *si) {
	struct exec_run *r = (struct exec_run *)c;
	struct lb_probe *p = r->p;
	char reason[LB_PROBE_REASON_MAX];
	if (!r->line_done)
		read_err(r, ERR_WINDOW);
	bool ok = describe(r, si, reason, sizeof(reason));
	stop(r, false);
	lb_probe_done(p, ok, ok ? NULL : reason);
}

/* --- the probe --- */

struct exec_env {
	char *service; /* from malloc: service names have no length limit */
	char addr[sizeof("EZLB_BACKEND_ADDRESS=") + LB_ADDRSTRLEN];
	char port[sizeof("EZLB_BACKEND_PORT=65535")];
	char *envp[5];
};

static int env_make(struct exec_env *e, const struct lb_probe *p) {
	char ip[LB_ADDRSTRLEN];
	if (asprintf(&e->service, "EZLB_SERVICE=%s", p->svc ? p->svc->name : "") < 0)
		return ENOMEM;
	snprintf(e->addr, sizeof(e->addr), "EZLB_BACKEND_ADDRESS=%s",
		 lb_ip_fmt(p->addr->af, &p->addr->ip, ip));
	snprintf(e->port, sizeof(e->port), "EZLB_BACKEND_PORT=%u", p->addr->port);
	e->envp[0] = (char *)EXEC_PATH;
	e->envp[1] = e->service;
	e->envp[2] = e->addr;
	e->envp[3] = e->port;
	e->envp[4] = NULL;
	return 0;
}

/* Pipe, watch, spawn; returns 0 or an errno. */
static int run(struct exec_run *r, struct exec_reaper *rp, char *const argv[]) {
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return errno;
	r->err_fd = fds[0];
	/* Only our end is non-blocking: the child's stderr stays an ordinary blocking pipe. */
	int err = fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ? errno : 0;
	if (!err)
		err = -lb_loop_io_add(r->loop, &r->err_io, fds[0], EPOLLIN, on_err, r);
	struct exec_env env = {0};
	if (!err)
		err = env_make(&env, r->p);
	if (!err)
		err = -exec_child_spawn(&r->child, rp, argv, env.envp, fds[1], child_exited);
	free(env.service);
	close(fds[1]); /* the child's copy alone keeps it open: EOF when the child is gone */
	return err;
}

/* Errors of this host, not of the command: the probe is skipped, not failed. */
static bool local_error(int err) {
	switch (err) {
	case EMFILE: case ENFILE: case ENOMEM: case EAGAIN: case ENOBUFS: case ENOSPC:
		return true;
	}
	return false;
}

static void exec_start(struct lb_probe *p) {
	char *const *argv = p->conf->exec.argv;
	if (!argv || !argv[0]) {
		lb_probe_done(p, false, "no command");
		return;
	}
	struct exec_reaper *rp = exec_reaper_get(&p->shared->kind[LB_CHECK_EXEC], p->loop);
	struct exec_run *r = rp ? calloc(1, sizeof(*r)) : NULL;
	if (!r) {
		lb_probe_abort(p, ENOMEM);
		return;
	}
	*r = (struct exec_run){.p = p, .loop = p->loop, .err_fd = -1};
	int err = run(r, rp, argv);
	if (err == 0) {
		p->run = r;
		return;
	}
	close_err(r);
	free(r);
	if (local_error(err)) {
		lb_probe_abort(p, err);
		return;
	}
	char reason[LB_PROBE_REASON_MAX];
	snprintf(reason, sizeof(reason), "cannot run %s: %s", argv[0], strerror(err));
	lb_probe_done(p, false, reason);
}

static void exec_cancel(struct lb_probe *p) {
	if (p->run)
		stop(p->run, true);
}

/* The deadline passed. A child that exited in time (the loop was late) gets its own verdict;
 * else its group is killed and reaped later, and the probe fails now. */
static void exec_expire(struct lb_probe *p) {
	struct exec_run *r = p->run;
	if (exec_child_check(&r->child))
		return;
	char reason[LB_PROBE_REASON_MAX] = "timeout (killed)";
	if (!r->line_done)
		read_err(r, ERR_WINDOW);
	add_line(r, reason, sizeof(reason));
	stop(r, true);
	lb_probe_done(p, false, reason);
}

static int exec_conf_cmp(const struct lb_check_conf *a, const struct lb_check_conf *b) {
	const struct lb_check_exec *x = &a->exec, *y = &b->exec;
	if (x->argc != y->argc)
		return x->argc < y->argc ? -1 : 1;
	for (size_t i = 0; i < x->argc; i++) {
		int r = strcmp(x->argv[i], y->argv[i]);
		if (r)
			return r;
	}
	return 0;
}

const struct lb_check_ops lb_check_exec = {
	.name = "exec",
	.type = LB_CHECK_EXEC,
	.start = exec_start,
	.cancel = exec_cancel,
	.expire = exec_expire,
	.conf_cmp = exec_conf_cmp,
	.shared_free = exec_reaper_free,
	.limited = true,
	.per_service = true,
};
