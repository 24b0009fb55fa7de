/* The kernel-wide IPVS settings ezlb manages besides the table: the connection timeouts
 * (ipvsadm --set) and the connection sync daemons (ipvsadm --start-daemon). Planned like the
 * table: a pure function (want, have, owned) -> ops, then applied by kconf_sync.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "config.h"

/* Seconds. In a want, 0 means "leave the kernel's". */
struct lb_timeouts {
	uint32_t tcp, tcp_fin, udp;
};

/* Index of a sync daemon by role: the kernel runs at most one of each per network namespace. */
enum { LB_SYNCD_MASTER = 0, LB_SYNCD_BACKUP = 1, LB_SYNCD_N = 2 };
#define LB_SYNCD_BIT(i) (1u << (i)) /* in an owned mask */

/* One sync daemon. In a want, 0 (af 0 for group) is "the kernel's default": not compared. */
struct lb_syncd {
	char ifname[16];
	uint32_t id;          /* sync id 0..255 */
	uint16_t max_len;
	struct lb_addr group; /* port unused */
	uint16_t port;        /* host byte order */
	uint8_t ttl;
};

/* What the kernel holds (read back) or what the config wants. */
struct lb_kconf {
	struct lb_timeouts timeouts;
	bool manage_sync;              /* want: the config has sync (then run[] is exactly what
					* runs); have: unused */
	bool run[LB_SYNCD_N];          /* running (have) / to run (want) */
	struct lb_syncd syncd[LB_SYNCD_N];
};

/* The want of a config: its timeouts, and its sync block resolved by role. */
void lb_kconf_want(const struct lb_config *cfg, struct lb_kconf *out);

enum lb_kop_kind {
	LB_KOP_SET_TIMEOUTS, /* timeouts: the values to set, 0 = keep */
	LB_KOP_STOP_DAEMON,
	LB_KOP_START_DAEMON,
};

struct lb_kop {
	enum lb_kop_kind kind;
	struct lb_timeouts timeouts, old_timeouts; /* SET_TIMEOUTS */
	int role;                                  /* LB_SYNCD_MASTER / _BACKUP */
	struct lb_syncd syncd;                     /* START: what to start; STOP: what runs */
	bool restart;                              /* STOP/START pair that changes a daemon */
};

struct lb_kplan {
	struct lb_kop ops[1 + 2 * LB_SYNCD_N];
	size_t n;
	unsigned owned; /* the daemons ezlb runs once the plan is applied (LB_SYNCD_BIT mask) */
};

/* Rules:
 * - each timeout the want sets and the kernel holds differently is set, in one op;
 * - with manage_sync, each role is made exactly as wanted: started when missing, stopped and
 *   started again when it runs with other settings (the kernel cannot change a running one),
 *   stopped when the role does not want it; a daemon already as wanted is adopted (owned);
 * - without manage_sync, the daemons in `owned` that still run are stopped, others untouched;
 * - stops come before starts.
 * Pure. */
void lb_kconf_plan(const struct lb_kconf *want, const struct lb_kconf *have, unsigned owned,
		   struct lb_kplan *out);

/* Whether a running daemon (have) matches a wanted one: interface and id, and every optional
 * field the want sets. */
bool lb_syncd_matches(const struct lb_syncd *want, const struct lb_syncd *have);

/* One line per op, as the dry run prints it:
 *   ~ timeouts: tcp 900s -> 600s, udp 300s -> 60s
 *   + sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, max_len 1472
 *   - sync daemon backup: interface eth1, id 10
 * LB_KOP_STRLEN suffices. */
#define LB_KOP_STRLEN 256
const char *lb_kop_fmt(const struct lb_kop *op, char *buf, size_t len);
const char *lb_syncd_role_name(int role); /* "master", "backup" */
