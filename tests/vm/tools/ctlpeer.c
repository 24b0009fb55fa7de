/* ctlpeer: a raw client of ezlb's control socket for the VM tests (not part of ezlb); bash cannot
 * open AF_UNIX sockets, and the image has neither socat nor python.
 *
 *   ctlpeer [-n N] [-t MS] [-r] PATH [REQUEST]
 *       Opens N connections (default 1) to the AF_UNIX stream socket PATH, sends REQUEST on each
 *       as given (no newline added; none sent when absent: a client that says nothing), then,
 *       unless -r, reads until the server closes each one or MS milliseconds (default 10000)
 *       have passed since the start. With -r it never reads (a client that does not read its
 *       answer) and just holds the connections for MS. Prints one line per connection:
 *           I closed MS BYTES TEXT      the server closed it after MS ms; BYTES received
 *           I open MS BYTES TEXT        still open when MS passed
 *       TEXT is what was received (its first 200 bytes, newlines as \n). Exit status 0, 1 when a
 *       connection could not be made (its line says "I error ...").
 */
#include "tool.h"
#include <sys/un.h>

#define MAX_CONNS 64
#define KEEP 200

struct conn {
	int fd;
	bool closed;
	long long closed_at;
	size_t got;
	char text[KEEP + 1];
	size_t kept;
};

static void usage(void)
{
	fprintf(stderr, "usage: ctlpeer [-n N] [-t MS] [-r] PATH [REQUEST]\n");
	exit(2);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Reads what is there; marks the connection closed on EOF or error. */
static void drain(struct conn *c, long long t0)
{
	char buf[65536];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->closed = true;
			c->closed_at = mono_ms() - t0;
			return;
		}
		for (ssize_t i = 0; i < n && c->kept < KEEP; i++)
			c->text[c->kept++] = buf[i];
		c->got += (size_t)n;
	}
}

static void print(int i, const struct conn *c, long long now)
{
	printf("%d %s %lld %zu ", i, c->closed ? "closed" : "open", c->closed ? c->closed_at : now, c->got);
	for (size_t k = 0; k < c->kept; k++) {
		if (c->text[k] == '\n')
			fputs("\\n", stdout);
		else
			putchar(c->text[k]);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	int n = 1, opt;
	long long ms = 10000;
	bool no_read = false;
	while ((opt = getopt(argc, argv, "n:t:r")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 't': ms = atoll(optarg); break;
		case 'r': no_read = true; break;
		default: usage();
		}
	}
	if (optind >= argc || argc - optind > 2 || n < 1 || n > MAX_CONNS || ms < 0)
		usage();
	const char *path = argv[optind], *req = argc - optind == 2 ? argv[optind + 1] : NULL;
	signal(SIGPIPE, SIG_IGN);
	static struct conn conns[MAX_CONNS];
	long long t0 = mono_ms();
	int rc = 0;
	for (int i = 0; i < n; i++) {
		conns[i].fd = connect_to(path);
		if (conns[i].fd < 0) {
			printf("%d error %s\n", i, strerror(errno));
			rc = 1;
			continue;
		}
		if (req && send(conns[i].fd, req, strlen(req), MSG_NOSIGNAL) < 0)
			printf("%d error send: %s\n", i, strerror(errno));
	}
	fflush(stdout);
	for (;;) {
		long long left = t0 + ms - mono_ms();
		if (left <= 0)
			break;
		if (no_read) {
			usleep(left > 50 ? 50000 : (useconds_t)left * 1000);
			continue;
		}
		struct pollfd p[MAX_CONNS];
		int np = 0, idx[MAX_CONNS];
		for (int i = 0; i < n; i++)
			if (conns[i].fd >= 0 && !conns[i].closed) {
				p[np] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
				idx[np++] = i;
			}
		if (np == 0)
			break;
		if (poll(p, np, (int)left) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < np; k++)
			if (p[k].revents)
				drain(&conns[idx[k]], t0);
	}
	long long now = mono_ms() - t0;
	for (int i = 0; i < n; i++)
		if (conns[i].fd >= 0) {
			print(i, &conns[i], now);
			close(conns[i].fd);
		}
	return rc;
}
