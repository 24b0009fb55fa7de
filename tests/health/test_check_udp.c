/* UDP check against loopback: ICMP port unreachable -> down ("connection refused"); a reply ->
 * up at once; silence -> up at the deadline. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "../../src/health/check.h"
#include "health_test.h"
#include "loop.h"

/* A bound UDP socket on loopback; *addr becomes "127.0.0.1:port" or "[::1]:port". */
static int udp_socket(int af, char *addr, size_t len) {
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		*a = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		sl = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	uint16_t port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(addr, len, af == AF_INET ? "127.0.0.1:%u" : "[::1]:%u", port);
	return fd;
}

struct run {
	struct lb_loop *l;
	struct lb_health_mgr *h;
	struct lb_config cfg;
	int changes;
};

static void on_change(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health st, void *ud) {
	((struct run *)ud)->changes++;
}

static void run_start(struct run *r, const char *addr, bool initial_up, uint32_t timeout_ms) {
	memset(r, 0, sizeof(*r));
	const char *be[] = {addr};
	add_service(&r->cfg, "dns", IPPROTO_UDP, check_conf(5000, timeout_ms, 1, 1, initial_up), be, 1);
	assert_int_equal(lb_loop_new(&r->l), 0);
	assert_int_equal(lb_health_new(r->l, on_change, r, &r->h), 0);
	assert_int_equal(lb_health_sync(r->h, &r->cfg), 0);
	assert_true(lb_health_checked(&r->cfg.services[0]));
}

static void run_end(struct run *r) {
	lb_health_free(r->h);
	lb_loop_free(r->l);
	free_conf(&r->cfg);
}

/* Runs a decisive round; returns the log and how long the round took. */
static char *round_log(struct run *r, usec_t *took) {
	capture_start();
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_health_run_round(r->h), 0);
	*took = now_usec(CLOCK_MONOTONIC) - start;
	return capture_take();
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
	char *log = round_log(&r, &took);
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
	char *log = round_log(&r, &took);
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
	char *log = round_log(&r, &took);
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

/* The real UDP kind, keeping the probe it starts: the test calls expire itself, as a late timer
 * would, without the loop ever reading the socket. */
static struct lb_probe *late_probe;
static void late_start(struct lb_probe *p) {
	late_probe = p;
	lb_check_udp.start(p);
}
static void late_cancel(struct lb_probe *p) { lb_check_udp.cancel(p); }
static const struct lb_check_ops late_udp = {.name = "udp", .type = LB_CHECK_UDP,
					     .start = late_start, .cancel = late_cancel,
					     .expire = late_cancel};
static const struct lb_check_ops *const late_kinds[] = {&late_udp};

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
	assert_int_equal(lb_health_new(r.l, on_change, &r, &r.h), 0);
	lb_health_set_kinds(r.h, late_kinds, 1);
	late_probe = NULL;
	assert_int_equal(lb_health_sync(r.h, &r.cfg), 0);
	assert_int_equal(lb_health_probe_all(r.h), 0);
	assert_non_null(late_probe);
	struct pollfd pfd = {.fd = late_probe->fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1); /* the error is there, unread */
	assert_true(pfd.revents & POLLERR);
	usleep(60 * 1000);
	capture_start();
	lb_check_udp.expire(late_probe);
	char *log = capture_take();
	snprintf(want, sizeof(want), "dns %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	assert_int_equal(r.changes, 1);
	free(log);
	run_end(&r);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_refused_v4),
		cmocka_unit_test(test_udp_refused_v6),
		cmocka_unit_test(test_udp_silent_is_up_at_deadline),
		cmocka_unit_test(test_udp_reply_is_up_at_once),
		cmocka_unit_test(test_udp_no_fd_leak),
		cmocka_unit_test(test_udp_late_checker_takes_waiting_refusal),
	};
	return cmocka_run_group_tests(tests, health_test_setup, NULL);
}
