/* Config + health -> desired table: every field mapped, down backends removed or quiesced. */
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "desired.h"

static struct lb_backend_conf backend(const char *addr, uint32_t weight) {
	struct lb_backend_conf b = {.weight = weight};
	assert_int_equal(lb_addr_parse(addr, &b.addr), 0);
	return b;
}

static struct lb_service_conf service(const char *name, const char *listen, enum lb_fwd fwd,
				      struct lb_backend_conf *be, size_t n) {
	struct lb_service_conf s = {.name = (char *)name, .protocol = IPPROTO_TCP, .forward = fwd,
				    .backends = be, .n_backends = n, .persist_netmask = 0xffffffff};
	strcpy(s.scheduler, "wrr");
	assert_int_equal(lb_addr_parse(listen, &s.listen), 0);
	return s;
}

/* Backends whose port is 9999 are down. */
static bool up_unless_9999(void *ud, const struct lb_service_conf *svc, const struct lb_backend_conf *be) {
	(*(int *)ud)++;
	return be->addr.port != 9999;
}

static void test_fields_and_order(void **state) {
	struct lb_backend_conf b1[] = {backend("192.168.1.12:80", 0), backend("192.168.1.10:80", 5)};
	struct lb_backend_conf b2[] = {backend("[2001:db8::2]:53", 1)};
	struct lb_service_conf s[] = {
		service("web", "10.0.0.2:80", LB_FWD_DR, b1, 2),
		service("dns", "10.0.0.1:53", LB_FWD_TUN, b2, 1), /* tun may mix families */
	};
	s[0].persist_timeout_s = 300;
	s[0].persist_netmask = htonl(0xffffff00);
	struct lb_config cfg = {.services = s, .n_services = 2};
	struct lb_table t = {0};
	assert_int_equal(lb_desired_build(&cfg, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 2);
	/* sorted by key: 10.0.0.1:53 first */
	assert_string_equal(t.svcs[0].name, "dns");
	assert_int_equal(t.svcs[0].flags, 0);
	assert_int_equal(t.svcs[0].timeout, 0);
	assert_int_equal(t.svcs[0].dests[0].fwd, IP_VS_CONN_F_TUNNEL);
	assert_int_equal(t.svcs[0].dests[0].addr.af, AF_INET6);
	const struct lb_service *web = &t.svcs[1];
	assert_string_equal(web->name, "web");
	assert_string_equal(web->sched, "wrr");
	assert_int_equal(web->key.proto, IPPROTO_TCP);
	assert_int_equal(web->flags, IP_VS_SVC_F_PERSISTENT);
	assert_int_equal(web->timeout, 300);
	assert_int_equal(web->netmask, htonl(0xffffff00));
	assert_int_equal(web->n_dests, 2);
	/* destinations sorted by address; weight 0 (quiesced by the admin) is kept */
	assert_int_equal(web->dests[0].addr.port, 80);
	assert_int_equal(web->dests[0].weight, 5);
	assert_int_equal(web->dests[1].weight, 0);
	assert_int_equal(web->dests[0].fwd, IP_VS_CONN_F_DROUTE);
	lb_table_clear(&t);
}

static void test_down_backends_removed_or_quiesced(void **state) {
	struct lb_backend_conf b[] = {backend("127.0.0.1:9999", 7), backend("127.0.0.2:80", 3)};
	struct lb_service_conf s[] = {service("rm", "10.0.0.1:80", LB_FWD_NAT, b, 2),
				      service("q", "10.0.0.2:80", LB_FWD_NAT, b, 2)};
	s[1].check.on_failure = LB_ON_FAILURE_QUIESCE;
	struct lb_config cfg = {.services = s, .n_services = 2};
	struct lb_table t = {0};
	int calls = 0;
	assert_int_equal(lb_desired_build(&cfg, up_unless_9999, &calls, &t), 0);
	assert_int_equal(calls, 4);
	/* remove: the down backend is not in the table */
	assert_int_equal(t.svcs[0].n_dests, 1);
	assert_int_equal(t.svcs[0].dests[0].addr.port, 80);
	assert_int_equal(t.svcs[0].dests[0].fwd, IP_VS_CONN_F_MASQ);
	/* quiesce: it stays with weight 0; the up one keeps its weight */
	assert_int_equal(t.svcs[1].n_dests, 2);
	assert_int_equal(t.svcs[1].dests[0].addr.port, 9999);
	assert_int_equal(t.svcs[1].dests[0].weight, 0);
	assert_int_equal(t.svcs[1].dests[1].weight, 3);
	lb_table_clear(&t);
}

static void test_add_one_service(void **state) {
	struct lb_backend_conf b[] = {backend("127.0.0.3:80", 1), backend("127.0.0.1:80", 2)};
	struct lb_service_conf s = service("one", "10.0.0.9:80", LB_FWD_NAT, b, 2);
	struct lb_table t = {0};
	assert_int_equal(lb_desired_add_service(&t, &s, NULL, NULL), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.svcs[0].n_dests, 2);
	assert_true(lb_addr_cmp(&t.svcs[0].dests[0].addr, &t.svcs[0].dests[1].addr) < 0);
	lb_table_clear(&t);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_and_order),
		cmocka_unit_test(test_down_backends_removed_or_quiesced),
		cmocka_unit_test(test_add_one_service),
	};
	return cmocka_run_group_tests_name("desired", tests, NULL, NULL);
}
