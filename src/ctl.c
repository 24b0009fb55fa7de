/* The control socket (see ctl.h): accept, check the peer, read one request line, answer it
 * (a status after a fresh kernel read), write the answer without blocking, close. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "desired.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "status.h"
#include "util.h"

#define ACCEPT_BURST 32                         /* connections taken per wake-up */
#define ACCEPT_PAUSE_USEC (100 * USEC_PER_MSEC) /* after EMFILE: let fds free up */
#define REQUEST_DEPTH 4                         /* {"services":[...]} needs 2 */
#define CHUNK (64 * 1024)                       /* a status answer is made this much at a time */

enum phase { READING, WAITING, WRITING };

struct client {
	struct client *prev, *next;
	struct lb_ctl *ctl;
	struct lb_io io;
	struct lb_timer timer;  /* the deadline of the current phase */
	enum phase phase;
	struct ucred peer;
	char in[LB_CTL_MAX_REQUEST + 1]; /* the request and its newline */
	size_t in_len;
	/* a status waiting for the kernel read */
	struct lb_kstat_req *req;
	bool text;
	char **only;
	size_t n_only;
	/* the answer: a whole line (errors, ping), or the piece of a status being sent */
	char *out;
	size_t out_len, out_off;
	struct lb_status_gen *gen; /* a status being made; out is then a buffer of CHUNK bytes */
};

struct lb_ctl {
	struct lb_loop *loop;
	const struct lb_statedir *sd;
	const struct lb_observe *obs;
	struct lb_kstat *ks;
	int fd;
	dev_t dev;  /* of the socket file we made: removed at close only if still ours */
	ino_t ino;
	struct lb_timer pause;   /* accepting paused after EMFILE */
	bool pause_logged;
	struct client clients;   /* ring sentinel */
	size_t n_clients;
	uint32_t request_ms, answer_ms;
};

/* ---- clients ---- */

bool lb_ctl_peer_allowed(const struct ucred *peer, uid_t euid) {
	return peer->uid == 0 || peer->uid == euid;
}

static void free_only(struct client *cl) {
	for (size_t i = 0; i < cl->n_only; i++)
		free(cl->only[i]);
	free(cl->only);
	cl->only = NULL;
	cl->n_only = 0;
}

static void client_free(struct client *cl) {
	struct lb_ctl *c = cl->ctl;
	lb_kstat_cancel(cl->req);
	lb_timer_cancel(c->loop, &cl->timer);
	lb_loop_io_close(c->loop, &cl->io);
	cl->prev->next = cl->next;
	cl->next->prev = cl->prev;
	c->n_clients--;
	free_only(cl);
	free(cl->out);
	lb_status_gen_free(cl->gen);
	free(cl);
}

static int arm(struct client *cl, uint32_t ms) {
	return lb_timer_arm(cl->ctl->loop, &cl->timer, now_usec(CLOCK_MONOTONIC) + ms * USEC_PER_MSEC);
}

/* Writes what the socket takes; closes the client when all is written or the peer is gone. A
 * status is made piece by piece as the socket takes it: at most one piece (CHUNK bytes, see
 * lb_status_gen_read for the work) per call, that is per client and loop turn; while more is to
 * come, EPOLLOUT stays on (level-triggered), so the next turn continues. */
static void flush(struct client *cl) {
	bool made = false;
	for (;;) {
		if (cl->out_off == cl->out_len) {
			if (!cl->gen)
				break; /* all sent */
			if (made)
				return; /* the next piece in the next turn */
			ssize_t n = lb_status_gen_read(cl->gen, cl->out, CHUNK);
			made = true;
			if (n == -EAGAIN)
				return;
			if (n < 0) { /* the client sees a cut line */
				log_error("control socket: cannot make a status answer: %s", strerror((int)-n));
				break;
			}
			if (n == 0)
				break; /* complete */
			cl->out_len = (size_t)n;
			cl->out_off = 0;
		}
		ssize_t n = send(cl->io.fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!(cl->io.events & EPOLLOUT) && lb_loop_io_mod(cl->ctl->loop, &cl->io, EPOLLOUT) < 0)
				break;
			return;
		}
		if (n < 0) {
			log_debug("control socket: client pid %d: %s", (int)cl->peer.pid, strerror(errno));
			break;
		}
		cl->out_off += (size_t)n;
	}
	client_free(cl);
}

/* Takes buf (an answer line) and sends it. */
static void send_answer(struct client *cl, char *buf, size_t len) {
	cl->phase = WRITING;
	cl->out = buf;
	cl->out_len = len;
	cl->out_off = 0;
	if (lb_loop_io_mod(cl->ctl->loop, &cl->io, 0) < 0 || arm(cl, cl->ctl->answer_ms) < 0) {
		client_free(cl);
		return;
	}
	flush(cl);
}

/* {"ok":false,"error":MSG} */
static void send_error(struct client *cl, const char *msg) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		client_free(cl);
		return;
	}
	fputs("{\"ok\":false,\"error\":\"", f);
	lb_json_escape(f, msg, strlen(msg));
	fputs("\"}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		client_free(cl);
		return;
	}
	log_debug("control socket: client pid %d: %s", (int)cl->peer.pid, msg);
	send_answer(cl, buf, len);
}

/* ---- status ---- */

/* Starts the answer: the generator takes a copy of t (valid during the kstat callback only); the
 * answer is made as the client reads it (flush). Nothing is written here: this turn already
 * holds the copy of the table. */
static void answer_status(struct client *cl, const struct lb_table *t) {
	char msg[160];
	int64_t now_ms = (int64_t)(now_usec(CLOCK_REALTIME) / USEC_PER_MSEC);
	struct lb_table copy = {0};
	int r = t ? lb_table_copy(&copy, t) : 0;
	if (r == 0) {
		cl->gen = lb_status_gen_new(cl->ctl->obs, t ? &copy : NULL, cl->only, cl->n_only, now_ms,
					    !cl->text, &r);
		lb_table_clear(&copy); /* taken over (empty) unless the copy failed */
	}
	if (r == 0 && !(cl->out = malloc(CHUNK))) {
		lb_status_gen_free(cl->gen);
		cl->gen = NULL;
		r = -ENOMEM;
	}
	if (r == -ENOENT) {
		const char *name = lb_status_unknown(cl->ctl->obs, cl->only, cl->n_only);
		snprintf(msg, sizeof(msg), "no service named \"%.100s\"", name ? name : "?");
		send_error(cl, msg);
		return;
	}
	if (r < 0) {
		log_error("control socket: cannot make a status answer: %s", strerror(-r));
		send_error(cl, "internal error");
		return;
	}
	cl->phase = WRITING;
	cl->out_len = cl->out_off = 0;
	if (lb_loop_io_mod(cl->ctl->loop, &cl->io, EPOLLOUT) < 0 || arm(cl, cl->ctl->answer_ms) < 0)
		client_free(cl);
}

/* The kernel read ended (t NULL: it failed; the status says so). */
static void on_table(const struct lb_table *t, int err, void *ud) {
	struct client *cl = ud;
	cl->req = NULL;
	answer_status(cl, t);
}

/* The keys of the services shown: their destinations are what the read must cover. */
static int want_keys(const struct client *cl, struct lb_owned *want) {
	const struct lb_config *cfg = cl->ctl->obs->cfg;
	for (size_t i = 0; cfg && i < cfg->n_services; i++) {
		const struct lb_service_conf *sc = &cfg->services[i];
		bool shown = cl->n_only == 0;
		for (size_t k = 0; k < cl->n_only && !shown; k++)
			shown = strcmp(cl->only[k], sc->name) == 0;
		struct lb_svc_key key = lb_desired_key(sc);
		if (shown && lb_owned_add(want, &key) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* "services": absent, or an array of names without NUL. Returns NULL or the complaint. */
static const char *take_services(struct client *cl, const struct lb_json *v) {
	if (!v)
		return NULL;
	if (!lb_json_is(v, LB_JSON_ARRAY))
		return "bad request: \"services\" is not an array";
	cl->only = calloc(v->n ? v->n : 1, sizeof(*cl->only));
	if (!cl->only)
		return "internal error";
	for (size_t i = 0; i < v->n; i++) {
		const char *name = lb_json_cstr(&v->items[i]);
		if (!name)
			return "bad request: \"services\" holds something else than names";
		if (!(cl->only[cl->n_only] = strdup(name)))
			return "internal error";
		cl->n_only++;
	}
	return NULL;
}

static void start_status(struct client *cl, const struct lb_json *req) {
	char msg[160];
	const char *why = take_services(cl, lb_json_get(req, "services"));
	const struct lb_json *fmt = lb_json_get(req, "format");
	const char *f = lb_json_cstr(fmt);
	if (!why && fmt && !(f && (strcmp(f, "json") == 0 || strcmp(f, "text") == 0)))
		why = "bad request: \"format\" is neither \"json\" nor \"text\"";
	if (why) {
		send_error(cl, why);
		return;
	}
	cl->text = f && strcmp(f, "text") == 0;
	const char *unknown = lb_status_unknown(cl->ctl->obs, cl->only, cl->n_only);
	if (unknown) {
		snprintf(msg, sizeof(msg), "no service named \"%.100s\"", unknown);
		send_error(cl, msg);
		return;
	}
	struct lb_owned want = {0};
	int r = want_keys(cl, &want);
	if (r == 0)
		r = lb_kstat_get(cl->ctl->ks, &want, on_table, cl, &cl->req);
	lb_owned_free(&want);
	cl->phase = WAITING;
	/* Nothing more is read: a peer that closes shows as EPOLLHUP, which epoll always reports. */
	if (r == 0 && (r = lb_loop_io_mod(cl->ctl->loop, &cl->io, 0)) == 0)
		r = arm(cl, LB_CTL_KSTAT_MS);
	if (r < 0) {
		log_error("control socket: cannot ask for the kernel table: %s", strerror(-r));
		lb_kstat_cancel(cl->req);
		cl->req = NULL;
		send_error(cl, "internal error");
	}
}

/* ---- requests ---- */

static void handle(struct client *cl, const char *line, size_t len) {
	struct lb_json *req = NULL;
	struct lb_json_error err = {0};
	char msg[160];
	int r = lb_json_parse(line, len, LB_CTL_MAX_REQUEST, REQUEST_DEPTH, &req, &err);
	if (r == -ENOMEM) {
		send_error(cl, "internal error");
		return;
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg), "bad request: not JSON: %s at byte %zu", err.why, err.offset);
		send_error(cl, msg);
		return;
	}
	const struct lb_json *cmdv = lb_json_get(req, "cmd");
	const char *cmd = lb_json_cstr(cmdv);
	if (!lb_json_is(req, LB_JSON_OBJECT))
		send_error(cl, "bad request: not a JSON object");
	else if (!cmd)
		send_error(cl, "bad request: no \"cmd\" string");
	else if (strcmp(cmd, "ping") == 0) {
		char *ok = strdup("{\"ok\":true}\n");
		if (ok)
			send_answer(cl, ok, strlen(ok));
		else
			send_error(cl, "internal error");
	} else if (strcmp(cmd, "status") == 0)
		start_status(cl, req);
	else {
		snprintf(msg, sizeof(msg), "unknown command \"%.60s\" (known: status, ping)", cmd);
		send_error(cl, msg);
	}
	lb_json_free(req);
}

/* Reads what came; handles the request once its line is complete (or the peer stopped writing). */
static void on_readable(struct client *cl) {
	for (;;) {
		size_t room = sizeof(cl->in) - cl->in_len;
		ssize_t n = room ? read(cl->io.fd, cl->in + cl->in_len, room) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			log_debug("control socket: client pid %d: read: %s", (int)cl->peer.pid, strerror(errno));
			client_free(cl);
			return;
		}
		char *nl = memchr(cl->in + cl->in_len, '\n', (size_t)n);
		cl->in_len += (size_t)n;
		if (nl) {
			handle(cl, cl->in, (size_t)(nl - cl->in));
			return;
		}
		if (cl->in_len > LB_CTL_MAX_REQUEST) {
			send_error(cl, "bad request: longer than 4096 bytes");
			return;
		}
		if (n == 0) { /* the peer shut down its side: what came is the request */
			if (cl->in_len)
				handle(cl, cl->in, cl->in_len);
			else
				client_free(cl);
			return;
		}
	}
}

static void on_client(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct client *cl = ud;
	if (cl->phase == READING && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(cl);
	else if (cl->phase == WRITING && (revents & (EPOLLHUP | EPOLLERR))) {
		log_debug("control socket: client pid %d left before the end of its answer", (int)cl->peer.pid);
		client_free(cl); /* nothing more can reach it: make no more of a status */
	} else if (cl->phase == WRITING && (revents & EPOLLOUT))
		flush(cl);
	else if (cl->phase == WAITING && (revents & (EPOLLHUP | EPOLLERR))) {
		log_debug("control socket: client pid %d left before its answer", (int)cl->peer.pid);
		client_free(cl); /* cancels the kernel read request */
	}
}

static void on_deadline(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct client *cl = ud;
	switch (cl->phase) {
	case READING:
		log_debug("control socket: client pid %d sent no request in time", (int)cl->peer.pid);
		client_free(cl);
		break;
	case WAITING:
		lb_kstat_cancel(cl->req);
		cl->req = NULL;
		send_error(cl, "the kernel table could not be read in time");
		break;
	case WRITING:
		log_debug("control socket: client pid %d did not read its answer in time", (int)cl->peer.pid);
		client_free(cl);
		break;
	}
}

/* ---- accepting ---- */

/* Best effort, on a socket we are about to close: the line fits any socket buffer. */
static void refuse(int fd, const char *line) {
	(void)!send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void client_new(struct lb_ctl *c, int fd) {
	struct ucred peer;
	socklen_t len = sizeof(peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || len != sizeof(peer)) {
		log_debug("control socket: no peer credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	if (!lb_ctl_peer_allowed(&peer, geteuid())) {
		log_debug("control socket: refused pid %d uid %u (only root and uid %u)", (int)peer.pid,
			  (unsigned)peer.uid, (unsigned)geteuid());
		close(fd);
		return;
	}
	if (c->n_clients >= LB_CTL_MAX_CLIENTS) {
		log_debug("control socket: refused pid %d: %d clients already", (int)peer.pid,
			  LB_CTL_MAX_CLIENTS);
		refuse(fd, "{\"ok\":false,\"error\":\"too many clients, try again\"}\n");
		return;
	}
	struct client *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->peer = peer;
	lb_timer_init(&cl->timer, on_deadline, cl);
	if (lb_loop_io_add(c->loop, &cl->io, fd, EPOLLIN, on_client, cl) < 0) {
		close(fd);
		free(cl);
		return;
	}
	cl->next = &c->clients;
	cl->prev = c->clients.prev;
	cl->prev->next = cl;
	c->clients.prev = cl;
	c->n_clients++;
	if (arm(cl, c->request_ms) < 0)
		client_free(cl);
}

static void on_resume(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct lb_ctl *c = ud;
	lb_loop_mod_fd(l, c->fd, EPOLLIN);
}

/* Out of fds: the listening socket stays readable, so stop watching it a moment rather than
 * spin; the clients already in free theirs within their deadlines. */
static void pause_accepting(struct lb_ctl *c, int err) {
	if (!c->pause_logged)
		log_warn("control socket: cannot accept a client: %s (pausing 100 ms)", strerror(err));
	c->pause_logged = true;
	if (lb_loop_mod_fd(c->loop, c->fd, 0) < 0 ||
	    lb_timer_arm(c->loop, &c->pause, now_usec(CLOCK_MONOTONIC) + ACCEPT_PAUSE_USEC) < 0)
		lb_loop_mod_fd(c->loop, c->fd, EPOLLIN);
}

static void on_accept(struct lb_loop *l, int fd, uint32_t revents, void *ud) {
	struct lb_ctl *c = ud;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			c->pause_logged = false; /* the next shortage is logged again */
			client_new(c, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_accepting(c, errno);
		else if (errno != EAGAIN)
			log_error("control socket: accept: %s", strerror(errno));
		return;
	}
}

/* ---- the socket file ---- */

/* A socket left by a previous daemon is replaced; anything else is not ours to remove. */
static int remove_stale(const struct lb_statedir *sd) {
	struct stat st;
	if (fstatat(sd->fd, LB_CTL_SOCKET, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlinkat(sd->fd, LB_CTL_SOCKET, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* Binds fd in the directory itself (through /proc/self/fd, whatever the length of its path),
 * with the path as a fallback where /proc is not mounted. The umask makes the socket 0600 from
 * its creation; nobody can connect before listen() anyway. */
static int bind_in(const struct lb_statedir *sd, int fd) {
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", sd->fd, LB_CTL_SOCKET);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 && errno == ENOENT && access("/proc/self/fd", F_OK) < 0) {
		int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", sd->path, LB_CTL_SOCKET);
		if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
			errno = ENAMETOOLONG;
		else
			r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	r = r < 0 ? -errno : 0;
	umask(old);
	return r;
}

/* Makes sure of the mode (a umask cannot widen it, but be explicit) and records the identity. */
static int seal(struct lb_ctl *c) {
	struct stat st;
	if (fchmodat(c->sd->fd, LB_CTL_SOCKET, 0600, 0) < 0 ||
	    fstatat(c->sd->fd, LB_CTL_SOCKET, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600)
		return -EPERM;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

/* Socket, bind, listen, watch; *step names the one that failed. */
static int open_socket(struct lb_ctl *c, const char **step) {
	int r;
	*step = "socket";
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	*step = "remove the stale socket";
	if ((r = remove_stale(c->sd)) < 0) {
		if (r == -EEXIST)
			*step = "something else than a socket is in the way (not removed)";
		return r;
	}
	*step = "bind";
	if ((r = bind_in(c->sd, c->fd)) < 0)
		return r;
	*step = "make it mode 0600";
	if ((r = seal(c)) < 0)
		return r;
	*step = "listen";
	if (listen(c->fd, 64) < 0)
		return -errno;
	*step = "epoll";
	return lb_loop_add_fd(c->loop, c->fd, EPOLLIN, on_accept, c);
}

/* Removes the socket file if it is still the one we made. */
static void unlink_ours(const struct lb_ctl *c) {
	struct stat st;
	if (c->ino && fstatat(c->sd->fd, LB_CTL_SOCKET, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == c->dev && st.st_ino == c->ino)
		unlinkat(c->sd->fd, LB_CTL_SOCKET, 0);
}

int lb_ctl_open(struct lb_loop *l, const struct lb_statedir *sd, const struct lb_observe *obs,
		struct lb_kstat *ks, struct lb_ctl **out) {
	struct lb_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct lb_ctl){.loop = l, .sd = sd, .obs = obs, .ks = ks, .fd = -1,
			     .request_ms = LB_CTL_REQUEST_MS, .answer_ms = LB_CTL_ANSWER_MS};
	c->clients.next = c->clients.prev = &c->clients;
	lb_timer_init(&c->pause, on_resume, c);
	const char *step;
	int r = open_socket(c, &step);
	if (r < 0) {
		log_error("control socket %s/%s: %s: %s", sd->path, LB_CTL_SOCKET, step, strerror(-r));
		lb_ctl_close(c);
		return r;
	}
	log_debug("control socket %s/%s: listening", sd->path, LB_CTL_SOCKET);
	*out = c;
	return 0;
}

void lb_ctl_close(struct lb_ctl *c) {
	if (!c)
		return;
	while (c->clients.next != &c->clients)
		client_free(c->clients.next);
	lb_timer_cancel(c->loop, &c->pause);
	if (c->fd >= 0) {
		lb_loop_del_fd(c->loop, c->fd);
		close(c->fd);
	}
	unlink_ours(c);
	free(c);
}

void lb_ctl_set_timeouts(struct lb_ctl *c, uint32_t request_ms, uint32_t answer_ms) {
	if (request_ms)
		c->request_ms = request_ms;
	if (answer_ms)
		c->answer_ms = answer_ms;
}

size_t lb_ctl_n_clients(const struct lb_ctl *c) { return c->n_clients; }
