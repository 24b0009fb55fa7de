/* `ezlb status`: the daemon's state as one JSON document or as text, rendered from what the daemon
 * shows its observers (struct lb_observe) and the kernel's table with its counters. Pure: no I/O
 * but the FILE * it writes to, no clock (now_ms is given), so it is golden-file tested.
 *
 * JSON schema (field names are stable; new fields may be added, none renamed or removed). Times
 * are RFC 3339 UTC strings with milliseconds ("2026-12-02T08:00:00.123Z"); null where unknown.
 *
 *   {
 *     "version": "0.1.0",                  ezlb's version
 *     "time": TIME,                        now_ms: when this status was made
 *     "started_at": TIME,                  the daemon's start
 *     "config": {
 *       "path": "/etc/ezlb/ezlb.yaml",
 *       "loaded_at": TIME,                 when the config in force was loaded
 *       "error": null | "..."              why the file on disk is not in force
 *     },
 *     "last_reconcile": null | {           null: none yet
 *       "time": TIME, "kind": "full" | "targeted", "changes": N, "failed": N,
 *       "error": null | "..."              a pass that failed as a whole (strerror)
 *     },
 *     "drains_running": N,                 entries of the drain record (backends and services)
 *     "kernel_error": null | "...",        the kernel table could not be read: every kernel
 *                                          field below is null
 *     "services": [ {                      in config order (only those asked for)
 *       "name": "web", "protocol": "tcp" | "udp" | "sctp", "vip": "10.0.0.1:80",
 *       "scheduler": "wrr", "forward": "nat" | "dr" | "tun",
 *       "persistence_timeout_s": null | N, null: no persistence
 *       "backends_up": N, "backends_total": N,   configured backends whose health is up
 *       "quorum": {"state": "none" | "ok" | "lost", "min_up": null | N, "up": N},
 *       "in_kernel": null | BOOL,          the virtual service exists in the kernel
 *       "kernel": null | KSTATS + {"active": N, "inactive": N},  summed over its destinations
 *                                          (null when they were not read)
 *       "backends": [ {                    configured backends (config order), then sorry
 *                                          servers that are not also backends (config order),
 *                                          then kernel destinations of the service that the
 *                                          config does not name (address order)
 *         "address": "10.1.1.2:8080",
 *         "role": "backend" | "sorry" | "draining" | "unknown",
 *                                          draining: left the config, in the drain record;
 *                                          unknown: in the kernel, in neither
 *         "weight": null | N,              configured (null for draining and unknown)
 *         "kernel_weight": null | N,       null when not in the kernel
 *         "in_kernel": null | BOOL,        null when the service's destinations were not read
 *         "draining": BOOL,
 *         "drain": null | {"since": TIME, "timeout_ms": N, "elapsed_ms": N},
 *         "health": null | {               null unless role is "backend" (sorry servers and
 *                                          destinations outside the config are not probed)
 *           "checked": BOOL,               false: probes off, the backend counts as up
 *           "raw": "unknown" | "up" | "down",   the verdict (unknown before the first one)
 *           "state": "up" | "down" | "unknown", what the table follows (raw with
 *                                          health_check.initial applied)
 *           "since": TIME,                 the last change of state (or when probing began)
 *           "transitions": N,
 *           "last_failure": null | "...",  the last failed probe's reason
 *           "last_probe": TIME             the end of the last probe
 *         },
 *         "kernel": null | KSTATS + {"active": N, "inactive": N, "persist": N}
 *       } ]
 *     } ]
 *   }
 *
 *   KSTATS = "connections": N (scheduled since created), "packets_in": N, "packets_out": N,
 *            "bytes_in": N, "bytes_out": N,
 *            "rate": {"cps": N, "pps_in": N, "pps_out": N, "bps_in": N, "bps_out": N}
 *            (the kernel's estimates, per second; bps is bytes, as in ipvsadm --rate)
 *   A kernel object is null when the kernel table is unknown or the entry is not in it; a
 *   counter inside it is null when the dump did not carry it.
 *
 * The text form is for people: a summary (config, its error, the last reconcile, drains), then
 * per service one line like ipvsadm -Ln's and one line per destination with its address, weight
 * configured/kernel ("-" when none), ActiveConn, InActConn, connections scheduled, and its state:
 * "up 1h2m", "down 2m13s: connection refused", "draining 12s/1m0s", "sorry server",
 * "not in the config". Columns are aligned to the longest address. Bytes that would reach a
 * terminal as control characters are shown as \xNN, invalid UTF-8 as U+FFFD. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "observe.h"
#include "table.h"

/* The first name of only[0..n_only) that names no service of o->cfg, or NULL. */
const char *lb_status_unknown(const struct lb_observe *o, char *const *only, size_t n_only);

/* The status of the services named in only (n_only 0: all), written to out as compact JSON on one
 * line (no newline at the end). kernel: the table with counters, NULL when it could not be read.
 * Returns 0, -ENOENT when a name is unknown (nothing written; see lb_status_unknown), or -EIO
 * when out failed. */
int lb_status_json(const struct lb_observe *o, const struct lb_table *kernel, char *const *only,
		   size_t n_only, int64_t now_ms, FILE *out);
/* The same as text, ending in a newline. */
int lb_status_text(const struct lb_observe *o, const struct lb_table *kernel, char *const *only,
		   size_t n_only, int64_t now_ms, FILE *out);

/* The answer of the control socket's status (include/ctl.h) made in pieces, so that a status of
 * 100k destinations never holds the daemon's loop long: each read makes the next units, a unit
 * being the summary or one service with all its destinations (the text form first measures the
 * address column, one service per unit, writing nothing), until max bytes are given or about
 * LB_STATUS_GEN_LINES destination lines were made. What is read, in order, is the answer line
 * with its newline: {"ok":true,"status":JSON} or {"ok":true,"text":"TEXT"} where JSON and TEXT
 * are the bytes lb_status_json and lb_status_text would write (TEXT escaped as lb_json_escape
 * escapes it). The generator does not hold the config across reads: o->cfg is read anew at each
 * (see src/status.c); o itself must outlive the generator. */
#define LB_STATUS_GEN_LINES 256
struct lb_status_gen;
/* kernel_owned: the table with counters, taken over (its contents moved, *kernel_owned left
 * empty, even on failure), or NULL when it could not be read. Returns the generator, or NULL with
 * *err -ENOENT (a name of only is unknown; see lb_status_unknown) or -ENOMEM. only is copied. */
struct lb_status_gen *lb_status_gen_new(const struct lb_observe *o, struct lb_table *kernel_owned,
					char *const *only, size_t n_only, int64_t now_ms, bool json,
					int *err);
/* Up to max (>= 1) bytes of the answer into buf: their count; 0 once the answer is complete;
 * -EAGAIN when this call did work but has no byte to give yet (call again); -ENOMEM (then every
 * later call fails too). The work of one call is bounded: about LB_STATUS_GEN_LINES destination
 * lines plus those of one service, and max bytes copied. */
ssize_t lb_status_gen_read(struct lb_status_gen *g, char *buf, size_t max);
void lb_status_gen_free(struct lb_status_gen *g); /* NULL is fine */

/* "2026-12-02T08:00:00.123Z" (with_ms) or "2026-12-02T08:00:00Z". */
#define LB_STATUS_TIMELEN 32
const char *lb_status_fmt_time(int64_t ms, bool with_ms, char buf[LB_STATUS_TIMELEN]);
/* "450ms", "12s", "2m13s", "1h2m", "3d4h" (negative: "0s"). */
#define LB_STATUS_DURLEN 32
const char *lb_status_fmt_dur(int64_t ms, char buf[LB_STATUS_DURLEN]);
