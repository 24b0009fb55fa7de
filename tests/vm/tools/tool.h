/* tool.h: what the VM test tools (lbnet, hcsrv, sdnotify) share; not part of ezlb.
 *
 * Header-only: each tool is one translation unit that includes this file, so every function is
 * static inline (no "unused" warnings for the ones a tool does not call). Messages go to stderr
 * as "WHO: ..." where WHO is the caller's prefix ("lbnet serve", "hcsrv", ...).
 * Define TOOL_TLS before including it for the OpenSSL helpers at the end (then link -lssl -lcrypto).
 */
#ifndef TOOL_H
#define TOOL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NAME_LEN 64  /* longest backend name a client counts */
#define MAX_NAMES 64 /* distinct names a client counts; more are failures */

/* ---- time ---- */

/* Milliseconds of clock id (CLOCK_MONOTONIC, CLOCK_REALTIME). */
static inline long long clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
static inline long long mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* Microseconds of clock id. */
static inline unsigned long long clock_usec(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* ---- addresses and sockets ---- */

/* "1.2.3.4:80", "[::1]:80" into ss/len, else "WHO: bad address S", -1; lax_port: "ADDR:" is port 0. */
static inline int parse_addr(const char *who, const char *s, bool lax_port, struct sockaddr_storage *ss,
			     socklen_t *len)
{
	char host[128];
	const char *colon;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, end - s - 1);
		host[end - s - 1] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			goto bad;
		memcpy(host, s, colon - s);
		host[colon - s] = 0;
	}
	char *endp;
	long port = strtol(colon + 1, &endp, 10);
	if ((!lax_port && !colon[1]) || *endp || port < 0 || port > 65535)
		goto bad;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
bad:
	fprintf(stderr, "%s: bad address %s\n", who, s);
	return -1;
}

/* Bound (TCP: listening) socket, "[::]" dual-stack, | flags; else "WHO: udp|tcp SPEC: ERROR", -1. */
static inline int server_socket(const char *who, const char *spec, const struct sockaddr_storage *ss,
				socklen_t len, bool udp, int flags)
{
	int fd = socket(ss->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | flags, 0);
	if (fd >= 0) {
		int one = 1, zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss->ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (const struct sockaddr *)ss, len) == 0 && (udp || listen(fd, 4096) == 0))
			return fd;
		int e = errno;
		close(fd);
		errno = e;
	}
	fprintf(stderr, "%s: %s %s: %s\n", who, udp ? "udp" : "tcp", spec, strerror(errno));
	return -1;
}

/* Waits until fd is ready for events or the deadline (mono_ms) passes: 1 ready, 0 timeout, -1 error. */
static inline int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- servers: signals, detaching, pidfile ---- */

static volatile sig_atomic_t stop; /* set by SIGTERM or SIGINT once catch_term() ran */

/* The handler catch_term() installs. */
static inline void on_term(int sig) { (void)sig; stop = 1; }

/* SIGTERM and SIGINT set stop; no SA_RESTART, so they interrupt a blocking call and the loop ends. */
static inline void catch_term(void)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Forks: the parent prints the child's pid, exits 0; the child goes on (new session, stdin/out null). */
static inline void detach(const char *who)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		printf("%d\n", (int)pid);
		exit(0);
	}
	setsid();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
	}
}

/* Writes "PID\n" to path (nothing when path is NULL); on failure says "WHO: pidfile: ERROR", returns -1. */
static inline int write_pidfile(const char *who, const char *path)
{
	if (!path)
		return 0;
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
		fprintf(stderr, "%s: pidfile: %s\n", who, strerror(errno));
		return -1;
	}
	return 0;
}

/* Once bound: catch_term(), SIGPIPE ignored, detach(who) if daemonize, then the pidfile; -1 if that fails. */
static inline int start_server(const char *who, bool daemonize, const char *pidfile)
{
	catch_term();
	signal(SIGPIPE, SIG_IGN);
	if (daemonize)
		detach(who);
	return write_pidfile(who, pidfile);
}

/* ---- clients: counting answers per name ---- */

/* Answers per name and failures of one client run. */
struct tally {
	char names[MAX_NAMES][NAME_LEN + 2];
	long counts[MAX_NAMES];
	int n;
	long fail;
};

/* Counts one answer from name (a failure once MAX_NAMES names are known). */
static inline void tally_add(struct tally *t, const char *name)
{
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->names[i], name) == 0) {
			t->counts[i]++;
			return;
		}
	}
	if (t->n == MAX_NAMES) {
		t->fail++;
		return;
	}
	snprintf(t->names[t->n], sizeof(t->names[0]), "%s", name);
	t->counts[t->n++] = 1;
}

/* qsort comparison of two NUL-terminated strings stored inline. */
static inline int tally_cmp(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* Prints one "NAME COUNT" line per name, sorted, then "fail COUNT" (the tests parse this). */
static inline void tally_print(const struct tally *t)
{
	char lines[MAX_NAMES][NAME_LEN + 40];
	for (int i = 0; i < t->n; i++)
		snprintf(lines[i], sizeof(lines[i]), "%s %ld", t->names[i], t->counts[i]);
	qsort(lines, t->n, sizeof(lines[0]), tally_cmp);
	for (int i = 0; i < t->n; i++)
		printf("%s\n", lines[i]);
	printf("fail %ld\n", t->fail);
}

/* ---- TLS servers (OpenSSL), with TOOL_TLS ---- */
#ifdef TOOL_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>

/* Server context from a PEM chain and its key, partial writes allowed; NULL with OpenSSL's errors queued. */
static inline SSL_CTX *tls_server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx); /* NULL is fine; the error queue stays */
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/* Server-side SSL on an accepted non-blocking fd, not yet handshaken; NULL (errors cleared) on failure. */
static inline SSL *tls_accept(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/* Advances the handshake: 1 done, -2 would block (*want: EPOLLIN or EPOLLOUT), -1 failed. */
static inline int tls_handshake(SSL *ssl, uint32_t *want)
{
	ERR_clear_error();
	int r = SSL_do_handshake(ssl);
	if (r == 1)
		return 1;
	int e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
		return -2;
	}
	ERR_clear_error(); /* e.g. the client rejected our certificate */
	return -1;
}

/* Sends one close_notify, best effort, never waiting for the peer's. */
static inline void tls_close_notify(SSL *ssl)
{
	ERR_clear_error();
	SSL_shutdown(ssl);
	ERR_clear_error();
}

/* Reads or writes fd, over ssl when not NULL: bytes, 0 on EOF, -1 on error, -2 would block (*want set). */
static inline ssize_t sock_io(int fd, SSL *ssl, bool wr, void *buf, size_t n, uint32_t *want)
{
	if (!ssl) {
		ssize_t r = wr ? send(fd, buf, n, MSG_NOSIGNAL) : recv(fd, buf, n, 0);
		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EINTR) {
			*want = wr ? EPOLLOUT : EPOLLIN;
			return -2;
		}
		return -1;
	}
	ERR_clear_error();
	int r = wr ? SSL_write(ssl, buf, (int)n) : SSL_read(ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ: *want = EPOLLIN; return -2;
	case SSL_ERROR_WANT_WRITE: *want = EPOLLOUT; return -2;
	case SSL_ERROR_ZERO_RETURN: return 0;
	default: ERR_clear_error(); return -1;
	}
}
#endif /* TOOL_TLS */

#endif /* TOOL_H */
