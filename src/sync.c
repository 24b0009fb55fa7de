/* One reconcile pass: dump (when the view is stale), plan, apply, log failures, keep ownership. */
#include "sync.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

static const char *op_service_label(const struct lb_op *op, char *buf, size_t len) {
	if (op->svc->name)
		return op->svc->name;
	return lb_svc_key_fmt(&op->svc->key, buf, len);
}

/* "service web: add destination tcp 10.0.0.1:80 -> 192.168.1.10:8080: destination already exists" */
static void log_op_error(const struct lb_op *op, int err) {
	char label[128], key[128], dst[LB_ADDRSTRLEN], why[256];
	lb_svc_key_fmt(&op->svc->key, key, sizeof(key));
	lb_ipvs_strerror(op, err, why, sizeof(why));
	const char *svc = op_service_label(op, label, sizeof(label));
	if (op->dest)
		log_full(LOG_ERR, svc, lb_addr_fmt(&op->dest->addr, dst), "service %s: %s %s -> %s: %s", svc,
			 lb_op_kind_verb(op->kind), key, dst, why);
	else
		log_full(LOG_ERR, svc, NULL, "service %s: %s %s: %s", svc, lb_op_kind_verb(op->kind), key, why);
}

static void log_skipped(const struct lb_op *failed_svc, size_t skipped) {
	log_error("service %s: %zu destinations not added because the service was not created",
		  failed_svc->svc->name ? failed_svc->svc->name : "?", skipped);
}

static bool same_service(const struct lb_op *a, const struct lb_op *b) {
	return lb_svc_key_cmp(&a->svc->key, &b->svc->key) == 0;
}

/* Logs each failure once. Destinations of a service that could not be created fail only because
 * of it: they are summed up in one line rather than logged one by one. */
static void report_failures(const struct lb_plan *p, const int *errs, struct lb_sync_stats *st) {
	const struct lb_op *failed_svc = NULL;
	size_t skipped = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_op *op = &p->ops[i];
		if (failed_svc && !same_service(op, failed_svc)) {
			if (skipped)
				log_skipped(failed_svc, skipped);
			failed_svc = NULL;
			skipped = 0;
		}
		if (!errs[i]) {
			if (op->kind == LB_OP_ADD_SVC || op->kind == LB_OP_ADD_DEST) st->added++;
			else if (op->kind == LB_OP_EDIT_SVC || op->kind == LB_OP_EDIT_DEST) st->edited++;
			else if (op->kind == LB_OP_DRAIN_DEST) st->drained++;
			else st->deleted++;
			continue;
		}
		st->failed++;
		if (failed_svc && op->dest) {
			skipped++;
			continue;
		}
		log_op_error(op, errs[i]);
		if (op->kind == LB_OP_ADD_SVC)
			failed_svc = op;
	}
	if (failed_svc && skipped)
		log_skipped(failed_svc, skipped);
}

/* Ownership before applying: everything the config names becomes ours (created or adopted), and
 * is recorded before the kernel is touched, so a crash mid-apply never leaves an unowned orphan. */
static int own_desired(struct lb_owned *owned, const struct lb_table *desired, bool *changed) {
	for (size_t i = 0; i < desired->n; i++) {
		if (lb_owned_has(owned, &desired->svcs[i].key))
			continue;
		int r = lb_owned_add(owned, &desired->svcs[i].key);
		if (r < 0)
			return r;
		*changed = true;
	}
	return 0;
}

/* Ownership after applying: drop services that are gone from the kernel (deleted, or never
 * created because the add failed), unless the config still names them. A dump may skip an entry
 * (see lb_ipvs_dump), so absence from it is only a hint: each candidate is asked for by its key,
 * and nothing is pruned on a dump known to be torn. A record entry lost by mistake would leave a
 * service ezlb can never clean up. */
static void prune_owned(struct lb_ipvs *v, struct lb_owned *owned, const struct lb_table *desired,
			const struct lb_table *view, bool *changed) {
	char key[LB_SVC_KEYSTRLEN];
	if (view->torn)
		return;
	for (size_t i = owned->n; i-- > 0;) {
		const struct lb_svc_key *k = &owned->keys[i];
		if (lb_table_find(view, k) || lb_table_find(desired, k))
			continue;
		int r = lb_ipvs_has_service(v, k);
		if (r < 0) {
			log_warn("ownership: cannot ask the kernel for %s: %s; still owned",
				 lb_svc_key_fmt(k, key, sizeof(key)), strerror(-r));
			continue;
		}
		if (r > 0) {
			log_info("ownership: %s was missing from a dump of a changing table but exists; "
				 "still owned", lb_svc_key_fmt(k, key, sizeof(key)));
			continue;
		}
		log_debug("ownership: %s is gone from the kernel; no longer owned",
			  lb_svc_key_fmt(k, key, sizeof(key)));
		lb_owned_remove(owned, k);
		*changed = true;
	}
}

/* Which services' destinations a pass must read: those it may change. */
struct want_ctx {
	const struct lb_table *desired;
	const struct lb_owned *owned;
};

static bool want_dests(const struct lb_svc_key *k, void *ud) {
	const struct want_ctx *c = ud;
	return lb_table_find(c->desired, k) || lb_owned_has(c->owned, k);
}

/* A service list read in several replies may have skipped a desired service that exists: planned
 * as absent it would be "added" (EEXIST) and never edited. Each desired service the list lacks is
 * asked for by its key, and read in whole if it exists. From an empty table (one reply) nothing is
 * asked. */
static int find_skipped(struct lb_ipvs *v, const struct lb_table *desired, struct lb_table *actual) {
	size_t found = 0;
	for (size_t i = 0; actual->may_skip && i < desired->n; i++) {
		struct lb_service s;
		if (lb_table_find(actual, &desired->svcs[i].key))
			continue;
		int r = lb_ipvs_get_service(v, &desired->svcs[i].key, &s);
		if (r <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		struct lb_service *slot = lb_table_add_service(actual);
		if (!slot)
			return -ENOMEM;
		*slot = s;
		found++;
		if ((r = lb_ipvs_dump_dests(v, slot, &actual->torn)) < 0)
			return r;
	}
	if (found) {
		log_debug("ipvs: %zu wanted services missing from a dump of a changing table found by key",
			  found);
		lb_table_sort(actual);
	}
	return 0;
}

/* A view kept from an earlier pass may hold a service that was foreign then (destinations not
 * read) and that the config now names: read them before planning it. */
static int read_missing_dests(struct lb_ipvs *v, const struct lb_table *desired,
			      struct lb_table *actual) {
	for (size_t i = 0; i < desired->n; i++) {
		struct lb_service *have = lb_table_find(actual, &desired->svcs[i].key);
		if (have && have->dests_unknown) {
			int r = lb_ipvs_dump_dests(v, have, &actual->torn);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int copy_service(struct lb_table *t, const struct lb_service *from) {
	struct lb_service *s = lb_table_add_service(t);
	if (!s)
		return -ENOMEM;
	*s = *from;
	s->name = NULL; /* names belong to a config that may be replaced */
	s->dests = NULL;
	s->n_dests = s->cap_dests = 0;
	s->failed = NULL; /* the desired table's; a view has none */
	s->n_failed = 0;
	return lb_service_copy_dests(s, from);
}

static int deleted_keys(const struct lb_plan *p, struct lb_owned *out) {
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].kind == LB_OP_DEL_SVC && lb_owned_add(out, &p->ops[i].svc->key) < 0)
			return -ENOMEM;
	return 0;
}

/* A destination set to weight 0 by a drain stays in the kernel, in a service the desired table
 * may not hold it in (or not hold at all): the rebuilt view must show it. op->dest points into
 * the old view, still alive here. */
static int apply_drains(struct lb_table *next, const struct lb_plan *p) {
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_op *op = &p->ops[i];
		if (op->kind != LB_OP_DRAIN_DEST)
			continue;
		struct lb_service *s = lb_table_find(next, &op->svc->key);
		struct lb_dest *d = s ? lb_service_find_dest(s, &op->dest->addr) : NULL;
		if (!s)
			continue;
		if (!d) {
			if (!(d = lb_service_add_dest(s)))
				return -ENOMEM;
			*d = *op->dest;
			d->conns_known = false; /* counts are read again when needed */
			lb_service_sort(s);
		}
		d->weight = 0;
	}
	return 0;
}

/* Draining destinations of a desired service are not in the desired table: s (the desired
 * service's copy) gets them back from old (its state before the pass). */
static int keep_draining_svc(struct lb_service *s, const struct lb_service *old,
			     const struct lb_drains *drains) {
	for (size_t i = 0; i < drains->n; i++) {
		const struct lb_drain *e = &drains->v[i];
		if (!e->dest.af || lb_svc_key_cmp(&e->svc, &s->key) != 0)
			continue;
		const struct lb_dest *od = lb_service_find_dest(old, &e->dest);
		if (!od || lb_service_find_dest(s, &e->dest))
			continue;
		struct lb_dest *d = lb_service_add_dest(s);
		if (!d)
			return -ENOMEM;
		*d = *od;
		lb_service_sort(s);
	}
	return 0;
}

static int keep_draining(struct lb_table *next, const struct lb_table *view,
			 const struct lb_drains *drains) {
	int r = 0;
	for (size_t i = 0; i < next->n && r == 0; i++) {
		const struct lb_service *old = lb_table_find(view, &next->svcs[i].key);
		if (old && lb_drains_find(drains, &old->key, NULL) == NULL)
			r = keep_draining_svc(&next->svcs[i], old, drains);
	}
	return r;
}

/* After a pass where every op succeeded the kernel holds exactly the desired services (with the
 * destinations that drain), plus the services it had that were neither desired nor deleted. */
static int rebuild_view(struct lb_table *view, const struct lb_table *desired, const struct lb_plan *p) {
	struct lb_table next = {0};
	struct lb_owned gone = {0};
	bool torn = view->torn, may_skip = view->may_skip;
	int r = deleted_keys(p, &gone);
	for (size_t i = 0; i < desired->n && r == 0; i++)
		r = copy_service(&next, &desired->svcs[i]);
	for (size_t i = 0; i < view->n && r == 0; i++) {
		const struct lb_service *s = &view->svcs[i];
		if (!lb_owned_has(&gone, &s->key) && !lb_table_find(desired, &s->key))
			r = copy_service(&next, s);
	}
	if (r == 0) {
		lb_table_sort(&next);
		r = keep_draining(&next, view, &p->drains);
	}
	if (r == 0)
		r = apply_drains(&next, p);
	lb_owned_free(&gone);
	lb_table_clear(view);
	if (r < 0) {
		lb_table_clear(&next);
		return r;
	}
	next.torn = torn; /* what the dump may have missed, the rebuilt view misses too */
	next.may_skip = may_skip;
	*view = next;
	return 0;
}

static void print_plan(FILE *f, const struct lb_plan *p) {
	char line[512];
	for (size_t i = 0; i < p->n; i++)
		fprintf(f, "%s\n", lb_op_fmt(&p->ops[i], line, sizeof(line)));
	if (p->n)
		fprintf(f, "plan: %zu changes\n", p->n);
	else
		fprintf(f, "plan: no changes\n");
}

static int load_owned(const struct lb_statedir *sd, struct lb_owned *owned) {
	int r = lb_owned_load(sd, owned);
	/* a missing or corrupt record leaves an empty set: safe, already logged */
	return (r == -ENOENT || r == -EBADMSG) ? 0 : r;
}

static int load_drains(const struct lb_statedir *sd, struct lb_drains *d) {
	int r = lb_drains_load(sd, d);
	/* none, or corrupt: drains (re)start with their full timeout, which never cuts one short */
	return (r == -ENOENT || r == -EBADMSG) ? 0 : r;
}

/* Applies the plan; errs[i] is op i's outcome (the caller frees *errs). */
static int apply_plan(struct lb_ipvs *v, const struct lb_plan *plan, struct lb_sync_stats *st,
		      int **errs) {
	if (!(*errs = calloc(plan->n ? plan->n : 1, sizeof(int))))
		return -ENOMEM;
	int r = lb_ipvs_apply(v, plan->ops, plan->n, *errs);
	if (r < 0) {
		log_error("applying %zu changes to the kernel: %s", plan->n, strerror(-r));
		st->failed = plan->n;
		return r;
	}
	report_failures(plan, *errs, st);
	return st->failed ? -EIO : 0;
}

/* ---- drains ---- */

int64_t lb_realtime_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a destination of have is leaving want (and not because it failed): it may drain. */
static bool has_leaving(const struct lb_service *want, const struct lb_service *have) {
	for (size_t i = 0; i < have->n_dests; i++) {
		const struct lb_addr *a = &have->dests[i].addr;
		if (!lb_service_find_dest(want, a) && !lb_service_has_failed(want, a))
			return true;
	}
	return false;
}

/* A view kept from earlier passes has no connection counts (or old ones), and may not have read
 * an owned service that leaves the config at all: the services where something may drain are
 * read again, one dump each, so that the plan decides on fresh counts. fresh: actual was dumped
 * in this pass. */
static bool needs_counts(const struct lb_service *s, const struct lb_service *want,
			 const struct lb_owned *owned, bool fresh) {
	if (want) /* read_missing_dests has read those it had not */
		return !fresh && !s->dests_unknown && has_leaving(want, s);
	return lb_owned_has(owned, &s->key) && (!fresh || s->dests_unknown);
}

static int refresh_leaving(struct lb_ipvs *v, const struct lb_table *desired,
			   struct lb_table *actual, const struct lb_owned *owned, bool fresh) {
	for (size_t i = 0; i < actual->n; i++) {
		struct lb_service *s = &actual->svcs[i];
		if (!needs_counts(s, lb_table_find(desired, &s->key), owned, fresh))
			continue;
		int r = lb_ipvs_dump_dests(v, s, &actual->torn);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *svc_label(const struct lb_table *desired, const struct lb_svc_key *k,
			     char *buf, size_t len) {
	const struct lb_service *w = lb_table_find(desired, k);
	return w && w->name ? w->name : lb_svc_key_fmt(k, buf, len);
}

/* "3 live connections", as lb_dest_live counts them */
static const char *fmt_live(const struct lb_service *have, const struct lb_dest *d, char *buf,
			    size_t len) {
	uint32_t n = 0;
	for (size_t i = 0; have && i < have->n_dests; i++) {
		const struct lb_dest *x = &have->dests[i];
		if (d && lb_addr_cmp(&x->addr, &d->addr) != 0)
			continue;
		if (!x->conns_known)
			return "live connections unknown";
		n += x->active + (lb_proto_inactive_live(have->key.proto) ? x->inactive : 0);
	}
	snprintf(buf, len, "%u live connection%s", n, n == 1 ? "" : "s");
	return buf;
}

/* Drains that began in this pass: in the new record, not (with that start) in the old. */
static void log_drain_starts(const struct lb_drains *old, const struct lb_drains *next,
			     const struct lb_table *desired, const struct lb_table *actual) {
	for (size_t i = 0; i < next->n; i++) {
		const struct lb_drain *e = &next->v[i];
		const struct lb_drain *o = lb_drains_find(old, &e->svc, e->dest.af ? &e->dest : NULL);
		if (o && o->since_ms == e->since_ms)
			continue;
		char label[LB_SVC_KEYSTRLEN], live[64], a[LB_ADDRSTRLEN];
		const char *svc = svc_label(desired, &e->svc, label, sizeof(label));
		const struct lb_service *have = lb_table_find(actual, &e->svc);
		const struct lb_dest *d = have && e->dest.af ? lb_service_find_dest(have, &e->dest) : NULL;
		if (!e->dest.af)
			log_info("service %s: draining the service (no longer in the config): %s, "
				 "timeout %gs", svc, fmt_live(have, NULL, live, sizeof(live)),
				 e->timeout_ms / 1000.0);
		else
			log_full(LOG_INFO, svc, lb_addr_fmt(&e->dest, a),
				 "service %s: draining %s: weight %u -> 0, %s, timeout %gs", svc, a,
				 d ? d->weight : 0, fmt_live(have, d, live, sizeof(live)),
				 e->timeout_ms / 1000.0);
	}
}

/* Ends, cancels and repairs, for the ops that applied. */
static void log_drain_op(const struct lb_op *op, int64_t now_ms) {
	char label[LB_SVC_KEYSTRLEN], live[64], a[LB_ADDRSTRLEN] = "";
	const char *svc = op_service_label(op, label, sizeof(label));
	double after = (double)(now_ms - op->drain_since_ms) / 1000.0;
	const struct lb_service *have = op->kind == LB_OP_DEL_SVC ? op->svc : op->old_svc;
	if (op->dest)
		lb_addr_fmt(&op->dest->addr, a);
	if (op->drain == LB_DRAIN_IDLE || op->drain == LB_DRAIN_TIMEOUT) {
		char why[96] = "no live connection";
		if (op->drain == LB_DRAIN_TIMEOUT)
			snprintf(why, sizeof(why), "drain timeout, %s left",
				 fmt_live(have, op->dest, live, sizeof(live)));
		log_full(LOG_INFO, svc, op->dest ? a : NULL, "service %s: drain of %s ended after %.1f s: %s",
			 svc, op->dest ? a : "the service", after < 0 ? 0 : after, why);
	} else if (op->drain == LB_DRAIN_CANCEL) {
		log_full(LOG_INFO, svc, a, "service %s: %s is back in the config: drain cancelled after "
			 "%.1f s, weight 0 -> %u", svc, a, after < 0 ? 0 : after, op->dest->weight);
	} else if (op->kind == LB_OP_DRAIN_DEST && op->drain_since_ms != now_ms) {
		log_full(LOG_WARNING, svc, a, "service %s: %s is draining but had weight %u; set back "
			 "to 0", svc, a, op->dest->weight);
	}
}

static void log_drains(const struct lb_plan *p, const int *errs, int64_t now_ms) {
	for (size_t i = 0; i < p->n; i++)
		if (!errs[i] && p->ops[i].drain != LB_DRAIN_NONE)
			log_drain_op(&p->ops[i], now_ms);
}

/* ---- the passes ---- */

struct pass {
	struct lb_owned owned;
	struct lb_drains drains; /* the record as read */
	struct lb_plan plan;
	int *errs;
	int64_t now_ms;
	bool changed;
};

static void pass_free(struct pass *ps) {
	lb_plan_free(&ps->plan);
	lb_owned_free(&ps->owned);
	lb_drains_free(&ps->drains);
	free(ps->errs);
}

/* Reads both records and the kernel (as far as needed), and plans. */
static int prepare(struct lb_ipvs *v, const struct lb_table *desired, struct lb_table *actual,
		   bool *actual_stale, const struct lb_sync_opts *o, struct pass *ps) {
	int r = load_owned(o->state, &ps->owned);
	if (r == 0)
		r = load_drains(o->state, &ps->drains);
	for (size_t i = 0; r == 0 && o->also_owned && i < o->also_owned->n; i++) {
		if (lb_owned_has(&ps->owned, &o->also_owned->keys[i]))
			continue;
		r = lb_owned_add(&ps->owned, &o->also_owned->keys[i]);
		ps->changed = true;
	}
	struct want_ctx wc = {desired, &ps->owned};
	bool fresh = *actual_stale;
	if (r == 0 && *actual_stale)
		r = lb_ipvs_dump(v, actual, want_dests, &wc);
	if (r == 0)
		r = read_missing_dests(v, desired, actual);
	if (r == 0)
		r = find_skipped(v, desired, actual);
	if (r == 0)
		r = refresh_leaving(v, desired, actual, &ps->owned, fresh);
	*actual_stale = r < 0;
	ps->now_ms = lb_realtime_ms();
	struct lb_plan_ctx ctx = {&ps->owned, o->no_drain ? NULL : &ps->drains, ps->now_ms,
				  o->no_drain ? 0 : o->leaving_drain_ms};
	if (r == 0 && (r = lb_plan_build(desired, actual, &ctx, &ps->plan)) < 0)
		log_error("reconcile: planning: %s", strerror(-r));
	return r;
}

/* The records before the kernel: ownership of everything the pass may create, and the drains
 * it starts (so a crash right after the weight-0 edits still knows when they began). */
static int save_records(const struct lb_table *desired,
			const struct lb_sync_opts *o, struct pass *ps) {
	int r = own_desired(&ps->owned, desired, &ps->changed);
	if (r < 0)
		log_error("reconcile: ownership: %s", strerror(-r));
	if (r == 0 && ps->changed)
		r = lb_owned_save(o->state, &ps->owned);
	if (r == 0 && !lb_drains_eq(&ps->drains, &ps->plan.drains))
		r = lb_drains_save(o->state, &ps->plan.drains);
	return r;
}

int lb_sync_run(struct lb_ipvs *v, const struct lb_table *desired, struct lb_table *actual,
		bool *actual_stale, const struct lb_sync_opts *o, struct lb_sync_stats *st) {
	memset(st, 0, sizeof(*st));
	st->services = desired->n;
	st->dests = lb_table_count_dests(desired);
	struct pass ps = {0};
	int r = prepare(v, desired, actual, actual_stale, o, &ps);
	if (r < 0)
		goto out;
	if (o->dry_run) {
		print_plan(o->plan_out, &ps.plan);
		goto out;
	}
	if ((r = save_records(desired, o, &ps)) < 0)
		goto out; /* logged; and the kernel is not touched: the records would not cover it */
	r = apply_plan(v, &ps.plan, st, &ps.errs);
	if (ps.errs) {
		log_drain_starts(&ps.drains, &ps.plan.drains, desired, actual);
		log_drains(&ps.plan, ps.errs, ps.now_ms);
	}
	if (o->drains_out && lb_drains_copy(o->drains_out, &ps.plan.drains) < 0)
		r = r ? r : -ENOMEM;
	if (r == 0 && ps.plan.n && (r = rebuild_view(actual, desired, &ps.plan)) < 0)
		log_error("reconcile: rebuilding the view: %s", strerror(-r));
	if (r < 0)
		*actual_stale = true; /* the view no longer matches the kernel: dump next time */
	struct want_ctx wc = {desired, &ps.owned};
	if (*actual_stale && lb_ipvs_dump(v, actual, want_dests, &wc) == 0)
		*actual_stale = false;
	ps.changed = false;
	if (!*actual_stale) /* only a fresh view can tell what is gone from the kernel */
		prune_owned(v, &ps.owned, desired, actual, &ps.changed);
	if (ps.changed) {
		int q = lb_owned_save(o->state, &ps.owned);
		if (r == 0)
			r = q;
	}
out:
	pass_free(&ps);
	return r;
}

/* Whether planning these services changes the drain record: then the full pass does it. */
static int drains_change(const struct lb_plan *plan, const struct lb_table *want,
			 const struct lb_drains *drains) {
	struct lb_owned keys = {0};
	struct lb_drains merged = {0};
	int r = 0;
	for (size_t i = 0; i < want->n && r == 0; i++)
		r = lb_owned_add(&keys, &want->svcs[i].key);
	if (r == 0)
		r = lb_drains_copy(&merged, drains);
	if (r == 0)
		r = lb_drains_merge(&merged, &keys, &plan->drains);
	if (r == 0)
		r = lb_plan_drains(plan) || !lb_drains_eq(&merged, drains);
	lb_owned_free(&keys);
	lb_drains_free(&merged);
	return r;
}

/* The view's copy takes want's destinations, now applied, and keeps those that drain. */
static int update_view(struct lb_service *v, const struct lb_service *want,
		       const struct lb_drains *drains) {
	struct lb_service old = {.key = v->key};
	int r = lb_service_copy_dests(&old, v);
	if (r == 0)
		r = lb_service_copy_dests(v, want);
	if (r == 0)
		r = keep_draining_svc(v, &old, drains);
	free(old.dests);
	return r;
}

int lb_sync_targeted(struct lb_ipvs *v, const struct lb_table *want, struct lb_table *view,
		     const struct lb_drains *drains, struct lb_sync_stats *st) {
	memset(st, 0, sizeof(*st));
	struct lb_plan plan = {0};
	_cleanup_free_ int *errs = NULL;
	struct lb_plan_ctx ctx = {.drains = drains, .now_ms = lb_realtime_ms()};
	int r = 0;
	for (size_t i = 0; i < want->n && r == 0; i++) {
		const struct lb_service *have = lb_table_find(view, &want->svcs[i].key);
		r = have ? lb_plan_service(&plan, &want->svcs[i], have, &ctx) : -ENOENT;
	}
	if (r == 0 && (r = drains_change(&plan, want, drains)) > 0)
		r = -EAGAIN;
	if (r == 0 && plan.n)
		r = apply_plan(v, &plan, st, &errs);
	for (size_t i = 0; i < want->n && r == 0 && plan.n; i++)
		r = update_view(lb_table_find(view, &want->svcs[i].key), &want->svcs[i], drains);
	lb_plan_free(&plan);
	return r;
}
