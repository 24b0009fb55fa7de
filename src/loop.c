/* The event loop (see include/loop.h). Timers live in a binary min-heap ordered by (deadline, seq);
 * each timer knows its heap index, so cancel and re-arm are O(log n). One timerfd is armed to the
 * heap's top, and only re-armed (once per turn, just before waiting) when the top changed. */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>

#include "log.h"

#define LB_BATCH 256

struct lb_sigsrc {
	struct lb_io io;
	sigset_t old_mask;
	lb_signal_fn cb;
	void *userdata;
	struct lb_sigsrc *next;
};

struct lb_loop {
	int epfd;
	int tfd;
	struct lb_io tfd_io;
	bool tfd_set;          /* timerfd armed, to tfd_deadline */
	usec_t tfd_deadline;
	usec_t slack;          /* wake-ups are rounded up to a multiple of this */

	struct heap_entry *heap;
	size_t n_heap, cap_heap;
	uint64_t seq;

	struct epoll_event batch[LB_BATCH];
	int n_batch, i_batch;  /* the batch being dispatched; n_batch is 0 outside dispatch */

	struct lb_io **by_fd;  /* sources added with lb_loop_add_fd, indexed by fd */
	size_t n_by_fd, cap_by_fd;

	struct lb_sigsrc *sigs;

	lb_turn_fn turn_cb;
	void *turn_ud;
	bool dirty;

	bool exiting;
	int exit_code;
};

/* --- timer heap --- */

/* Heap entries carry their keys, so sifting compares within the (contiguous) array and touches a
 * timer only to update its index: with 10k timers this halves the cache misses per operation. */
struct heap_entry {
	usec_t deadline;
	uint64_t seq;
	struct lb_timer *t;
};

static bool entry_before(const struct heap_entry *a, const struct heap_entry *b) {
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void heap_set(struct lb_loop *l, size_t i, struct heap_entry e) {
	l->heap[i] = e;
	e.t->idx = i;
}

static void heap_up(struct lb_loop *l, size_t i) {
	struct heap_entry e = l->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!entry_before(&e, &l->heap[parent]))
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, e);
}

static void heap_down(struct lb_loop *l, size_t i) {
	struct heap_entry e = l->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->n_heap)
			break;
		if (c + 1 < l->n_heap && entry_before(&l->heap[c + 1], &l->heap[c]))
			c++;
		if (!entry_before(&l->heap[c], &e))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, e);
}

/* Put entry i where it belongs after its key changed either way. */
static void heap_fix(struct lb_loop *l, size_t i) {
	if (i > 0 && entry_before(&l->heap[i], &l->heap[(i - 1) / 2]))
		heap_up(l, i);
	else
		heap_down(l, i);
}

static void heap_remove(struct lb_loop *l, struct lb_timer *t) {
	size_t i = t->idx;
	t->idx = LB_TIMER_IDLE;
	if (i == --l->n_heap)
		return;
	heap_set(l, i, l->heap[l->n_heap]);
	heap_fix(l, i);
}

void lb_timer_init(struct lb_timer *t, lb_timer_fn cb, void *userdata) {
	*t = (struct lb_timer){.idx = LB_TIMER_IDLE, .cb = cb, .userdata = userdata};
}

int lb_loop_reserve_timers(struct lb_loop *l, size_t n) {
	return GROW(l->heap, l->cap_heap, n);
}

size_t lb_loop_n_timers(const struct lb_loop *l) { return l->n_heap; }

int lb_timer_arm(struct lb_loop *l, struct lb_timer *t, usec_t deadline) {
	if (!lb_timer_armed(t)) {
		int r = GROW(l->heap, l->cap_heap, l->n_heap + 1);
		if (r < 0)
			return r;
		t->idx = l->n_heap++;
	}
	t->deadline = deadline;
	t->seq = l->seq++;
	l->heap[t->idx] = (struct heap_entry){.deadline = deadline, .seq = t->seq, .t = t};
	heap_fix(l, t->idx);
	return 0;
}

void lb_timer_cancel(struct lb_loop *l, struct lb_timer *t) {
	if (lb_timer_armed(t))
		heap_remove(l, t);
}

struct lb_timer *lb_loop_add_timer(struct lb_loop *l, usec_t deadline, lb_timer_fn cb,
				   void *userdata) {
	_cleanup_free_ struct lb_timer *t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	lb_timer_init(t, cb, userdata);
	if (lb_timer_arm(l, t, deadline) < 0)
		return NULL;
	return TAKE_PTR(t);
}

void lb_timer_free(struct lb_loop *l, struct lb_timer *t) {
	if (!t)
		return;
	lb_timer_cancel(l, t);
	free(t);
}

/* Point the timerfd at the heap's top; a syscall only when the top deadline changed. */
static int sync_timerfd(struct lb_loop *l) {
	struct itimerspec its = {0};
	usec_t d = 0;
	if (l->n_heap == 0) {
		if (!l->tfd_set)
			return 0;
	} else {
		d = l->heap[0].deadline;
		if (l->slack > 1)
			d = (d + l->slack - 1) / l->slack * l->slack; /* grid point at or after d */
		if (d == 0)
			d = 1; /* it_value 0 would disarm */
		if (l->tfd_set && l->tfd_deadline == d)
			return 0;
		its.it_value.tv_sec = (time_t)(d / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(d % USEC_PER_SEC) * 1000;
	}
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		int r = -errno;
		log_error("event loop: cannot arm the timerfd: %s", strerror(-r));
		return r;
	}
	l->tfd_set = l->n_heap > 0;
	l->tfd_deadline = d;
	return 0;
}

/* Run the timers due now. A timer armed while this runs waits for the next turn even if its
 * deadline has passed, so a callback that re-arms into the past cannot starve IO. */
static int run_timers(struct lb_loop *l) {
	usec_t now = now_usec(CLOCK_MONOTONIC);
	uint64_t phase = l->seq;
	int n = 0;
	while (l->n_heap > 0) {
		struct lb_timer *t = l->heap[0].t;
		if (t->deadline > now || t->seq >= phase)
			break;
		heap_remove(l, t);
		t->cb(l, t, t->userdata);
		n++;
	}
	return n;
}

static void on_timerfd(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	uint64_t expirations;
	/* Only clears readiness; run_timers() looks at the heap, not at this count. */
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_error("event loop: cannot read the timerfd: %m");
}

/* --- IO sources --- */

int lb_loop_io_add(struct lb_loop *l, struct lb_io *io, int fd, uint32_t events, lb_io_fn cb,
		   void *userdata) {
	if (io->added)
		return -EEXIST;
	struct epoll_event ev = {.events = events, .data.ptr = io};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	*io = (struct lb_io){.fd = fd, .events = events, .cb = cb, .userdata = userdata, .added = true};
	return 0;
}

int lb_loop_io_mod(struct lb_loop *l, struct lb_io *io, uint32_t events) {
	if (!io->added)
		return -ENOENT;
	struct epoll_event ev = {.events = events, .data.ptr = io};
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void lb_loop_io_del(struct lb_loop *l, struct lb_io *io) {
	if (!io->added)
		return;
	/* Fails only if the fd was closed already, which removed it from the epoll set anyway. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->added = false;
	/* Forget events of this source fetched in the current batch but not dispatched yet. */
	for (int i = l->i_batch + 1; i < l->n_batch; i++)
		if (l->batch[i].data.ptr == io)
			l->batch[i].data.ptr = NULL;
}

/* Deleted from the epoll set before the close: closing removes a file from the set only when it
 * is the last reference to it, and a forked child that still holds a copy (a fork that has not
 * exec'd yet) would keep it there, delivering events for a source already freed. */
void lb_loop_io_close(struct lb_loop *l, struct lb_io *io) {
	if (!io->added)
		return;
	int fd = io->fd;
	lb_loop_io_del(l, io);
	close(fd);
}

static struct lb_io *fd_source(const struct lb_loop *l, int fd) {
	return fd >= 0 && (size_t)fd < l->n_by_fd ? l->by_fd[fd] : NULL;
}

int lb_loop_add_fd(struct lb_loop *l, int fd, uint32_t events, lb_io_fn cb, void *userdata) {
	if (fd < 0)
		return -EBADF;
	if (fd_source(l, fd))
		return -EEXIST;
	if ((size_t)fd >= l->n_by_fd) {
		if (GROW(l->by_fd, l->cap_by_fd, (size_t)fd + 1) < 0)
			return -ENOMEM;
		memset(l->by_fd + l->n_by_fd, 0, (l->cap_by_fd - l->n_by_fd) * sizeof(*l->by_fd));
		l->n_by_fd = l->cap_by_fd;
	}
	_cleanup_free_ struct lb_io *io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	int r = lb_loop_io_add(l, io, fd, events, cb, userdata);
	if (r < 0)
		return r;
	l->by_fd[fd] = TAKE_PTR(io);
	return 0;
}

int lb_loop_mod_fd(struct lb_loop *l, int fd, uint32_t events) {
	struct lb_io *io = fd_source(l, fd);
	return io ? lb_loop_io_mod(l, io, events) : -ENOENT;
}

int lb_loop_del_fd(struct lb_loop *l, int fd) {
	struct lb_io *io = fd_source(l, fd);
	if (!io)
		return -ENOENT;
	lb_loop_io_del(l, io);
	l->by_fd[fd] = NULL;
	free(io);
	return 0;
}

/* --- signals --- */

static void on_signalfd(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	struct lb_sigsrc *s = userdata;
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = read(fd, &si, sizeof(si));
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_error("event loop: cannot read the signalfd: %m");
			return;
		}
		if (n != sizeof(si))
			return;
		s->cb(l, &si, s->userdata);
	}
}

int lb_loop_add_signals(struct lb_loop *l, const int *sigs, size_t n, lb_signal_fn cb,
			void *userdata) {
	_cleanup_free_ struct lb_sigsrc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	/* Blocked first, so that no signal is delivered the default way between here and the read. */
	if (sigprocmask(SIG_BLOCK, &set, &s->old_mask) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	int r = fd < 0 ? -errno : lb_loop_io_add(l, &s->io, fd, EPOLLIN, on_signalfd, s);
	if (r < 0) {
		log_error("event loop: cannot watch signals: %s", strerror(-r));
		if (fd >= 0)
			close(fd);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		return r;
	}
	s->cb = cb;
	s->userdata = userdata;
	s->next = l->sigs;
	l->sigs = TAKE_PTR(s);
	return 0;
}

/* --- the loop --- */

int lb_loop_new(struct lb_loop **ret) {
	_cleanup_free_ struct lb_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;
		log_error("event loop: epoll_create1: %s", strerror(-r));
		return r;
	}
	l->slack = LB_LOOP_DEFAULT_SLACK;
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r = l->tfd < 0 ? -errno : lb_loop_io_add(l, &l->tfd_io, l->tfd, EPOLLIN, on_timerfd, NULL);
	if (r < 0) {
		log_error("event loop: timerfd: %s", strerror(-r));
		if (l->tfd >= 0)
			close(l->tfd);
		close(l->epfd);
		return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

void lb_loop_free(struct lb_loop *l) {
	if (!l)
		return;
	/* Newest first, so the last mask restored is the one from before the first call. */
	while (l->sigs) {
		struct lb_sigsrc *s = l->sigs;
		l->sigs = s->next;
		close(s->io.fd);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		free(s);
	}
	for (size_t i = 0; i < l->n_by_fd; i++)
		free(l->by_fd[i]);
	free(l->by_fd);
	for (size_t i = 0; i < l->n_heap; i++)
		l->heap[i].t->idx = LB_TIMER_IDLE;
	free(l->heap);
	close(l->tfd);
	close(l->epfd);
	free(l);
}

static int dispatch_io(struct lb_loop *l, int n) {
	int done = 0;
	l->n_batch = n;
	for (l->i_batch = 0; l->i_batch < n; l->i_batch++) {
		struct lb_io *io = l->batch[l->i_batch].data.ptr;
		if (!io)
			continue; /* deleted earlier in this batch */
		io->cb(l, io->fd, l->batch[l->i_batch].events, io->userdata);
		done += io != &l->tfd_io; /* the timerfd is counted by the timers it runs */
	}
	l->n_batch = l->i_batch = 0;
	return done;
}

int lb_loop_run_once(struct lb_loop *l, int timeout_ms) {
	int r = sync_timerfd(l);
	if (r < 0)
		return r;
	/* Do not block when work is already waiting: a dirty hook or a timer deferred by run_timers. */
	if (l->dirty || (l->n_heap > 0 && l->heap[0].deadline <= now_usec(CLOCK_MONOTONIC)))
		timeout_ms = 0;
	int n = epoll_wait(l->epfd, l->batch, LB_BATCH, timeout_ms);
	if (n < 0) {
		if (errno != EINTR) {
			r = -errno;
			log_error("event loop: epoll_wait: %s", strerror(-r));
			return r;
		}
		n = 0;
	}
	int done = dispatch_io(l, n);
	done += run_timers(l);
	if (l->dirty && l->turn_cb) {
		l->dirty = false;
		l->turn_cb(l, l->turn_ud);
	}
	return done;
}

int lb_loop_run(struct lb_loop *l) {
	while (!l->exiting) {
		int r = lb_loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
	l->exiting = false;
	return l->exit_code;
}

void lb_loop_exit(struct lb_loop *l, int code) {
	l->exiting = true;
	l->exit_code = code;
}

bool lb_loop_exiting(const struct lb_loop *l) { return l->exiting; }

void lb_loop_set_turn_hook(struct lb_loop *l, lb_turn_fn cb, void *userdata) {
	l->turn_cb = cb;
	l->turn_ud = userdata;
}

void lb_loop_mark_dirty(struct lb_loop *l) { l->dirty = true; }

void lb_loop_set_timer_slack(struct lb_loop *l, usec_t slack) { l->slack = slack; }

long lb_raise_fd_limit(void) {
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}
