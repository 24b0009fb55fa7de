/* One target's life: its schedule, the start and end of each probe, verdicts and logging; and
 * which waiting probe starts when a slot frees. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"

static void start_probe(struct target *t);

static int64_t realtime_ms(void) { return (int64_t)(now_usec(CLOCK_REALTIME) / USEC_PER_MSEC); }

/* --- transitions --- */

/* "3 failures: connection refused", "2 successes". */
static const char *detail(const struct target *t, enum lb_health to, char *buf, size_t len) {
	if (t->v.n_fail == 0 && t->v.n_ok == 0)
		snprintf(buf, len, "not probed yet");
	else if (to == LB_HEALTH_DOWN)
		snprintf(buf, len, "%u failure%s: %s", t->v.n_fail, t->v.n_fail == 1 ? "" : "s",
			 t->reason[0] ? t->reason : "unknown");
	else
		snprintf(buf, len, "%u success%s", t->v.n_ok, t->v.n_ok == 1 ? "" : "es");
	return buf;
}

/* Log once per service and notify, if what the target counts as changed; else, when an UNKNOWN
 * target got its first verdict, say so quietly. */
void lb_hc_report(struct target *t, enum lb_health before, bool raw_changed, bool was_unknown) {
	enum lb_health now = lb_hc_effective(t);
	if (now == before && !(raw_changed && was_unknown))
		return;
	if (now != before) {
		t->transitions++;
		t->since_ms = realtime_ms();
	}
	int prio = now != before ? (now == LB_HEALTH_DOWN ? LOG_WARNING : LOG_NOTICE)
				 : (now == LB_HEALTH_DOWN ? LOG_INFO : LOG_DEBUG);
	const char *from = now != before ? lb_health_name(before) : "unknown";
	char addr[LB_ADDRSTRLEN], why[LB_PROBE_REASON_MAX + 48];
	detail(t, now, why, sizeof(why));
	/* Each under the backend's own address (health_check.port may probe another port). */
	for (size_t i = 0; i < t->n_refs; i++) {
		lb_addr_fmt(&t->refs[i].be->addr, addr);
		log_full(prio, t->refs[i].svc->name, addr, "%s %s %s -> %s (%s)", t->refs[i].svc->name,
			 addr, from, lb_health_name(now), why);
	}
	if (now == before || !t->h->on_change)
		return;
	for (size_t i = 0; i < t->n_refs; i++)
		t->h->on_change(t->h, t->refs[i].svc, t->refs[i].be, now, t->h->userdata);
}

/* --- scheduling --- */

/* Between states: some failures of an up target, or some successes of a down one, short of the
 * threshold that would flip it. HAProxy's fastinter: the verdict comes sooner. */
static bool between_states(const struct target *t) {
	if (lb_hc_effective(t) == LB_HEALTH_UP)
		return t->v.n_fail > 0 && t->v.n_fail < t->key.fail_count;
	return t->v.n_ok > 0 && t->v.n_ok < t->key.rise_count;
}

static uint32_t interval_ms(const struct target *t) {
	uint32_t ms = t->key.interval_ms, fast = t->key.fast_interval_ms;
	return fast && fast < ms && between_states(t) ? fast : ms;
}

/* Next due time: one interval after the previous one (no drift), skipping rounds the loop missed. */
static void schedule_next(struct target *t, bool advance) {
	usec_t iv = (usec_t)interval_ms(t) * USEC_PER_MSEC, now = now_usec(CLOCK_MONOTONIC);
	if (iv == 0)
		iv = USEC_PER_MSEC;
	if (advance)
		t->due += iv;
	if (t->due <= now)
		t->due += ((now - t->due) / iv + 1) * iv;
	(void)lb_timer_arm(t->h->loop, &t->timer, t->due); /* room reserved at sync */
}

static void record_lateness(struct lb_health_mgr *h, usec_t late) {
	size_t b = late / LATE_BUCKET_USEC;
	h->late[b < LATE_BUCKETS ? b : LATE_BUCKETS]++;
	if (late > h->late_max)
		h->late_max = late;
	double secs = (double)late / USEC_PER_SEC;
	lb_observe_bucket_add(h->late_obs, secs);
	h->late_sum += secs;
	h->late_count++;
}

void lb_hc_target_rekey(struct target *t, const struct tkey *k) {
	t->key.conf = t->probe.conf = k->conf;
	t->key.svc = t->probe.svc = k->svc;
}

/* --- limited kinds (exec): a FIFO of due probes waiting for a slot --- */

static bool must_wait(const struct target *t) {
	return t->key.ops->limited && t->h->limited_running >= t->h->max_limited;
}

static void wait_push(struct target *t) {
	struct lb_health_mgr *h = t->h;
	t->waiting = true;
	t->wait_next = NULL;
	if (h->wait_tail)
		h->wait_tail->wait_next = t;
	else
		h->wait_head = t;
	h->wait_tail = t;
}

static void wait_remove(struct target *t) {
	struct lb_health_mgr *h = t->h;
	struct target **pp = &h->wait_head, *prev = NULL;
	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->wait_next;
	}
	if (*pp)
		*pp = t->wait_next;
	if (h->wait_tail == t)
		h->wait_tail = prev;
	t->waiting = false;
	t->wait_next = NULL;
}

void lb_hc_limited_pump(struct lb_health_mgr *h) {
	if (h->limited_pumping)
		return;
	h->limited_pumping = true;
	while (h->wait_head && h->limited_running < h->max_limited) {
		struct target *t = h->wait_head;
		wait_remove(t);
		usec_t now = now_usec(CLOCK_MONOTONIC);
		if (!t->decisive)
			record_lateness(h, now > t->due ? now - t->due : 0); /* late, never failed */
		start_probe(t);
	}
	h->limited_pumping = false;
}

/* --- the decisive round's queue (filled by round.c) --- */

void lb_hc_round_pump(struct lb_health_mgr *h) {
	if (h->pumping)
		return;
	h->pumping = true;
	while (h->round_running < h->round_max && h->i_queue < h->n_queue) {
		struct target *t = h->queue[h->i_queue++];
		if (!t)
			continue;
		t->queued = false;
		t->decisive = true;
		h->round_running++;
		start_probe(t);
	}
	if (h->i_queue == h->n_queue)
		h->n_queue = h->i_queue = 0;
	h->pumping = false;
}

/* --- probes --- */

static void start_probe(struct target *t) {
	struct lb_health_mgr *h = t->h;
	if (must_wait(t)) {
		wait_push(t);
		return;
	}
	if (t->key.ops->limited)
		h->limited_running++;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	t->running = true;
	t->started = now;
	h->in_flight++;
	t->probe.loop = h->loop;
	t->probe.addr = &t->key.addr;
	t->probe.timeout_ms = t->key.timeout_ms;
	t->probe.conf = t->key.conf;
	t->probe.svc = t->key.svc;
	t->probe.shared = &h->shared;
	t->probe.fd = -1;
	(void)lb_timer_arm(h->loop, &t->timer, now + (usec_t)t->key.timeout_ms * USEC_PER_MSEC);
	t->key.ops->start(&t->probe); /* may end the probe before returning */
}

/* How a probe ended: with a result, skipped for a local reason, or stopped by the engine. */
enum probe_end { END_OK, END_FAILED, END_SKIPPED, END_STOPPED };

/* The counters of every probe that ended with a result or was skipped (a stopped one has
 * neither): the manager's, its kind's, and the target's last probe time. */
static void count_probe(struct target *t, enum probe_end how) {
	struct lb_health_mgr *h = t->h;
	struct kind_counters *c = &h->by_type[t->key.ops->type];
	if (how == END_SKIPPED) {
		h->skipped++;
		c->skipped++;
		return;
	}
	bool ok = how == END_OK;
	h->probes++;
	h->failures += !ok;
	*(ok ? &c->ok : &c->failed) += 1;
	double secs = (double)(now_usec(CLOCK_MONOTONIC) - t->started) / USEC_PER_SEC;
	c->duration_sum += secs;
	lb_observe_bucket_add(c->duration_buckets, secs);
	t->last_probe_ms = realtime_ms();
}

/* Every probe ends here: the bookkeeping and counters, and a failure's reason. Returns whether it
 * was part of a decisive round. The timer (the probe's deadline) stays armed: the caller moves it
 * to the next due time. */
static bool probe_end(struct target *t, enum probe_end how, const char *reason) {
	if (how != END_STOPPED)
		count_probe(t, how);
	if (how == END_FAILED)
		snprintf(t->reason, sizeof(t->reason), "%s", reason && *reason ? reason : "failed");
	bool decisive = t->decisive;
	t->running = false;
	t->decisive = false;
	t->h->in_flight--;
	if (t->key.ops->limited)
		t->h->limited_running--;
	if (decisive)
		t->h->round_running--;
	return decisive;
}

/* The probe is embedded in its target. */
static struct target *target_of(struct lb_probe *p) {
	return (struct target *)((char *)p - offsetof(struct target, probe));
}

void lb_probe_done(struct lb_probe *p, bool ok, const char *reason) {
	struct target *t = target_of(p);
	struct lb_health_mgr *h = t->h;
	if (!t->running)
		return;
	bool decisive = probe_end(t, ok ? END_OK : END_FAILED, reason);
	enum lb_health before = lb_hc_effective(t);
	bool was_unknown = t->v.state == LB_HEALTH_UNKNOWN;
	bool changed = decisive ? lb_verdict_decide(&t->v, ok)
				: lb_verdict_step(&t->v, ok, t->key.fail_count, t->key.rise_count);
	schedule_next(t, !decisive);
	lb_hc_report(t, before, changed, was_unknown);
	if (decisive)
		lb_hc_round_pump(h);
	lb_hc_limited_pump(h);
}

void lb_probe_abort(struct lb_probe *p, int err) {
	struct target *t = target_of(p);
	struct lb_health_mgr *h = t->h;
	if (!t->running)
		return;
	bool decisive = probe_end(t, END_SKIPPED, NULL);
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (h->last_skip_log == 0 || now - h->last_skip_log >= SKIP_LOG_USEC) {
		char addr[LB_ADDRSTRLEN], more[64] = "";
		if (h->skipped_unlogged)
			snprintf(more, sizeof(more), " (and %" PRIu64 " other probes since the last report)",
				 h->skipped_unlogged);
		log_warn("health check of %s not run: %s%s", lb_addr_fmt(&t->key.addr, addr),
			 strerror(err), more);
		h->last_skip_log = now;
		h->skipped_unlogged = 0;
	} else {
		h->skipped_unlogged++;
	}
	schedule_next(t, !decisive);
	if (decisive)
		lb_hc_round_pump(h);
	lb_hc_limited_pump(h);
}

static void expire_probe(struct target *t) {
	const struct lb_check_ops *ops = t->key.ops;
	if (ops->expire) {
		ops->expire(&t->probe);
		return;
	}
	ops->cancel(&t->probe);
	lb_probe_done(&t->probe, false, "timeout");
}

static void on_timer(struct lb_loop *l, struct lb_timer *tm, void *userdata) {
	struct target *t = userdata;
	if (t->running) {
		expire_probe(t);
		return;
	}
	if (must_wait(t)) { /* its lateness is counted when a slot frees */
		wait_push(t);
		return;
	}
	usec_t now = now_usec(CLOCK_MONOTONIC);
	record_lateness(t->h, now > t->due ? now - t->due : 0);
	start_probe(t);
}

struct target *lb_hc_target_new(struct lb_health_mgr *h, const struct tkey *k) {
	struct target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = *k;
	t->h = h;
	t->probe.fd = -1;
	t->since_ms = realtime_ms();
	lb_timer_init(&t->timer, on_timer, t);
	return t;
}

/* Stop whatever the target is doing, without a result. A slot it frees is given to a waiter by
 * the caller once every target that goes is gone (lb_health_sync), never to one about to go. */
static void target_stop(struct target *t) {
	if (t->running) {
		t->key.ops->cancel(&t->probe);
		probe_end(t, END_STOPPED, NULL);
	}
	if (t->waiting)
		wait_remove(t);
	lb_timer_cancel(t->h->loop, &t->timer);
}

void lb_hc_target_free(struct target *t) {
	if (!t)
		return;
	target_stop(t);
	if (t->key.ops->release)
		t->key.ops->release(&t->probe);
	if (t->queued)
		for (size_t i = t->h->i_queue; i < t->h->n_queue; i++)
			if (t->h->queue[i] == t)
				t->h->queue[i] = NULL;
	free(t);
}

