/* The control socket: STATE_DIR/ezlb.sock, where `ezlb status` asks the daemon for its state.
 *
 * An AF_UNIX stream socket, mode 0600, made in the state directory (ezlb's own, locked, so a
 * socket found there is a stale one and is replaced; anything else there is refused). Only peers
 * whose SO_PEERCRED uid is 0 or the daemon's euid are served; others are closed at once.
 *
 * Protocol: one request per connection, one line of JSON of at most LB_CTL_MAX_REQUEST bytes
 * (the newline may be replaced by shutting down the writing side):
 *   {"cmd":"ping"}
 *   {"cmd":"status","services":["web"],"format":"json"|"text"}   (services, format optional)
 * and one answer line, after which the server closes:
 *   {"ok":true}                                  ping
 *   {"ok":true,"status":{...}}                   status, format json (schema: include/status.h)
 *   {"ok":true,"text":"..."}                     status, format text
 *   {"ok":false,"error":"..."}                   anything else: bad JSON, unknown command,
 *                                                unknown service ("no service named \"x\""),
 *                                                too many clients, the kernel read failing late
 * Unknown members of a request are ignored (a newer client may send more).
 *
 * Everything runs on the daemon's loop: non-blocking sockets, one timer per client. A status
 * needs a fresh kernel table with counters: it is asked from lb_kstat and the answer is made in
 * its callback (the request is cancelled if the client goes away first). Bounds: at most
 * LB_CTL_MAX_CLIENTS connections at once (more get an error line and are closed); a client has
 * LB_CTL_REQUEST_MS from its connection to send its request, and LB_CTL_ANSWER_MS to read its
 * answer; the kernel read is waited for at most LB_CTL_KSTAT_MS (then an error answer). A status
 * answer is not made at once: the callback copies the table, and the answer is made as the client
 * takes it, at most one 64 KiB piece per client and loop turn (see lb_status_gen_read), so that
 * a status of 100k destinations never holds the loop (probes) for long. Per client: the copy of
 * the table, a 64 KiB buffer and the one unit (a service) being sent. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "kstat.h"
#include "loop.h"
#include "observe.h"
#include "statedir.h"

#define LB_CTL_SOCKET "ezlb.sock"   /* in the state directory */
#define LB_CTL_MAX_REQUEST 4096     /* bytes of the request line, without its newline */
#define LB_CTL_MAX_CLIENTS 16
#define LB_CTL_REQUEST_MS 5000      /* from the connection to the end of the request */
#define LB_CTL_ANSWER_MS 10000      /* from the answer being ready to its last byte read */
#define LB_CTL_KSTAT_MS 8000        /* the kernel read, within the client's 10 s */

struct lb_ctl;

/* Creates the socket and serves it on l. sd, obs and ks are borrowed and must outlive the ctl
 * (close it before the state directory); obs is read at each request. Returns 0 or a negative errno (logged with the path). */
int lb_ctl_open(struct lb_loop *l, const struct lb_statedir *sd, const struct lb_observe *obs,
		struct lb_kstat *ks, struct lb_ctl **out);
/* Drops every client (cancelling their kernel reads), closes the socket and removes it from the
 * directory (if it is still the one this ctl made). NULL is fine. */
void lb_ctl_close(struct lb_ctl *c);

/* Whether a peer may be served: root, or the daemon's own effective uid. */
bool lb_ctl_peer_allowed(const struct ucred *peer, uid_t euid);

/* For tests: the two client deadlines (0 keeps the default), and the clients connected now. */
void lb_ctl_set_timeouts(struct lb_ctl *c, uint32_t request_ms, uint32_t answer_ms);
size_t lb_ctl_n_clients(const struct lb_ctl *c);
