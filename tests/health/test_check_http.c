/* http and https checks end to end, through the real engine, against a loopback server in a forked
 * child: the exact reason of each failure in the logged transition, the request sent, timeouts in
 * each phase, bodies over 64 KiB, no fd left behind. HTTPS: a CA and server certificate made at
 * test time; verification off, on with the right CA and name (DNS name or IP), wrong name,
 * untrusted CA; SNI sent for names only; session resumption (one full handshake per target). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../../src/health/check.h"
#include "../../src/health/tls.h"
#include "health_test.h"
#include "loop.h"

/* --- the test server --- */

/* What the child saw, in memory shared with the parent. */
struct seen {
	int conns;
	char req[1024];
	char sni[256];
};
static struct seen *seen;

struct server_conf {
	const char *resp;  /* sent after the request was read, then the connection is closed */
	size_t resp_len;   /* 0: strlen(resp) */
	size_t hang_after; /* send this many bytes of resp, then hold the connection open */
	bool hang;         /* hold every connection at once, reading and sending nothing */
	bool drip;         /* send 3 bytes at a time, so the probe reads in many pieces */
	bool eager;        /* answer at once, without reading the request */
	int delay_ms;      /* wait this long after the request before answering */
	SSL_CTX *tls;      /* serve TLS */
};

struct server {
	pid_t pid;
	char addr[64];
};

static int listener(int backlog, char *addr, size_t len) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sl), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	snprintf(addr, len, "127.0.0.1:%u", ntohs(a.sin_port));
	return fd;
}

static ssize_t conn_read(int fd, SSL *ssl, char *buf, size_t n) {
	return ssl ? SSL_read(ssl, buf, (int)n) : read(fd, buf, n);
}

static bool conn_write(int fd, SSL *ssl, const char *buf, size_t n) {
	return ssl ? SSL_write(ssl, buf, (int)n) == (int)n : write(fd, buf, n) == (ssize_t)n;
}

/* One connection: read the request up to its blank line, record it, answer. Returns whether
 * to keep the connection open (hang). */
static bool serve_one(int fd, const struct server_conf *sc, SSL *ssl) {
	char req[sizeof(seen->req)];
	size_t got = 0;
	while (!sc->eager && got < sizeof(req) - 1) {
		ssize_t n = conn_read(fd, ssl, req + got, sizeof(req) - 1 - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = '\0';
	memcpy(seen->req, req, got + 1);
	if (sc->delay_ms)
		usleep((useconds_t)sc->delay_ms * 1000);
	size_t len = sc->resp_len ? sc->resp_len : strlen(sc->resp);
	size_t upto = sc->hang_after && sc->hang_after < len ? sc->hang_after : len;
	for (size_t off = 0; off < upto;) {
		size_t n = sc->drip ? 3 : upto - off;
		n = n > upto - off ? upto - off : n;
		if (!conn_write(fd, ssl, sc->resp + off, n))
			return false; /* the probe judged and reset: fine */
		off += n;
		if (sc->drip)
			usleep(500);
	}
	/* Unread bytes at close would turn our FIN into an RST that may overtake the answer:
	 * wait for the probe to go first. */
	char drain[512];
	while (sc->eager && read(fd, drain, sizeof(drain)) > 0)
		;
	return upto < len;
}

static void serve(int lfd, const struct server_conf *sc) {
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		seen->conns++;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (sc->hang)
			continue; /* held open, unread, until the child is killed */
		SSL *ssl = NULL;
		if (sc->tls) {
			ssl = SSL_new(sc->tls);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) != 1) { /* the probe refused our certificate */
				SSL_free(ssl);
				close(fd);
				continue;
			}
			const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
			snprintf(seen->sni, sizeof(seen->sni), "%s", sni ? sni : "");
		}
		bool keep = serve_one(fd, sc, ssl);
		if (ssl && !keep)
			SSL_shutdown(ssl);
		if (keep)
			continue; /* held open like fd; the child is killed */
		SSL_free(ssl);
		close(fd);
	}
}

static struct server server_start(const struct server_conf *sc) {
	struct server s;
	int lfd = listener(64, s.addr, sizeof(s.addr));
	memset(seen, 0, sizeof(*seen));
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test must not leave it behind */
		serve(lfd, sc);
		_exit(0);
	}
	close(lfd);
	return s;
}

static void server_stop(struct server *s) {
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

/* --- running probes through the engine --- */

static struct lb_check_conf http_conf(enum lb_check_type type, uint32_t timeout_ms,
				      bool initial_up) {
	struct lb_check_conf c = check_conf(10000, timeout_ms, 1, 1, initial_up);
	c.type = type;
	c.http.path = "/health";
	return c;
}

/* One decisive round of one backend; returns the log (the caller frees it) and the state. */
static char *probe_once(struct lb_check_conf c, const char *addr, enum lb_health *state) {
	struct lb_config cfg = {0};
	const char *be[] = {addr};
	add_service(&cfg, "web", IPPROTO_TCP, c, be, 1);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	capture_start();
	assert_int_equal(lb_health_run_round(h), 0);
	char *log = capture_take();
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.probes, 1);
	*state = lb_health_state(h, &cfg.services[0], &cfg.services[0].backends[0]);
	lb_health_free(h);
	lb_loop_free(l);
	free_conf(&cfg);
	return log;
}

static void expect_up(struct lb_check_conf c, const char *addr) {
	char want[200];
	enum lb_health st;
	c.initial_up = false;
	char *log = probe_once(c, addr, &st);
	snprintf(want, sizeof(want), "web %s down -> up (1 success)\n", addr);
	assert_string_equal(log, want);
	assert_int_equal(st, LB_HEALTH_UP);
	free(log);
}

/* Down, with exactly this reason (or, with prefix, a reason starting so). */
static void expect_down_as(struct lb_check_conf c, const char *addr, const char *reason,
			   bool prefix) {
	char want[400];
	enum lb_health st;
	c.initial_up = true;
	char *log = probe_once(c, addr, &st);
	snprintf(want, sizeof(want), "web %s up -> down (1 failure: %s%s", addr, reason,
		 prefix ? "" : ")\n");
	if (prefix) {
		if (strncmp(log, want, strlen(want)) != 0)
			fail_msg("log \"%s\" does not start with \"%s\"", log, want);
		print_message("    %s", log);
	} else {
		assert_string_equal(log, want);
	}
	assert_int_equal(st, LB_HEALTH_DOWN);
	free(log);
}

static void expect_down(struct lb_check_conf c, const char *addr, const char *reason) {
	expect_down_as(c, addr, reason, false);
}

/* Serve resp and expect reason ("" = up) from one probe of kind type. */
static void served(const struct server_conf *sc, struct lb_check_conf c, const char *reason) {
	struct server s = server_start(sc);
	if (*reason)
		expect_down(c, s.addr, reason);
	else
		expect_up(c, s.addr);
	server_stop(&s);
}

#define OK_RESP "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nall ok\n"

/* --- http --- */

static void test_http_up_and_request(void **state) {
	struct server_conf sc = {.resp = OK_RESP};
	struct server s = server_start(&sc);
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, false);
	c.http.expect = "ok";
	expect_up(c, s.addr);
	char want[300];
	snprintf(want, sizeof(want),
		 "GET /health HTTP/1.1\r\nHost: %s\r\nUser-Agent: ezlb/%s\r\nConnection: close\r\n\r\n",
		 s.addr, EZLB_VERSION);
	assert_string_equal(seen->req, want);
	/* A configured host goes in the Host header. */
	c.http.host = "www.example.com";
	c.http.path = NULL;
	expect_up(c, s.addr);
	snprintf(want, sizeof(want),
		 "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: ezlb/%s\r\nConnection: "
		 "close\r\n\r\n",
		 EZLB_VERSION);
	assert_string_equal(seen->req, want);
	server_stop(&s);
}

static void test_http_500(void **state) {
	struct server_conf sc = {.resp = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"};
	served(&sc, http_conf(LB_CHECK_HTTP, 3000, true), "HTTP 500");
}

static void test_http_status_ranges(void **state) {
	struct server_conf sc = {.resp = "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"};
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, true);
	served(&sc, c, "HTTP 301");
	c.http.status[0] = (struct lb_status_range){200, 299};
	c.http.status[1] = (struct lb_status_range){301, 301};
	c.http.n_status = 2;
	served(&sc, c, "");
}

static void test_http_body_lacks_expect(void **state) {
	struct server_conf sc = {.resp = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot good\n"};
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, true);
	c.http.expect = "ok";
	served(&sc, c, "body lacks \"ok\"");
	c.http.expect = "good";
	served(&sc, c, "");
}

static void test_http_chunked_dripped(void **state) {
	struct server_conf sc = {.resp = "HTTP/1.1 100 Continue\r\n\r\n"
					 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					 "4;x=y\r\nstat\r\n9\r\nus: ready\r\n0\r\nX-T: 1\r\n\r\n",
				 .drip = true};
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, true);
	c.http.expect = "status: ready";
	served(&sc, c, "");
	c.http.expect = "status: readyy";
	served(&sc, c, "body lacks \"status: readyy\"");
}

static void test_http_close_delimited(void **state) {
	struct server_conf sc = {.resp = "HTTP/1.0 200 OK\r\n\r\nbody until the close"};
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, true);
	served(&sc, c, "");
	c.http.expect = "close";
	served(&sc, c, "");
}

static void test_http_early_closes(void **state) {
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, true);
	struct server_conf sc = {.resp = ""};
	served(&sc, c, "connection closed before the status line");
	sc.resp = "HTTP/1.1 200 OK\r\nContent-Le";
	served(&sc, c, "connection closed in the headers");
	sc.resp = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
	served(&sc, c, "connection closed in the body");
	sc.resp = "SSH-2.0-OpenSSH_9.2\r\n";
	served(&sc, c, "malformed status line");
}

static void test_http_timeouts(void **state) {
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 200, true);
	struct server_conf sc = {.hang = true};
	served(&sc, c, "timeout reading headers");
	sc = (struct server_conf){.resp = OK_RESP, .hang_after = 20};
	served(&sc, c, "timeout reading headers");
	sc.hang_after = strlen(OK_RESP) - 3;
	served(&sc, c, "timeout reading body");
}

/* Connections not accepted: the SYN is dropped once the listener's queue is full. */
static void test_http_timeout_connecting(void **state) {
	char addr[64];
	int lfd = listener(0, addr, sizeof(addr));
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(addr, &a), 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(a.port), .sin_addr = a.ip.v4};
	int fillers[8];
	size_t n = 0;
	for (; n < 8; n++) {
		fillers[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(fillers[n], (struct sockaddr *)&sin, sizeof(sin));
		struct pollfd p = {.fd = fillers[n], .events = POLLOUT};
		if (poll(&p, 1, 50) == 0) {
			n++;
			break;
		}
	}
	expect_down(http_conf(LB_CHECK_HTTP, 200, true), addr, "timeout connecting");
	for (size_t i = 0; i < n; i++)
		close(fillers[i]);
	close(lfd);
}

static void test_http_refused(void **state) {
	char addr[64];
	close(listener(1, addr, sizeof(addr)));
	expect_down(http_conf(LB_CHECK_HTTP, 3000, true), addr, "connection refused");
}

/* A long body: with expect near its start the probe stops there; without, after 64 KiB; an
 * expect beyond 64 KiB is not found. The server's 1 MB is never read in full. */
static void test_http_large_body(void **state) {
	size_t body = 1 << 20;
	char *resp = malloc(body + 100);
	int h = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
	memset(resp + h, 'x', body);
	memcpy(resp + h + 100, "early", 5);
	memcpy(resp + h + 70000, "late", 4);
	struct server_conf sc = {.resp = resp, .resp_len = h + body};
	struct lb_check_conf c = http_conf(LB_CHECK_HTTP, 3000, true);
	served(&sc, c, "");
	c.http.expect = "early";
	served(&sc, c, "");
	c.http.expect = "late";
	served(&sc, c, "body lacks \"late\"");
	free(resp);
}

/* Scheduled probes of several backends over a while, freed mid-probe: every fd is closed. */
static void test_http_no_fd_leak(void **state) {
	struct server_conf ok = {.resp = OK_RESP}, hang = {.hang = true};
	struct server s1 = server_start(&ok), s2 = server_start(&hang);
	char refused[64];
	close(listener(1, refused, sizeof(refused)));
	int before = count_fds();
	struct lb_config cfg = {0};
	const char *be[] = {s1.addr, s2.addr, refused};
	struct lb_check_conf c = check_conf(30, 20, 1, 1, true);
	c.type = LB_CHECK_HTTP;
	add_service(&cfg, "web", IPPROTO_TCP, c, be, 3);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	capture_start();
	run_loop_ms(l, 200);
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_true(st.probes >= 6);
	assert_int_equal(st.up, 1);
	assert_int_equal(st.down, 2);
	lb_health_free(h);
	lb_loop_free(l);
	free(capture_take());
	assert_int_equal(count_fds(), before);
	free_conf(&cfg);
	server_stop(&s1);
	server_stop(&s2);
}

/* --- the late checker: the deadline fires while the answer already waits on the socket ---
 * As for tcp: under overload a probe's deadline can be dispatched before its socket's event. The
 * probe is run until the server has the request, then the loop is left alone while the answer
 * arrives, and the kind's expire is called as the timer would. */

static void late_case(const struct server_conf *sc, bool initial_up, const char *want_fmt) {
	struct server s = server_start(sc);
	struct lb_config cfg = {0};
	const char *be[] = {s.addr};
	add_service(&cfg, "web", IPPROTO_TCP, http_conf(LB_CHECK_HTTP, 5000, initial_up), be, 1);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	spy_set(h, &lb_check_http, false);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	assert_int_equal(lb_health_probe_all(h), 0);
	usec_t end = now_usec(CLOCK_MONOTONIC) + 2 * USEC_PER_SEC;
	while (!seen->req[0] && now_usec(CLOCK_MONOTONIC) < end)
		assert_true(lb_loop_run_once(l, 1) >= 0);
	assert_true(seen->req[0]);
	usleep(150 * 1000); /* the server answers after 50 ms; the loop does not look */
	assert_true(lb_health_round_pending(h));
	capture_start();
	lb_check_http.expire(spy.p);
	char *log = capture_take(), want[200];
	snprintf(want, sizeof(want), want_fmt, s.addr);
	assert_string_equal(log, want);
	assert_false(lb_health_round_pending(h));
	assert_int_equal(spy.p->fd, -1);
	assert_null(spy.p->run);
	assert_int_equal(spy.engine_expires, 0);
	free(log);
	lb_health_free(h);
	lb_loop_free(l);
	free_conf(&cfg);
	server_stop(&s);
}

static void test_http_late_checker_takes_waiting_answer(void **state) {
	struct server_conf sc = {.resp = OK_RESP, .delay_ms = 50};
	late_case(&sc, false, "web %s down -> up (1 success)\n");
	sc.resp = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
	late_case(&sc, true, "web %s up -> down (1 failure: HTTP 503)\n");
}

static void test_http_late_checker_times_out_when_nothing_waits(void **state) {
	struct server_conf sc = {.resp = OK_RESP, .delay_ms = 50, .hang_after = 30};
	late_case(&sc, true, "web %s up -> down (1 failure: timeout reading headers)\n");
}

/* --- https --- */

static struct {
	char dir[64], ca[96], other_ca[96];
	SSL_CTX *srv;
} pki;

static void add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value) {
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *san) {
	static long serial = 1;
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &v3, NID_basic_constraints, issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
	add_ext(x, &v3, NID_key_usage,
		issuer ? "critical,digitalSignature" : "critical,keyCertSign,cRLSign");
	add_ext(x, &v3, NID_subject_key_identifier, "hash");
	if (san)
		add_ext(x, &v3, NID_subject_alt_name, san);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *path, X509 *x) {
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

/* A CA, a server certificate it signs for localhost and 127.0.0.1, and another CA that signs
 * nothing we see; the server context serves the certificate. */
static int pki_setup(void **state) {
	health_test_setup(state);
	strcpy(pki.dir, "/tmp/ezlb-https-XXXXXX");
	assert_non_null(mkdtemp(pki.dir));
	snprintf(pki.ca, sizeof(pki.ca), "%s/ca.pem", pki.dir);
	snprintf(pki.other_ca, sizeof(pki.other_ca), "%s/other-ca.pem", pki.dir);
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_true(ca_key && other_key && srv_key);
	X509 *ca = make_cert(ca_key, "ezlb test CA", NULL, NULL, NULL);
	X509 *other = make_cert(other_key, "ezlb other CA", NULL, NULL, NULL);
	X509 *srv = make_cert(srv_key, "localhost", ca, ca_key, "DNS:localhost,IP:127.0.0.1");
	write_pem(pki.ca, ca);
	write_pem(pki.other_ca, other);
	pki.srv = SSL_CTX_new(TLS_server_method());
	assert_non_null(pki.srv);
	assert_int_equal(SSL_CTX_use_certificate(pki.srv, srv), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(pki.srv, srv_key), 1);
	X509_free(ca);
	X509_free(other);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(srv_key);
	return 0;
}

static int pki_teardown(void **state) {
	SSL_CTX_free(pki.srv);
	unlink(pki.ca);
	unlink(pki.other_ca);
	rmdir(pki.dir);
	return 0;
}

static struct lb_check_conf https_conf(bool verify, const char *ca, const char *host) {
	struct lb_check_conf c = http_conf(LB_CHECK_HTTPS, 3000, true);
	c.http.tls_verify = verify;
	c.http.ca_file = (char *)ca;
	c.http.host = (char *)host;
	return c;
}

static void test_https_no_verify(void **state) {
	struct server_conf sc = {.resp = OK_RESP, .tls = pki.srv};
	struct server s = server_start(&sc);
	struct lb_check_conf c = https_conf(false, NULL, NULL);
	c.http.expect = "ok";
	expect_up(c, s.addr);
	assert_string_equal(seen->sni, ""); /* never for an IP */
	assert_non_null(strstr(seen->req, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:"));
	/* Unverified, but the name still goes out as SNI. */
	expect_up(https_conf(false, NULL, "localhost"), s.addr);
	assert_string_equal(seen->sni, "localhost");
	server_stop(&s);
}

static void test_https_verify(void **state) {
	struct server_conf sc = {.resp = OK_RESP, .tls = pki.srv};
	struct server s = server_start(&sc);
	/* The right CA and name; then the probed IP, in the certificate too. */
	expect_up(https_conf(true, pki.ca, "localhost"), s.addr);
	assert_string_equal(seen->sni, "localhost");
	assert_non_null(strstr(seen->req, "\r\nHost: localhost\r\n"));
	expect_up(https_conf(true, pki.ca, NULL), s.addr);
	expect_up(https_conf(true, pki.ca, "127.0.0.1"), s.addr);
	/* A name or an IP the certificate does not have. */
	expect_down_as(https_conf(true, pki.ca, "wrong.example"), s.addr,
		       "TLS: certificate verify failed (", true);
	expect_down(https_conf(true, pki.ca, "wrong.example"), s.addr,
		    "TLS: certificate verify failed (hostname mismatch)");
	expect_down(https_conf(true, pki.ca, "127.0.0.2"), s.addr,
		    "TLS: certificate verify failed (IP address mismatch)");
	/* A CA that did not sign it; the system store does not know ours either. */
	expect_down_as(https_conf(true, pki.other_ca, "localhost"), s.addr,
		       "TLS: certificate verify failed (", true);
	expect_down_as(https_conf(true, NULL, "localhost"), s.addr,
		       "TLS: certificate verify failed (", true);
	/* A CA file that cannot be read. */
	expect_down_as(https_conf(true, "/nonexistent/ca.pem", "localhost"), s.addr,
		       "TLS: cannot load CA file /nonexistent/ca.pem", true);
	server_stop(&s);
}

static void test_https_http_status_and_body(void **state) {
	struct server_conf sc = {.resp = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", .tls = pki.srv};
	served(&sc, https_conf(false, NULL, NULL), "HTTP 503");
	sc = (struct server_conf){.resp = "HTTP/1.0 200 OK\r\n\r\nbody until the close",
				  .tls = pki.srv, .drip = true};
	struct lb_check_conf c = https_conf(true, pki.ca, "localhost");
	c.http.expect = "the close";
	served(&sc, c, "");
	c.http.expect = "nothing";
	served(&sc, c, "body lacks \"nothing\"");
}

static void test_https_to_plain_server(void **state) {
	/* It answers the ClientHello as garbage, like a real server would. */
	struct server_conf sc = {.resp = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
				 .eager = true};
	struct server s = server_start(&sc);
	expect_down_as(https_conf(false, NULL, NULL), s.addr, "TLS: ", true);
	server_stop(&s);
}

static void test_https_timeouts(void **state) {
	struct server_conf sc = {.hang = true};
	struct lb_check_conf c = https_conf(false, NULL, NULL);
	c.timeout_ms = 200;
	served(&sc, c, "timeout in the TLS handshake");
	sc = (struct server_conf){.resp = OK_RESP, .hang_after = 5, .tls = pki.srv};
	served(&sc, c, "timeout reading headers");
}

/* Probes of one target resume the session of the first: one full handshake, then only
 * resumptions (TLS 1.3 tickets, read with the response). */
static void test_https_resumption(void **state) {
	struct server_conf sc = {.resp = OK_RESP, .tls = pki.srv};
	struct server s = server_start(&sc);
	struct lb_config cfg = {0};
	const char *be[] = {s.addr};
	add_service(&cfg, "web", IPPROTO_TCP, https_conf(true, pki.ca, "localhost"), be, 1);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	uint64_t full0, resumed0, full, resumed;
	lb_tls_stats(&full0, &resumed0);
	capture_start();
	for (int i = 0; i < 6; i++)
		assert_int_equal(lb_health_run_round(h), 0);
	free(capture_take());
	lb_tls_stats(&full, &resumed);
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.probes, 6);
	assert_int_equal(st.failures, 0);
	assert_int_equal(seen->conns, 6);
	assert_int_equal(full - full0, 1);
	assert_int_equal(resumed - resumed0, 5);
	lb_health_free(h);
	lb_loop_free(l);
	free_conf(&cfg);
	server_stop(&s);
}

/* Scheduled https probes, some failing verification, freed mid-probe: no fd left, and (under
 * valgrind or ASan) no memory: sessions and contexts go with their targets and manager. */
static void test_https_no_fd_leak(void **state) {
	struct server_conf ok = {.resp = OK_RESP, .tls = pki.srv}, hang = {.hang = true};
	struct server s1 = server_start(&ok), s2 = server_start(&hang);
	int before = count_fds();
	struct lb_config cfg = {0};
	const char *be[] = {s1.addr, s2.addr};
	struct lb_check_conf c = https_conf(true, pki.ca, "localhost");
	c.interval_ms = 40;
	c.timeout_ms = 30;
	add_service(&cfg, "a", IPPROTO_TCP, c, be, 2);
	c.http.host = "wrong.example";
	add_service(&cfg, "b", IPPROTO_TCP, c, be, 1);
	c.http.tls_verify = false;
	add_service(&cfg, "c", IPPROTO_TCP, c, be, 1);
	struct lb_loop *l;
	struct lb_health_mgr *h;
	assert_int_equal(lb_loop_new(&l), 0);
	assert_int_equal(lb_health_new(l, NULL, NULL, &h), 0);
	assert_int_equal(lb_health_sync(h, &cfg), 0);
	capture_start();
	run_loop_ms(l, 300);
	struct lb_health_stats st;
	lb_health_get_stats(h, &st);
	assert_int_equal(st.targets, 4);
	assert_true(st.probes >= 4);
	lb_health_free(h);
	lb_loop_free(l);
	free(capture_take());
	assert_int_equal(count_fds(), before);
	free_conf(&cfg);
	server_stop(&s1);
	server_stop(&s2);
}

static int group_setup(void **state) {
	seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(seen != MAP_FAILED);
	return pki_setup(state);
}

static int group_teardown(void **state) {
	munmap(seen, sizeof(*seen));
	return pki_teardown(state);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_up_and_request),
		cmocka_unit_test(test_http_500),
		cmocka_unit_test(test_http_status_ranges),
		cmocka_unit_test(test_http_body_lacks_expect),
		cmocka_unit_test(test_http_chunked_dripped),
		cmocka_unit_test(test_http_close_delimited),
		cmocka_unit_test(test_http_early_closes),
		cmocka_unit_test(test_http_timeouts),
		cmocka_unit_test(test_http_timeout_connecting),
		cmocka_unit_test(test_http_refused),
		cmocka_unit_test(test_http_large_body),
		cmocka_unit_test(test_http_no_fd_leak),
		cmocka_unit_test(test_http_late_checker_takes_waiting_answer),
		cmocka_unit_test(test_http_late_checker_times_out_when_nothing_waits),
		cmocka_unit_test(test_https_no_verify),
		cmocka_unit_test(test_https_verify),
		cmocka_unit_test(test_https_http_status_and_body),
		cmocka_unit_test(test_https_to_plain_server),
		cmocka_unit_test(test_https_timeouts),
		cmocka_unit_test(test_https_resumption),
		cmocka_unit_test(test_https_no_fd_leak),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
