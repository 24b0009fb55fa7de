/* The one protocol-name table: names both ways, and what it has no name for. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static void test_names_both_ways(void **state) {
	static const struct { uint16_t num; const char *name; } want[] = {
		{IPPROTO_TCP, "tcp"}, {IPPROTO_UDP, "udp"}, {IPPROTO_SCTP, "sctp"}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint16_t p = 0;
		assert_string_equal(lb_proto_name(want[i].num), want[i].name);
		assert_int_equal(lb_proto_parse(want[i].name, strlen(want[i].name), &p), 0);
		assert_int_equal(p, want[i].num);
	}
}

static void test_unknown(void **state) {
	uint16_t p = 7;
	assert_null(lb_proto_name(99));
	assert_int_equal(lb_proto_parse("icmp", 4, &p), -EINVAL);
	assert_int_equal(lb_proto_parse("tc", 2, &p), -EINVAL);    /* a prefix is not a name */
	assert_int_equal(lb_proto_parse("tcpx", 4, &p), -EINVAL);
	assert_int_equal(lb_proto_parse("tcp udp", 3, &p), 0);     /* n bytes, not the string */
	assert_int_equal(p, IPPROTO_TCP);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_both_ways),
		cmocka_unit_test(test_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
