/* The IPVS table as plain data: growth, sorting, lookup by binary search. */
#include "table.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

/* Address services first (fwmark 0), then fwmark services by mark and family. */
int lb_svc_key_cmp(const struct lb_svc_key *a, const struct lb_svc_key *b) {
	if (a->fwmark != b->fwmark)
		return a->fwmark < b->fwmark ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return lb_addr_cmp(&a->addr, &b->addr);
}

const char *lb_svc_key_fmt(const struct lb_svc_key *k, char *buf, size_t len) {
	char addr[LB_ADDRSTRLEN];
	if (k->fwmark) {
		snprintf(buf, len, "fwmark %u %s", k->fwmark, k->addr.af == AF_INET6 ? "ipv6" : "ipv4");
		return buf;
	}
	lb_addr_fmt(&k->addr, addr);
	const char *name = lb_proto_name(k->proto);
	if (name)
		snprintf(buf, len, "%s %s", name, addr);
	else
		snprintf(buf, len, "proto-%u %s", k->proto, addr);
	return buf;
}

static int proto_parse(const char *s, size_t n, uint16_t *out) {
	if (lb_proto_parse(s, n, out) == 0)
		return 0;
	if (n > 6 && n < 10 && memcmp(s, "proto-", 6) == 0) {
		unsigned v = 0;
		for (size_t i = 6; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
			v = v * 10 + (unsigned)(s[i] - '0');
		}
		if (v > 255)
			return -EINVAL;
		*out = (uint16_t)v;
		return 0;
	}
	return -EINVAL;
}

/* "fwmark N ipv4|ipv6", N 1..4294967295 in plain decimal. */
static int fwmark_parse(const char *s, struct lb_svc_key *out) {
	uint64_t v = 0;
	size_t n = 0;
	for (; s[n] >= '0' && s[n] <= '9' && n < 11; n++)
		v = v * 10 + (uint64_t)(s[n] - '0');
	if (n == 0 || (n > 1 && s[0] == '0') || s[n] != ' ')
		return -EINVAL;
	if (v == 0 || v > UINT32_MAX)
		return -ERANGE;
	struct lb_svc_key k;
	memset(&k, 0, sizeof(k));
	k.fwmark = (uint32_t)v;
	if (strcmp(s + n + 1, "ipv4") == 0)
		k.addr.af = AF_INET;
	else if (strcmp(s + n + 1, "ipv6") == 0)
		k.addr.af = AF_INET6;
	else
		return -EINVAL;
	*out = k;
	return 0;
}

int lb_svc_key_parse(const char *s, struct lb_svc_key *out) {
	const char *sp = strchr(s, ' ');
	struct lb_svc_key k;
	if (strncmp(s, "fwmark ", 7) == 0)
		return fwmark_parse(s + 7, out);
	memset(&k, 0, sizeof(k));
	if (!sp || proto_parse(s, (size_t)(sp - s), &k.proto) < 0)
		return -EINVAL;
	int r = lb_addr_parse(sp + 1, &k.addr);
	if (r < 0)
		return r;
	*out = k;
	return 0;
}

struct lb_service *lb_table_add_service(struct lb_table *t) {
	if (GROW(t->svcs, t->cap, t->n + 1) < 0)
		return NULL;
	struct lb_service *s = &t->svcs[t->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

struct lb_dest *lb_service_add_dest(struct lb_service *s) {
	if (GROW(s->dests, s->cap_dests, s->n_dests + 1) < 0)
		return NULL;
	struct lb_dest *d = &s->dests[s->n_dests++];
	memset(d, 0, sizeof(*d));
	return d;
}

static int svc_cmp(const void *a, const void *b) {
	return lb_svc_key_cmp(&((const struct lb_service *)a)->key,
			      &((const struct lb_service *)b)->key);
}

static int dest_cmp(const void *a, const void *b) {
	return lb_addr_cmp(&((const struct lb_dest *)a)->addr, &((const struct lb_dest *)b)->addr);
}

typedef int (*cmp_fn)(const void *, const void *);

static bool is_sorted(const void *base, size_t n, size_t sz, cmp_fn cmp) {
	for (size_t i = 1; i < n; i++)
		if (cmp((const char *)base + (i - 1) * sz, (const char *)base + i * sz) > 0)
			return false;
	return true;
}

/* The kernel lists a service's destinations in the order they were added, which for ezlb is
 * sorted order: checking first makes the common case linear. */
static void sort(void *base, size_t n, size_t sz, cmp_fn cmp) {
	if (!is_sorted(base, n, sz, cmp))
		qsort(base, n, sz, cmp);
}

static int addr_cmp(const void *a, const void *b) { return lb_addr_cmp(a, b); }

void lb_service_sort(struct lb_service *s) {
	sort(s->dests, s->n_dests, sizeof(struct lb_dest), dest_cmp);
	sort(s->failed, s->n_failed, sizeof(*s->failed), addr_cmp);
}

void lb_table_sort(struct lb_table *t) {
	sort(t->svcs, t->n, sizeof(*t->svcs), svc_cmp);
	for (size_t i = 0; i < t->n; i++)
		lb_service_sort(&t->svcs[i]);
}

/* bsearch compares the key against elements; a key-only service/dest keeps one comparator. */
struct lb_service *lb_table_find(const struct lb_table *t, const struct lb_svc_key *k) {
	struct lb_service probe = {.key = *k};
	if (!t->n)
		return NULL;
	return bsearch(&probe, t->svcs, t->n, sizeof(*t->svcs), svc_cmp);
}

struct lb_dest *lb_service_find_dest(const struct lb_service *s, const struct lb_addr *a) {
	struct lb_dest probe = {.addr = *a};
	if (!s->n_dests)
		return NULL;
	return bsearch(&probe, s->dests, s->n_dests, sizeof(*s->dests), dest_cmp);
}

bool lb_service_dup_dest(const struct lb_service *s, size_t i) {
	return i > 0 && i < s->n_dests && lb_addr_cmp(&s->dests[i - 1].addr, &s->dests[i].addr) == 0;
}

bool lb_service_has_failed(const struct lb_service *s, const struct lb_addr *a) {
	return s->n_failed && bsearch(a, s->failed, s->n_failed, sizeof(*s->failed), addr_cmp);
}

int lb_service_add_failed(struct lb_service *s, const struct lb_addr *a) {
	struct lb_addr *f = realloc(s->failed, (s->n_failed + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	s->failed = f;
	s->failed[s->n_failed++] = *a;
	return 0;
}

/* a fwmark service (proto 0) may carry UDP: its entries count as live like UDP's */
bool lb_proto_inactive_live(uint16_t proto) {
	return proto == IPPROTO_UDP || proto == 0;
}

bool lb_dest_live(const struct lb_dest *d, uint16_t proto) {
	if (!d->conns_known)
		return true;
	return d->active > 0 || (lb_proto_inactive_live(proto) && d->inactive > 0);
}

size_t lb_table_count_dests(const struct lb_table *t) {
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += t->svcs[i].n_dests;
	return n;
}

int lb_service_copy_dests(struct lb_service *to, const struct lb_service *from) {
	struct lb_dest *d = NULL;
	if (from->n_dests && !(d = malloc(from->n_dests * sizeof(*d))))
		return -ENOMEM;
	if (from->n_dests)
		memcpy(d, from->dests, from->n_dests * sizeof(*d));
	free(to->dests);
	to->dests = d;
	to->n_dests = to->cap_dests = from->n_dests;
	return 0;
}

void lb_table_clear(struct lb_table *t) {
	for (size_t i = 0; i < t->n; i++) {
		free(t->svcs[i].dests);
		free(t->svcs[i].failed);
	}
	free(t->svcs);
	t->svcs = NULL;
	t->n = t->cap = 0;
	t->torn = t->may_skip = false;
}

int lb_table_copy(struct lb_table *to, const struct lb_table *from) {
	*to = (struct lb_table){.torn = from->torn, .may_skip = from->may_skip};
	if (from->n && !(to->svcs = malloc(from->n * sizeof(*to->svcs))))
		return -ENOMEM;
	to->cap = from->n;
	for (size_t i = 0; i < from->n; i++) {
		struct lb_service *s = &to->svcs[to->n++];
		*s = from->svcs[i];
		s->dests = NULL;
		s->n_dests = s->cap_dests = 0;
		s->failed = NULL;
		s->n_failed = 0;
		if (lb_service_copy_dests(s, &from->svcs[i]) < 0) {
			lb_table_clear(to);
			return -ENOMEM;
		}
	}
	return 0;
}
