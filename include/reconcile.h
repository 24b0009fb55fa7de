/* The planner: a pure function (desired, actual, owned) -> ordered operations. No I/O. */
#pragma once
#include <stddef.h>

#include "drain.h"
#include "state.h"
#include "table.h"

enum lb_op_kind {
	LB_OP_ADD_SVC,
	LB_OP_EDIT_SVC,
	LB_OP_DEL_SVC,
	LB_OP_ADD_DEST,
	LB_OP_EDIT_DEST,
	LB_OP_DEL_DEST,
	LB_OP_DRAIN_DEST, /* weight 0, nothing else: no new connections, existing ones go on */
};

/* Why an op is part of a drain (deletes end one; an edit that gives the weight back cancels one). */
enum lb_drain_evt {
	LB_DRAIN_NONE = 0,
	LB_DRAIN_START,   /* DRAIN_DEST */
	LB_DRAIN_IDLE,    /* DEL_DEST / DEL_SVC: no live connection left */
	LB_DRAIN_TIMEOUT, /* DEL_DEST / DEL_SVC: the drain timeout passed */
	LB_DRAIN_CANCEL,  /* EDIT_DEST: back in the config, weight restored */
};

/* An op points into the tables it was planned from; they must outlive the plan.
 * svc/dest: the desired object for add/edit, the actual one for delete -- except that DEL_DEST
 * of a service that stays has svc = the desired service (same key; it carries the name for
 * messages) and old_svc = the actual one.
 * old_svc/old_dest: the actual object for edits (to print "weight 3 -> 5"), else NULL. */
struct lb_op {
	enum lb_op_kind kind;
	const struct lb_service *svc;
	const struct lb_dest *dest;
	const struct lb_service *old_svc;
	const struct lb_dest *old_dest;
	enum lb_drain_evt drain;
	int64_t drain_since_ms;  /* START: now; IDLE/TIMEOUT/CANCEL: when the drain began */
	uint32_t drain_timeout_ms;
};

/* What the planner reads besides the two tables. */
struct lb_plan_ctx {
	const struct lb_owned *owned;   /* services ezlb may delete (and drain) */
	const struct lb_drains *drains; /* the drain record; NULL: none */
	int64_t now_ms;                 /* CLOCK_REALTIME, against the record's start times */
	uint32_t leaving_drain_ms;      /* drain timeout of a service that left the config */
};

struct lb_plan {
	struct lb_op *ops;
	size_t n, cap;
	/* The drain record once the plan is applied, for the services planned (entries of a
	 * service whose destinations were not read are carried over). */
	struct lb_drains drains;
};

/* Rules:
 * - a desired service missing from actual is added with all its destinations;
 * - a desired service present in actual is adopted (owned or not) and edited field by field;
 * - a destination of a desired service that the service no longer wants:
 *     in its failed list (down): deleted at once;
 *     without a live connection (lb_dest_live): deleted at once;
 *     otherwise drained: DRAIN_DEST (weight 0) and recorded with now, then deleted when it
 *     carries no live connection (IDLE) or its drain_timeout passed (TIMEOUT); a destination
 *     the record already drains is not started again (a weight someone raised is set back to
 *     0); one wanted again gets its weight back (an edit that CANCELs the drain);
 * - an actual service not desired is touched only if owned: then drained the same way as a
 *   whole (every destination to weight 0, one record entry for the service, leaving_drain_ms)
 *   and deleted when none of its destinations is live or at the timeout;
 * - order keeps traffic flowing: per service, adds before edits before drains before deletes;
 *   services that go away are deleted last.
 * desired and actual must be sorted (lb_table_sort). out must be zeroed or a plan from an earlier
 * call (it is reset first). Returns 0 or -ENOMEM (out then freed). */
int lb_plan_build(const struct lb_table *desired, const struct lb_table *actual,
		  const struct lb_plan_ctx *ctx, struct lb_plan *out);
/* Appends to p the ops that make one service (have: its actual state, or NULL if absent) equal
 * to want (NULL: a service leaving the config, drained), in the order above, and its record
 * entries to p->drains. For targeted changes: no other service is looked at.
 * Returns 0 or -ENOMEM. */
int lb_plan_service(struct lb_plan *p, const struct lb_service *want, const struct lb_service *have,
		    const struct lb_plan_ctx *ctx);
/* Whether any op of p starts, ends or cancels a drain. */
bool lb_plan_drains(const struct lb_plan *p);
void lb_plan_free(struct lb_plan *p);

/* One human-readable line (truncated to len; LB_OP_STRLEN suffices unless names are huge), e.g.
 *   + service web tcp 10.0.0.1:80 scheduler wrr persistence 300s netmask 255.255.255.255
 *   ~ service web tcp 10.0.0.1:80: scheduler rr -> wrr, persistence 0s -> 300s
 *   - service tcp 10.0.0.9:80
 *   + dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080 weight 5 nat
 *   ~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 3 -> 5, forward nat -> dr
 *   - dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080
 *   ~ drain dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080: weight 3 -> 0, 2 active connections, timeout 60s
 *   - dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080 (drained: no live connection)
 *   - dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080 (drain timed out: 2 active connections)
 * Edits name exactly the fields that change. */
#define LB_OP_STRLEN 512
const char *lb_op_fmt(const struct lb_op *op, char *buf, size_t len);
const char *lb_op_kind_verb(enum lb_op_kind k); /* "add service", "delete destination", ... */
