/* Applies VIP announcement: reads the record and the addresses of the interfaces concerned,
 * plans (announce.c), saves the record so it covers every address the pass may add, applies,
 * and trims the record. The addresses stay when ezlb stops (like the table); `ezlb cleanup`
 * removes the recorded ones. */
#include "announce_sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const struct lb_record record = {
	.name = LB_ANNOUNCE_FILE,
	.header = "# ezlb announced addresses v1",
	.max_line = 96,
	.what = "record of announced addresses",
	.if_corrupt = ", so no address is withdrawn until ezlb adds it again",
};

static int parse_line(char *line, void *ud, const char **why) {
	struct lb_vip v;
	int r = lb_vip_parse_line(line, &v, why);
	return r < 0 ? r : lb_vipset_add(ud, &v);
}

/* A missing record owns nothing; a corrupt one too (an address ezlb cannot prove it added is
 * never removed). */
static int load_record(const struct lb_statedir *sd, struct lb_vipset *owned) {
	int r = lb_record_load(sd, &record, parse_line, owned);
	if (r == -ENOENT || r == -EBADMSG) {
		lb_vipset_clear(owned);
		return 0;
	}
	return r;
}

static void emit(FILE *f, const void *ud) {
	const struct lb_vipset *s = ud;
	for (size_t i = 0; i < s->n; i++)
		lb_vip_put_line(f, &s->v[i]);
}

static int save_record(const struct lb_statedir *sd, const struct lb_vipset *owned) {
	return lb_record_save(sd, &record, emit, owned);
}

static int read_kernel(struct lb_rtnl **rt, const struct lb_vipset *want,
		       const struct lb_vipset *owned, struct lb_vipset *have) {
	_cleanup_free_ char(*ifs)[LB_IFNAMSIZ] = NULL;
	int n = lb_announce_ifaces(want, owned, &ifs), r = n < 0 ? n : 0;
	if (r == 0 && !*rt && (r = lb_rtnl_open(rt)) < 0)
		log_error("announce: cannot open an rtnetlink socket: %s", strerror(-r));
	if (r == 0 && (r = lb_rtnl_dump_addrs(*rt, (const char(*)[LB_IFNAMSIZ])ifs, (size_t)n,
					     have)) < 0)
		log_error("announce: cannot read the interfaces' addresses: %s", strerror(-r));
	return r;
}

/* Before an address goes on an interface: the interface exists (created as a dummy when
 * missing) and is up, else a routing daemon would not export what is on it. */
static int ensure_iface(struct lb_rtnl *rt, const char *ifname) {
	bool exists = false, up = false;
	int r = lb_rtnl_link_state(rt, ifname, &exists, &up);
	if (r == 0 && !exists) {
		r = lb_rtnl_add_dummy(rt, ifname);
		if (r == -EEXIST)
			r = 0; /* made between the two requests: the same outcome */
		if (r == 0)
			log_info("announce: created the dummy interface %s", ifname);
	} else if (r == 0 && !up) {
		log_warn("announce: interface %s is down: a routing daemon does not export the "
			 "addresses on it", ifname);
	}
	if (r < 0)
		log_error("announce: interface %s: %s", ifname, strerror(-r));
	return r;
}

static int apply_op(struct lb_rtnl *rt, const struct lb_aop *op, const char **last_if) {
	char line[LB_AOP_STRLEN];
	int r = 0;
	if (op->kind == LB_AOP_ADD && (!*last_if || strcmp(*last_if, op->vip.ifname))) {
		r = ensure_iface(rt, op->vip.ifname); /* additions come sorted by interface */
		*last_if = op->vip.ifname;
	}
	if (r == 0)
		r = op->kind == LB_AOP_ADD ? lb_rtnl_addr_add(rt, &op->vip) : lb_rtnl_addr_del(rt, &op->vip);
	lb_aop_fmt(op, line, sizeof(line));
	if (r == 0)
		log_info("announce: %s", line);
	else
		log_error("announce: %s: %s", line, strerror(-r));
	return r;
}

/* The record after the ops: what the plan owns, less the additions that failed, plus the
 * withdrawals that failed (the address is still there, still ezlb's). */
static int owned_after(const struct lb_aplan *p, const int *errs, struct lb_vipset *out) {
	int r = 0;
	for (size_t i = 0; i < p->owned.n && r == 0; i++)
		r = lb_vipset_add(out, &p->owned.v[i]);
	for (size_t i = 0; i < p->n && r == 0; i++) {
		if (!errs[i])
			continue;
		if (p->ops[i].kind == LB_AOP_ADD)
			lb_vipset_remove(out, &p->ops[i].vip);
		else
			r = lb_vipset_add(out, &p->ops[i].vip);
	}
	return r;
}

static void warn_foreign(const struct lb_aplan *p, struct lb_vipset *warned) {
	char ip[LB_ADDRSTRLEN];
	for (size_t i = 0; i < p->foreign.n; i++) {
		const struct lb_vip *v = &p->foreign.v[i];
		if (warned && lb_vipset_has(warned, v))
			continue;
		log_warn("announce: %s is on %s but ezlb did not put it there: it is left alone, and "
			 "stays announced even when no service behind it can serve",
			 lb_ip_fmt(v->addr.af, &v->addr.ip, ip), v->ifname);
	}
	if (warned) {
		lb_vipset_clear(warned);
		for (size_t i = 0; i < p->foreign.n; i++)
			if (lb_vipset_add(warned, &p->foreign.v[i]) < 0)
				break; /* warned again next time: not worse than that */
	}
}

static int apply_plan(struct lb_rtnl *rt, const struct lb_aplan *p, const struct lb_vipset *owned,
		      const struct lb_statedir *sd, size_t *changes) {
	struct lb_vipset cover = {0}, after = {0};
	_cleanup_free_ int *errs = calloc(p->n + 1, sizeof(int));
	int r = errs ? 0 : -ENOMEM, failed = 0;
	/* before the kernel: the record covers every address this pass may add */
	for (size_t i = 0; i < owned->n && r == 0; i++)
		r = lb_vipset_add(&cover, &owned->v[i]);
	for (size_t i = 0; i < p->owned.n && r == 0; i++)
		r = lb_vipset_add(&cover, &p->owned.v[i]);
	if (r == 0 && !lb_vipset_equal(&cover, owned))
		r = save_record(sd, &cover);
	const char *last_if = NULL;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		errs[i] = apply_op(rt, &p->ops[i], &last_if);
		failed += errs[i] != 0;
	}
	*changes = r == 0 ? p->n - (size_t)failed : 0;
	if (r == 0 && (r = owned_after(p, errs, &after)) == 0 && !lb_vipset_equal(&after, &cover))
		r = save_record(sd, &after);
	lb_vipset_free(&cover);
	lb_vipset_free(&after);
	return r < 0 ? r : failed ? -EIO : 0;
}

/* One pass over a want or a record that is not empty. */
static int sync_sets(struct lb_rtnl **rt, const struct lb_vipset *want,
		     const struct lb_vipset *owned, const struct lb_announce_opts *o,
		     size_t *changes) {
	struct lb_vipset have = {0};
	struct lb_aplan plan = {0};
	int r = read_kernel(rt, want, owned, &have);
	if (r == 0 && (r = lb_announce_plan(want, &have, owned, &plan)) < 0)
		log_error("announce: %s", strerror(-r));
	if (r == 0 && o->dry_run) {
		char line[LB_AOP_STRLEN];
		for (size_t i = 0; i < plan.n; i++)
			fprintf(o->plan_out, "%s\n", lb_aop_fmt(&plan.ops[i], line, sizeof(line)));
	} else if (r == 0) {
		warn_foreign(&plan, o->warned);
		r = apply_plan(*rt, &plan, owned, o->state, changes);
	}
	lb_aplan_free(&plan);
	lb_vipset_free(&have);
	return r;
}

int lb_announce_sync(struct lb_rtnl **rt, const struct lb_vipset *want,
		     const struct lb_announce_opts *o, size_t *changes) {
	struct lb_vipset owned = {0};
	int r = load_record(o->state, &owned);
	*changes = 0;
	/* nothing wanted and nothing recorded (a config without announce): no socket, no request */
	if (r == 0 && (want->n || owned.n))
		r = sync_sets(rt, want, &owned, o, changes);
	lb_vipset_free(&owned);
	return r;
}
