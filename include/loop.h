/* The event loop: one epoll fd for every IO source, one timerfd armed to the earliest deadline of a
 * binary min-heap of timers, signalfd for signals, and a turn hook that turns a burst of events into
 * one piece of work per loop turn. Single-threaded; nothing here sleeps or polls.
 *
 * A loop turn: wait (blocking forever when there is no timer and nothing dirty), dispatch the IO
 * events, run the timers that are due, then run the turn hook if something marked the loop dirty.
 *
 * IO sources and timers can be embedded in the caller's own structs (struct lb_io, struct lb_timer:
 * no allocation per use, which the health checks rely on) or allocated by the loop (the fd-keyed
 * lb_loop_add_fd family and lb_loop_add_timer). Any callback may add, modify or delete any source or
 * timer, including its own; a source deleted during a turn gets no further event in that turn. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "util.h"

struct lb_loop;

typedef void (*lb_io_fn)(struct lb_loop *l, int fd, uint32_t revents, void *userdata);

/* An IO source. Fields are the loop's while the source is added; read-only for the owner. */
struct lb_io {
	int fd;
	uint32_t events;
	lb_io_fn cb;
	void *userdata;
	bool added;
};

struct lb_timer;
typedef void (*lb_timer_fn)(struct lb_loop *l, struct lb_timer *t, void *userdata);

#define LB_TIMER_IDLE SIZE_MAX

/* A timer; deadlines are CLOCK_MONOTONIC microseconds (now_usec(CLOCK_MONOTONIC)). */
struct lb_timer {
	usec_t deadline;
	uint64_t seq;     /* arming order: equal deadlines fire first-armed first */
	size_t idx;       /* position in the heap, LB_TIMER_IDLE when not armed */
	lb_timer_fn cb;
	void *userdata;
};

typedef void (*lb_turn_fn)(struct lb_loop *l, void *userdata);
typedef void (*lb_signal_fn)(struct lb_loop *l, const struct signalfd_siginfo *si, void *userdata);

/* Returns 0 or a negative errno (epoll_create1/timerfd_create failed; logged). */
int lb_loop_new(struct lb_loop **ret);
/* Frees the loop, closes its own fds (epoll, timerfd, signalfds) and restores the signal mask
 * lb_loop_add_signals changed. Embedded sources and timers are simply forgotten. NULL is fine. */
void lb_loop_free(struct lb_loop *l);

/* Run turns until lb_loop_exit(); returns its code, or a negative errno if epoll_wait failed. */
int lb_loop_run(struct lb_loop *l);
/* One turn. timeout_ms < 0 waits until something happens. Returns the number of IO events and
 * timers dispatched (0 on timeout or EINTR), or a negative errno. */
int lb_loop_run_once(struct lb_loop *l, int timeout_ms);
void lb_loop_exit(struct lb_loop *l, int code);
bool lb_loop_exiting(const struct lb_loop *l);

/* --- IO sources embedded by the caller. The caller keeps owning (and closes) the fd; delete the
 * source before closing it. add: 0, -EEXIST if io is already added, or the epoll_ctl errno. */
int lb_loop_io_add(struct lb_loop *l, struct lb_io *io, int fd, uint32_t events, lb_io_fn cb,
		   void *userdata);
int lb_loop_io_mod(struct lb_loop *l, struct lb_io *io, uint32_t events);
/* Idempotent. After it returns, io gets no event, even one already fetched in this turn. */
void lb_loop_io_del(struct lb_loop *l, struct lb_io *io);
/* Delete, then close the fd. The delete is not left to the close: a copy of the fd held by a
 * forked child (or a dup) would keep it in the epoll set. No-op if not added. */
void lb_loop_io_close(struct lb_loop *l, struct lb_io *io);

/* --- IO sources keyed by fd, allocated by the loop (for the daemon's few long-lived fds).
 * add: 0, -EEXIST, -ENOMEM or the epoll_ctl errno; mod/del: 0 or -ENOENT. */
int lb_loop_add_fd(struct lb_loop *l, int fd, uint32_t events, lb_io_fn cb, void *userdata);
int lb_loop_mod_fd(struct lb_loop *l, int fd, uint32_t events);
int lb_loop_del_fd(struct lb_loop *l, int fd);

/* --- Timers embedded by the caller. */
void lb_timer_init(struct lb_timer *t, lb_timer_fn cb, void *userdata);
static inline bool lb_timer_armed(const struct lb_timer *t) { return t->idx != LB_TIMER_IDLE; }
/* Arm, or move an armed timer to a new deadline (O(log n)). A deadline in the past fires in the
 * next turn. Returns 0, or -ENOMEM when the heap cannot grow (never after lb_loop_reserve_timers
 * made room for every armed timer). */
int lb_timer_arm(struct lb_loop *l, struct lb_timer *t, usec_t deadline);
/* Idempotent, O(log n). */
void lb_timer_cancel(struct lb_loop *l, struct lb_timer *t);
/* Make room in the heap for n armed timers in total, so that arming cannot fail. 0 or -ENOMEM. */
int lb_loop_reserve_timers(struct lb_loop *l, size_t n);
size_t lb_loop_n_timers(const struct lb_loop *l);
/* Timer coalescing: wake-ups for timers are rounded up to a multiple of slack (CLOCK_MONOTONIC
 * grid), and every timer due by then runs in that one turn; timers fire up to slack late.
 * 10k probes/s spread evenly cost 10k wake-ups/s with no slack, at most 250/s with the default
 * 4 ms. Measured here (10k loopback TCP checks/s): 36% of a core with no slack, 15-17% with 1 to
 * 20 ms; with 1k checks/s, 5.1% at 1 ms and 3.4% at 5 ms. 0 wakes at each deadline. */
#define LB_LOOP_DEFAULT_SLACK (4 * USEC_PER_MSEC)
void lb_loop_set_timer_slack(struct lb_loop *l, usec_t slack);

/* --- Timers allocated by the loop: armed at deadline; re-arm with lb_timer_arm, stop with
 * lb_timer_cancel, release with lb_timer_free (which cancels). NULL on ENOMEM. */
struct lb_timer *lb_loop_add_timer(struct lb_loop *l, usec_t deadline, lb_timer_fn cb,
				   void *userdata);
void lb_timer_free(struct lb_loop *l, struct lb_timer *t);

/* --- Turn hook: cb runs once at the end of a turn in which lb_loop_mark_dirty() was called, however
 * many times. Marking dirty from the hook itself schedules another turn without waiting. */
void lb_loop_set_turn_hook(struct lb_loop *l, lb_turn_fn cb, void *userdata);
void lb_loop_mark_dirty(struct lb_loop *l);

/* --- Signals: blocks sigs (the previous mask comes back at lb_loop_free) and delivers them through
 * a signalfd, one callback per signal received. Returns 0 or a negative errno (logged). */
int lb_loop_add_signals(struct lb_loop *l, const int *sigs, size_t n, lb_signal_fn cb,
			void *userdata);

/* Raise the soft RLIMIT_NOFILE to the hard limit: thousands of health probes in flight need fds,
 * and nothing in ezlb uses select(). Returns the new soft limit, or a negative errno. */
long lb_raise_fd_limit(void);
