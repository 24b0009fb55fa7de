/* TCP check against loopback listeners: success (closed with RST), refused, hung SYN -> timeout
 * without delaying other probes, IPv6, no fd leak; a late deadline takes an answer already
 * waiting on the socket (success or refusal) and times out only when nothing waits. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "health_test.h"
#include "loop.h"
#include "../../src/health/check.h"

static bool have_ipv6(void) {
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* A listening socket on loopback; *addr becomes "127.0.0.1:port" or "[::1]:port". */
static int listener(int af, int backlog, char *addr, size_t len) {
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	uint16_t port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(addr, len, af == AF_INET ? "127.0.0.1:%u" : "[::1]:%u", port);
	return fd;
}

/* An address on which nothing listens: a port just bound and released. */
static void closed_port(int af, char *addr, size_t len) {
	close(listener(af, 1, addr, len));
}

/* Connect to a listener until its accept queue is full and it drops further SYNs.
 * Returns the number of connections made (closed by the caller through fds). */
static size_t fill_accept_queue(const char *addr, int *fds, size_t max) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(addr, &a), 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(a.port), .sin_addr = a.ip.v4};
	size_t n = 0;
	while (n < max) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		fds[n++] = fd;
		int r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		assert_true(r == 0 || errno == EINPROGRESS);
		/* Established within 50 ms on loopback unless the listener dropped the SYN. */
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, 50) == 0)
			return n;
	}
	fail_msg("accept queue never filled");
	return n;
}

struct changes {
	int n;
	enum lb_health state[8];
	usec_t at[8];
	const char *svc[8];
};

static void on_change(struct lb_health_mgr *h, const struct lb_service_conf *svc,
		      const struct lb_backend_conf *be, enum lb_health st, void *ud) {
	struct changes *c = ud;
	assert_true(c->n < 8);
	c->svc[c->n] = svc->name;
	c->state[c->n] = st;
	c->at[c->n++] = now_usec(CLOCK_MONOTONIC);
}

/* Runs one decisive round over cfg; returns the log, which the caller frees. */
static char *round_log(struct lb_config *cfg, struct changes *ch, usec_t *elapsed) {
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, on_change, ch, &h), 0);
	assert_int_equal(lb_health_sync(h, cfg), 0);
	capture_start();
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_health_run_round(h), 0);
	if (elapsed)
		*elapsed = now_usec(CLOCK_MONOTONIC) - start;
	char *log = capture_take();
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.in_flight, 0);
	assert_false(lb_health_round_pending(h));
	/* The state the last notification announced is what lb_health_state answers. */
	for (int i = 0; i < ch->n; i++)
		for (size_t s = 0; s < cfg->n_services; s++)
			if (strcmp(cfg->services[s].name, ch->svc[i]) == 0)
				assert_int_equal(lb_health_state(h, &cfg->services[s],
								 &cfg->services[s].backends[0]),
						 ch->state[i]);
	lb_health_free(h);
	lb_loop_free(l);
	return log;
}

/* The one connection waiting on listener lfd was reset by the prober (SO_LINGER 0: no TIME_WAIT
 * left behind); lfd is closed. */
static void assert_closed_with_rst(int lfd) {
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	assert_true(c >= 0);
	char b;
	assert_int_equal(recv(c, &b, 1, 0), -1);
	assert_int_equal(errno, ECONNRESET);
	close(c);
	close(lfd);
}

static void check_up_and_rst(int af) {
	char addr[64], want[160];
	int lfd = listener(af, 16, addr, sizeof(addr));
	struct lb_config cfg = {0};
	const char *be[] = {addr};
	add_service(&cfg, "web", IPPROTO_TCP, check_conf(1000, 500, 3, 2, false), be, 1);
	struct changes ch = {0};
	char *log = round_log(&cfg, &ch, NULL);
	snprintf(want, sizeof(want), "web %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.state[0], LB_HEALTH_UP);
	assert_closed_with_rst(lfd); /* the probe's connection reached the listener */
	free(log);
	free_conf(&cfg);
}

static void test_tcp_up_v4(void **state) { check_up_and_rst(AF_INET); }

static void test_tcp_up_v6(void **state) {
	if (!have_ipv6())
		skip();
	check_up_and_rst(AF_INET6);
}

static void check_refused(int af) {
	char addr[64], want[200];
	closed_port(af, addr, sizeof(addr));
	struct lb_config cfg = {0};
	const char *be[] = {addr};
	add_service(&cfg, "web", IPPROTO_TCP, check_conf(1000, 500, 3, 2, true), be, 1);
	struct changes ch = {0};
	usec_t took;
	char *log = round_log(&cfg, &ch, &took);
	snprintf(want, sizeof(want), "web %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.state[0], LB_HEALTH_DOWN);
	assert_true(took < 400 * USEC_PER_MSEC); /* an RST, not the timeout */
	free(log);
	free_conf(&cfg);
}

static void test_tcp_refused_v4(void **state) { check_refused(AF_INET); }

static void test_tcp_refused_v6(void **state) {
	if (!have_ipv6())
		skip();
	check_refused(AF_INET6);
}

/* A listener whose accept queue is full drops SYNs: the probe hangs until its deadline, while a
 * probe of a healthy backend started at the same time finishes at once. */
static void test_tcp_hung_syn_times_out_without_delaying_others(void **state) {
	char hung[64], good[64], want[400];
	int hfd = listener(AF_INET, 0, hung, sizeof(hung));
	int gfd = listener(AF_INET, 16, good, sizeof(good));
	int fillers[8];
	size_t nf = fill_accept_queue(hung, fillers, 8);
	struct lb_config cfg = {0};
	const char *b1[] = {hung}, *b2[] = {good};
	add_service(&cfg, "slow", IPPROTO_TCP, check_conf(2000, 300, 1, 1, true), b1, 1);
	add_service(&cfg, "fast", IPPROTO_TCP, check_conf(2000, 300, 1, 1, false), b2, 1);
	struct changes ch = {0};
	usec_t start = now_usec(CLOCK_MONOTONIC), took;
	char *log = round_log(&cfg, &ch, &took);
	snprintf(want, sizeof(want),
		 "fast %s down -> up (1 success)\nslow %s up -> down (1 failure: timeout)\n", good, hung);
	assert_string_equal(log, want);
	assert_int_equal(ch.n, 2);
	assert_string_equal(ch.svc[0], "fast");
	assert_true(ch.at[0] - start < 100 * USEC_PER_MSEC);
	assert_string_equal(ch.svc[1], "slow");
	assert_true(ch.at[1] - start >= 300 * USEC_PER_MSEC);
	assert_true(took < 700 * USEC_PER_MSEC);
	for (size_t i = 0; i < nf; i++)
		close(fillers[i]);
	close(hfd);
	close(gfd);
	free(log);
	free_conf(&cfg);
}

/* --- the late checker: the deadline fires while the answer already waits on the socket ---
 * Under overload the deadline timer of a probe can be dispatched before its socket's EPOLLOUT,
 * in the same loop turn. The tests below build that state on purpose instead of hoping for an
 * epoll ordering: start a probe, never run the loop, let the kernel finish (or refuse) the
 * handshake and the deadline pass, then call the kind's expire op as the timer would. */

#define LATE_TIMEOUT_MS 50

struct late_fx {
	struct lb_loop *l;
	struct lb_health_mgr *h;
	struct lb_config cfg;
	struct changes ch;
	int fds_before, fd;
	usec_t deadline;
};

/* One decisive probe of addr, started without running the loop: only the test looks at its
 * socket until the test calls expire. The interval is long, so no other probe follows. */
static void late_begin(struct late_fx *fx, const char *addr, bool initial_up) {
	*fx = (struct late_fx){0};
	const char *be[] = {addr};
	add_service(&fx->cfg, "web", IPPROTO_TCP,
		    check_conf(10000, LATE_TIMEOUT_MS, 1, 1, initial_up), be, 1);
	assert_int_equal(lb_loop_new(&fx->l), 0);
	assert_int_equal(lb_health_new(fx->l, on_change, &fx->ch, &fx->h), 0);
	spy_set(fx->h, &lb_check_tcp, false); /* the tests call expire; the engine must not */
	assert_int_equal(lb_health_sync(fx->h, &fx->cfg), 0);
	fx->fds_before = count_fds();
	fx->deadline = now_usec(CLOCK_MONOTONIC) + LATE_TIMEOUT_MS * USEC_PER_MSEC;
	assert_int_equal(lb_health_probe_all(fx->h), 0);
	/* connect() went EINPROGRESS: the probe runs and holds one socket, registered in the loop. */
	assert_int_equal(spy.starts, 1);
	assert_true(lb_health_round_pending(fx->h));
	assert_non_null(spy.p);
	fx->fd = spy.p->fd;
	assert_true(fx->fd >= 0);
	assert_true(spy.p->io.added);
	assert_int_equal(count_fds(), fx->fds_before + 1);
	assert_int_equal(fx->ch.n, 0);
}

/* Sleep past the probe's deadline, still without running the loop. */
static void late_pass_deadline(const struct late_fx *fx) {
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (now < fx->deadline + 5 * USEC_PER_MSEC)
		usleep(fx->deadline + 5 * USEC_PER_MSEC - now);
}

/* Wait until the kernel has the answer for the probe's socket (revents has all of want), then
 * let the deadline pass: the state a late timer finds. poll() leaves SO_ERROR unread. */
static void late_answer_waits(const struct late_fx *fx, short want) {
	struct pollfd pfd = {.fd = fx->fd, .events = POLLOUT};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(pfd.revents & want, want);
	late_pass_deadline(fx);
}

/* The deadline fires now: the kind's expire op, as the engine's timer calls it. Returns the log,
 * which the caller frees. */
static char *late_expire_now(struct late_fx *fx) {
	capture_start();
	lb_check_tcp.expire(spy.p);
	return capture_take();
}

/* Exactly one result, state st after failures failed probes; the socket is closed and gone from
 * the loop; and running the loop past the old deadline brings no second probe or result. */
static void late_check_one_result(struct late_fx *fx, enum lb_health st, uint64_t failures) {
	struct lb_health_stats s;
	assert_int_equal(fx->ch.n, 1);
	assert_int_equal(fx->ch.state[0], st);
	assert_false(lb_health_round_pending(fx->h));
	lb_health_get_stats(fx->h, &s);
	assert_int_equal(s.in_flight, 0);
	assert_int_equal(s.probes, 1);
	assert_int_equal(s.failures, failures);
	assert_int_equal(spy.p->fd, -1);
	assert_false(spy.p->io.added);
	assert_int_equal(fcntl(fx->fd, F_GETFD), -1); /* nothing opened an fd since: no reuse */
	assert_int_equal(errno, EBADF);
	assert_int_equal(count_fds(), fx->fds_before);

	capture_start();
	run_loop_ms(fx->l, 2 * LATE_TIMEOUT_MS);
	char *log = capture_take();
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(fx->ch.n, 1);
	assert_int_equal(spy.starts, 1);
	assert_int_equal(spy.engine_expires, 0);
	lb_health_get_stats(fx->h, &s);
	assert_int_equal(s.probes, 1);
	assert_int_equal(s.in_flight, 0);
	assert_int_equal(lb_health_state(fx->h, &fx->cfg.services[0], &fx->cfg.services[0].backends[0]),
			 st);
	assert_int_equal(count_fds(), fx->fds_before);
}

static void late_end(struct late_fx *fx) {
	lb_health_free(fx->h);
	lb_loop_free(fx->l);
	free_conf(&fx->cfg);
}

/* The handshake completed before the deadline fired: the backend is up, not timed out. */
static void test_tcp_late_checker_takes_waiting_success(void **state) {
	char addr[64], want[160];
	int lfd = listener(AF_INET, 16, addr, sizeof(addr));
	struct late_fx fx;
	late_begin(&fx, addr, false);
	late_answer_waits(&fx, POLLOUT);
	char *log = late_expire_now(&fx);
	snprintf(want, sizeof(want), "web %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	late_check_one_result(&fx, LB_HEALTH_UP, 0);
	assert_closed_with_rst(lfd); /* taken as a success, so closed like one */
	free(log);
	late_end(&fx);
}

/* The refusal arrived before the deadline fired: down for the backend's own reason. */
static void test_tcp_late_checker_takes_waiting_refusal(void **state) {
	char addr[64], want[200];
	closed_port(AF_INET, addr, sizeof(addr));
	struct late_fx fx;
	late_begin(&fx, addr, true);
	late_answer_waits(&fx, POLLERR);
	char *log = late_expire_now(&fx);
	snprintf(want, sizeof(want), "web %s up -> down (1 failure: connection refused)\n", addr);
	assert_string_equal(log, want);
	late_check_one_result(&fx, LB_HEALTH_DOWN, 1);
	free(log);
	late_end(&fx);
}

/* Nothing waits on the socket (the SYN was dropped): the same late expire is a timeout. */
static void test_tcp_late_checker_times_out_when_nothing_waits(void **state) {
	char hung[64], want[200];
	int hfd = listener(AF_INET, 0, hung, sizeof(hung));
	int fillers[8];
	size_t nf = fill_accept_queue(hung, fillers, 8);
	struct late_fx fx;
	late_begin(&fx, hung, true);
	late_pass_deadline(&fx);
	struct pollfd pfd = {.fd = fx.fd, .events = POLLOUT};
	assert_int_equal(poll(&pfd, 1, 0), 0);
	char *log = late_expire_now(&fx);
	snprintf(want, sizeof(want), "web %s up -> down (1 failure: timeout)\n", hung);
	assert_string_equal(log, want);
	late_check_one_result(&fx, LB_HEALTH_DOWN, 1);
	free(log);
	late_end(&fx);
	for (size_t i = 0; i < nf; i++)
		close(fillers[i]);
	close(hfd);
}

/* Scheduled probes (not a decisive round): fail_count refusals take the backend down; a
 * listener appearing brings it back after rise_count successes. */
static void test_tcp_scheduled_down_then_up(void **state) {
	char addr[64], want[300];
	closed_port(AF_INET, addr, sizeof(addr));
	struct lb_config cfg = {0};
	const char *be[] = {addr};
	add_service(&cfg, "web", IPPROTO_TCP, check_conf(20, 10, 2, 2, true), be, 1);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	struct changes ch = {0};
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, on_change, &ch, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	capture_start();
	while (ch.n < 1)
		assert_true(lb_loop_run_once(l, -1) >= 0);
	assert_int_equal(ch.state[0], LB_HEALTH_DOWN);
	assert_int_equal(lb_health_state(h, &cfg.services[0], &cfg.services[0].backends[0]),
			 LB_HEALTH_DOWN);
	/* Same port, now listening. */
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(addr, &a), 0);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(a.port), .sin_addr = a.ip.v4};
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 64), 0);
	while (ch.n < 2)
		assert_true(lb_loop_run_once(l, -1) >= 0);
	char *log = capture_take();
	snprintf(want, sizeof(want),
		 "web %s up -> down (2 failures: connection refused)\nweb %s down -> up (2 successes)\n",
		 addr, addr);
	assert_string_equal(log, want);
	assert_int_equal(ch.state[1], LB_HEALTH_UP);
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_true(st.probes >= 4);
	assert_int_equal(st.targets, 1);
	assert_int_equal(st.up, 1);
	lb_health_free(h);
	lb_loop_free(l);
	close(lfd);
	free(log);
	free_conf(&cfg);
}

static void test_no_fd_leak(void **state) {
	char up[64], down[64], hung[64];
	int lfd = listener(AF_INET, 16, up, sizeof(up));
	int hfd = listener(AF_INET, 0, hung, sizeof(hung));
	int fillers[8];
	size_t nf = fill_accept_queue(hung, fillers, 8);
	closed_port(AF_INET, down, sizeof(down));
	int before = count_fds();
	struct lb_config cfg = {0};
	const char *be[] = {up, down, hung};
	add_service(&cfg, "web", IPPROTO_TCP, check_conf(50, 40, 1, 1, true), be, 3);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	capture_start();
	run_loop_ms(l, 120);
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_true(st.probes >= 3);
	/* Freed with the hung probe possibly in flight: its socket is closed too. */
	lb_health_free(h);
	lb_loop_free(l);
	free(capture_take());
	assert_int_equal(count_fds(), before);
	for (size_t i = 0; i < nf; i++)
		close(fillers[i]);
	close(lfd);
	close(hfd);
	free_conf(&cfg);
}

/* Out of fds is this host's problem, not the backend's: the probe is skipped, not failed. */
static void test_local_error_is_not_a_failure(void **state) {
	char addr[64], want[200];
	int lfd = listener(AF_INET, 16, addr, sizeof(addr));
	struct lb_config cfg = {0};
	const char *be[] = {addr};
	add_service(&cfg, "web", IPPROTO_TCP, check_conf(1000, 500, 1, 1, true), be, 1);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	struct changes ch = {0};
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, on_change, &ch, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	int lowest = dup(0); /* the lowest free fd: a limit there makes socket() fail */
	close(lowest);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	capture_start();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = lb_health_run_round(h);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	char *log = capture_take();
	assert_int_equal(r, 0);
	snprintf(want, sizeof(want),
		 "health check of %s not run: Too many open files\n",
		 addr);
	assert_string_equal(log, want);
	assert_int_equal(ch.n, 0);
	assert_int_equal(lb_health_state(h, &cfg.services[0], &cfg.services[0].backends[0]),
			 LB_HEALTH_UP);
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.probes, 0);
	assert_int_equal(st.unknown, 1);
	lb_health_free(h);
	lb_loop_free(l);
	close(lfd);
	free(log);
	free_conf(&cfg);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_up_v4),
		cmocka_unit_test(test_tcp_up_v6),
		cmocka_unit_test(test_tcp_refused_v4),
		cmocka_unit_test(test_tcp_refused_v6),
		cmocka_unit_test(test_tcp_hung_syn_times_out_without_delaying_others),
		cmocka_unit_test(test_tcp_late_checker_takes_waiting_success),
		cmocka_unit_test(test_tcp_late_checker_takes_waiting_refusal),
		cmocka_unit_test(test_tcp_late_checker_times_out_when_nothing_waits),
		cmocka_unit_test(test_tcp_scheduled_down_then_up),
		cmocka_unit_test(test_local_error_is_not_a_failure),
		cmocka_unit_test(test_no_fd_leak),
	};
	return cmocka_run_group_tests(tests, health_test_setup, NULL);
}
