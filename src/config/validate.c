/* Checks across entries: unique service names, unique listen+protocol (address services), unique
 * fwmark+family (fwmark services: the kernel keys them by mark and family alone, whatever their
 * protocol), unique backends and unique sorry servers within a service (a sorry server may share a backend's address: the two lists are
 * never in the table at once). Sorting keeps them O(n log n) for configs with 100k backends. The later entry is the
 * one reported, pointing back at the first. */
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

struct ref {
	size_t idx;
	const void *key; /* name, service or backend address */
};

static int by_name(const void *a, const void *b) {
	const struct ref *x = a, *y = b;
	int r = strcmp(x->key, y->key);
	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_listen(const void *a, const void *b) {
	const struct ref *x = a, *y = b;
	const struct lb_service_conf *s = x->key, *t = y->key;
	if (s->protocol != t->protocol)
		return s->protocol < t->protocol ? -1 : 1;
	int r = lb_addr_cmp(&s->listen, &t->listen);
	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_fwmark(const void *a, const void *b) {
	const struct ref *x = a, *y = b;
	const struct lb_service_conf *s = x->key, *t = y->key;
	if (s->fwmark != t->fwmark)
		return s->fwmark < t->fwmark ? -1 : 1;
	if (s->listen.af != t->listen.af)
		return s->listen.af < t->listen.af ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_addr(const void *a, const void *b) {
	const struct ref *x = a, *y = b;
	int r = lb_addr_cmp(x->key, y->key);
	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Whether refs are already in by_addr order without an equal pair: configs list backends in order
 * more often than not, and then there is nothing to sort or report. */
static bool strictly_ascending(const struct ref *refs, size_t n) {
	for (size_t i = 1; i < n; i++)
		if (lb_addr_cmp(refs[i - 1].key, refs[i].key) >= 0)
			return false;
	return true;
}

/* Sorts refs and calls dup(first, later) for each later entry equal to the first of its run. */
static void find_dups(struct ref *refs, size_t n, int (*cmp)(const void *, const void *),
		      void (*dup)(struct cfg_ctx *, const void *, size_t, size_t), struct cfg_ctx *c,
		      const void *ud) {
	qsort(refs, n, sizeof(*refs), cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		struct ref a = refs[first], b = refs[i];
		a.idx = b.idx = 0; /* compare keys only */
		if (cmp(&a, &b) == 0)
			dup(c, ud, refs[first].idx, refs[i].idx);
		else
			first = i;
	}
}

/* The services of an assembled config, with where each was written. */
struct svc_ud {
	const struct lb_config *cfg;
};

static const struct cfg_svc_pos *pos_of(const struct lb_config *cfg, size_t i) {
	uint32_t f = cfg->svc_file[i];
	return &cfg->files[f]->pos[i - cfg->file_first[f]];
}

/* Messages about service i go to its file, with its index there: "services[3].name". */
static size_t enter_service(struct cfg_ctx *c, const struct lb_config *cfg, size_t i,
			    const char *key) {
	uint32_t f = cfg->svc_file[i];
	c->file = cfg->files[f]->path;
	c->file_no = f;
	return cfg_path_push(c, "services[%zu].%s", i - cfg->file_first[f], key);
}

/* "line 3" in the same file, "conf.d/a.yaml:3" in another. */
static const char *where(const struct lb_config *cfg, size_t first, size_t later, uint32_t line,
			 char *buf, size_t len) {
	uint32_t f = cfg->svc_file[first];
	if (f == cfg->svc_file[later])
		snprintf(buf, len, "line %u", line);
	else
		snprintf(buf, len, "%s:%u", cfg->files[f]->path, line);
	return buf;
}

static void dup_name(struct cfg_ctx *c, const void *ud, size_t first, size_t later) {
	const struct lb_config *cfg = ((const struct svc_ud *)ud)->cfg;
	struct cfg_pos at = pos_of(cfg, later)->name;
	char w[PATH_MAX + 32];
	size_t old = enter_service(c, cfg, later, "name");
	cfg_error_at(c, at.line, at.col, "duplicate service name \"%s\" (first at %s)",
		     cfg->services[later].name,
		     where(cfg, first, later, pos_of(cfg, first)->name.line, w, sizeof(w)));
	cfg_path_pop(c, old);
}

/* "service \"web\"", or "services[3]" for one whose name was refused. */
static const char *who(const struct lb_service_conf *s, size_t i, char *buf, size_t len) {
	if (s->name)
		snprintf(buf, len, "service \"%s\"", s->name);
	else
		snprintf(buf, len, "services[%zu]", i);
	return buf;
}

static void dup_listen(struct cfg_ctx *c, const void *ud, size_t first, size_t later) {
	const struct lb_config *cfg = ((const struct svc_ud *)ud)->cfg;
	const struct lb_service_conf *s = &cfg->services[first];
	char a[LB_ADDRSTRLEN], w[128], at_first[PATH_MAX + 32];
	struct cfg_pos at = pos_of(cfg, later)->listen;
	size_t old = enter_service(c, cfg, later, "listen");
	cfg_error_at(c, at.line, at.col, "%s %s is already used by %s (%s)",
		     lb_proto_name(s->protocol), lb_addr_fmt(&s->listen, a), who(s, first, w, sizeof(w)),
		     where(cfg, first, later, pos_of(cfg, first)->listen.line, at_first,
			   sizeof(at_first)));
	cfg_path_pop(c, old);
}

static void dup_fwmark(struct cfg_ctx *c, const void *ud, size_t first, size_t later) {
	const struct lb_config *cfg = ((const struct svc_ud *)ud)->cfg;
	const struct lb_service_conf *s = &cfg->services[first];
	char w[128], at_first[PATH_MAX + 32];
	struct cfg_pos at = pos_of(cfg, later)->fwmark;
	size_t old = enter_service(c, cfg, later, "fwmark");
	cfg_error_at(c, at.line, at.col, "fwmark %u %s is already used by %s (%s)", s->fwmark,
		     s->listen.af == AF_INET6 ? "ipv6" : "ipv4", who(s, first, w, sizeof(w)),
		     where(cfg, first, later, pos_of(cfg, first)->fwmark.line, at_first,
			   sizeof(at_first)));
	cfg_path_pop(c, old);
}

/* One list of destinations of a service: its backends or its sorry servers. */
struct be_ud {
	size_t svc;
	const char *key, *noun; /* "backends", "backend" */
	const struct lb_backend_conf *list;
	size_t n;
	const struct cfg_pos *pos;
};

static void dup_backend(struct cfg_ctx *c, const void *ud, size_t first, size_t later) {
	const struct be_ud *u = ud;
	char a[LB_ADDRSTRLEN];
	struct cfg_pos at = u->pos[later];
	size_t old = cfg_path_push(c, "services[%zu].%s[%zu].address", u->svc, u->key, later);
	cfg_error_at(c, at.line, at.col, "duplicate %s %s (first at line %u)", u->noun,
		     lb_addr_fmt(&u->list[later].addr, a), u->pos[first].line);
	cfg_path_pop(c, old);
}

static void check_list(struct cfg_ctx *c, const struct be_ud *u, struct ref *refs) {
	size_t n = 0;
	for (size_t i = 0; i < u->n; i++)
		if (u->pos && u->pos[i].line)
			refs[n++] = (struct ref){i, &u->list[i].addr};
	if (!strictly_ascending(refs, n))
		find_dups(refs, n, by_addr, dup_backend, c, u);
}

static void check_backends(struct cfg_ctx *c, size_t svc, const struct lb_service_conf *s,
			   const struct cfg_svc_src *src, struct ref *refs) {
	struct be_ud be = {svc, "backends", "backend", s->backends, s->n_backends, src->be_addr};
	struct be_ud sorry = {svc, "sorry_servers", "sorry server", s->sorry, s->n_sorry,
			      src->sorry_addr};
	check_list(c, &be, refs);
	check_list(c, &sorry, refs);
}

/* Within one file, as it is parsed: only its own services' lists. */
void cfg_validate_backends(struct cfg_ctx *c, const struct lb_service_conf *s, size_t n,
			   const struct cfg_svc_src *src) {
	size_t most = 1;
	for (size_t i = 0; i < n; i++) {
		if (s[i].n_backends > most)
			most = s[i].n_backends;
		if (s[i].n_sorry > most)
			most = s[i].n_sorry;
	}
	_cleanup_free_ struct ref *refs = calloc(most, sizeof(*refs));
	if (!refs) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		check_backends(c, i, &s[i], &src[i], refs);
}

/* IPVS takes the connections to a tcp service's VIP:port before any local socket sees them: a
 * listener there would be unreachable. A fwmark service has no VIP:port (which packets carry its
 * mark is the firewall's business, invisible here): it is skipped. */
static void metrics_clash(struct cfg_ctx *c, const struct lb_config *cfg) {
	char a[LB_ADDRSTRLEN], w[PATH_MAX + 32];
	for (size_t i = 0; cfg->metrics_line && i < cfg->n_services; i++) {
		const struct lb_service_conf *s = &cfg->services[i];
		const struct cfg_svc_pos *p = pos_of(cfg, i);
		if (s->fwmark || s->protocol != IPPROTO_TCP || p->listen.line == 0 ||
		    lb_addr_cmp(&s->listen, &cfg->metrics_listen) != 0)
			continue;
		if (cfg->svc_file[i] == 0)
			snprintf(w, sizeof(w), "line %u", p->listen.line);
		else
			snprintf(w, sizeof(w), "%s:%u", cfg->files[cfg->svc_file[i]]->path, p->listen.line);
		c->file = cfg->files[0]->path;
		c->file_no = 0;
		size_t old = cfg_path_push(c, "global.metrics.listen");
		cfg_error_at(c, cfg->metrics_line, cfg->metrics_col,
			     "%s is the listen address of tcp service \"%s\" (%s): IPVS would forward its "
			     "connections to that service's backends",
			     lb_addr_fmt(&s->listen, a), s->name ? s->name : "", w);
		cfg_path_pop(c, old);
		return;
	}
}

/* Across every file: O(n log n) in the number of services, whatever their backends. */
void cfg_validate_services(struct cfg_ctx *c, const struct lb_config *cfg) {
	_cleanup_free_ struct ref *refs = calloc(cfg->n_services ? cfg->n_services : 1, sizeof(*refs));
	if (!refs) {
		c->oom = true;
		return;
	}
	struct svc_ud ud = {cfg};
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_services; i++)
		if (pos_of(cfg, i)->name.line)
			refs[n++] = (struct ref){i, cfg->services[i].name};
	find_dups(refs, n, by_name, dup_name, c, &ud);
	/* a fwmark service has no listen position: it takes part in the fwmark check only */
	n = 0;
	for (size_t i = 0; i < cfg->n_services; i++)
		if (pos_of(cfg, i)->listen.line)
			refs[n++] = (struct ref){i, &cfg->services[i]};
	find_dups(refs, n, by_listen, dup_listen, c, &ud);
	n = 0;
	for (size_t i = 0; i < cfg->n_services; i++)
		if (pos_of(cfg, i)->fwmark.line)
			refs[n++] = (struct ref){i, &cfg->services[i]};
	find_dups(refs, n, by_fwmark, dup_fwmark, c, &ud);
	metrics_clash(c, cfg);
}

void cfg_svc_src_free(struct cfg_svc_src *src, size_t n) {
	if (!src)
		return;
	for (size_t i = 0; i < n; i++) {
		free(src[i].be_addr);
		free(src[i].sorry_addr);
	}
	free(src);
}
