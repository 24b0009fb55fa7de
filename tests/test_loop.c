/* Event loop: timer order, cancel/re-arm, 10k timers, fd sources, turn hook, signals, no leaks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "test_fds.h"

/* Timers that record the order they fired in. */
struct rec {
	int order[16];
	int n;
};
struct rtimer {
	struct lb_timer t;
	struct rec *rec;
	int id;
};

static void on_rtimer(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct rtimer *rt = ud;
	assert_ptr_equal(t, &rt->t);
	assert_false(lb_timer_armed(t));
	rt->rec->order[rt->rec->n++] = rt->id;
}

static void arm_all(struct lb_loop *l, struct rtimer *ts, int n, struct rec *rec,
		    const usec_t *deadlines) {
	for (int i = 0; i < n; i++) {
		ts[i].rec = rec;
		ts[i].id = i;
		lb_timer_init(&ts[i].t, on_rtimer, &ts[i]);
		assert_int_equal(lb_timer_arm(l, &ts[i].t, deadlines[i]), 0);
	}
}

static void test_timers_fire_in_deadline_order(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	usec_t now = now_usec(CLOCK_MONOTONIC);
	/* All due already: one turn runs them in deadline order; equal deadlines first-armed first. */
	usec_t dl[] = {now - 50, now - 10, now - 30, now - 20, now - 40, now - 30};
	struct rtimer ts[6];
	struct rec rec = {0};
	arm_all(l, ts, 6, &rec, dl);
	assert_int_equal(lb_loop_n_timers(l), 6);
	assert_int_equal(lb_loop_run_once(l, 0), 6);
	int want[] = {0, 4, 2, 5, 3, 1};
	assert_int_equal(rec.n, 6);
	assert_memory_equal(rec.order, want, sizeof(want));
	assert_int_equal(lb_loop_n_timers(l), 0);
	lb_loop_free(l);
}

static void test_timers_wait_for_deadline(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	usec_t start = now_usec(CLOCK_MONOTONIC);
	usec_t dl[] = {start + 30 * USEC_PER_MSEC, start + 15 * USEC_PER_MSEC};
	struct rtimer ts[2];
	struct rec rec = {0};
	arm_all(l, ts, 2, &rec, dl);
	assert_int_equal(lb_loop_run_once(l, 0), 0); /* nothing due yet, does not block */
	assert_int_equal(rec.n, 0);
	while (rec.n < 1)
		assert_true(lb_loop_run_once(l, -1) >= 0);
	usec_t t1 = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(rec.order[0], 1);
	assert_true(t1 - start >= 15 * USEC_PER_MSEC);
	assert_true(t1 - start < 29 * USEC_PER_MSEC);
	while (rec.n < 2)
		assert_true(lb_loop_run_once(l, -1) >= 0);
	assert_int_equal(rec.order[1], 0);
	assert_true(now_usec(CLOCK_MONOTONIC) - start >= 30 * USEC_PER_MSEC);
	lb_loop_free(l);
}

static void test_timer_cancel_and_rearm(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	usec_t now = now_usec(CLOCK_MONOTONIC);
	usec_t dl[] = {now - 3, now - 2, now - 1, now + 60 * USEC_PER_SEC};
	struct rtimer ts[4];
	struct rec rec = {0};
	arm_all(l, ts, 4, &rec, dl);
	lb_timer_cancel(l, &ts[1].t);
	lb_timer_cancel(l, &ts[1].t); /* idempotent */
	assert_false(lb_timer_armed(&ts[1].t));
	assert_int_equal(lb_timer_arm(l, &ts[0].t, now), 0);      /* moved after 2 */
	assert_int_equal(lb_timer_arm(l, &ts[3].t, now - 5), 0);  /* far future -> first */
	assert_int_equal(lb_loop_n_timers(l), 3);
	assert_int_equal(lb_loop_run_once(l, 0), 3);
	int want[] = {3, 2, 0};
	assert_int_equal(rec.n, 3);
	assert_memory_equal(rec.order, want, sizeof(want));
	lb_loop_free(l);
}

/* 10k random deadlines, a third cancelled and a third moved: pops come out sorted, each once. */
struct mtimer {
	struct lb_timer t;
	usec_t *last;
	size_t *fired;
	bool cancelled;
};

static void on_mtimer(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct mtimer *m = ud;
	assert_false(m->cancelled);
	assert_true(t->deadline >= *m->last);
	*m->last = t->deadline;
	(*m->fired)++;
}

static void test_many_timers(void **state) {
	enum { N = 10000 };
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	struct mtimer *ms = calloc(N, sizeof(*ms));
	assert_non_null(ms);
	usec_t last = 0, base = now_usec(CLOCK_MONOTONIC) - 2 * USEC_PER_SEC;
	size_t fired = 0, expect = 0;
	srandom(42);
	for (int i = 0; i < N; i++) {
		ms[i].last = &last;
		ms[i].fired = &fired;
		lb_timer_init(&ms[i].t, on_mtimer, &ms[i]);
		assert_int_equal(lb_timer_arm(l, &ms[i].t, base + (usec_t)(random() % 1000000)), 0);
	}
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0) {
			lb_timer_cancel(l, &ms[i].t);
			ms[i].cancelled = true;
		} else if (i % 3 == 1) {
			assert_int_equal(lb_timer_arm(l, &ms[i].t, base + (usec_t)(random() % 1000000)), 0);
		}
		expect += !ms[i].cancelled;
	}
	assert_int_equal(lb_loop_n_timers(l), expect);
	/* One far-future timer must stay. */
	struct mtimer later = {.last = &last, .fired = &fired};
	lb_timer_init(&later.t, on_mtimer, &later);
	assert_int_equal(lb_timer_arm(l, &later.t, base + 3600 * USEC_PER_SEC), 0);
	assert_int_equal(lb_loop_run_once(l, 0), (int)expect);
	assert_int_equal(fired, expect);
	assert_int_equal(lb_loop_n_timers(l), 1);
	assert_true(lb_timer_armed(&later.t));
	free(ms);
	lb_loop_free(l);
}

/* A callback re-arming its timer into the past runs once per turn, not forever. */
static void on_rearm_past(struct lb_loop *l, struct lb_timer *t, void *ud) {
	(*(int *)ud)++;
	assert_int_equal(lb_timer_arm(l, t, 1), 0);
}

static void test_rearm_in_past_does_not_starve(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	int n = 0;
	struct lb_timer t;
	lb_timer_init(&t, on_rearm_past, &n);
	assert_int_equal(lb_timer_arm(l, &t, 0), 0);
	assert_int_equal(lb_loop_run_once(l, -1), 1);
	assert_int_equal(n, 1);
	assert_int_equal(lb_loop_run_once(l, -1), 1); /* still due: no blocking */
	assert_int_equal(n, 2);
	lb_timer_cancel(l, &t);
	lb_loop_free(l);
}

static void on_alloc_timer(struct lb_loop *l, struct lb_timer *t, void *ud) { (*(int *)ud)++; }

static void test_allocated_timer(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	int n = 0;
	struct lb_timer *t = lb_loop_add_timer(l, 1, on_alloc_timer, &n);
	assert_non_null(t);
	assert_int_equal(lb_loop_run_once(l, 0), 1);
	assert_int_equal(n, 1);
	assert_int_equal(lb_timer_arm(l, t, now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC), 0);
	lb_timer_free(l, t); /* armed: cancelled and freed */
	assert_int_equal(lb_loop_n_timers(l), 0);
	assert_int_equal(lb_loop_run_once(l, 0), 0);
	lb_loop_free(l);
}

/* With slack, timers due within one grid cell run together in one wake-up at the cell's end. */
static void test_timer_slack_coalesces(void **state) {
	const usec_t S = 20 * USEC_PER_MSEC;
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	lb_loop_set_timer_slack(l, S);
	usec_t base = (now_usec(CLOCK_MONOTONIC) / S + 1) * S; /* next grid point */
	usec_t dl[] = {base + 9 * USEC_PER_MSEC, base + 2 * USEC_PER_MSEC, base + 5 * USEC_PER_MSEC};
	struct rtimer ts[3];
	struct rec rec = {0};
	arm_all(l, ts, 3, &rec, dl);
	int n = 0;
	while (n == 0)
		n = lb_loop_run_once(l, -1);
	assert_true(now_usec(CLOCK_MONOTONIC) >= base + S);
	assert_int_equal(n, 3); /* one turn */
	int want[] = {1, 2, 0};
	assert_memory_equal(rec.order, want, sizeof(want));
	lb_loop_free(l);
}

/* --- fd sources --- */

struct fdrec {
	int calls, last_fd;
	uint32_t last_events;
};

static void on_fd(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct fdrec *r = ud;
	char buf[16];
	r->calls++;
	r->last_fd = fd;
	r->last_events = revents;
	(void)!read(fd, buf, sizeof(buf));
}

static void test_fd_callbacks(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	struct fdrec r = {0};
	assert_int_equal(lb_loop_add_fd(l, p[0], EPOLLIN, on_fd, &r), 0);
	assert_int_equal(lb_loop_add_fd(l, p[0], EPOLLIN, on_fd, &r), -EEXIST);
	assert_int_equal(lb_loop_run_once(l, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(lb_loop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.last_fd, p[0]);
	assert_int_equal(r.last_events, EPOLLIN);
	/* Modified to no events: readable data does not wake it. */
	assert_int_equal(lb_loop_mod_fd(l, p[0], 0), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(lb_loop_run_once(l, 0), 0);
	assert_int_equal(lb_loop_mod_fd(l, p[0], EPOLLIN), 0);
	assert_int_equal(lb_loop_run_once(l, 0), 1);
	assert_int_equal(r.calls, 2);
	assert_int_equal(lb_loop_del_fd(l, p[0]), 0);
	assert_int_equal(lb_loop_del_fd(l, p[0]), -ENOENT);
	assert_int_equal(lb_loop_mod_fd(l, p[0], EPOLLIN), -ENOENT);
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(lb_loop_run_once(l, 0), 0);
	assert_int_equal(r.calls, 2);
	close(p[0]);
	close(p[1]);
	lb_loop_free(l);
}

/* Two ready sources whose callbacks delete each other: only the first dispatched one runs. */
struct pair {
	struct lb_io io[2];
	int calls[2];
};

static void on_pair(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct pair *p = ud;
	int me = fd == p->io[0].fd ? 0 : 1;
	p->calls[me]++;
	lb_loop_io_del(l, &p->io[!me]);
	lb_loop_io_del(l, &p->io[me]);
}

static void test_delete_in_batch(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	int a[2], b[2];
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	struct pair p = {0};
	assert_int_equal(lb_loop_io_add(l, &p.io[0], a[0], EPOLLIN, on_pair, &p), 0);
	assert_int_equal(lb_loop_io_add(l, &p.io[1], b[0], EPOLLIN, on_pair, &p), 0);
	assert_int_equal(lb_loop_io_add(l, &p.io[1], b[0], EPOLLIN, on_pair, &p), -EEXIST);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(lb_loop_run_once(l, 1000), 1);
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	assert_false(p.io[0].added);
	assert_false(p.io[1].added);
	assert_int_equal(lb_loop_io_mod(l, &p.io[0], EPOLLIN), -ENOENT);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	lb_loop_free(l);
}

/* io_close: deleted and closed at once; an event already fetched for it is dropped. */
static void on_close_other(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct pair *p = ud;
	int me = fd == p->io[0].fd ? 0 : 1;
	p->calls[me]++;
	lb_loop_io_close(l, &p->io[!me]);
	lb_loop_io_close(l, &p->io[me]);
}

static void test_io_close(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	int a[2], b[2];
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	struct pair p = {0};
	assert_int_equal(lb_loop_io_add(l, &p.io[0], a[0], EPOLLIN, on_close_other, &p), 0);
	assert_int_equal(lb_loop_io_add(l, &p.io[1], b[0], EPOLLIN, on_close_other, &p), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(lb_loop_run_once(l, 1000), 1);
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	assert_int_equal(fcntl(a[0], F_GETFD), -1); /* both read ends closed */
	assert_int_equal(errno, EBADF);
	assert_int_equal(fcntl(b[0], F_GETFD), -1);
	assert_int_equal(lb_loop_run_once(l, 0), 0);
	close(a[1]);
	close(b[1]);
	lb_loop_free(l);
}

/* --- turn hook --- */

struct hookrec {
	int hooks, remark;
};

static void on_hook(struct lb_loop *l, void *ud) {
	struct hookrec *h = ud;
	h->hooks++;
	if (h->remark-- > 0)
		lb_loop_mark_dirty(l);
}

static void on_dirty_timer(struct lb_loop *l, struct lb_timer *t, void *ud) {
	lb_loop_mark_dirty(l);
	lb_loop_mark_dirty(l);
}

static void test_turn_hook_once_per_turn(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	struct hookrec h = {0};
	lb_loop_set_turn_hook(l, on_hook, &h);
	struct lb_timer ts[3];
	for (int i = 0; i < 3; i++) {
		lb_timer_init(&ts[i], on_dirty_timer, NULL);
		assert_int_equal(lb_timer_arm(l, &ts[i], 1), 0);
	}
	assert_int_equal(lb_loop_run_once(l, 0), 3); /* six marks, one hook */
	assert_int_equal(h.hooks, 1);
	assert_int_equal(lb_loop_run_once(l, 0), 0); /* clean: no hook */
	assert_int_equal(h.hooks, 1);
	/* A hook that marks dirty again gets another turn at once, even with an infinite timeout. */
	h.remark = 1;
	lb_loop_mark_dirty(l);
	assert_int_equal(lb_loop_run_once(l, -1), 0);
	assert_int_equal(h.hooks, 2);
	assert_int_equal(lb_loop_run_once(l, -1), 0);
	assert_int_equal(h.hooks, 3);
	assert_int_equal(lb_loop_run_once(l, 0), 0);
	assert_int_equal(h.hooks, 3);
	lb_loop_free(l);
}

/* --- signals, run/exit --- */

static void on_signal(struct lb_loop *l, const struct signalfd_siginfo *si, void *ud) {
	int *got = ud;
	got[si->ssi_signo]++;
	if (si->ssi_signo == SIGUSR2)
		lb_loop_exit(l, 7);
}

static bool blocked(int sig) {
	sigset_t cur;
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, sig);
}

static void test_signals_and_exit(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	int got[NSIG] = {0};
	const int sigs[] = {SIGUSR1, SIGUSR2};
	assert_false(blocked(SIGUSR1));
	assert_int_equal(lb_loop_add_signals(l, sigs, 2, on_signal, got), 0);
	assert_true(blocked(SIGUSR1));
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(lb_loop_run_once(l, 1000), 1);
	assert_int_equal(got[SIGUSR1], 1);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(lb_loop_run(l), 7);
	assert_int_equal(got[SIGUSR2], 1);
	assert_int_equal(got[SIGUSR1], 1);
	lb_loop_free(l);
	assert_false(blocked(SIGUSR1)); /* mask restored */
	assert_false(blocked(SIGUSR2));
}

static void on_exit_timer(struct lb_loop *l, struct lb_timer *t, void *ud) { lb_loop_exit(l, 3); }

static void test_run_until_exit_from_timer(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	struct lb_timer t;
	lb_timer_init(&t, on_exit_timer, NULL);
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_timer_arm(l, &t, start + 20 * USEC_PER_MSEC), 0);
	assert_int_equal(lb_loop_run(l), 3);
	assert_true(now_usec(CLOCK_MONOTONIC) - start >= 20 * USEC_PER_MSEC);
	assert_false(lb_loop_exiting(l));
	lb_loop_free(l);
}

/* An idle loop blocks for the whole timeout (no spurious wakeups from a stale timerfd). */
static void test_idle_blocks(void **state) {
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	struct lb_timer t;
	lb_timer_init(&t, on_alloc_timer, NULL);
	assert_int_equal(lb_timer_arm(l, &t, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_MSEC), 0);
	assert_int_equal(lb_loop_run_once(l, 0), 0); /* timerfd armed at +10 ms */
	lb_timer_cancel(l, &t);
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_loop_run_once(l, 40), 0);
	assert_true(now_usec(CLOCK_MONOTONIC) - start >= 39 * USEC_PER_MSEC);
	lb_loop_free(l);
}

static void test_no_fd_leak(void **state) {
	int before = count_fds();
	struct lb_loop *l;
	assert_int_equal(lb_loop_new(&l), 0);
	const int sigs[] = {SIGUSR1};
	assert_int_equal(lb_loop_add_signals(l, sigs, 1, on_signal, NULL), 0);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(lb_loop_add_fd(l, p[0], EPOLLIN, on_fd, NULL), 0);
	struct lb_timer *t = lb_loop_add_timer(l, now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC,
					       on_alloc_timer, NULL);
	assert_non_null(t);
	assert_true(count_fds() > before);
	close(p[0]);
	close(p[1]);
	lb_timer_free(l, t); /* allocated timers are the caller's; fd sources go with the loop */
	lb_loop_free(l);
	assert_int_equal(count_fds(), before);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order),
		cmocka_unit_test(test_timers_wait_for_deadline),
		cmocka_unit_test(test_timer_cancel_and_rearm),
		cmocka_unit_test(test_many_timers),
		cmocka_unit_test(test_rearm_in_past_does_not_starve),
		cmocka_unit_test(test_allocated_timer),
		cmocka_unit_test(test_timer_slack_coalesces),
		cmocka_unit_test(test_fd_callbacks),
		cmocka_unit_test(test_delete_in_batch),
		cmocka_unit_test(test_io_close),
		cmocka_unit_test(test_turn_hook_once_per_turn),
		cmocka_unit_test(test_signals_and_exit),
		cmocka_unit_test(test_run_until_exit_from_timer),
		cmocka_unit_test(test_idle_blocks),
		cmocka_unit_test(test_no_fd_leak),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
