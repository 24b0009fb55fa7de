/* lbnet: a tiny traffic tool for the VM tests (not part of ezlb).
 *
 *   lbnet serve [-u | -e] [-d] [-p PIDFILE] ADDR:PORT NAME
 *       TCP: accept, write "NAME\n", close.  UDP (-u): answer each datagram with "NAME\n".
 *       Echo (-e, TCP): each connection is served by its own child process (the parent goes on
 *       accepting at once; children are reaped on SIGCHLD, none is left a zombie): it writes
 *       "NAME\n", then answers every line received with "NAME LINE\n" until the peer closes.
 *       Children die with the server (SIGTERM to it ends every connection it serves).
 *       The socket is bound before the process detaches (-d), so when the command returns the
 *       server is already listening.  "[::]:PORT" serves IPv4 and IPv6.  Exits on SIGTERM.
 *   lbnet client [-u] [-t TIMEOUT_MS] [-w WAIT_MS] [-s SPORT] [-S SRCADDR] ADDR:PORT N
 *   lbnet client [-u] [-t TIMEOUT_MS] [-w WAIT_MS] [-s SPORT] [-S SRCADDR] ADDR:PORT --for SECONDS
 *       N sequential connections (or as many as fit in SECONDS), each with its own timeout, then
 *       prints one "NAME COUNT" line per answering name (sorted) and "fail COUNT".
 *       With --for it also prints "longest_outage_ms MS": the longest run of failures.
 *       -s binds exchange i to source port SPORT+i (wrapping below 65536): IPVS keeps a UDP
 *       entry per client address and port for minutes, and random ephemeral ports repeat often
 *       enough (birthday odds) to pin a few exchanges to an earlier backend.
 *       -S binds every exchange to the source address SRCADDR (an IP of the ADDR's family, e.g.
 *       one of several client addresses; with -s as well, to that address and port).
 *       Exit status 0 when nothing failed, 1 otherwise, 2 on usage errors.
 *   lbnet hold [-i INTERVAL_MS] [-t TIMEOUT_MS] ADDR:PORT STOPFILE
 *       One long-lived TCP connection to an echo server (serve -e): connects, reads the NAME
 *       line and prints "connected NAME"; then every INTERVAL_MS (default 200) sends a line and
 *       expects its echo within TIMEOUT_MS (default 1000), until the file STOPFILE exists; then
 *       closes and prints "closed NAME exchanges N failures F".  Each failure (timeout, wrong
 *       answer, another name, the connection lost) is printed at once as "failed ...", and F
 *       counts them; a lost connection ends the run at once.  N counts the exchanges answered.
 *       A connection that cannot be made prints "failed connect: REASON".  Exit status 0 when
 *       F is 0 (so the name never changed), else 1.  Needs no /dev/fd: the stop is a plain file.
 *   lbnet holdmany [-n N] [-i INTERVAL_MS] [-t CONNECT_MS] [-S SRCADDR] ADDR:PORT STOPFILE
 *       N (default 10, at most 256) long-lived TCP connections to an echo server (serve -e), all
 *       driven by one poll loop (non-blocking sockets, a line buffer per connection).  Each one
 *       reads its "NAME\n" greeting within CONNECT_MS (default 10000) and prints "conn I connected
 *       NAME" (I from 1 to N); then it sends "ping SEQ\n" and waits for "NAME ping SEQ", however
 *       late: the next line goes INTERVAL_MS (default 100) after the previous one was sent, or at
 *       once when its echo came back later than that.  A late echo is no failure (in a failover
 *       TCP retransmits until the path is back): what is measured is each connection's longest
 *       gap between two consecutive answers (the greeting counts as the first one, and the time
 *       from the last answer to the stop counts too).  A connection that cannot be made, is
 *       closed or reset, answers with another NAME or with anything but the expected line is
 *       lost: "conn I lost REASON" at once, and it is closed.  Once STOPFILE exists (looked at
 *       every 50 ms; SIGTERM and SIGINT do the same), every connection is closed and it prints
 *       "conn I NAME exchanges E max_gap_ms G lost 0|1" for each (NAME "-" if none came) and
 *       "holdmany conns N survived S max_gap_ms G", G the largest gap of the survivors (0 if
 *       none).  E counts the echoes received.  Exit status 0 when S == N, else 1 (2: usage).
 *       -S binds every connection to the source address SRCADDR (the port is the kernel's choice).
 *   lbnet blast [-S SRCADDR] -r PPS -f FLOWS -d SECONDS [-l LEN] [-i INTERVAL_MS] ADDR:PORT
 *       A fixed UDP load, one process: FLOWS connected UDP sockets (at most 4096; each has its own
 *       source port, the kernel's choice, and SRCADDR with -S) take turns, datagram i on socket
 *       i % FLOWS, each datagram LEN bytes (default 64, at most 65507).  PPS datagrams per second
 *       in total, paced on absolute deadlines of CLOCK_MONOTONIC (clock_nanosleep TIMER_ABSTIME):
 *       datagram i is due at start + i / PPS; one wake-up sends every datagram due by then, and
 *       wake-ups are at least INTERVAL_MS apart (default 1), so above 1000 / INTERVAL_MS pps they
 *       go in bursts of about PPS * INTERVAL_MS / 1000.  Stops after SECONDS (PPS * SECONDS
 *       datagrams), or on SIGTERM/SIGINT, and prints "blast sent N secs S rate R late L": N
 *       datagrams sent (send() succeeded), S the seconds from the first to the end, R = N / S, L
 *       how many were sent more than 10 ms behind schedule (the sender or the VM fell behind):
 *       after the later of their due time and the wake-up meant to send them.  Failed sends are
 *       not counted in N; their count goes to stderr as "lbnet blast: E sends failed (LAST
 *       ERROR)".  Nothing is read: the peer need not answer.
 *       Exit status 0 when every send succeeded, 1 otherwise, 2 on usage errors.
 *   lbnet sink [-u] ADDR:PORT
 *       Reads UDP datagrams on ADDR:PORT (bound before the first read; -u is accepted for
 *       symmetry with serve, UDP is the only kind) and answers nothing; on SIGTERM or SIGINT
 *       prints "sink received N bytes B" and exits 0.  recvmmsg reads up to 64 at a time; the
 *       receive buffer is asked for 4 MiB (capped by net.core.rmem_max).
 */
#define _GNU_SOURCE
#include "tool.h"

#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void usage(void)
{
	fprintf(stderr, "usage: lbnet serve [-u | -e] [-d] [-p PIDFILE] ADDR:PORT NAME\n"
			"       lbnet client [-u] [-t TIMEOUT_MS] [-w WAIT_MS] [-s SPORT] [-S SRCADDR] ADDR:PORT (N | --for SECONDS)\n"
			"       lbnet hold [-i INTERVAL_MS] [-t TIMEOUT_MS] ADDR:PORT STOPFILE\n"
			"       lbnet holdmany [-n N] [-i INTERVAL_MS] [-t CONNECT_MS] [-S SRCADDR] ADDR:PORT STOPFILE\n"
			"       lbnet blast [-S SRCADDR] -r PPS -f FLOWS -d SECONDS [-l LEN] [-i INTERVAL_MS] ADDR:PORT\n"
			"       lbnet sink [-u] ADDR:PORT\n");
	exit(2);
}

/* ---- server ---- */

static void serve_tcp(int fd, const char *msg, size_t n)
{
	while (!stop) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue; /* EINTR on SIGTERM, or a transient error */
		/* The reply is tiny, so one write into an empty socket buffer never blocks. */
		if (write(c, msg, n) < 0 && errno != ECONNRESET && errno != EPIPE)
			perror("lbnet serve: write"); /* health probes reset at once: not news */
		close(c);
	}
}

/* Writes all of buf (blocking fd); 0, or -1 on an error. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= w;
	}
	return 0;
}

/* Echo child: "NAME\n", then "NAME LINE\n" for each line received, until EOF or an error. */
static void echo_conn(int c, const char *name)
{
	char buf[4096], out[sizeof(buf) + NAME_LEN + 4];
	size_t len = 0, nlen = strlen(name);
	if (dprintf(c, "%s\n", name) < 0)
		return; /* a health probe resets at once: nothing to say */
	for (;;) {
		ssize_t r = recv(c, buf + len, sizeof(buf) - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		len += r;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', len - start);
			size_t end;
			if (nl)
				end = nl - buf;
			else if (start == 0 && len == sizeof(buf))
				end = len; /* a line longer than the buffer: echo it in pieces */
			else
				break;
			memcpy(out, name, nlen);
			out[nlen] = ' ';
			memcpy(out + nlen + 1, buf + start, end - start);
			out[nlen + 1 + end - start] = '\n';
			if (write_all(c, out, nlen + 2 + end - start) < 0)
				return;
			start = nl ? end + 1 : end;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
	}
}

static void reap(int sig)
{
	(void)sig;
	int e = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = e;
}

/* Echo server: one child per connection; the parent only accepts, forks and reaps. */
static void serve_echo(int fd, const char *name)
{
	/* SA_RESTART: a child's exit must not look like SIGTERM to accept(). */
	struct sigaction sa = {.sa_handler = reap, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
	sigaction(SIGCHLD, &sa, NULL);
	pid_t parent = getpid();
	while (!stop) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGCHLD, SIG_DFL);
			/* The connections end with the server (unserve kills the backend whole). */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(0);
			close(fd);
			echo_conn(c, name);
			_exit(0);
		}
		if (pid < 0) {
			perror("lbnet serve: fork");
			usleep(10000);
		}
		close(c);
	}
}

static void serve_udp(int fd, const char *msg, size_t n)
{
	char buf[2048];
	while (!stop) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (r < 0)
			continue;
		if (sendto(fd, msg, n, 0, (struct sockaddr *)&peer, plen) < 0)
			perror("lbnet serve: sendto");
	}
}

static int cmd_serve(int argc, char **argv)
{
	int udp = 0, echo = 0, daemonize = 0, opt;
	const char *pidfile = NULL;
	while ((opt = getopt(argc, argv, "uedp:")) != -1) {
		switch (opt) {
		case 'u': udp = 1; break;
		case 'e': echo = 1; break;
		case 'd': daemonize = 1; break;
		case 'p': pidfile = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || (udp && echo))
		usage();
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("lbnet serve", argv[optind], true, &ss, &len) < 0)
		return 2;
	char msg[NAME_LEN + 2];
	int n = snprintf(msg, sizeof(msg), "%s\n", argv[optind + 1]);
	if (n <= 1 || n >= (int)sizeof(msg)) {
		fprintf(stderr, "lbnet serve: bad name\n");
		return 2;
	}
	int fd = server_socket("lbnet serve", argv[optind], &ss, len, udp, 0);
	if (fd < 0)
		return 1;
	if (start_server("lbnet serve", daemonize, pidfile) < 0) /* SIGTERM interrupts accept()/recvfrom() */
		return 1;
	if (udp)
		serve_udp(fd, msg, n);
	else if (echo)
		serve_echo(fd, argv[optind + 1]);
	else
		serve_tcp(fd, msg, n);
	close(fd);
	return 0;
}

/* ---- source addresses (client, holdmany) ---- */

/* SRCADDR, a bare IP of the destination's family, into src (port 0); else "WHO: bad source
 * address S", -1. */
static int parse_src(const char *who, const char *s, int family, struct sockaddr_storage *src)
{
	memset(src, 0, sizeof(*src));
	src->ss_family = family;
	void *dst = family == AF_INET ? (void *)&((struct sockaddr_in *)src)->sin_addr
				      : (void *)&((struct sockaddr_in6 *)src)->sin6_addr;
	if (inet_pton(family, s, dst) == 1)
		return 0;
	fprintf(stderr, "%s: bad source address %s (an IPv%c address, without a port)\n", who, s,
		family == AF_INET ? '4' : '6');
	return -1;
}

/* Binds fd to src (when NULL, to the wildcard address of family) and port (0: the kernel picks
 * the port at connect time). Returns bind()'s result. */
static int bind_src(int fd, const struct sockaddr_storage *src, int family, socklen_t len, int port)
{
	struct sockaddr_storage a = {.ss_family = family};
	int one = 1;
	if (src)
		a = *src;
	if (family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
	if (port > 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else if (family == AF_INET) /* no port reserved at bind time: 4-tuples, not ports, must be unique */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&a, len);
}

/* ---- client ---- */

/* One exchange, from src (NULL: any) and sport (0: any); fills name (without newline). Returns 0
 * on success, -1 on any failure. */
static int exchange(const struct sockaddr_storage *ss, socklen_t len, int udp, int timeout_ms,
		    const struct sockaddr_storage *src, int sport, char *name)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = socket(ss->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int ok = -1;
	size_t got = 0;
	char buf[NAME_LEN + 2];
	if ((src || sport > 0) && bind_src(fd, src, ss->ss_family, len, sport) < 0)
		goto out;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS)
		goto out;
	if (udp && send(fd, "?\n", 2, 0) != 2)
		goto out;
	while (got < sizeof(buf) - 1) {
		if (wait_fd(fd, POLLIN, deadline) != 1)
			goto out;
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break; /* EOF ends a TCP answer; errors such as ECONNREFUSED fail below */
		got += r;
		if (udp || memchr(buf, '\n', got))
			break;
	}
	buf[got] = 0;
	char *nl = strchr(buf, '\n');
	if (!nl || nl == buf)
		goto out;
	*nl = 0;
	memcpy(name, buf, nl - buf + 1);
	ok = 0;
out:
	close(fd);
	return ok;
}

static int cmd_client(int argc, char **argv)
{
	int udp = 0, opt;
	long timeout_ms = 1000, wait_ms = 0, for_s = -1, count = -1, sport = 0;
	const char *srcaddr = NULL;
	/* "--for" is handled by hand so that getopt's permutation stays out of the way. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
			for_s = strtol(argv[i + 1], NULL, 10);
			memmove(&argv[i], &argv[i + 2], (argc - i - 1) * sizeof(char *));
			argc -= 2;
			break;
		}
	}
	while ((opt = getopt(argc, argv, "ut:w:s:S:")) != -1) {
		switch (opt) {
		case 'u': udp = 1; break;
		case 's': sport = strtol(optarg, NULL, 10); break;
		case 'S': srcaddr = optarg; break;
		case 't': timeout_ms = strtol(optarg, NULL, 10); break;
		case 'w': wait_ms = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (for_s >= 0 ? argc - optind != 1 : argc - optind != 2)
		usage();
	if (for_s < 0)
		count = strtol(argv[optind + 1], NULL, 10);
	if (timeout_ms <= 0 || (for_s < 0 && count <= 0) || (sport != 0 && (sport < 1024 || sport > 65535)))
		usage();
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("lbnet client", argv[optind], true, &ss, &len) < 0)
		return 2;
	struct sockaddr_storage src;
	if (srcaddr && parse_src("lbnet client", srcaddr, ss.ss_family, &src) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	static struct tally t;
	int64_t end = for_s >= 0 ? mono_ms() + for_s * 1000 : 0;
	int64_t outage_start = -1, longest = 0;
	for (long i = 0; for_s >= 0 ? mono_ms() < end : i < count; i++) {
		char name[NAME_LEN + 2];
		int64_t start = mono_ms();
		int port = sport > 0 ? (int)(1024 + (sport - 1024 + i) % (65536 - 1024)) : 0;
		if (exchange(&ss, len, udp, (int)timeout_ms, srcaddr ? &src : NULL, port, name) == 0) {
			tally_add(&t, name);
			if (outage_start >= 0 && start - outage_start > longest)
				longest = start - outage_start;
			outage_start = -1;
		} else {
			t.fail++;
			if (outage_start < 0)
				outage_start = start;
		}
		if (wait_ms > 0)
			usleep(wait_ms * 1000);
	}
	if (outage_start >= 0 && mono_ms() - outage_start > longest)
		longest = mono_ms() - outage_start;
	tally_print(&t);
	if (for_s >= 0)
		printf("longest_outage_ms %lld\n", (long long)longest);
	return t.fail ? 1 : 0;
}

/* ---- hold: one long-lived connection ---- */

struct linebuf {
	int fd;
	char buf[4096];
	size_t len;
};

/* Reads one line (without its newline, NUL-terminated into line) by deadline: 1 a line, 0 timeout,
 * -1 EOF, -2 error (errno set). */
static int read_line(struct linebuf *lb, char *line, size_t size, long long deadline)
{
	for (;;) {
		char *nl = memchr(lb->buf, '\n', lb->len);
		if (nl || lb->len == sizeof(lb->buf)) {
			size_t n = nl ? (size_t)(nl - lb->buf) : lb->len;
			size_t k = n < size - 1 ? n : size - 1;
			memcpy(line, lb->buf, k);
			line[k] = 0;
			size_t used = nl ? n + 1 : n;
			memmove(lb->buf, lb->buf + used, lb->len - used);
			lb->len -= used;
			return 1;
		}
		int w = wait_fd(lb->fd, POLLIN, deadline);
		if (w == 0)
			return 0;
		if (w < 0)
			return -2;
		ssize_t r = recv(lb->fd, lb->buf + lb->len, sizeof(lb->buf) - lb->len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r == 0)
			return -1;
		if (r < 0)
			return -2;
		lb->len += r;
	}
}

static int cmd_hold(int argc, char **argv)
{
	long interval_ms = 200, timeout_ms = 1000;
	int opt;
	while ((opt = getopt(argc, argv, "i:t:")) != -1) {
		switch (opt) {
		case 'i': interval_ms = strtol(optarg, NULL, 10); break;
		case 't': timeout_ms = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || interval_ms <= 0 || timeout_ms <= 0)
		usage();
	const char *stopfile = argv[optind + 1];
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("lbnet hold", argv[optind], false, &ss, &len) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);

	static struct linebuf lb;
	char name[NAME_LEN + 2], line[512];
	long long deadline = mono_ms() + timeout_ms;
	lb.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lb.fd < 0) {
		printf("failed connect: socket: %s\n", strerror(errno));
		return 1;
	}
	if (connect(lb.fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		printf("failed connect: %s\n", strerror(errno));
		return 1;
	}
	int r = read_line(&lb, line, sizeof(line), deadline); /* the NAME line also proves the connect */
	if (r != 1 || !line[0] || strlen(line) > NAME_LEN || strchr(line, ' ')) {
		if (r == 1)
			printf("failed connect: bad greeting \"%s\"\n", line);
		else if (r == 0)
			printf("failed connect: no greeting within %ld ms\n", timeout_ms);
		else if (r == -1)
			printf("failed connect: closed by the peer\n");
		else
			printf("failed connect: %s\n", strerror(errno));
		return 1;
	}
	snprintf(name, sizeof(name), "%s", line);
	printf("connected %s\n", name);

	long exchanges = 0, failures = 0;
	bool lost = false;
	long long next = mono_ms();
	for (long seq = 1; access(stopfile, F_OK) != 0; seq++) {
		char req[64], want[NAME_LEN + 80];
		int n = snprintf(req, sizeof(req), "ping %ld\n", seq);
		snprintf(want, sizeof(want), "%s ping %ld", name, seq);
		if (write_all(lb.fd, req, n) < 0) { /* the socket buffer is nearly empty: never blocks long */
			failures++;
			if (errno == EAGAIN) {
				printf("failed exchange %ld: send buffer full\n", seq);
			} else {
				printf("failed exchange %ld: send: %s\n", seq, strerror(errno));
				lost = true;
				break;
			}
		} else {
			deadline = mono_ms() + timeout_ms;
			for (;;) {
				r = read_line(&lb, line, sizeof(line), deadline);
				if (r == 1 && strcmp(line, want) == 0) {
					exchanges++;
					break;
				}
				if (r == 1) {
					long k;
					char other[NAME_LEN + 2];
					/* a late answer to an exchange that timed out: skip it */
					if (sscanf(line, "%65s ping %ld", other, &k) == 2 && strcmp(other, name) == 0 &&
					    k < seq)
						continue;
					printf("failed exchange %ld: answer \"%s\", expected \"%s\"\n", seq, line, want);
				} else if (r == 0) {
					printf("failed exchange %ld: no answer within %ld ms\n", seq, timeout_ms);
				} else if (r == -1) {
					printf("failed exchange %ld: connection closed by the peer\n", seq);
					lost = true;
				} else {
					printf("failed exchange %ld: recv: %s\n", seq, strerror(errno));
					lost = true;
				}
				failures++;
				break;
			}
			if (lost)
				break;
		}
		/* Next tick; the stop file is looked at every 50 ms meanwhile. */
		next += interval_ms;
		for (long long now = mono_ms(); now < next && access(stopfile, F_OK) != 0; now = mono_ms())
			usleep((next - now > 50 ? 50 : next - now) * 1000);
		if (mono_ms() > next + interval_ms)
			next = mono_ms(); /* fell behind (a timeout): no burst to catch up */
	}
	close(lb.fd);
	printf("closed %s exchanges %ld failures %ld\n", name, exchanges, failures);
	return failures ? 1 : 0;
}

/* ---- holdmany: many long-lived connections, one poll loop ---- */

#define HM_MAX 256

struct hconn {
	int fd; /* -1 once closed */
	bool greeted, lost, waiting; /* waiting: "ping seq" sent, its echo not back yet */
	char name[NAME_LEN + 2];
	char in[512];   /* received, not yet a whole line */
	size_t inlen;
	char out[64];   /* the line being sent */
	size_t outlen, outoff;
	long seq, exchanges;
	long long next_send, last_answer, max_gap;
};

/* Connection i (0-based) is lost: says "conn I lost REASON" at once and closes it. */
static void __attribute__((format(printf, 3, 4))) hm_lose(struct hconn *c, int i, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("conn %d lost %s\n", i + 1, why);
	c->lost = true;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Sends what is left of c->out: never blocks; a full socket buffer waits for POLLOUT. */
static void hm_flush(struct hconn *c, int i)
{
	while (c->fd >= 0 && c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			hm_lose(c, i, "send: %s", w < 0 ? strerror(errno) : "nothing sent");
			return;
		}
		c->outoff += w;
	}
}

/* One whole line (NUL-terminated, without its newline) received on connection i at time now. */
static void hm_line(struct hconn *c, int i, const char *line, long long now)
{
	if (!c->greeted) {
		if (!line[0] || strlen(line) > NAME_LEN || strchr(line, ' ')) {
			hm_lose(c, i, "bad greeting \"%s\"", line);
			return;
		}
		memcpy(c->name, line, strlen(line) + 1); /* line is in c->in: no overlap */
		c->greeted = true;
		c->last_answer = c->next_send = now;
		printf("conn %d connected %s\n", i + 1, c->name);
		return;
	}
	char want[NAME_LEN + 40];
	snprintf(want, sizeof(want), "%s ping %ld", c->name, c->seq);
	if (c->waiting && strcmp(line, want) == 0) {
		c->waiting = false;
		c->exchanges++;
		if (now - c->last_answer > c->max_gap)
			c->max_gap = now - c->last_answer;
		c->last_answer = now;
		return;
	}
	size_t w = strcspn(line, " ");
	if (w != strlen(c->name) || strncmp(line, c->name, w) != 0)
		hm_lose(c, i, "answer from another server: \"%s\" (connected to %s)", line, c->name);
	else if (c->waiting)
		hm_lose(c, i, "unexpected answer \"%s\", expected \"%s\"", line, want);
	else
		hm_lose(c, i, "unexpected answer \"%s\" (none pending)", line);
}

/* Reads what connection i has (until EAGAIN) and handles each whole line. */
static void hm_read(struct hconn *c, int i)
{
	while (c->fd >= 0) {
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r == 0) {
			hm_lose(c, i, "%sclosed by the peer", c->greeted ? "" : "connect: ");
			return;
		}
		if (r < 0) {
			hm_lose(c, i, "%s%s", c->greeted ? "recv: " : "connect: ", strerror(errno));
			return;
		}
		c->inlen += r;
		long long now = mono_ms();
		size_t start = 0;
		char *nl;
		while (c->fd >= 0 && (nl = memchr(c->in + start, '\n', c->inlen - start))) {
			*nl = 0;
			hm_line(c, i, c->in + start, now);
			start = nl - c->in + 1;
		}
		if (c->fd < 0)
			return;
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
		if (c->inlen == sizeof(c->in)) {
			hm_lose(c, i, "a line longer than %zu bytes", sizeof(c->in));
			return;
		}
	}
}

static int cmd_holdmany(int argc, char **argv)
{
	long n = 10, interval_ms = 100, connect_ms = 10000;
	const char *srcaddr = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "n:i:t:S:")) != -1) {
		switch (opt) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'i': interval_ms = strtol(optarg, NULL, 10); break;
		case 't': connect_ms = strtol(optarg, NULL, 10); break;
		case 'S': srcaddr = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || n < 1 || n > HM_MAX || interval_ms <= 0 || connect_ms <= 0)
		usage();
	const char *stopfile = argv[optind + 1];
	struct sockaddr_storage ss, src;
	socklen_t len;
	if (parse_addr("lbnet holdmany", argv[optind], false, &ss, &len) < 0)
		return 2;
	if (srcaddr && parse_src("lbnet holdmany", srcaddr, ss.ss_family, &src) < 0)
		return 2;
	catch_term(); /* SIGTERM/SIGINT: stop as if STOPFILE existed, with the report */
	signal(SIGPIPE, SIG_IGN);

	static struct hconn conns[HM_MAX];
	long long connect_deadline = mono_ms() + connect_ms;
	for (int i = 0; i < n; i++) {
		struct hconn *c = &conns[i];
		memset(c, 0, sizeof(*c));
		c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			hm_lose(c, i, "connect: socket: %s", strerror(errno));
			continue;
		}
		if (srcaddr && bind_src(c->fd, &src, ss.ss_family, len, 0) < 0) {
			hm_lose(c, i, "connect: bind %s: %s", srcaddr, strerror(errno));
			continue;
		}
		if (connect(c->fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
			hm_lose(c, i, "connect: %s", strerror(errno));
	}

	static struct pollfd pfd[HM_MAX];
	static int idx[HM_MAX];
	while (!stop && access(stopfile, F_OK) != 0) {
		long long now = mono_ms(), wake = now + 50; /* the stop file is looked at every 50 ms */
		int np = 0;
		for (int i = 0; i < n; i++) {
			struct hconn *c = &conns[i];
			if (c->fd < 0)
				continue;
			if (!c->greeted) {
				if (now >= connect_deadline) {
					hm_lose(c, i, "connect: no greeting within %ld ms", connect_ms);
					continue;
				}
				if (connect_deadline < wake)
					wake = connect_deadline;
			} else if (!c->waiting) {
				if (now >= c->next_send) {
					c->seq++;
					c->outlen = snprintf(c->out, sizeof(c->out), "ping %ld\n", c->seq);
					c->outoff = 0;
					c->waiting = true;
					c->next_send = now + interval_ms;
					hm_flush(c, i);
					if (c->fd < 0)
						continue;
				} else if (c->next_send < wake) {
					wake = c->next_send;
				}
			}
			pfd[np] = (struct pollfd){.fd = c->fd, .events = POLLIN | (c->outoff < c->outlen ? POLLOUT : 0)};
			idx[np++] = i;
		}
		int r = poll(pfd, np, (int)(wake > now ? wake - now : 0));
		if (r < 0 && errno != EINTR) {
			perror("lbnet holdmany: poll");
			return 1;
		}
		for (int k = 0; r > 0 && k < np; k++) {
			struct hconn *c = &conns[idx[k]];
			if (pfd[k].revents & POLLOUT)
				hm_flush(c, idx[k]);
			if (c->fd >= 0 && (pfd[k].revents & (POLLIN | POLLERR | POLLHUP)))
				hm_read(c, idx[k]);
		}
	}

	long long end = mono_ms(), max_gap = 0;
	int survived = 0;
	for (int i = 0; i < n; i++) {
		struct hconn *c = &conns[i];
		if (c->fd >= 0 && !c->greeted)
			hm_lose(c, i, "connect: stopped before the greeting");
		if (c->fd < 0)
			continue;
		if (end - c->last_answer > c->max_gap)
			c->max_gap = end - c->last_answer;
		close(c->fd);
		c->fd = -1;
		survived++;
		if (c->max_gap > max_gap)
			max_gap = c->max_gap;
	}
	for (int i = 0; i < n; i++) {
		struct hconn *c = &conns[i];
		printf("conn %d %s exchanges %ld max_gap_ms %lld lost %d\n", i + 1, c->greeted ? c->name : "-",
		       c->exchanges, c->max_gap, c->lost ? 1 : 0);
	}
	printf("holdmany conns %ld survived %d max_gap_ms %lld\n", n, survived, max_gap);
	return survived == n ? 0 : 1;
}

/* ---- blast: a fixed UDP load; sink: counts it ---- */

#define BLAST_MAX_FLOWS 4096

static void ts_add_ns(struct timespec *t, long long ns)
{
	long long v = (long long)t->tv_sec * 1000000000LL + t->tv_nsec + ns;
	t->tv_sec = v / 1000000000LL;
	t->tv_nsec = v % 1000000000LL;
}

static long long ts_ns(const struct timespec *t) { return (long long)t->tv_sec * 1000000000LL + t->tv_nsec; }

static int cmd_blast(int argc, char **argv)
{
	long pps = 0, flows = 0, secs = 0, plen = 64, interval_ms = 1;
	const char *srcaddr = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "S:r:f:d:l:i:")) != -1) {
		switch (opt) {
		case 'S': srcaddr = optarg; break;
		case 'r': pps = strtol(optarg, NULL, 10); break;
		case 'f': flows = strtol(optarg, NULL, 10); break;
		case 'd': secs = strtol(optarg, NULL, 10); break;
		case 'l': plen = strtol(optarg, NULL, 10); break;
		case 'i': interval_ms = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 1 || pps < 1 || pps > 10000000 || flows < 1 || flows > BLAST_MAX_FLOWS || secs < 1 ||
	    plen < 1 || plen > 65507 || interval_ms < 1 || interval_ms > 1000)
		usage();
	struct sockaddr_storage ss, src;
	socklen_t len;
	if (parse_addr("lbnet blast", argv[optind], false, &ss, &len) < 0)
		return 2;
	if (srcaddr && parse_src("lbnet blast", srcaddr, ss.ss_family, &src) < 0)
		return 2;
	static int fds[BLAST_MAX_FLOWS];
	for (long i = 0; i < flows; i++) {
		fds[i] = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || (srcaddr && bind_src(fds[i], &src, ss.ss_family, len, 0) < 0) ||
		    connect(fds[i], (struct sockaddr *)&ss, len) < 0) {
			fprintf(stderr, "lbnet blast: socket %ld: %s\n", i + 1, strerror(errno));
			return 1;
		}
	}
	char *buf = calloc(1, plen);
	if (!buf) {
		perror("lbnet blast");
		return 1;
	}
	memset(buf, 'x', plen);
	catch_term();
	long long total = (long long)pps * secs, sent = 0, failed = 0, late = 0, i = 0;
	int last_err = 0;
	struct timespec t0, now, wake;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long long start = ts_ns(&t0), planned = 0; /* the wake-up asked for, from start */
	while (i < total && !stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long elapsed = ts_ns(&now) - start;
		/* Every datagram due by now: i < elapsed * pps / 1e9 (+1: datagram 0 is due at 0). */
		long long due = (long long)((__int128)elapsed * pps / 1000000000LL) + 1;
		if (due > total)
			due = total;
		for (; i < due; i++) {
			long long at = (long long)((__int128)i * 1000000000LL / pps);
			if (elapsed - (at > planned ? at : planned) > 10000000LL)
				late++;
			memcpy(buf, &i, plen < (long)sizeof(i) ? (size_t)plen : sizeof(i)); /* a sequence number */
			if (send(fds[i % flows], buf, plen, 0) == plen) {
				sent++;
			} else {
				failed++;
				last_err = errno;
			}
		}
		if (i >= total)
			break;
		/* Sleep until the next one is due, but at least INTERVAL_MS after this wake-up (bursts). */
		long long next = (long long)((__int128)i * 1000000000LL / pps);
		if (next < elapsed + interval_ms * 1000000LL)
			next = elapsed + interval_ms * 1000000LL;
		planned = next;
		wake = t0;
		ts_add_ns(&wake, next);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL) == EINTR && !stop)
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	double s = (ts_ns(&now) - start) / 1e9;
	for (long k = 0; k < flows; k++)
		close(fds[k]);
	free(buf);
	printf("blast sent %lld secs %.3f rate %.1f late %lld\n", sent, s, s > 0 ? sent / s : 0.0, late);
	if (failed) {
		fprintf(stderr, "lbnet blast: %lld sends failed (%s)\n", failed, strerror(last_err));
		return 1;
	}
	return 0;
}

static int cmd_sink(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "u")) != -1) {
		if (opt != 'u')
			usage();
	}
	if (argc - optind != 1)
		usage();
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("lbnet sink", argv[optind], true, &ss, &len) < 0)
		return 2;
	int fd = server_socket("lbnet sink", argv[optind], &ss, len, true, 0);
	if (fd < 0)
		return 1;
	int rcvbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	catch_term(); /* no SA_RESTART: SIGTERM interrupts recvmmsg */
	enum { BATCH = 64, DGRAM = 2048 };
	static char bufs[BATCH][DGRAM];
	static struct iovec iov[BATCH];
	static struct mmsghdr msgs[BATCH];
	for (int k = 0; k < BATCH; k++) {
		iov[k] = (struct iovec){.iov_base = bufs[k], .iov_len = DGRAM};
		msgs[k].msg_hdr = (struct msghdr){.msg_iov = &iov[k], .msg_iovlen = 1};
	}
	long long n = 0, bytes = 0;
	while (!stop) {
		int r = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (r < 0) {
			if (errno != EINTR)
				perror("lbnet sink: recvmmsg");
			continue;
		}
		n += r;
		for (int k = 0; k < r; k++)
			bytes += msgs[k].msg_len;
	}
	close(fd);
	printf("sink received %lld bytes %lld\n", n, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 1, argv + 1);
	if (strcmp(argv[1], "hold") == 0)
		return cmd_hold(argc - 1, argv + 1);
	if (strcmp(argv[1], "holdmany") == 0)
		return cmd_holdmany(argc - 1, argv + 1);
	if (strcmp(argv[1], "blast") == 0)
		return cmd_blast(argc - 1, argv + 1);
	if (strcmp(argv[1], "sink") == 0)
		return cmd_sink(argc - 1, argv + 1);
	usage();
}
