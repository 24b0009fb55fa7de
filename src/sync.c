/* One reconcile pass: dump (when the view is stale), plan, apply, log failures, keep ownership. */
#include "sync.h"

#include <stdio.h>
#include <string.h>

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
	return lb_service_copy_dests(s, from);
}

/* After a pass where every op succeeded the kernel holds exactly the desired services, plus the
 * services it had that were neither desired nor deleted. */
static int rebuild_view(struct lb_table *view, const struct lb_table *desired, const struct lb_plan *p) {
	struct lb_table next = {0};
	bool torn = view->torn, may_skip = view->may_skip;
	int r = 0;
	for (size_t i = 0; i < desired->n && r == 0; i++)
		r = copy_service(&next, &desired->svcs[i]);
	for (size_t i = 0; i < view->n && r == 0; i++) {
		const struct lb_service *s = &view->svcs[i];
		bool deleted = false;
		for (size_t j = p->n; j-- > 0 && p->ops[j].kind == LB_OP_DEL_SVC;)
			deleted |= lb_svc_key_cmp(&p->ops[j].svc->key, &s->key) == 0;
		if (!deleted && !lb_table_find(desired, &s->key))
			r = copy_service(&next, s);
	}
	lb_table_clear(view);
	if (r < 0) {
		lb_table_clear(&next);
		return r;
	}
	lb_table_sort(&next);
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

static int apply_plan(struct lb_ipvs *v, const struct lb_plan *plan, struct lb_sync_stats *st) {
	_cleanup_free_ int *errs = calloc(plan->n ? plan->n : 1, sizeof(int));
	if (!errs)
		return -ENOMEM;
	int r = lb_ipvs_apply(v, plan->ops, plan->n, errs);
	if (r < 0) {
		log_error("applying %zu changes to the kernel: %s", plan->n, strerror(-r));
		st->failed = plan->n;
		return r;
	}
	report_failures(plan, errs, st);
	return st->failed ? -EIO : 0;
}

int lb_sync_run(struct lb_ipvs *v, const struct lb_table *desired, struct lb_table *actual,
		bool *actual_stale, const struct lb_sync_opts *o, struct lb_sync_stats *st) {
	memset(st, 0, sizeof(*st));
	st->services = desired->n;
	st->dests = lb_table_count_dests(desired);
	struct lb_owned owned = {0};
	struct lb_plan plan = {0};
	bool changed = false;
	int r = load_owned(o->state, &owned);
	for (size_t i = 0; r == 0 && o->also_owned && i < o->also_owned->n; i++) {
		if (lb_owned_has(&owned, &o->also_owned->keys[i]))
			continue;
		r = lb_owned_add(&owned, &o->also_owned->keys[i]);
		changed = true;
	}
	struct want_ctx wc = {desired, &owned};
	if (r == 0 && *actual_stale)
		r = lb_ipvs_dump(v, actual, want_dests, &wc);
	if (r == 0)
		r = read_missing_dests(v, desired, actual);
	if (r == 0)
		r = find_skipped(v, desired, actual);
	*actual_stale = r < 0;
	if (r == 0 && (r = lb_plan_build(desired, actual, &owned, &plan)) < 0)
		log_error("reconcile: planning: %s", strerror(-r));
	if (r < 0)
		goto out;
	if (o->dry_run) {
		print_plan(o->plan_out, &plan);
		goto out;
	}
	if ((r = own_desired(&owned, desired, &changed)) < 0)
		log_error("reconcile: ownership: %s", strerror(-r));
	if (r == 0 && changed)
		r = lb_owned_save(o->state, &owned);
	if (r < 0)
		goto out; /* logged; and the kernel is not touched: the record would not cover it */
	r = apply_plan(v, &plan, st);
	if (r == 0 && plan.n && (r = rebuild_view(actual, desired, &plan)) < 0)
		log_error("reconcile: rebuilding the view: %s", strerror(-r));
	if (r < 0)
		*actual_stale = true; /* the view no longer matches the kernel: dump next time */
	if (*actual_stale && lb_ipvs_dump(v, actual, want_dests, &wc) == 0)
		*actual_stale = false;
	changed = false;
	if (!*actual_stale) /* only a fresh view can tell what is gone from the kernel */
		prune_owned(v, &owned, desired, actual, &changed);
	if (changed) {
		int q = lb_owned_save(o->state, &owned);
		if (r == 0)
			r = q;
	}
out:
	lb_plan_free(&plan);
	lb_owned_free(&owned);
	return r;
}

int lb_sync_targeted(struct lb_ipvs *v, const struct lb_table *want, struct lb_table *view,
		     struct lb_sync_stats *st) {
	memset(st, 0, sizeof(*st));
	struct lb_plan plan = {0};
	int r = 0;
	for (size_t i = 0; i < want->n && r == 0; i++) {
		const struct lb_service *have = lb_table_find(view, &want->svcs[i].key);
		r = have ? lb_plan_service(&plan, &want->svcs[i], have) : -ENOENT;
	}
	if (r == 0 && plan.n)
		r = apply_plan(v, &plan, st);
	for (size_t i = 0; i < want->n && r == 0 && plan.n; i++)
		/* the view's copy takes want's destinations, now applied */
		r = lb_service_copy_dests(lb_table_find(view, &want->svcs[i].key), &want->svcs[i]);
	lb_plan_free(&plan);
	return r;
}
