/* Helpers shared by the health tests: hand-built configs, log capture, fd counting. */
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

#include <cmocka.h>

#include "config.h"
#include "health.h"
#include "log.h"
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

/* Log capture: stderr goes to a memfd; capture_take() returns the messages logged since
 * capture_start(), one per line, without the timestamp and level prefix. */
static int capture_fd = -1, saved_stderr = -1;

static inline void capture_start(void) {
	fflush(stderr);
	if (capture_fd < 0) {
		capture_fd = memfd_create("log", 0);
		assert_true(capture_fd >= 0);
		saved_stderr = dup(STDERR_FILENO);
	}
	assert_int_equal(ftruncate(capture_fd, 0), 0);
	assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
	dup2(capture_fd, STDERR_FILENO);
}

/* Caller frees the result. */
static inline char *capture_take(void) {
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	off_t len = lseek(capture_fd, 0, SEEK_END);
	char *raw = calloc(1, (size_t)len + 1), *out = calloc(1, (size_t)len + 1);
	assert_non_null(raw);
	assert_non_null(out);
	assert_int_equal(pread(capture_fd, raw, (size_t)len, 0), len);
	/* "2026-01-01T00:00:00.000 ezlb[warn]: msg" -> "msg" */
	char *save = NULL;
	for (char *line = strtok_r(raw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *m = strstr(line, "]: ");
		strcat(out, m ? m + 3 : line);
		strcat(out, "\n");
	}
	free(raw);
	return out;
}

/* Group setup of the health tests: notices and above are logged, into the capture, which is opened
 * here once so that its fds are there before any fd count. */
static inline int health_test_setup(void **state) {
	log_set_max_level(LOG_NOTICE);
	capture_start();
	free(capture_take());
	return 0;
}
