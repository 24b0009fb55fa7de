/* A config the size issue 4 benchmarks (1000 services x 100 backends) loads, and the uniqueness
 * checks still find one duplicate among 100k backends. Prints how long loading took. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define N_SVC 1000
#define N_BE 100

/* Backend number k (0..99999) is 172.(16 + k / 65536).(k / 256 % 256).(k % 256):8080. */
static const char *backend(int k, char *buf, size_t len) {
	snprintf(buf, len, "172.%d.%d.%d:8080", 16 + k / 65536, k / 256 % 256, k % 256);
	return buf;
}

/* Line of backend j of service i: "services:", then per service 4 lines and its backends. */
static int backend_line(int i, int j) {
	return 2 + i * (4 + N_BE) + 4 + j;
}

/* Service i listens on 10.(i/256).(i%256).1:80. With dup set, the last backend of the last
 * service repeats that service's first one. */
static void write_config(const char *path, bool dup) {
	char b[64];
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "services:\n");
	for (int i = 0; i < N_SVC; i++) {
		fprintf(f, "  - name: svc-%d\n    listen: 10.%d.%d.1:80\n    scheduler: wrr\n"
			   "    backends:\n", i, i / 256, i % 256);
		for (int j = 0; j < N_BE; j++) {
			int k = dup && i == N_SVC - 1 && j == N_BE - 1 ? i * N_BE : i * N_BE + j;
			fprintf(f, "      - {address: %s, weight: %d}\n", backend(k, b, sizeof(b)), j % 10 + 1);
		}
	}
	assert_int_equal(fclose(f), 0);
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_100k_backends(void **state) {
	char path[] = "/tmp/ezlb-test-scale-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_config(path, false);
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	double t0 = now();
	assert_int_equal(lb_config_load(path, &c, &d), 0);
	print_message("loaded %d services x %d backends in %.0f ms\n", N_SVC, N_BE, (now() - t0) * 1e3);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->n_services, N_SVC);
	size_t total = 0;
	for (size_t i = 0; i < c->n_services; i++)
		total += c->services[i].n_backends;
	assert_int_equal(total, N_SVC * N_BE);
	char a[LB_ADDRSTRLEN], b[64];
	assert_string_equal(c->services[999].name, "svc-999");
	assert_string_equal(lb_addr_fmt(&c->services[999].listen, a), "10.3.231.1:80");
	assert_string_equal(lb_addr_fmt(&c->services[999].backends[99].addr, a), backend(99999, b, sizeof(b)));
	assert_int_equal(c->services[999].backends[99].weight, 10);
	lb_config_free(c);
	unlink(path);
}

static void test_duplicate_among_100k(void **state) {
	char path[] = "/tmp/ezlb-test-scale-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_config(path, true);
	struct lb_config *c = NULL;
	struct lb_diag d = {0};
	assert_int_equal(lb_config_load(path, &c, &d), -EINVAL);
	assert_null(c);
	assert_int_equal(d.n, 1);
	char want[256], b[64];
	snprintf(want, sizeof(want), "%s:%d:19: services[999].backends[99].address: duplicate backend "
		 "%s (first at line %d)", path, backend_line(999, 99), backend(99900, b, sizeof(b)),
		 backend_line(999, 0));
	assert_string_equal(d.msgs[0], want);
	lb_diag_free(&d);
	unlink(path);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_100k_backends),
		cmocka_unit_test(test_duplicate_among_100k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
