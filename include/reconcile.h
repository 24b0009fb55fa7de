/* The planner: a pure function (desired, actual, owned) -> ordered operations. No I/O. */
#pragma once
#include <stddef.h>

#include "state.h"
#include "table.h"

enum lb_op_kind {
	LB_OP_ADD_SVC,
	LB_OP_EDIT_SVC,
	LB_OP_DEL_SVC,
	LB_OP_ADD_DEST,
	LB_OP_EDIT_DEST,
	LB_OP_DEL_DEST,
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
};

struct lb_plan {
	struct lb_op *ops;
	size_t n, cap;
};

/* Rules:
 * - a desired service missing from actual is added with all its destinations;
 * - a desired service present in actual is adopted (owned or not) and edited field by field;
 * - an actual service not desired is deleted only if owned, otherwise never touched;
 * - order keeps traffic flowing: per service, adds before edits before deletes; services that
 *   go away are deleted last.
 * desired and actual must be sorted (lb_table_sort). out must be zeroed or a plan from an earlier
 * call (it is reset first). Returns 0 or -ENOMEM (out then freed). */
int lb_plan_build(const struct lb_table *desired, const struct lb_table *actual,
		  const struct lb_owned *owned, struct lb_plan *out);
void lb_plan_free(struct lb_plan *p);

/* Appends to p the ops that make one service (have: its actual state, or NULL if absent) equal
 * to want, in the order above. For targeted changes (a health transition): no other service is
 * looked at. Returns 0 or -ENOMEM. */
int lb_plan_service(struct lb_plan *p, const struct lb_service *want, const struct lb_service *have);

/* One human-readable line (truncated to len; LB_OP_STRLEN suffices unless names are huge), e.g.
 *   + service web tcp 10.0.0.1:80 scheduler wrr persistence 300s netmask 255.255.255.255
 *   ~ service web tcp 10.0.0.1:80: scheduler rr -> wrr, persistence 0s -> 300s
 *   - service tcp 10.0.0.9:80
 *   + dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080 weight 5 nat
 *   ~ dest web tcp 10.0.0.1:80 -> 192.168.1.10:8080: weight 3 -> 5, forward nat -> dr
 *   - dest web tcp 10.0.0.1:80 -> 192.168.1.11:8080
 * Edits name exactly the fields that change. */
#define LB_OP_STRLEN 512
const char *lb_op_fmt(const struct lb_op *op, char *buf, size_t len);
const char *lb_op_kind_verb(enum lb_op_kind k); /* "add service", "delete destination", ... */
