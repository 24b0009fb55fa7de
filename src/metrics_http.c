/* The /metrics HTTP server: libmicrohttpd driven from our loop (see metrics_http.h).
 *
 * A scrape's life: MHD calls on_request once the headers are in (we only check path and method
 * and attach a struct scrape), again when the request is complete: we ask for the kernel table
 * and suspend the connection. on_table copies the table into a page generator (lb_metrics_gen,
 * which snapshots the rest), queues a response that reads from it on the suspended connection
 * (which MHD allows at any time) and resumes it; MHD then sends it from its next MHD_run, which a
 * timer due at once makes happen in the next loop turn (not from inside the kstat callback,
 * whose caller may still be walking its list of waiting requests). MHD reports the end of every
 * request, completed or not, to on_completed, which frees the scrape and cancels a read that is
 * still pending; the response, and with it the generator, is freed with the connection.
 *
 * The page is streamed (a 100k-destination table makes ~86 MB): its size is unknown, so MHD
 * sends it chunked to HTTP/1.1 clients and close-delimited to HTTP/1.0 ones, pulling a block at a
 * time from the generator as the socket takes it. What one loop turn does for one connection is
 * bounded by MHD itself: in one MHD_run a connection gets one write pass, which sends what its
 * write buffer holds (at most LB_METRICS_HTTP_BLOCK, less the part of the connection's
 * LB_METRICS_HTTP_MEMORY pool the request uses) and refills it with one reader call, i.e. one
 * lb_metrics_gen_read of that size (a few units of at most 256 samples each). A connection that
 * could write more stays in MHD's ready list, and MHD_get_timeout is then 0: arm() makes the next
 * MHD_run happen in the next loop turn, after the timers and IO that came due meanwhile. The
 * small SO_SNDBUF (on_connection) keeps a fast client from taking megabytes per turn should
 * MHD write in a loop, and keeps what waits in the kernel small. */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "desired.h"
#include "log.h"
#include "metrics.h"
#include "procstat.h"
#include "util.h"

#define MAX_TIMEOUT_MS 60000ULL /* a guard: MHD waits at most a connection timeout (10 s) */

enum scrape_state {
	SCRAPE_NEW,      /* request being received */
	SCRAPE_WAITING,  /* suspended until the kernel table comes */
	SCRAPE_ANSWERED, /* a response is queued (or none could be: the connection is closed) */
};

struct scrape {
	struct lb_metrics_http *m;
	struct MHD_Connection *conn;
	struct lb_kstat_req *req; /* while the kernel table is read */
	enum scrape_state state;
	bool head;                /* a HEAD request */
	struct scrape *prev, *next;
};

struct lb_metrics_http {
	struct lb_loop *loop;
	struct MHD_Daemon *mhd;
	int epoll_fd;              /* MHD's own epoll set, in our loop */
	struct lb_timer timer;     /* when MHD must run even without IO */
	const struct lb_observe *obs;
	struct lb_metrics_kernel kernel;
	struct scrape *scrapes;    /* every request for /metrics in progress */
	struct MHD_Response *not_found, *not_allowed, *failed;
	char name[LB_ADDRSTRLEN];  /* the bound address, for messages */
	uint16_t port;
};

/* ---- driving MHD from the loop ---- */

static void arm(struct lb_metrics_http *m) {
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(m->mhd, &ms) != MHD_YES) {
		lb_timer_cancel(m->loop, &m->timer);
		return;
	}
	if (ms > MAX_TIMEOUT_MS)
		ms = MAX_TIMEOUT_MS;
	if (lb_timer_arm(m->loop, &m->timer, now_usec(CLOCK_MONOTONIC) + ms * USEC_PER_MSEC) < 0)
		log_warn("metrics %s: cannot arm the connection timer: %s", m->name, strerror(ENOMEM));
}

static unsigned connections(struct lb_metrics_http *m) {
	return MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS)->num_connections;
}

static void run(struct lb_metrics_http *m) {
	unsigned before = connections(m);
	MHD_run(m->mhd);
	/* At the connection limit, MHD takes its listen socket out of its epoll set, and puts it
	 * back only at the start of a run: with none to come (no IO, no connection left to time
	 * out), new clients would wait in the backlog forever. One more run when connections
	 * ended in this one. */
	if (connections(m) < before)
		MHD_run(m->mhd);
	arm(m);
}

static void on_io(struct lb_loop *l, int fd, uint32_t revents, void *ud) { run(ud); }

static void on_timer(struct lb_loop *l, struct lb_timer *t, void *ud) { run(ud); }

/* MHD runs in the next turn. */
static void kick(struct lb_metrics_http *m) {
	if (lb_timer_arm(m->loop, &m->timer, now_usec(CLOCK_MONOTONIC)) < 0)
		log_warn("metrics %s: cannot arm the connection timer: %s", m->name, strerror(ENOMEM));
}

/* MHD's own messages (a client that broke the protocol, the connection limit reached): debug
 * only, since any client can cause them. */
static void on_mhd_log(void *ud, const char *fmt, va_list ap) {
	struct lb_metrics_http *m = ud;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("metrics %s: libmicrohttpd: %s", m->name, msg);
}

/* ---- scrapes ---- */

static struct scrape *scrape_new(struct lb_metrics_http *m, struct MHD_Connection *c) {
	struct scrape *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	*s = (struct scrape){.m = m, .conn = c, .next = m->scrapes};
	if (m->scrapes)
		m->scrapes->prev = s;
	m->scrapes = s;
	return s;
}

static void scrape_free(struct scrape *s) {
	struct lb_metrics_http *m = s->m;
	if (s->req)
		m->kernel.cancel(s->req);
	if (s->prev)
		s->prev->next = s->next;
	else
		m->scrapes = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static ssize_t read_page(void *cls, uint64_t pos, char *buf, size_t max) {
	ssize_t n = lb_metrics_gen_read(cls, buf, max);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void free_page(void *cls) { lb_metrics_gen_free(cls); }

/* The page as a streamed response; NULL when it cannot be made (logged). t may be NULL: it is
 * copied (it is valid only during the kstat callback; the generator outlives it). */
static struct MHD_Response *page(struct lb_metrics_http *m, const struct lb_table *t) {
	struct lb_table copy = {0};
	if (t && lb_table_copy(&copy, t) < 0) {
		log_error("metrics %s: cannot render the page: %s", m->name, strerror(ENOMEM));
		return NULL;
	}
	struct lb_procstat ps;
	int pr = lb_procstat_read(&ps);
	if (pr < 0)
		log_debug("metrics %s: no process_* metrics: %s", m->name, strerror(-pr));
	struct lb_metrics_gen *g = lb_metrics_gen_new(m->obs, t ? &copy : NULL, pr < 0 ? NULL : &ps);
	struct MHD_Response *resp = NULL;
	if (g)
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, LB_METRICS_HTTP_BLOCK,
							 read_page, g, free_page);
	if (!resp) {
		lb_metrics_gen_free(g);
		log_error("metrics %s: cannot render the page: %s", m->name, strerror(ENOMEM));
		return NULL;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, LB_METRICS_CONTENT_TYPE) !=
	    MHD_YES) {
		MHD_destroy_response(resp); /* frees g */
		log_error("metrics %s: cannot render the page: %s", m->name, strerror(ENOMEM));
		return NULL;
	}
	return resp;
}

/* Queues the page rendered with t (NULL: without the kernel families), or a 500. */
static enum MHD_Result answer(struct scrape *s, const struct lb_table *t) {
	struct MHD_Response *resp = page(s->m, t);
	s->state = SCRAPE_ANSWERED;
	if (!resp)
		return MHD_queue_response(s->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, s->m->failed);
	/* libmicrohttpd (0.9.75) sends the last chunk ("0\r\n\r\n") of a chunked response even
	 * to a HEAD, a body where none may be: answer a HEAD unchunked (and close) */
	if (s->head && MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
						MHD_RO_END) != MHD_YES)
		log_debug("metrics %s: cannot set the HEAD response's options", s->m->name);
	enum MHD_Result r = MHD_queue_response(s->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp); /* the connection holds its own reference */
	return r;
}

/* The kernel table came (t NULL: its read failed, already logged by kstat). */
static void on_table(const struct lb_table *t, int err, void *ud) {
	struct scrape *s = ud;
	s->req = NULL;
	if (answer(s, t) != MHD_YES)
		log_debug("metrics %s: cannot queue a response", s->m->name);
	MHD_resume_connection(s->conn); /* without a response, MHD closes it */
	kick(s->m);
}

/* The request is complete: ask for the kernel's counters of the configured services. */
static enum MHD_Result scrape_start(struct scrape *s) {
	struct lb_metrics_http *m = s->m;
	if (!m->kernel.get)
		return answer(s, NULL);
	struct lb_owned want = {0};
	int r = m->obs->cfg ? lb_desired_keys(m->obs->cfg, &want) : 0;
	if (r == 0)
		r = m->kernel.get(m->kernel.ks, &want, on_table, s, &s->req);
	lb_owned_free(&want);
	if (r < 0) {
		log_warn("metrics %s: cannot read the kernel table: %s; answering without it",
			 m->name, strerror(-r));
		return answer(s, NULL);
	}
	s->state = SCRAPE_WAITING;
	MHD_suspend_connection(s->conn);
	return MHD_YES;
}

static bool is_get(const char *method) {
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* MHD's access handler; see the top of the file. A HEAD gets the GET's headers, without the
 * body (MHD leaves it out). */
static enum MHD_Result on_request(void *ud, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls) {
	struct lb_metrics_http *m = ud;
	struct scrape *s = *con_cls;
	if (!s) {
		if (strcmp(url, "/metrics") != 0)
			return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, m->not_found);
		if (!is_get(method))
			return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, m->not_allowed);
		s = scrape_new(m, c);
		if (!s)
			return MHD_NO; /* closes the connection */
		s->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size) { /* a GET with a body: ignored */
		*upload_size = 0;
		return MHD_YES;
	}
	if (s->state != SCRAPE_NEW)
		return MHD_NO; /* resumed without a response: close */
	return scrape_start(s);
}

static void on_completed(void *ud, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe) {
	struct scrape *s = *con_cls;
	if (!s)
		return;
	*con_cls = NULL;
	scrape_free(s);
}

/* A new connection: a small send buffer (see LB_METRICS_HTTP_SNDBUF). Best effort: without it
 * the kernel's default only lets more of the page wait in the socket. */
static void on_connection(void *ud, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code) {
	struct lb_metrics_http *m = ud;
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	int sz = LB_METRICS_HTTP_SNDBUF;
	if (ci && setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0)
		log_debug("metrics %s: cannot set SO_SNDBUF: %s", m->name, strerror(errno));
}

/* ---- start and stop ---- */

static struct MHD_Response *fixed(const char *text, const char *allow) {
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (r && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					 "text/plain; charset=utf-8") != MHD_YES) {
		MHD_destroy_response(r);
		return NULL;
	}
	if (r && allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

static socklen_t to_sockaddr(const struct lb_addr *a, struct sockaddr_storage *ss) {
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		in6->sin6_addr = a->ip.v6;
		return sizeof(*in6);
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	in->sin_port = htons(a->port);
	in->sin_addr = a->ip.v4;
	return sizeof(*in);
}

/* Our own listen socket rather than MHD's, for the exact error (MHD only says it failed) and
 * the port the kernel picks for port 0. SO_REUSEADDR: a restart on reload binds again while the
 * previous server's connections sit in TIME_WAIT. */
static int listen_socket(struct lb_metrics_http *m, const struct lb_addr *a) {
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(a, &ss);
	int one = 1;
	lb_addr_fmt(a, m->name);
	_cleanup_close_ int fd = socket(a->af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, LB_METRICS_HTTP_CONNECTIONS) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int r = -errno;
		log_error("metrics: cannot listen on %s: %s", m->name, strerror(-r));
		return r;
	}
	m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	struct lb_addr bound = *a;
	bound.port = m->port;
	lb_addr_fmt(&bound, m->name);
	return TAKE_FD(fd);
}

static struct MHD_Daemon *start_mhd(struct lb_metrics_http *m, int fd) {
	return MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, m,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m, /* first: MHD's own logger gets the rest */
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)LB_METRICS_HTTP_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LB_METRICS_HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LB_METRICS_HTTP_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
		MHD_OPTION_END);
}

static void free_responses(struct lb_metrics_http *m) {
	if (m->not_found)
		MHD_destroy_response(m->not_found);
	if (m->not_allowed)
		MHD_destroy_response(m->not_allowed);
	if (m->failed)
		MHD_destroy_response(m->failed);
}

int lb_metrics_http_start_with(struct lb_loop *l, const struct lb_addr *listen,
			       const struct lb_observe *obs, const struct lb_metrics_kernel *kernel,
			       struct lb_metrics_http **out) {
	struct lb_metrics_http *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct lb_metrics_http){.loop = l, .obs = obs, .epoll_fd = -1};
	if (kernel)
		m->kernel = *kernel;
	lb_timer_init(&m->timer, on_timer, m);
	m->not_found = fixed("not found; the metrics are at /metrics\n", NULL);
	m->not_allowed = fixed("method not allowed\n", "GET, HEAD");
	m->failed = fixed("cannot render the metrics\n", NULL);
	int fd = -ENOMEM;
	if (!m->not_found || !m->not_allowed || !m->failed)
		log_error("metrics: cannot start: %s", strerror(ENOMEM));
	else
		fd = listen_socket(m, listen);
	if (fd < 0) {
		free_responses(m);
		free(m);
		return fd;
	}
	m->mhd = start_mhd(m, fd);
	if (!m->mhd) {
		int r = errno > 0 ? -errno : -ENOMEM;
		/* MHD closes the socket on some of its failure paths: closing again is a harmless
		 * EBADF, as nothing else opens fds in this thread-less process meanwhile */
		close(fd);
		log_error("metrics: cannot start the HTTP server on %s: %s", m->name, strerror(-r));
		free_responses(m);
		free(m);
		return r;
	}
	m->epoll_fd = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	int r = lb_loop_add_fd(l, m->epoll_fd, EPOLLIN, on_io, m);
	if (r < 0) {
		log_error("metrics %s: cannot watch the server's sockets: %s", m->name, strerror(-r));
		m->epoll_fd = -1;
		lb_metrics_http_stop(m);
		return r;
	}
	arm(m);
	log_info("metrics: serving http://%s/metrics", m->name);
	*out = m;
	return 0;
}

int lb_metrics_http_start(struct lb_loop *l, const struct lb_addr *listen,
			  const struct lb_observe *obs, struct lb_kstat *ks,
			  struct lb_metrics_http **out) {
	struct lb_metrics_kernel k = {.get = lb_kstat_get, .cancel = lb_kstat_cancel, .ks = ks};
	return lb_metrics_http_start_with(l, listen, obs, ks ? &k : NULL, out);
}

void lb_metrics_http_stop(struct lb_metrics_http *m) {
	if (!m)
		return;
	/* MHD must not be stopped with a suspended connection: drop the reads, resume them all;
	 * stopping then closes every connection, and on_completed frees each scrape */
	for (struct scrape *s = m->scrapes; s; s = s->next) {
		if (s->req)
			m->kernel.cancel(s->req);
		s->req = NULL;
		if (s->state == SCRAPE_WAITING) {
			s->state = SCRAPE_ANSWERED;
			MHD_resume_connection(s->conn);
		}
	}
	lb_timer_cancel(m->loop, &m->timer);
	if (m->epoll_fd >= 0)
		lb_loop_del_fd(m->loop, m->epoll_fd); /* before MHD closes it */
	MHD_stop_daemon(m->mhd); /* closes the connections, the listen socket, its epoll fd */
	while (m->scrapes)
		scrape_free(m->scrapes); /* none left, unless MHD skipped a completion */
	free_responses(m);
	free(m);
}

uint16_t lb_metrics_http_port(const struct lb_metrics_http *m) { return m->port; }
