/* Helpers shared by the health tests: hand-built configs, fd counting; log capture and the loop
 * from loop_test.h. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"
#include "../../src/health/check.h"
#include "health.h"
#include "log.h"
#include "loop.h"
#include "util.h"
#include "../loop_test.h"
#include "../test_fds.h"

static inline struct lb_check_conf check_conf(uint32_t interval_ms, uint32_t timeout_ms,
					      uint32_t fail, uint32_t rise, bool initial_up) {
	return (struct lb_check_conf){.enabled = true, .interval_ms = interval_ms,
				      .timeout_ms = timeout_ms, .fail_count = fail,
				      .rise_count = rise, .initial_up = initial_up};
}

/* Appends a service with n backends given as "ip:port" strings. */
static inline struct lb_service_conf *add_service(struct lb_config *c, const char *name,
						  uint16_t proto, struct lb_check_conf check,
						  const char *const *backends, size_t n) {
	c->services = realloc(c->services, (c->n_services + 1) * sizeof(*c->services));
	assert_non_null(c->services);
	struct lb_service_conf *s = &c->services[c->n_services++];
	*s = (struct lb_service_conf){.name = strdup(name), .protocol = proto, .check = check};
	s->backends = calloc(n ? n : 1, sizeof(*s->backends));
	assert_non_null(s->backends);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(lb_addr_parse(backends[i], &s->backends[i].addr), 0);
		s->backends[i].weight = 1;
	}
	s->n_backends = n;
	return s;
}

static inline void free_conf(struct lb_config *c) {
	for (size_t i = 0; i < c->n_services; i++) {
		free(c->services[i].name);
		free(c->services[i].backends);
	}
	free(c->services);
	*c = (struct lb_config){0};
}

/* Group setup of the health tests: notices and above are logged, into the capture, which is opened
 * here once so that its fds are there before any fd count. */
static inline int health_test_setup(void **state) {
	log_set_max_level(LOG_NOTICE);
	capture_start();
	free(capture_take());
	return 0;
}

/* A bound UDP socket on loopback; *addr becomes "127.0.0.1:port" or "[::1]:port". */
static inline int udp_socket(int af, char *addr, size_t len) {
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

/* A spy around a real check kind, for the late-checker tests: it keeps the probe it starts
 * (spy.p) and counts starts and the engine's own deadline expiries. The engine's expiry runs the
 * real expire, or with hold only cancels: then the test calls the real expire itself, as a late
 * timer would, before the engine's deadline can come. */
static struct spy {
	const struct lb_check_ops *real;
	bool hold;
	struct lb_probe *p;
	int starts, engine_expires;
	struct lb_check_ops ops;
	const struct lb_check_ops *kinds[1];
} spy;

static inline void spy_start(struct lb_probe *p) {
	spy.p = p;
	spy.starts++;
	spy.real->start(p);
}

static inline void spy_cancel(struct lb_probe *p) { spy.real->cancel(p); }

static inline void spy_expire(struct lb_probe *p) {
	spy.engine_expires++;
	(spy.hold ? spy.real->cancel : spy.real->expire)(p);
}

/* Make h's only kind a spy around real (its type, settings and other ops unchanged). */
static inline void spy_set(struct lb_health_mgr *h, const struct lb_check_ops *real, bool hold) {
	memset(&spy, 0, sizeof(spy));
	spy.real = real;
	spy.hold = hold;
	spy.ops = *real;
	spy.ops.start = spy_start;
	spy.ops.cancel = spy_cancel;
	spy.ops.expire = spy_expire;
	spy.kinds[0] = &spy.ops;
	lb_health_set_kinds(h, spy.kinds, 1);
}

/* A probe run of the check tests: a loop, a manager and its config; changes counts on_change. */
struct run {
	struct lb_loop *l;
	struct lb_health_mgr *h;
	struct lb_config cfg;
	int changes;
};

static inline void run_on_change(struct lb_health_mgr *h, const struct lb_service_conf *svc,
				 const struct lb_backend_conf *be, enum lb_health st, void *ud) {
	((struct run *)ud)->changes++;
}

static inline void run_end(struct run *r) {
	lb_health_free(r->h);
	lb_loop_free(r->l);
	free_conf(&r->cfg);
}

/* Runs a decisive round; returns the log and how long the round took. */
static inline char *run_round_log(struct run *r, usec_t *took) {
	capture_start();
	usec_t start = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(lb_health_run_round(r->h), 0);
	*took = now_usec(CLOCK_MONOTONIC) - start;
	return capture_take();
}
