/* hcsrv: the application health checks' test server for the VM tests (not part of ezlb).
 *
 *   hcsrv [-d] [-p PIDFILE] [-c CTLFILE] [-l LOGFILE] [--tls CERT KEY] ADDR:PORT NAME
 *       HTTP/1.1 (HTTPS with --tls: CERT is a PEM chain, KEY its key) on TCP ADDR:PORT, any path,
 *       every answer with "Connection: close" and "X-Server: NAME". One process, epoll, every
 *       socket non-blocking (the TLS handshake too): a client that never finishes its request, or
 *       a connection held open by the "hang" mode, never delays another one.
 *   hcsrv [-d] [-p PIDFILE] [-c CTLFILE] [-l LOGFILE] --dns ADDR:PORT
 *       A DNS responder on UDP: any query is answered with its id and question, QR and AA set,
 *       RD copied, the RCODE of the mode; with RCODE 0 a type A question gets 10.9.9.9 and AAAA
 *       fd09::9 (TTL 60), any other type no answer.
 *   hcsrv client [-v] [-t TIMEOUT_MS] ADDR:PORT (N | --for SECONDS)
 *       N sequential "GET / HTTP/1.1" (or as many as fit in SECONDS), each with its own timeout;
 *       an answer counts for the name in its X-Server header, whatever its status; no header
 *       (refused, reset, timeout) is a failure. Prints one "NAME COUNT" line per name (sorted)
 *       and "fail COUNT", like lbnet client; with -v first one "fail_at REALTIME_MS" line per
 *       failure (when that request started). Exit status 0 when nothing failed, else 1.
 *
 * The behaviour is chosen per request (per query) by the first line of CTLFILE, read each time
 * (absent or empty: "ok"), so a test breaks and fixes a server without restarting it:
 *   ok            200, body "NAME ok\n"                          (dns: RCODE 0)
 *   status N      status N, body "NAME\n"
 *   body TEXT     200, body TEXT
 *   hang          read the request, never answer (the connection stays open until the client
 *                 closes it)                                      (dns: no reply)
 *   cut           status line and headers with Content-Length: 1000, 10 bytes of body, close
 *   chunked       200, "Transfer-Encoding: chunked", body "NAME ok" in two chunks
 *   rcode N       (dns) RCODE N; for HTTP the same as ok
 * -l appends one line per request: "REALTIME_MS PEER_ADDR MODE METHOD PATH host=HOST sni=SNI"
 * (dns: "REALTIME_MS PEER_ADDR MODE QNAME QTYPE"), so a test sees who asked what and when.
 * The socket is bound before the process detaches (-d, printing the server's pid), so when the
 * command returns the server is listening. "[::]:PORT" serves IPv4 and IPv6. Exits on SIGTERM.
 */
#define _GNU_SOURCE
#define TOOL_TLS
#include "tool.h"
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <sys/epoll.h>

#define REQ_MAX 8192
#define IDLE_MS 60000 /* a connection silent this long is dropped (hang mode included) */

static void usage(void)
{
	fprintf(stderr,
		"usage: hcsrv [-d] [-p PIDFILE] [-c CTLFILE] [-l LOGFILE] [--tls CERT KEY] ADDR:PORT NAME\n"
		"       hcsrv [-d] [-p PIDFILE] [-c CTLFILE] [-l LOGFILE] --dns ADDR:PORT\n"
		"       hcsrv client [-v] [-t TIMEOUT_MS] ADDR:PORT (N | --for SECONDS)\n");
	exit(2);
}

/* The peer's address as text, IPv4-mapped IPv6 shown as IPv4. */
static void peer_text(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	snprintf(buf, n, "?");
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, n);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, n);
		else
			inet_ntop(AF_INET6, a, buf, n);
	}
}

/* ---- the mode (control file) ---- */

enum mode { M_OK, M_STATUS, M_BODY, M_HANG, M_CUT, M_CHUNKED, M_RCODE };
static const char *const mode_names[] = {"ok", "status", "body", "hang", "cut", "chunked", "rcode"};

struct ctl {
	enum mode mode;
	int num;        /* status N, rcode N */
	char text[512]; /* body TEXT */
};

static const char *ctl_file;

/* Reads the control file now; anything unknown or unreadable is "ok" (and said on stderr). */
static void ctl_read(struct ctl *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = M_OK;
	if (!ctl_file)
		return;
	FILE *f = fopen(ctl_file, "r");
	if (!f)
		return;
	char line[600] = "";
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	line[strcspn(line, "\r\n")] = 0;
	const char *arg = strchr(line, ' ');
	size_t kw = arg ? (size_t)(arg - line) : strlen(line);
	if (arg)
		arg++;
	if (kw == 0 || (kw == 2 && strncmp(line, "ok", 2) == 0))
		return;
	for (int m = 0; m < (int)(sizeof(mode_names) / sizeof(mode_names[0])); m++) {
		if (strlen(mode_names[m]) != kw || strncmp(line, mode_names[m], kw) != 0)
			continue;
		c->mode = m;
		if (m == M_STATUS || m == M_RCODE) {
			c->num = arg ? atoi(arg) : -1;
			if (c->num < 0 || (m == M_STATUS && (c->num < 100 || c->num > 999)) ||
			    (m == M_RCODE && c->num > 15))
				break;
		} else if (m == M_BODY) {
			snprintf(c->text, sizeof(c->text), "%s", arg ? arg : "");
		}
		return;
	}
	fprintf(stderr, "hcsrv: %s: unknown mode \"%s\", serving ok\n", ctl_file, line);
	c->mode = M_OK;
}

static int log_fd = -1;

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	if (log_fd < 0)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(log_fd, buf, n) < 0)
		perror("hcsrv: log");
}

/* ---- HTTP(S) server ---- */

enum cstate { C_HANDSHAKE, C_READ, C_WRITE, C_HANG, C_SHUTDOWN };

struct conn {
	int fd;
	SSL *ssl;
	enum cstate state;
	int64_t last; /* monotonic ms of the last progress */
	char peer[INET6_ADDRSTRLEN];
	char req[REQ_MAX + 1];
	size_t req_len;
	char *out;
	size_t out_len, out_off;
	uint32_t events; /* what epoll waits for now */
	struct conn *prev, *next;
};

static int ep;
static SSL_CTX *tls_ctx;
static const char *srv_name;
static struct conn *conns;

static void conn_free(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);
	free(c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void conn_want(struct conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

/* TLS or plain I/O. Returns bytes, 0 on EOF, -1 on error (closed), -2 would block (events set). */
static ssize_t conn_io(struct conn *c, bool wr, void *buf, size_t n)
{
	uint32_t want;
	ssize_t r = sock_io(c->fd, c->ssl, wr, buf, n, &want);
	if (r == -2)
		conn_want(c, want);
	return r;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Case-insensitive header value of the request (first occurrence), "-" when absent. */
static void req_header(const char *req, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	snprintf(out, n, "-");
	for (const char *l = strstr(req, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vl = strcspn(v, "\r\n");
			snprintf(out, n, "%.*s", (int)(vl < n - 1 ? vl : n - 1), v);
			for (char *p = out; *p; p++)
				if (isspace((unsigned char)*p))
					*p = '_';
			return;
		}
	}
}

/* The request is complete (headers read): log it and build the answer for the current mode. */
static void conn_respond(struct conn *c)
{
	struct ctl m;
	ctl_read(&m);
	char method[16] = "-", path[256] = "-", host[256], sni[256] = "-";
	sscanf(c->req, "%15s %255s", method, path);
	req_header(c->req, "Host", host, sizeof(host));
	if (c->ssl) {
		const char *s = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
		if (s)
			snprintf(sni, sizeof(sni), "%s", s);
	}
	log_line("%lld %s %s %s %s host=%s sni=%s", clock_ms(CLOCK_REALTIME), c->peer, mode_names[m.mode],
		 method, path, host, sni);
	if (m.mode == M_HANG) {
		c->state = C_HANG; /* wait for the client's EOF, never answer */
		conn_want(c, EPOLLIN);
		return;
	}
	char body[600];
	int status = 200;
	const char *extra = "";
	int clen;
	switch (m.mode) {
	case M_STATUS:
		status = m.num;
		snprintf(body, sizeof(body), "%s\n", srv_name);
		break;
	case M_BODY: snprintf(body, sizeof(body), "%s", m.text); break;
	case M_CHUNKED:
		/* two chunks: "NAME" and " ok" */
		snprintf(body, sizeof(body), "%zx\r\n%s\r\n3\r\n ok\r\n0\r\n\r\n", strlen(srv_name), srv_name);
		extra = "Transfer-Encoding: chunked\r\n";
		break;
	case M_CUT: snprintf(body, sizeof(body), "%-10.10s", srv_name); break;
	default: snprintf(body, sizeof(body), "%s ok\n", srv_name); break;
	}
	clen = m.mode == M_CUT ? 1000 : (int)strlen(body);
	char clen_hdr[64] = "";
	if (m.mode != M_CHUNKED)
		snprintf(clen_hdr, sizeof(clen_hdr), "Content-Length: %d\r\n", clen);
	if (asprintf(&c->out,
		     "HTTP/1.1 %d %s\r\nServer: hcsrv\r\nX-Server: %s\r\nContent-Type: text/plain\r\n"
		     "%s%sConnection: close\r\n\r\n%s",
		     status, reason_phrase(status), srv_name, clen_hdr, extra, body) < 0) {
		c->out = NULL;
		c->state = C_SHUTDOWN;
		return;
	}
	c->out_len = strlen(c->out);
	c->out_off = 0;
	c->state = C_WRITE;
	conn_want(c, EPOLLOUT);
}

/* Advance one connection as far as it goes without blocking; frees it when it is done. */
static void conn_step(struct conn *c)
{
	for (;;) {
		switch (c->state) {
		case C_HANDSHAKE: {
			uint32_t want;
			int r = tls_handshake(c->ssl, &want);
			if (r == 1) {
				c->state = C_READ;
				c->last = mono_ms();
				continue;
			}
			if (r == -2) {
				conn_want(c, want);
				return;
			}
			conn_free(c);
			return;
		}
		case C_READ: {
			if (c->req_len >= REQ_MAX) {
				conn_free(c);
				return;
			}
			ssize_t r = conn_io(c, false, c->req + c->req_len, REQ_MAX - c->req_len);
			if (r == -2)
				return;
			if (r <= 0) {
				conn_free(c);
				return;
			}
			c->last = mono_ms();
			c->req_len += r;
			c->req[c->req_len] = 0;
			if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
				conn_respond(c);
			continue;
		}
		case C_WRITE: {
			if (c->out_off == c->out_len) {
				c->state = C_SHUTDOWN;
				continue;
			}
			ssize_t r = conn_io(c, true, c->out + c->out_off, c->out_len - c->out_off);
			if (r == -2)
				return;
			if (r <= 0) {
				conn_free(c);
				return;
			}
			c->last = mono_ms();
			c->out_off += r;
			continue;
		}
		case C_HANG: {
			char buf[512];
			ssize_t r = conn_io(c, false, buf, sizeof(buf));
			if (r == -2)
				return;
			if (r <= 0) {
				conn_free(c);
				return;
			}
			continue; /* more request bytes: ignored */
		}
		case C_SHUTDOWN:
			if (c->ssl)
				tls_close_notify(c->ssl);
			conn_free(c);
			return;
		}
	}
}

static void accept_all(int lfd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or out of fds (the idle sweep frees some) */
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last = mono_ms();
		peer_text(&ss, c->peer, sizeof(c->peer));
		c->state = C_READ;
		if (tls_ctx) {
			c->ssl = tls_accept(tls_ctx, fd);
			if (!c->ssl) {
				close(fd);
				free(c);
				continue;
			}
			c->state = C_HANDSHAKE;
		}
		c->events = EPOLLIN;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (c->ssl)
				SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		conn_step(c);
	}
}

static int serve_http(int lfd)
{
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("hcsrv: epoll_create1");
		return 1;
	}
	static int listener_tag;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("hcsrv: epoll_ctl");
		return 1;
	}
	int64_t last_sweep = mono_ms();
	while (!stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1000);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listener_tag)
				accept_all(lfd);
			else
				conn_step(evs[i].data.ptr);
		}
		int64_t now = mono_ms();
		if (now - last_sweep >= 1000) {
			last_sweep = now;
			for (struct conn *c = conns, *nx; c; c = nx) {
				nx = c->next;
				if (now - c->last > IDLE_MS)
					conn_free(c);
			}
		}
	}
	while (conns)
		conn_free(conns);
	return 0;
}

/* ---- DNS responder ---- */

/* Skips the name at msg[off]; returns the offset after it, or -1. Queries carry no pointers. */
static int dns_skip_name(const unsigned char *msg, int len, int off, char *text, size_t tn)
{
	size_t tl = 0;
	text[0] = 0;
	while (off < len) {
		int l = msg[off];
		if (l == 0) {
			if (tl == 0)
				snprintf(text, tn, ".");
			return off + 1;
		}
		if (l & 0xc0 || off + 1 + l > len)
			return -1;
		if (tl + l + 2 < tn) {
			if (tl)
				text[tl++] = '.';
			for (int i = 0; i < l; i++) {
				unsigned char ch = msg[off + 1 + i];
				text[tl++] = isgraph(ch) ? (char)ch : '?';
			}
			text[tl] = 0;
		}
		off += 1 + l;
	}
	return -1;
}

static int serve_dns(int fd)
{
	while (!stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		unsigned char q[1500], a[1600];
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &pl);
		if (n < 12 || (q[2] & 0x80))
			continue; /* too short for a header, or a response */
		struct ctl m;
		ctl_read(&m);
		char ptext[INET6_ADDRSTRLEN], qname[256] = "-";
		peer_text(&peer, ptext, sizeof(ptext));
		int qdcount = q[4] << 8 | q[5];
		int qend = -1, qtype = -1, qclass = -1;
		if (qdcount >= 1) {
			qend = dns_skip_name(q, (int)n, 12, qname, sizeof(qname));
			if (qend > 0 && qend + 4 <= n) {
				qtype = q[qend] << 8 | q[qend + 1];
				qclass = q[qend + 2] << 8 | q[qend + 3];
				qend += 4;
			} else {
				qend = -1;
			}
		}
		int rcode = m.mode == M_RCODE ? m.num : 0;
		char mt[32];
		if (m.mode == M_RCODE)
			snprintf(mt, sizeof(mt), "rcode:%d", m.num);
		else
			snprintf(mt, sizeof(mt), "%s", mode_names[m.mode]);
		log_line("%lld %s %s %s %d", clock_ms(CLOCK_REALTIME), ptext, mt, qname, qtype);
		if (m.mode == M_HANG)
			continue;
		if (qend < 0)
			rcode = 1; /* FORMERR */
		memcpy(a, q, 12);
		a[2] = 0x80 | (q[2] & 0x79) | 0x04; /* QR, opcode and RD copied, AA */
		a[3] = 0x80 | (rcode & 0x0f);       /* RA, RCODE */
		int off = 12, an = 0;
		if (qend > 0) {
			memcpy(a + 12, q + 12, qend - 12);
			off = qend;
			a[4] = 0, a[5] = 1;
		} else {
			a[4] = 0, a[5] = 0;
		}
		if (rcode == 0 && qclass == 1 && (qtype == 1 || qtype == 28)) {
			static const unsigned char v4[4] = {10, 9, 9, 9};
			static const unsigned char v6[16] = {0xfd, 0x09, [15] = 9};
			int rdlen = qtype == 1 ? 4 : 16;
			unsigned char rr[12] = {0xc0, 12, 0, (unsigned char)qtype, 0, 1, 0, 0, 0, 60, 0,
						(unsigned char)rdlen};
			memcpy(a + off, rr, 12);
			memcpy(a + off + 12, qtype == 1 ? v4 : v6, rdlen);
			off += 12 + rdlen;
			an = 1;
		}
		a[6] = 0, a[7] = (unsigned char)an;
		memset(a + 8, 0, 4); /* no authority, no additional (an OPT record is dropped) */
		if (sendto(fd, a, off, 0, (struct sockaddr *)&peer, pl) < 0)
			perror("hcsrv: sendto");
	}
	return 0;
}

/* ---- server main ---- */

static int cmd_serve(int argc, char **argv)
{
	int daemonize = 0, dns = 0;
	const char *pidfile = NULL, *cert = NULL, *key = NULL, *logfile = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-d") == 0)
			daemonize = 1;
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			pidfile = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			ctl_file = argv[++i];
		else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
			logfile = argv[++i];
		else if (strcmp(argv[i], "--tls") == 0 && i + 2 < argc)
			cert = argv[++i], key = argv[++i];
		else if (strcmp(argv[i], "--dns") == 0)
			dns = 1;
		else
			usage();
	}
	if (argc - i != (dns ? 1 : 2) || (dns && cert))
		usage();
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("hcsrv", argv[i], false, &ss, &len) < 0)
		return 2;
	srv_name = dns ? "dns" : argv[i + 1];
	if (!*srv_name || strlen(srv_name) > NAME_LEN || strpbrk(srv_name, " \t\r\n")) {
		fprintf(stderr, "hcsrv: bad name\n");
		return 2;
	}
	if (cert) {
		tls_ctx = tls_server_ctx(cert, key);
		if (!tls_ctx) {
			fprintf(stderr, "hcsrv: TLS with %s and %s:\n", cert, key);
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	if (logfile) {
		log_fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			perror(logfile);
			return 1;
		}
	}
	int fd = server_socket("hcsrv", argv[i], &ss, len, dns, SOCK_NONBLOCK);
	if (fd < 0)
		return 1;
	if (start_server("hcsrv", daemonize, pidfile) < 0) /* SIGTERM interrupts epoll_wait()/poll() */
		return 1;
	int rc = dns ? serve_dns(fd) : serve_http(fd);
	close(fd);
	if (tls_ctx)
		SSL_CTX_free(tls_ctx);
	return rc;
}

/* ---- client ---- */

/* One GET; fills name from X-Server. Returns 0 when an answer with that header came. */
static int get_once(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms, char *name)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	static const char req[] = "GET / HTTP/1.1\r\nHost: vip\r\nUser-Agent: hcsrv-client\r\n"
				  "Connection: close\r\n\r\n";
	char buf[4096];
	size_t got = 0, sent = 0;
	int rc = -1;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS)
		goto out;
	/* Send the request, then read until EOF (the server closes first: its TIME_WAIT, not ours)
	 * or the deadline. */
	for (;;) {
		if (wait_fd(fd, sent < sizeof(req) - 1 ? POLLOUT : POLLIN, deadline) != 1)
			break;
		if (sent < sizeof(req) - 1) {
			ssize_t w = send(fd, req + sent, sizeof(req) - 1 - sent, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (w < 0)
				break;
			sent += w;
			continue;
		}
		ssize_t rd = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (rd < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (rd <= 0)
			break;
		got += rd;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = 0;
	char *hend = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || !hend)
		goto out;
	*hend = 0;
	for (char *l = strstr(buf, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, "X-Server:", 9) == 0) {
			char *v = l + 9;
			while (*v == ' ')
				v++;
			size_t vl = strcspn(v, "\r\n");
			if (vl == 0 || vl > NAME_LEN)
				goto out;
			memcpy(name, v, vl);
			name[vl] = 0;
			rc = 0;
			break;
		}
	}
out:
	close(fd);
	return rc;
}

static int cmd_client(int argc, char **argv)
{
	long timeout_ms = 1000, for_s = -1, count = -1;
	int i = 1, verbose = 0;
	const char *addr = NULL;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			timeout_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--for") == 0 && i + 1 < argc)
			for_s = strtol(argv[++i], NULL, 10);
		else if (!addr)
			addr = argv[i];
		else if (count < 0)
			count = strtol(argv[i], NULL, 10);
		else
			usage();
	}
	if (!addr || timeout_ms <= 0 || (for_s < 0) == (count < 0) || (for_s < 0 && count <= 0))
		usage();
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr("hcsrv client", addr, false, &ss, &len) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	static struct tally t;
	int64_t end = for_s >= 0 ? mono_ms() + for_s * 1000 : 0;
	for (long k = 0; for_s >= 0 ? mono_ms() < end : k < count; k++) {
		char name[NAME_LEN + 2];
		long long start = clock_ms(CLOCK_REALTIME);
		if (get_once(&ss, len, (int)timeout_ms, name) == 0) {
			tally_add(&t, name);
		} else {
			t.fail++;
			if (verbose)
				printf("fail_at %lld\n", start);
		}
	}
	tally_print(&t);
	return t.fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 1, argv + 1);
	return cmd_serve(argc, argv);
}
