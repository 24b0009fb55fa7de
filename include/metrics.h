/* The /metrics page: the daemon's state in the Prometheus text exposition format 0.0.4. A pure
 * renderer: the same observed state, kernel table and process numbers give the same bytes
 * (the files tests/metrics/NAME.prom are golden files).
 *
 * Labels: service="web" (the config name), backend="10.1.1.2:8080" or "[2001:db8::1]:80".
 * Series are listed in config order (services, then their backends); the kernel-side backend
 * series follow the kernel's destinations of each configured service in address order, so they
 * also cover what is in the kernel without being a configured backend: a backend that drains
 * after leaving the config, the sorry servers. With no kernel table (its read failed) the
 * families marked [kernel] are left out, HELP and TYPE included; without process numbers, the
 * process_* ones.
 *
 * Families:
 *   ezlb_build_info{version}                               gauge    always 1
 *   ezlb_config_reloads_total{result="ok|failed"}          counter  reloads (SIGHUP, file change)
 *   ezlb_config_last_reload_successful                     gauge    1 if the file on disk is in
 *                                                                   force, 0 if it was refused
 *   ezlb_config_last_reload_success_timestamp_seconds      gauge    when a config last came
 *                                                                   into force (Unix time)
 *   ezlb_service_quorum{service}                           gauge    1 quorum held or none
 *                                                                   configured, 0 lost
 *   ezlb_service_announced{service,interface}              gauge    1 VIP announced, 0 withdrawn
 *   ezlb_service_backends{service,state="up|down"}         gauge    configured backends by health
 *   ezlb_backend_up{service,backend}                       gauge    1 up, 0 down (health, per
 *                                                                   configured backend; 1 when
 *                                                                   not checked)
 *   ezlb_backend_health_transitions_total{service,backend} counter  up<->down changes since start
 *   ezlb_backend_draining{service,backend}                 gauge    1 for a backend that left the
 *                                                                   config and drains, 0 for
 *                                                                   every configured backend
 *   ezlb_backend_weight{service,backend}                   gauge    [kernel] weight in the kernel
 *                                                                   (0 while quiesced or
 *                                                                   draining); absent when not
 *                                                                   in the kernel
 *   ezlb_backend_connections_active{service,backend}       gauge    [kernel] IPVS ActiveConn
 *   ezlb_backend_connections_inactive{service,backend}     gauge    [kernel] IPVS InActConn
 *   ezlb_backend_connections_total{service,backend}        counter  [kernel] connections
 *                                                                   scheduled to it
 *   ezlb_backend_packets_total{service,backend,direction="in|out"}  counter  [kernel]
 *   ezlb_backend_bytes_total{service,backend,direction="in|out"}    counter  [kernel]
 *   ezlb_service_connections_active{service}               gauge    [kernel] sum over its
 *                                                                   destinations
 *   ezlb_service_connections_inactive{service}             gauge    [kernel] likewise
 *   ezlb_service_connections_total{service}                counter  [kernel] scheduled
 *   ezlb_service_packets_total{service,direction}          counter  [kernel]
 *   ezlb_service_bytes_total{service,direction}            counter  [kernel]
 *   ezlb_probes_total{type,result="ok|failed|skipped"}     counter  health probes ended, by check
 *                                                                   type ("tcp", "http", ...);
 *                                                                   skipped: could not start
 *                                                                   for a local reason
 *   ezlb_probe_duration_seconds{type}                      histogram  probe durations
 *   ezlb_probe_lateness_seconds                            histogram  probe start minus its due
 *                                                                   time (a busy loop shows here)
 *   ezlb_reconcile_total{kind="full|targeted",result="ok|failed"}  counter  reconcile passes
 *   ezlb_reconcile_duration_seconds                        histogram  reconcile pass durations
 *   ezlb_netlink_requests_total                            counter  IPVS netlink requests sent
 *   ezlb_notify_dropped_total                              counter  notify events dropped by a
 *                                                                   full queue
 *   process_resident_memory_bytes, process_virtual_memory_bytes    gauge
 *   process_cpu_seconds_total                              counter
 *   process_open_fds, process_max_fds                      gauge
 *   process_start_time_seconds                             gauge    (Unix time)
 * Histograms have the buckets of lb_observe_buckets (include/observe.h) plus +Inf. */
#pragma once
#include <stdio.h>
#include <sys/types.h>

#include "observe.h"
#include "procstat.h"
#include "table.h"

/* The Content-Type of the format rendered here. */
#define LB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The page in pieces, for a server that sends it over many loop turns: a generator takes at
 * creation what the page shows (see src/metrics.c: a snapshot of the config-dependent state, the
 * small families rendered whole), then each read renders a bounded amount (one family of one
 * service, at most 256 samples, per unit) and copies out what fits; the rest waits for the next
 * read. o is not used after lb_metrics_gen_new returns: a reload may free its config meanwhile.
 * kernel_owned: the kernel table with counters (see kstat.h), taken over (emptied, also on
 * failure), or NULL for a page without the [kernel] families; ps: process numbers, or NULL.
 * NULL on ENOMEM. Logs nothing. */
struct lb_metrics_gen;
struct lb_metrics_gen *lb_metrics_gen_new(const struct lb_observe *o, struct lb_table *kernel_owned,
					  const struct lb_procstat *ps);
/* Writes up to max bytes (max > 0) of the page to buf: returns how many (> 0), 0 at the end, or
 * -ENOMEM (then at every further read). The concatenation of the reads, whatever their sizes, is
 * what lb_metrics_render writes. */
ssize_t lb_metrics_gen_read(struct lb_metrics_gen *g, char *buf, size_t max);
/* NULL is fine. */
void lb_metrics_gen_free(struct lb_metrics_gen *g);

/* Writes the whole page to out (a generator read to its end). kernel: borrowed, or NULL; ps: or
 * NULL. Returns 0, -EIO when out reported an error (for a memory stream: out of memory), or
 * -ENOMEM. Logs nothing. */
int lb_metrics_render(const struct lb_observe *o, const struct lb_table *kernel,
		      const struct lb_procstat *ps, FILE *out);

/* Writes s as a label value, without the quotes: backslash, double quote and newline escaped as
 * \\, \" and \n, every other byte as is. */
void lb_metrics_escape(const char *s, FILE *out);
