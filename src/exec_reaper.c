/* Spawning, watching and reaping the loop's children: exec checks, notify hooks (see exec_reaper.h). */
#include "exec_reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include "log.h"
#include "util.h"

/* How long exec_reaper_free, and a spawn that cannot watch its child, wait in all for killed
 * children to exit: SIGKILL ends a process at once unless it is stuck in the kernel. */
#define REAP_WAIT_MS 1000
/* Without pidfds: how often children are polled. */
#define POLL_USEC (10 * USEC_PER_MSEC)

struct exec_reaper {
	struct lb_loop *loop;
	struct exec_child *head; /* abandoned children (killed) and children without a pidfd */
	bool no_pidfd;           /* pidfd_open said ENOSYS: poll instead */
	struct lb_timer poll;    /* armed while children without a pidfd are listed */
};

/* --- the list --- */

static void list_add(struct exec_child *c) {
	struct exec_reaper *rp = c->reaper;
	if (c->listed)
		return;
	c->listed = true;
	c->prev = NULL;
	c->next = rp->head;
	if (rp->head)
		rp->head->prev = c;
	rp->head = c;
}

static void list_del(struct exec_child *c) {
	if (!c->listed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->reaper->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->listed = false;
}

/* --- reaping --- */

/* Reap pid if it exited; returns whether it did, with *si saying how. Never waits. */
static bool reap_pid(pid_t pid, siginfo_t *si) {
	memset(si, 0, sizeof(*si));
	if (waitid(P_PID, pid, si, WEXITED | WNOHANG) == 0)
		return si->si_pid != 0;
	if (errno != ECHILD)
		return false;
	memset(si, 0, sizeof(*si)); /* someone else reaped it: gone, status lost */
	return true;
}

bool exec_child_check(struct exec_child *c) {
	siginfo_t si;
	if (!reap_pid(c->pid, &si))
		return false;
	lb_loop_io_close(c->reaper->loop, &c->io);
	list_del(c);
	if (c->on_exit)
		c->on_exit(c, &si);
	else
		free(c);
	return true;
}

static void on_pidfd(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	exec_child_check(userdata);
}

/* Reap what exited among the children without a pidfd. An exit ends a probe, which may start
 * others and so change the list: start over after each. */
static void on_poll(struct lb_loop *l, struct lb_timer *t, void *userdata) {
	struct exec_reaper *rp = userdata;
	bool polled = false;
	struct exec_child *c = rp->head;
	while (c) {
		if (c->io.added) {
			c = c->next;
			continue;
		}
		polled = true;
		if (exec_child_check(c)) /* c is gone */
			c = rp->head, polled = false;
		else
			c = c->next;
	}
	if (polled) /* the timer just left the heap: there is room to re-arm it */
		(void)lb_timer_arm(l, &rp->poll, now_usec(CLOCK_MONOTONIC) + POLL_USEC);
}

/* SIGKILL the child's group (the descendants that stayed in it), and the child itself in case it
 * left the group. Safe while the child is unreaped: its pid, hence its group's id, is not reused. */
static void kill_group(pid_t pid) {
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

/* Wait until deadline at most for a killed child to exit, then reap it. pidfd < 0: poll in 1 ms
 * steps. Only for shutdown and for a spawn that could not watch its child. */
static bool wait_gone(pid_t pid, int pidfd, usec_t deadline, siginfo_t *si) {
	for (;;) {
		if (reap_pid(pid, si))
			return true;
		usec_t now = now_usec(CLOCK_MONOTONIC);
		if (now >= deadline)
			return false;
		int ms = (int)((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
		struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
		(void)poll(&pfd, pidfd >= 0 ? 1 : 0, pidfd >= 0 ? ms : 1);
	}
}

void exec_child_abandon(struct exec_child *c) {
	kill_group(c->pid);
	c->on_exit = NULL;
	list_add(c);
	exec_child_check(c); /* already gone if it had exited: freed now */
}

/* --- the reaper --- */

/* With SIGCHLD ignored (SIG_IGN or SA_NOCLDWAIT, which a parent can hand down through exec), the
 * kernel reaps children itself and their exit status is lost. The default disposition ignores
 * the signal too but keeps the status for waitid. */
static void keep_exit_status(void) {
	struct sigaction sa;
	if (sigaction(SIGCHLD, NULL, &sa) < 0)
		return;
	if (sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_NOCLDWAIT))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) == 0)
		log_notice("exec: SIGCHLD was ignored, restored to its default to read exit statuses");
}

struct exec_reaper *exec_reaper_get(void **slot, struct lb_loop *l) {
	if (*slot)
		return *slot;
	struct exec_reaper *rp = calloc(1, sizeof(*rp));
	if (!rp)
		return NULL;
	rp->loop = l;
	lb_timer_init(&rp->poll, on_poll, rp);
	keep_exit_status();
	*slot = rp;
	return rp;
}

void exec_reaper_free(void *reaper) {
	struct exec_reaper *rp = reaper;
	if (!rp)
		return;
	lb_timer_cancel(rp->loop, &rp->poll);
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + REAP_WAIT_MS * USEC_PER_MSEC;
	while (rp->head) {
		struct exec_child *c = rp->head;
		siginfo_t si;
		kill_group(c->pid);
		if (!wait_gone(c->pid, c->io.added ? c->io.fd : -1, deadline, &si))
			log_warn("exec: process %d still there after SIGKILL; not waiting for it",
				 (int)c->pid);
		lb_loop_io_close(rp->loop, &c->io);
		list_del(c);
		free(c); /* abandoned: the probes went before the shared state */
	}
	free(rp);
}

/* --- spawning --- */

/* posix_spawn: glibc spawns with CLONE_VFORK, so the cost does not grow with ezlb's memory, and
 * it returns once the exec happened, with the exec's errno: the new group exists by then, and a
 * missing command is an error here rather than an exit status 127. */
static int spawn(pid_t *pid, char *const argv[], char *const envp[], int err_fd) {
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all); /* the daemon blocks signals for its signalfd; systemd ignores SIGPIPE */
	int r = posix_spawnattr_init(&attr);
	if (r)
		return -r;
	r = posix_spawn_file_actions_init(&fa);
	if (r) {
		posix_spawnattr_destroy(&attr);
		return -r;
	}
	r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	if (!r) r = posix_spawnattr_setpgroup(&attr, 0); /* a group of its own, to kill it whole */
	if (!r) r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r) r = posix_spawnattr_setsigdefault(&attr, &all);
	/* stderr first: err_fd is 0 or 1 when ezlb was started with those closed. */
	if (!r) r = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	if (!r) r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDWR, 0);
	if (!r) r = posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO, STDOUT_FILENO);
	/* ezlb's own fds are close-on-exec; this also keeps those it inherited without the flag. */
	if (!r) r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	if (!r) r = posix_spawn(pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -r;
}

/* Watch c: through its pidfd, else (ENOSYS) by polling. 0 or a negative errno. */
static int watch(struct exec_child *c) {
	struct exec_reaper *rp = c->reaper;
	int fd = rp->no_pidfd ? -1 : pidfd_open(c->pid, 0); /* close-on-exec by itself */
	if (fd >= 0) {
		int r = lb_loop_io_add(rp->loop, &c->io, fd, EPOLLIN, on_pidfd, c);
		if (r < 0)
			close(fd);
		return r;
	}
	if (!rp->no_pidfd) {
		int err = errno;
		/* ENOSYS: an old kernel or valgrind; EPERM: a seccomp filter older than pidfds */
		if (err != ENOSYS && err != EPERM)
			return -err;
		log_info("exec: pidfd_open: %s; polling children every %llu ms", strerror(err),
			 (unsigned long long)(POLL_USEC / USEC_PER_MSEC));
		rp->no_pidfd = true;
	}
	if (!lb_timer_armed(&rp->poll)) {
		int r = lb_timer_arm(rp->loop, &rp->poll, now_usec(CLOCK_MONOTONIC) + POLL_USEC);
		if (r < 0)
			return r;
	}
	list_add(c);
	return 0;
}

int exec_child_spawn(struct exec_child *c, struct exec_reaper *rp, char *const argv[],
		     char *const envp[], int err_fd, exec_exit_fn on_exit) {
	pid_t pid;
	int r = spawn(&pid, argv, envp, err_fd);
	if (r < 0)
		return r;
	*c = (struct exec_child){.reaper = rp, .pid = pid, .on_exit = on_exit};
	r = watch(c);
	if (r == 0)
		return 0;
	/* Nothing would watch it (no fd, no memory): kill it now; this rare path waits. */
	siginfo_t si;
	kill_group(pid);
	if (!wait_gone(pid, -1, now_usec(CLOCK_MONOTONIC) + REAP_WAIT_MS * USEC_PER_MSEC, &si))
		log_warn("exec: process %d still there after SIGKILL; not waiting for it", (int)pid);
	return r;
}
