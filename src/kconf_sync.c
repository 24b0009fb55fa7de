/* Applies the kernel-wide IPVS settings: connection timeouts and the connection sync daemons.
 * The daemons are left running when ezlb stops (a restart must not break connection sync); the
 * record says which are ezlb's, so removing `sync` from the config stops exactly those. */
#include "kconf_sync.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const struct lb_record record = {
	.name = LB_SYNCD_FILE,
	.header = "# ezlb sync daemons v1",
	.max_line = 64,
	.what = "sync daemon record",
	.if_corrupt = ", so no sync daemon is stopped unless the config manages them",
};

static int parse_line(char *line, void *ud, const char **why) {
	unsigned *owned = ud;
	for (int i = 0; i < LB_SYNCD_N; i++)
		if (strcmp(line, lb_syncd_role_name(i)) == 0) {
			*owned |= LB_SYNCD_BIT(i);
			return 0;
		}
	return *why = "not a sync daemon role (expected \"master\" or \"backup\")", -EBADMSG;
}

/* A missing record owns nothing; a corrupt one too (nothing unknown is ever stopped). */
static int load_record(const struct lb_statedir *sd, unsigned *owned) {
	*owned = 0;
	int r = lb_record_load(sd, &record, parse_line, owned);
	if (r == -ENOENT || r == -EBADMSG) {
		*owned = 0;
		return 0;
	}
	return r;
}

static void emit(FILE *f, const void *ud) {
	unsigned owned = *(const unsigned *)ud;
	for (int i = 0; i < LB_SYNCD_N; i++)
		if (owned & LB_SYNCD_BIT(i))
			fprintf(f, "%s\n", lb_syncd_role_name(i));
}

static int save_record(const struct lb_statedir *sd, unsigned owned) {
	return lb_record_save(sd, &record, emit, &owned);
}

static bool wants_timeouts(const struct lb_timeouts *t) {
	return t->tcp || t->tcp_fin || t->udp;
}

/* Reads only what the pass may change: most configs set neither, and then the kernel is not
 * asked at all. */
static int read_kernel(struct lb_ipvs *v, const struct lb_kconf *want, unsigned owned,
		       struct lb_kconf *have) {
	int r = 0;
	memset(have, 0, sizeof(*have));
	if (wants_timeouts(&want->timeouts) && (r = lb_ipvs_get_timeouts(v, &have->timeouts)) < 0) {
		log_error("cannot read the IPVS connection timeouts: %s", strerror(-r));
		return r;
	}
	if ((want->manage_sync || owned) &&
	    (r = lb_ipvs_get_daemons(v, have->run, have->syncd)) < 0)
		log_error("cannot read the IPVS sync daemons: %s", strerror(-r));
	return r;
}

static int apply_op(struct lb_ipvs *v, const struct lb_kop *op) {
	switch (op->kind) {
	case LB_KOP_SET_TIMEOUTS: return lb_ipvs_set_timeouts(v, &op->timeouts);
	case LB_KOP_STOP_DAEMON: return lb_ipvs_stop_daemon(v, op->role);
	case LB_KOP_START_DAEMON: return lb_ipvs_start_daemon(v, op->role, &op->syncd);
	}
	return -EINVAL;
}

static void log_op(const struct lb_kop *op, int err) {
	char line[LB_KOP_STRLEN], why[256];
	lb_kop_fmt(op, line, sizeof(line));
	if (!err)
		log_info("kernel: %s", line);
	else if (op->kind == LB_KOP_START_DAEMON)
		log_error("kernel: %s: %s", line, lb_ipvs_daemon_strerror(err, &op->syncd, why, sizeof(why)));
	else
		log_error("kernel: %s: %s", line, strerror(-err));
}

/* The record after the ops: a role is ezlb's if its daemon runs as planned (kept or started),
 * or if a stop of one that was already ezlb's failed (it still runs, still ezlb's). */
static unsigned owned_after(const struct lb_kplan *p, const int *errs, unsigned before) {
	unsigned owned = p->owned;
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_kop *op = &p->ops[i];
		unsigned bit = LB_SYNCD_BIT(op->role);
		if (op->kind == LB_KOP_START_DAEMON && errs[i])
			owned &= ~bit;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_kop *op = &p->ops[i];
		if (op->kind == LB_KOP_STOP_DAEMON && errs[i] && (before & LB_SYNCD_BIT(op->role)))
			owned |= LB_SYNCD_BIT(op->role);
	}
	return owned;
}

static void print_plan(FILE *f, const struct lb_kplan *p) {
	char line[LB_KOP_STRLEN];
	for (size_t i = 0; i < p->n; i++)
		fprintf(f, "%s\n", lb_kop_fmt(&p->ops[i], line, sizeof(line)));
}

int lb_kconf_sync(struct lb_ipvs *v, const struct lb_kconf *want, const struct lb_kconf_opts *o,
		  size_t *changes) {
	struct lb_kconf have;
	struct lb_kplan plan;
	unsigned owned;
	int errs[ARRAY_SIZE(plan.ops)] = {0}, r = load_record(o->state, &owned);
	*changes = 0;
	if (r == 0)
		r = read_kernel(v, want, owned, &have);
	if (r < 0)
		return r;
	lb_kconf_plan(want, &have, owned, &plan);
	if (o->dry_run) {
		print_plan(o->plan_out, &plan);
		return 0;
	}
	/* before the kernel: the record covers every daemon this pass may start */
	if ((plan.owned | owned) != owned && (r = save_record(o->state, plan.owned | owned)) < 0)
		return r;
	int failed = 0;
	for (size_t i = 0; i < plan.n; i++) {
		errs[i] = apply_op(v, &plan.ops[i]);
		log_op(&plan.ops[i], errs[i]);
		failed += errs[i] != 0;
	}
	*changes = plan.n - (size_t)failed;
	unsigned after = owned_after(&plan, errs, owned);
	if (after != (plan.owned | owned) && (r = save_record(o->state, after)) < 0)
		return r;
	return failed ? -EIO : 0;
}
