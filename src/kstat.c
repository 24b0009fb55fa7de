/* The kernel's table with its counters, for observers (see include/kstat.h).
 *
 * Requests wait in one of two lists: `joined`, answered by the read running, and `waiting`,
 * answered from the last table if it is fresh enough and holds their destinations, else by the
 * next read. A zero-delay timer (`kick`) does both, so that nothing is ever answered from inside
 * lb_kstat_get, and so that every request of one loop turn shares one read (its want is the union
 * of theirs). The read itself is the resync's, behind struct lb_kstat_reader so that the tests can
 * drive it with a fake. */
#include "kstat.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resync.h"
#include "util.h"


/* A doubly linked ring with a sentinel: a request leaves whichever list holds it (even a local
 * one being answered) without knowing which. */
struct node {
	struct node *prev, *next;
};

struct lb_kstat_req {
	struct node link; /* in k->waiting, k->joined, or a list being answered */
	struct lb_owned want;
	usec_t arrived;
	lb_kstat_fn fn;
	void *ud;
};

struct lb_kstat {
	struct lb_loop *loop;
	struct lb_kstat_reader rd;
	void *reader;
	usec_t max_age;
	struct lb_timer kick;
	struct node waiting, joined;
	bool running;
	struct lb_owned reading;    /* the want of the read running */
	bool have_table;
	struct lb_table table;      /* the last read's result, kept until the next one */
	struct lb_owned table_want; /* whose destinations it holds */
	usec_t table_at;            /* when that read ended */
};

/* ---- lists ---- */

static void list_init(struct node *n) { n->prev = n->next = n; }
static bool list_empty(const struct node *n) { return n->next == n; }

static void list_unlink(struct node *n) {
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

static void list_append(struct node *head, struct node *n) {
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static struct lb_kstat_req *req_of(struct node *n) {
	return (struct lb_kstat_req *)((char *)n - offsetof(struct lb_kstat_req, link));
}

static void req_free(struct lb_kstat_req *r) {
	list_unlink(&r->link);
	lb_owned_free(&r->want);
	free(r);
}

static void drop_all(struct node *head) {
	while (!list_empty(head))
		req_free(req_of(head->next));
}

/* Calls every request of list (which the callbacks may shrink: a cancel unlinks its request from
 * here too) once, freeing each before its call so that a callback may issue new requests. */
static void answer(struct node *list, const struct lb_table *t, int err) {
	while (!list_empty(list)) {
		struct lb_kstat_req *r = req_of(list->next);
		lb_kstat_fn fn = r->fn;
		void *ud = r->ud;
		req_free(r);
		fn(t, err, ud);
	}
}

/* ---- key sets (sorted, unique) ---- */

static bool covers(const struct lb_owned *have, const struct lb_owned *want) {
	size_t i = 0;
	for (size_t j = 0; j < want->n; j++) {
		while (i < have->n && lb_svc_key_cmp(&have->keys[i], &want->keys[j]) < 0)
			i++;
		if (i == have->n || lb_svc_key_cmp(&have->keys[i], &want->keys[j]) != 0)
			return false;
	}
	return true;
}

static int owned_copy(struct lb_owned *to, const struct lb_owned *from) {
	*to = (struct lb_owned){0};
	if (!from || from->n == 0)
		return 0;
	if (GROW(to->keys, to->cap, from->n) < 0)
		return -ENOMEM;
	memcpy(to->keys, from->keys, from->n * sizeof(*from->keys));
	to->n = from->n;
	return 0;
}

/* acc becomes acc ∪ add, by one merge (wants can name thousands of services). */
static int owned_union(struct lb_owned *acc, const struct lb_owned *add) {
	struct lb_owned u = {0};
	if (acc->n + add->n == 0)
		return 0;
	if (GROW(u.keys, u.cap, acc->n + add->n) < 0)
		return -ENOMEM;
	size_t i = 0, j = 0;
	while (i < acc->n || j < add->n) {
		int c = i == acc->n ? 1 : j == add->n ? -1
						      : lb_svc_key_cmp(&acc->keys[i], &add->keys[j]);
		u.keys[u.n++] = c <= 0 ? acc->keys[i] : add->keys[j];
		i += c <= 0;
		j += c >= 0;
	}
	lb_owned_free(acc);
	*acc = u;
	return 0;
}

/* ---- reads ---- */

static bool cache_serves(const struct lb_kstat *k, const struct lb_kstat_req *r) {
	return k->have_table && r->arrived <= k->table_at + k->max_age &&
	       covers(&k->table_want, &r->want);
}

/* 0 or -ENOMEM (the loop's timer heap could not grow). */
static int arm_kick(struct lb_kstat *k) {
	if (lb_timer_armed(&k->kick))
		return 0;
	/* at now, not 0: a deadline in the past would hold back the probes due (see resync.c) */
	return lb_timer_arm(k->loop, &k->kick, now_usec(CLOCK_MONOTONIC));
}

/* Moves to `to` the waiting requests that the last table answers (served), or the others. */
static void take_waiting(struct lb_kstat *k, struct node *to, bool served) {
	for (struct node *n = k->waiting.next, *next; n != &k->waiting; n = next) {
		next = n->next;
		if (cache_serves(k, req_of(n)) == served) {
			list_unlink(n);
			list_append(to, n);
		}
	}
}

static void splice_all(struct node *from, struct node *to) {
	while (!list_empty(from)) {
		struct node *n = from->next;
		list_unlink(n);
		list_append(to, n);
	}
}

/* One read for every waiting request the last table does not answer (a callback may just have
 * added one it does: the kick that request armed answers it). On failure they are moved to
 * `failed`; returns the error. */
static int start_read(struct lb_kstat *k, struct node *failed) {
	struct node batch;
	list_init(&batch);
	take_waiting(k, &batch, false);
	if (list_empty(&batch))
		return 0;
	int r = 0;
	lb_owned_free(&k->reading);
	for (struct node *n = batch.next; n != &batch && r == 0; n = n->next)
		r = owned_union(&k->reading, &req_of(n)->want);
	if (r == 0)
		r = k->rd.start(k->reader, &k->reading);
	if (r < 0) {
		if (r == -ENOMEM) /* the reader logs the kernel's errors, not this */
			log_error("kstat: cannot read the kernel's counters: %s", strerror(-r));
		lb_owned_free(&k->reading);
		splice_all(&batch, failed);
		return r;
	}
	k->running = true;
	splice_all(&batch, &k->joined);
	return 0;
}

static void on_kick(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct lb_kstat *k = ud;
	struct node served, failed;
	list_init(&served);
	list_init(&failed);
	take_waiting(k, &served, true);
	answer(&served, &k->table, 0); /* first: starting a read dumps the service list */
	int err = 0;
	if (!k->running && !list_empty(&k->waiting))
		err = start_read(k, &failed);
	answer(&failed, NULL, err);
}

static void keep_table(struct lb_kstat *k, struct lb_table *fresh) {
	lb_table_clear(&k->table);
	k->table = *fresh;
	*fresh = (struct lb_table){0};
	lb_owned_free(&k->table_want);
	k->table_want = k->reading;
	k->reading = (struct lb_owned){0};
	k->have_table = true;
	k->table_at = now_usec(CLOCK_MONOTONIC);
}

/* The read ended. Called by the reader from the loop (its own timer), never from start. */
static void on_read_done(struct lb_table *fresh, int err, void *ud) {
	struct lb_kstat *k = ud;
	struct node done, stranded;
	list_init(&done);
	list_init(&stranded);
	k->running = false;
	splice_all(&k->joined, &done);
	if (err == 0) {
		keep_table(k, fresh);
		log_debug("kstat: kernel counters read: %zu services", k->table.n);
	} else {
		lb_owned_free(&k->reading);
		/* a kernel that failed this read would fail the next: answer everyone now, except
		 * those the last table still answers (the kick does) */
		take_waiting(k, &done, false);
	}
	/* the rest (not covered by this read) get the next one, started from the loop: the
	 * resync clears its table after this returns, so a read must not start in here */
	if (!list_empty(&k->waiting) && arm_kick(k) < 0) {
		log_error("kstat: cannot schedule a read of the kernel's counters: %s",
			  strerror(ENOMEM));
		splice_all(&k->waiting, &stranded);
	}
	answer(&done, err == 0 ? &k->table : NULL, err);
	answer(&stranded, NULL, -ENOMEM);
}

/* ---- the reader in the daemon: the resync's spread dump ---- */

static int rs_create(struct lb_loop *l, struct lb_ipvs *v, lb_resync_done_fn done, void *ud,
		     void **out) {
	struct lb_resync *rs;
	int r = lb_resync_new(l, v, done, ud, &rs);
	if (r == 0)
		*out = rs;
	return r;
}
static void rs_destroy(void *rd) { lb_resync_free(rd); }
static int rs_start(void *rd, const struct lb_owned *want) { return lb_resync_start(rd, want); }

static const struct lb_kstat_reader resync_reader = {
	.create = rs_create, .destroy = rs_destroy, .start = rs_start};

/* ---- API ---- */

int lb_kstat_new_with(struct lb_loop *l, struct lb_ipvs *v, uint32_t max_age_ms,
		      const struct lb_kstat_reader *rd, size_t rd_size, struct lb_kstat **out) {
	if (rd_size != sizeof(*rd))
		return -EINVAL;
	struct lb_kstat *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	*k = (struct lb_kstat){.loop = l, .rd = *rd, .max_age = (usec_t)max_age_ms * USEC_PER_MSEC};
	list_init(&k->waiting);
	list_init(&k->joined);
	lb_timer_init(&k->kick, on_kick, k);
	int r = k->rd.create(l, v, on_read_done, k, &k->reader);
	if (r < 0) {
		free(k);
		return r;
	}
	*out = k;
	return 0;
}

int lb_kstat_new(struct lb_loop *l, struct lb_ipvs *v, uint32_t max_age_ms, struct lb_kstat **out) {
	return lb_kstat_new_with(l, v, max_age_ms, &resync_reader, sizeof(resync_reader), out);
}

void lb_kstat_free(struct lb_kstat *k) {
	if (!k)
		return;
	lb_timer_cancel(k->loop, &k->kick);
	k->rd.destroy(k->reader);
	drop_all(&k->waiting);
	drop_all(&k->joined);
	lb_owned_free(&k->reading);
	lb_owned_free(&k->table_want);
	lb_table_clear(&k->table);
	free(k);
}

int lb_kstat_get(struct lb_kstat *k, const struct lb_owned *want, lb_kstat_fn fn, void *ud,
		 struct lb_kstat_req **req) {
	struct lb_kstat_req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (owned_copy(&r->want, want) < 0) {
		free(r);
		return -ENOMEM;
	}
	r->fn = fn;
	r->ud = ud;
	r->arrived = now_usec(CLOCK_MONOTONIC);
	list_init(&r->link);
	bool cached = cache_serves(k, r);
	if (!cached && k->running && covers(&k->reading, &r->want)) {
		list_append(&k->joined, &r->link);
	} else {
		/* a request the running read does not cover needs no kick: its end kicks */
		if ((cached || !k->running) && arm_kick(k) < 0) {
			req_free(r);
			return -ENOMEM;
		}
		list_append(&k->waiting, &r->link);
	}
	*req = r;
	return 0;
}

/* A read keeps running when its last request goes: what it has read so far is not wasted, and
 * its table answers the next requests (a client that timed out and asks again gets it). */
void lb_kstat_cancel(struct lb_kstat_req *req) {
	if (req)
		req_free(req);
}
