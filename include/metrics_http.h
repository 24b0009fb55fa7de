/* The /metrics HTTP server (global.metrics.listen), on the daemon's own loop.
 *
 * GNU libmicrohttpd in its external-event-loop mode: MHD_USE_EPOLL without a polling thread.
 * MHD keeps its sockets in an epoll set of its own; that one fd sits in our loop, MHD_run runs
 * when it is readable, and a loop timer follows MHD_get_timeout (connection timeouts). No
 * thread, nothing blocks. A scrape needs the kernel's counters, which lb_kstat reads spread over
 * loop turns: the request is suspended (MHD_suspend_connection) while the read runs, and resumed
 * with its response when it ends; other scrapes, probes and everything else carry on meanwhile.
 * The response is streamed from a page generator (lb_metrics_gen), a bounded piece per loop turn,
 * chunked for HTTP/1.1 clients and close-delimited for HTTP/1.0 ones (no Content-Length).
 *
 * Only GET (and HEAD) of /metrics: any other path is a 404, another method on /metrics a 405
 * with "Allow: GET, HEAD". At most LB_METRICS_HTTP_CONNECTIONS connections at once (more wait
 * in a listen backlog of the same size), each closed after LB_METRICS_HTTP_TIMEOUT_S seconds
 * without progress (a client that sends half a request holds one slot that long, never the
 * loop), LB_METRICS_HTTP_MEMORY bytes of request memory per connection. */
#pragma once
#include <stdint.h>

#include "addr.h"
#include "kstat.h"
#include "loop.h"
#include "observe.h"

#define LB_METRICS_HTTP_CONNECTIONS 16
#define LB_METRICS_HTTP_TIMEOUT_S 10
#define LB_METRICS_HTTP_MEMORY (64 * 1024)
/* The page is streamed: read from its generator in blocks of at most this (less in practice:
 * they come out of the connection's memory above), and each connection's socket send buffer is
 * set to LB_METRICS_HTTP_SNDBUF (the kernel doubles it), so that the page crosses the loop in
 * small pieces: see src/metrics_http.c. */
#define LB_METRICS_HTTP_BLOCK (64 * 1024)
#define LB_METRICS_HTTP_SNDBUF (128 * 1024)

struct lb_metrics_http;

/* Serves obs (read at each scrape; it must outlive the server) and the counters of the
 * configured services from ks (NULL: no kernel families). Returns 0 and *out, or a negative
 * errno: the listen socket's (logged with the address, "metrics: cannot listen on
 * 127.0.0.1:9521: Address already in use"), or another failure to start (logged). */
int lb_metrics_http_start(struct lb_loop *l, const struct lb_addr *listen,
			  const struct lb_observe *obs, struct lb_kstat *ks,
			  struct lb_metrics_http **out);
/* Closes every connection (a scrape waiting for the kernel table is dropped) and the listen
 * socket. NULL is fine. */
void lb_metrics_http_stop(struct lb_metrics_http *m);

/* The port actually bound (listen's, or the one the kernel chose for port 0). */
uint16_t lb_metrics_http_port(const struct lb_metrics_http *m);

/* Where scrapes get the kernel table: lb_kstat_get and lb_kstat_cancel on a struct lb_kstat for
 * lb_metrics_http_start; tests give their own. */
struct lb_metrics_kernel {
	int (*get)(struct lb_kstat *k, const struct lb_owned *want, lb_kstat_fn fn, void *ud,
		   struct lb_kstat_req **req);
	void (*cancel)(struct lb_kstat_req *req);
	struct lb_kstat *ks;
};
/* lb_metrics_http_start with kernel as the source (NULL: no kernel families). */
int lb_metrics_http_start_with(struct lb_loop *l, const struct lb_addr *listen,
			       const struct lb_observe *obs, const struct lb_metrics_kernel *kernel,
			       struct lb_metrics_http **out);
