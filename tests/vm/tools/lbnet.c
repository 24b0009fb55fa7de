/* lbnet: a tiny traffic tool for the VM tests (not part of ezlb).
 *
 *   lbnet serve [-u] [-d] [-p PIDFILE] ADDR:PORT NAME
 *       TCP: accept, write "NAME\n", close.  UDP (-u): answer each datagram with "NAME\n".
 *       The socket is bound before the process detaches (-d), so when the command returns the
 *       server is already listening.  "[::]:PORT" serves IPv4 and IPv6.  Exits on SIGTERM.
 *   lbnet client [-u] [-t TIMEOUT_MS] [-w WAIT_MS] [-s SPORT] ADDR:PORT N
 *   lbnet client [-u] [-t TIMEOUT_MS] [-w WAIT_MS] [-s SPORT] ADDR:PORT --for SECONDS
 *       N sequential connections (or as many as fit in SECONDS), each with its own timeout, then
 *       prints one "NAME COUNT" line per answering name (sorted) and "fail COUNT".
 *       With --for it also prints "longest_outage_ms MS": the longest run of failures.
 *       -s binds exchange i to source port SPORT+i (wrapping below 65536): IPVS keeps a UDP
 *       entry per client address and port for minutes, and random ephemeral ports repeat often
 *       enough (birthday odds) to pin a few exchanges to an earlier backend.
 *       Exit status 0 when nothing failed, 1 otherwise, 2 on usage errors.
 */
#define _GNU_SOURCE
#include "tool.h"

static void usage(void)
{
	fprintf(stderr, "usage: lbnet serve [-u] [-d] [-p PIDFILE] ADDR:PORT NAME\n"
			"       lbnet client [-u] [-t TIMEOUT_MS] [-w WAIT_MS] [-s SPORT] ADDR:PORT (N | --for SECONDS)\n");
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
	int udp = 0, daemonize = 0, opt;
	const char *pidfile = NULL;
	while ((opt = getopt(argc, argv, "udp:")) != -1) {
		switch (opt) {
		case 'u': udp = 1; break;
		case 'd': daemonize = 1; break;
		case 'p': pidfile = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2)
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
	else
		serve_tcp(fd, msg, n);
	close(fd);
	return 0;
}

/* ---- client ---- */

/* One exchange; fills name (without newline). Returns 0 on success, -1 on any failure. */
static int exchange(const struct sockaddr_storage *ss, socklen_t len, int udp, int timeout_ms,
		    int sport, char *name)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = socket(ss->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int ok = -1;
	size_t got = 0;
	char buf[NAME_LEN + 2];
	if (sport > 0) {
		struct sockaddr_storage src = {.ss_family = ss->ss_family};
		int one = 1;
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons(sport);
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, len) < 0)
			goto out;
	}
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
	/* "--for" is handled by hand so that getopt's permutation stays out of the way. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
			for_s = strtol(argv[i + 1], NULL, 10);
			memmove(&argv[i], &argv[i + 2], (argc - i - 1) * sizeof(char *));
			argc -= 2;
			break;
		}
	}
	while ((opt = getopt(argc, argv, "ut:w:s:")) != -1) {
		switch (opt) {
		case 'u': udp = 1; break;
		case 's': sport = strtol(optarg, NULL, 10); break;
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
	signal(SIGPIPE, SIG_IGN);
	static struct tally t;
	int64_t end = for_s >= 0 ? mono_ms() + for_s * 1000 : 0;
	int64_t outage_start = -1, longest = 0;
	for (long i = 0; for_s >= 0 ? mono_ms() < end : i < count; i++) {
		char name[NAME_LEN + 2];
		int64_t start = mono_ms();
		int port = sport > 0 ? (int)(1024 + (sport - 1024 + i) % (65536 - 1024)) : 0;
		if (exchange(&ss, len, udp, (int)timeout_ms, port, name) == 0) {
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

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 1, argv + 1);
	usage();
}
