/* Health engine: the verdict table, logged transitions, dedup, sync, disabled checks, schedule.
 * Probes go through a fake check kind that the test completes by hand: no traffic at all. */
#include <netinet/in.h>

#include "health_test.h"
#include "loop.h"
#include "../../src/health/check.h"
#include "../../src/health/verdict.h"
#include "fake_kind.h"

/* --- the pure state machine, as a table --- */

struct verdict_case {
	uint32_t fail, rise;
	bool initial_up;
	const char *results; /* 'S'uccess / 'F'ailure */
	const char *raw;     /* state after each: 'u'nknown, 'U'p, 'D'own */
	const char *eff;     /* what it counts as after each */
};

static const struct verdict_case verdict_cases[] = {
	{3, 2, true, "FFF", "uuD", "UUD"},
	{3, 2, true, "SS", "uU", "UU"},
	{3, 2, false, "SS", "uU", "DU"},
	{3, 2, false, "FFF", "uuD", "DDD"},
	{3, 2, true, "SSFFSFFF", "uUUUUUUD", "UUUUUUUD"},
	{3, 2, true, "FFFSFSS", "uuDDDDU", "UUDDDDU"},
	{1, 1, true, "FSFS", "DUDU", "DUDU"},
	{2, 3, true, "SFSFFSSS", "uuuuDDDU", "UUUUDDDU"},
	{3, 2, false, "SFSS", "uuuU", "DDDU"},
};

static char raw_letter(enum lb_health s) {
	return s == LB_HEALTH_UP ? 'U' : s == LB_HEALTH_DOWN ? 'D' : 'u';
}

static void test_verdict_table(void **state) {
	for (size_t c = 0; c < ARRAY_SIZE(verdict_cases); c++) {
		const struct verdict_case *vc = &verdict_cases[c];
		struct lb_verdict v = {0};
		char raw[16] = {0}, eff[16] = {0};
		for (size_t i = 0; vc->results[i]; i++) {
			enum lb_health before = v.state;
			bool changed = lb_verdict_step(&v, vc->results[i] == 'S', vc->fail, vc->rise);
			assert_int_equal(changed, v.state != before);
			assert_true(v.n_ok == 0 || v.n_fail == 0);
			raw[i] = raw_letter(v.state);
			eff[i] = raw_letter(lb_verdict_effective(&v, vc->initial_up));
		}
		if (strcmp(raw, vc->raw) || strcmp(eff, vc->eff))
			fail_msg("case %zu (%s): raw %s want %s, effective %s want %s", c, vc->results,
				 raw, vc->raw, eff, vc->eff);
	}
}

static void test_verdict_decide_and_settle(void **state) {
	struct lb_verdict v = {0};
	assert_true(lb_verdict_decide(&v, false)); /* one failure decides, whatever fail_count */
	assert_int_equal(v.state, LB_HEALTH_DOWN);
	assert_int_equal(v.n_fail, 1);
	assert_false(lb_verdict_decide(&v, false));
	assert_int_equal(v.n_fail, 2);
	assert_true(lb_verdict_decide(&v, true));
	assert_int_equal(v.state, LB_HEALTH_UP);
	/* Two failures under fail_count 3, then the threshold drops to 2: down at once. */
	v = (struct lb_verdict){.state = LB_HEALTH_UP};
	assert_false(lb_verdict_step(&v, false, 3, 2));
	assert_false(lb_verdict_step(&v, false, 3, 2));
	assert_false(lb_verdict_settle(&v, 3, 2));
	assert_true(lb_verdict_settle(&v, 2, 2));
	assert_int_equal(v.state, LB_HEALTH_DOWN);
}

/* --- logged transitions through the engine --- */

struct log_case {
	uint32_t fail, rise;
	bool initial_up;
	const char *results;
	const char *log;
	int changes;
	enum lb_health assumed; /* lb_health_assume before the first probe; UNKNOWN: not called */
};

static const struct log_case log_cases[] = {
	{3, 2, true, "FFF", "web 127.0.0.1:8080 up -> down (3 failures: connection refused)\n", 1, LB_HEALTH_UNKNOWN},
	{3, 2, true, "FTFSS",
	 "web 127.0.0.1:8080 up -> down (3 failures: connection refused)\n"
	 "web 127.0.0.1:8080 down -> up (2 successes)\n", 2, LB_HEALTH_UNKNOWN},
	{3, 2, true, "FFTSFS", "web 127.0.0.1:8080 up -> down (3 failures: timeout)\n", 1, LB_HEALTH_UNKNOWN},
	{1, 1, true, "SFS",
	 "web 127.0.0.1:8080 up -> down (1 failure: connection refused)\n"
	 "web 127.0.0.1:8080 down -> up (1 success)\n", 2, LB_HEALTH_UNKNOWN},
	{3, 2, true, "SSFF", "", 0, LB_HEALTH_UNKNOWN},
	{3, 2, false, "SS", "web 127.0.0.1:8080 down -> up (2 successes)\n", 1, LB_HEALTH_UNKNOWN},
	{3, 2, false, "FFF", "web 127.0.0.1:8080 unknown -> down (3 failures: connection refused)\n", 0, LB_HEALTH_UNKNOWN},
	/* a restarted daemon continues from the table it adopts */
	{3, 2, true, "S", "", 0, LB_HEALTH_DOWN},
	{3, 2, true, "SS", "web 127.0.0.1:8080 down -> up (2 successes)\n", 1, LB_HEALTH_DOWN},
	{3, 2, false, "FFF", "web 127.0.0.1:8080 up -> down (3 failures: connection refused)\n", 1,
	 LB_HEALTH_UP},
	{3, 2, false, "SSF", "", 0, LB_HEALTH_UP},
};

static void test_logged_transitions(void **state) {
	log_set_max_level(LOG_INFO);
	for (size_t c = 0; c < ARRAY_SIZE(log_cases); c++) {
		const struct log_case *lc = &log_cases[c];
		struct fx fx;
		fx_init(&fx);
		const char *be[] = {"127.0.0.1:8080"};
		add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1, 1000, lc->fail, lc->rise,
								     lc->initial_up), be, 1);
		assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
		if (lc->assumed != LB_HEALTH_UNKNOWN) {
			lb_health_assume(fx.h, &fx.cfg.services[0], &fx.cfg.services[0].backends[0], lc->assumed);
			assert_int_equal(state_of(&fx, 0, 0), lc->assumed);
		}
		char *log = feed(&fx, be[0], lc->results);
		if (strcmp(log, lc->log))
			fail_msg("case %zu (%s): log\n%swant\n%s", c, lc->results, log, lc->log);
		assert_int_equal(fx.ch.n, lc->changes);
		free(log);
		fx_free(&fx);
	}
	log_set_max_level(LOG_NOTICE);
}

/* A probe that never answers ends as "timeout" at its deadline (the engine's timer). */
static void test_deadline_is_timeout(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.1:81"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1000, 30, 1, 1, true), be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	capture_start();
	usec_t start = now_usec(CLOCK_MONOTONIC);
	wait_probe(&fx, be[0]);
	while (fx.ch.n == 0)
		assert_true(lb_loop_run_once(fx.l, -1) >= 0);
	usec_t took = now_usec(CLOCK_MONOTONIC) - start;
	char *log = capture_take();
	assert_string_equal(log, "web 127.0.0.1:81 up -> down (1 failure: timeout)\n");
	assert_true(took >= 30 * USEC_PER_MSEC);
	assert_int_equal(F.cancels, 1);
	assert_int_equal(F.n_pending, 0);
	free(log);
	fx_free(&fx);
}

/* --- dedup --- */

static void test_same_backend_in_two_services_is_probed_once(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *shared[] = {"127.0.0.2:80"};
	add_service(&fx.cfg, "a", IPPROTO_TCP, check_conf(5000, 1000, 1, 1, true), shared, 1);
	add_service(&fx.cfg, "b", IPPROTO_TCP, check_conf(5000, 1000, 1, 1, true), shared, 1);
	/* Same address, other settings: a target of its own, first probed half an interval later
	 * (two new targets are spread over the interval). */
	add_service(&fx.cfg, "c", IPPROTO_TCP, check_conf(7000, 1000, 1, 1, true), shared, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.targets, 2);
	capture_start();
	struct lb_probe *p = wait_probe(&fx, shared[0]);
	assert_int_equal(F.starts, 1);
	assert_int_equal(p->timeout_ms, 1000);
	complete(p, false, "connection refused");
	char *log = capture_take();
	/* One failure of one probe: logged and notified for a and for b, not for c. */
	assert_string_equal(log, "a 127.0.0.2:80 up -> down (1 failure: connection refused)\n"
				 "b 127.0.0.2:80 up -> down (1 failure: connection refused)\n");
	assert_int_equal(fx.ch.n, 2);
	assert_string_equal(fx.ch.svc[0], "a");
	assert_string_equal(fx.ch.svc[1], "b");
	assert_int_equal(fx.ch.state[1], LB_HEALTH_DOWN);
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_DOWN);
	assert_int_equal(state_of(&fx, 1, 0), LB_HEALTH_DOWN);
	assert_int_equal(state_of(&fx, 2, 0), LB_HEALTH_UP);
	assert_int_equal(F.starts, 1);
	free(log);
	fx_free(&fx);
}

/* --- sync --- */

static void test_sync_keeps_unchanged_and_drops_removed(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be1[] = {"127.0.0.1:1", "127.0.0.1:2"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1, 1000, 2, 2, true), be1, 2);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	free(feed(&fx, "127.0.0.1:1", "FF")); /* :1 down */
	free(feed(&fx, "127.0.0.1:1", "S"));  /* one success of the two it needs */
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_DOWN);
	struct lb_probe *p2 = wait_probe(&fx, "127.0.0.1:2"); /* :2 has a probe running */
	assert_non_null(p2);

	/* New config: :1 unchanged, :2 removed, :3 added, in a renamed second config object. */
	struct lb_config next = {0};
	const char *be2[] = {"127.0.0.1:3", "127.0.0.1:1"};
	add_service(&next, "web", IPPROTO_TCP, check_conf(1, 1000, 2, 2, true), be2, 2);
	int cancels = F.cancels;
	assert_int_equal(lb_health_sync(fx.h, &next), 0);
	free_conf(&fx.cfg);
	fx.cfg = next;
	assert_int_equal(F.cancels, cancels + 1); /* :2's running probe stopped at once */
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.targets, 2);
	assert_int_equal(state_of(&fx, 0, 1), LB_HEALTH_DOWN); /* :1 kept its state... */
	char *log = feed(&fx, "127.0.0.1:1", "S");             /* ...and its counter */
	assert_string_equal(log, "web 127.0.0.1:1 down -> up (2 successes)\n");
	free(log);
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_UP); /* :3 unknown, counts as up */
	/* :2 is never probed again. */
	struct lb_addr gone;
	assert_int_equal(lb_addr_parse("127.0.0.1:2", &gone), 0);
	int starts = F.starts;
	free(feed(&fx, "127.0.0.1:1", "SSS"));
	for (int i = starts; i < F.starts && i < 256; i++)
		assert_int_not_equal(lb_addr_cmp(&F.started[i].addr, &gone), 0);
	fx_free(&fx);
}

/* Changed check settings keep state and counters and apply at once. */
static void test_sync_changed_settings(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.1:1"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1, 1000, 3, 2, true), be, 1);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	free(feed(&fx, be[0], "SSFF")); /* up, two failures of three */
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_UP);
	struct lb_config next = {0};
	add_service(&next, "web", IPPROTO_TCP, check_conf(2, 1000, 2, 2, true), be, 1);
	capture_start();
	assert_int_equal(lb_health_sync(fx.h, &next), 0);
	char *log = capture_take();
	free_conf(&fx.cfg);
	fx.cfg = next;
	assert_string_equal(log, "web 127.0.0.1:1 up -> down (2 failures: connection refused)\n");
	assert_int_equal(fx.ch.n, 1);
	assert_int_equal(fx.ch.state[0], LB_HEALTH_DOWN);
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_DOWN);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.targets, 1);
	free(log);
	/* Still probed, with the new settings. */
	log = feed(&fx, be[0], "SS");
	assert_string_equal(log, "web 127.0.0.1:1 down -> up (2 successes)\n");
	free(log);
	fx_free(&fx);
}

/* A failing sync... cannot be provoked without fault injection; an empty config drops all. */
static void test_sync_to_empty(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.1:1", "127.0.0.1:2"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(1, 1000, 3, 2, true), be, 2);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	wait_probe(&fx, be[0]);
	struct lb_config empty = {0};
	assert_int_equal(lb_health_sync(fx.h, &empty), 0);
	assert_int_equal(F.n_pending, 0);
	assert_int_equal(lb_loop_n_timers(fx.l), 0);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.targets, 0);
	assert_int_equal(st.in_flight, 0);
	fx_free(&fx);
}

/* --- disabled checks, no kind --- */

static void test_disabled_and_unprobed_services_are_up(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.1:1", "127.0.0.1:2"};
	struct lb_check_conf off = check_conf(1, 1000, 1, 1, false);
	off.enabled = false;
	add_service(&fx.cfg, "off", IPPROTO_TCP, off, be, 2);
	/* The fake table has no UDP kind: enabled, but nothing can probe it. */
	add_service(&fx.cfg, "dgram", IPPROTO_UDP, check_conf(1, 1000, 1, 1, false), be, 2);
	capture_start();
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	char *log = capture_take();
	assert_string_equal(log, ""); /* the "no health check for udp" note is LOG_INFO */
	free(log);
	for (int i = 0; i < 5; i++)
		assert_int_equal(lb_loop_run_once(fx.l, 5), 0);
	assert_int_equal(F.starts, 0);
	assert_int_equal(lb_loop_n_timers(fx.l), 0);
	for (size_t s = 0; s < 2; s++)
		for (size_t b = 0; b < 2; b++)
			assert_int_equal(state_of(&fx, s, b), LB_HEALTH_UP);
	size_t up, total;
	lb_health_count(fx.h, &fx.cfg, &up, &total);
	assert_int_equal(up, 4);
	assert_int_equal(total, 4);
	assert_false(lb_health_checked(&fx.cfg.services[0]));
	assert_true(lb_health_checked(&fx.cfg.services[1])); /* the built-in table has udp */
	fx_free(&fx);
}

/* --- schedule --- */

/* Ten new targets: first probes spread evenly over the interval; then exactly one interval apart
 * (counted from the due time, not from when the previous probe ended). */
static void test_first_probes_spread_then_periodic(void **state) {
	enum { N = 10, IV = 400 };
	struct fx fx;
	fx_init(&fx);
	char addrs[N][32];
	const char *be[N];
	for (int i = 0; i < N; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "127.0.1.%d:80", i + 1);
		be[i] = addrs[i];
	}
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(IV, 100, 3, 2, true), be, N);
	usec_t t0 = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	/* Probes are answered as soon as they start. */
	while (F.starts < N + 1) {
		assert_true(lb_loop_run_once(fx.l, 20) >= 0);
		for (int i = F.n_pending - 1; i >= 0; i--)
			complete(F.pending[i], true, NULL);
	}
	for (int i = 0; i < N; i++) {
		struct lb_addr a;
		assert_int_equal(lb_addr_parse(be[i], &a), 0);
		assert_int_equal(lb_addr_cmp(&F.started[i].addr, &a), 0);
		usec_t off = F.started[i].at - t0, want = (usec_t)i * IV / N * USEC_PER_MSEC;
		if (off + 2 * USEC_PER_MSEC < want || off > want + 30 * USEC_PER_MSEC)
			fail_msg("target %d first probed at %llu us, want ~%llu", i,
				 (unsigned long long)off, (unsigned long long)want);
	}
	/* The 11th probe is target 0 again, one interval after its first. */
	assert_int_equal(lb_addr_cmp(&F.started[N].addr, &F.started[0].addr), 0);
	usec_t gap = F.started[N].at - F.started[0].at;
	assert_true(gap >= IV * USEC_PER_MSEC - 5 * USEC_PER_MSEC); /* each may be <= 4 ms late */
	assert_true(gap <= IV * USEC_PER_MSEC + 30 * USEC_PER_MSEC);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_true(st.late_max < 30 * USEC_PER_MSEC);
	fx_free(&fx);
}

/* --- decisive round --- */

static void test_round_decides_with_one_probe(void **state) {
	struct fx fx;
	fx_init(&fx);
	const char *be[] = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};
	add_service(&fx.cfg, "web", IPPROTO_TCP, check_conf(60000, 1000, 3, 2, true), be, 3);
	assert_int_equal(lb_health_sync(fx.h, &fx.cfg), 0);
	assert_int_equal(lb_health_probe_all(fx.h), 0);
	assert_int_equal(lb_health_probe_all(fx.h), -EBUSY);
	assert_int_equal(F.n_pending, 3); /* all at once, not spread */
	assert_true(lb_health_round_pending(fx.h));
	capture_start();
	complete(wait_probe(&fx, be[1]), false, "connection refused");
	complete(wait_probe(&fx, be[0]), true, NULL);
	assert_true(lb_health_round_pending(fx.h));
	complete(wait_probe(&fx, be[2]), true, NULL);
	assert_false(lb_health_round_pending(fx.h));
	char *log = capture_take();
	assert_string_equal(log, "web 127.0.0.1:2 up -> down (1 failure: connection refused)\n");
	assert_int_equal(state_of(&fx, 0, 0), LB_HEALTH_UP);
	assert_int_equal(state_of(&fx, 0, 1), LB_HEALTH_DOWN);
	assert_int_equal(state_of(&fx, 0, 2), LB_HEALTH_UP);
	size_t up, total;
	lb_health_count(fx.h, &fx.cfg, &up, &total);
	assert_int_equal(up, 2);
	assert_int_equal(total, 3);
	struct lb_health_stats st;
	lb_health_get_stats(fx.h, &st);
	assert_int_equal(st.up, 2);
	assert_int_equal(st.down, 1);
	assert_int_equal(st.unknown, 0);
	assert_int_equal(st.probes, 3);
	assert_int_equal(st.failures, 1);
	assert_int_equal(lb_loop_n_timers(fx.l), 3); /* back on their schedule */
	free(log);
	fx_free(&fx);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_table),
		cmocka_unit_test(test_verdict_decide_and_settle),
		cmocka_unit_test(test_logged_transitions),
		cmocka_unit_test(test_deadline_is_timeout),
		cmocka_unit_test(test_same_backend_in_two_services_is_probed_once),
		cmocka_unit_test(test_sync_keeps_unchanged_and_drops_removed),
		cmocka_unit_test(test_sync_changed_settings),
		cmocka_unit_test(test_sync_to_empty),
		cmocka_unit_test(test_disabled_and_unprobed_services_are_up),
		cmocka_unit_test(test_first_probes_spread_then_periodic),
		cmocka_unit_test(test_round_decides_with_one_probe),
	};
	return cmocka_run_group_tests(tests, health_test_setup, NULL);
}
