/* benchsrv: the health-check target of `make bench` (not part of ezlb).
 *
 *   benchsrv [-i INTERVAL_MS] [-o REPORT] PORT...
 *
 * Listens on 0.0.0.0:PORT for each PORT, accepts every connection and closes it at once. Every
 * address of 127.0.0.0/8 is local, so one process is the target of thousands of backends
 * 127.A.B.C:PORT. It records, per target address, the gap between two consecutive connections,
 * so the regularity of a checker is measured from the outside, the same way for every checker:
 *   SIGUSR1   start a window: zero the counters (the last-seen times are kept)
 *   SIGUSR2   append one line to REPORT (default stdout) about the window so far:
 *             "accepts N secs S rate R targets T gap_dev_p50_ms A gap_dev_p99_ms B gap_dev_max_ms C"
 *             gap_dev = |gap - INTERVAL_MS|, over the gaps that ended in the window
 *   SIGTERM   exit
 * Targets are told apart by the low 16 bits of the local address and the port's index.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 8
#define SLOTS (MAX_PORTS << 16)
#define BUCKET_US 100 /* histogram of gap deviations: 100 us buckets up to 10 s */
#define BUCKETS 100000

static volatile sig_atomic_t want_reset, want_report, stop;
static int64_t last_seen[SLOTS];
static uint64_t hist[BUCKETS + 1];
static uint64_t accepts, gaps;
static int64_t window_start, dev_max;
static unsigned char seen_in_window[SLOTS];
static size_t targets;

static void on_sig(int sig) {
	if (sig == SIGUSR1)
		want_reset = 1;
	else if (sig == SIGUSR2)
		want_report = 1;
	else
		stop = 1;
}

static int64_t now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double percentile_ms(double q) {
	uint64_t want = (uint64_t)(q * (double)gaps + 0.5), seen = 0;
	if (want == 0)
		want = 1;
	for (size_t b = 0; b < BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want) { /* the bucket's upper bound, never above the maximum seen */
			int64_t top = (int64_t)(b + 1) * BUCKET_US;
			return (double)(top < dev_max ? top : dev_max) / 1000.0;
		}
	}
	return (double)dev_max / 1000.0;
}

static void reset(void) {
	memset(hist, 0, sizeof(hist));
	memset(seen_in_window, 0, sizeof(seen_in_window));
	accepts = gaps = 0;
	targets = 0;
	dev_max = 0;
	window_start = now_us();
}

static void report(FILE *f) {
	double secs = (double)(now_us() - window_start) / 1e6;
	fprintf(f, "accepts %llu secs %.2f rate %.1f targets %zu gap_dev_p50_ms %.1f gap_dev_p99_ms %.1f "
		   "gap_dev_max_ms %.1f\n",
		(unsigned long long)accepts, secs, secs > 0 ? (double)accepts / secs : 0, targets,
		gaps ? percentile_ms(0.50) : 0, gaps ? percentile_ms(0.99) : 0, (double)dev_max / 1000.0);
	fflush(f);
}

static void record(size_t slot, int64_t now, int64_t interval_us) {
	accepts++;
	if (!seen_in_window[slot]) {
		seen_in_window[slot] = 1;
		targets++;
	}
	if (last_seen[slot]) {
		int64_t dev = now - last_seen[slot] - interval_us;
		if (dev < 0)
			dev = -dev;
		size_t b = (size_t)(dev / BUCKET_US);
		hist[b < BUCKETS ? b : BUCKETS]++;
		gaps++;
		if (dev > dev_max)
			dev_max = dev;
	}
	last_seen[slot] = now;
}

static void drain(int fd, size_t port_idx, int64_t interval_us) {
	for (;;) {
		struct sockaddr_in local;
		socklen_t len = sizeof(local);
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return; /* EAGAIN, or a connection reset before we got to it */
		int64_t now = now_us();
		if (getsockname(c, (struct sockaddr *)&local, &len) == 0 && local.sin_family == AF_INET)
			record((port_idx << 16) | (ntohl(local.sin_addr.s_addr) & 0xffff), now, interval_us);
		close(c);
	}
}

static int listen_on(int port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 65535) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv) {
	int64_t interval_us = 1000000;
	const char *out_path = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "i:o:")) != -1) {
		if (opt == 'i')
			interval_us = atoll(optarg) * 1000;
		else if (opt == 'o')
			out_path = optarg;
		else
			return 2;
	}
	int nports = argc - optind;
	if (nports < 1 || nports > MAX_PORTS) {
		fprintf(stderr, "usage: benchsrv [-i INTERVAL_MS] [-o REPORT] PORT... (1 to %d ports)\n", MAX_PORTS);
		return 2;
	}
	FILE *out = out_path ? fopen(out_path, "a") : stdout;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!out || ep < 0) {
		perror("benchsrv");
		return 1;
	}
	for (int i = 0; i < nports; i++) {
		int fd = listen_on(atoi(argv[optind + i]));
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)i << 32) | (uint32_t)fd};
		if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			fprintf(stderr, "benchsrv: port %s: %s\n", argv[optind + i], strerror(errno));
			return 1;
		}
	}
	struct sigaction sa = {.sa_handler = on_sig}; /* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	reset();
	while (!stop) {
		struct epoll_event evs[MAX_PORTS];
		int n = epoll_wait(ep, evs, MAX_PORTS, -1);
		for (int i = 0; i < n; i++)
			drain((int)(uint32_t)evs[i].data.u64, (size_t)(evs[i].data.u64 >> 32), interval_us);
		if (want_reset) {
			want_reset = 0;
			reset();
		}
		if (want_report) {
			want_report = 0;
			report(out);
		}
	}
	return 0;
}
