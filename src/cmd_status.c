/* `ezlb status [SERVICE...] [--json]`: asks the daemon over its control socket (include/ctl.h)
 * and prints the answer: the text form, or with --json the status object pretty-printed (two
 * spaces per level, one document). The whole exchange is bounded by STATUS_TIMEOUT_MS.
 * Exit status: 0 answered, 3 no daemon runs, 1 anything else (an unknown service included). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "ctl.h"
#include "json.h"
#include "util.h"

#define STATUS_TIMEOUT_MS 10000
#define MAX_ANSWER (256u << 20) /* 100k destinations are about 60 MB of JSON */
#define ANSWER_DEPTH 16

struct exchange {
	int fd;
	usec_t deadline; /* CLOCK_MONOTONIC */
	const char *path;
};

/* The socket's address: its path, or through /proc when the path is too long for sun_path. */
static int socket_addr(const char *dir, struct sockaddr_un *sa, int *dirfd) {
	*dirfd = -1;
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, LB_CTL_SOCKET);
	if (n >= 0 && (size_t)n < sizeof(sa->sun_path))
		return 0;
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, LB_CTL_SOCKET);
	return 0;
}

/* Connects; returns an exit status (EXIT_OK with x->fd set). */
static int connect_ctl(struct exchange *x, const char *dir) {
	struct sockaddr_un sa = {0};
	int dirfd;
	int r = socket_addr(dir, &sa, &dirfd);
	if (r == -ENOENT || r == -ENOTDIR) {
		fprintf(stderr, "ezlb is not running: no socket at %s\n", x->path);
		return EXIT_NOT_RUNNING;
	}
	if (r < 0) {
		fprintf(stderr, "ezlb: %s: %s\n", dir, strerror(-r));
		return EXIT_FAIL;
	}
	x->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A daemon whose backlog is full makes connect() wait: bound that wait too. */
	struct timeval tv = {.tv_sec = STATUS_TIMEOUT_MS / 1000};
	if (x->fd >= 0 && setsockopt(x->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
	    connect(x->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		r = 0;
	else
		r = -errno;
	if (dirfd >= 0)
		close(dirfd);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR) {
		fprintf(stderr, "ezlb is not running: %s %s\n",
			r == -ECONNREFUSED ? "nothing listens on" : "no socket at", x->path);
		return EXIT_NOT_RUNNING;
	}
	if (r < 0) {
		fprintf(stderr, "ezlb: cannot connect to %s: %s%s\n", x->path, strerror(-r),
			r == -EACCES ? " (the daemon answers root and its own user only)" : "");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Waits until fd is ready for events, within the deadline: 0, or -ETIMEDOUT, or -errno. */
static int wait_fd(const struct exchange *x, short events) {
	for (;;) {
		usec_t now = now_usec(CLOCK_MONOTONIC);
		if (now >= x->deadline)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = x->fd, .events = events};
		int n = poll(&p, 1, (int)((x->deadline - now + 999) / 1000));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(const struct exchange *x, const char *buf, size_t len) {
	while (len > 0) {
		int r = wait_fd(x, POLLOUT);
		if (r < 0)
			return r;
		ssize_t n = send(x->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* Reads the answer line (without its newline) into *out. */
static int recv_line(const struct exchange *x, char **out, size_t *out_len) {
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r;
	for (;;) {
		if ((r = wait_fd(x, POLLIN)) < 0)
			break;
		if (GROW(buf, cap, len + 65536) < 0) {
			r = -ENOMEM;
			break;
		}
		ssize_t n = recv(x->fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -ECONNRESET; /* closed before the newline: no whole answer */
			break;
		}
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*out = buf;
			*out_len = (size_t)(nl - buf);
			return 0;
		}
		if (len > MAX_ANSWER) {
			r = -EFBIG;
			break;
		}
	}
	free(buf);
	return r;
}

/* {"cmd":"status","services":[...],"format":"json"|"text"} and a newline. */
static char *request(const struct lb_cli *o, size_t *len) {
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	struct lb_jw w;
	lb_jw_init(&w, f, 0);
	lb_jw_object(&w);
	lb_jw_key(&w, "cmd");
	lb_jw_string(&w, "status");
	lb_jw_key(&w, "services");
	lb_jw_array(&w);
	for (int i = 0; i < o->n_args; i++)
		lb_jw_string(&w, o->args[i]);
	lb_jw_array_end(&w);
	lb_jw_key(&w, "format");
	lb_jw_string(&w, o->json ? "json" : "text");
	lb_jw_object_end(&w);
	int r = lb_jw_finish(&w);
	fputc('\n', f);
	if (fclose(f) != 0 || r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int print_answer(const struct lb_cli *o, const struct lb_json *a) {
	const struct lb_json *ok = lb_json_get(a, "ok");
	if (!lb_json_is(ok, LB_JSON_BOOL)) {
		fprintf(stderr, "ezlb: the daemon's answer is not understood (no \"ok\")\n");
		return EXIT_FAIL;
	}
	if (!ok->boolean) {
		const char *err = lb_json_cstr(lb_json_get(a, "error"));
		fprintf(stderr, "ezlb: %s\n", err ? err : "the daemon refused the request");
		return EXIT_FAIL;
	}
	if (o->json) {
		const struct lb_json *st = lb_json_get(a, "status");
		if (!st) {
			fprintf(stderr, "ezlb: the daemon's answer holds no status\n");
			return EXIT_FAIL;
		}
		struct lb_jw w;
		lb_jw_init(&w, stdout, 2);
		lb_jw_value(&w, st);
		if (lb_jw_finish(&w) != 0)
			return EXIT_FAIL;
		putchar('\n');
	} else {
		const struct lb_json *text = lb_json_get(a, "text");
		if (!lb_json_is(text, LB_JSON_STRING)) {
			fprintf(stderr, "ezlb: the daemon's answer holds no text\n");
			return EXIT_FAIL;
		}
		fwrite(text->str, 1, text->len, stdout);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ezlb: cannot write the status: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Sends the request and reads, parses and prints the answer. */
static int talk(const struct lb_cli *o, struct exchange *x) {
	size_t len = 0, alen = 0;
	char *req = request(o, &len), *ans = NULL;
	if (!req) {
		fprintf(stderr, "ezlb: out of memory\n");
		return EXIT_FAIL;
	}
	if (len - 1 > LB_CTL_MAX_REQUEST) {
		fprintf(stderr, "ezlb: too many service names for one request\n");
		free(req);
		return EXIT_FAIL;
	}
	int r = send_all(x, req, len);
	free(req);
	/* A daemon that refuses (too many clients) writes its error line and closes at once: the
	 * send may then fail, but the line is there to read. */
	if (r == 0 || r == -EPIPE || r == -ECONNRESET) {
		int sent = r;
		r = recv_line(x, &ans, &alen);
		if (r < 0 && sent < 0)
			r = sent;
	}
	if (r < 0) {
		fprintf(stderr, "ezlb: %s: %s\n", x->path,
			r == -ETIMEDOUT ? "no answer within 10 s" :
			r == -ECONNRESET ? "the daemon closed the connection without an answer" :
			r == -EFBIG ? "the answer is too large" : strerror(-r));
		return EXIT_FAIL;
	}
	struct lb_json *a = NULL;
	struct lb_json_error err = {0};
	r = lb_json_parse(ans, alen, SIZE_MAX, ANSWER_DEPTH, &a, &err);
	free(ans);
	if (r < 0) {
		fprintf(stderr, "ezlb: the daemon's answer is not valid JSON: %s\n",
			r == -EBADMSG ? err.why : strerror(-r));
		return EXIT_FAIL;
	}
	r = print_answer(o, a);
	lb_json_free(a);
	return r;
}

int cmd_status(const struct lb_cli *o) {
	char *path = NULL;
	if (asprintf(&path, "%s/%s", o->state_dir, LB_CTL_SOCKET) < 0) {
		fprintf(stderr, "ezlb: out of memory\n");
		return EXIT_FAIL;
	}
	struct exchange x = {.fd = -1, .path = path,
			     .deadline = now_usec(CLOCK_MONOTONIC) + STATUS_TIMEOUT_MS * USEC_PER_MSEC};
	int rc = connect_ctl(&x, o->state_dir);
	if (rc == EXIT_OK)
		rc = talk(o, &x);
	if (x.fd >= 0)
		close(x.fd);
	free(path);
	return rc;
}
