/* TLS for the https check: see tls.h. Every SSL call is non-blocking: WANT_READ/WANT_WRITE become
 * the epoll events the HTTP state machine waits for. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tls.h"

/* Process-wide, like the daemon's other counters: the loop is single-threaded. */
static uint64_t n_full, n_resumed;

void lb_tls_stats(uint64_t *full, uint64_t *resumed) {
	if (full)
		*full = n_full;
	if (resumed)
		*resumed = n_resumed;
}

/* --- a socket BIO that cannot raise SIGPIPE ---
 * OpenSSL's socket BIO write()s: a backend that resets while we send would kill the daemon with
 * SIGPIPE, which it does not ignore. This one send()s with MSG_NOSIGNAL; it does not own the fd. */

#define BIO_TYPE_EZLB (0x7e | BIO_TYPE_SOURCE_SINK)

static int bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static int bio_write(BIO *b, const char *buf, int len) {
	BIO_clear_retry_flags(b);
	ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len) {
	BIO_clear_retry_flags(b);
	ssize_t n = recv(bio_fd(b), buf, (size_t)len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
	return cmd == BIO_CTRL_FLUSH; /* nothing is buffered */
}

static BIO_METHOD *bio_method_new(void) {
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_EZLB, "ezlb socket");
	if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
	    BIO_meth_set_ctrl(m, bio_ctrl))
		return m;
	BIO_meth_free(m);
	return NULL;
}

/* --- contexts, one per (tls_verify, ca_file) of a manager --- */

struct ctx_entry {
	bool verify;
	char *ca_file; /* NULL: the system store (or no verification) */
	SSL_CTX *ctx;
};

struct tls_shared {
	BIO_METHOD *bio;
	struct ctx_entry *ctxs;
	size_t n, cap;
};

void lb_tls_shared_free(void *shared) {
	struct tls_shared *s = shared;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		SSL_CTX_free(s->ctxs[i].ctx);
		free(s->ctxs[i].ca_file);
	}
	free(s->ctxs);
	BIO_meth_free(s->bio);
	free(s);
}

static struct tls_shared *shared_of(struct lb_probe *p) {
	struct tls_shared **slot = (struct tls_shared **)&p->shared->kind[LB_CHECK_HTTPS];
	if (*slot)
		return *slot;
	struct tls_shared *s = calloc(1, sizeof(*s));
	if (s && !(s->bio = bio_method_new())) {
		free(s);
		s = NULL;
	}
	return *slot = s;
}

/* A backend gave us a session (after a TLS 1.2 handshake, or in a TLS 1.3 ticket, which arrives
 * with the response): keep the newest in the target, for the next probe to resume. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess) {
	struct lb_probe *p = SSL_get_app_data(ssl);
	if (!p)
		return 0;
	if (p->persist != sess)
		SSL_SESSION_free(p->persist);
	else
		SSL_SESSION_free(sess); /* already held: drop the extra reference */
	p->persist = sess;
	return 1; /* we keep the reference */
}

/* OpenSSL's reason for error e; system errors (a CA file that cannot be opened) by errno. */
static const char *err_string(unsigned long e) {
	const char *s = NULL;
	if (e && ERR_SYSTEM_ERROR(e))
		s = strerrordesc_np(ERR_GET_REASON(e));
	else if (e)
		s = ERR_reason_error_string(e);
	return s ? s : "unknown error";
}

/* A new context; -EPROTO with why when the CA file cannot be loaded, -ENOMEM. */
static int ctx_new(bool verify, const char *ca_file, SSL_CTX **out, char *why) {
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return -ENOMEM;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* A body delimited by the close often ends without close_notify: that is an end, not an
	 * error, for a check. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* Client sessions go to on_new_session only: the target, not the context, keeps them. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (verify && !(ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
				: SSL_CTX_set_default_verify_paths(ctx))) {
		snprintf(why, LB_PROBE_REASON_MAX, "TLS: cannot load CA file %.64s (%s)",
			 ca_file ? ca_file : "(system)", err_string(ERR_peek_error()));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -EPROTO;
	}
	*out = ctx;
	return 0;
}

/* The context for c, created on first use. A failed load is not cached: a fixed file is used by
 * the next probe. */
static int ctx_of(struct tls_shared *s, const struct lb_check_http *c, SSL_CTX **out, char *why) {
	const char *ca = c->tls_verify ? c->ca_file : NULL;
	for (size_t i = 0; i < s->n; i++) {
		struct ctx_entry *e = &s->ctxs[i];
		bool same_ca = e->ca_file == ca || (e->ca_file && ca && strcmp(e->ca_file, ca) == 0);
		if (e->verify == c->tls_verify && same_ca) {
			*out = e->ctx;
			return 0;
		}
	}
	if (GROW(s->ctxs, s->cap, s->n + 1) < 0)
		return -ENOMEM;
	struct ctx_entry e = {.verify = c->tls_verify, .ca_file = ca ? strdup(ca) : NULL};
	if (ca && !e.ca_file)
		return -ENOMEM;
	int r = ctx_new(e.verify, ca, &e.ctx, why);
	if (r < 0) {
		free(e.ca_file);
		return r;
	}
	s->ctxs[s->n++] = e;
	*out = e.ctx;
	return 0;
}

/* --- one connection --- */

/* The name to present and check: host without brackets or port ("[::1]:443" -> "::1"), or the
 * probed IP when host is absent. */
static const char *peer_name(const struct lb_probe *p, char buf[static 256]) {
	const char *h = p->conf->http.host;
	if (!h) {
		char ip[LB_ADDRSTRLEN];
		snprintf(buf, 256, "%s", lb_ip_fmt(p->addr->af, &p->addr->ip, ip));
		return buf;
	}
	const char *end = h + strlen(h), *colon = strchr(h, ':');
	if (h[0] == '[') {
		const char *close = strchr(h, ']');
		h++;
		end = close ? close : end;
	} else if (colon && !strchr(colon + 1, ':')) {
		end = colon; /* name:port; two colons or more is a bare IPv6 address */
	}
	snprintf(buf, 256, "%.*s", (int)(end - h), h);
	return buf;
}

static bool is_ip(const char *s) {
	unsigned char b[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* SNI for names (never for IP literals, RFC 6066), and with tls_verify the identity to check. */
static int set_peer(SSL *ssl, const struct lb_probe *p, char *why) {
	char buf[256];
	const char *name = peer_name(p, buf);
	bool ip = is_ip(name), verify = p->conf->http.tls_verify, ok = true;
	if (!ip)
		ok = SSL_set_tlsext_host_name(ssl, name) == 1;
	if (ok && verify && ip)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	if (ok && verify && !ip) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set1_host(ssl, name) == 1;
	}
	if (ok)
		return 0;
	ERR_clear_error();
	snprintf(why, LB_PROBE_REASON_MAX, "TLS: unusable host name \"%.64s\"", name);
	return -EPROTO;
}

static int tls_open(struct lb_probe *p, void **xs, char why[static LB_PROBE_REASON_MAX]) {
	struct tls_shared *s = shared_of(p);
	SSL_CTX *ctx;
	if (!s)
		return -ENOMEM;
	int r = ctx_of(s, &p->conf->http, &ctx, why);
	if (r < 0)
		return r;
	SSL *ssl = SSL_new(ctx);
	BIO *bio = ssl ? BIO_new(s->bio) : NULL;
	if (!bio) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	BIO_set_data(bio, (void *)(intptr_t)p->fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);
	if ((r = set_peer(ssl, p, why)) < 0) {
		SSL_free(ssl);
		return r;
	}
	SSL_set_app_data(ssl, p);
	if (p->persist)
		SSL_set_session(ssl, p->persist); /* the server may still decline: a full handshake */
	SSL_set_connect_state(ssl);
	*xs = ssl;
	return 0;
}

/* Why the handshake failed, in OpenSSL's words. */
static void ssl_reason(SSL *ssl, char *why) {
	long v = SSL_get_verify_result(ssl);
	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && v != X509_V_OK) {
		snprintf(why, LB_PROBE_REASON_MAX, "TLS: certificate verify failed (%s)",
			 X509_verify_cert_error_string(v));
		return;
	}
	unsigned long e = ERR_peek_error();
	snprintf(why, LB_PROBE_REASON_MAX, "TLS: %s", e ? err_string(e) : "protocol error");
}

/* The result of an SSL call that returned r <= 0, err being errno just after it: -EAGAIN with
 * *want, 0 for the end of the stream, or an error. */
static int ssl_result(SSL *ssl, int r, int err, bool handshake, uint32_t *want, char *why) {
	int code = SSL_get_error(ssl, r), ret = -EPROTO;
	switch (code) {
	case SSL_ERROR_WANT_READ:
		*want = EPOLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = EPOLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
	case SSL_ERROR_SYSCALL:
		if (code == SSL_ERROR_SYSCALL && err)
			ret = -err; /* connection reset, ... */
		else if (!handshake)
			ret = 0; /* the peer closed */
		else
			snprintf(why, LB_PROBE_REASON_MAX, "TLS: connection closed in the handshake");
		break;
	default:
		ssl_reason(ssl, why);
		break;
	}
	ERR_clear_error();
	return ret;
}

static void forget_session(struct lb_probe *p) {
	SSL_SESSION_free(p->persist);
	p->persist = NULL;
}

static int tls_handshake(struct lb_probe *p, void *xs, uint32_t *want,
			 char why[static LB_PROBE_REASON_MAX]) {
	SSL *ssl = xs;
	ERR_clear_error(); /* stale errors of another connection would be taken for this one's */
	errno = 0;
	int r = SSL_do_handshake(ssl);
	if (r == 1) {
		if (SSL_session_reused(ssl))
			n_resumed++;
		else
			n_full++;
		return 0;
	}
	r = ssl_result(ssl, r, errno, true, want, why);
	if (r != -EAGAIN)
		forget_session(p); /* whatever went wrong, the next probe starts afresh */
	return r;
}

static ssize_t tls_read(struct lb_probe *p, void *xs, void *buf, size_t n, uint32_t *want,
			char why[static LB_PROBE_REASON_MAX]) {
	ERR_clear_error();
	errno = 0;
	int r = SSL_read(xs, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	return r > 0 ? r : ssl_result(xs, r, errno, false, want, why);
}

static ssize_t tls_write(struct lb_probe *p, void *xs, const void *buf, size_t n, uint32_t *want,
			 char why[static LB_PROBE_REASON_MAX]) {
	ERR_clear_error();
	errno = 0;
	/* A retry after WANT_* passes the same bytes again, as SSL_write requires. */
	int r = SSL_write(xs, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	return r > 0 ? r : ssl_result(xs, r, errno, false, want, why);
}

/* Close without sending or waiting for close_notify (the socket gets an RST next). A completed
 * handshake is flagged as shut down, or SSL_free would take the session for a broken one and make
 * it unresumable. */
static void tls_close(struct lb_probe *p, void *xs) {
	SSL *ssl = xs;
	if (!ssl)
		return;
	if (SSL_is_init_finished(ssl))
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_set_app_data(ssl, NULL);
	SSL_free(ssl);
	ERR_clear_error();
}

void lb_tls_release(struct lb_probe *p) { forget_session(p); }

const struct lb_http_xport lb_tls_xport = {
	.open = tls_open,
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
};
