/* TLS for the https check (OpenSSL, non-blocking, in the engine's loop):
 *  - one SSL_CTX per (tls_verify, ca_file), shared by a health manager's probes and created on
 *    first use (p->shared->kind[LB_CHECK_HTTPS]);
 *  - SNI for host names; with tls_verify, the chain (ca_file or the system store) and the name
 *    (host, or the probed IP when host is an IP literal or absent);
 *  - session resumption between the probes of one target: the last session the backend gave is
 *    kept in p->persist, so a steady check costs one full handshake, then only resumptions;
 *  - failures named after OpenSSL's own strings: "TLS: certificate verify failed (certificate has
 *    expired)", "TLS: wrong version number".
 * No OpenSSL type appears here, so any module may include it (the daemon's stats line). */
#pragma once
#include <stdint.h>

#include "check.h"
#include "http_client.h"

/* The https transport for lb_http_start. */
extern const struct lb_http_xport lb_tls_xport;

/* Handshakes completed by https probes since the process started, in the whole process: full
 * ones and resumed ones (SSL_session_reused). Either pointer may be NULL. */
void lb_tls_stats(uint64_t *full, uint64_t *resumed);

/* The https kind's release and shared_free: free p->persist (the target's session), and the
 * manager's contexts. */
void lb_tls_release(struct lb_probe *p);
void lb_tls_shared_free(void *shared);
