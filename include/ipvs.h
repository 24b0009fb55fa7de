/* The kernel's IPVS table over generic netlink (libnl-genl). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "reconcile.h"
#include "table.h"

struct lb_ipvs;

/* Opens a netlink socket and resolves the "IPVS" family. -EPROTONOSUPPORT (and a plain message:
 * "IPVS not available: load ip_vs or use a kernel with CONFIG_IP_VS") when the kernel has none;
 * -EPERM without CAP_NET_ADMIN (checked at once with a harmless GET_INFO). Failures are logged. */
int lb_ipvs_open(struct lb_ipvs **out);
void lb_ipvs_close(struct lb_ipvs *v);

/* Which services' destinations a dump reads; the others are listed with dests_unknown set. */
typedef bool (*lb_ipvs_want_fn)(const struct lb_svc_key *k, void *ud);

/* Dumps every service into out (cleared first), sorted, and the destinations of those `want`
 * accepts (all if want is NULL). Firewall-mark services are in it like any other, keyed
 * {fwmark, proto 0, addr.af} (sorted after the address services); the planner leaves the ones
 * ezlb does not own alone. IP_VS_SVC_F_HASHED is masked out of flags. A list that shows the
 * kernel changing under the dump (an entry listed twice) is read again, a few times; if it never
 * settles, out->torn is set and the duplicates are dropped (logged): then an entry missing from
 * out may still exist. A reply that does not parse fails the dump; a dropped reply (ENOBUFS)
 * repeats it. On failure (logged) out is left empty. */
int lb_ipvs_dump(struct lb_ipvs *v, struct lb_table *out, lb_ipvs_want_fn want, void *ud);
/* The two halves, for a caller that spreads a large dump over several loop turns:
 * the service list (every service has dests_unknown set), then one service's destinations
 * (sets *torn if they never settled). Same rules and logging as lb_ipvs_dump. */
int lb_ipvs_dump_services(struct lb_ipvs *v, struct lb_table *out);
int lb_ipvs_dump_dests(struct lb_ipvs *v, struct lb_service *svc, bool *torn);
/* Asks the kernel for one service by its key (an address or a firewall-mark one): 1 if it
 * exists, 0 if not, or a negative errno.
 * Unlike a dump this is answered under one lock: the way to be sure something is gone. */
int lb_ipvs_has_service(struct lb_ipvs *v, const struct lb_svc_key *k);
/* The same, and fills *out (no destinations) when it exists. */
int lb_ipvs_get_service(struct lb_ipvs *v, const struct lb_svc_key *k, struct lb_service *out);

/* Applies ops in order; continues past failures. errs[i] is 0 or the kernel's -errno for ops[i]
 * (EEXIST on add and ENOENT/ESRCH on delete count as success: ops are idempotent; an op lacking
 * its service or destination is not sent and gets -EINVAL). Requests are pipelined, thousands per
 * sendmsg, yet every error is tied to its op.
 * Tunnels: an add or edit of a destination with a nonzero tun_type, tun_port or tun_flags is not
 * sent and gets -EOPNOTSUPP when the destinations dumped so far show a kernel without them (gue
 * and the tunnel port need Linux 5.2; gre and the flags 5.3): such a kernel would ignore the
 * attributes and silently forward with plain ipip. Before any destination was dumped, it is sent.
 * Returns the number of failed ops, or a negative errno if the socket itself failed (logged;
 * e.g. -ENOBUFS): then every op whose outcome is unknown has that errno in errs[] too, none reads
 * as success, and the caller should dump the table again. */
int lb_ipvs_apply(struct lb_ipvs *v, const struct lb_op *ops, size_t n, int *errs);

/* Explains a kernel error for an op in words a person understands, e.g.
 * "scheduler \"foo\" not in kernel" for ENOENT on add service. EOPNOTSUPP on a destination op
 * is lb_ipvs_apply's own refusal of a tunnel the kernel lacks (see there). */
/* What the socket cost since lb_ipvs_open: the benchmark and the debug log read it. */
struct lb_ipvs_stats {
	uint64_t requests; /* netlink requests sent (ops and dump requests) */
	uint64_t sendmsgs; /* sendmsg calls */
	uint64_t dumps;    /* full table dumps */
	uint64_t torn;     /* reads that listed an entry twice and were repeated */
};
void lb_ipvs_get_stats(const struct lb_ipvs *v, struct lb_ipvs_stats *out);

const char *lb_ipvs_strerror(const struct lb_op *op, int err, char *buf, size_t len);

/* The netlink socket, for a caller's event loop (it only ever becomes readable in answer to our
 * own requests, which these functions consume themselves). */
int lb_ipvs_fd(const struct lb_ipvs *v);

/* ---- kernel-wide settings (src/ipvs/ipvs_kconf.c); struct lb_timeouts and lb_syncd are in
 * kconf.h. Each is one request, answered at once; errors are returned, not logged: the kernel's
 * -errno, or -EPROTO for a reply that does not parse (as for the dumps). ---- */
struct lb_timeouts;
struct lb_syncd;
/* IPVS_CMD_GET_CONFIG. A kernel built without TCP (or UDP) support sends no such timeouts:
 * they read 0. */
int lb_ipvs_get_timeouts(struct lb_ipvs *v, struct lb_timeouts *out);
/* IPVS_CMD_SET_CONFIG with the nonzero fields of t (the kernel keeps the others); with none,
 * nothing is sent. */
int lb_ipvs_set_timeouts(struct lb_ipvs *v, const struct lb_timeouts *t);
/* IPVS_CMD_GET_DAEMON (a dump): run[role] and syncd[role] (arrays of LB_SYNCD_N) for each
 * daemon running; the others false and zeroed. A kernel before 4.3 reports no group, port, ttl
 * nor max_len (they read 0, af 0); a daemon of a state other than master/backup is skipped; a
 * reply lacking state, interface or id, or naming one role twice, is -EPROTO. */
int lb_ipvs_get_daemons(struct lb_ipvs *v, bool *run, struct lb_syncd *syncd);
/* IPVS_CMD_NEW_DAEMON for role (LB_SYNCD_MASTER / _BACKUP); optional fields (0) are not sent. */
int lb_ipvs_start_daemon(struct lb_ipvs *v, int role, const struct lb_syncd *d);
/* IPVS_CMD_DEL_DAEMON. A daemon that does not run (ESRCH) counts as stopped: 0. */
int lb_ipvs_stop_daemon(struct lb_ipvs *v, int role);
/* A kernel error of a sync daemon start in words (ENODEV/ENXIO: no such interface; EINVAL: the
 * sync protocol cannot carry services whose destinations mix address families, or a group that
 * is not multicast; EEXIST: already running; EPERM), like lb_ipvs_strerror (d may be NULL). */
const char *lb_ipvs_daemon_strerror(int err, const struct lb_syncd *d, char *buf, size_t len);
