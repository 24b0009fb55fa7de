/* The shared histogram buckets: bounds in order, and cumulative counting at the edges. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "observe.h"

static void test_bounds_ascend(void **state) {
	assert_int_equal(LB_OBSERVE_BUCKETS, 13);
	assert_true(lb_observe_buckets[0] == 0.001);
	assert_true(lb_observe_buckets[LB_OBSERVE_BUCKETS - 1] == 10);
	for (size_t i = 1; i < LB_OBSERVE_BUCKETS; i++)
		assert_true(lb_observe_buckets[i - 1] < lb_observe_buckets[i]);
}

/* Counts of a single observation, as a string of 0/1 per slot (the last one is +Inf). */
static void one(double secs, const char *want) {
	uint64_t b[LB_OBSERVE_BUCKETS + 1] = {0};
	char got[LB_OBSERVE_BUCKETS + 2] = {0};
	lb_observe_bucket_add(b, secs);
	for (size_t i = 0; i <= LB_OBSERVE_BUCKETS; i++) {
		assert_true(b[i] <= 1);
		got[i] = (char)('0' + b[i]);
	}
	assert_string_equal(got, want);
}

static void test_one_observation(void **state) {
	one(0, "11111111111111");
	one(-1, "11111111111111");        /* a clock step backwards: the smallest bucket */
	one(0.001, "11111111111111");     /* a bound is inclusive (le) */
	one(0.0011, "01111111111111");
	one(0.003, "00111111111111");
	one(0.5, "00000000111111");
	one(10, "00000000000011");
	one(10.5, "00000000000001");      /* only +Inf */
	one(INFINITY, "00000000000001");
	one(NAN, "00000000000001");       /* compares false everywhere: counted, in +Inf only */
}

static void test_counts_accumulate(void **state) {
	uint64_t b[LB_OBSERVE_BUCKETS + 1] = {0};
	lb_observe_bucket_add(b, 0.002);
	lb_observe_bucket_add(b, 0.002);
	lb_observe_bucket_add(b, 3);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[1], 2);  /* 0.0025 */
	assert_int_equal(b[10], 2); /* 2.5 */
	assert_int_equal(b[11], 3); /* 5 */
	assert_int_equal(b[LB_OBSERVE_BUCKETS], 3);
	for (size_t i = 1; i <= LB_OBSERVE_BUCKETS; i++)
		assert_true(b[i - 1] <= b[i]); /* cumulative: never decreasing */
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_ascend),
		cmocka_unit_test(test_one_observation),
		cmocka_unit_test(test_counts_accumulate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
