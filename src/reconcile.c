/* The planner: merge-joins two sorted tables into an ordered list of operations. Pure: no I/O,
 * no clock, no globals, so every rule is checkable from a unit test. */
#include "reconcile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static struct lb_op *push(struct lb_plan *p, enum lb_op_kind kind, const struct lb_service *svc,
			  const struct lb_dest *dest, const struct lb_service *old_svc,
			  const struct lb_dest *old_dest) {
	if (GROW(p->ops, p->cap, p->n + 1) < 0)
		return NULL;
	struct lb_op *op = &p->ops[p->n++];
	*op = (struct lb_op){kind, svc, dest, old_svc, old_dest, LB_DRAIN_NONE, 0, 0};
	return op;
}

static int push_drain(struct lb_plan *p, enum lb_op_kind kind, const struct lb_service *svc,
		      const struct lb_dest *dest, const struct lb_service *old_svc,
		      const struct lb_dest *old_dest, enum lb_drain_evt evt, const struct lb_drain *d) {
	struct lb_op *op = push(p, kind, svc, dest, old_svc, old_dest);
	if (!op)
		return -ENOMEM;
	op->drain = evt;
	op->drain_since_ms = d ? d->since_ms : 0;
	op->drain_timeout_ms = d ? d->timeout_ms : 0;
	return 0;
}

static bool svc_differs(const struct lb_service *a, const struct lb_service *b) {
	return strncmp(a->sched, b->sched, LB_SCHED_MAX) != 0 || a->flags != b->flags ||
	       a->timeout != b->timeout || a->netmask != b->netmask;
}

static bool dest_differs(const struct lb_dest *a, const struct lb_dest *b) {
	return a->fwd != b->fwd || a->weight != b->weight || a->u_thresh != b->u_thresh ||
	       a->l_thresh != b->l_thresh || a->tun_type != b->tun_type ||
	       a->tun_port != b->tun_port || a->tun_flags != b->tun_flags;
}

/* ---- drains ---- */

/* What becomes of something leaving (a destination, or a whole service): its drain as it stands
 * after this plan (d), and the event. */
struct leaving {
	enum { LEAVE_DELETE, LEAVE_DRAIN } what;
	enum lb_drain_evt evt; /* DELETE: NONE (at once), IDLE or TIMEOUT; DRAIN: START or NONE */
	struct lb_drain d;
};

/* The one rule for both: a drain starts only where something is live and a timeout allows it;
 * a running drain ends when nothing is live or its time is up. rec: the record's entry. */
static struct leaving decide(const struct lb_drain *rec, bool live, uint32_t timeout_ms,
			     const struct lb_plan_ctx *ctx) {
	struct leaving l = {LEAVE_DELETE, LB_DRAIN_NONE, {.since_ms = ctx->now_ms, .timeout_ms = timeout_ms}};
	if (!rec) {
		if (live && timeout_ms > 0)
			l.what = LEAVE_DRAIN, l.evt = LB_DRAIN_START;
		return l;
	}
	/* a start in the future (the clock was set back, or the record lies) restarts the drain
	 * from now: it ends late, never early, and never later than one timeout from now */
	l.d.since_ms = rec->since_ms <= ctx->now_ms ? rec->since_ms : ctx->now_ms;
	int64_t elapsed = ctx->now_ms - l.d.since_ms;
	if (!live)
		l.evt = LB_DRAIN_IDLE;
	else if (elapsed >= (int64_t)timeout_ms)
		l.evt = LB_DRAIN_TIMEOUT;
	else
		l.what = LEAVE_DRAIN;
	return l;
}

/* A destination the desired service no longer has (have's h). */
static int plan_leaving_dest(struct lb_plan *p, const struct lb_service *want,
			     const struct lb_service *have, const struct lb_dest *h,
			     const struct lb_plan_ctx *ctx, enum lb_op_kind only) {
	if (lb_service_has_failed(want, &h->addr)) /* down: it cannot serve what it has */
		return only == LB_OP_DEL_DEST ? push_drain(p, LB_OP_DEL_DEST, want, h, have, NULL,
							   LB_DRAIN_NONE, NULL) : 0;
	const struct lb_drain *rec = lb_drains_find(ctx->drains, &want->key, &h->addr);
	struct leaving l = decide(rec, lb_dest_live(h, want->key.proto),
				  want->drain_timeout_ms, ctx);
	l.d.svc = want->key;
	l.d.dest = h->addr;
	if (l.what == LEAVE_DELETE)
		return only == LB_OP_DEL_DEST ? push_drain(p, LB_OP_DEL_DEST, want, h, have, NULL, l.evt,
							   &l.d) : 0;
	if (only == LB_OP_DRAIN_DEST && h->weight > 0 &&
	    push_drain(p, LB_OP_DRAIN_DEST, want, h, have, NULL, LB_DRAIN_START, &l.d) < 0)
		return -ENOMEM;
	/* recorded once, in the last pass */
	return only == LB_OP_DEL_DEST ? lb_drains_put(&p->drains, &l.d) : 0;
}

/* A service leaving the config (owned, in the kernel): drained as a whole. */
static int plan_leaving_service(struct lb_plan *p, const struct lb_service *have,
				const struct lb_plan_ctx *ctx) {
	const struct lb_drain *rec = lb_drains_find(ctx->drains, &have->key, NULL);
	bool live = false;
	for (size_t i = 0; i < have->n_dests; i++)
		live |= lb_dest_live(&have->dests[i], have->key.proto);
	/* (a destination a torn dump lists twice is one destination: drained once, counted once) */
	struct leaving l = decide(rec, live, rec ? rec->timeout_ms : ctx->leaving_drain_ms, ctx);
	l.d.svc = have->key;
	if (l.what == LEAVE_DELETE)
		return push_drain(p, LB_OP_DEL_SVC, have, NULL, NULL, NULL, l.evt, &l.d);
	for (size_t i = 0; i < have->n_dests; i++)
		if (have->dests[i].weight > 0 && !lb_service_dup_dest(have, i) &&
		    push_drain(p, LB_OP_DRAIN_DEST, have, &have->dests[i], have, NULL, LB_DRAIN_START,
			       &l.d) < 0)
			return -ENOMEM;
	return lb_drains_put(&p->drains, &l.d);
}

/* Entries of a service whose destinations were not read stay as they are. */
static int carry_drains(struct lb_plan *p, const struct lb_svc_key *k, const struct lb_plan_ctx *ctx) {
	for (size_t i = 0; ctx->drains && i < ctx->drains->n; i++)
		if (lb_svc_key_cmp(&ctx->drains->v[i].svc, k) == 0 &&
		    lb_drains_put(&p->drains, &ctx->drains->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* ---- the merge-joins ---- */

/* A destination both want and have: an edit if they differ; an edit that gives back the weight
 * of a drained one cancels its drain. */
static int plan_kept_dest(struct lb_plan *p, const struct lb_service *want, const struct lb_dest *w,
			  const struct lb_service *have, const struct lb_dest *h,
			  const struct lb_plan_ctx *ctx) {
	if (!dest_differs(w, h))
		return 0;
	const struct lb_drain *rec = lb_drains_find(ctx->drains, &want->key, &h->addr);
	if (!rec) /* the whole service drained, and is back in the config */
		rec = lb_drains_find(ctx->drains, &want->key, NULL);
	return push_drain(p, LB_OP_EDIT_DEST, want, w, have, h, rec ? LB_DRAIN_CANCEL : LB_DRAIN_NONE,
			  rec);
}

/* One pass of the destination merge-join, emitting only ops of kind `only`: four passes give
 * the traffic-friendly order (new backends first, leaving ones last) at O(n) each. */
static int diff_dests(struct lb_plan *p, const struct lb_service *want,
		      const struct lb_service *have, const struct lb_plan_ctx *ctx,
		      enum lb_op_kind only) {
	size_t i = 0, j = 0, nh = have ? have->n_dests : 0;
	while (i < want->n_dests || j < nh) {
		/* a torn dump may list one destination twice: the copy is the same destination, not
		 * one more to delete */
		if (j > 0 && j < nh && lb_addr_cmp(&have->dests[j - 1].addr, &have->dests[j].addr) == 0) {
			j++;
			continue;
		}
		const struct lb_dest *w = i < want->n_dests ? &want->dests[i] : NULL;
		const struct lb_dest *h = j < nh ? &have->dests[j] : NULL;
		int c = !w ? 1 : !h ? -1 : lb_addr_cmp(&w->addr, &h->addr);
		int r = 0;
		if (c < 0 && only == LB_OP_ADD_DEST)
			r = push(p, LB_OP_ADD_DEST, want, w, NULL, NULL) ? 0 : -ENOMEM;
		else if (c == 0 && only == LB_OP_EDIT_DEST)
			r = plan_kept_dest(p, want, w, have, h, ctx);
		else if (c > 0 && (only == LB_OP_DRAIN_DEST || only == LB_OP_DEL_DEST))
			/* svc is the desired service: same key, and it carries the name for messages */
			r = plan_leaving_dest(p, want, have, h, ctx, only);
		if (r < 0)
			return r;
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

int lb_plan_service(struct lb_plan *p, const struct lb_service *want, const struct lb_service *have,
		    const struct lb_plan_ctx *ctx) {
	static const enum lb_op_kind passes[] = {LB_OP_ADD_DEST, LB_OP_EDIT_DEST, LB_OP_DRAIN_DEST,
						 LB_OP_DEL_DEST};
	int r = 0;
	if (!want)
		return have->dests_unknown ? carry_drains(p, &have->key, ctx)
					   : plan_leaving_service(p, have, ctx);
	if (!have)
		r = push(p, LB_OP_ADD_SVC, want, NULL, NULL, NULL) ? 0 : -ENOMEM;
	else if (svc_differs(want, have))
		r = push(p, LB_OP_EDIT_SVC, want, NULL, have, NULL) ? 0 : -ENOMEM;
	if (r == 0 && have && have->dests_unknown)
		return carry_drains(p, &have->key, ctx); /* nothing known to compare with: the caller
							  * reads them first */
	for (size_t k = 0; k < ARRAY_SIZE(passes) && r == 0; k++)
		if (have || passes[k] == LB_OP_ADD_DEST)
			r = diff_dests(p, want, have, ctx, passes[k]);
	return r;
}

/* Merge-join of the service lists. Pass 1 plans every desired service; pass 2 drains or deletes
 * the owned services nobody wants any more, after everything else, so traffic moves before old
 * VIPs go. */
static int plan_services(struct lb_plan *p, const struct lb_table *desired,
			 const struct lb_table *actual, const struct lb_plan_ctx *ctx, int pass) {
	size_t i = 0, j = 0;
	while (i < desired->n || j < actual->n) {
		/* a torn dump may list a service twice (see lb_ipvs_dump): plan against one copy */
		if (j > 0 && j < actual->n &&
		    lb_svc_key_cmp(&actual->svcs[j - 1].key, &actual->svcs[j].key) == 0) {
			j++;
			continue;
		}
		const struct lb_service *w = i < desired->n ? &desired->svcs[i] : NULL;
		const struct lb_service *h = j < actual->n ? &actual->svcs[j] : NULL;
		int c = !w ? 1 : !h ? -1 : lb_svc_key_cmp(&w->key, &h->key);
		int r = 0;
		if (pass == 1 && c <= 0)
			r = lb_plan_service(p, w, c == 0 ? h : NULL, ctx);
		else if (pass == 2 && c > 0 && lb_owned_has(ctx->owned, &h->key) &&
			 !lb_table_find(desired, &h->key)) /* never delete what the config wants */
			r = lb_plan_service(p, NULL, h, ctx);
		if (r < 0)
			return r;
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

int lb_plan_build(const struct lb_table *desired, const struct lb_table *actual,
		  const struct lb_plan_ctx *ctx, struct lb_plan *out) {
	out->n = 0;
	out->drains.n = 0;
	int r = plan_services(out, desired, actual, ctx, 1);
	if (r >= 0)
		r = plan_services(out, desired, actual, ctx, 2);
	if (r < 0)
		lb_plan_free(out);
	return r;
}

bool lb_plan_drains(const struct lb_plan *p) {
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].drain != LB_DRAIN_NONE)
			return true;
	return false;
}

void lb_plan_free(struct lb_plan *p) {
	free(p->ops);
	p->ops = NULL;
	p->n = p->cap = 0;
	lb_drains_free(&p->drains);
}

/* ---- formatting ---- */

const char *lb_op_kind_verb(enum lb_op_kind k) {
	switch (k) {
	case LB_OP_ADD_SVC: return "add service";
	case LB_OP_EDIT_SVC: return "edit service";
	case LB_OP_DEL_SVC: return "delete service";
	case LB_OP_ADD_DEST: return "add destination";
	case LB_OP_EDIT_DEST: return "edit destination";
	case LB_OP_DEL_DEST: return "delete destination";
	case LB_OP_DRAIN_DEST: return "drain destination";
	}
	return "unknown op";
}

/* Names as ipvsadm users know them; the kernel reports fwd as conn_flags & FWD_MASK. */
static void put_fwd(struct lb_line *l, uint32_t fwd) {
	static const char *const names[] = {
		[IP_VS_CONN_F_MASQ] = "nat",     [IP_VS_CONN_F_LOCALNODE] = "local",
		[IP_VS_CONN_F_TUNNEL] = "tun",   [IP_VS_CONN_F_DROUTE] = "dr",
		[IP_VS_CONN_F_BYPASS] = "bypass",
	};
	if (fwd < ARRAY_SIZE(names) && names[fwd])
		lb_line_put(l, "%s", names[fwd]);
	else
		lb_line_put(l, "fwd-%u", fwd);
}

static void put_flags(struct lb_line *l, uint32_t flags) {
	static const struct { uint32_t bit; const char *name; } names[] = {
		{IP_VS_SVC_F_PERSISTENT, "persistent"}, {IP_VS_SVC_F_HASHED, "hashed"},
		{IP_VS_SVC_F_ONEPACKET, "one-packet"},  {IP_VS_SVC_F_SCHED1, "sched1"},
		{IP_VS_SVC_F_SCHED2, "sched2"},         {IP_VS_SVC_F_SCHED3, "sched3"},
	};
	const char *sep = "";
	if (!flags)
		lb_line_put(l, "none");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & names[i].bit) {
			lb_line_put(l, "%s%s", sep, names[i].name);
			flags &= ~names[i].bit;
			sep = "|";
		}
	if (flags)
		lb_line_put(l, "%s0x%x", sep, flags);
}

/* IPv4: a mask in network byte order; IPv6: a prefix length (as the kernel takes them). */
static void put_netmask(struct lb_line *l, uint16_t af, uint32_t netmask) {
	char s[INET_ADDRSTRLEN];
	if (af == AF_INET && inet_ntop(AF_INET, &netmask, s, sizeof(s)))
		lb_line_put(l, "%s", s);
	else
		lb_line_put(l, "/%u", netmask);
}

static void put_svc(struct lb_line *l, const struct lb_service *s) {
	char key[LB_SVC_KEYSTRLEN];
	lb_svc_key_fmt(&s->key, key, sizeof(key));
	if (s->name)
		lb_line_put(l, "%s ", s->name);
	lb_line_put(l, "%s", key);
}

static void put_dest_id(struct lb_line *l, const struct lb_service *s, const struct lb_dest *d) {
	char a[LB_ADDRSTRLEN];
	lb_line_put(l, "dest ");
	put_svc(l, s);
	lb_line_put(l, " -> %s", lb_addr_fmt(&d->addr, a));
}

static void fmt_add_svc(struct lb_line *l, const struct lb_service *s) {
	lb_line_put(l, "+ service ");
	put_svc(l, s);
	lb_line_put(l, " scheduler %.*s", LB_SCHED_MAX, s->sched);
	/* persistence speaks for the PERSISTENT flag; other flags are listed by name */
	if (s->flags & ~(uint32_t)IP_VS_SVC_F_PERSISTENT) {
		lb_line_put(l, " flags ");
		put_flags(l, s->flags & ~(uint32_t)IP_VS_SVC_F_PERSISTENT);
	}
	if ((s->flags & IP_VS_SVC_F_PERSISTENT) || s->timeout) {
		lb_line_put(l, " persistence %us netmask ", s->timeout);
		put_netmask(l, s->key.addr.af, s->netmask);
	}
}

static void fmt_edit_svc(struct lb_line *l, const struct lb_service *s, const struct lb_service *o) {
	const char *sep = ": ";
	lb_line_put(l, "~ service ");
	put_svc(l, s);
	if (strncmp(s->sched, o->sched, LB_SCHED_MAX) != 0) {
		lb_line_put(l, "%sscheduler %.*s -> %.*s", sep, LB_SCHED_MAX, o->sched, LB_SCHED_MAX, s->sched);
		sep = ", ";
	}
	if (s->flags != o->flags) {
		lb_line_put(l, "%sflags ", sep);
		put_flags(l, o->flags);
		lb_line_put(l, " -> ");
		put_flags(l, s->flags);
		sep = ", ";
	}
	if (s->timeout != o->timeout) {
		lb_line_put(l, "%spersistence %us -> %us", sep, o->timeout, s->timeout);
		sep = ", ";
	}
	if (s->netmask != o->netmask) {
		lb_line_put(l, "%snetmask ", sep);
		put_netmask(l, s->key.addr.af, o->netmask);
		lb_line_put(l, " -> ");
		put_netmask(l, s->key.addr.af, s->netmask);
	}
}

/* "gue port 6080 checksum remote", in the config's words; ipip alone is "ipip". */
static void put_tunnel(struct lb_line *l, const struct lb_dest *d) {
	if (lb_tun_type_name(d->tun_type))
		lb_line_put(l, "%s", lb_tun_type_name(d->tun_type));
	else
		lb_line_put(l, "type-%u", d->tun_type);
	if (d->tun_port)
		lb_line_put(l, " port %u", d->tun_port);
	if (d->tun_flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM)
		lb_line_put(l, " checksum remote");
	else if (d->tun_flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM)
		lb_line_put(l, " checksum csum");
}

static bool tunnel_set(const struct lb_dest *d) {
	return d->tun_type || d->tun_port || d->tun_flags;
}

static void fmt_add_dest(struct lb_line *l, const struct lb_service *s, const struct lb_dest *d) {
	lb_line_put(l, "+ ");
	put_dest_id(l, s, d);
	lb_line_put(l, " weight %u ", d->weight);
	put_fwd(l, d->fwd);
	if (d->u_thresh)
		lb_line_put(l, " u-thresh %u", d->u_thresh);
	if (d->l_thresh)
		lb_line_put(l, " l-thresh %u", d->l_thresh);
	if (tunnel_set(d)) {
		lb_line_put(l, " tunnel ");
		put_tunnel(l, d);
	}
}

static void fmt_edit_dest(struct lb_line *l, const struct lb_service *s, const struct lb_dest *d,
			  const struct lb_dest *o) {
	const char *sep = ": ";
	lb_line_put(l, "~ ");
	put_dest_id(l, s, d);
	if (d->weight != o->weight) {
		lb_line_put(l, "%sweight %u -> %u", sep, o->weight, d->weight);
		sep = ", ";
	}
	if (d->fwd != o->fwd) {
		lb_line_put(l, "%sforward ", sep);
		put_fwd(l, o->fwd);
		lb_line_put(l, " -> ");
		put_fwd(l, d->fwd);
		sep = ", ";
	}
	if (d->u_thresh != o->u_thresh) {
		lb_line_put(l, "%su-thresh %u -> %u", sep, o->u_thresh, d->u_thresh);
		sep = ", ";
	}
	if (d->l_thresh != o->l_thresh) {
		lb_line_put(l, "%sl-thresh %u -> %u", sep, o->l_thresh, d->l_thresh);
		sep = ", ";
	}
	if (d->tun_type != o->tun_type || d->tun_port != o->tun_port || d->tun_flags != o->tun_flags) {
		lb_line_put(l, "%stunnel ", sep);
		put_tunnel(l, o);
		lb_line_put(l, " -> ");
		put_tunnel(l, d);
	}
}

/* What a drain is waiting for: live connections as lb_dest_live counts them. */
static void put_live(struct lb_line *l, const struct lb_dest *d, uint16_t proto) {
	bool udp_like = lb_proto_inactive_live(proto);
	uint32_t n = udp_like ? d->active + d->inactive : d->active;
	if (!d->conns_known)
		lb_line_put(l, "connections unknown");
	else
		lb_line_put(l, "%u %s connection%s", n, udp_like ? "live" : "active", n == 1 ? "" : "s");
}

static void put_service_live(struct lb_line *l, const struct lb_service *s) {
	uint32_t n = 0;
	bool known = true;
	for (size_t i = 0; i < s->n_dests; i++) {
		const struct lb_dest *d = &s->dests[i];
		if (lb_service_dup_dest(s, i))
			continue;
		known &= d->conns_known;
		n += d->active + (lb_proto_inactive_live(s->key.proto) ? d->inactive : 0);
	}
	if (known)
		lb_line_put(l, "%u live connection%s", n, n == 1 ? "" : "s");
	else
		lb_line_put(l, "connections unknown");
}

static void fmt_drain_dest(struct lb_line *l, const struct lb_op *op) {
	lb_line_put(l, "~ drain ");
	put_dest_id(l, op->svc, op->dest);
	lb_line_put(l, ": weight %u -> 0, ", op->dest->weight);
	put_live(l, op->dest, op->svc->key.proto);
	lb_line_put(l, ", timeout %gs", op->drain_timeout_ms / 1000.0);
}

/* Why a delete ends a drain: " (drained: ...)". */
static void put_drain_end(struct lb_line *l, const struct lb_op *op) {
	if (op->drain == LB_DRAIN_IDLE)
		lb_line_put(l, " (drained: no live connection)");
	else if (op->drain == LB_DRAIN_TIMEOUT && op->dest) {
		lb_line_put(l, " (drain timed out: ");
		put_live(l, op->dest, op->svc->key.proto);
		lb_line_put(l, ")");
	} else if (op->drain == LB_DRAIN_TIMEOUT) {
		lb_line_put(l, " (drain timed out: ");
		put_service_live(l, op->svc);
		lb_line_put(l, ")");
	}
}

const char *lb_op_fmt(const struct lb_op *op, char *buf, size_t len) {
	struct lb_line l = {buf, len, 0};
	if (!len)
		return buf;
	buf[0] = 0;
	switch (op->kind) {
	case LB_OP_ADD_SVC: fmt_add_svc(&l, op->svc); break;
	case LB_OP_EDIT_SVC: fmt_edit_svc(&l, op->svc, op->old_svc); break;
	case LB_OP_DEL_SVC: lb_line_put(&l, "- service "); put_svc(&l, op->svc); break;
	case LB_OP_ADD_DEST: fmt_add_dest(&l, op->svc, op->dest); break;
	case LB_OP_EDIT_DEST: fmt_edit_dest(&l, op->svc, op->dest, op->old_dest); break;
	case LB_OP_DEL_DEST: lb_line_put(&l, "- "); put_dest_id(&l, op->svc, op->dest); break;
	case LB_OP_DRAIN_DEST: fmt_drain_dest(&l, op); break;
	}
	if (op->drain == LB_DRAIN_CANCEL)
		lb_line_put(&l, " (drain cancelled)");
	put_drain_end(&l, op);
	return buf;
}
