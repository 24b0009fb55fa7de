/* Event hooks (see notify.h): a queue of copied events, at most LB_NOTIFY_MAX_RUNNING children
 * spawned through the exec reaper, each with a stderr pipe and a deadline timer on the loop.
 *
 * An event leaves the queue as soon as a slot is free and no earlier event of its sequence waits
 * or runs; so one slow backend's events wait without holding up the others'. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_reaper.h"
#include "log.h"
#include "util.h"

#define FIELD_MAX 1024              /* bytes kept of each event argument: bounds the queue's memory */
#define ERR_KEEP 4096               /* stderr bytes kept per hook; the rest is read and discarded */
#define ERR_LOG_MAX 1536            /* of which one log line shows this much (log.c cuts at 2 KiB) */
#define READ_BUDGET (64 * 1024)     /* stderr bytes read per wake-up: a flood cannot hog the loop */
#define QUEUE_LOW (LB_NOTIFY_MAX_QUEUED / 2) /* an overflow episode ends once an event gets in
					       * with the queue at most this full */
#define HOOK_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* One block: the strings follow the struct. */
struct event {
	uint64_t key;  /* sequence: a hash of service and backend (odd), 0 without a backend */
	char *name;
	char *service; /* NULL when absent, like backend and reason */
	char *backend;
	char *reason;
};

struct hook {
	struct exec_child child; /* first: the reaper frees an abandoned hook whole */
	struct lb_notify *n;
	struct event *ev;
	uint32_t timeout_ms;
	int err_fd;              /* our end of the child's stderr, -1 once closed */
	struct lb_io err_io;
	struct lb_timer deadline;
	size_t len;              /* stderr bytes kept */
	bool more;               /* stderr went on past ERR_KEEP */
	char err[ERR_KEEP];
};

struct lb_notify {
	struct lb_loop *loop;
	void *reaper;            /* exec_reaper_get's slot */
	char **argv;             /* NULL: hooks off */
	uint32_t timeout_ms;
	struct event *queue[LB_NOTIFY_MAX_QUEUED]; /* waiting, oldest first */
	size_t n_queued;
	struct hook *running[LB_NOTIFY_MAX_RUNNING];
	size_t n_running;
	struct lb_timer kick;    /* starts hooks in the turn after an event came */
	uint64_t dropped;
	bool overflow;           /* in an overflow episode, already logged */
};

/* --- events --- */

/* FNV-1a over service, a separator and backend; odd, so never 0 (no backend). */
static uint64_t seq_key(const char *service, const char *backend) {
	if (!backend)
		return 0;
	uint64_t h = 14695981039346656037ULL;
	for (const char *p = service ? service : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* 0xff: never in UTF-8 */
	for (const char *p = backend; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | 1;
}

static bool same_seq(const struct event *a, const struct event *b) {
	if (a->key != b->key)
		return false;
	if (!a->backend) /* key 0: both without a backend */
		return true;
	return !strcmp(a->service ? a->service : "", b->service ? b->service : "") &&
	       !strcmp(a->backend, b->backend);
}

static size_t field_len(const char *s) {
	return s ? strnlen(s, FIELD_MAX) + 1 : 0;
}

/* Copies s (cut at FIELD_MAX) to *p and moves *p past it; NULL stays NULL. */
static char *put(char **p, const char *s) {
	if (!s)
		return NULL;
	size_t len = strnlen(s, FIELD_MAX);
	char *d = *p;
	memcpy(d, s, len);
	d[len] = '\0';
	*p += len + 1;
	return d;
}

static struct event *event_new(const char *name, const char *service, const char *backend,
			       const char *reason) {
	size_t size = sizeof(struct event) + field_len(name) + field_len(service) +
		      field_len(backend) + field_len(reason);
	struct event *ev = malloc(size);
	if (!ev)
		return NULL;
	char *p = (char *)(ev + 1);
	ev->name = put(&p, name);
	ev->service = put(&p, service);
	ev->backend = put(&p, backend);
	ev->reason = put(&p, reason);
	ev->key = seq_key(ev->service, ev->backend);
	return ev;
}

/* "backend_down web 10.0.0.1:80": what a log line names the event by. */
static const char *event_desc(const struct event *ev, char *buf, size_t size) {
	snprintf(buf, size, "%s%s%s%s%s", ev->name, ev->service ? " " : "", ev->service ? ev->service : "",
		 ev->backend ? " " : "", ev->backend ? ev->backend : "");
	return buf;
}

/* The environment of a hook: PATH and the EZLB_ variables the event has. */
struct hook_env {
	char *vars[4];
	char *envp[6];
};

/* 0 or -ENOMEM; env_free in both cases. */
static int env_make(struct hook_env *e, const struct event *ev) {
	static const char *const names[] = {"EZLB_EVENT", "EZLB_SERVICE", "EZLB_BACKEND", "EZLB_REASON"};
	const char *values[] = {ev->name, ev->service, ev->backend, ev->reason};
	size_t n = 0;
	memset(e, 0, sizeof(*e));
	e->envp[n++] = (char *)HOOK_PATH;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!values[i])
			continue;
		if (asprintf(&e->vars[i], "%s=%s", names[i], values[i]) < 0) {
			e->vars[i] = NULL;
			return -ENOMEM;
		}
		e->envp[n++] = e->vars[i];
	}
	e->envp[n] = NULL;
	return 0;
}

static void env_free(struct hook_env *e) {
	for (size_t i = 0; i < ARRAY_SIZE(e->vars); i++)
		free(e->vars[i]);
}

/* --- stderr --- */

static void close_err(struct hook *h) {
	if (h->err_fd < 0)
		return;
	if (h->err_io.added)
		lb_loop_io_close(h->n->loop, &h->err_io);
	else
		close(h->err_fd);
	h->err_fd = -1;
}

/* Read up to budget bytes: the first ERR_KEEP into h->err, the rest discarded (always draining: a
 * child blocked on a full pipe would never exit). Closes the pipe at EOF or on error. */
static void read_err(struct hook *h, size_t budget) {
	char sink[16384];
	while (h->err_fd >= 0 && budget > 0) {
		size_t room = ERR_KEEP - h->len;
		ssize_t r = read(h->err_fd, room ? h->err + h->len : sink, room ? room : sizeof(sink));
		if (r > 0) {
			if (room)
				h->len += (size_t)r;
			else
				h->more = true;
			budget -= (size_t)r < budget ? (size_t)r : budget;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && errno == EAGAIN) {
			return;
		} else {
			close_err(h);
		}
	}
}

static void on_err(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	read_err(userdata, READ_BUDGET);
}

/* What the hook wrote to stderr as one line of at most ERR_LOG_MAX bytes: lines joined by " | ",
 * control characters as '?', "..." when cut. */
static const char *err_line(const struct hook *h, char *out, size_t size) {
	size_t o = 0, max = size - 4; /* room for "..." */
	bool sep = false, cut = h->more;
	for (size_t i = 0; i < h->len; i++) {
		unsigned char ch = (unsigned char)h->err[i];
		if (ch == '\n' || ch == '\r') {
			sep = o > 0;
			continue;
		}
		if ((ch == ' ' || ch == '\t') && (o == 0 || sep))
			continue; /* indentation */
		if (o + (sep ? 3 : 0) + 1 > max) {
			cut = true;
			break;
		}
		if (sep) {
			memcpy(out + o, " | ", 3);
			o += 3;
			sep = false;
		}
		out[o++] = ch == '\t' ? ' ' : ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	/* do not end in the middle of a UTF-8 character */
	if (cut && o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
		while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
			o--;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	memcpy(out + o, cut ? "..." : "", cut ? 4 : 1);
	return out;
}

/* --- running hooks --- */

/* The one log line of a hook that failed: the event, why, and its stderr. */
static void report(const struct hook *h, const char *why) {
	char desc[3 * FIELD_MAX], err[ERR_LOG_MAX + 4];
	err_line(h, err, sizeof(err));
	log_full(LOG_WARNING, h->ev->service, h->ev->backend, "notify: hook for %s failed: %s%s%s",
		 event_desc(h->ev, desc, sizeof(desc)), why, err[0] ? ": " : "", err);
}

/* The hook is over: out of the running set; its child reaped (freed here) or still there
 * (abandoned: killed, and freed by the reaper once reaped). */
static void hook_end(struct hook *h, bool abandon) {
	struct lb_notify *n = h->n;
	for (size_t i = 0; i < n->n_running; i++) {
		if (n->running[i] == h) {
			n->running[i] = n->running[--n->n_running];
			break;
		}
	}
	close_err(h);
	lb_timer_cancel(n->loop, &h->deadline);
	free(h->ev);
	h->ev = NULL;
	if (abandon)
		exec_child_abandon(&h->child);
	else
		free(h);
}

static void pump(struct lb_notify *n);

/* The child exited. What it wrote before is in the pipe; a descendant that kept the pipe open
 * does not hold the end back. */
static void hook_exited(struct exec_child *c, const siginfo_t *si) {
	struct hook *h = (struct hook *)c;
	struct lb_notify *n = h->n;
	char why[64];
	read_err(h, READ_BUDGET);
	if (si->si_code == CLD_EXITED && si->si_status != 0)
		snprintf(why, sizeof(why), "exit status %d", si->si_status);
	else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)
		snprintf(why, sizeof(why), "killed by signal %d", si->si_status);
	else if (si->si_code != CLD_EXITED)
		snprintf(why, sizeof(why), "exit status unknown");
	else
		why[0] = '\0';
	if (why[0])
		report(h, why);
	hook_end(h, false);
	pump(n);
}

static void on_deadline(struct lb_loop *l, struct lb_timer *t, void *userdata) {
	struct hook *h = userdata;
	struct lb_notify *n = h->n;
	if (exec_child_check(&h->child)) /* exited in time (the loop was late): hook_exited ran */
		return;
	char why[64];
	read_err(h, READ_BUDGET);
	if (h->timeout_ms % 1000)
		snprintf(why, sizeof(why), "timeout after %ums (process group killed)", h->timeout_ms);
	else
		snprintf(why, sizeof(why), "timeout after %us (process group killed)", h->timeout_ms / 1000);
	report(h, why);
	hook_end(h, true);
	pump(n);
}

/* Pipe, deadline, spawn. 0 or a negative errno, and then nothing is left running or watched. */
static int hook_spawn(struct lb_notify *n, struct hook *h) {
	struct exec_reaper *rp = exec_reaper_get(&n->reaper, n->loop);
	if (!rp)
		return -ENOMEM;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	h->err_fd = fds[0];
	/* Only our end is non-blocking: the child's stderr stays an ordinary blocking pipe. */
	int r = fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (!r)
		r = lb_loop_io_add(n->loop, &h->err_io, fds[0], EPOLLIN, on_err, h);
	/* armed first: once the child runs, nothing may fail */
	if (!r)
		r = lb_timer_arm(n->loop, &h->deadline,
				 now_usec(CLOCK_MONOTONIC) + (usec_t)h->timeout_ms * USEC_PER_MSEC);
	struct hook_env env = {0};
	if (!r)
		r = env_make(&env, h->ev);
	if (!r)
		r = exec_child_spawn(&h->child, rp, n->argv, env.envp, fds[1], hook_exited);
	env_free(&env);
	close(fds[1]); /* the child's copy alone keeps it open: EOF when the child is gone */
	return r;
}

/* Runs ev (owned from here on); a hook that cannot start is logged, like one that failed. */
static void hook_start(struct lb_notify *n, struct event *ev) {
	struct hook *h = calloc(1, sizeof(*h));
	if (!h) {
		char desc[3 * FIELD_MAX];
		log_full(LOG_WARNING, ev->service, ev->backend, "notify: hook for %s failed: out of memory",
			 event_desc(ev, desc, sizeof(desc)));
		free(ev);
		return;
	}
	*h = (struct hook){.n = n, .ev = ev, .timeout_ms = n->timeout_ms, .err_fd = -1};
	lb_timer_init(&h->deadline, on_deadline, h);
	int r = hook_spawn(n, h);
	if (r == 0) {
		n->running[n->n_running++] = h;
		return;
	}
	char why[256];
	snprintf(why, sizeof(why), "cannot run %s: %s", n->argv[0], strerror(-r));
	report(h, why);
	close_err(h);
	lb_timer_cancel(n->loop, &h->deadline);
	free(h->ev);
	free(h);
}

/* --- the queue --- */

/* Whether queue[i] must wait: an earlier event of its sequence runs or waits. */
static bool must_wait(const struct lb_notify *n, size_t i) {
	const struct event *ev = n->queue[i];
	for (size_t j = 0; j < n->n_running; j++)
		if (same_seq(n->running[j]->ev, ev))
			return true;
	for (size_t j = 0; j < i; j++)
		if (same_seq(n->queue[j], ev))
			return true;
	return false;
}

/* Start what may start, oldest first. */
static void pump(struct lb_notify *n) {
	for (size_t i = 0; i < n->n_queued && n->n_running < LB_NOTIFY_MAX_RUNNING;) {
		if (must_wait(n, i)) {
			i++;
			continue;
		}
		struct event *ev = n->queue[i];
		memmove(&n->queue[i], &n->queue[i + 1], (n->n_queued - i - 1) * sizeof(*n->queue));
		n->n_queued--;
		hook_start(n, ev);
	}
}

static void on_kick(struct lb_loop *l, struct lb_timer *t, void *userdata) {
	pump(userdata);
}

static void drop_queue(struct lb_notify *n) {
	for (size_t i = 0; i < n->n_queued; i++)
		free(n->queue[i]);
	n->n_queued = 0;
}

/* One log line per overflow episode: the count is in lb_notify_dropped. */
static void drop(struct lb_notify *n, const char *event, const char *why) {
	n->dropped++;
	if (n->overflow)
		return;
	n->overflow = true;
	log_warn("notify: %s (%zu hooks running, %zu events waiting): dropping events until the queue "
		 "drains; the first dropped: %s", why, n->n_running, n->n_queued, event);
}

void lb_notify_event(struct lb_notify *n, const char *event, const char *service, const char *backend,
		     const char *reason) {
	if (!n || !n->argv || !event)
		return;
	if (n->n_queued == LB_NOTIFY_MAX_QUEUED) {
		drop(n, event, "the event queue is full");
		return;
	}
	struct event *ev = event_new(event, service, backend, reason);
	if (!ev) {
		drop(n, event, "out of memory");
		return;
	}
	n->queue[n->n_queued++] = ev;
	if (n->n_queued <= QUEUE_LOW)
		n->overflow = false;
	/* started in the next turn: a burst of events (a reload) is queued whole first */
	if (!lb_timer_armed(&n->kick) && lb_timer_arm(n->loop, &n->kick, 0) < 0)
		pump(n);
}

/* --- setup --- */

static void argv_free(char **argv) {
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static char **argv_copy(char *const *argv) {
	size_t n = 0;
	while (argv[n])
		n++;
	char **copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy && i < n; i++) {
		if (!(copy[i] = strdup(argv[i]))) {
			argv_free(copy);
			return NULL;
		}
	}
	return copy;
}

int lb_notify_new(struct lb_loop *l, struct lb_notify **out) {
	struct lb_notify *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->loop = l;
	lb_timer_init(&n->kick, on_kick, n);
	*out = n;
	return 0;
}

int lb_notify_configure(struct lb_notify *n, char *const *argv, uint32_t timeout_ms) {
	if (!argv) {
		argv_free(TAKE_PTR(n->argv));
		drop_queue(n);
		return 0;
	}
	if (!argv[0] || argv[0][0] != '/' || timeout_ms == 0)
		return -EINVAL;
	char **copy = argv_copy(argv);
	if (!copy)
		return -ENOMEM;
	argv_free(n->argv);
	n->argv = copy;
	n->timeout_ms = timeout_ms;
	return 0;
}

uint64_t lb_notify_dropped(const struct lb_notify *n) {
	return n ? n->dropped : 0;
}

void lb_notify_free(struct lb_notify *n) {
	if (!n)
		return;
	lb_timer_cancel(n->loop, &n->kick);
	drop_queue(n);
	while (n->n_running)
		hook_end(n->running[n->n_running - 1], true);
	exec_reaper_free(n->reaper); /* kills and reaps the abandoned hooks */
	argv_free(n->argv);
	free(n);
}
