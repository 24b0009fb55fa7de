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

#include "observe.h"
#include "procstat.h"
#include "table.h"

/* The Content-Type of the format rendered here. */
#define LB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the page to out. kernel: the kernel table with counters (see kstat.h), or NULL; ps:
 * process numbers, or NULL. Returns 0, or -EIO when out reported an error (for a memory stream:
 * out of memory). Logs nothing. */
int lb_metrics_render(const struct lb_observe *o, const struct lb_table *kernel,
		      const struct lb_procstat *ps, FILE *out);

/* Writes s as a label value, without the quotes: backslash, double quote and newline escaped as
 * \\, \" and \n, every other byte as is. */
void lb_metrics_escape(const char *s, FILE *out);
