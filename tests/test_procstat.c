/* lb_procstat_read: plausible numbers, and open fds that follow the fds this process opens. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "procstat.h"
#include "test_fds.h"

static void test_sane(void **state) {
	struct lb_procstat ps;
	assert_int_equal(lb_procstat_read(&ps), 0);
	assert_true(ps.rss_bytes > 0);
	assert_true(ps.vsize_bytes >= ps.rss_bytes);
	assert_true(ps.cpu_seconds >= 0);
	assert_true(ps.open_fds >= 3); /* stdin, stdout, stderr at least */
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true(ps.max_fds == (double)rl.rlim_cur);
	/* started within the last hour, not in the future (a second of slack for rounding) */
	double now = (double)time(NULL);
	assert_true(ps.start_time_seconds <= now + 1);
	assert_true(ps.start_time_seconds > now - 3600);
}

static void test_fds_follow(void **state) {
	struct lb_procstat a, b, c;
	assert_int_equal(lb_procstat_read(&a), 0);
	int fds[5];
	for (size_t i = 0; i < 5; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(lb_procstat_read(&b), 0);
	for (size_t i = 0; i < 5; i++)
		close(fds[i]);
	assert_int_equal(lb_procstat_read(&c), 0);
	assert_true(b.open_fds == a.open_fds + 5);
	assert_true(c.open_fds == a.open_fds);
	/* the same number as the directory's entries less ".", ".." and the reading's own fd,
	 * whichever way procstat counted (stat's size on Linux >= 6.2, else the entries) */
	assert_true(c.open_fds == count_fds() - 3);
}

/* CPU time is monotonic and grows with work; the start time does not move. */
static void test_cpu_grows(void **state) {
	struct lb_procstat a, b;
	assert_int_equal(lb_procstat_read(&a), 0);
	struct timespec t0, t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	volatile uint64_t x = 0;
	do {
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i * i;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 30000000L);
	assert_int_equal(lb_procstat_read(&b), 0);
	assert_true(b.cpu_seconds >= a.cpu_seconds + 0.02);
	assert_true(b.start_time_seconds == a.start_time_seconds);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sane),
		cmocka_unit_test(test_fds_follow),
		cmocka_unit_test(test_cpu_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
