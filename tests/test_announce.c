/* VIP announcement, the pure part. The planner is table-driven: (want, have, owned record) ->
 * exact op lines, the record after and the foreign addresses. Every case is also applied to have
 * and planned again: nothing left to do, the same record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "announce.h"
#include "config.h"
#include "table.h"
#include "util.h"

static struct lb_vip vip(const char *line) {
	struct lb_vip v;
	const char *why = NULL;
	if (lb_vip_parse_line(line, &v, &why) < 0)
		fail_msg("bad vip in the test: \"%s\": %s", line, why);
	return v;
}

/* "ezlb0 10.0.0.1, ezlb0 10.0.0.2" -> the set; "" -> empty. */
static void set_of(const char *list, struct lb_vipset *s) {
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", list);
	lb_vipset_clear(s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct lb_vip v = vip(t + strspn(t, " "));
		assert_int_equal(lb_vipset_add(s, &v), 0);
	}
}

/* The set back in the same notation, in its order. */
static const char *str_of(const struct lb_vipset *s, char *buf, size_t len) {
	struct lb_line l = {buf, len, 0};
	char ip[LB_ADDRSTRLEN];
	buf[0] = 0;
	for (size_t i = 0; i < s->n; i++)
		lb_line_put(&l, "%s%s %s", i ? ", " : "", s->v[i].ifname,
			    lb_ip_fmt(s->v[i].addr.af, &s->v[i].addr.ip, ip));
	return buf;
}

struct acase {
	const char *name;
	const char *want, *have, *owned;
	const char *ops[6];
	const char *owned_after, *foreign;
};

/* have after the plan: what a kernel that accepted every op would hold. */
static void apply(const struct lb_aplan *p, struct lb_vipset *have) {
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_aop *op = &p->ops[i];
		if (op->kind == LB_AOP_ADD) {
			assert_false(lb_vipset_has(have, &op->vip)); /* the kernel refuses a duplicate */
			assert_int_equal(lb_vipset_add(have, &op->vip), 0);
		} else {
			assert_true(lb_vipset_has(have, &op->vip)); /* only what is there is removed */
			lb_vipset_remove(have, &op->vip);
		}
	}
}

static void check_ops(const struct lb_aplan *p, const char *const *want, size_t max) {
	char line[LB_AOP_STRLEN];
	size_t n = 0;
	while (n < max && want[n])
		n++;
	for (size_t i = 0; i < p->n; i++)
		print_message("  got: %s\n", lb_aop_fmt(&p->ops[i], line, sizeof(line)));
	assert_int_equal(p->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(lb_aop_fmt(&p->ops[i], line, sizeof(line)), want[i]);
}

static void run_case(const struct acase *c) {
	struct lb_vipset want = {0}, have = {0}, owned = {0};
	struct lb_aplan p, again;
	char buf[512];
	set_of(c->want, &want);
	set_of(c->have, &have);
	set_of(c->owned, &owned);
	assert_int_equal(lb_announce_plan(&want, &have, &owned, &p), 0);
	check_ops(&p, c->ops, ARRAY_SIZE(c->ops));
	assert_string_equal(str_of(&p.owned, buf, sizeof(buf)), c->owned_after);
	assert_string_equal(str_of(&p.foreign, buf, sizeof(buf)), c->foreign);
	apply(&p, &have);
	assert_int_equal(lb_announce_plan(&want, &have, &p.owned, &again), 0);
	assert_int_equal(again.n, 0);
	assert_true(lb_vipset_equal(&again.owned, &p.owned));
	assert_true(lb_vipset_equal(&again.foreign, &p.foreign));
	lb_aplan_free(&again);
	lb_aplan_free(&p);
	lb_vipset_free(&want);
	lb_vipset_free(&have);
	lb_vipset_free(&owned);
}

static void test_plan(void **state) {
	(void)state;
	static const struct acase cases[] = {
		{"nothing at all", "", "", "", {NULL}, "", ""},
		{"wanted and missing: added, owned", "ezlb0 10.0.0.1", "", "",
		 {"+ announce 10.0.0.1/32 on ezlb0"}, "ezlb0 10.0.0.1", ""},
		{"wanted, present, owned: kept", "ezlb0 10.0.0.1", "ezlb0 10.0.0.1", "ezlb0 10.0.0.1",
		 {NULL}, "ezlb0 10.0.0.1", ""},
		{"wanted, present, not owned: foreign, not taken over", "ezlb0 10.0.0.1",
		 "ezlb0 10.0.0.1", "", {NULL}, "", "ezlb0 10.0.0.1"},
		{"owned, no longer wanted: withdrawn", "", "ezlb0 10.0.0.1", "ezlb0 10.0.0.1",
		 {"- announce 10.0.0.1/32 on ezlb0"}, "", ""},
		{"owned, not wanted, removed by hand: dropped from the record", "", "",
		 "ezlb0 10.0.0.1", {NULL}, "", ""},
		{"owned, wanted, removed by hand: put back (repair)", "ezlb0 10.0.0.1", "",
		 "ezlb0 10.0.0.1", {"+ announce 10.0.0.1/32 on ezlb0"}, "ezlb0 10.0.0.1", ""},
		{"present, neither wanted nor owned: untouched", "", "ezlb0 10.0.0.9, ezlb0 2001:db8::9",
		 "", {NULL}, "", ""},
		{"present on another interface only: added where wanted", "ezlb0 10.0.0.1",
		 "eth0 10.0.0.1", "", {"+ announce 10.0.0.1/32 on ezlb0"}, "ezlb0 10.0.0.1", ""},
		{"two interfaces: VIPs move, deletions first, each group sorted",
		 "ezlb1 10.0.0.2, ezlb0 10.0.0.1", "ezlb1 10.0.0.3, ezlb0 10.0.0.2",
		 "ezlb1 10.0.0.3, ezlb0 10.0.0.2",
		 {"- announce 10.0.0.2/32 on ezlb0", "- announce 10.0.0.3/32 on ezlb1",
		  "+ announce 10.0.0.1/32 on ezlb0", "+ announce 10.0.0.2/32 on ezlb1"},
		 "ezlb0 10.0.0.1, ezlb1 10.0.0.2", ""},
		{"IPv6", "ezlb0 2001:db8::1", "ezlb0 2001:db8::2", "ezlb0 2001:db8::2",
		 {"- announce 2001:db8::2/128 on ezlb0", "+ announce 2001:db8::1/128 on ezlb0"},
		 "ezlb0 2001:db8::1", ""},
		{"mixed: every rule at once",
		 "ezlb0 10.0.0.1, ezlb0 10.0.0.2, ezlb0 2001:db8::1, ezlb0 10.0.0.5",
		 "ezlb0 10.0.0.2, ezlb0 10.0.0.3, ezlb0 10.0.0.4, ezlb0 10.0.0.5, ezlb0 2001:db8::9",
		 "ezlb0 10.0.0.2, ezlb0 10.0.0.3, ezlb0 10.0.0.6",
		 {"- announce 10.0.0.3/32 on ezlb0", "+ announce 10.0.0.1/32 on ezlb0",
		  "+ announce 2001:db8::1/128 on ezlb0"},
		 "ezlb0 10.0.0.1, ezlb0 10.0.0.2, ezlb0 2001:db8::1", "ezlb0 10.0.0.5"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		run_case(&cases[i]);
	}
}

/* A hand-built config: the services of the want tests, and which of them serve. */
struct svc_spec {
	const char *name, *listen, *announce_if;
	uint32_t fwmark;
};

static const struct svc_spec SPECS[] = {
	{"web", "10.0.0.1:80", "ezlb0", 0},
	{"web-tls", "10.0.0.1:443", "ezlb0", 0}, /* shares web's VIP */
	{"plain", "10.0.0.2:80", "", 0},          /* no announce */
	{"mark", NULL, "ezlb0", 7},               /* fwmark: no address to announce */
	{"dns", "[2001:db8::53]:53", "ezlb1", 0},
};

static void make_config(struct lb_config *cfg, struct lb_service_conf *svcs) {
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_SIZE(SPECS); i++) {
		struct lb_service_conf *sc = &svcs[i];
		memset(sc, 0, sizeof(*sc));
		sc->name = (char *)SPECS[i].name;
		sc->fwmark = SPECS[i].fwmark;
		if (SPECS[i].listen)
			assert_int_equal(lb_addr_parse(SPECS[i].listen, &sc->listen), 0);
		else
			sc->listen.af = AF_INET;
		snprintf(sc->announce_if, sizeof(sc->announce_if), "%s", SPECS[i].announce_if);
	}
	cfg->services = svcs;
	cfg->n_services = ARRAY_SIZE(SPECS);
}

struct serving_ud {
	const struct lb_config *cfg;
	const bool *up; /* per service */
};

static bool serving_from(void *ud, const struct lb_service_conf *sc) {
	const struct serving_ud *s = ud;
	return s->up[sc - s->cfg->services];
}

static void check_want(const struct lb_config *cfg, const bool *up, const char *expect) {
	struct serving_ud ud = {cfg, up};
	struct lb_vipset out = {0};
	char buf[256];
	set_of("eth9 192.0.2.1", &out); /* stale content: the want starts from empty */
	assert_int_equal(lb_announce_want(cfg, up ? serving_from : NULL, &ud, &out), 0);
	assert_string_equal(str_of(&out, buf, sizeof(buf)), expect);
	for (size_t i = 0; i < out.n; i++)
		assert_int_equal(out.v[i].addr.port, 0);
	lb_vipset_free(&out);
}

static void test_want(void **state) {
	(void)state;
	struct lb_config cfg;
	struct lb_service_conf svcs[ARRAY_SIZE(SPECS)];
	make_config(&cfg, svcs);
	/* web, web-tls, plain, mark, dns */
	static const bool all[] = {1, 1, 1, 1, 1}, web_only[] = {1, 0, 1, 1, 1},
			  tls_only[] = {0, 1, 1, 1, 1}, none_of_vip[] = {0, 0, 1, 1, 1},
			  none[] = {0, 0, 0, 0, 0};
	check_want(&cfg, all, "ezlb0 10.0.0.1, ezlb1 2001:db8::53");
	check_want(&cfg, web_only, "ezlb0 10.0.0.1, ezlb1 2001:db8::53");
	check_want(&cfg, tls_only, "ezlb0 10.0.0.1, ezlb1 2001:db8::53");
	check_want(&cfg, none_of_vip, "ezlb1 2001:db8::53");
	check_want(&cfg, none, "");
	check_want(&cfg, NULL, "ezlb0 10.0.0.1, ezlb1 2001:db8::53");
	struct lb_config empty = {0};
	check_want(&empty, NULL, "");
}

static void test_serving(void **state) {
	(void)state;
	struct lb_service s = {0};
	s.quorum = LB_QUORUM_NONE;
	s.n_up = 0;
	assert_false(lb_announce_serving(&s));
	s.n_up = 1;
	assert_true(lb_announce_serving(&s));
	s.quorum = LB_QUORUM_OK;
	s.n_up = 0;
	assert_true(lb_announce_serving(&s)); /* the quorum decides, e.g. min_up 0 */
	s.n_up = 1;
	assert_true(lb_announce_serving(&s));
	s.quorum = LB_QUORUM_LOST;
	assert_false(lb_announce_serving(&s)); /* lost, even with a backend up */
	s.n_up = 0;
	assert_false(lb_announce_serving(&s));
}

static void test_ifaces(void **state) {
	(void)state;
	struct lb_vipset want = {0}, owned = {0};
	char(*names)[LB_IFNAMSIZ] = NULL;
	assert_int_equal(lb_announce_ifaces(&want, &owned, &names), 0);
	assert_null(names);
	set_of("ezlb1 10.0.0.1, ezlb0 10.0.0.2, ezlb0 2001:db8::1", &want);
	set_of("ezlb2 10.0.0.3, ezlb0 10.0.0.4, ezlb1 10.0.0.1", &owned);
	assert_int_equal(lb_announce_ifaces(&want, &owned, &names), 3);
	assert_string_equal(names[0], "ezlb0");
	assert_string_equal(names[1], "ezlb1");
	assert_string_equal(names[2], "ezlb2");
	free(names);
	lb_vipset_clear(&want);
	assert_int_equal(lb_announce_ifaces(&want, &owned, &names), 3);
	free(names);
	lb_vipset_free(&want);
	lb_vipset_free(&owned);
}

static void test_vipset(void **state) {
	(void)state;
	struct lb_vipset s = {0}, t = {0};
	struct lb_vip a = vip("ezlb0 10.0.0.1"), b = vip("ezlb0 10.0.0.2");
	char buf[256];
	assert_int_equal(lb_vipset_add(&s, &b), 0);
	assert_int_equal(lb_vipset_add(&s, &a), 0);
	assert_int_equal(lb_vipset_add(&s, &a), 0); /* a duplicate: not added */
	assert_string_equal(str_of(&s, buf, sizeof(buf)), "ezlb0 10.0.0.1, ezlb0 10.0.0.2");
	a.addr.port = 80; /* a VIP is a host address: the port is not part of it */
	assert_true(lb_vipset_has(&s, &a));
	set_of("ezlb0 10.0.0.2, ezlb0 10.0.0.1", &t);
	assert_true(lb_vipset_equal(&s, &t));
	lb_vipset_remove(&s, &a);
	assert_false(lb_vipset_has(&s, &a));
	assert_false(lb_vipset_equal(&s, &t));
	lb_vipset_remove(&s, &a); /* absent: nothing */
	assert_int_equal(s.n, 1);
	lb_vipset_clear(&s);
	assert_int_equal(s.n, 0);
	assert_false(lb_vipset_has(&s, &b));
	lb_vipset_free(&s);
	lb_vipset_free(&t);
	assert_null(s.v);
}

static void test_fmt(void **state) {
	(void)state;
	struct lb_aop op = {LB_AOP_DEL, vip("ezlb0 2001:db8::1")};
	char buf[LB_AOP_STRLEN], small[8];
	assert_string_equal(lb_aop_fmt(&op, buf, sizeof(buf)), "- announce 2001:db8::1/128 on ezlb0");
	op = (struct lb_aop){LB_AOP_ADD, vip("abcdefghijklmno ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")};
	assert_string_equal(lb_aop_fmt(&op, buf, sizeof(buf)),
			    "+ announce ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 on abcdefghijklmno");
	assert_string_equal(lb_aop_fmt(&op, small, sizeof(small)), "+ annou"); /* truncated */
}

static void test_record_roundtrip(void **state) {
	(void)state;
	static const char *const lines[] = {
		"ezlb0 10.0.0.1", "ezlb0 2001:db8::1", "a 0.0.0.0", "abcdefghijklmno 192.0.2.255",
		"... 10.0.0.1", "dummy-vip.1 ::1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		struct lb_vip v;
		const char *why = NULL;
		char *out = NULL, expect[64];
		size_t len = 0;
		assert_int_equal(lb_vip_parse_line(lines[i], &v, &why), 0);
		assert_int_equal(v.addr.port, 0);
		FILE *f = open_memstream(&out, &len);
		assert_non_null(f);
		lb_vip_put_line(f, &v);
		fclose(f);
		snprintf(expect, sizeof(expect), "%s\n", lines[i]);
		assert_string_equal(out, expect);
		free(out);
	}
}

static void test_record_rejects(void **state) {
	(void)state;
	static const struct {
		const char *line, *why;
	} bad[] = {
		{"", "missing fields: want \"IFNAME ADDRESS\""},
		{"ezlb0", "missing fields: want \"IFNAME ADDRESS\""},
		{"ezlb0 ", "missing address"},
		{"ezlb0  10.0.0.1", "missing address"},
		{"ezlb0 10.0.0.1 extra", "extra fields after the address"},
		{"ezlb0 10.0.0.1 ", "extra fields after the address"},
		{"ezlb0 10.0.0.1\tx", "extra fields after the address"},
		{" 10.0.0.1", "not an interface name (empty, \".\", \"..\", or with '/', ':' or whitespace)"},
		{"abcdefghijklmnop 10.0.0.1", "interface name longer than 15 bytes"},
		{"ez/lb 10.0.0.1", "not an interface name (empty, \".\", \"..\", or with '/', ':' or whitespace)"},
		{"ezlb0:1 10.0.0.1", "not an interface name (empty, \".\", \"..\", or with '/', ':' or whitespace)"},
		{"ez\tlb 10.0.0.1", "not an interface name (empty, \".\", \"..\", or with '/', ':' or whitespace)"},
		{". 10.0.0.1", "not an interface name (empty, \".\", \"..\", or with '/', ':' or whitespace)"},
		{".. 10.0.0.1", "not an interface name (empty, \".\", \"..\", or with '/', ':' or whitespace)"},
		{"ezlb0 10.0.0.256", "bad address"},
		{"ezlb0 10.0.0.1/32", "bad address"},
		{"ezlb0 10.0.0.1:80", "bad address"},
		{"ezlb0 host", "bad address"},
		{"ezlb0 2001:db8::1::2", "bad address"},
		{"ezlb0 1111111111111111111111111111111111111111111111111111111111111111", "bad address"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct lb_vip v = vip("keep 192.0.2.1"), before = v;
		const char *why = NULL;
		print_message("line: \"%s\"\n", bad[i].line);
		assert_int_equal(lb_vip_parse_line(bad[i].line, &v, &why), -EBADMSG);
		assert_string_equal(why, bad[i].why);
		assert_int_equal(lb_vip_cmp(&v, &before), 0); /* untouched on error */
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_want),
		cmocka_unit_test(test_serving),
		cmocka_unit_test(test_ifaces),
		cmocka_unit_test(test_vipset),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
