/* The planner of the kernel-wide IPVS settings (connection timeouts, sync daemons). Pure: no I/O,
 * so every rule is checkable from a unit test. */
#include "kconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void lb_kconf_want(const struct lb_config *cfg, struct lb_kconf *out) {
	const struct lb_sync_conf *s = &cfg->sync;
	memset(out, 0, sizeof(*out));
	out->timeouts = (struct lb_timeouts){cfg->timeouts.tcp_s, cfg->timeouts.tcp_fin_s,
					     cfg->timeouts.udp_s};
	out->manage_sync = s->enabled;
	if (!s->enabled)
		return;
	out->run[LB_SYNCD_MASTER] = s->role != LB_SYNC_BACKUP;
	out->run[LB_SYNCD_BACKUP] = s->role != LB_SYNC_MASTER;
	for (int i = 0; i < LB_SYNCD_N; i++) {
		struct lb_syncd *d = &out->syncd[i];
		snprintf(d->ifname, sizeof(d->ifname), "%s", s->ifname);
		d->id = s->id;
		d->max_len = s->max_len;
		d->group = s->group;
		d->port = s->port;
		d->ttl = s->ttl;
	}
}

/* An optional field matches when the want leaves it to the kernel (0) or names the same value. */
static bool opt_eq(uint32_t want, uint32_t have) {
	return want == 0 || want == have;
}

bool lb_syncd_matches(const struct lb_syncd *want, const struct lb_syncd *have) {
	return strncmp(want->ifname, have->ifname, sizeof(want->ifname)) == 0 &&
	       want->id == have->id && opt_eq(want->max_len, have->max_len) &&
	       opt_eq(want->port, have->port) && opt_eq(want->ttl, have->ttl) &&
	       (want->group.af == 0 || (want->group.af == have->group.af &&
					memcmp(&want->group.ip, &have->group.ip, sizeof(want->group.ip)) == 0));
}

static struct lb_kop *push(struct lb_kplan *p, enum lb_kop_kind kind, int role) {
	struct lb_kop *op = &p->ops[p->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->role = role;
	return op;
}

/* Only what differs is sent: a field the kernel already holds stays out of the op (0 = keep). */
static void plan_timeouts(const struct lb_timeouts *want, const struct lb_timeouts *have,
			  struct lb_kplan *p) {
	struct lb_timeouts set = {
		want->tcp != have->tcp ? want->tcp : 0,
		want->tcp_fin != have->tcp_fin ? want->tcp_fin : 0,
		want->udp != have->udp ? want->udp : 0,
	};
	if (!set.tcp && !set.tcp_fin && !set.udp)
		return;
	struct lb_kop *op = push(p, LB_KOP_SET_TIMEOUTS, 0);
	op->timeouts = set;
	op->old_timeouts = *have;
}

/* What becomes of one role's daemon. */
struct role_plan {
	bool keep, stop, start;
};

static struct role_plan plan_role(const struct lb_kconf *want, const struct lb_kconf *have,
				  bool mine, int i) {
	struct role_plan r;
	r.keep = have->run[i] && want->run[i] && lb_syncd_matches(&want->syncd[i], &have->syncd[i]);
	/* with sync in the config the role says exactly what runs; without it only what ezlb
	 * started is its to stop */
	r.stop = have->run[i] && !r.keep && (want->manage_sync || mine);
	r.start = want->manage_sync && want->run[i] && !r.keep;
	return r;
}

void lb_kconf_plan(const struct lb_kconf *want, const struct lb_kconf *have, unsigned owned,
		   struct lb_kplan *out) {
	struct role_plan rp[LB_SYNCD_N];
	memset(out, 0, sizeof(*out));
	plan_timeouts(&want->timeouts, &have->timeouts, out);
	for (int i = 0; i < LB_SYNCD_N; i++) {
		rp[i] = plan_role(want, have, owned & LB_SYNCD_BIT(i), i);
		if (rp[i].keep || rp[i].start)
			out->owned |= LB_SYNCD_BIT(i); /* a daemon already as wanted is adopted */
		if (!rp[i].stop)
			continue;
		struct lb_kop *op = push(out, LB_KOP_STOP_DAEMON, i);
		op->syncd = have->syncd[i];
		op->restart = rp[i].start;
	}
	/* starts after every stop: a role that restarts must be stopped first */
	for (int i = 0; i < LB_SYNCD_N; i++) {
		if (!rp[i].start)
			continue;
		struct lb_kop *op = push(out, LB_KOP_START_DAEMON, i);
		op->syncd = want->syncd[i];
		op->restart = rp[i].stop;
	}
}

const char *lb_syncd_role_name(int role) {
	return role == LB_SYNCD_BACKUP ? "backup" : "master";
}

static void put_syncd(struct lb_line *l, const struct lb_syncd *d) {
	char g[LB_ADDRSTRLEN];
	lb_line_put(l, "interface %.*s, id %u", (int)sizeof(d->ifname), d->ifname, d->id);
	if (d->group.af)
		lb_line_put(l, ", group %s", lb_ip_fmt(d->group.af, &d->group.ip, g));
	if (d->port)
		lb_line_put(l, ", port %u", d->port);
	if (d->ttl)
		lb_line_put(l, ", ttl %u", d->ttl);
	if (d->max_len)
		lb_line_put(l, ", max_len %u", d->max_len);
}

static void put_timeouts(struct lb_line *l, const struct lb_kop *op) {
	static const char *const names[] = {"tcp", "tcp_fin", "udp"};
	const uint32_t set[] = {op->timeouts.tcp, op->timeouts.tcp_fin, op->timeouts.udp};
	const uint32_t old[] = {op->old_timeouts.tcp, op->old_timeouts.tcp_fin, op->old_timeouts.udp};
	const char *sep = ": ";
	lb_line_put(l, "~ timeouts");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (set[i]) {
			lb_line_put(l, "%s%s %us -> %us", sep, names[i], old[i], set[i]);
			sep = ", ";
		}
}

const char *lb_kop_fmt(const struct lb_kop *op, char *buf, size_t len) {
	struct lb_line l = {buf, len, 0};
	if (!len)
		return buf;
	buf[0] = 0;
	switch (op->kind) {
	case LB_KOP_SET_TIMEOUTS: put_timeouts(&l, op); break;
	case LB_KOP_STOP_DAEMON:
	case LB_KOP_START_DAEMON:
		lb_line_put(&l, "%c sync daemon %s: ", op->kind == LB_KOP_START_DAEMON ? '+' : '-',
		    lb_syncd_role_name(op->role));
		put_syncd(&l, &op->syncd);
		break;
	}
	return buf;
}
