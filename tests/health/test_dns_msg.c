/* DNS messages of the dns check: query bytes, name validation, reply judgement, type names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/health/dns_msg.h"
#include "util.h"

/* --- queries --- */

struct query_case {
	const char *name;
	uint16_t id, qtype;
	const uint8_t *want; /* the whole query */
	size_t want_len;
};

static const uint8_t q_root[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* id, RD, QD 1 */
	0x00,                   /* the root */
	0x00, 0x06, 0x00, 0x01, /* SOA, IN */
};
static const uint8_t q_example[] = {
	0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x01, 0x00, 0x01, /* A, IN */
};
static const uint8_t q_aaaa[] = {
	0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	1, 'a', 1, 'B', 0, /* case kept */
	0x00, 0x1c, 0x00, 0x01,
};

static const struct query_case query_cases[] = {
	{".", 0x1234, 6, q_root, sizeof(q_root)},
	{"example.com", 0xbeef, 1, q_example, sizeof(q_example)},
	{"example.com.", 0xbeef, 1, q_example, sizeof(q_example)}, /* trailing dot: the same */
	{"a.B", 0, 28, q_aaaa, sizeof(q_aaaa)},
};

static void test_query_bytes(void **state) {
	for (size_t i = 0; i < ARRAY_SIZE(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		uint8_t buf[LB_DNS_QUERY_MAX];
		memset(buf, 0xaa, sizeof(buf));
		int n = lb_dns_query_build(buf, sizeof(buf), c->id, c->name, c->qtype);
		if (n != (int)c->want_len || memcmp(buf, c->want, c->want_len) != 0)
			fail_msg("query for \"%s\": %d bytes, want %zu", c->name, n, c->want_len);
		/* Exactly enough room is enough; one byte less is not. */
		assert_int_equal(lb_dns_query_build(buf, c->want_len, c->id, c->name, c->qtype), n);
		assert_int_equal(lb_dns_query_build(buf, c->want_len - 1, c->id, c->name, c->qtype),
				 -ENOSPC);
	}
}

/* A name of n bytes: labels of label_len 'x' separated by dots (the last one may be shorter). */
static char *long_name(size_t n, size_t label_len, bool trailing_dot) {
	char *s = malloc(n + 2);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (i + 1) % (label_len + 1) == 0 ? '.' : 'x';
	assert_true(s[n - 1] != '.');
	s[n] = trailing_dot ? '.' : '\0';
	s[n + 1] = '\0';
	return s;
}

struct name_case {
	const char *desc;
	size_t len, label_len; /* for a generated name; 0: name */
	bool trailing_dot;
	const char *name;
	int rc;
};

static const struct name_case name_cases[] = {
	{"root", 0, 0, false, ".", 0},
	{"one label", 0, 0, false, "com", 0},
	{"trailing dot", 0, 0, false, "example.com.", 0},
	{"8-bit bytes", 0, 0, false, "\xc3\xa9t\xc3\xa9.fr", 0},
	{"empty", 0, 0, false, "", -EINVAL},
	{"empty label", 0, 0, false, "a..b", -EINVAL},
	{"leading dot", 0, 0, false, ".com", -EINVAL},
	{"two trailing dots", 0, 0, false, "com..", -EINVAL},
	{"double root", 0, 0, false, "..", -EINVAL},
	{"63-byte label", 63, 63, false, NULL, 0},
	{"64-byte label", 64, 64, false, NULL, -EINVAL},
	{"64-byte label before another", 64 + 4, 64, false, NULL, -EINVAL},
	/* 253 bytes of text are 255 on the wire (first length byte, root byte). */
	{"253-byte name", 253, 63, false, NULL, 0},
	{"253-byte name, trailing dot", 253, 63, true, NULL, 0},
	{"254-byte name", 254, 63, false, NULL, -EINVAL},
	{"256-byte name", 256, 62, false, NULL, -EINVAL},
	{"255-byte name of 1-byte labels", 255, 1, false, NULL, -EINVAL},
};

static void test_names(void **state) {
	for (size_t i = 0; i < ARRAY_SIZE(name_cases); i++) {
		const struct name_case *c = &name_cases[i];
		char *gen = c->name ? NULL : long_name(c->len, c->label_len, c->trailing_dot);
		const char *name = c->name ? c->name : gen;
		uint8_t buf[LB_DNS_QUERY_MAX];
		int check = lb_dns_name_check(name);
		int built = lb_dns_query_build(buf, sizeof(buf), 1, name, 1);
		if (check != c->rc || (c->rc ? built != c->rc : built < 0))
			fail_msg("%s: check %d, build %d, want %d", c->desc, check, built, c->rc);
		if (c->rc == 0) /* the name on the wire ends with the root's zero, before qtype */
			assert_int_equal(buf[built - 5], 0);
		free(gen);
	}
}

/* --- replies --- */

struct reply_case {
	const char *desc;
	uint8_t hdr[LB_DNS_HEADER_LEN];
	size_t len;
	enum lb_dns_reply want;
	unsigned rcode;
	const char *rcode_name;
};

#define ID 0xabcd
/* id, flags (QR opcode AA TC RD / RA Z AD CD RCODE), QD, AN, NS, AR */
#define HDR(id, f1, f2) {(id) >> 8, (id) & 0xff, f1, f2, 0, 1, 0, 1, 0, 0, 0, 0}

static const struct reply_case reply_cases[] = {
	{"answer", HDR(ID, 0x81, 0x80), 12, DNS_REPLY_OK, 0, "NOERROR"},
	{"authoritative answer", HDR(ID, 0x85, 0x80), 12, DNS_REPLY_OK, 0, NULL},
	{"truncated (TC) answer", HDR(ID, 0x83, 0x80), 12, DNS_REPLY_OK, 0, NULL},
	{"wrong id", HDR(ID ^ 1, 0x81, 0x80), 12, DNS_REPLY_IGNORE, 0, NULL},
	{"wrong id, high byte", HDR(ID ^ 0x100, 0x81, 0x80), 12, DNS_REPLY_IGNORE, 0, NULL},
	{"QR clear (a query)", HDR(ID, 0x01, 0x00), 12, DNS_REPLY_IGNORE, 0, NULL},
	{"QR clear, rcode 2", HDR(ID, 0x01, 0x02), 12, DNS_REPLY_IGNORE, 0, NULL},
	{"11 bytes", HDR(ID, 0x81, 0x80), 11, DNS_REPLY_IGNORE, 0, NULL},
	{"empty", HDR(ID, 0x81, 0x80), 0, DNS_REPLY_IGNORE, 0, NULL},
	{"FORMERR", HDR(ID, 0x81, 0x81), 12, DNS_REPLY_RCODE, 1, "FORMERR"},
	{"SERVFAIL", HDR(ID, 0x81, 0x82), 12, DNS_REPLY_RCODE, 2, "SERVFAIL"},
	{"NXDOMAIN", HDR(ID, 0x81, 0x83), 12, DNS_REPLY_RCODE, 3, "NXDOMAIN"},
	{"NXDOMAIN, AA", HDR(ID, 0x85, 0x03), 12, DNS_REPLY_RCODE, 3, "NXDOMAIN"},
	{"NOTIMP", HDR(ID, 0x81, 0x84), 12, DNS_REPLY_RCODE, 4, "NOTIMP"},
	{"REFUSED", HDR(ID, 0x81, 0x85), 12, DNS_REPLY_RCODE, 5, "REFUSED"},
	{"rcode 15", HDR(ID, 0x81, 0x8f), 12, DNS_REPLY_RCODE, 15, NULL},
};

static void test_replies(void **state) {
	for (size_t i = 0; i < ARRAY_SIZE(reply_cases); i++) {
		const struct reply_case *c = &reply_cases[i];
		unsigned rcode = 99;
		enum lb_dns_reply r = lb_dns_reply_check(c->hdr, c->len, ID, &rcode);
		if (r != c->want || (r != DNS_REPLY_IGNORE && rcode != c->rcode))
			fail_msg("%s: %d rcode %u, want %d rcode %u", c->desc, r, rcode, c->want,
				 c->rcode);
		if (c->rcode_name)
			assert_string_equal(lb_dns_rcode_name(c->rcode), c->rcode_name);
	}
	assert_null(lb_dns_rcode_name(15));
	assert_null(lb_dns_rcode_name(4096));
}

/* --- query types --- */

static void test_qtypes(void **state) {
	static const struct {
		const char *name;
		uint16_t type;
	} known[] = {{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16},
		     {"AAAA", 28}};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		uint16_t t = 0;
		assert_int_equal(lb_dns_qtype_parse(known[i].name, &t), 0);
		assert_int_equal(t, known[i].type);
		assert_string_equal(lb_dns_qtype_name(t), known[i].name);
	}
	uint16_t t = 0;
	assert_int_equal(lb_dns_qtype_parse("aaaa", &t), 0); /* case-insensitive */
	assert_int_equal(t, 28);
	static const char *const bad[] = {"", "ANY", "PTR", "SRV", "6", "A ", "AAAAA", "SOAX"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = 77;
		assert_int_equal(lb_dns_qtype_parse(bad[i], &t), -EINVAL);
		assert_int_equal(t, 77); /* untouched */
	}
	assert_null(lb_dns_qtype_name(0));
	assert_null(lb_dns_qtype_name(255));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_bytes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_qtypes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
