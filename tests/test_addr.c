/* Addresses: parsing, formatting and ordering, table-driven. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "util.h"

struct parse_case {
	const char *in;
	int rc;          /* 0, -EINVAL or -ERANGE */
	const char *out; /* lb_addr_fmt of the result when rc == 0 */
	uint16_t af, port;
};

static const struct parse_case addr_cases[] = {
	{"10.0.0.1:80", 0, "10.0.0.1:80", AF_INET, 80},
	{"0.0.0.0:1", 0, "0.0.0.0:1", AF_INET, 1},
	{"255.255.255.255:65535", 0, "255.255.255.255:65535", AF_INET, 65535},
	{"10.0.0.1:0080", 0, "10.0.0.1:80", AF_INET, 80},
	{"[::1]:53", 0, "[::1]:53", AF_INET6, 53},
	{"[2001:DB8:0:0:0:0:0:1]:443", 0, "[2001:db8::1]:443", AF_INET6, 443},
	{"[::ffff:10.0.0.1]:80", 0, "[::ffff:10.0.0.1]:80", AF_INET6, 80},
	{"[fe80::1:2:3:4]:8080", 0, "[fe80::1:2:3:4]:8080", AF_INET6, 8080},
	/* port range */
	{"10.0.0.1:0", -ERANGE, NULL, 0, 0},
	{"10.0.0.1:00", -ERANGE, NULL, 0, 0},
	{"10.0.0.1:65536", -ERANGE, NULL, 0, 0},
	{"10.0.0.1:99999", -ERANGE, NULL, 0, 0},
	{"10.0.0.1:100000", -ERANGE, NULL, 0, 0},
	{"10.0.0.1:99999999999999999999999", -ERANGE, NULL, 0, 0},
	{"[::1]:0", -ERANGE, NULL, 0, 0},
	{"[::1]:70000", -ERANGE, NULL, 0, 0},
	/* syntax */
	{"", -EINVAL, NULL, 0, 0},
	{"10.0.0.1", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:", -EINVAL, NULL, 0, 0},
	{":80", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:80:80", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:-80", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:+80", -EINVAL, NULL, 0, 0},
	{"10.0.0.1: 80", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:80 ", -EINVAL, NULL, 0, 0},
	{" 10.0.0.1:80", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:8o", -EINVAL, NULL, 0, 0},
	{"10.0.0.1:0x50", -EINVAL, NULL, 0, 0},
	{"192.168.1.300:80", -EINVAL, NULL, 0, 0},
	{"10.0.0:80", -EINVAL, NULL, 0, 0},
	{"010.0.0.1:80", -EINVAL, NULL, 0, 0},
	{"example.com:80", -EINVAL, NULL, 0, 0},
	{"::1:80", -EINVAL, NULL, 0, 0}, /* unbracketed IPv6 is ambiguous with its port */
	{"2001:db8::1:443", -EINVAL, NULL, 0, 0},
	{"[::1]", -EINVAL, NULL, 0, 0},
	{"[::1]:", -EINVAL, NULL, 0, 0},
	{"[::1]80", -EINVAL, NULL, 0, 0},
	{"[::1:80", -EINVAL, NULL, 0, 0},
	{"[]:80", -EINVAL, NULL, 0, 0},
	{"[10.0.0.1]:80", -EINVAL, NULL, 0, 0}, /* brackets are for IPv6 only */
	{"[::1]]:80", -EINVAL, NULL, 0, 0},
	{"[::g]:80", -EINVAL, NULL, 0, 0},
	{"[0000:0000:0000:0000:0000:0000:0000:0000:0001]:80", -EINVAL, NULL, 0, 0}, /* too long */
};

static void test_addr_parse(void **state) {
	for (size_t i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		const struct parse_case *c = &addr_cases[i];
		struct lb_addr a;
		memset(&a, 0xa5, sizeof(a)); /* untouched on failure, fully set on success */
		struct lb_addr before = a;
		print_message("  \"%s\"\n", c->in);
		assert_int_equal(lb_addr_parse(c->in, &a), c->rc);
		if (c->rc) {
			assert_memory_equal(&a, &before, sizeof(a));
			continue;
		}
		char buf[LB_ADDRSTRLEN];
		assert_string_equal(lb_addr_fmt(&a, buf), c->out);
		assert_int_equal(a.af, c->af);
		assert_int_equal(a.port, c->port);
		/* formatting parses back to the same address */
		struct lb_addr back;
		assert_int_equal(lb_addr_parse(buf, &back), 0);
		assert_memory_equal(&back, &a, sizeof(a));
	}
}

/* The reference for IPv4 endpoints, from the rules alone: inet_pton takes the host, the port is
 * digits (leading zeros allowed) worth 1..65535, else -ERANGE when it is only too big or zero. */
static int ref_parse_v4(const char *s, struct in_addr *ip, uint16_t *port) {
	const char *colon = strrchr(s, ':');
	char host[64];
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	if (inet_pton(AF_INET, host, ip) != 1)
		return -EINVAL;
	const char *p = colon + 1;
	if (!*p || strspn(p, "0123456789") != strlen(p))
		return -EINVAL;
	while (*p == '0')
		p++;
	if (strlen(p) > 5 || !*p)
		return -ERANGE;
	unsigned long v = strtoul(p, NULL, 10);
	if (v > 65535)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

/* The one-pass IPv4 reader agrees with the general rules on every string: random ones built from
 * the characters that matter, and mutations of valid ones. */
static void test_addr_parse_v4_differential(void **state) {
	static const char alphabet[] = "0123456789..::1255";
	unsigned seed = 12345;
	size_t ok = 0;
	for (int i = 0; i < 200000; i++) {
		char s[32];
		size_t len;
		if (i % 2) {
			len = (size_t)(rand_r(&seed) % 24);
			for (size_t k = 0; k < len; k++)
				s[k] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
			s[len] = 0;
		} else {
			snprintf(s, sizeof(s), "%u.%u.%u.%u:%u", rand_r(&seed) % 300, rand_r(&seed) % 256,
				 rand_r(&seed) % 1000, rand_r(&seed) % 256, rand_r(&seed) % 70000);
			len = strlen(s);
			if (rand_r(&seed) % 3 == 0) /* one character changed */
				s[rand_r(&seed) % len] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		}
		struct in_addr want_ip = {0};
		uint16_t want_port = 0;
		int want = ref_parse_v4(s, &want_ip, &want_port);
		struct lb_addr a;
		int got = lb_addr_parse(s, &a);
		if (got != want)
			fail_msg("\"%s\": got %d, want %d", s, got, want);
		if (want == 0) {
			ok++;
			assert_int_equal(a.af, AF_INET);
			assert_memory_equal(&a.ip.v4, &want_ip, sizeof(want_ip));
			assert_int_equal(a.port, want_port);
			static const uint8_t zero[12];
			assert_memory_equal(a.ip.bytes + 4, zero, sizeof(zero));
		}
	}
	assert_true(ok > 10000); /* the valid side was exercised too */
}

static void test_ipv4_padding_is_zero(void **state) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse("10.1.2.3:80", &a), 0);
	static const uint8_t want[16] = {10, 1, 2, 3};
	assert_memory_equal(a.ip.bytes, want, 16); /* so memcmp compares addresses */
	union lb_inaddr ip;
	uint16_t af;
	memset(&ip, 0xff, sizeof(ip));
	assert_int_equal(lb_ip_parse("10.1.2.3", &af, &ip), 0);
	assert_int_equal(af, AF_INET);
	assert_memory_equal(ip.bytes, want, 16);
}

static void test_ip_parse(void **state) {
	static const struct {
		const char *in;
		int rc;
		uint16_t af;
		const char *out;
	} cases[] = {
		{"10.0.0.1", 0, AF_INET, "10.0.0.1"},
		{"::1", 0, AF_INET6, "::1"},
		{"2001:db8::a", 0, AF_INET6, "2001:db8::a"},
		{"[::1]", -EINVAL, 0, NULL},
		{"10.0.0.1:80", -EINVAL, 0, NULL},
		{"1.2.3", -EINVAL, 0, NULL},
		{"", -EINVAL, 0, NULL},
		{"localhost", -EINVAL, 0, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		union lb_inaddr ip;
		uint16_t af = 0;
		char buf[LB_ADDRSTRLEN];
		assert_int_equal(lb_ip_parse(cases[i].in, &af, &ip), cases[i].rc);
		if (cases[i].rc)
			continue;
		assert_int_equal(af, cases[i].af);
		assert_string_equal(lb_ip_fmt(af, &ip, buf), cases[i].out);
	}
	union lb_inaddr ip = {0};
	char buf[LB_ADDRSTRLEN];
	assert_string_equal(lb_ip_fmt(99, &ip, buf), "<af 99>");
}

/* Sorted ascending: family (IPv4 first), then address bytes, then port. */
static const char *const ordered[] = {
	"0.0.0.0:1",     "9.255.255.255:65535", "10.0.0.1:1",       "10.0.0.1:80",
	"10.0.0.1:443",  "10.0.0.2:1",          "10.0.1.0:80",      "255.255.255.255:1",
	"[::]:1",        "[::1]:80",            "[::1]:443",        "[::ffff:10.0.0.1]:1",
	"[2001:db8::1]:53", "[2001:db8::1:0]:53", "[ffff::]:1",
};

static void test_cmp_order(void **state) {
	for (size_t i = 0; i < ARRAY_SIZE(ordered); i++)
		for (size_t j = 0; j < ARRAY_SIZE(ordered); j++) {
			struct lb_addr a, b;
			assert_int_equal(lb_addr_parse(ordered[i], &a), 0);
			assert_int_equal(lb_addr_parse(ordered[j], &b), 0);
			int want = i < j ? -1 : i > j ? 1 : 0;
			int got = lb_addr_cmp(&a, &b);
			if (got != want)
				fail_msg("cmp(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want);
		}
}

static void test_fmt_longest(void **state) {
	struct lb_addr a;
	char buf[LB_ADDRSTRLEN];
	assert_int_equal(lb_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", &a), 0);
	assert_string_equal(lb_addr_fmt(&a, buf), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(lb_addr_parse("[0:1:0:1:0:1:0:1]:65535", &a), 0);
	assert_string_equal(lb_addr_fmt(&a, buf), "[0:1:0:1:0:1:0:1]:65535");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_addr_parse_v4_differential),
		cmocka_unit_test(test_ipv4_padding_is_zero),
		cmocka_unit_test(test_ip_parse),
		cmocka_unit_test(test_cmp_order),
		cmocka_unit_test(test_fmt_longest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
