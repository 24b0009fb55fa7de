/* VIP announcement for BGP/ECMP setups: a service with `announce: {interface: IF}` has its VIP
 * as a host address (/32 or /128) on IF while it can serve, so a routing daemon that exports
 * IF's addresses (BIRD `protocol direct`, FRR `redistribute connected`) announces and withdraws
 * the route. This file is the pure part: which addresses are wanted, and the plan (want, have,
 * owned) -> ops, like the table's planner. announce_sync.c reads the kernel and applies. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "config.h"
#include "table.h"

#define LB_IFNAMSIZ 16 /* IFNAMSIZ, with its NUL */

/* One host address on one interface (addr.port is always 0). */
struct lb_vip {
	char ifname[LB_IFNAMSIZ];
	struct lb_addr addr;
};

/* A set of lb_vip, sorted by (ifname, addr), no duplicates. */
struct lb_vipset {
	struct lb_vip *v;
	size_t n, cap;
};

int lb_vip_cmp(const struct lb_vip *a, const struct lb_vip *b);
/* Adds v (keeps the set sorted; a duplicate is not added). 0 or -ENOMEM. */
int lb_vipset_add(struct lb_vipset *s, const struct lb_vip *v);
bool lb_vipset_has(const struct lb_vipset *s, const struct lb_vip *v);
void lb_vipset_remove(struct lb_vipset *s, const struct lb_vip *v);
void lb_vipset_clear(struct lb_vipset *s); /* empties it, keeps the memory */
void lb_vipset_free(struct lb_vipset *s);
bool lb_vipset_equal(const struct lb_vipset *a, const struct lb_vipset *b);

/* Whether a service of the desired table can serve: with a quorum, while it holds (LB_QUORUM_OK);
 * without one, while at least one backend is up (n_up >= 1). */
bool lb_announce_serving(const struct lb_service *s);

/* Answers whether a configured service can serve now (the daemon: from its health; once: from
 * the desired table). */
typedef bool (*lb_serving_fn)(void *ud, const struct lb_service_conf *sc);

/* The wanted set: the VIP (port 0) on sc->announce_if of every service with announce for which
 * serving() says yes. Several services sharing one VIP and interface give one entry, present
 * while any of them serves. serving == NULL: every service serves. Clears out first.
 * 0 or -ENOMEM. */
int lb_announce_want(const struct lb_config *cfg, lb_serving_fn serving, void *ud,
		     struct lb_vipset *out);

/* The interfaces the want and the record name (sorted, unique; each has room for LB_IFNAMSIZ):
 * the ones whose addresses must be read. Returns the count, or -ENOMEM. *out is malloc'ed (NULL
 * when 0); the caller frees it. */
int lb_announce_ifaces(const struct lb_vipset *want, const struct lb_vipset *owned,
		       char (**out)[LB_IFNAMSIZ]);

enum lb_aop_kind {
	LB_AOP_ADD, /* put the address on the interface */
	LB_AOP_DEL, /* take it off */
};

struct lb_aop {
	enum lb_aop_kind kind;
	struct lb_vip vip;
};

struct lb_aplan {
	struct lb_aop *ops; /* deletions first, then additions; each group sorted like the set */
	size_t n;
	struct lb_vipset owned;   /* the record once the plan is applied */
	struct lb_vipset foreign; /* wanted, already present, not ezlb's: left alone (never taken
				   * over, so never withdrawn either; the caller warns) */
};

/* have: the addresses the kernel holds on the interfaces lb_announce_ifaces() named, of any
 * prefix length (an address an operator put there as 10.0.0.1/24 is present: ezlb neither adds
 * its /32 beside it nor ever removes it).
 * Rules:
 * - wanted and missing: ADD, and owned after;
 * - wanted and present and owned: nothing, still owned;
 * - wanted and present and not owned: nothing, not owned, listed in foreign;
 * - owned, not wanted, present: DEL, not owned after;
 * - owned, not wanted, missing (someone removed it): nothing, dropped from the record;
 * - present, neither wanted nor owned: never touched.
 * Pure. 0 or -ENOMEM (then *out is empty). */
int lb_announce_plan(const struct lb_vipset *want, const struct lb_vipset *have,
		     const struct lb_vipset *owned, struct lb_aplan *out);
void lb_aplan_free(struct lb_aplan *p);

/* The line a dry run prints, and the log says:
 *   + announce 10.0.0.1/32 on ezlb0
 *   - announce 2001:db8::1/128 on ezlb0
 * LB_AOP_STRLEN suffices. */
#define LB_AOP_STRLEN 96
const char *lb_aop_fmt(const struct lb_aop *op, char *buf, size_t len);

/* The record (STATE_DIR/announced): one "IFNAME ADDRESS" line per address ezlb put on an
 * interface, e.g. "ezlb0 10.0.0.1" or "ezlb0 2001:db8::1". lb_vip_parse_line() reads one line
 * (without its newline) into v: 0, or -EBADMSG with *why. lb_vip_put_line() writes one, with its
 * newline. */
int lb_vip_parse_line(const char *line, struct lb_vip *v, const char **why);
void lb_vip_put_line(FILE *f, const struct lb_vip *v);
