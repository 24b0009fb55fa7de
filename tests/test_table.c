/* The table model: keys, growth, sorting, lookups. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"
#include "util.h"

static void test_key_fmt_parse(void **state) {
	static const struct {
		const char *in;
		int rc;
		uint16_t proto;
	} cases[] = {
		{"tcp 10.0.0.1:80", 0, IPPROTO_TCP},
		{"udp [2001:db8::1]:53", 0, IPPROTO_UDP},
		{"sctp 10.0.0.1:9", 0, IPPROTO_SCTP},
		{"proto-47 10.0.0.1:1", 0, 47},
		{"proto-255 10.0.0.1:1", 0, 255},
		{"proto-256 10.0.0.1:1", -EINVAL, 0},
		{"proto- 10.0.0.1:1", -EINVAL, 0},
		{"proto-4x 10.0.0.1:1", -EINVAL, 0},
		{"TCP 10.0.0.1:80", -EINVAL, 0},
		{"tcp", -EINVAL, 0},
		{"tcp ", -EINVAL, 0},
		{"tc 10.0.0.1:80", -EINVAL, 0},
		{"tcpp 10.0.0.1:80", -EINVAL, 0},
		{" tcp 10.0.0.1:80", -EINVAL, 0},
		{"tcp 10.0.0.1:0", -ERANGE, 0},
		{"tcp ::1:80", -EINVAL, 0},
		{"10.0.0.1:80", -EINVAL, 0},
		{"fwmark 100 ipv4", 0, 0},
		{"fwmark 4294967295 ipv6", 0, 0},
		{"fwmark 1 ipv4", 0, 0},
		{"fwmark 0 ipv4", -ERANGE, 0},
		{"fwmark 4294967296 ipv4", -ERANGE, 0},
		{"fwmark 042 ipv4", -EINVAL, 0},
		{"fwmark 100", -EINVAL, 0},
		{"fwmark 100 ", -EINVAL, 0},
		{"fwmark 100 ipv5", -EINVAL, 0},
		{"fwmark 100 ipv4 x", -EINVAL, 0},
		{"fwmark -1 ipv4", -EINVAL, 0},
		{"fwmark  100 ipv4", -EINVAL, 0},
		{"fwmark 99999999999 ipv4", -ERANGE, 0},
		{"fwmark 999999999999 ipv4", -EINVAL, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lb_svc_key k;
		char buf[LB_SVC_KEYSTRLEN];
		print_message("  \"%s\"\n", cases[i].in);
		assert_int_equal(lb_svc_key_parse(cases[i].in, &k), cases[i].rc);
		if (cases[i].rc)
			continue;
		assert_int_equal(k.proto, cases[i].proto);
		assert_int_equal(k.fwmark != 0, strncmp(cases[i].in, "fwmark ", 7) == 0);
		assert_string_equal(lb_svc_key_fmt(&k, buf, sizeof(buf)), cases[i].in);
	}
	/* a fwmark key holds nothing but the mark and the family */
	struct lb_svc_key f;
	assert_int_equal(lb_svc_key_parse("fwmark 7 ipv6", &f), 0);
	assert_int_equal(f.fwmark, 7);
	assert_int_equal(f.addr.af, AF_INET6);
	assert_int_equal(f.addr.port, 0);
	static const union lb_inaddr zero;
	assert_memory_equal(&f.addr.ip, &zero, sizeof(zero));
	/* the longest key fits LB_SVC_KEYSTRLEN */
	struct lb_svc_key k;
	char buf[LB_SVC_KEYSTRLEN];
	const char *longest = "proto-255 [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535";
	assert_int_equal(lb_svc_key_parse(longest, &k), 0);
	assert_string_equal(lb_svc_key_fmt(&k, buf, sizeof(buf)), longest);
}

static void test_key_cmp(void **state) {
	/* ascending: address services first, by protocol number (tcp 6 < udp 17 < sctp 132),
	 * then the address; then fwmark services by mark, then family */
	static const char *const ordered[] = {
		"tcp 10.0.0.1:80", "tcp 10.0.0.1:443", "tcp 10.0.0.2:1", "tcp [::1]:1",
		"udp 9.0.0.1:53",  "udp 10.0.0.1:53",  "sctp 1.1.1.1:1", "fwmark 1 ipv4",
		"fwmark 1 ipv6",   "fwmark 2 ipv4",    "fwmark 300 ipv4",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ordered); i++)
		for (size_t j = 0; j < ARRAY_SIZE(ordered); j++) {
			struct lb_svc_key a, b;
			assert_int_equal(lb_svc_key_parse(ordered[i], &a), 0);
			assert_int_equal(lb_svc_key_parse(ordered[j], &b), 0);
			int want = i < j ? -1 : i > j ? 1 : 0;
			assert_int_equal(lb_svc_key_cmp(&a, &b), want);
		}
}

static struct lb_service *add_svc(struct lb_table *t, const char *key) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	assert_int_equal(s->n_dests, 0);
	assert_null(s->name);
	assert_int_equal(lb_svc_key_parse(key, &s->key), 0);
	return s;
}

static void add_dest(struct lb_service *s, const char *addr, uint32_t weight) {
	struct lb_dest *d = lb_service_add_dest(s);
	assert_non_null(d);
	assert_int_equal(d->weight, 0); /* zeroed */
	assert_int_equal(lb_addr_parse(addr, &d->addr), 0);
	d->weight = weight;
}

static void test_sort_find_clear(void **state) {
	struct lb_table t = {0};
	struct lb_svc_key k;
	struct lb_addr a;
	char buf[LB_SVC_KEYSTRLEN];
	assert_int_equal(lb_svc_key_parse("tcp 10.0.0.1:80", &k), 0);
	assert_null(lb_table_find(&t, &k)); /* empty table */
	struct lb_service *s = add_svc(&t, "udp 10.0.0.1:53");
	add_dest(s, "[::1]:53", 3);
	add_dest(s, "10.0.0.20:53", 2);
	add_dest(s, "10.0.0.10:53", 1);
	add_svc(&t, "tcp [::1]:80");
	for (int i = 20; i > 0; i--) { /* enough to make the array grow several times */
		char key[64];
		snprintf(key, sizeof(key), "tcp 10.0.0.%d:80", i);
		s = add_svc(&t, key);
		add_dest(s, "192.168.0.1:80", (uint32_t)i);
	}
	assert_int_equal(t.n, 22);
	assert_int_equal(lb_table_count_dests(&t), 23);
	lb_table_sort(&t);
	assert_string_equal(lb_svc_key_fmt(&t.svcs[0].key, buf, sizeof(buf)), "tcp 10.0.0.1:80");
	assert_string_equal(lb_svc_key_fmt(&t.svcs[19].key, buf, sizeof(buf)), "tcp 10.0.0.20:80");
	assert_string_equal(lb_svc_key_fmt(&t.svcs[20].key, buf, sizeof(buf)), "tcp [::1]:80");
	assert_string_equal(lb_svc_key_fmt(&t.svcs[21].key, buf, sizeof(buf)), "udp 10.0.0.1:53");
	/* the destinations moved with their service and were sorted within it */
	assert_int_equal(t.svcs[0].dests[0].weight, 1);
	assert_int_equal(t.svcs[19].dests[0].weight, 20);
	s = &t.svcs[21];
	assert_int_equal(s->dests[0].weight, 1);
	assert_int_equal(s->dests[1].weight, 2);
	assert_int_equal(s->dests[2].weight, 3);
	/* lookups */
	assert_ptr_equal(lb_table_find(&t, &k), &t.svcs[0]);
	assert_int_equal(lb_svc_key_parse("udp 10.0.0.1:53", &k), 0);
	assert_ptr_equal(lb_table_find(&t, &k), s);
	assert_int_equal(lb_svc_key_parse("tcp 10.0.0.1:53", &k), 0);
	assert_null(lb_table_find(&t, &k));
	assert_int_equal(lb_addr_parse("10.0.0.20:53", &a), 0);
	assert_ptr_equal(lb_service_find_dest(s, &a), &s->dests[1]);
	assert_int_equal(lb_addr_parse("[::1]:53", &a), 0);
	assert_ptr_equal(lb_service_find_dest(s, &a), &s->dests[2]);
	assert_int_equal(lb_addr_parse("10.0.0.20:54", &a), 0);
	assert_null(lb_service_find_dest(s, &a));
	assert_null(lb_service_find_dest(&t.svcs[20], &a)); /* no dests */
	lb_table_clear(&t);
	assert_int_equal(t.n, 0);
	assert_null(t.svcs);
	assert_int_equal(lb_table_count_dests(&t), 0);
	/* still usable */
	add_svc(&t, "tcp 10.0.0.1:80");
	assert_int_equal(t.n, 1);
	lb_table_clear(&t);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_fmt_parse),
		cmocka_unit_test(test_key_cmp),
		cmocka_unit_test(test_sort_find_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
