/* UDP check against loopback: ICMP port unreachable -> down ("connection refused"); a reply ->
 * up at once; silence -> up at the deadline. With udp.send and udp.expect: the payload is sent as
 * is, a reply starting with the expected bytes -> up, another reply -> down, silence -> down. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "../../src/health/check.h"
#include "health_test.h"
#include "loop.h"


static void run_start_udp(struct run *r, const char *addr, bool initial_up, uint32_t timeout_ms,
			  struct lb_check_udp udp) {
	memset(r, 0, sizeof(*r));
	const char *be[] = {addr};
	struct lb_check_conf c = check_conf(5000, timeout_ms, 1, 1, initial_up);
	c.udp = udp;
	add_service(&r->cfg, "dns", IPPROTO_UDP, c, be, 1);
	assert_int_equal(lb_loop_new(&r->l), 0);
	assert_int_equal(lb_health_new(r->l, run_on_change, r, &r->h), 0);
	assert_int_equal(lb_health_sync(r->h, &r->cfg), 0);
	assert_true(lb_health_checked(&r->cfg.services[0]));
}

static void run_start(struct run *r, const char *addr, bool initial_up, uint32_t timeout_ms) {
	run_start_udp(r, addr, initial_up, timeout_ms, (struct lb_check_udp){0});
}


static void check_refused(int af) {
	char addr[64], want[160];
	int fd = udp_socket(af, addr, sizeof(addr));
	if (fd < 0)
		skip();
	close(fd); /* nothing listens there now */
	struct run r;
	run_start(&r, addr, true, 500);
	usec_t took;
	char *log = run_round_log(&r, &took);
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	assert_true(took < 400 * USEC_PER_MSEC); /* the ICMP error, not the deadline */
	assert_int_equal(r.changes, 1);
	assert_int_equal(lb_health_state(r.h, &r.cfg.services[0], &r.cfg.services[0].backends[0]),
			 LB_HEALTH_DOWN);
	free(log);
	run_end(&r);
}

static void test_udp_refused_v4(void **state) { check_refused(AF_INET); }
static void test_udp_refused_v6(void **state) { check_refused(AF_INET6); }

/* Silence until the deadline: nothing says it is down. */
static void test_udp_silent_is_up_at_deadline(void **state) {
	char addr[64], want[160];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	struct run r;
	run_start(&r, addr, false, 100);
	usec_t took;
	char *log = run_round_log(&r, &took);
	snprintf(want, sizeof(want), "dns %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	assert_true(took >= 100 * USEC_PER_MSEC);
	char buf[8];
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0); /* the empty probe datagram arrived */
	close(fd);
	free(log);
	run_end(&r);
}

/* A reply ends the probe at once. */
static void on_request(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char buf[8];
	if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) >= 0)
		assert_int_equal(sendto(fd, "ok", 2, 0, (struct sockaddr *)&from, fl), 2);
}

static void test_udp_reply_is_up_at_once(void **state) {
	char addr[64], want[160];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	struct run r;
	run_start(&r, addr, false, 2000);
	assert_int_equal(lb_loop_add_fd(r.l, fd, EPOLLIN, on_request, NULL), 0);
	usec_t took;
	char *log = run_round_log(&r, &took);
	snprintf(want, sizeof(want), "dns %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	assert_true(took < 1000 * USEC_PER_MSEC);
	assert_int_equal(lb_loop_del_fd(r.l, fd), 0);
	close(fd);
	free(log);
	run_end(&r);
}

static void test_udp_no_fd_leak(void **state) {
	char addr[64];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	int before = count_fds();
	struct run r;
	run_start(&r, addr, true, 1000);
	assert_int_equal(lb_health_probe_all(r.h), 0);
	assert_int_equal(lb_loop_run_once(r.l, 0), 0);
	struct lb_health_stats st;
	lb_health_get_stats(r.h, &st);
	assert_int_equal(st.in_flight, 1); /* waiting for an ICMP error that will not come */
	run_end(&r);                       /* freed mid-probe: its socket is closed */
	assert_int_equal(count_fds(), before);
	close(fd);
}

/* The port refused (ICMP queued on the socket) before the deadline, but the loop never got to
 * read it: at the deadline the refusal counts, not the silence. */
static void test_udp_late_checker_takes_waiting_refusal(void **state) {
	char addr[64], want[160];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	close(fd);
	struct run r;
	memset(&r, 0, sizeof(r));
	const char *be[] = {addr};
	add_service(&r.cfg, "dns", IPPROTO_UDP, check_conf(5000, 50, 1, 1, true), be, 1);
	assert_int_equal(lb_loop_new(&r.l), 0);
	assert_int_equal(lb_health_new(r.l, run_on_change, &r, &r.h), 0);
	spy_set(r.h, &lb_check_udp, true);
	assert_int_equal(lb_health_sync(r.h, &r.cfg), 0);
	assert_int_equal(lb_health_probe_all(r.h), 0);
	assert_non_null(spy.p);
	struct pollfd pfd = {.fd = spy.p->fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1); /* the error is there, unread */
	assert_true(pfd.revents & POLLERR);
	usleep(60 * 1000);
	capture_start();
	lb_check_udp.expire(spy.p);
	char *log = capture_take();
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	assert_int_equal(r.changes, 1);
	free(log);
	run_end(&r);
}

/* --- udp.send and udp.expect --- */

/* A server that records the request and answers with reply (NULL: stays silent). */
struct server {
	const uint8_t *reply;
	size_t reply_len;
	uint8_t got[512];
	ssize_t got_len;
	int requests;
};

static void on_request_reply(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct server *s = ud;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	s->got_len = recvfrom(fd, s->got, sizeof(s->got), 0, (struct sockaddr *)&from, &fl);
	if (s->got_len < 0)
		return;
	s->requests++;
	if (s->reply)
		assert_int_equal(
			sendto(fd, s->reply, s->reply_len, 0, (struct sockaddr *)&from, fl),
			(ssize_t)s->reply_len);
}

/* One decisive round with these udp settings against s; returns "up" or the failure reason
 * (caller frees) and how long the round took. */
static char *probe_udp(struct lb_check_udp u, struct server *s, uint32_t timeout_ms, usec_t *took) {
	char addr[64], prefix[160];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	struct run r;
	run_start_udp(&r, addr, true, timeout_ms, u);
	assert_int_equal(lb_loop_add_fd(r.l, fd, EPOLLIN, on_request_reply, s), 0);
	char *log = run_round_log(&r, took);
	assert_int_equal(s->requests, 1);
	assert_int_equal(lb_loop_del_fd(r.l, fd), 0);
	close(fd);
	bool up = lb_health_state(r.h, &r.cfg.services[0], &r.cfg.services[0].backends[0]) ==
		  LB_HEALTH_UP;
	run_end(&r);
	if (up) {
		assert_string_equal(log, "");
		free(log);
		return strdup("up");
	}
	/* "dns ADDR up -> down (1 failure: REASON)\n" -> "REASON" */
	int n = snprintf(prefix, sizeof(prefix), "dns %s up -> down (1 failure: ", addr);
	assert_int_equal(strncmp(log, prefix, (size_t)n), 0);
	size_t len = strlen(log);
	assert_true(len >= (size_t)n + 2 && strcmp(log + len - 2, ")\n") == 0);
	log[len - 2] = '\0';
	char *reason = strdup(log + n);
	free(log);
	return reason;
}

/* Binary, with NUL bytes. */
static const uint8_t ping[] = {'P', 'I', 'N', 'G', 0, 1, 0};
static const uint8_t pong[] = {'P', 'O', 0, 'N', 'G'};

static struct lb_check_udp send_expect(const uint8_t *expect, size_t expect_len) {
	return (struct lb_check_udp){.send = (uint8_t *)ping, .send_len = sizeof(ping),
				     .expect = (uint8_t *)expect, .expect_len = expect_len,
				     .has_expect = true};
}

struct reply_case {
	const char *desc;
	const uint8_t *reply;
	size_t reply_len;
	const char *want; /* "up" or the reason */
};

#define LACKS "reply lacks expected prefix"
static const struct reply_case reply_cases[] = {
	{"exact", (const uint8_t *)"PO\0NG", 5, "up"},
	{"longer", (const uint8_t *)"PO\0NG and more\0", 16, "up"},
	{"differs after the NUL", (const uint8_t *)"PO\0NX", 5, LACKS},
	{"differs at the first byte", (const uint8_t *)"XO\0NG", 5, LACKS},
	{"stops at the NUL", (const uint8_t *)"PO", 3, LACKS},
	{"shorter", (const uint8_t *)"PO\0N", 4, LACKS},
	{"empty", (const uint8_t *)"", 0, LACKS},
};

static void test_udp_expect_replies(void **state) {
	for (size_t i = 0; i < ARRAY_SIZE(reply_cases); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct server s = {.reply = c->reply, .reply_len = c->reply_len};
		usec_t took;
		char *got = probe_udp(send_expect(pong, sizeof(pong)), &s, 2000, &took);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s: %s, want %s", c->desc, got, c->want);
		assert_true(took < 1000 * USEC_PER_MSEC); /* the reply decides, not the deadline */
		/* The payload arrived as is, NUL bytes and all. */
		assert_int_equal(s.got_len, sizeof(ping));
		assert_memory_equal(s.got, ping, sizeof(ping));
		free(got);
	}
}

/* With expect, silence is a failure. */
static void test_udp_expect_silence_is_down(void **state) {
	struct server s = {0};
	usec_t took;
	char *got = probe_udp(send_expect(pong, sizeof(pong)), &s, 100, &took);
	assert_string_equal(got, "timeout (no reply)");
	assert_true(took >= 100 * USEC_PER_MSEC);
	free(got);
}

/* Without expect, a payload changes nothing else: silence is still up. */
static void test_udp_send_silence_is_up(void **state) {
	struct server s = {0};
	usec_t took;
	struct lb_check_udp u = {.send = (uint8_t *)ping, .send_len = sizeof(ping)};
	char *got = probe_udp(u, &s, 100, &took);
	assert_string_equal(got, "up");
	assert_true(took >= 100 * USEC_PER_MSEC);
	assert_int_equal(s.got_len, sizeof(ping));
	assert_memory_equal(s.got, ping, sizeof(ping));
	free(got);
}

/* An empty expect: any reply, even an empty datagram, is up; silence is not. */
static void test_udp_empty_expect(void **state) {
	struct server s = {.reply = (const uint8_t *)"", .reply_len = 0};
	usec_t took;
	char *got = probe_udp(send_expect(NULL, 0), &s, 2000, &took);
	assert_string_equal(got, "up");
	assert_true(took < 1000 * USEC_PER_MSEC);
	free(got);
	s = (struct server){0};
	got = probe_udp(send_expect(NULL, 0), &s, 100, &took);
	assert_string_equal(got, "timeout (no reply)");
	free(got);
}

/* An expect longer than the check's stack buffer. */
static void test_udp_long_expect(void **state) {
	uint8_t expect[300], reply[400];
	for (size_t i = 0; i < sizeof(reply); i++)
		reply[i] = (uint8_t)(i * 7);
	memcpy(expect, reply, sizeof(expect));
	struct server s = {.reply = reply, .reply_len = sizeof(reply)};
	usec_t took;
	char *got = probe_udp(send_expect(expect, sizeof(expect)), &s, 2000, &took);
	assert_string_equal(got, "up");
	free(got);
	expect[sizeof(expect) - 1] ^= 1; /* the last expected byte differs */
	s = (struct server){.reply = reply, .reply_len = sizeof(reply)};
	got = probe_udp(send_expect(expect, sizeof(expect)), &s, 2000, &took);
	assert_string_equal(got, LACKS);
	free(got);
}

static void test_udp_expect_refused(void **state) {
	char addr[64], want[160];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	close(fd);
	struct run r;
	run_start_udp(&r, addr, true, 500, send_expect(pong, sizeof(pong)));
	usec_t took;
	char *log = run_round_log(&r, &took);
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	free(log);
	run_end(&r);
}

/* A reply that came in time but that the loop never read: expire judges it. */
static void check_late_reply(const uint8_t *reply, size_t reply_len, bool initial_up,
			     const char *transition) {
	char addr[64], want[200];
	int fd = udp_socket(AF_INET, addr, sizeof(addr));
	assert_true(fd >= 0);
	struct run r;
	memset(&r, 0, sizeof(r));
	const char *be[] = {addr};
	struct lb_check_conf c = check_conf(5000, 50, 1, 1, initial_up);
	c.udp = send_expect(pong, sizeof(pong));
	add_service(&r.cfg, "dns", IPPROTO_UDP, c, be, 1);
	assert_int_equal(lb_loop_new(&r.l), 0);
	assert_int_equal(lb_health_new(r.l, run_on_change, &r, &r.h), 0);
	spy_set(r.h, &lb_check_udp, true);
	assert_int_equal(lb_health_sync(r.h, &r.cfg), 0);
	assert_int_equal(lb_health_probe_all(r.h), 0);
	assert_non_null(spy.p);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	struct server s = {.reply = reply, .reply_len = reply_len};
	on_request_reply(NULL, fd, EPOLLIN, &s);
	pfd = (struct pollfd){.fd = spy.p->fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1); /* the reply is there, unread */
	usleep(60 * 1000);
	capture_start();
	lb_check_udp.expire(spy.p);
	char *log = capture_take();
	snprintf(want, sizeof(want), "dns %s %s\n", addr, transition);
	assert_string_equal(log, want);
	free(log);
	close(fd);
	run_end(&r);
}

static void test_udp_late_checker_judges_waiting_reply(void **state) {
	check_late_reply((const uint8_t *)"PO\0NX", 5, true, "up -> down (1 failure: " LACKS ")");
	check_late_reply(pong, sizeof(pong), false, "down -> up (1 success)");
}

/* Targets with the same settings are probed once: send and expect bytes tell them apart. */
static void test_udp_conf_cmp(void **state) {
	static const uint8_t ping2[] = {'P', 'I', 'N', 'G', 0, 1, 1};
	struct lb_check_conf none = {0}, a = {.udp = send_expect(pong, sizeof(pong))},
			     b = {.udp = send_expect(pong, sizeof(pong) - 1)},
			     c = {.udp = send_expect(pong, sizeof(pong))};
	int (*cmp)(const struct lb_check_conf *, const struct lb_check_conf *);
	cmp = lb_check_udp.conf_cmp;
	assert_non_null(cmp);
	assert_int_equal(cmp(&none, &none), 0);
	assert_int_equal(cmp(&a, &c), 0);
	assert_true(cmp(&a, &b) != 0 && (cmp(&a, &b) > 0) == (cmp(&b, &a) < 0));
	assert_true(cmp(&none, &a) != 0 && (cmp(&none, &a) > 0) == (cmp(&a, &none) < 0));
	c.udp.send = (uint8_t *)ping2; /* same length, another last byte */
	assert_true(cmp(&a, &c) != 0 && (cmp(&a, &c) > 0) == (cmp(&c, &a) < 0));
	/* has_expect off: the expect bytes are not read, so they do not count. */
	a.udp.has_expect = b.udp.has_expect = false;
	assert_int_equal(cmp(&a, &b), 0);
	assert_true(cmp(&a, &c) != 0); /* still the send bytes */
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_refused_v4),
		cmocka_unit_test(test_udp_refused_v6),
		cmocka_unit_test(test_udp_silent_is_up_at_deadline),
		cmocka_unit_test(test_udp_reply_is_up_at_once),
		cmocka_unit_test(test_udp_no_fd_leak),
		cmocka_unit_test(test_udp_late_checker_takes_waiting_refusal),
		cmocka_unit_test(test_udp_expect_replies),
		cmocka_unit_test(test_udp_expect_silence_is_down),
		cmocka_unit_test(test_udp_send_silence_is_up),
		cmocka_unit_test(test_udp_empty_expect),
		cmocka_unit_test(test_udp_long_expect),
		cmocka_unit_test(test_udp_expect_refused),
		cmocka_unit_test(test_udp_late_checker_judges_waiting_reply),
		cmocka_unit_test(test_udp_conf_cmp),
	};
	return cmocka_run_group_tests(tests, health_test_setup, NULL);
}
