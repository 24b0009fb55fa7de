/* The pure part of VIP announcement: the wanted set, the plan (want, have, owned) -> ops, and
 * the record's line format. No I/O besides writing a record line to the caller's stream, so
 * every rule is checkable from a unit test. */
#include "announce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The port is not compared: a VIP is a host address, whatever port a service listens on. */
int lb_vip_cmp(const struct lb_vip *a, const struct lb_vip *b) {
	int r = strncmp(a->ifname, b->ifname, sizeof(a->ifname));
	if (r)
		return r < 0 ? -1 : 1;
	if (a->addr.af != b->addr.af)
		return a->addr.af < b->addr.af ? -1 : 1;
	r = memcmp(a->addr.ip.bytes, b->addr.ip.bytes, sizeof(a->addr.ip.bytes));
	return r < 0 ? -1 : r > 0;
}

/* Binary search: true when v is in s; *at is its index, or where it would go. */
static bool find(const struct lb_vipset *s, const struct lb_vip *v, size_t *at) {
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = lb_vip_cmp(&s->v[mid], v);
		if (r == 0) {
			*at = mid;
			return true;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return false;
}

int lb_vipset_add(struct lb_vipset *s, const struct lb_vip *v) {
	size_t at;
	if (find(s, v, &at))
		return 0;
	if (GROW(s->v, s->cap, s->n + 1) < 0)
		return -ENOMEM;
	memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
	s->v[at] = *v;
	s->v[at].addr.port = 0; /* so that equal sets are equal byte for byte too */
	s->n++;
	return 0;
}

bool lb_vipset_has(const struct lb_vipset *s, const struct lb_vip *v) {
	size_t at;
	return find(s, v, &at);
}

void lb_vipset_remove(struct lb_vipset *s, const struct lb_vip *v) {
	size_t at;
	if (!find(s, v, &at))
		return;
	s->n--;
	memmove(&s->v[at], &s->v[at + 1], (s->n - at) * sizeof(*s->v));
}

void lb_vipset_clear(struct lb_vipset *s) {
	s->n = 0;
}

void lb_vipset_free(struct lb_vipset *s) {
	free(s->v);
	*s = (struct lb_vipset){0};
}

bool lb_vipset_equal(const struct lb_vipset *a, const struct lb_vipset *b) {
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (lb_vip_cmp(&a->v[i], &b->v[i]))
			return false;
	return true;
}

bool lb_announce_serving(const struct lb_service *s) {
	/* a quorum, when configured, decides alone: a lost one takes the service down even with
	 * backends up, so its route must go too */
	if (s->quorum == LB_QUORUM_LOST)
		return false;
	return s->quorum == LB_QUORUM_OK || s->n_up >= 1;
}

/* Only a listen service has a VIP to put on an interface: a fwmark service has no address. */
static bool announces(const struct lb_service_conf *sc) {
	return sc->announce_if[0] && sc->fwmark == 0;
}

static struct lb_vip vip_of(const struct lb_service_conf *sc) {
	struct lb_vip v = {.addr = sc->listen};
	size_t n = strnlen(sc->announce_if, sizeof(sc->announce_if));
	if (n >= sizeof(v.ifname))
		n = sizeof(v.ifname) - 1;
	memcpy(v.ifname, sc->announce_if, n);
	v.addr.port = 0;
	return v;
}

int lb_announce_want(const struct lb_config *cfg, lb_serving_fn serving, void *ud,
		     struct lb_vipset *out) {
	lb_vipset_clear(out);
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service_conf *sc = &cfg->services[i];
		if (!announces(sc) || (serving && !serving(ud, sc)))
			continue;
		/* a set: services sharing the VIP add it once, so it stays while any serves */
		struct lb_vip v = vip_of(sc);
		if (lb_vipset_add(out, &v) < 0) {
			lb_vipset_clear(out);
			return -ENOMEM;
		}
	}
	return 0;
}

static int ifname_cmp(const void *a, const void *b) {
	return strncmp(a, b, LB_IFNAMSIZ);
}

/* Appends the ifnames of s to names (room for all of them), from *n on. */
static void put_ifnames(const struct lb_vipset *s, char (*names)[LB_IFNAMSIZ], size_t *n) {
	for (size_t i = 0; i < s->n; i++)
		memcpy(names[(*n)++], s->v[i].ifname, LB_IFNAMSIZ);
}

int lb_announce_ifaces(const struct lb_vipset *want, const struct lb_vipset *owned,
		       char (**out)[LB_IFNAMSIZ]) {
	size_t total = want->n + owned->n, n = 0, u = 0;
	*out = NULL;
	if (!total)
		return 0;
	_cleanup_free_ char(*names)[LB_IFNAMSIZ] = calloc(total, sizeof(*names));
	if (!names)
		return -ENOMEM;
	put_ifnames(want, names, &n);
	put_ifnames(owned, names, &n);
	qsort(names, n, sizeof(*names), ifname_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || ifname_cmp(names[u - 1], names[i]))
			memmove(names[u++], names[i], LB_IFNAMSIZ);
	*out = TAKE_PTR(names);
	return (int)u;
}

static void push(struct lb_aplan *p, enum lb_aop_kind kind, const struct lb_vip *v) {
	p->ops[p->n++] = (struct lb_aop){.kind = kind, .vip = *v};
}

/* Deletions: what ezlb put there and no longer wants. One it finds gone was removed by someone
 * else: nothing to do, and it simply leaves the record (it is not carried into owned). */
static void plan_withdraw(const struct lb_vipset *want, const struct lb_vipset *have,
			  const struct lb_vipset *owned, struct lb_aplan *p) {
	for (size_t i = 0; i < owned->n; i++) {
		const struct lb_vip *v = &owned->v[i];
		if (!lb_vipset_has(want, v) && lb_vipset_has(have, v))
			push(p, LB_AOP_DEL, v);
	}
}

/* Additions, and the record: a wanted address already present stays ezlb's only if it was;
 * one someone else put there is never taken over, so that ezlb never withdraws it either. */
static int plan_announce(const struct lb_vipset *want, const struct lb_vipset *have,
			 const struct lb_vipset *owned, struct lb_aplan *p) {
	for (size_t i = 0; i < want->n; i++) {
		const struct lb_vip *v = &want->v[i];
		bool present = lb_vipset_has(have, v), mine = lb_vipset_has(owned, v);
		if (!present)
			push(p, LB_AOP_ADD, v);
		int r = present && !mine ? lb_vipset_add(&p->foreign, v) : lb_vipset_add(&p->owned, v);
		if (r < 0)
			return r;
	}
	return 0;
}

int lb_announce_plan(const struct lb_vipset *want, const struct lb_vipset *have,
		     const struct lb_vipset *owned, struct lb_aplan *out) {
	/* each address of want and of owned gives at most one op */
	size_t max = want->n + owned->n;
	*out = (struct lb_aplan){0};
	if (max && !(out->ops = calloc(max, sizeof(*out->ops))))
		return -ENOMEM;
	plan_withdraw(want, have, owned, out);
	if (plan_announce(want, have, owned, out) < 0) {
		lb_aplan_free(out);
		return -ENOMEM;
	}
	return 0;
}

void lb_aplan_free(struct lb_aplan *p) {
	free(p->ops);
	lb_vipset_free(&p->owned);
	lb_vipset_free(&p->foreign);
	*p = (struct lb_aplan){0};
}

const char *lb_aop_fmt(const struct lb_aop *op, char *buf, size_t len) {
	struct lb_line l = {buf, len, 0};
	char ip[LB_ADDRSTRLEN];
	const struct lb_vip *v = &op->vip;
	if (!len)
		return buf;
	buf[0] = 0;
	lb_line_put(&l, "%c announce %s/%d on %.*s", op->kind == LB_AOP_ADD ? '+' : '-',
		    lb_ip_fmt(v->addr.af, &v->addr.ip, ip), v->addr.af == AF_INET6 ? 128 : 32,
		    (int)sizeof(v->ifname), v->ifname);
	return buf;
}

/* A record naming what the kernel could never call an interface was not written by ezlb. */
static const char *ifname_invalid(const char *s, size_t n) {
	char name[LB_IFNAMSIZ];
	if (n >= sizeof(name))
		return "interface name longer than 15 bytes";
	memcpy(name, s, n);
	name[n] = 0;
	return lb_ifname_ok(name) ? NULL : "not an interface name (empty, \".\", \"..\", or with "
					   "'/', ':' or whitespace)";
}

/* The address field: up to the end of the line; anything after a blank is a field too many. */
static const char *parse_addr(const char *s, struct lb_addr *a) {
	char buf[LB_ADDRSTRLEN];
	size_t n = strcspn(s, " \t");
	if (n == 0)
		return "missing address";
	if (s[n])
		return "extra fields after the address";
	if (n >= sizeof(buf))
		return "bad address";
	memcpy(buf, s, n + 1);
	if (lb_ip_parse(buf, &a->af, &a->ip) < 0)
		return "bad address";
	return NULL;
}

int lb_vip_parse_line(const char *line, struct lb_vip *v, const char **why) {
	struct lb_vip tmp = {0};
	const char *sp = strchr(line, ' ');
	if (!sp) {
		*why = "missing fields: want \"IFNAME ADDRESS\"";
		return -EBADMSG;
	}
	size_t n = (size_t)(sp - line);
	*why = ifname_invalid(line, n);
	if (!*why)
		*why = parse_addr(sp + 1, &tmp.addr);
	if (*why)
		return -EBADMSG;
	memcpy(tmp.ifname, line, n);
	*v = tmp;
	return 0;
}

void lb_vip_put_line(FILE *f, const struct lb_vip *v) {
	char ip[LB_ADDRSTRLEN];
	fprintf(f, "%.*s %s\n", (int)sizeof(v->ifname), v->ifname,
		lb_ip_fmt(v->addr.af, &v->addr.ip, ip));
}
