/* The /metrics server on a real loop and real sockets (127.0.0.1, a port the kernel picks), with
 * a fake kernel-table source whose answers the test delays, holds or fails: 200 with the page,
 * HEAD, 404, 405 with Allow, 24 concurrent scrapes, half-sent requests that neither block
 * other scrapes nor stay open past the connection timeout, clients that leave while their scrape
 * is suspended, stopping with scrapes in flight, a failed kernel read, a busy port, no fd
 * left behind, and a 100k-destination page streamed while a 10 ms timer keeps its pace. Clients
 * are plain non-blocking sockets driven alongside the loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "test_fds.h"
#include "util.h"

/* ---- a fake lb_kstat ---- */

struct fake_req {
	struct fake_ks *k;
	lb_kstat_fn fn;
	void *ud;
	struct fake_req *next;
};

struct fake_ks {
	struct lb_loop *loop;
	struct lb_timer timer;
	usec_t delay;          /* answer this long after a request */
	bool hold;             /* do not answer until released */
	int err;               /* answer with this error (and no table) */
	struct lb_table table;
	struct fake_req *pending;
	size_t gets, cancels, answered, last_want;
};

static void fake_answer_all(struct fake_ks *k) {
	while (k->pending) {
		struct fake_req *r = k->pending;
		k->pending = r->next;
		k->answered++;
		r->fn(k->err ? NULL : &k->table, k->err, r->ud);
		free(r);
	}
}

static void fake_timer(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct fake_ks *k = ud;
	if (!k->hold)
		fake_answer_all(k);
}

static int fake_get(struct lb_kstat *ks, const struct lb_owned *want, lb_kstat_fn fn, void *ud,
		    struct lb_kstat_req **req) {
	struct fake_ks *k = (struct fake_ks *)ks;
	struct fake_req *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	*r = (struct fake_req){.k = k, .fn = fn, .ud = ud, .next = k->pending};
	k->pending = r;
	k->gets++;
	k->last_want = want->n;
	if (!k->hold)
		assert_int_equal(lb_timer_arm(k->loop, &k->timer, now_usec(CLOCK_MONOTONIC) + k->delay), 0);
	*req = (struct lb_kstat_req *)r;
	return 0;
}

static void fake_cancel(struct lb_kstat_req *req) {
	struct fake_req *r = (struct fake_req *)req;
	struct fake_ks *k = r->k;
	for (struct fake_req **p = &k->pending; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	k->cancels++;
	free(r);
}

/* ---- fixture: a loop, the state.yaml config, a server ---- */

struct fx {
	struct lb_loop *loop;
	struct lb_config *cfg;
	struct lb_observe obs;
	struct fake_ks ks;
	struct lb_metrics_http *m;
	uint16_t port;
	int fds_before;
};

static void fake_table(struct lb_table *t) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	assert_int_equal(lb_svc_key_parse("tcp 10.0.0.1:80", &s->key), 0);
	struct lb_dest *d = lb_service_add_dest(s);
	assert_non_null(d);
	assert_int_equal(lb_addr_parse("10.1.1.2:8080", &d->addr), 0);
	d->weight = 5;
	d->stats_known = d->conns_known = true;
	d->stats.conns = 42;
	lb_table_sort(t);
}

static int start(struct fx *f, bool with_kernel) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse("127.0.0.1:1", &a), 0);
	a.port = 0;
	struct lb_metrics_kernel k = {.get = fake_get, .cancel = fake_cancel,
				      .ks = (struct lb_kstat *)&f->ks};
	int r = lb_metrics_http_start_with(f->loop, &a, &f->obs, with_kernel ? &k : NULL, &f->m);
	if (r == 0)
		f->port = lb_metrics_http_port(f->m);
	return r;
}

static int setup(void **state) {
	struct fx *f = calloc(1, sizeof(*f));
	f->fds_before = count_fds();
	assert_int_equal(lb_loop_new(&f->loop), 0);
	struct lb_diag diag = {0};
	assert_int_equal(lb_config_load("tests/metrics/state.yaml", &f->cfg, &diag), 0);
	lb_diag_free(&diag);
	f->obs = (struct lb_observe){.cfg = f->cfg, .last_reload_ok = true};
	f->ks.loop = f->loop;
	f->ks.delay = 20 * USEC_PER_MSEC;
	lb_timer_init(&f->ks.timer, fake_timer, &f->ks);
	fake_table(&f->ks.table);
	assert_int_equal(start(f, true), 0);
	assert_true(f->port > 0);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fx *f = *state;
	lb_metrics_http_stop(f->m);
	lb_timer_cancel(f->loop, &f->ks.timer);
	assert_null(f->ks.pending); /* every request answered or cancelled */
	lb_table_clear(&f->ks.table);
	lb_loop_free(f->loop);
	lb_config_free(f->cfg);
	assert_int_equal(count_fds(), f->fds_before);
	free(f);
	return 0;
}

/* ---- clients ---- */

struct client {
	int fd;
	const char *out; /* the request, sent as the socket takes it */
	size_t out_len, out_off;
	char buf[256 * 1024];
	size_t len;
	bool eof;
};

static struct client *client_new(uint16_t port) {
	struct client *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	assert_true(r == 0 || errno == EINPROGRESS);
	return c;
}

/* Sends what the socket takes now; the rest from pump (a connection still in the server's
 * backlog, or not even there yet, takes nothing until the loop runs). */
static void client_flush(struct client *c) {
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN))
			return;
		if (w <= 0)
			fail_msg("send: %s", strerror(errno));
		c->out_off += (size_t)w;
	}
}

static void client_send(struct client *c, const char *s) {
	c->out = s;
	c->out_len = strlen(s);
	c->out_off = 0;
	client_flush(c);
}

static void client_free(struct client *c) {
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void client_read(struct client *c) {
	while (!c->eof) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			assert_true(c->len < sizeof(c->buf) - 1);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof = true; /* end, or reset: either way the server is done with it */
		} else {
			return;
		}
	}
}

/* Runs the loop and reads every client until each of want[0..n) reached EOF, or ms passed.
 * Returns the milliseconds it took; fails the test on timeout. */
static long pump(struct fx *f, struct client **cs, size_t n, long ms) {
	usec_t start = now_usec(CLOCK_MONOTONIC), end = start + (usec_t)ms * USEC_PER_MSEC;
	for (;;) {
		size_t done = 0;
		for (size_t i = 0; i < n; i++) {
			client_flush(cs[i]);
			client_read(cs[i]);
			done += cs[i]->eof;
		}
		if (done == n)
			return (long)((now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_MSEC);
		if (now_usec(CLOCK_MONOTONIC) > end)
			fail_msg("%zu of %zu clients unanswered after %ld ms", n - done, n, ms);
		assert_true(lb_loop_run_once(f->loop, 5) >= 0);
	}
}

/* Runs the loop for ms (no client is expected to finish). */
static void spin(struct fx *f, long ms) {
	usec_t end = now_usec(CLOCK_MONOTONIC) + (usec_t)ms * USEC_PER_MSEC;
	while (now_usec(CLOCK_MONOTONIC) < end)
		assert_true(lb_loop_run_once(f->loop, 5) >= 0);
}

static int status_of(const struct client *c) {
	int code = 0;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	return code;
}

static const char *body_of(const struct client *c) {
	const char *p = strstr(c->buf, "\r\n\r\n");
	return p ? p + 4 : NULL;
}

/* The value of a header (case-insensitive name), copied into out; false if absent. */
static bool header(const struct client *c, const char *name, char *out, size_t len) {
	const char *end = strstr(c->buf, "\r\n\r\n");
	size_t nl = strlen(name);
	for (const char *p = strstr(c->buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			h += nl + 1;
			while (*h == ' ')
				h++;
			size_t vl = strcspn(h, "\r");
			snprintf(out, len, "%.*s", (int)vl, h);
			return true;
		}
	}
	return false;
}

/* The body of a chunked response, decoded (NULL if malformed or incomplete). */
static char *dechunk(const char *b) {
	char *out = malloc(strlen(b) + 1);
	assert_non_null(out);
	size_t len = 0;
	for (;;) {
		char *end;
		unsigned long n = strtoul(b, &end, 16);
		if (end == b || strncmp(end, "\r\n", 2) != 0)
			break;
		b = end + 2;
		if (n == 0) {
			out[len] = '\0';
			return out;
		}
		if (strlen(b) < n + 2 || strncmp(b + n, "\r\n", 2) != 0)
			break;
		memcpy(out + len, b, n);
		len += n;
		b += n + 2;
	}
	free(out);
	return NULL;
}

static struct client *request(struct fx *f, const char *req) {
	struct client *c = client_new(f->port);
	client_send(c, req);
	pump(f, &c, 1, 3000);
	return c;
}

/* ---- tests ---- */

static void test_get(void **state) {
	struct fx *f = *state;
	struct client *c = request(f, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(c), 200);
	char ct[128];
	assert_true(header(c, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
	/* streamed: chunked, no length */
	char te[32], cl[32];
	assert_true(header(c, "Transfer-Encoding", te, sizeof(te)));
	assert_string_equal(te, "chunked");
	assert_false(header(c, "Content-Length", cl, sizeof(cl)));
	assert_non_null(body_of(c));
	_cleanup_free_ char *b = dechunk(body_of(c));
	assert_non_null(b);
	assert_true(strncmp(b, "# HELP ezlb_build_info ", 23) == 0);
	assert_non_null(strstr(b, "\nezlb_backend_weight{service=\"web\",backend=\"10.1.1.2:8080\"} 5\n"));
	assert_non_null(strstr(b, "\nezlb_backend_connections_total{service=\"web\",backend=\"10.1.1.2:8080\"} 42\n"));
	assert_non_null(strstr(b, "\nprocess_open_fds "));
	/* the counters of the configured services, and only those, were asked for */
	assert_int_equal(f->ks.gets, 1);
	assert_int_equal(f->ks.last_want, f->cfg->n_services);
	assert_non_null(strstr(b, "\nprocess_start_time_seconds ")); /* the whole page */
	client_free(c);
}

/* HTTP/1.0 without Host, as the VM test's bash client sends it; a query string is ignored. */
static void test_get_http10(void **state) {
	struct fx *f = *state;
	struct client *c = request(f, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	assert_int_equal(status_of(c), 200);
	/* close-delimited: the page as is, whole */
	char te[32];
	assert_false(header(c, "Transfer-Encoding", te, sizeof(te)));
	const char *b = body_of(c);
	assert_true(strncmp(b, "# HELP ezlb_build_info ", 23) == 0);
	assert_non_null(strstr(b, "ezlb_backend_up{"));
	const char *last = strstr(b, "\nprocess_start_time_seconds ");
	assert_non_null(last);
	assert_null(strchr(strchr(last + 1, '\n') + 1, '\n'));
	client_free(c);
}

static void test_head(void **state) {
	struct fx *f = *state;
	struct client *c = request(f, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(status_of(c), 200);
	char ct[128];
	assert_true(header(c, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(body_of(c), "");
	client_free(c);
}

static void test_not_found(void **state) {
	struct fx *f = *state;
	const char *paths[] = {"/", "/metricsx", "/metrics/", "/favicon.ico"};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char req[128];
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", paths[i]);
		struct client *c = request(f, req);
		assert_int_equal(status_of(c), 404);
		client_free(c);
	}
	assert_int_equal(f->ks.gets, 0); /* nothing read for them */
}

static void test_method_not_allowed(void **state) {
	struct fx *f = *state;
	const char *reqs[] = {
		"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"DELETE /metrics HTTP/1.0\r\n\r\n",
		"PUT /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
	};
	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
		struct client *c = request(f, reqs[i]);
		assert_int_equal(status_of(c), 405);
		char allow[64];
		assert_true(header(c, "Allow", allow, sizeof(allow)));
		assert_string_equal(allow, "GET, HEAD");
		client_free(c);
	}
	assert_int_equal(f->ks.gets, 0);
}

/* More clients at once than the connection limit: the extra ones wait in the backlog and are
 * served as slots free up. */
static void test_concurrent(void **state) {
	struct fx *f = *state;
	enum { N = LB_METRICS_HTTP_CONNECTIONS + 8 };
	struct client *cs[N];
	for (size_t i = 0; i < N; i++) {
		cs[i] = client_new(f->port);
		client_send(cs[i], "GET /metrics HTTP/1.0\r\n\r\n");
	}
	pump(f, cs, N, 5000);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(status_of(cs[i]), 200);
		client_free(cs[i]);
	}
	assert_true(f->ks.gets >= N);
}

/* Clients that send half a request and stall hold a slot each, but scrapes meanwhile are answered
 * at once, and the stalled ones are closed after the connection timeout. */
static void test_slow_clients(void **state) {
	struct fx *f = *state;
	enum { SLOW = 4 };
	struct client *slow[SLOW];
	for (size_t i = 0; i < SLOW; i++) {
		slow[i] = client_new(f->port);
		client_send(slow[i], "GET /metr");
	}
	spin(f, 100);
	for (int round = 0; round < 3; round++) {
		struct client *c = client_new(f->port);
		client_send(c, "GET /metrics HTTP/1.0\r\n\r\n");
		long ms = pump(f, &c, 1, 2000);
		assert_int_equal(status_of(c), 200);
		assert_true(ms < 1000);
		client_free(c);
	}
	for (size_t i = 0; i < SLOW; i++)
		client_read(slow[i]);
	for (size_t i = 0; i < SLOW; i++)
		assert_false(slow[i]->eof);
	/* the server closes them itself once they were silent for the timeout */
	long ms = pump(f, slow, SLOW, (LB_METRICS_HTTP_TIMEOUT_S + 3) * 1000);
	assert_true(ms >= (LB_METRICS_HTTP_TIMEOUT_S - 1) * 1000);
	for (size_t i = 0; i < SLOW; i++) {
		assert_int_equal(slow[i]->len, 0); /* no answer to a request never finished */
		client_free(slow[i]);
	}
}

/* A client that leaves while its scrape waits for the kernel table: the answer that comes later
 * goes nowhere, nothing crashes or leaks, and the server goes on serving. */
static void test_client_leaves_while_suspended(void **state) {
	struct fx *f = *state;
	f->ks.hold = true;
	struct client *c = client_new(f->port);
	client_send(c, "GET /metrics HTTP/1.0\r\n\r\n");
	while (f->ks.gets == 0) {
		client_flush(c);
		assert_true(lb_loop_run_once(f->loop, 5) >= 0);
	}
	client_free(c); /* gone, the scrape still suspended */
	spin(f, 50);
	assert_int_equal(f->ks.answered, 0);
	f->ks.hold = false;
	fake_answer_all(&f->ks);
	spin(f, 50);
	c = request(f, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(status_of(c), 200);
	client_free(c);
}

/* Stopping with scrapes suspended: their reads are cancelled and their connections closed. */
static void test_stop_while_suspended(void **state) {
	struct fx *f = *state;
	f->ks.hold = true;
	struct client *cs[3];
	for (size_t i = 0; i < 3; i++) {
		cs[i] = client_new(f->port);
		client_send(cs[i], "GET /metrics HTTP/1.0\r\n\r\n");
	}
	while (f->ks.gets < 3) {
		for (size_t i = 0; i < 3; i++)
			client_flush(cs[i]);
		assert_true(lb_loop_run_once(f->loop, 5) >= 0);
	}
	lb_metrics_http_stop(f->m);
	f->m = NULL;
	assert_int_equal(f->ks.cancels, 3);
	assert_null(f->ks.pending);
	for (size_t i = 0; i < 3; i++) {
		client_read(cs[i]);
		assert_true(cs[i]->eof);
		assert_int_equal(cs[i]->len, 0);
		client_free(cs[i]);
	}
}

/* The kernel read failed: the page comes without the kernel families. */
static void test_kernel_read_fails(void **state) {
	struct fx *f = *state;
	f->ks.err = -EIO;
	struct client *c = request(f, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(status_of(c), 200);
	assert_null(strstr(body_of(c), "ezlb_backend_weight"));
	assert_non_null(strstr(body_of(c), "ezlb_backend_up{"));
	client_free(c);
}

/* Without a kernel source the page is answered at once, never suspended. */
static void test_no_kernel_source(void **state) {
	struct fx *f = *state;
	lb_metrics_http_stop(f->m);
	assert_int_equal(start(f, false), 0);
	struct client *c = request(f, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(status_of(c), 200);
	assert_null(strstr(body_of(c), "ezlb_backend_weight"));
	assert_int_equal(f->ks.gets, 0);
	client_free(c);
}

/* Keep-alive: two scrapes on one connection (Prometheus reuses its connections). */
static void test_keep_alive(void **state) {
	struct fx *f = *state;
	struct client *c = client_new(f->port);
	client_send(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	usec_t end = now_usec(CLOCK_MONOTONIC) + 3 * USEC_PER_SEC;
	/* the page's last family, then the last chunk */
	while (!strstr(c->buf, "process_start_time_seconds") || !strstr(c->buf, "\r\n0\r\n\r\n")) {
		assert_true(now_usec(CLOCK_MONOTONIC) < end);
		assert_true(lb_loop_run_once(f->loop, 5) >= 0);
		client_flush(c);
		client_read(c);
	}
	assert_false(c->eof);
	c->len = 0;
	client_send(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	pump(f, &c, 1, 3000);
	assert_int_equal(status_of(c), 200);
	assert_int_equal(f->ks.gets, 2);
	client_free(c);
}

/* ---- a big table streams without stalling the loop ---- */

enum { BIG_SVCS = 1000, BIG_DESTS = 100 };

/* BIG_SVCS services of BIG_DESTS backends each, all in the kernel with counters. */
static struct lb_config *big_config(struct lb_table *t) {
	struct lb_config *cfg = calloc(1, sizeof(*cfg));
	assert_non_null(cfg);
	cfg->services = calloc(BIG_SVCS, sizeof(*cfg->services));
	assert_non_null(cfg->services);
	cfg->n_services = BIG_SVCS;
	lb_table_clear(t);
	for (size_t i = 0; i < BIG_SVCS; i++) {
		struct lb_service_conf *sc = &cfg->services[i];
		char buf[64];
		snprintf(buf, sizeof(buf), "service-%zu", i);
		sc->name = strdup(buf);
		sc->protocol = IPPROTO_TCP;
		snprintf(buf, sizeof(buf), "10.0.%zu.%zu:80", i / 250, i % 250 + 1);
		assert_int_equal(lb_addr_parse(buf, &sc->listen), 0);
		sc->backends = calloc(BIG_DESTS, sizeof(*sc->backends));
		assert_non_null(sc->backends);
		sc->n_backends = BIG_DESTS;
		struct lb_service *s = lb_table_add_service(t);
		assert_non_null(s);
		s->key = (struct lb_svc_key){.proto = IPPROTO_TCP, .addr = sc->listen};
		s->stats_known = true;
		s->stats.conns = i;
		for (size_t j = 0; j < BIG_DESTS; j++) {
			snprintf(buf, sizeof(buf), "10.%zu.%zu.%zu:8080", 100 + i / 250, i % 250,
				 j + 1);
			assert_int_equal(lb_addr_parse(buf, &sc->backends[j].addr), 0);
			sc->backends[j].weight = 1;
			struct lb_dest *d = lb_service_add_dest(s);
			assert_non_null(d);
			d->addr = sc->backends[j].addr;
			d->weight = (uint32_t)j;
			d->conns_known = d->stats_known = true;
			d->active = (uint32_t)j;
			d->stats = (struct lb_kstats){.conns = 1000000 + j, .inpkts = 123456789,
						      .outpkts = 987654321, .inbytes = 12345678901,
						      .outbytes = 98765432109};
		}
		lb_service_sort(s);
	}
	lb_table_sort(t);
	return cfg;
}

struct ticker {
	struct lb_timer t;
	usec_t last, max_gap, due, max_late;
	size_t n;
};

static void tick(struct lb_loop *l, struct lb_timer *t, void *ud) {
	struct ticker *k = ud;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (k->last && now - k->last > k->max_gap)
		k->max_gap = now - k->last;
	if (k->due && now - k->due > k->max_late)
		k->max_late = now - k->due;
	k->last = now;
	k->n++;
	k->due = now + 10 * USEC_PER_MSEC;
	assert_int_equal(lb_timer_arm(l, t, k->due), 0);
}

static ssize_t count_lines(void *cookie, const char *buf, size_t len) {
	size_t *n = cookie;
	for (size_t i = 0; i < len; i++)
		*n += buf[i] == '\n';
	return (ssize_t)len;
}

/* A scrape of 100k destinations (~90 MB) is streamed in pieces: a timer due every 10 ms keeps
 * firing meanwhile, with no gap anywhere near the time of the whole scrape. */
static void test_big_table_streams(void **state) {
	struct fx *f = *state;
	lb_config_free(f->cfg);
	f->cfg = big_config(&f->ks.table);
	f->obs.cfg = f->cfg;
	f->ks.delay = 0;

	/* the page's line count, rendered in one go (without process numbers: +18 lines) */
	size_t want_lines = 0;
	FILE *cf = fopencookie(&want_lines, "w", (cookie_io_functions_t){.write = count_lines});
	assert_non_null(cf);
	assert_int_equal(lb_metrics_render(&f->obs, &f->ks.table, NULL, cf), 0);
	fclose(cf);
	want_lines += 6 * 3;

	struct ticker k = {0};
	lb_timer_init(&k.t, tick, &k);
	assert_int_equal(lb_timer_arm(f->loop, &k.t, now_usec(CLOCK_MONOTONIC)), 0);
	struct client *c = client_new(f->port);
	client_send(c, "GET /metrics HTTP/1.0\r\n\r\n");
	usec_t start = now_usec(CLOCK_MONOTONIC), deadline = start + 120 * USEC_PER_SEC;
	char buf[64 * 1024], tail[256] = "";
	size_t total = 0, lines = 0, tail_len = 0;
	bool eof = false;
	while (!eof) {
		assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
		assert_true(lb_loop_run_once(f->loop, 5) >= 0);
		client_flush(c);
		for (;;) {
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
			if (n == 0) {
				eof = true;
				break;
			}
			if (n < 0) {
				assert_true(errno == EAGAIN || errno == EINTR);
				break;
			}
			if (total == 0)
				assert_true(strncmp(buf, "HTTP/1.", 7) == 0 && strstr(buf, " 200 "));
			total += (size_t)n;
			for (ssize_t i = 0; i < n; i++)
				lines += buf[i] == '\n';
			/* the last bytes seen */
			size_t keep = (size_t)n >= sizeof(tail) - 1 ? sizeof(tail) - 1 : (size_t)n;
			if (tail_len + keep > sizeof(tail) - 1) {
				size_t drop = tail_len + keep - (sizeof(tail) - 1);
				memmove(tail, tail + drop, tail_len - drop);
				tail_len -= drop;
			}
			memcpy(tail + tail_len, buf + n - keep, keep);
			tail_len += keep;
			tail[tail_len] = '\0';
		}
	}
	usec_t took = now_usec(CLOCK_MONOTONIC) - start;
	lb_timer_cancel(f->loop, &k.t);
	client_free(c);
	print_message("scrape of %d destinations: %zu bytes in %.0f ms; a 10 ms timer fired %zu "
		      "times, longest gap %.1f ms (at most %.1f ms late)\n", BIG_SVCS * BIG_DESTS, total,
		      (double)took / USEC_PER_MSEC, k.n, (double)k.max_gap / USEC_PER_MSEC,
		      (double)k.max_late / USEC_PER_MSEC);
	/* complete: ends with the last family's sample, and has every line (the header's too) */
	const char *last = strstr(tail, "\nprocess_start_time_seconds ");
	assert_non_null(last);
	assert_null(strchr(strchr(last + 1, '\n') + 1, '\n'));
	assert_true(lines > want_lines);
	size_t header_lines = lines - want_lines;
	assert_true(header_lines >= 3 && header_lines < 12);
	assert_true(total > 50 * 1000 * 1000);
	/* the loop never stalls for long: 200 ms, or a fifth of the whole scrape in a slow (ASan)
	 * build, as in test_ctl's test_status_big */
	usec_t bound = took / 5 > 200 * USEC_PER_MSEC ? took / 5 : 200 * USEC_PER_MSEC;
	assert_true(k.max_gap < bound);
}

static void test_port_in_use(void **state) {
	struct fx *f = *state;
	struct lb_addr a;
	assert_int_equal(lb_addr_parse("127.0.0.1:1", &a), 0);
	a.port = f->port;
	struct lb_metrics_http *m2 = NULL;
	assert_int_equal(lb_metrics_http_start(f->loop, &a, &f->obs, NULL, &m2), -EADDRINUSE);
	assert_null(m2);
}

int main(void) {
	log_set_max_level(LOG_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_http10, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves_while_suspended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_suspended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_read_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_kernel_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_table_streams, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
