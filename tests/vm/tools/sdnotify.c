/* sdnotify: a NOTIFY_SOCKET listener for the VM tests (not part of ezlb).
 *
 *   sdnotify [-d] PATH OUTFILE
 *       Binds an AF_UNIX SOCK_DGRAM socket at PATH ("@name" for the abstract namespace) and
 *       appends one line per datagram to OUTFILE:
 *           MONO_USEC REAL_USEC PID FIELD<TAB>FIELD...
 *       MONO_USEC is CLOCK_MONOTONIC at reception (the clock of sd_notify's MONOTONIC_USEC),
 *       REAL_USEC CLOCK_REALTIME (to compare with log timestamps), PID the sender's (SCM_CREDENTIALS, "?" if absent), and the fields are the datagram's
 *       newline-separated assignments joined by tabs. Each line is written with one write(2),
 *       so a reader never sees half a line.
 *       -d: detach once the socket is bound and print the listener's pid, so that when the
 *       command returns the socket already exists. Exits on SIGTERM.
 *   sdnotify now
 *       Prints CLOCK_MONOTONIC in microseconds (to compare with the lines above).
 */
#define _GNU_SOURCE
#include "tool.h"
#include <stddef.h>
#include <sys/un.h>

static void usage(void)
{
	fprintf(stderr, "usage: sdnotify [-d] PATH OUTFILE\n       sdnotify now\n");
	exit(2);
}

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sdnotify: bad socket path\n");
		return -1;
	}
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* abstract: no file, no NUL terminator counted */
	else
		unlink(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@')) < 0) {
		fprintf(stderr, "sdnotify: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* One datagram -> one line (see the top of the file). */
static void record(int out, const char *msg, size_t n, const struct ucred *cred)
{
	static char line[65536 + 64];
	unsigned long long mono = clock_usec(CLOCK_MONOTONIC), real = clock_usec(CLOCK_REALTIME);
	int h = cred ? snprintf(line, sizeof(line), "%llu %llu %d ", mono, real, (int)cred->pid)
		     : snprintf(line, sizeof(line), "%llu %llu ? ", mono, real);
	size_t len = (size_t)h;
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	for (size_t i = 0; i < n && len < sizeof(line) - 1; i++)
		line[len++] = msg[i] == '\n' ? '\t' : msg[i];
	line[len++] = '\n';
	if (write(out, line, len) != (ssize_t)len)
		perror("sdnotify: write");
}

static int listen_loop(int fd, int out)
{
	static char buf[65536];
	char cbuf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
	while (!stop) {
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("sdnotify: recvmsg");
			return 1;
		}
		const struct ucred *cred = NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				cred = (const struct ucred *)CMSG_DATA(c);
			else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
					close(((int *)CMSG_DATA(c))[i]); /* FDSTORE: not ours to keep */
		}
		record(out, buf, (size_t)n, cred);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int daemonize = 0;
	if (argc == 2 && strcmp(argv[1], "now") == 0) {
		printf("%llu\n", clock_usec(CLOCK_MONOTONIC));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		daemonize = 1;
		argv++;
		argc--;
	}
	if (argc != 3)
		usage();
	int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "sdnotify: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	int fd = bind_socket(argv[1]);
	if (fd < 0)
		return 1;
	catch_term(); /* SIGTERM interrupts recvmsg() and the loop ends */
	if (daemonize)
		detach("sdnotify");
	int r = listen_loop(fd, out);
	close(fd);
	if (argv[1][0] != '@')
		unlink(argv[1]);
	return r;
}
