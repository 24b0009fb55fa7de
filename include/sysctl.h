/* The kernel settings that decide whether a change drops traffic: read (never written: the unit
 * keeps ProtectKernelTunables=yes) and judged against the config, one warning per setting that
 * hurts it, with the fix. */
#pragma once
#include <stddef.h>

#include "config.h"

/* Values as read from /proc/sys of the calling process's network namespace (all five are per
 * namespace); -1: unreadable (absent, e.g. net.ipv4.vs.* while ip_vs is not loaded; not a regular
 * file; not one non-negative decimal value). */
struct lb_sysctls {
	int ip_forward;                /* net.ipv4.ip_forward */
	int ip6_forward;               /* net.ipv6.conf.all.forwarding */
	int expire_nodest_conn;        /* net.ipv4.vs.* from here on */
	int expire_quiescent_template;
	int conn_reuse_mode;
	int conntrack;
};

/* Reads them under root ("/proc/sys" in production; a test passes a directory of its own),
 * never following a symbolic link, blocking on a FIFO or reading more than a few bytes. */
void lb_sysctls_read(const char *root, struct lb_sysctls *out);

/* Calls warn once per setting that hurts cfg, with a complete message naming the setting, what
 * goes wrong for which service, and the fix. Pure. Returns the number of warnings. */
typedef void (*lb_sysctl_warn_fn)(const char *msg, void *ud);
size_t lb_sysctls_advise(const struct lb_sysctls *s, const struct lb_config *cfg,
			 lb_sysctl_warn_fn warn, void *ud);

/* lb_sysctls_read("/proc/sys") then lb_sysctls_advise with log_warn: at daemon start and on
 * each reload. Returns the number of warnings. */
size_t lb_sysctls_check(const struct lb_config *cfg);
