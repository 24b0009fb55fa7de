/* The config module's small parts: durations, did-you-mean, quoting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/config/internal.h"

static uint32_t dur(const char *s) {
	uint32_t ms = 12345;
	assert_int_equal(cfg_parse_duration(s, &ms), 0);
	return ms;
}

static void dur_fails(const char *s, int err) {
	uint32_t ms = 12345;
	assert_int_equal(cfg_parse_duration(s, &ms), err);
	assert_int_equal(ms, 12345); /* untouched */
}

static void test_duration_ok(void **state) {
	assert_int_equal(dur("500ms"), 500);
	assert_int_equal(dur("5s"), 5000);
	assert_int_equal(dur("1m"), 60000);
	assert_int_equal(dur("1h"), 3600000);
	assert_int_equal(dur("1m30s"), 90000);
	assert_int_equal(dur("1h1ms"), 3600001);
	assert_int_equal(dur("0s"), 0); /* the caller rejects zero with its own message */
	assert_int_equal(dur("007s"), 7000);
	assert_int_equal(dur("4294967295ms"), 4294967295u);
	assert_int_equal(dur("1193h"), 4294800000u);
}

static void test_duration_bad(void **state) {
	dur_fails("", -EINVAL);
	dur_fails("5", -EINVAL);
	dur_fails("s", -EINVAL);
	dur_fails("5 s", -EINVAL);
	dur_fails(" 5s", -EINVAL);
	dur_fails("-5s", -EINVAL);
	dur_fails("5S", -EINVAL);
	dur_fails("1.5s", -EINVAL);
	dur_fails("5sm", -EINVAL);
	dur_fails("5d", -EINVAL);
	dur_fails("4294967296ms", -ERANGE);
	dur_fails("1194h", -ERANGE);
	dur_fails("1193h1h", -ERANGE);
	dur_fails("99999999999999999999999s", -ERANGE);
}

static void test_duration_fmt(void **state) {
	char b[32];
	assert_string_equal(cfg_fmt_duration(500, b, sizeof(b)), "500ms");
	assert_string_equal(cfg_fmt_duration(1500, b, sizeof(b)), "1500ms");
	assert_string_equal(cfg_fmt_duration(5000, b, sizeof(b)), "5s");
	assert_string_equal(cfg_fmt_duration(90000, b, sizeof(b)), "90s");
	assert_string_equal(cfg_fmt_duration(60000, b, sizeof(b)), "1m");
	assert_string_equal(cfg_fmt_duration(5400000, b, sizeof(b)), "90m");
	assert_string_equal(cfg_fmt_duration(7200000, b, sizeof(b)), "2h");
}

static void test_suggest(void **state) {
	static const char *const keys[] = {"name", "listen", "scheduler", "weight", "health_check"};
	static const char *const protos[] = {"tcp", "udp", "sctp"};
	static const char *const scheds[] = {"rr", "wrr", "lc", "wlc"};
	assert_string_equal(cfg_suggest("schedular", keys, 5), "scheduler");
	assert_string_equal(cfg_suggest("shceduler", keys, 5), "scheduler"); /* a swap is one edit */
	assert_string_equal(cfg_suggest("weigth", keys, 5), "weight");
	assert_string_equal(cfg_suggest("healthcheck", keys, 5), "health_check");
	assert_string_equal(cfg_suggest("Listen", keys, 5), "listen");
	assert_string_equal(cfg_suggest("TCP", protos, 3), "tcp");
	assert_string_equal(cfg_suggest("wrrr", scheds, 4), "wrr");
	assert_null(cfg_suggest("icmp", protos, 3));   /* 2 edits of 4 letters: too far */
	assert_null(cfg_suggest("xx", scheds, 4));     /* would match any 2-letter name */
	assert_null(cfg_suggest("colour", keys, 5));
	assert_null(cfg_suggest("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", keys, 5));
}

static void test_join_and_quote(void **state) {
	static const char *const w[] = {"a", "b", "c"};
	char b[CFG_QUOTE_MAX];
	assert_string_equal(cfg_join(w, 3, " or ", b, sizeof(b)), "a, b or c");
	assert_string_equal(cfg_join(w, 2, " and ", b, sizeof(b)), "a and b");
	assert_string_equal(cfg_join(w, 1, " or ", b, sizeof(b)), "a");
	assert_string_equal(cfg_quote("a\"b\\c\td", b, sizeof(b)), "\"a\\\"b\\\\c\\x09d\"");
	char long_s[200];
	memset(long_s, 'x', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = 0;
	cfg_quote(long_s, b, sizeof(b));
	assert_true(strlen(b) >= 64 && strlen(b) < sizeof(b));
	assert_memory_equal(b, "\"xxxx", 5);
	assert_string_equal(b + strlen(b) - 4, "...\"");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_ok),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_fmt),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_join_and_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
