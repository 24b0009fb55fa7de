/* The engine's handling of what the check kinds declare and the config adds: fast re-checks between
 * states, health_check.port, kinds limited in how many run at once (exec), settings that make
 * targets distinct (conf_cmp, per_service). Driven by the fake kind, so every result and time is
 * the test's. */
#include <netinet/in.h>

#include "health_test.h"
#include "fake_kind.h"

/* ms between the starts of probes i-1 and i. */
static long gap_ms(int i) {
	return (long)((F.started[i].at - F.started[i - 1].at) / USEC_PER_MSEC);
}

/* Results fed one by one as each probe starts; the gaps follow the state: fast while between
 * states, the interval once a verdict is reached or confirmed. */
static void test_fast_interval_between_states(void **state) {
	enum { IV = 400, FAST = 50 };
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.3:80"};
	struct lb_check_conf k = check_conf(IV, 20, 3, 2, true);
	k.fast_interval_ms = FAST;
	add_service(&fx.cfg, "web", IPPROTO_TCP, k, be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	/* F F F (down) S S (up) S: after F1, F2 between states; after F3 down and settled; after S1
	 * between; after S2 up; then the plain interval. */
	free(feed(&fx, be[0], "FFFSSS"));
	(void)wait_probe(&fx, be[0]);
	static const long want[] = {0, FAST, FAST, IV, FAST, IV, IV};
	for (int i = 1; i < 7; i++) {
		long g = gap_ms(i);
		if (g < want[i] - 5 || g > want[i] + 30)
			fail_msg("gap before probe %d: %ld ms, want ~%ld", i, g, want[i]);
	}
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_UP);
	fx_free(&fx);
}

/* fast_interval no shorter than the interval changes nothing. */
static void test_fast_interval_longer_is_ignored(void **state) {
	enum { IV = 100 };
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.3:80"};
	struct lb_check_conf k = check_conf(IV, 20, 3, 2, true);
	k.fast_interval_ms = 1000;
	add_service(&fx.cfg, "web", IPPROTO_TCP, k, be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	free(feed(&fx, be[0], "FF"));
	(void)wait_probe(&fx, be[0]);
	for (int i = 1; i < 3; i++)
		assert_true(gap_ms(i) >= IV - 5 && gap_ms(i) <= IV + 30);
	fx_free(&fx);
}

/* health_check.port: the probe goes to that port of the backend, and the verdict is the backend's. */
static void test_check_port(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.5:80"};
	struct lb_check_conf k = check_conf(5000, 4000, 1, 1, true);
	k.port = 9000;
	add_service(&fx.cfg, "web", IPPROTO_TCP, k, be, 1);
	/* The same backend without port: another target, probed on 80. */
	add_service(&fx.cfg, "plain", IPPROTO_TCP, check_conf(5000, 4000, 1, 1, true), be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.targets, 2);
	capture_start();
	complete(wait_probe(&fx, "127.0.0.5:9000"), false, "connection refused");
	char *log = capture_take();
	/* Logged under the backend's own address, which is what the table holds. */
	assert_string_equal(log, "web 127.0.0.5:80 up -> down (1 failure: connection refused)\n");
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_DOWN);
	assert_int_equal(state_of(&fx, 1, 0), LB_HEALTH_UP);
	free(log);
	fx_free(&fx);
}

/* --- limited kinds --- */

static const struct lb_check_ops fake_limited = {.name = "fake-exec", .type = LB_CHECK_EXEC,
						 .start = fake_start, .cancel = fake_cancel,
						 .limited = true, .per_service = true};
static const struct lb_check_ops *const limited_kinds[] = {&fake_limited};

static void limited_fx(struct fx *fx, int n, uint32_t max, uint32_t iv) {
	static char addrs[16][32];
	static const char *be[16];
	assert_true(n <= 16);
	for (int i = 0; i < n; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "127.0.2.%d:80", i + 1);
		be[i] = addrs[i];
	}
	fx_init(fx);
	lb_health_set_kinds(fx->h, limited_kinds, 1);
	struct lb_check_conf k = check_conf(iv, iv - 100, 1, 1, true); /* no deadline meanwhile */
	k.type = LB_CHECK_EXEC;
	add_service(&fx->cfg, "db", IPPROTO_TCP, k, be, (size_t)n);
	fx->cfg.max_exec_checks = max;
	assert_int_equal(lb_health_sync(fx->h, &fx->cfg), 0);
}


/* Six due probes, two slots: never more than two run; each end starts the next waiter at once;
 * every target gets its verdict; the waiters count as late, not as failed. */
static void test_limited_kind_waits_its_turn(void **state) {
	struct fx fx;
	limited_fx(&fx, 6, 2, 2000); /* first probes due every 333 ms */
	run_loop_ms(fx.l, 1700);
	assert_int_equal(F.n_pending, 2);
	assert_int_equal(F.starts, 2);
	int ended = 0;
	while (ended < 6) {
		assert_true(F.n_pending <= 2);
		if (F.n_pending == 0) {
			assert_true(lb_loop_run_once(fx.l, 5) >= 0);
			continue;
		}
		int before = F.starts;
		complete(F.pending[0], true, NULL);
		ended++;
		/* A waiter took the slot inside the ending call. */
		if (ended <= 4)
			assert_int_equal(F.starts, before + 1);
	}
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.probes, 6);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.up, 6);
	assert_true(st.late_max >= 1000 * USEC_PER_MSEC); /* the third waited from 667 ms on */
	/* the same lateness in the shared buckets: every start counted once, waits included */
	uint64_t late[LB_OBSERVE_BUCKETS + 1];
	double sum;
	uint64_t count;
	lb_health_lateness(fx.h, late, &sum, &count);
	assert_int_equal(count, 6);
	assert_int_equal(late[LB_OBSERVE_BUCKETS], 6);
	assert_true(late[9] <= 5); /* lb_observe_buckets[9] is 1 s: the third waited longer */
	assert_true(sum >= 1.0);
	fx_free(&fx);
}

/* A decisive round (ezlb once) goes through the same slots and still ends. */
static void test_limited_kind_in_round(void **state) {
	struct fx fx;
	limited_fx(&fx, 5, 2, 10000);
	assert_int_equal(lb_health_probe_all(fx.h), 0);
	assert_int_equal(F.n_pending, 2);
	while (lb_health_round_pending(fx.h)) {
		assert_true(F.n_pending >= 1 && F.n_pending <= 2);
		complete(F.pending[0], false, "exit status 1");
	}
	assert_int_equal(F.starts, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(state_of(&fx, 0, i), LB_HEALTH_DOWN);
	fx_free(&fx);
}

/* Targets removed while they wait or run: the running one is cancelled, the waiters are dropped,
 * and a later config probes again from empty slots. */
static void test_limited_kind_removed_while_waiting(void **state) {
	struct fx fx;
	limited_fx(&fx, 4, 1, 2000); /* due every 500 ms */
	run_loop_ms(fx.l, 600);
	assert_int_equal(F.n_pending, 1);
	struct lb_config empty = {0};
	assert_int_equal(lb_health_sync(fx.h, &empty), 0);
	assert_int_equal(F.n_pending, 0);
	assert_int_equal(F.cancels, 1);
	assert_int_equal(F.starts, 1); /* no waiter started in the freed slot */
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	run_loop_ms(fx.l, 40);
	assert_int_equal(F.n_pending, 1);
	fx_free(&fx);
}

/* --- settings that make targets distinct --- */

static int path_cmp(const struct lb_check_conf *a, const struct lb_check_conf *b) {
	return strcmp(a->http.path, b->http.path);
}
static const struct lb_check_ops fake_http = {.name = "fake-http", .type = LB_CHECK_HTTP,
					      .start = fake_start, .cancel = fake_cancel,
					      .conf_cmp = path_cmp};
static const struct lb_check_ops *const http_kinds[] = {&fake_http, &fake_limited};

static struct lb_check_conf with_path(const char *path) {
	struct lb_check_conf k = check_conf(200, 190, 1, 1, true);
	k.type = LB_CHECK_HTTP;
	k.http.path = (char *)path;
	return k;
}

/* Equal settings: one probe for both services; another path: a target of its own; a per-service
 * kind (exec's env names the service): one target per service, each probe knowing its service. */
static void test_conf_cmp_and_per_service(void **state) {
	struct fx fx;
	fx_init(&fx);
	lb_health_set_kinds(fx.h, http_kinds, 2);
	const char *be[] = {"127.0.0.7:80"};
	add_service(&fx.cfg, "a", IPPROTO_TCP, with_path("/healthz"), be, 1);
	add_service(&fx.cfg, "b", IPPROTO_TCP, with_path("/healthz"), be, 1);
	add_service(&fx.cfg, "c", IPPROTO_TCP, with_path("/other"), be, 1);
	struct lb_check_conf k = check_conf(200, 190, 1, 1, true);
	k.type = LB_CHECK_EXEC;
	add_service(&fx.cfg, "x", IPPROTO_TCP, k, be, 1);
	add_service(&fx.cfg, "y", IPPROTO_TCP, k, be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.targets, 4);
	run_loop_ms(fx.l, 170); /* first probes due at 0, 50, 100, 150 ms; none expired */
	assert_int_equal(F.starts, 4);
	bool seen_x = false, seen_y = false;
	for (int i = 0; i < F.n_pending; i++) {
		const struct lb_probe *p = F.pending[i];
		assert_non_null(p->conf);
		assert_non_null(p->svc);
		if (p->conf->type == LB_CHECK_EXEC) {
			seen_x |= !strcmp(p->svc->name, "x");
			seen_y |= !strcmp(p->svc->name, "y");
		}
	}
	assert_true(seen_x && seen_y);
	while (F.n_pending)
		complete(F.pending[0], true, NULL);
	fx_free(&fx);
}

/* --- what observers read --- */

static int64_t realtime_ms(void) { return (int64_t)(now_usec(CLOCK_REALTIME) / USEC_PER_MSEC); }

static struct lb_health_detail detail_of(struct fx *fx, size_t svc, size_t be) {
	struct lb_health_detail d;
	memset(&d, 0x5a, sizeof(d));
	assert_true(lb_health_detail(fx->h, &fx->cfg.services[svc], &fx->cfg.services[svc].backends[be],
				     &d));
	return d;
}

/* Field by field: padding is not part of the answer. */
static void assert_detail_equal(const struct lb_health_detail *a, const struct lb_health_detail *b) {
	assert_int_equal(a->checked, b->checked);
	assert_int_equal(a->raw, b->raw);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->since_ms, b->since_ms);
	assert_int_equal(a->transitions, b->transitions);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->last_probe_ms, b->last_probe_ms);
}

/* Up -> down -> up: two transitions, each moving since; the last failure's reason stays. */
static void test_detail_through_transitions(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.3:80"};
	int64_t t0 = realtime_ms();
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(60, 40, 1, 1, true), be, 1);
	add_service(&fx.cfg, "alias", IPPROTO_TCP, check_conf(60, 40, 1, 1, true), be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);

	struct lb_health_detail d = detail_of(&fx, 0, 0);
	assert_true(d.checked);
	assert_int_equal(d.raw, LB_HEALTH_UNKNOWN);
	assert_int_equal(d.state, LB_HEALTH_UP); /* initial: up */
	assert_int_equal(d.transitions, 0);
	assert_string_equal(d.reason, "");
	assert_int_equal(d.last_probe_ms, 0);
	assert_true(d.since_ms >= t0 && d.since_ms <= realtime_ms()); /* when probing began */

	free(feed(&fx, be[0], "F"));
	struct lb_health_detail down = detail_of(&fx, 0, 0);
	assert_int_equal(down.raw, LB_HEALTH_DOWN);
	assert_int_equal(down.state, LB_HEALTH_DOWN);
	assert_int_equal(down.transitions, 1);
	assert_string_equal(down.reason, "connection refused");
	assert_true(down.since_ms >= d.since_ms);
	assert_true(down.last_probe_ms >= t0 && down.last_probe_ms <= realtime_ms());

	struct lb_probe *p = wait_probe(&fx, be[0]);
	usleep(20 * 1000); /* so that the times differ whatever the loop's lateness */
	capture_start();
	complete(p, true, NULL);
	free(capture_take());
	struct lb_health_detail up = detail_of(&fx, 0, 0);
	assert_int_equal(up.raw, LB_HEALTH_UP);
	assert_int_equal(up.state, LB_HEALTH_UP);
	assert_int_equal(up.transitions, 2);
	assert_string_equal(up.reason, "connection refused"); /* the last failure's */
	assert_true(up.since_ms >= down.since_ms + 20);
	assert_true(up.last_probe_ms >= down.last_probe_ms + 20);

	/* a success that changes nothing moves neither since nor the count */
	p = wait_probe(&fx, be[0]);
	usleep(5 * 1000);
	complete(p, true, NULL);
	struct lb_health_detail same = detail_of(&fx, 0, 0);
	assert_int_equal(same.transitions, 2);
	assert_int_equal(same.since_ms, up.since_ms);
	assert_true(same.last_probe_ms > up.last_probe_ms);

	/* one target, two services: the same answer for both */
	struct lb_health_detail other = detail_of(&fx, 1, 0);
	assert_detail_equal(&other, &same);
	fx_free(&fx);
}

/* Pairs the manager does not probe: false, and what lb_health_state answers. */
static void test_detail_of_unprobed_backends(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.3:80"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1000, 500, 1, 1, false), be, 1);
	struct lb_check_conf off = check_conf(1000, 500, 1, 1, true);
	off.enabled = false;
	add_service(&fx.cfg, "off", IPPROTO_TCP, off, be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	struct lb_health_detail d, zero = {.state = LB_HEALTH_UP};
	memset(&d, 0x5a, sizeof(d));
	assert_false(lb_health_detail(fx.h, &fx.cfg.services[1], &fx.cfg.services[1].backends[0], &d));
	assert_detail_equal(&d, &zero);
	/* a backend not in the last sync: initial decides (down here) */
	struct lb_backend_conf stranger = {.weight = 1};
	assert_int_equal(lb_addr_parse("127.0.0.9:80", &stranger.addr), 0);
	memset(&d, 0x5a, sizeof(d));
	assert_false(lb_health_detail(fx.h, &fx.cfg.services[0], &stranger, &d));
	zero.state = LB_HEALTH_DOWN;
	assert_detail_equal(&d, &zero);
	fx_free(&fx);
}

/* A reason longer than the detail holds is cut, and terminated. */
static void test_detail_reason_cut(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.3:80"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1000, 500, 1, 1, true), be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	char longer[150];
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	capture_start();
	complete(wait_probe(&fx, be[0]), false, longer);
	free(capture_take());
	struct lb_health_detail d = detail_of(&fx, 0, 0);
	assert_int_equal(strlen(d.reason), sizeof(d.reason) - 1);
	assert_memory_equal(d.reason, longer, sizeof(d.reason) - 1);
	fx_free(&fx);
}

/* Counts by kind and result, and the duration histogram: three instant probes and one of 30 ms;
 * a skipped probe counts as skipped only. */
static void test_kind_stats(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.3:80"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(20, 500, 3, 1, true), be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	free(feed(&fx, be[0], "SFS"));
	struct lb_probe *p = wait_probe(&fx, be[0]);
	usleep(30 * 1000);
	complete(p, false, "timeout");
	capture_start();
	p = wait_probe(&fx, be[0]);
	unpend(p);
	lb_probe_abort(p, EMFILE);
	free(capture_take());

	struct lb_health_kind_stats ks[4];
	memset(ks, 0x5a, sizeof(ks));
	assert_int_equal(lb_health_kind_stats(fx.h, ks, 4), 1); /* one kind in the table */
	assert_string_equal(ks[0].type, "fake");
	assert_int_equal(ks[0].ok, 2);
	assert_int_equal(ks[0].failed, 2);
	assert_int_equal(ks[0].skipped, 1);
	const uint64_t *b = ks[0].duration_buckets;
	assert_int_equal(b[LB_OBSERVE_BUCKETS], 4); /* ok + failed: a skipped probe did not run */
	assert_int_equal(b[4], 3);                  /* <= 25 ms: the three instant ones */
	assert_int_equal(b[7], 4);                  /* <= 250 ms: all */
	assert_true(ks[0].duration_sum >= 0.030 && ks[0].duration_sum < 0.25);
	for (size_t i = 1; i <= LB_OBSERVE_BUCKETS; i++)
		assert_true(b[i - 1] <= b[i]);
	assert_int_equal(lb_health_kind_stats(fx.h, ks, 0), 0);

	/* the manager's totals agree */
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.probes, 4);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.skipped, 1);

	/* lateness: every probe the timer started, once */
	uint64_t late[LB_OBSERVE_BUCKETS + 1];
	double sum;
	uint64_t count;
	lb_health_lateness(fx.h, late, &sum, &count);
	assert_int_equal(count, (uint64_t)F.starts);
	assert_int_equal(late[LB_OBSERVE_BUCKETS], count);
	assert_true(sum >= 0);
	fx_free(&fx);
}

/* One entry per kind of the table, in table order, counted apart; max bounds the answer. */
static void test_kind_stats_per_kind(void **state) {
	struct fx fx;
	fx_init(&fx);
	lb_health_set_kinds(fx.h, http_kinds, 2);
	const char *be[] = {"127.0.0.7:80"};
	add_service(&fx.cfg, "a", IPPROTO_TCP, with_path("/healthz"), be, 1);
	struct lb_check_conf k = check_conf(200, 190, 1, 1, true);
	k.type = LB_CHECK_EXEC;
	add_service(&fx.cfg, "x", IPPROTO_TCP, k, be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	for (int i = 0; i < 1000 && F.n_pending < 2; i++) /* both started (at 0 and 100 ms) */
		assert_true(lb_loop_run_once(fx.l, -1) >= 0);
	assert_int_equal(F.n_pending, 2);
	capture_start();
	for (int i = 0; i < 2; i++) {
		struct lb_probe *p = F.pending[0];
		complete(p, p->conf->type == LB_CHECK_HTTP, "exit status 1");
	}
	free(capture_take());
	struct lb_health_kind_stats ks[2];
	assert_int_equal(lb_health_kind_stats(fx.h, ks, 2), 2);
	assert_string_equal(ks[0].type, "fake-http");
	assert_int_equal(ks[0].ok, 1);
	assert_int_equal(ks[0].failed, 0);
	assert_string_equal(ks[1].type, "fake-exec");
	assert_int_equal(ks[1].ok, 0);
	assert_int_equal(ks[1].failed, 1);
	assert_int_equal(lb_health_kind_stats(fx.h, ks, 1), 1);
	assert_string_equal(ks[0].type, "fake-http");
	fx_free(&fx);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_interval_between_states),
		cmocka_unit_test(test_fast_interval_longer_is_ignored),
		cmocka_unit_test(test_check_port),
		cmocka_unit_test(test_limited_kind_waits_its_turn),
		cmocka_unit_test(test_limited_kind_in_round),
		cmocka_unit_test(test_limited_kind_removed_while_waiting),
		cmocka_unit_test(test_conf_cmp_and_per_service),
		cmocka_unit_test(test_detail_through_transitions),
		cmocka_unit_test(test_detail_of_unprobed_backends),
		cmocka_unit_test(test_detail_reason_cut),
		cmocka_unit_test(test_kind_stats),
		cmocka_unit_test(test_kind_stats_per_kind),
	};
	return cmocka_run_group_tests(tests, health_test_setup, NULL);
}
