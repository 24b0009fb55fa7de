/* Child processes of the loop (the exec health check, the notify hooks): spawned without a shell in
 * a process group of their own, watched through a pidfd on the loop, reaped without ever blocking
 * it. Each user owns its reaper (exec_reaper_get on a slot of its own).
 *
 * A user that is done with a child before it exited (deadline, target removed, shutdown) kills the
 * child's whole group and hands the child to the reaper, which reaps it when its pidfd says it
 * exited: no zombie outlives its user, and no user waits for a process.
 *
 * Without pidfd_open (ENOSYS: a kernel before 5.3, or valgrind; EPERM: a seccomp filter that
 * predates it), children are polled with waitid(WNOHANG) every few milliseconds while any runs. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "loop.h"

struct exec_child;
struct exec_reaper;

/* The child exited and was reaped: si->si_code is CLD_EXITED (si_status the exit status),
 * CLD_KILLED or CLD_DUMPED (si_status the signal), or 0 when the status was lost (reaped by
 * someone else). */
typedef void (*exec_exit_fn)(struct exec_child *c, const siginfo_t *si);

/* Embedded by the caller, as the first member of a block from malloc: the reaper frees an
 * abandoned child's whole block once it is reaped. */
struct exec_child {
	struct exec_reaper *reaper;
	pid_t pid;
	struct lb_io io;                 /* the pidfd, readable once the child exited */
	exec_exit_fn on_exit;            /* NULL once abandoned */
	bool listed;                     /* in the reaper's list: abandoned, or without a pidfd */
	struct exec_child *prev, *next;
};

/* The reaper in *slot (the health manager's lb_check_shared entry, notify's own field), created on
 * first use: a user gets it before spawning so that abandoning a child later never needs memory.
 * NULL: ENOMEM. */
struct exec_reaper *exec_reaper_get(void **slot, struct lb_loop *l);
/* Kill and reap the abandoned children left, waiting a bounded time (SIGKILLed processes exit
 * at once), then free the reaper. For ops->shared_free. */
void exec_reaper_free(void *reaper);

/* Run argv (argv[0] an absolute path; no shell, no PATH search) with envp, in a new process
 * group, stdin and stdout on /dev/null, stderr on err_fd, every signal default and unblocked.
 * Returns 0, after which on_exit is called exactly once (unless the child is abandoned), or a
 * negative errno and no child is left: the errno of the exec (-ENOENT, -EACCES...) or of a local
 * resource (-EAGAIN, -ENOMEM, -EMFILE...). */
int exec_child_spawn(struct exec_child *c, struct exec_reaper *rp, char *const argv[],
		     char *const envp[], int err_fd, exec_exit_fn on_exit);
/* If the child already exited, reap it, call on_exit and return true; never waits. */
bool exec_child_check(struct exec_child *c);
/* Kill the child's process group and give the child to its reaper, which frees c (the start of
 * a malloc'd block) once reaped. on_exit is not called. Never waits. */
void exec_child_abandon(struct exec_child *c);
