/* `ezlb export`'s writer: a dumped IPVS table and the kernel-wide settings -> ezlb YAML. Pure (no
 * kernel, no clock: the caller passes the header), so the exact text and the round trip
 * (text -> lb_config_load -> lb_desired_build == the table) are unit-tested.
 *
 * What is written, and why:
 * - Services in the table's order (sorted by key), each with every field ezlb manages: listen and
 *   protocol, or fwmark and family; scheduler; scheduler_flags; one_packet; forward (from the
 *   destinations; left out, i.e. the default nat, for a service without any); tunnel;
 *   persistence; backends with address, weight, and max_conns/min_conns when set.
 * - Names come from the key, so they are stable, unique and valid (1..64 of [A-Za-z0-9._-]):
 *   "tcp-10.0.0.1-80", "udp-2001.db8..1-53" (the IPv6 address in RFC 5952 hex form, ':' written
 *   '.'; never the mixed "::ffff:1.2.3.4" form, which could read like another address's name),
 *   "fwmark-100-ipv4".
 * - Health checks: `health_check: {enabled: false}` on every service (the kernel holds no health
 *   settings, and a check nobody configured must not take backends out), or no health_check key
 *   at all (the defaults) with health_checks.
 * - A fwmark service's protocol is written only when one_packet needs it (udp); otherwise it is
 *   the default tcp, which only picks the health check.
 * - global.timeouts: the kernel's three values, always (ezlb then leaves them as they are); a
 *   value the kernel reports as 0 (protocol not built in) is left out.
 * - global.sync when a sync daemon runs: role master, backup or both from which run. Two daemons
 *   with different interfaces or sync ids cannot be one sync block: left out (comment and
 *   warning), so the daemons stay untouched. An optional field (group, port, ttl, max_len) the
 *   two hold differently is left out with a comment: ezlb then does not compare it, and keeps
 *   both. The kernel derives max_len per role from the interface MTU when none was given, so a
 *   differing max_len is the usual case and gets no warning; the others do.
 * - A service ezlb's config cannot express (a protocol other than tcp/udp/sctp, port 0, a
 *   scheduler or flag ezlb does not know or that does not fit its scheduler, one_packet on a
 *   non-udp service, persistence flag and timeout that disagree, a netmask ezlb refuses or one
 *   without persistence, destinations with different forwarding methods or tunnel settings, a
 *   dr/tun destination whose port differs from the service's, port 0, mixed families without
 *   tun, a weight above 65535, thresholds ezlb refuses) is NOT changed to fit: it is written as a
 *   comment block saying why, and listed on `warn`. The rest of the file is still valid.
 * - The kernel's persistence engine (ipvsadm --pe) is not in the dump, so it is not exported. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kconf.h"
#include "state.h"
#include "table.h"

/* Longest name lb_export_name writes, with its NUL ("sctp-" + 39 + "-65535"). */
#define LB_EXPORT_NAME_MAX 64

struct lb_export_opts {
	const struct lb_owned *owned; /* only these services; NULL: every one in the table (--all) */
	bool health_checks;           /* the default health checks instead of enabled: false */
	const char *header;           /* written first as "# " comment lines (newline-separated): when
				       * and from what; NULL: none */
};

struct lb_export_stats {
	size_t services;  /* written as services */
	size_t backends;  /* their destinations */
	size_t left_out;  /* services ezlb cannot express, written as comments */
	size_t not_owned; /* services skipped because ezlb does not own them (owned set) */
	size_t warnings;  /* lines written to warn */
};

/* Writes t (services and their destinations) and k (NULL: no global section) as ezlb YAML to
 * out; each warning as one line "ezlb: export: warning: ..." to warn (may be NULL). Returns 0,
 * or -EIO when out reports a write error. st may be NULL. */
int lb_export_write(FILE *out, FILE *warn, const struct lb_table *t, const struct lb_kconf *k,
		    const struct lb_export_opts *o, struct lb_export_stats *st);

/* The service name of a key (see above); buf of at least LB_EXPORT_NAME_MAX bytes. */
const char *lb_export_name(const struct lb_svc_key *k, char *buf, size_t len);
