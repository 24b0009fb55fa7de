/* The shared read of the kernel's counters, without a kernel: the read is a fake that ends on a
 * later loop turn (a timer), with a table made from what it was asked for. Checks who shares
 * which read, caching by age, cancelling, errors reaching everyone, and freeing with requests
 * pending (leaks show under ASan). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kstat.h"
#include "log.h"
#include "loop.h"
#include "resync.h"
#include "util.h"


/* ---- the fake read ---- */

#define READ_MS 20 /* how long a fake read takes */

static struct fake {
	struct lb_loop *loop;
	lb_resync_done_fn done;
	void *ud;
	struct lb_timer end;
	bool running, created, destroyed;
	int starts;
	int start_err; /* what the next start returns (then no read runs) */
	int read_err;  /* what the next read ends with */
	struct lb_owned want; /* of the last read started */
} R;

static int fake_create(struct lb_loop *l, struct lb_ipvs *v, lb_resync_done_fn done, void *ud,
		       void **out) {
	R.loop = l;
	R.done = done;
	R.ud = ud;
	R.created = true;
	*out = &R;
	return 0;
}

static void fake_destroy(void *rd) {
	assert_ptr_equal(rd, &R);
	lb_timer_cancel(R.loop, &R.end);
	R.running = false;
	R.destroyed = true;
	lb_owned_free(&R.want);
}

static int fake_start(void *rd, const struct lb_owned *want) {
	assert_false(R.running); /* one read at a time */
	if (R.start_err)
		return R.start_err;
	R.starts++;
	R.running = true;
	lb_owned_free(&R.want);
	for (size_t i = 0; i < want->n; i++)
		assert_int_equal(lb_owned_add(&R.want, &want->keys[i]), 0);
	assert_int_equal(lb_timer_arm(R.loop, &R.end,
				      now_usec(CLOCK_MONOTONIC) + READ_MS * USEC_PER_MSEC), 0);
	return 0;
}

/* The table of a read: the services asked for, each with one destination, plus one service
 * nobody asked for (listed, dests_unknown); every service's stats.conns is the read's number. */
static void fake_table(struct lb_table *t) {
	for (size_t i = 0; i <= R.want.n; i++) {
		struct lb_service *s = lb_table_add_service(t);
		assert_non_null(s);
		if (i == R.want.n) {
			assert_int_equal(lb_svc_key_parse("udp 10.9.9.9:53", &s->key), 0);
			s->dests_unknown = true;
		} else {
			s->key = R.want.keys[i];
			struct lb_dest *d = lb_service_add_dest(s);
			assert_non_null(d);
			assert_int_equal(lb_addr_parse("192.168.0.1:80", &d->addr), 0);
			d->stats_known = true;
			d->stats.inbytes = 1000;
		}
		s->stats_known = true;
		s->stats.conns = (uint64_t)R.starts;
	}
	lb_table_sort(t);
}

static void fake_end(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct lb_table fresh = {0};
	int err = R.read_err;
	R.running = false;
	if (err == 0)
		fake_table(&fresh);
	R.done(&fresh, err, R.ud);
	lb_table_clear(&fresh); /* as the resync does: whatever the callee left */
}

static const struct lb_kstat_reader fake_reader = {
	.create = fake_create, .destroy = fake_destroy, .start = fake_start};

/* ---- requests and their answers ---- */

struct answer {
	int calls;
	int err;
	uint64_t read_no;   /* stats.conns of the first service: which read answered */
	size_t n_svcs;
	bool has_dests[4];  /* per key of keys(): its destinations were read */
	struct lb_kstat *cancel_other; /* from the callback: cancel this request... */
	struct lb_kstat_req **other;
	struct lb_kstat *ask_again;    /* ...or issue a new one */
	struct answer *again;
	struct lb_kstat_req *again_req;
};

static const char *const key_names[] = {"tcp 10.0.0.1:80", "tcp 10.0.0.2:80", "tcp 10.0.0.3:80",
					"udp 10.0.0.4:53"};

/* A want of keys named by a bit mask over key_names (the owned set keeps them sorted). */
static struct lb_owned keys(unsigned mask) {
	struct lb_owned o = {0};
	for (size_t i = 0; i < ARRAY_SIZE(key_names); i++)
		if (mask & (1u << i)) {
			struct lb_svc_key k;
			assert_int_equal(lb_svc_key_parse(key_names[i], &k), 0);
			assert_int_equal(lb_owned_add(&o, &k), 0);
		}
	return o;
}

static bool in_getter; /* set while lb_kstat_get runs: no answer may come from there */

static void on_answer(const struct lb_table *t, int err, void *ud) {
	struct answer *a = ud;
	assert_false(in_getter);
	a->calls++;
	a->err = err;
	if (t) {
		assert_int_equal(err, 0);
		a->n_svcs = t->n;
		a->read_no = t->n ? t->svcs[0].stats.conns : 0;
		for (size_t i = 0; i < ARRAY_SIZE(key_names); i++) {
			struct lb_svc_key k;
			assert_int_equal(lb_svc_key_parse(key_names[i], &k), 0);
			const struct lb_service *s = lb_table_find(t, &k);
			a->has_dests[i] = s && !s->dests_unknown && s->n_dests == 1;
		}
	} else {
		assert_true(err < 0);
	}
	if (a->cancel_other)
		lb_kstat_cancel(*a->other);
	if (a->ask_again) {
		struct lb_owned w = keys(1);
		assert_int_equal(lb_kstat_get(a->ask_again, &w, on_answer, a->again, &a->again_req), 0);
		lb_owned_free(&w);
	}
}

static struct lb_kstat_req *ask(struct lb_kstat *k, unsigned mask, struct answer *a) {
	struct lb_owned w = keys(mask);
	struct lb_kstat_req *req = NULL;
	in_getter = true;
	assert_int_equal(lb_kstat_get(k, &w, on_answer, a, &req), 0);
	in_getter = false;
	lb_owned_free(&w);
	assert_non_null(req);
	return req;
}

struct fx {
	struct lb_loop *l;
	struct lb_kstat *k;
};

static void fx_init(struct fx *fx, uint32_t max_age_ms) {
	memset(&R, 0, sizeof(R));
	lb_timer_init(&R.end, fake_end, NULL);
	assert_int_equal(lb_loop_new(&fx->l), 0);
	assert_int_equal(lb_kstat_new_with(fx->l, NULL, max_age_ms, &fake_reader,
					   sizeof(fake_reader), &fx->k), 0);
	assert_true(R.created);
}

static void fx_free(struct fx *fx) {
	lb_kstat_free(fx->k);
	assert_true(R.destroyed);
	lb_loop_free(fx->l);
}

/* One loop turn, waiting at most ms. */
static void turn(struct fx *fx, int ms) { assert_true(lb_loop_run_once(fx->l, ms) >= 0); }

/* Turns until a has its answer (bounded). */
static void wait_answer(struct fx *fx, const struct answer *a) {
	usec_t end = now_usec(CLOCK_MONOTONIC) + 2 * USEC_PER_SEC;
	while (a->calls == 0 && now_usec(CLOCK_MONOTONIC) < end)
		turn(fx, 10);
	assert_int_equal(a->calls, 1);
}

/* Turns until the fake read has started. */
static void wait_start(struct fx *fx, int starts) {
	for (int i = 0; i < 100 && R.starts < starts; i++)
		turn(fx, 10);
	assert_int_equal(R.starts, starts);
}

static void run_ms(struct fx *fx, unsigned ms) {
	usec_t end = now_usec(CLOCK_MONOTONIC) + (usec_t)ms * USEC_PER_MSEC;
	for (usec_t now; (now = now_usec(CLOCK_MONOTONIC)) < end;)
		turn(fx, (int)((end - now) / USEC_PER_MSEC) + 1);
}

/* ---- tests ---- */

/* The answer comes from the loop, with the destinations asked for and the others listed. */
static void test_answer_from_the_loop(void **state) {
	struct fx fx;
	fx_init(&fx, 0);
	struct answer a = {0};
	ask(fx.k, 1 | 4, &a);
	assert_int_equal(a.calls, 0);
	assert_int_equal(R.starts, 0); /* not even started inside the call */
	wait_answer(&fx, &a);
	assert_int_equal(R.starts, 1);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.read_no, 1);
	assert_int_equal(a.n_svcs, 3);
	assert_true(a.has_dests[0] && a.has_dests[2]);
	assert_false(a.has_dests[1]);
	run_ms(&fx, 50);
	assert_int_equal(a.calls, 1); /* once */
	fx_free(&fx);
}

/* Requests of one turn share one read of the union of their wants. */
static void test_same_turn_shares_one_read(void **state) {
	struct fx fx;
	fx_init(&fx, 0);
	struct answer a = {0}, b = {0}, c = {0};
	ask(fx.k, 1, &a);
	ask(fx.k, 2, &b);
	ask(fx.k, 0, &c); /* no destinations at all: the service list */
	wait_answer(&fx, &a);
	wait_answer(&fx, &b);
	wait_answer(&fx, &c);
	assert_int_equal(R.starts, 1);
	assert_int_equal(R.want.n, 2);
	assert_true(a.has_dests[0] && b.has_dests[1]);
	assert_int_equal(c.read_no, 1);
	fx_free(&fx);
}

/* While a read runs, a request it covers joins it; one it does not cover waits for the next. */
static void test_join_or_wait(void **state) {
	struct fx fx;
	fx_init(&fx, 0);
	struct answer a = {0}, b = {0}, c = {0};
	ask(fx.k, 1 | 2, &a);
	wait_start(&fx, 1);
	ask(fx.k, 2, &b);      /* covered: joins */
	ask(fx.k, 1 | 8, &c);  /* not covered: the next read */
	turn(&fx, 0);
	assert_int_equal(R.starts, 1);
	wait_answer(&fx, &a);
	assert_int_equal(b.calls, 1); /* with a, from the same read */
	assert_int_equal(b.read_no, 1);
	assert_int_equal(c.calls, 0);
	wait_answer(&fx, &c);
	assert_int_equal(R.starts, 2);
	assert_int_equal(c.read_no, 2);
	assert_true(c.has_dests[0] && c.has_dests[3]);
	assert_int_equal(R.want.n, 2); /* the second read: only what c asked for */
	fx_free(&fx);
}

/* Within max_age of the end of a read, its table answers requests it covers, from the loop; an
 * older table, or one without the destinations asked for, means a new read. */
static void test_cache_by_age(void **state) {
	enum { MAX_AGE = 150 };
	struct fx fx;
	fx_init(&fx, MAX_AGE);
	struct answer a = {0}, b = {0}, c = {0}, d = {0};
	ask(fx.k, 1 | 2, &a);
	wait_answer(&fx, &a);
	ask(fx.k, 2, &b);
	assert_int_equal(b.calls, 0); /* never from inside lb_kstat_get */
	turn(&fx, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.read_no, 1);
	assert_int_equal(R.starts, 1);
	ask(fx.k, 4, &c); /* destinations the table lacks */
	wait_answer(&fx, &c);
	assert_int_equal(R.starts, 2);
	assert_int_equal(c.read_no, 2);
	run_ms(&fx, MAX_AGE + 50);
	ask(fx.k, 4, &d); /* too old now */
	wait_answer(&fx, &d);
	assert_int_equal(R.starts, 3);
	assert_int_equal(d.read_no, 3);
	fx_free(&fx);
}

/* A cancelled request is never answered; the read runs on for the others and for the cache. */
static void test_cancel(void **state) {
	struct fx fx;
	fx_init(&fx, 1000);
	struct answer a = {0}, b = {0}, c = {0};
	struct lb_kstat_req *ra = ask(fx.k, 1, &a);
	ask(fx.k, 1, &b);
	lb_kstat_cancel(ra); /* before the read starts */
	wait_answer(&fx, &b);
	assert_int_equal(a.calls, 0);

	memset(&b, 0, sizeof(b));
	struct lb_kstat_req *rc = ask(fx.k, 2, &c); /* not in the table: a read */
	wait_start(&fx, 2);
	lb_kstat_cancel(rc); /* while its read runs: the read ends all the same */
	run_ms(&fx, READ_MS + 30);
	assert_int_equal(c.calls, 0);
	assert_false(R.running);
	ask(fx.k, 2, &b); /* and its table answers the next request */
	turn(&fx, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.read_no, 2);
	assert_int_equal(R.starts, 2);
	lb_kstat_cancel(NULL);
	fx_free(&fx);
}

/* A callback may cancel a request answered with it, and ask again. */
static void test_callbacks_cancel_and_ask(void **state) {
	struct fx fx;
	fx_init(&fx, 1000);
	struct answer a = {0}, b = {0}, again = {0};
	struct lb_kstat_req *rb = NULL;
	a.cancel_other = fx.k;
	a.other = &rb;
	a.ask_again = fx.k;
	a.again = &again;
	ask(fx.k, 1, &a);
	rb = ask(fx.k, 1, &b);
	wait_answer(&fx, &a);
	assert_int_equal(b.calls, 0); /* cancelled by a's callback, in the same fan-out */
	assert_int_equal(again.calls, 0);
	wait_answer(&fx, &again); /* from the cache, on a later turn */
	assert_int_equal(again.read_no, 1);
	assert_int_equal(R.starts, 1);
	fx_free(&fx);
}

/* A failed read answers everyone waiting with its error: those joined, and those that were to
 * wait for the next read; a table from an earlier read still answers within max_age. */
static void test_error_fan_out(void **state) {
	struct fx fx;
	fx_init(&fx, 0);
	struct answer a = {0}, b = {0}, c = {0};
	R.read_err = -EPERM;
	ask(fx.k, 1, &a);
	wait_start(&fx, 1);
	ask(fx.k, 1, &b);     /* joins */
	ask(fx.k, 2 | 4, &c); /* waits */
	wait_answer(&fx, &a);
	assert_int_equal(a.err, -EPERM);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, -EPERM);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.err, -EPERM);
	run_ms(&fx, READ_MS + 30);
	assert_int_equal(R.starts, 1); /* no read for c after the failure */
	fx_free(&fx);
}

/* A read that cannot even start (the service list dump failed) answers from the loop too. */
static void test_start_failure(void **state) {
	struct fx fx;
	fx_init(&fx, 1000);
	struct answer a = {0}, b = {0}, c = {0};
	ask(fx.k, 1, &a);
	wait_answer(&fx, &a); /* a table: read 1 */
	R.start_err = -EIO;
	ask(fx.k, 2, &b);
	ask(fx.k, 1, &c); /* the cache answers this one */
	assert_int_equal(b.calls + c.calls, 0);
	turn(&fx, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, -EIO);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.read_no, 1);
	R.start_err = 0; /* the kernel is back: the next request reads again */
	memset(&b, 0, sizeof(b));
	ask(fx.k, 2, &b);
	wait_answer(&fx, &b);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.read_no, 2);
	fx_free(&fx);
}

/* Freeing with requests joined, waiting, and due from the cache: no call, nothing leaked, the
 * read cancelled. */
static void test_free_with_requests_pending(void **state) {
	struct fx fx;
	fx_init(&fx, 1000);
	struct answer a = {0}, b = {0}, c = {0}, d = {0};
	ask(fx.k, 1, &a);
	wait_answer(&fx, &a);
	ask(fx.k, 2, &b);
	wait_start(&fx, 2);
	ask(fx.k, 2, &c);     /* joined */
	ask(fx.k, 4, &d);     /* waiting */
	ask(fx.k, 1, &a);     /* due from the cache */
	assert_true(R.running);
	fx_free(&fx);
	assert_false(R.running);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls + c.calls + d.calls, 0);
}

/* The daemon's reader (the resync) is made and freed without touching the kernel. */
static void test_default_reader(void **state) {
	struct lb_loop *l;
	struct lb_kstat *k;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_kstat_new(l, NULL, 100, &k), 0);
	lb_kstat_free(k);
	lb_kstat_free(NULL);
	struct fx fx;
	fx_init(&fx, 0); /* a reader struct of another size is refused */
	assert_int_equal(lb_kstat_new_with(l, NULL, 0, &fake_reader, sizeof(fake_reader) + 8, &k),
			 -EINVAL);
	fx_free(&fx);
	lb_loop_free(l);
}

int main(void) {
	log_set_max_level(LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_from_the_loop),
		cmocka_unit_test(test_same_turn_shares_one_read),
		cmocka_unit_test(test_join_or_wait),
		cmocka_unit_test(test_cache_by_age),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_callbacks_cancel_and_ask),
		cmocka_unit_test(test_error_fan_out),
		cmocka_unit_test(test_start_failure),
		cmocka_unit_test(test_free_with_requests_pending),
		cmocka_unit_test(test_default_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
