/* lb_config_load: good fixtures decoded field by field, and file-level failures. The bad fixtures
 * with their exact messages are in test_config_errors.c. Run from the repository root. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/ip_vs.h>

#include "config.h"
#include "util.h"

#define FIX "tests/config/fixtures/"

static struct lb_config *load_ok(const char *path) {
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	int r = lb_config_load(path, &c, &d);
	for (size_t i = 0; i < d.n; i++)
		print_message("unexpected: %s\n", d.msgs[i]);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	assert_non_null(c);
	lb_diag_free(&d);
	return c;
}

static void assert_addr(const struct lb_addr *a, const char *want) {
	char buf[LB_ADDRSTRLEN];
	assert_string_equal(lb_addr_fmt(a, buf), want);
}

static void assert_backend(const struct lb_service_conf *s, size_t i, const char *addr, uint32_t w) {
	assert_true(i < s->n_backends);
	assert_addr(&s->backends[i].addr, addr);
	assert_int_equal(s->backends[i].weight, w);
}

static void assert_default_check(const struct lb_check_conf *k) {
	assert_true(k->enabled);
	assert_int_equal(k->interval_ms, 5000);
	assert_int_equal(k->timeout_ms, 3000);
	assert_int_equal(k->fail_count, 3);
	assert_int_equal(k->rise_count, 2);
	assert_true(k->initial_up);
	assert_int_equal(k->on_failure, LB_ON_FAILURE_REMOVE);
	assert_int_equal(k->type, LB_CHECK_AUTO);
	assert_int_equal(k->port, 0);
	assert_int_equal(k->fast_interval_ms, 1000);
	assert_null(k->http.path);
	assert_null(k->exec.argv);
}

/* Every kind's block, decoded; defaults where a block leaves keys out. */
static void test_check_kinds(void **state) {
	struct lb_config *c = load_ok(FIX "good_checks.yaml");
	assert_int_equal(c->max_exec_checks, 8);
	assert_int_equal(c->n_services, 7);
	const struct lb_check_conf *k = &c->services[0].check;
	assert_int_equal(k->type, LB_CHECK_HTTP);
	assert_int_equal(k->port, 8081);
	assert_int_equal(k->interval_ms, 2000);
	assert_int_equal(k->fast_interval_ms, 500);
	assert_string_equal(k->http.path, "/healthz?full=1");
	assert_string_equal(k->http.host, "www.example.com");
	assert_string_equal(k->http.expect, "ok");
	assert_int_equal(k->http.n_status, 3);
	assert_int_equal(k->http.status[0].lo, 200);
	assert_int_equal(k->http.status[0].hi, 299);
	assert_int_equal(k->http.status[1].lo, 301);
	assert_int_equal(k->http.status[1].hi, 301);
	assert_int_equal(k->http.status[2].lo, 404);
	assert_false(k->http.tls_verify);
	assert_null(k->http.ca_file);

	k = &c->services[1].check; /* https, defaults for path and status */
	assert_int_equal(k->type, LB_CHECK_HTTPS);
	assert_string_equal(k->http.path, "/");
	assert_null(k->http.host);
	assert_null(k->http.expect);
	assert_int_equal(k->http.n_status, 1);
	assert_int_equal(k->http.status[0].lo, 200);
	assert_int_equal(k->http.status[0].hi, 299);
	assert_true(k->http.tls_verify);
	assert_string_equal(k->http.ca_file, "/etc/ezlb/ca.pem");
	assert_int_equal(k->fast_interval_ms, 1000);

	k = &c->services[2].check; /* exec; fast_interval defaults to the shorter interval */
	assert_int_equal(k->type, LB_CHECK_EXEC);
	assert_int_equal(k->fast_interval_ms, 500);
	assert_int_equal(k->exec.argc, 3);
	assert_string_equal(k->exec.argv[0], "/usr/local/lib/ezlb/check-db");
	assert_string_equal(k->exec.argv[1], "--quick");
	assert_string_equal(k->exec.argv[2], "");
	assert_null(k->exec.argv[3]);

	k = &c->services[3].check;
	assert_int_equal(lb_check_type_of(k, c->services[3].protocol), LB_CHECK_DNS);
	assert_string_equal(k->dns.name, "example.com.");
	assert_int_equal(k->dns.qtype, 28);
	k = &c->services[4].check; /* dns defaults: the root's SOA */
	assert_string_equal(k->dns.name, ".");
	assert_int_equal(k->dns.qtype, 6);

	k = &c->services[5].check; /* udp by protocol, with a payload */
	assert_int_equal(k->type, LB_CHECK_AUTO);
	assert_int_equal(lb_check_type_of(k, IPPROTO_UDP), LB_CHECK_UDP);
	assert_int_equal(k->udp.send_len, 3);
	assert_memory_equal(k->udp.send, "\x00\xff\x0a", 3);
	assert_true(k->udp.has_expect);
	assert_int_equal(k->udp.expect_len, 4);
	assert_memory_equal(k->udp.expect, "pong", 4);

	k = &c->services[6].check;
	assert_int_equal(lb_check_type_of(k, IPPROTO_TCP), LB_CHECK_NONE);
	lb_config_free(c);
}

/* What an absent type means, and enabled: false over any type. */
static void test_check_type_of(void **state) {
	struct lb_check_conf k = {.enabled = true};
	assert_int_equal(lb_check_type_of(&k, IPPROTO_TCP), LB_CHECK_TCP);
	assert_int_equal(lb_check_type_of(&k, IPPROTO_UDP), LB_CHECK_UDP);
	assert_int_equal(lb_check_type_of(&k, IPPROTO_SCTP), LB_CHECK_NONE);
	k.type = LB_CHECK_EXEC;
	assert_int_equal(lb_check_type_of(&k, IPPROTO_SCTP), LB_CHECK_EXEC);
	k.enabled = false;
	assert_int_equal(lb_check_type_of(&k, IPPROTO_TCP), LB_CHECK_NONE);
	assert_string_equal(lb_check_type_name(LB_CHECK_HTTPS), "https");
}

static void test_full_web(void **state) {
	struct lb_config *c = load_ok(FIX "good_full.yaml");
	assert_string_equal(c->path, FIX "good_full.yaml");
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->resync_interval_ms, 90000);
	assert_int_equal(c->n_services, 5);
	const struct lb_service_conf *s = &c->services[0];
	assert_string_equal(s->name, "web-service");
	assert_addr(&s->listen, "10.0.0.1:80");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_string_equal(s->scheduler, "wrr");
	assert_int_equal(s->forward, LB_FWD_NAT);
	assert_int_equal(s->persist_timeout_s, 300);
	assert_int_equal(s->persist_netmask, htonl(0xffffff00));
	assert_true(s->check.enabled);
	assert_int_equal(s->check.interval_ms, 2000);
	assert_int_equal(s->check.timeout_ms, 500);
	assert_int_equal(s->check.fail_count, 4);
	assert_int_equal(s->check.rise_count, 1);
	assert_false(s->check.initial_up);
	assert_int_equal(s->check.on_failure, LB_ON_FAILURE_QUIESCE);
	assert_int_equal(s->n_backends, 3);
	assert_backend(s, 0, "192.168.1.10:8080", 5);
	assert_backend(s, 1, "192.168.1.11:8081", 0);
	assert_backend(s, 2, "192.168.1.12:8080", 1);
	lb_config_free(c);
}

static void test_full_v6_udp(void **state) {
	struct lb_config *c = load_ok(FIX "good_full.yaml");
	const struct lb_service_conf *s = &c->services[1];
	assert_string_equal(s->name, "dns6");
	assert_int_equal(s->listen.af, AF_INET6);
	assert_addr(&s->listen, "[2001:db8::53]:53");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_string_equal(s->scheduler, "sh");
	assert_int_equal(s->forward, LB_FWD_NAT);
	assert_int_equal(s->persist_timeout_s, 3600);
	assert_int_equal(s->persist_netmask, 64);
	/* enabled: false alone keeps every other default */
	assert_false(s->check.enabled);
	assert_int_equal(s->check.interval_ms, 5000);
	assert_int_equal(s->check.timeout_ms, 3000);
	assert_int_equal(s->n_backends, 1);
	assert_backend(s, 0, "[2001:db8:1::10]:5353", 65535);
	lb_config_free(c);
}

static void test_full_sctp_dr_tun_empty(void **state) {
	struct lb_config *c = load_ok(FIX "good_full.yaml");
	const struct lb_service_conf *s = &c->services[2];
	assert_string_equal(s->name, "sctp-dr");
	assert_int_equal(s->protocol, IPPROTO_SCTP);
	assert_string_equal(s->scheduler, "mh");
	assert_int_equal(s->forward, LB_FWD_DR);
	assert_int_equal(s->persist_timeout_s, 600);
	assert_int_equal(s->persist_netmask, htonl(0xffffffff)); /* default /32 */
	assert_default_check(&s->check);
	assert_backend(s, 0, "10.0.1.1:3868", 1);

	s = &c->services[3];
	assert_string_equal(s->name, "tun-mixed");
	assert_int_equal(s->forward, LB_FWD_TUN);
	assert_string_equal(s->scheduler, "wlc");
	assert_int_equal(s->persist_timeout_s, 60);
	assert_int_equal(s->persist_netmask, htonl(0xffffff00)); /* "24" on an IPv4 service */
	assert_int_equal(s->n_backends, 2);
	assert_backend(s, 0, "10.0.2.1:443", 1);
	assert_backend(s, 1, "[2001:db8:2::1]:443", 1); /* tun may mix families */

	/* same VIP as web-service, other protocol: allowed; no backends: allowed */
	s = &c->services[4];
	assert_string_equal(s->name, "empty");
	assert_addr(&s->listen, "10.0.0.1:80");
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->n_backends, 0);
	lb_config_free(c);
}

static void test_minimal_defaults(void **state) {
	struct lb_config *c = load_ok(FIX "good_minimal.yaml");
	assert_int_equal(c->log_level, -1);
	assert_int_equal(c->resync_interval_ms, 30000);
	assert_int_equal(c->n_services, 1);
	const struct lb_service_conf *s = &c->services[0];
	assert_string_equal(s->name, "a");
	assert_addr(&s->listen, "192.0.2.1:8080");
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_string_equal(s->scheduler, "wlc");
	assert_int_equal(s->forward, LB_FWD_NAT);
	assert_int_equal(s->persist_timeout_s, 0);
	assert_int_equal(s->persist_netmask, htonl(0xffffffff));
	assert_default_check(&s->check);
	assert_backend(s, 0, "198.51.100.1:80", 1);
	assert_int_equal(c->drain_timeout_ms, 60000);
	assert_int_equal(s->drain_timeout_ms, 60000);
	assert_false(s->quorum.enabled);
	assert_int_equal(lb_quorum_min_up(s), 0);
	assert_null(s->sorry);
	assert_int_equal(s->n_sorry, 0);
	lb_config_free(c);
}

static void assert_sorry(const struct lb_service_conf *s, size_t i, const char *addr, uint32_t w) {
	assert_true(i < s->n_sorry);
	assert_addr(&s->sorry[i].addr, addr);
	assert_int_equal(s->sorry[i].weight, w);
}

/* drain_timeout from global (written after the services), overridden, and 0s. */
static void test_drain_timeout(void **state) {
	struct lb_config *c = load_ok(FIX "good_drain_quorum.yaml");
	assert_int_equal(c->drain_timeout_ms, 5000);
	assert_int_equal(c->n_services, 7);
	assert_int_equal(c->services[0].drain_timeout_ms, 5000);
	assert_int_equal(c->services[1].drain_timeout_ms, 150000);
	assert_int_equal(c->services[2].drain_timeout_ms, 0);
	assert_int_equal(c->services[3].drain_timeout_ms, 5000);
	lb_config_free(c);
}

/* global.drain_timeout: 0s makes every service without its own delete at once; 24h is the cap. */
static void test_drain_global_zero(void **state) {
	char path[] = "/tmp/ezlb-test-drain-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char yaml[] = "global: {drain_timeout: 0s}\n"
				   "services:\n"
				   "  - {name: a, listen: 10.0.0.1:80}\n"
				   "  - {name: b, listen: 10.0.0.2:80, drain_timeout: 24h}\n";
	assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)(sizeof(yaml) - 1));
	close(fd);
	struct lb_config *c = load_ok(path);
	assert_int_equal(c->drain_timeout_ms, 0);
	assert_int_equal(c->services[0].drain_timeout_ms, 0);
	assert_int_equal(c->services[1].drain_timeout_ms, 24u * 3600 * 1000);
	lb_config_free(c);
	unlink(path);
}

/* The observability keys: all absent (no listener, no hooks), `metrics: {}` (default listen),
 * and every value given. */
static void test_observe(void **state) {
	struct lb_config *c = load_ok(FIX "good_minimal.yaml");
	assert_false(c->metrics);
	assert_addr(&c->metrics_listen, "127.0.0.1:9521");
	assert_null(c->notify_argv);
	assert_int_equal(c->notify_argc, 0);
	assert_int_equal(c->notify_timeout_ms, 10000);
	lb_config_free(c);

	c = load_ok(FIX "good_observe_defaults.yaml");
	assert_true(c->metrics);
	assert_addr(&c->metrics_listen, "127.0.0.1:9521");
	assert_int_equal(c->notify_argc, 1);
	assert_string_equal(c->notify_argv[0], "/bin/true");
	assert_null(c->notify_argv[1]);
	assert_int_equal(c->notify_timeout_ms, 10000);
	lb_config_free(c);

	c = load_ok(FIX "good_observe.yaml");
	assert_true(c->metrics);
	assert_addr(&c->metrics_listen, "[::1]:9100");
	static const char *const want[] = {"/usr/local/bin/ezlb-notify", "--flag", "a b", "5", "true",
					   "$HOME"};
	assert_int_equal(c->notify_argc, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(c->notify_argv[i], want[i]);
	assert_null(c->notify_argv[ARRAY_SIZE(want)]);
	assert_int_equal(c->notify_timeout_ms, 2500);
	lb_config_free(c);
}

/* yaml written to a temporary file and loaded: its only message, or NULL and *out when valid. */
static char *load_text(const char *yaml, struct lb_config **out) {
	char path[] = "/tmp/ezlb-test-observe-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	struct lb_diag d = {0};
	*out = NULL;
	int r = lb_config_load(path, out, &d);
	unlink(path);
	if (r == 0) {
		assert_int_equal(d.n, 0);
		return NULL;
	}
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.msgs[0], path, strlen(path));
	char *msg = strdup(d.msgs[0] + strlen(path));
	lb_diag_free(&d);
	return msg;
}

/* global.notify with n arguments, the first "/bin/x", the last arg_len bytes long. */
static char *notify_yaml(size_t n, size_t arg_len, const char *timeout) {
	size_t cap = 256 + n * 8 + arg_len;
	char *y = malloc(cap), *p = y;
	assert_non_null(y);
	p += sprintf(p, "global:\n  notify_timeout: %s\n  notify: [/bin/x", timeout);
	for (size_t i = 1; i + 1 < n; i++)
		p += sprintf(p, ", a");
	if (n > 1) {
		p += sprintf(p, ", ");
		memset(p, 'y', arg_len);
		p += arg_len;
	}
	sprintf(p, "]\nservices: []\n");
	return y;
}

/* The limits of notify and notify_timeout, on both sides. */
static void test_notify_limits(void **state) {
	struct lb_config *c;
	char *y = notify_yaml(64, 4096, "100ms");
	assert_null(load_text(y, &c));
	assert_int_equal(c->notify_argc, 64);
	assert_int_equal(strlen(c->notify_argv[63]), 4096);
	assert_int_equal(c->notify_timeout_ms, 100);
	lb_config_free(c);
	free(y);

	y = notify_yaml(2, 1, "10m");
	assert_null(load_text(y, &c));
	assert_int_equal(c->notify_timeout_ms, 600000);
	lb_config_free(c);
	free(y);

	y = notify_yaml(65, 1, "1s");
	char *m = load_text(y, &c);
	assert_null(c);
	assert_string_equal(m, ":3:11: global.notify: more than 64 arguments");
	free(m);
	free(y);

	y = notify_yaml(2, 4097, "1s");
	m = load_text(y, &c);
	assert_string_equal(m, ":3:20: global.notify[1]: an argument longer than 4096 bytes");
	free(m);
	free(y);

	y = notify_yaml(1, 0, "99ms");
	m = load_text(y, &c);
	assert_string_equal(m, ":2:19: global.notify_timeout: \"99ms\" is too short; the minimum is 100ms");
	free(m);
	free(y);

	y = notify_yaml(1, 0, "10m1ms");
	m = load_text(y, &c);
	assert_string_equal(m, ":2:19: global.notify_timeout: \"10m1ms\" is too long (at most 10m)");
	free(m);
	free(y);
}

/* The keys of the rest of the IPVS table left out: every new field is zero (the kernel's
 * defaults are left alone). */
static void test_ipvs_absent(void **state) {
	struct lb_config *c = load_ok(FIX "good_minimal.yaml");
	assert_int_equal(c->timeouts.tcp_s, 0);
	assert_int_equal(c->timeouts.tcp_fin_s, 0);
	assert_int_equal(c->timeouts.udp_s, 0);
	assert_false(c->sync.enabled);
	assert_string_equal(c->sync.ifname, "");
	assert_int_equal(c->sync.group.af, 0);
	const struct lb_service_conf *s = &c->services[0];
	assert_int_equal(s->fwmark, 0);
	assert_int_equal(s->svc_flags, 0);
	assert_int_equal(s->tunnel.type, 0);
	assert_int_equal(s->tunnel.port, 0);
	assert_int_equal(s->tunnel.flags, 0);
	assert_int_equal(s->backends[0].max_conns, 0);
	assert_int_equal(s->backends[0].min_conns, 0);
	lb_config_free(c);
}

static void assert_conns(const struct lb_backend_conf *be, uint32_t max, uint32_t min) {
	assert_int_equal(be->max_conns, max);
	assert_int_equal(be->min_conns, min);
}

/* services[].announce: the interface per service, "" without the key. */
static void test_announce(void **state) {
	struct lb_config *c = load_ok(FIX "good_announce.yaml");
	assert_int_equal(c->n_services, 4);
	assert_string_equal(c->services[0].announce_if, "ezlb0");
	assert_string_equal(c->services[1].announce_if, "ezlb0");
	assert_string_equal(c->services[2].announce_if, "lo-vips");
	assert_string_equal(c->services[3].announce_if, "");
	lb_config_free(c);
}

/* global.timeouts and global.sync with every key. */
static void test_ipvs_global(void **state) {
	struct lb_config *c = load_ok(FIX "good_ipvs.yaml");
	assert_int_equal(c->timeouts.tcp_s, 900);
	assert_int_equal(c->timeouts.tcp_fin_s, 120);
	assert_int_equal(c->timeouts.udp_s, 300);
	assert_true(c->sync.enabled);
	assert_string_equal(c->sync.ifname, "eth1");
	assert_int_equal(c->sync.id, 10);
	assert_int_equal(c->sync.role, LB_SYNC_MASTER);
	assert_int_equal(c->sync.group.af, AF_INET);
	assert_int_equal(c->sync.group.port, 0);
	char buf[LB_ADDRSTRLEN];
	assert_string_equal(lb_ip_fmt(c->sync.group.af, &c->sync.group.ip, buf), "224.0.0.81");
	assert_int_equal(c->sync.port, 8848);
	assert_int_equal(c->sync.ttl, 2);
	assert_int_equal(c->sync.max_len, 1472);
	lb_config_free(c);

	c = load_ok(FIX "good_ipvs_defaults.yaml");
	assert_int_equal(c->timeouts.tcp_s, 0);
	assert_int_equal(c->timeouts.tcp_fin_s, 0);
	assert_int_equal(c->timeouts.udp_s, 1);
	assert_true(c->sync.enabled);
	assert_string_equal(c->sync.ifname, "bond0.100");
	assert_int_equal(c->sync.id, 0);
	assert_int_equal(c->sync.role, LB_SYNC_BOTH);
	assert_int_equal(c->sync.group.af, 0);
	assert_int_equal(c->sync.port, 0);
	assert_int_equal(c->sync.ttl, 0);
	assert_int_equal(c->sync.max_len, 0);
	const struct lb_service_conf *s = &c->services[0]; /* fwmark, family left out: ipv4 */
	assert_int_equal(s->fwmark, 1);
	assert_int_equal(s->listen.af, AF_INET);
	lb_config_free(c);
}

/* fwmark services: the family alone in listen (address and port zero), each backend's own port. */
static void test_ipvs_fwmark(void **state) {
	struct lb_config *c = load_ok(FIX "good_ipvs.yaml");
	assert_int_equal(c->n_services, 7);
	const struct lb_service_conf *s = &c->services[0];
	static const struct lb_addr zero4 = {.af = AF_INET}, zero6 = {.af = AF_INET6};
	assert_string_equal(s->name, "marked");
	assert_int_equal(s->fwmark, 100);
	assert_memory_equal(&s->listen, &zero4, sizeof(zero4));
	assert_int_equal(s->protocol, IPPROTO_TCP);
	assert_int_equal(s->persist_netmask, htonl(0xffffffff));
	assert_int_equal(s->svc_flags, 0);
	assert_int_equal(s->n_backends, 2);
	assert_backend(s, 0, "10.1.0.10:80", 1);
	assert_conns(&s->backends[0], 500, 0);
	assert_backend(s, 1, "10.1.0.11:8080", 1);
	assert_conns(&s->backends[1], 500, 400);

	s = &c->services[1]; /* the same mark in the other family; dr keeps each backend's port */
	assert_int_equal(s->fwmark, 100);
	assert_memory_equal(&s->listen, &zero6, sizeof(zero6));
	assert_int_equal(s->protocol, IPPROTO_UDP);
	assert_int_equal(s->svc_flags, IP_VS_SVC_F_ONEPACKET);
	assert_int_equal(s->forward, LB_FWD_DR);
	assert_int_equal(s->persist_timeout_s, 60);
	assert_int_equal(s->persist_netmask, 128);
	assert_backend(s, 0, "[2001:db8::10]:53", 1);
	assert_backend(s, 1, "[2001:db8::11]:5353", 1);

	s = &c->services[6]; /* the largest mark; tun mixes families */
	assert_int_equal(s->fwmark, 4294967295u);
	assert_int_equal(s->listen.af, AF_INET);
	assert_int_equal(s->tunnel.type, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
	assert_int_equal(s->tunnel.port, 0);
	assert_int_equal(s->tunnel.flags, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);
	assert_backend(s, 0, "[2001:db8::20]:80", 1);
	lb_config_free(c);
}

/* scheduler_flags, one_packet and tunnel on address services; thresholds of sorry servers. */
static void test_ipvs_service_options(void **state) {
	struct lb_config *c = load_ok(FIX "good_ipvs.yaml");
	const struct lb_service_conf *s = &c->services[2];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->fwmark, 0);
	assert_addr(&s->listen, "10.0.0.1:80");
	assert_string_equal(s->scheduler, "mh");
	assert_int_equal(s->svc_flags, IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED1);
	assert_int_equal(s->forward, LB_FWD_TUN);
	assert_int_equal(s->tunnel.type, IP_VS_CONN_F_TUNNEL_TYPE_GUE);
	assert_int_equal(s->tunnel.port, 6080);
	assert_int_equal(s->tunnel.flags, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
	assert_backend(s, 0, "10.1.1.10:80", 1);
	assert_conns(&s->backends[0], 1000, 800);
	assert_conns(&s->backends[1], 0, 0);
	assert_int_equal(s->n_sorry, 1);
	assert_sorry(s, 0, "10.9.9.9:80", 1);
	assert_conns(&s->sorry[0], 10, 0);

	s = &c->services[3]; /* sh-fallback; one_packet: false sets nothing; gre with csum */
	assert_int_equal(s->svc_flags, IP_VS_SVC_F_SCHED_SH_FALLBACK);
	assert_int_equal(s->tunnel.type, IP_VS_CONN_F_TUNNEL_TYPE_GRE);
	assert_int_equal(s->tunnel.port, 0);
	assert_int_equal(s->tunnel.flags, IP_VS_TUNNEL_ENCAP_FLAG_CSUM);

	s = &c->services[4]; /* sh-port; tunnel: {} is ipip without checksum */
	assert_int_equal(s->svc_flags, IP_VS_SVC_F_SCHED_SH_PORT);
	assert_int_equal(s->tunnel.type, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
	assert_int_equal(s->tunnel.flags, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);

	s = &c->services[5]; /* scheduler_flags: [] */
	assert_int_equal(s->svc_flags, 0);
	assert_int_equal(s->tunnel.type, 0);
	lb_config_free(c);
}

/* The limits of the timeouts and of max_len, on the accepted side (the refused side is in
 * test_config_errors.c). */
static void test_ipvs_limits(void **state) {
	struct lb_config *c;
	assert_null(load_text("global:\n  timeouts: {tcp: 2073600s, tcp_fin: 576h, udp: 1s}\n"
			      "  sync: {interface: eth0, role: master, max_len: 1}\n"
			      "services: []\n", &c));
	assert_int_equal(c->timeouts.tcp_s, 2073600);
	assert_int_equal(c->timeouts.tcp_fin_s, 2073600);
	assert_int_equal(c->timeouts.udp_s, 1);
	assert_int_equal(c->sync.max_len, 1);
	lb_config_free(c);
	assert_null(load_text("global:\n  sync: {interface: abcdefghijklmno, id: 255, role: backup, "
			      "group: \"ff02::81\", port: 65535, ttl: 255, max_len: 65487}\n"
			      "services: []\n", &c));
	assert_string_equal(c->sync.ifname, "abcdefghijklmno");
	assert_int_equal(c->sync.id, 255);
	assert_int_equal(c->sync.role, LB_SYNC_BACKUP);
	assert_int_equal(c->sync.group.af, AF_INET6);
	assert_int_equal(c->sync.port, 65535);
	assert_int_equal(c->sync.ttl, 255);
	assert_int_equal(c->sync.max_len, 65487);
	lb_config_free(c);
	assert_null(load_text("global:\n  sync: {interface: eth0, max_len: 1024}\nservices:\n"
			      "  - {name: a, fwmark: 1, backends: [{address: 10.0.0.1:80, "
			      "max_conns: 2147483647, min_conns: 2147483646}]}\n", &c));
	assert_int_equal(c->sync.max_len, 1024);
	assert_conns(&c->services[0].backends[0], 2147483647u, 2147483646u);
	lb_config_free(c);
	char *m = load_text("global:\n  sync: {interface: eth0, role: backup, max_len: 1023}\n"
			    "services: []\n", &c);
	assert_string_equal(m, ":2:50: global.sync.max_len: \"1023\" is out of range 1024..65507: the "
			       "kernel would raise a backup's message size to 1024 (role backup)");
	free(m);
}

/* quorum as a count and as a share, on_loss defaults, and sorry servers with and without a
 * quorum block. */
static void test_quorum_and_sorry(void **state) {
	struct lb_config *c = load_ok(FIX "good_drain_quorum.yaml");
	const struct lb_service_conf *s = &c->services[0]; /* no quorum, no sorry servers */
	assert_false(s->quorum.enabled);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_FAIL_OPEN);
	assert_int_equal(s->n_sorry, 0);

	s = &c->services[1]; /* count; on_loss sorry because of sorry_servers */
	assert_true(s->quorum.enabled);
	assert_false(s->quorum.pct);
	assert_int_equal(s->quorum.min_up, 2);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_SORRY);
	assert_int_equal(lb_quorum_min_up(s), 2);
	assert_int_equal(s->n_sorry, 2);
	assert_sorry(s, 0, "10.0.9.9:8080", 7);
	assert_sorry(s, 1, "10.0.2.1:80", 1); /* default weight; a backend's address */
	assert_int_equal(s->n_backends, 3);

	s = &c->services[2]; /* 50% of 3, rounded up; no sorry servers: fail_open */
	assert_true(s->quorum.enabled);
	assert_true(s->quorum.pct);
	assert_int_equal(s->quorum.min_up, 50);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_FAIL_OPEN);
	assert_int_equal(lb_quorum_min_up(s), 2);
	assert_null(s->sorry);

	s = &c->services[3]; /* sorry_servers alone: keepalived's sorry_server */
	assert_true(s->quorum.enabled);
	assert_false(s->quorum.pct);
	assert_int_equal(s->quorum.min_up, 1);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_SORRY);
	assert_sorry(s, 0, "[2001:db8:9::9]:443", 1);

	s = &c->services[4]; /* 34% of 3 is 1.02: 2 */
	assert_true(s->quorum.pct);
	assert_int_equal(s->quorum.min_up, 34);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_EMPTY);
	assert_int_equal(lb_quorum_min_up(s), 2);

	s = &c->services[5]; /* sorry servers and no backends */
	assert_int_equal(s->n_backends, 0);
	assert_true(s->quorum.enabled);
	assert_int_equal(lb_quorum_min_up(s), 1);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_SORRY);

	s = &c->services[6]; /* a share of no backends */
	assert_int_equal(s->n_backends, 0);
	assert_int_equal(s->quorum.on_loss, LB_ON_LOSS_FAIL_OPEN);
	assert_int_equal(lb_quorum_min_up(s), 1);
	lb_config_free(c);
}

/* lb_quorum_min_up on its own: counts as they are, shares rounded up, off means no minimum. */
static void test_quorum_min_up(void **state) {
	struct lb_backend_conf be[10] = {0};
	struct lb_service_conf s = {.backends = be, .n_backends = 3,
				    .quorum = {.enabled = true, .min_up = 3}};
	assert_int_equal(lb_quorum_min_up(&s), 3);
	s.quorum.pct = true;
	s.quorum.min_up = 50;
	assert_int_equal(lb_quorum_min_up(&s), 2); /* 1.5 */
	s.quorum.min_up = 33;
	assert_int_equal(lb_quorum_min_up(&s), 1); /* 0.99 */
	s.quorum.min_up = 34;
	assert_int_equal(lb_quorum_min_up(&s), 2); /* 1.02 */
	s.quorum.min_up = 100;
	assert_int_equal(lb_quorum_min_up(&s), 3);
	s.quorum.min_up = 1;
	assert_int_equal(lb_quorum_min_up(&s), 1); /* 0.03 */
	s.n_backends = 10;
	s.quorum.min_up = 50;
	assert_int_equal(lb_quorum_min_up(&s), 5); /* exact */
	s.quorum.min_up = 51;
	assert_int_equal(lb_quorum_min_up(&s), 6);
	s.n_backends = 0;
	assert_int_equal(lb_quorum_min_up(&s), 1); /* a share of nothing is still one */
	s.quorum.enabled = false;
	assert_int_equal(lb_quorum_min_up(&s), 0);
}

static void test_empty_services(void **state) {
	struct lb_config *c = load_ok(FIX "good_empty_services.yaml");
	assert_int_equal(c->n_services, 0);
	assert_int_equal(c->log_level, -1);
	lb_config_free(c);
}

/* Flow style, and keys in any order and quoted. */
static void test_flow_style(void **state) {
	struct lb_config *c = load_ok(FIX "good_flow.yaml");
	assert_int_equal(c->log_level, LOG_WARNING);
	assert_int_equal(c->n_services, 2);
	assert_string_equal(c->services[0].name, "a");
	assert_addr(&c->services[0].listen, "10.0.0.1:80");
	assert_backend(&c->services[0], 0, "10.0.1.1:80", 1);
	assert_string_equal(c->services[1].name, "b");
	assert_addr(&c->services[1].listen, "10.0.0.2:80");
	assert_int_equal(c->services[1].n_backends, 0);
	lb_config_free(c);
}

static void test_example_is_valid(void **state) {
	struct lb_config *c = load_ok("examples/ezlb.yaml");
	assert_int_equal(c->n_services, 2);
	assert_string_equal(c->services[0].name, "web-service");
	assert_int_equal(c->services[0].n_backends, 3);
	assert_int_equal(c->services[1].listen.af, AF_INET6);
	assert_int_equal(c->services[1].persist_netmask, 128); /* no persistence: default /128 */
	lb_config_free(c);
	c = load_ok("examples/health-checks.yaml");
	assert_int_equal(c->n_services, 6);
	static const enum lb_check_type kinds[] = {LB_CHECK_HTTP, LB_CHECK_HTTPS, LB_CHECK_EXEC,
						   LB_CHECK_DNS, LB_CHECK_UDP, LB_CHECK_NONE};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(lb_check_type_of(&c->services[i].check, c->services[i].protocol),
				 kinds[i]);
	lb_config_free(c);
	c = load_ok("examples/drain-quorum.yaml");
	assert_int_equal(c->drain_timeout_ms, 30000);
	assert_true(c->services[0].quorum.enabled);
	assert_true(c->services[0].n_sorry > 0);
	lb_config_free(c);
	c = load_ok("examples/ipvs-table.yaml"); /* every key of the rest of the IPVS table */
	assert_true(c->timeouts.tcp_s > 0);
	assert_true(c->sync.enabled);
	bool fwmark = false, flags = false, tunnel = false, conns = false;
	for (size_t i = 0; i < c->n_services; i++) {
		const struct lb_service_conf *s = &c->services[i];
		fwmark |= s->fwmark != 0;
		flags |= s->svc_flags != 0;
		tunnel |= s->tunnel.type != IP_VS_CONN_F_TUNNEL_TYPE_IPIP;
		for (size_t j = 0; j < s->n_backends; j++)
			conns |= s->backends[j].min_conns != 0;
	}
	assert_true(fwmark && flags && tunnel && conns);
	lb_config_free(c);
}

/* Every example, including ones added later, is a valid configuration. */
static void test_every_example_loads(void **state) {
	DIR *dir = opendir("examples");
	assert_non_null(dir);
	size_t seen = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "examples/%s", e->d_name);
		lb_config_free(load_ok(path));
		seen++;
	}
	closedir(dir);
	assert_true(seen >= 3);
}

/* One failing load: the return value and the only message. */
static void assert_load_fails(const char *path, int err, const char *msg) {
	struct lb_config *c = (struct lb_config *)0x1;
	struct lb_diag d = {0};
	assert_int_equal(lb_config_load(path, &c, &d), err);
	assert_null(c);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], msg);
	lb_diag_free(&d);
	assert_null(d.msgs);
	assert_int_equal(d.n, 0);
}

static void test_missing_file(void **state) {
	assert_load_fails(FIX "no-such-file.yaml", -ENOENT,
			  FIX "no-such-file.yaml: cannot open: No such file or directory");
}

static void test_directory(void **state) {
	assert_load_fails("tests/config/fixtures", -EISDIR,
			  "tests/config/fixtures: is a directory, not a configuration file");
}

/* The load in a child, as an unprivileged user if as_nobody (root reads anything), with a 3 s
 * alarm: 0 when it failed with want_err and exactly the message `want`, else a code saying what
 * differed (128 + the signal if it was killed, e.g. by the alarm of a load that blocked). */
static int load_in_child(const char *path, int want_err, const char *want, bool as_nobody) {
	pid_t pid = fork();
	if (pid == 0) {
		alarm(3);
		if (as_nobody && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
			_exit(10);
		struct lb_config *c = NULL;
		struct lb_diag d = {0};
		int r = lb_config_load(path, &c, &d);
		_exit(r != want_err ? 11 : c ? 12 : d.n != 1 ? 13 : strcmp(d.msgs[0], want) ? 14 : 0);
	}
	int st = -1;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A FIFO or a device as the config is refused at once, by name, never waited on: the load runs
 * in a child with an alarm (load_in_child), so a load that blocks fails the test instead of
 * hanging it. */
static void test_fifo_and_device(void **state) {
	char path[] = "/tmp/ezlb-test-fifo-XXXXXX", want[256];
	assert_non_null(mkdtemp(path));
	char fifo[sizeof(path) + 16];
	snprintf(fifo, sizeof(fifo), "%s/ezlb.yaml", path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(want, sizeof(want), "%s: is a FIFO, not a regular file: refused", fifo);
	assert_int_equal(load_in_child(fifo, -EINVAL, want, false), 0);
	assert_int_equal(load_in_child("/dev/null", -EINVAL, "/dev/null: is a character device, not "
				       "a regular file: refused", false), 0);
	unlink(fifo);
	rmdir(path);
}

static void test_huge_file(void **state) {
	char path[] = "/tmp/ezlb-test-huge-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	/* sparse: 16 MiB + 1 byte of zeros costs no disk, and must be refused before it is read */
	assert_int_equal(ftruncate(fd, (16 << 20) + 1), 0);
	close(fd);
	char want[256];
	snprintf(want, sizeof(want), "%s: file too large (16777217 bytes; the limit is 16 MiB)", path);
	assert_load_fails(path, -EFBIG, want);
	unlink(path);
}

static void test_unreadable(void **state) {
	char path[] = "/tmp/ezlb-test-unreadable-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0), 0);
	char want[256];
	snprintf(want, sizeof(want), "%s: cannot open: Permission denied", path);
	if (geteuid() == 0)
		assert_int_equal(load_in_child(path, -EACCES, want, true), 0);
	else
		assert_load_fails(path, -EACCES, want);
	unlink(path);
}

static void test_empty_file(void **state) {
	assert_load_fails(FIX "bad_empty.yaml", -EINVAL,
			  FIX "bad_empty.yaml: empty configuration; write \"services: []\" to run with no "
			      "services");
}

/* Messages are appended to what the caller's diag already holds. */
static void test_diag_appends(void **state) {
	struct lb_config *c;
	struct lb_diag d = {0};
	assert_int_equal(lb_config_load(FIX "bad_empty.yaml", &c, &d), -EINVAL);
	assert_int_equal(lb_config_load(FIX "bad_top_sequence.yaml", &c, &d), -EINVAL);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.msgs[1], FIX "bad_top_sequence.yaml:1:1: (top level): expected a "
					   "mapping, got a sequence");
	lb_diag_free(&d);
	lb_diag_free(&d); /* idempotent */
}

static void test_names(void **state) {
	assert_string_equal(lb_fwd_name(LB_FWD_NAT), "nat");
	assert_string_equal(lb_fwd_name(LB_FWD_DR), "dr");
	assert_string_equal(lb_fwd_name(LB_FWD_TUN), "tun");
	lb_config_free(NULL);
	lb_diag_free(NULL);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_web),
		cmocka_unit_test(test_check_kinds),
		cmocka_unit_test(test_check_type_of),
		cmocka_unit_test(test_full_v6_udp),
		cmocka_unit_test(test_full_sctp_dr_tun_empty),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_empty_services),
		cmocka_unit_test(test_flow_style),
		cmocka_unit_test(test_example_is_valid),
		cmocka_unit_test(test_every_example_loads),
		cmocka_unit_test(test_drain_timeout),
		cmocka_unit_test(test_drain_global_zero),
		cmocka_unit_test(test_quorum_and_sorry),
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_notify_limits),
		cmocka_unit_test(test_ipvs_absent),
		cmocka_unit_test(test_ipvs_global),
		cmocka_unit_test(test_ipvs_fwmark),
		cmocka_unit_test(test_ipvs_service_options),
		cmocka_unit_test(test_ipvs_limits),
		cmocka_unit_test(test_quorum_min_up),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_huge_file),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_fifo_and_device),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_diag_appends),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_announce),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
