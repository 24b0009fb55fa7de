/* DNS check against a server on loopback, driven by the test from the health manager's own loop:
 * an answer -> up; RCODE != 0 -> down with its name; datagrams that are not the answer are
 * ignored; silence -> "timeout"; ICMP port unreachable -> "connection refused". */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "../../src/health/check.h"
#include "../../src/health/dns_msg.h"
#include "health_test.h"
#include "loop.h"

/* --- the server --- */

enum mode {
	ANSWER,           /* the answer, RCODE 0 */
	ANSWER_TC,        /* a bare header, TC set, RCODE 0 */
	NXDOMAIN,         /* the answer, RCODE 3 */
	WRONG_ID,         /* an answer with another id, then nothing */
	NOISE_THEN_ANSWER, /* a short datagram, a query, a wrong id, then the answer */
};

struct server {
	int fd;
	enum mode mode;
	int queries;
	uint8_t query[LB_DNS_QUERY_MAX];
	size_t query_len;
};

static void answer(int fd, const struct sockaddr_storage *to, socklen_t tl, const uint8_t *q,
		   size_t len, uint16_t id_xor, uint8_t flags_or, uint8_t rcode) {
	uint8_t a[LB_DNS_QUERY_MAX];
	memcpy(a, q, len); /* the question, echoed */
	a[0] ^= (uint8_t)(id_xor >> 8);
	a[1] ^= (uint8_t)id_xor;
	a[2] |= 0x80 | flags_or; /* QR */
	a[3] = 0x80 | rcode;     /* RA */
	assert_int_equal(sendto(fd, a, len, 0, (const struct sockaddr *)to, tl), (ssize_t)len);
}

static void on_query(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct server *s = ud;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, s->query, sizeof(s->query), 0, (struct sockaddr *)&from, &fl);
	if (n < LB_DNS_HEADER_LEN)
		return;
	s->queries++;
	s->query_len = (size_t)n;
	const uint8_t *q = s->query;
	switch (s->mode) {
	case ANSWER: answer(fd, &from, fl, q, (size_t)n, 0, 0, 0); break;
	case ANSWER_TC: answer(fd, &from, fl, q, LB_DNS_HEADER_LEN, 0, 0x02, 0); break;
	case NXDOMAIN: answer(fd, &from, fl, q, (size_t)n, 0, 0x04, 3); break;
	case WRONG_ID: answer(fd, &from, fl, q, (size_t)n, 0x0101, 0, 0); break;
	case NOISE_THEN_ANSWER:
		assert_int_equal(sendto(fd, q, 11, 0, (struct sockaddr *)&from, fl), 11);
		assert_int_equal(sendto(fd, q, (size_t)n, 0, (struct sockaddr *)&from, fl), n);
		answer(fd, &from, fl, q, (size_t)n, 0x8000, 0, 2);
		answer(fd, &from, fl, q, (size_t)n, 0, 0, 0);
		break;
	}
}

/* --- the manager --- */


/* name NULL and qtype 0: the defaults. */
static struct lb_check_conf dns_conf(uint32_t timeout_ms, bool initial_up, const char *name,
				     uint16_t qtype) {
	struct lb_check_conf c = check_conf(5000, timeout_ms, 1, 1, initial_up);
	c.type = LB_CHECK_DNS;
	c.dns.name = (char *)name;
	c.dns.qtype = qtype;
	return c;
}

static void run_new(struct run *r, const char *addr, struct lb_check_conf c) {
	memset(r, 0, sizeof(*r));
	const char *be[] = {addr};
	add_service(&r->cfg, "dns", IPPROTO_UDP, c, be, 1);
	assert_int_equal(lb_loop_new(&r->l), 0);
	assert_int_equal(lb_health_new(r->l, run_on_change, r, &r->h), 0);
}

static void run_start(struct run *r, const char *addr, struct lb_check_conf c) {
	run_new(r, addr, c);
	assert_int_equal(lb_health_sync(r->h, &r->cfg), 0);
	assert_true(lb_health_checked(&r->cfg.services[0]));
}


static enum lb_health state_of(struct run *r) {
	return lb_health_state(r->h, &r->cfg.services[0], &r->cfg.services[0].backends[0]);
}

/* One decisive round against a server in mode; returns the log (caller frees) and the time. */
static char *probe_server(struct server *s, enum mode mode, struct lb_check_conf c, struct run *r,
			  char *addr, size_t addr_len, usec_t *took) {
	*s = (struct server){.mode = mode};
	s->fd = udp_socket(AF_INET, addr, addr_len);
	assert_true(s->fd >= 0);
	run_start(r, addr, c);
	assert_int_equal(lb_loop_add_fd(r->l, s->fd, EPOLLIN, on_query, s), 0);
	char *log = run_round_log(r, took);
	assert_int_equal(lb_loop_del_fd(r->l, s->fd), 0);
	close(s->fd);
	return log;
}

static void test_dns_answer_is_up(void **state) {
	struct server s;
	struct run r;
	char addr[64], want[160];
	usec_t took;
	char *log = probe_server(&s, ANSWER, dns_conf(2000, false, "example.com", 1), &r, addr,
				 sizeof(addr), &took);
	snprintf(want, sizeof(want), "dns %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	assert_true(took < 1000 * USEC_PER_MSEC);
	assert_int_equal(state_of(&r), LB_HEALTH_UP);
	/* The query: RD, one question example.com A IN. */
	static const uint8_t question[] = {
		0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 1, 0, 1,
	};
	assert_int_equal(s.queries, 1);
	assert_int_equal(s.query_len, 2 + sizeof(question));
	assert_memory_equal(s.query + 2, question, sizeof(question));
	free(log);
	run_end(&r);
}

/* A zeroed dns conf asks for the root's SOA; a truncated answer (TC) is an answer. */
static void test_dns_defaults_and_tc_is_up(void **state) {
	struct server s;
	struct run r;
	char addr[64], want[160];
	usec_t took;
	char *log = probe_server(&s, ANSWER_TC, dns_conf(2000, false, NULL, 0), &r, addr,
				 sizeof(addr), &took);
	snprintf(want, sizeof(want), "dns %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	static const uint8_t question[] = {0, 0, 6, 0, 1};
	assert_int_equal(s.query_len, LB_DNS_HEADER_LEN + sizeof(question));
	assert_memory_equal(s.query + LB_DNS_HEADER_LEN, question, sizeof(question));
	free(log);
	run_end(&r);
}

static void test_dns_nxdomain_is_down(void **state) {
	struct server s;
	struct run r;
	char addr[64], want[160];
	usec_t took;
	char *log = probe_server(&s, NXDOMAIN, dns_conf(2000, true, "nx.example", 1), &r, addr,
				 sizeof(addr), &took);
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: DNS rcode 3 (NXDOMAIN))\n",
		 addr);
	assert_string_equal(log, want);
	assert_true(took < 1000 * USEC_PER_MSEC);
	assert_int_equal(r.changes, 1);
	assert_int_equal(state_of(&r), LB_HEALTH_DOWN);
	free(log);
	run_end(&r);
}

/* An answer with another id may be a stale one: ignored, and the deadline decides. */
static void test_dns_wrong_id_then_silence_times_out(void **state) {
	struct server s;
	struct run r;
	char addr[64], want[160];
	usec_t took;
	char *log = probe_server(&s, WRONG_ID, dns_conf(150, true, NULL, 0), &r, addr, sizeof(addr),
				 &took);
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: timeout)\n", addr);
	assert_string_equal(log, want);
	assert_true(took >= 150 * USEC_PER_MSEC);
	assert_int_equal(s.queries, 1);
	free(log);
	run_end(&r);
}

/* A short datagram, a query (QR clear), another id with SERVFAIL: none is the answer. */
static void test_dns_noise_ignored(void **state) {
	struct server s;
	struct run r;
	char addr[64], want[160];
	usec_t took;
	char *log = probe_server(&s, NOISE_THEN_ANSWER, dns_conf(2000, false, NULL, 0), &r, addr,
				 sizeof(addr), &took);
	snprintf(want, sizeof(want), "dns %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	assert_true(took < 1000 * USEC_PER_MSEC);
	free(log);
	run_end(&r);
}

static void check_refused(int af) {
	char addr[64], want[160];
	int fd = udp_socket(af, addr, sizeof(addr));
	if (fd < 0)
		skip();
	close(fd); /* nothing listens there now */
	struct run r;
	run_start(&r, addr, dns_conf(500, true, NULL, 0));
	usec_t took;
	char *log = run_round_log(&r, &took);
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	assert_true(took < 400 * USEC_PER_MSEC); /* the ICMP error, not the deadline */
	assert_int_equal(state_of(&r), LB_HEALTH_DOWN);
	free(log);
	run_end(&r);
}

static void test_dns_refused_v4(void **state) { check_refused(AF_INET); }
static void test_dns_refused_v6(void **state) { check_refused(AF_INET6); }

static void test_dns_no_fd_leak(void **state) {
	char addr[64];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	int before = count_fds();
	struct run r;
	run_start(&r, addr, dns_conf(1000, true, NULL, 0));
	assert_int_equal(lb_health_probe_all(r.h), 0);
	assert_int_equal(lb_loop_run_once(r.l, 0), 0);
	struct lb_health_stats st;
	lb_health_get_stats(r.h, &st);
	assert_int_equal(st.in_flight, 1); /* waiting for an answer that will not come */
	run_end(&r);                       /* freed mid-probe: its socket is closed */
	assert_int_equal(count_fds(), before);
	close(fd);
}

/* Answer the query waiting on fd (blocking) as mode says. */
static void serve_one(int fd, enum mode mode) {
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	struct server s = {.mode = mode};
	on_query(NULL, fd, EPOLLIN, &s);
	assert_int_equal(s.queries, 1);
}

/* Datagrams that came before the deadline but that the loop never read: expire judges them. */
static void check_late(enum mode mode, bool initial_up, const char *transition) {
	char addr[64], want[160];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	struct run r;
	run_new(&r, addr, dns_conf(50, initial_up, NULL, 0));
	spy_set(r.h, &lb_check_dns, true);
	assert_int_equal(lb_health_sync(r.h, &r.cfg), 0);
	assert_int_equal(lb_health_probe_all(r.h), 0);
	assert_non_null(spy.p);
	assert_true(spy.p->fd >= 0);
	serve_one(fd, mode);
	struct pollfd pfd = {.fd = spy.p->fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1); /* the answer is there, unread */
	usleep(60 * 1000);
	capture_start();
	lb_check_dns.expire(spy.p);
	char *log = capture_take();
	snprintf(want, sizeof(want), "dns %s %s\n", addr, transition);
	assert_string_equal(log, want);
	assert_int_equal(spy.p->fd, -1);
	assert_null(spy.p->run); /* nothing left of the probe (fd checked above) */
	free(log);
	close(fd);
	run_end(&r);
}

static void test_dns_late_checker_takes_waiting_answer(void **state) {
	check_late(NOISE_THEN_ANSWER, false, "down -> up (1 success)");
}
static void test_dns_late_checker_takes_waiting_rcode(void **state) {
	check_late(NXDOMAIN, true, "up -> down (1 failure: DNS rcode 3 (NXDOMAIN))");
}
static void test_dns_late_checker_stale_answer_is_timeout(void **state) {
	check_late(WRONG_ID, true, "up -> down (1 failure: timeout)");
}

/* Targets with the same settings are probed once: name and qtype tell them apart. */
static void test_dns_conf_cmp(void **state) {
	struct lb_check_conf root = dns_conf(100, true, ".", 6);
	struct lb_check_conf dflt = dns_conf(100, true, NULL, 0);
	struct lb_check_conf a = dns_conf(100, true, "example.com", 1);
	struct lb_check_conf aaaa = dns_conf(100, true, "example.com", 28);
	struct lb_check_conf other = dns_conf(100, true, "example.org", 1);
	assert_int_equal(lb_check_dns.conf_cmp(&root, &dflt), 0);
	assert_int_equal(lb_check_dns.conf_cmp(&a, &a), 0);
	assert_true(lb_check_dns.conf_cmp(&a, &aaaa) < 0);
	assert_true(lb_check_dns.conf_cmp(&aaaa, &a) > 0);
	assert_true(lb_check_dns.conf_cmp(&a, &other) < 0);
	assert_true(lb_check_dns.conf_cmp(&other, &a) > 0);
	assert_true(lb_check_dns.conf_cmp(&root, &a) != 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_answer_is_up),
		cmocka_unit_test(test_dns_defaults_and_tc_is_up),
		cmocka_unit_test(test_dns_nxdomain_is_down),
		cmocka_unit_test(test_dns_wrong_id_then_silence_times_out),
		cmocka_unit_test(test_dns_noise_ignored),
		cmocka_unit_test(test_dns_refused_v4),
		cmocka_unit_test(test_dns_refused_v6),
		cmocka_unit_test(test_dns_no_fd_leak),
		cmocka_unit_test(test_dns_late_checker_takes_waiting_answer),
		cmocka_unit_test(test_dns_late_checker_takes_waiting_rcode),
		cmocka_unit_test(test_dns_late_checker_stale_answer_is_timeout),
		cmocka_unit_test(test_dns_conf_cmp),
	};
	return cmocka_run_group_tests(tests, health_test_setup, NULL);
}
