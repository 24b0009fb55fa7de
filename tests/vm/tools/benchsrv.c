/* benchsrv: the health-check target of `make bench` (not part of ezlb).
 *
 *   benchsrv [-a] [-i INTERVAL_MS] [-o REPORT] [-m tcp|http|https] [-c CERT -k KEY] PORT...
 *
 * Listens on 0.0.0.0:PORT for each PORT. Every address of 127.0.0.0/8 is local, so one process is
 * the target of thousands of backends 127.A.B.C:PORT. What it does with a connection (-m):
 *   tcp     (default) accept it and close it at once
 *   http    read the request up to its blank line; "GET /healthz" gets
 *           "HTTP/1.1 200 OK" with Content-Length, Connection: close and the body "ok\n",
 *           anything else a 404; then close
 *   https   the same over TLS (OpenSSL; CERT is a PEM certificate chain, KEY its key), with the
 *           server's session cache and TLS 1.3 tickets on (OpenSSL's defaults), so a client that
 *           offers its last session resumes it; SSL_session_reused() after each handshake tells
 *           full handshakes from resumed ones. After the answer, one close_notify and close.
 * One process, one epoll loop, every socket non-blocking (the TLS handshakes too), so a slow
 * client never holds up another. It records, per target address, the gap between two consecutive
 * connections (at accept), so the regularity of a checker is measured from the outside, the same
 * way for every checker:
 *   SIGUSR1   start a window: zero the counters (the last-seen times are kept)
 *   SIGUSR2   append one line to REPORT (default stdout) about the window so far:
 *             "accepts N secs S rate R targets T gap_dev_p50_ms A gap_dev_p99_ms B gap_dev_max_ms C
 *              answers N answer_rate R bad N full_hs N resumed_hs N hs_fail N cpu_pct P"
 *             gap_dev = |gap - INTERVAL_MS|, over the gaps that ended in the window; answers: 200
 *             answers written (http, https), bad: other answers and requests that never completed
 *             (closed, reset or over 4 kB before their blank line); full_hs / resumed_hs: TLS
 *             handshakes completed, hs_fail: those that failed; cpu_pct: this process's own CPU
 *             (user + system) over the window, percent of one core
 *   SIGTERM   exit
 * -a prints one line per accepted connection on stdout, "accept REALTIME_MS" (the wall clock in
 * ms), so a script sees when a checker probed (the bench's detection rows time a backend's death
 * from its last check).
 * Targets are told apart by the low 16 bits of the local address and the port's index.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 8
#define SLOTS (MAX_PORTS << 16)
#define BUCKET_US 100 /* histogram of gap deviations: 100 us buckets up to 10 s */
#define BUCKETS 100000
#define REQ_MAX 4096
#define LISTENER (UINT64_C(1) << 63) /* epoll data: a listener (port index, fd), else a conn */

enum mode { M_TCP, M_HTTP, M_HTTPS };
enum cstate { C_HANDSHAKE, C_READ, C_WRITE };

struct conn {
	int fd;
	enum cstate state;
	SSL *ssl;
	uint32_t events;
	size_t len, off; /* request bytes read; answer bytes written */
	const char *out;
	size_t out_len;
	char req[REQ_MAX + 1];
};

static volatile sig_atomic_t want_reset, want_report, stop;
static int64_t last_seen[SLOTS];
static uint64_t hist[BUCKETS + 1];
static uint64_t accepts, gaps, answers, bad, full_hs, resumed_hs, hs_fail;
static int64_t window_start, window_cpu, dev_max;
static unsigned char seen_in_window[SLOTS];
static size_t targets;
static enum mode mode;
static int log_accepts;
static int ep;
static SSL_CTX *tls_ctx;
static struct conn **conns; /* by fd */
static size_t nconns;

static const char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
				"Connection: close\r\n\r\nok\n";
static const char nf_answer[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
				"Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n";

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

static int64_t cpu_us(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
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
	accepts = gaps = answers = bad = full_hs = resumed_hs = hs_fail = 0;
	targets = 0;
	dev_max = 0;
	window_start = now_us();
	window_cpu = cpu_us();
}

static void report(FILE *f) {
	double secs = (double)(now_us() - window_start) / 1e6;
	double cpu = (double)(cpu_us() - window_cpu) / 1e6;
	fprintf(f, "accepts %llu secs %.2f rate %.1f targets %zu gap_dev_p50_ms %.1f gap_dev_p99_ms %.1f "
		   "gap_dev_max_ms %.1f answers %llu answer_rate %.1f bad %llu full_hs %llu resumed_hs %llu "
		   "hs_fail %llu cpu_pct %.1f\n",
		(unsigned long long)accepts, secs, secs > 0 ? (double)accepts / secs : 0, targets,
		gaps ? percentile_ms(0.50) : 0, gaps ? percentile_ms(0.99) : 0, (double)dev_max / 1000.0,
		(unsigned long long)answers, secs > 0 ? (double)answers / secs : 0, (unsigned long long)bad,
		(unsigned long long)full_hs, (unsigned long long)resumed_hs, (unsigned long long)hs_fail,
		secs > 0 ? 100 * cpu / secs : 0);
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

/* ---- http and https connections ---- */

static void conn_free(struct conn *c) {
	if (c->ssl)
		SSL_free(c->ssl); /* before close: no I/O, only the memory */
	close(c->fd);         /* also takes it out of the epoll set */
	conns[c->fd] = NULL;
	free(c);
}

static void conn_want(struct conn *c, uint32_t events) {
	if (c->events == events)
		return;
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)c->fd};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

/* TLS or plain I/O. Bytes, 0 on EOF, -1 on error, -2 would block (the events to wait set). */
static ssize_t conn_io(struct conn *c, int wr, void *buf, size_t n) {
	if (!c->ssl) {
		ssize_t r = wr ? send(c->fd, buf, n, MSG_NOSIGNAL) : recv(c->fd, buf, n, 0);
		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EINTR) {
			conn_want(c, wr ? EPOLLOUT : EPOLLIN);
			return -2;
		}
		return -1;
	}
	ERR_clear_error();
	int r = wr ? SSL_write(c->ssl, buf, (int)n) : SSL_read(c->ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ: conn_want(c, EPOLLIN); return -2;
	case SSL_ERROR_WANT_WRITE: conn_want(c, EPOLLOUT); return -2;
	case SSL_ERROR_ZERO_RETURN: return 0;
	default: ERR_clear_error(); return -1;
	}
}

/* Advances one connection as far as it goes without blocking; frees it when it is done. */
static void conn_step(struct conn *c) {
	for (;;) {
		switch (c->state) {
		case C_HANDSHAKE: {
			ERR_clear_error();
			int r = SSL_do_handshake(c->ssl);
			if (r == 1) {
				if (SSL_session_reused(c->ssl))
					resumed_hs++;
				else
					full_hs++;
				c->state = C_READ;
				continue;
			}
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				conn_want(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
				return;
			}
			ERR_clear_error();
			hs_fail++;
			conn_free(c);
			return;
		}
		case C_READ: {
			ssize_t r = c->len < REQ_MAX ? conn_io(c, 0, c->req + c->len, REQ_MAX - c->len) : -1;
			if (r == -2)
				return;
			if (r <= 0) { /* closed, reset or too long before the end of the headers */
				bad++;
				conn_free(c);
				return;
			}
			c->len += (size_t)r;
			c->req[c->len] = 0;
			if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n"))
				continue;
			if (strncmp(c->req, "GET /healthz ", 13) == 0) {
				c->out = ok_answer, c->out_len = sizeof(ok_answer) - 1;
				answers++;
			} else {
				c->out = nf_answer, c->out_len = sizeof(nf_answer) - 1;
				bad++;
			}
			c->state = C_WRITE;
			continue;
		}
		case C_WRITE: {
			if (c->off == c->out_len) {
				if (c->ssl) {
					ERR_clear_error();
					SSL_shutdown(c->ssl); /* one close_notify, best effort */
					ERR_clear_error();
				}
				conn_free(c);
				return;
			}
			ssize_t r = conn_io(c, 1, (void *)(c->out + c->off), c->out_len - c->off);
			if (r == -2)
				return;
			if (r <= 0) {
				conn_free(c);
				return;
			}
			c->off += (size_t)r;
			continue;
		}
		}
	}
}

static void conn_new(int fd) {
	if ((size_t)fd >= nconns) {
		size_t n = nconns ? nconns : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		struct conn **p = realloc(conns, n * sizeof(*p));
		if (!p) {
			close(fd);
			return;
		}
		memset(p + nconns, 0, (n - nconns) * sizeof(*p));
		conns = p, nconns = n;
	}
	struct conn *c = malloc(sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd, c->ssl = NULL, c->len = c->off = 0, c->out = NULL, c->out_len = 0;
	c->state = C_READ;
	c->events = EPOLLIN;
	if (mode == M_HTTPS) {
		c->ssl = SSL_new(tls_ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
			ERR_clear_error();
			hs_fail++;
			if (c->ssl)
				SSL_free(c->ssl);
			close(fd);
			free(c);
			return;
		}
		SSL_set_accept_state(c->ssl);
		c->state = C_HANDSHAKE;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (c->ssl)
			SSL_free(c->ssl);
		close(fd);
		free(c);
		return;
	}
	conns[fd] = c;
	/* The client's first bytes (request, ClientHello) come later: the loop calls conn_step. */
}

/* ---- listeners ---- */

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
		if (log_accepts) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			printf("accept %lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
			fflush(stdout);
		}
		if (mode == M_TCP)
			close(c);
		else
			conn_new(c);
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

static SSL_CTX *tls_setup(const char *cert, const char *key) {
	static const unsigned char sid_ctx[] = "benchsrv";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_print_errors_fp(stderr);
		return NULL;
	}
	/* Resumption: the server-side cache (TLS 1.2 session ids, OpenSSL's default) and stateless
	 * tickets (TLS 1.2 and 1.3, the default); the context id lets cached sessions be used. */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 1 << 16);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

int main(int argc, char **argv) {
	int64_t interval_us = 1000000;
	const char *out_path = NULL, *cert = NULL, *key = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "ai:o:m:c:k:")) != -1) {
		if (opt == 'a')
			log_accepts = 1;
		else if (opt == 'i')
			interval_us = atoll(optarg) * 1000;
		else if (opt == 'o')
			out_path = optarg;
		else if (opt == 'c')
			cert = optarg;
		else if (opt == 'k')
			key = optarg;
		else if (opt == 'm' && strcmp(optarg, "tcp") == 0)
			mode = M_TCP;
		else if (opt == 'm' && strcmp(optarg, "http") == 0)
			mode = M_HTTP;
		else if (opt == 'm' && strcmp(optarg, "https") == 0)
			mode = M_HTTPS;
		else
			return 2;
	}
	int nports = argc - optind;
	if (nports < 1 || nports > MAX_PORTS || (mode == M_HTTPS && (!cert || !key))) {
		fprintf(stderr, "usage: benchsrv [-a] [-i INTERVAL_MS] [-o REPORT] [-m tcp|http|https] [-c CERT -k KEY] "
				"PORT... (1 to %d ports; https needs -c and -k)\n",
			MAX_PORTS);
		return 2;
	}
	if (mode == M_HTTPS && !(tls_ctx = tls_setup(cert, key))) {
		fprintf(stderr, "benchsrv: cannot use %s and %s\n", cert, key);
		return 1;
	}
	FILE *out = out_path ? fopen(out_path, "a") : stdout;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!out || ep < 0) {
		perror("benchsrv");
		return 1;
	}
	for (int i = 0; i < nports; i++) {
		int fd = listen_on(atoi(argv[optind + i]));
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTENER | ((uint64_t)i << 32) | (uint32_t)fd};
		if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			fprintf(stderr, "benchsrv: port %s: %s\n", argv[optind + i], strerror(errno));
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_sig}; /* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	reset();
	while (!stop) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			if (d & LISTENER)
				drain((int)(uint32_t)d, (size_t)((d & ~LISTENER) >> 32), interval_us);
			else if (d < nconns && conns[d])
				conn_step(conns[d]);
		}
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
