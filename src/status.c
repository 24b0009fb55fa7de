/* `ezlb status` rendering (see status.h): one walk over the configured services and their
 * destinations feeds both the JSON and the text form, so the two never disagree. */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "desired.h"
#include "json.h"
#include "util.h"

/* ---- what both forms show ---- */

struct ctx {
	const struct lb_observe *o;
	const struct lb_table *kernel; /* NULL: unknown */
	int64_t now_ms;
};

/* One configured service with what the kernel and health say about it. */
struct svc {
	const struct lb_service_conf *sc;
	struct lb_svc_key key;
	const struct lb_service *ks;   /* in the kernel, or NULL */
	bool dests_known;              /* the kernel's destinations of the service were read */
	size_t up;                     /* backends whose health is up */
	uint64_t active, inactive;     /* summed over ks's destinations */
	struct lb_addr *conf;          /* backends and sorry servers, sorted: who is in the config */
	size_t n_conf;
};

/* One destination line, whatever its role. */
struct row {
	const struct lb_addr *addr;
	const char *role;              /* "backend", "sorry", "draining", "unknown" */
	bool has_weight;
	uint32_t weight;               /* configured */
	const struct lb_dest *kd;      /* in the kernel, or NULL */
	const struct lb_drain *drain;  /* in the drain record, or NULL */
	bool has_health;
	struct lb_health_detail h;
};

static void health_of(const struct ctx *c, const struct lb_service_conf *sc,
		      const struct lb_backend_conf *be, struct lb_health_detail *h) {
	memset(h, 0, sizeof(*h));
	if (c->o->health_detail)
		c->o->health_detail(c->o->health_ud, sc, be, h);
}

static int addr_cmp(const void *a, const void *b) { return lb_addr_cmp(a, b); }

static bool in_conf(const struct svc *s, const struct lb_addr *a) {
	return s->n_conf && bsearch(a, s->conf, s->n_conf, sizeof(*s->conf), addr_cmp);
}

/* Fills s for sc. 0 or -ENOMEM; svc_done frees. */
static int svc_get(const struct ctx *c, const struct lb_service_conf *sc, struct svc *s) {
	memset(s, 0, sizeof(*s));
	s->sc = sc;
	s->key = lb_desired_key(sc);
	s->ks = c->kernel ? lb_table_find(c->kernel, &s->key) : NULL;
	/* a service configured after the read was asked for may come without its destinations */
	s->dests_known = c->kernel && !(s->ks && s->ks->dests_unknown);
	for (size_t i = 0; i < sc->n_backends; i++) {
		struct lb_health_detail h;
		health_of(c, sc, &sc->backends[i], &h);
		s->up += h.state == LB_HEALTH_UP;
	}
	for (size_t i = 0; s->dests_known && s->ks && i < s->ks->n_dests; i++) {
		if (lb_service_dup_dest(s->ks, i))
			continue;
		s->active += s->ks->dests[i].active;
		s->inactive += s->ks->dests[i].inactive;
	}
	size_t n = sc->n_backends + sc->n_sorry;
	if (n && !(s->conf = malloc(n * sizeof(*s->conf))))
		return -ENOMEM;
	for (size_t i = 0; i < sc->n_backends; i++)
		s->conf[s->n_conf++] = sc->backends[i].addr;
	for (size_t i = 0; i < sc->n_sorry; i++)
		s->conf[s->n_conf++] = sc->sorry[i].addr;
	qsort(s->conf, s->n_conf, sizeof(*s->conf), addr_cmp);
	return 0;
}

static void svc_done(struct svc *s) { free(s->conf); }

typedef void (*row_fn)(const struct ctx *c, const struct svc *s, const struct row *r, void *ud);

static void row_init(const struct ctx *c, const struct svc *s, const struct lb_addr *a,
		     const char *role, struct row *r) {
	memset(r, 0, sizeof(*r));
	r->addr = a;
	r->role = role;
	r->kd = s->dests_known && s->ks ? lb_service_find_dest(s->ks, a) : NULL;
	r->drain = lb_drains_find(c->o->drains, &s->key, a);
}

static bool is_backend(const struct lb_service_conf *sc, const struct lb_addr *a) {
	for (size_t i = 0; i < sc->n_backends; i++)
		if (lb_addr_cmp(&sc->backends[i].addr, a) == 0)
			return true;
	return false;
}

/* Calls fn for every destination line of s, in the order the schema gives. */
static void for_each_row(const struct ctx *c, const struct svc *s, row_fn fn, void *ud) {
	const struct lb_service_conf *sc = s->sc;
	struct row r;
	for (size_t i = 0; i < sc->n_backends; i++) {
		row_init(c, s, &sc->backends[i].addr, "backend", &r);
		r.has_weight = true;
		r.weight = sc->backends[i].weight;
		r.has_health = true;
		health_of(c, sc, &sc->backends[i], &r.h);
		fn(c, s, &r, ud);
	}
	/* A sorry server that is also a backend is one destination: shown once, as the backend. */
	for (size_t i = 0; i < sc->n_sorry; i++) {
		if (is_backend(sc, &sc->sorry[i].addr))
			continue;
		row_init(c, s, &sc->sorry[i].addr, "sorry", &r);
		r.has_weight = true;
		r.weight = sc->sorry[i].weight;
		fn(c, s, &r, ud);
	}
	for (size_t i = 0; s->dests_known && s->ks && i < s->ks->n_dests; i++) {
		const struct lb_dest *d = &s->ks->dests[i];
		if (lb_service_dup_dest(s->ks, i) || in_conf(s, &d->addr))
			continue;
		row_init(c, s, &d->addr, "unknown", &r);
		if (r.drain)
			r.role = "draining";
		fn(c, s, &r, ud);
	}
}

static bool shown(const struct lb_service_conf *sc, char *const *only, size_t n_only) {
	if (n_only == 0)
		return true;
	for (size_t i = 0; i < n_only; i++)
		if (strcmp(only[i], sc->name) == 0)
			return true;
	return false;
}

const char *lb_status_unknown(const struct lb_observe *o, char *const *only, size_t n_only) {
	for (size_t i = 0; i < n_only; i++) {
		bool found = false;
		for (size_t k = 0; o->cfg && k < o->cfg->n_services && !found; k++)
			found = strcmp(only[i], o->cfg->services[k].name) == 0;
		if (!found)
			return only[i];
	}
	return NULL;
}

/* ---- formatting helpers ---- */

const char *lb_status_fmt_time(int64_t ms, bool with_ms, char buf[LB_STATUS_TIMELEN]) {
	int64_t secs = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	size_t n;
	if (!gmtime_r(&t, &tm) || (n = strftime(buf, LB_STATUS_TIMELEN, "%Y-%m-%dT%H:%M:%S", &tm)) == 0 ||
	    n + 6 > LB_STATUS_TIMELEN) {
		snprintf(buf, LB_STATUS_TIMELEN, "invalid");
		return buf;
	}
	if (with_ms)
		snprintf(buf + n, LB_STATUS_TIMELEN - n, ".%03dZ", (int)frac);
	else
		snprintf(buf + n, LB_STATUS_TIMELEN - n, "Z");
	return buf;
}

const char *lb_status_fmt_dur(int64_t ms, char buf[LB_STATUS_DURLEN]) {
	if (ms < 0)
		ms = 0;
	int64_t s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, LB_STATUS_DURLEN, "%" PRId64 "ms", ms);
	else if (s < 60)
		snprintf(buf, LB_STATUS_DURLEN, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, LB_STATUS_DURLEN, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, LB_STATUS_DURLEN, "%" PRId64 "h%" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, LB_STATUS_DURLEN, "%" PRId64 "d%" PRId64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

static const char *kind_name(enum lb_reconcile_kind k) {
	return k == LB_RECONCILE_TARGETED ? "targeted" : "full";
}

static const char *quorum_state(const struct lb_observe *o, const struct svc *s) {
	if (!s->sc->quorum.enabled)
		return "none";
	return o->no_quorum && lb_owned_has(o->no_quorum, &s->key) ? "lost" : "ok";
}

static size_t drains_running(const struct lb_observe *o) { return o->drains ? o->drains->n : 0; }

/* ---- JSON ---- */

static void kv_str(struct lb_jw *w, const char *k, const char *v) {
	lb_jw_key(w, k);
	lb_jw_string(w, v);
}

static void kv_uint(struct lb_jw *w, const char *k, uint64_t v) {
	lb_jw_key(w, k);
	lb_jw_uint(w, v);
}

static void kv_bool(struct lb_jw *w, const char *k, bool v) {
	lb_jw_key(w, k);
	lb_jw_bool(w, v);
}

/* A time, null when unknown (0). */
static void kv_time(struct lb_jw *w, const char *k, int64_t ms) {
	char buf[LB_STATUS_TIMELEN];
	lb_jw_key(w, k);
	if (ms > 0)
		lb_jw_string(w, lb_status_fmt_time(ms, true, buf));
	else
		lb_jw_null(w);
}

/* A counter that the dump may not have carried. */
static void kv_known(struct lb_jw *w, const char *k, bool known, uint64_t v) {
	lb_jw_key(w, k);
	if (known)
		lb_jw_uint(w, v);
	else
		lb_jw_null(w);
}

/* KSTATS of the schema, inside an open object. */
static void json_kstats(struct lb_jw *w, bool known, const struct lb_kstats *st) {
	kv_known(w, "connections", known, st->conns);
	kv_known(w, "packets_in", known, st->inpkts);
	kv_known(w, "packets_out", known, st->outpkts);
	kv_known(w, "bytes_in", known, st->inbytes);
	kv_known(w, "bytes_out", known, st->outbytes);
	lb_jw_key(w, "rate");
	if (!known) {
		lb_jw_null(w);
		return;
	}
	lb_jw_object(w);
	kv_uint(w, "cps", st->cps);
	kv_uint(w, "pps_in", st->inpps);
	kv_uint(w, "pps_out", st->outpps);
	kv_uint(w, "bps_in", st->inbps);
	kv_uint(w, "bps_out", st->outbps);
	lb_jw_object_end(w);
}

static void json_health(struct lb_jw *w, const struct row *r) {
	lb_jw_key(w, "health");
	if (!r->has_health) {
		lb_jw_null(w);
		return;
	}
	lb_jw_object(w);
	kv_bool(w, "checked", r->h.checked);
	kv_str(w, "raw", lb_health_name(r->h.raw));
	kv_str(w, "state", lb_health_name(r->h.state));
	kv_time(w, "since", r->h.since_ms);
	kv_uint(w, "transitions", r->h.transitions);
	/* the reason comes from the network (an HTTP body, a program's stderr): bound and escape */
	lb_jw_key(w, "last_failure");
	if (r->h.reason[0])
		lb_jw_string_n(w, r->h.reason, strnlen(r->h.reason, sizeof(r->h.reason)));
	else
		lb_jw_null(w);
	kv_time(w, "last_probe", r->h.last_probe_ms);
	lb_jw_object_end(w);
}

static void json_drain(struct lb_jw *w, const struct ctx *c, const struct lb_drain *d) {
	lb_jw_key(w, "drain");
	if (!d) {
		lb_jw_null(w);
		return;
	}
	lb_jw_object(w);
	kv_time(w, "since", d->since_ms);
	kv_uint(w, "timeout_ms", d->timeout_ms);
	lb_jw_key(w, "elapsed_ms");
	lb_jw_int(w, c->now_ms > d->since_ms ? c->now_ms - d->since_ms : 0);
	lb_jw_object_end(w);
}

static void json_row(const struct ctx *c, const struct svc *s, const struct row *r, void *ud) {
	struct lb_jw *w = ud;
	char a[LB_ADDRSTRLEN];
	lb_jw_object(w);
	kv_str(w, "address", lb_addr_fmt(r->addr, a));
	kv_str(w, "role", r->role);
	kv_known(w, "weight", r->has_weight, r->weight);
	kv_known(w, "kernel_weight", r->kd, r->kd ? r->kd->weight : 0);
	lb_jw_key(w, "in_kernel");
	if (s->dests_known)
		lb_jw_bool(w, r->kd);
	else
		lb_jw_null(w);
	kv_bool(w, "draining", r->drain);
	json_drain(w, c, r->drain);
	json_health(w, r);
	lb_jw_key(w, "kernel");
	if (r->kd) {
		lb_jw_object(w);
		kv_known(w, "active", r->kd->conns_known, r->kd->active);
		kv_known(w, "inactive", r->kd->conns_known, r->kd->inactive);
		kv_known(w, "persist", r->kd->conns_known, r->kd->persist);
		json_kstats(w, r->kd->stats_known, &r->kd->stats);
		lb_jw_object_end(w);
	} else
		lb_jw_null(w);
	lb_jw_object_end(w);
}

static void json_quorum(struct lb_jw *w, const struct ctx *c, const struct svc *s) {
	lb_jw_key(w, "quorum");
	lb_jw_object(w);
	kv_str(w, "state", quorum_state(c->o, s));
	kv_known(w, "min_up", s->sc->quorum.enabled, lb_quorum_min_up(s->sc));
	kv_uint(w, "up", s->up);
	lb_jw_object_end(w);
}

static void json_svc(const struct ctx *c, const struct svc *s, void *ud) {
	struct lb_jw *w = ud;
	const struct lb_service_conf *sc = s->sc;
	char a[LB_ADDRSTRLEN];
	lb_jw_object(w);
	kv_str(w, "name", sc->name);
	kv_str(w, "protocol", lb_proto_name(sc->protocol));
	if (sc->fwmark) { /* no VIP of its own: the mark and family are its identity */
		lb_jw_key(w, "vip");
		lb_jw_null(w);
		kv_uint(w, "fwmark", sc->fwmark);
		kv_str(w, "family", sc->listen.af == AF_INET6 ? "ipv6" : "ipv4");
	} else {
		kv_str(w, "vip", lb_addr_fmt(&sc->listen, a));
	}
	kv_str(w, "scheduler", sc->scheduler);
	kv_str(w, "forward", lb_fwd_name(sc->forward));
	kv_known(w, "persistence_timeout_s", sc->persist_timeout_s, sc->persist_timeout_s);
	kv_uint(w, "backends_up", s->up);
	kv_uint(w, "backends_total", sc->n_backends);
	json_quorum(w, c, s);
	lb_jw_key(w, "in_kernel");
	if (c->kernel)
		lb_jw_bool(w, s->ks);
	else
		lb_jw_null(w);
	lb_jw_key(w, "kernel");
	if (s->ks) {
		lb_jw_object(w);
		kv_known(w, "active", s->dests_known, s->active);
		kv_known(w, "inactive", s->dests_known, s->inactive);
		json_kstats(w, s->ks->stats_known, &s->ks->stats);
		lb_jw_object_end(w);
	} else
		lb_jw_null(w);
	lb_jw_key(w, "backends");
	lb_jw_array(w);
	for_each_row(c, s, json_row, w);
	lb_jw_array_end(w);
	lb_jw_object_end(w);
}

static void json_header(struct lb_jw *w, const struct ctx *c) {
	const struct lb_observe *o = c->o;
	kv_str(w, "version", EZLB_VERSION);
	kv_time(w, "time", c->now_ms);
	kv_time(w, "started_at", o->start_ms);
	lb_jw_key(w, "config");
	lb_jw_object(w);
	kv_str(w, "path", o->config_path);
	kv_time(w, "loaded_at", o->config_loaded_ms);
	kv_str(w, "error", o->config_error);
	lb_jw_object_end(w);
	lb_jw_key(w, "last_reconcile");
	if (o->last_reconcile_ms > 0) {
		lb_jw_object(w);
		kv_time(w, "time", o->last_reconcile_ms);
		kv_str(w, "kind", kind_name(o->last_kind));
		kv_uint(w, "changes", o->last_changes);
		kv_uint(w, "failed", o->last_failed);
		kv_str(w, "error", o->last_err ? strerror(-o->last_err) : NULL);
		lb_jw_object_end(w);
	} else
		lb_jw_null(w);
	kv_uint(w, "drains_running", drains_running(o));
	kv_str(w, "kernel_error", c->kernel ? NULL : "the kernel's IPVS table could not be read");
}

/* ---- text ---- */

/* Text from outside (a probe's failure reason, a path, a config error quoting the file) reaches a
 * terminal: C0 and C1 control characters as \xNN and \uNNNN (an escape sequence could rewrite
 * the screen), a backslash as \\ (so that those stay unambiguous), invalid UTF-8 as U+FFFD,
 * the rest as is. */
static void put_text(FILE *f, const char *s) {
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t len = lb_utf8_len(p + i, n - i);
		if (len == 1 && (p[i] < 0x20 || p[i] == 0x7f))
			fprintf(f, "\\x%02x", p[i]);
		else if (len == 1 && p[i] == '\\')
			fputs("\\\\", f);
		else if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			fprintf(f, "\\u%04x", p[i + 1]);
		else if (len == 0)
			fputs("\xef\xbf\xbd", f);
		else
			fwrite(p + i, 1, len, f);
		i += len ? len : 1;
	}
}

/* Multi-line text (a config error lists every problem), each line indented. */
static void put_lines(FILE *f, const char *s) {
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char *line = strndup(s, len);
		fputs("  ", f);
		put_text(f, line ? line : "?");
		fputc('\n', f);
		free(line);
		s += len + (nl != NULL);
	}
}

/* "2026-12-02T08:00:00Z (10m0s ago)" */
static void put_when(FILE *f, const struct ctx *c, int64_t ms) {
	char t[LB_STATUS_TIMELEN], d[LB_STATUS_DURLEN];
	fprintf(f, "%s (%s ago)", lb_status_fmt_time(ms, false, t), lb_status_fmt_dur(c->now_ms - ms, d));
}

static void text_summary(FILE *f, const struct ctx *c) {
	const struct lb_observe *o = c->o;
	fprintf(f, "ezlb %s, started ", EZLB_VERSION);
	put_when(f, c, o->start_ms);
	fputs("\nconfig ", f);
	put_text(f, o->config_path ? o->config_path : "-");
	fputs(", loaded ", f);
	put_when(f, c, o->config_loaded_ms);
	fputc('\n', f);
	if (o->config_error) {
		fputs("config error: the file on disk is not in force:\n", f);
		put_lines(f, o->config_error);
	}
	if (o->last_reconcile_ms > 0) {
		fputs("last reconcile ", f);
		put_when(f, c, o->last_reconcile_ms);
		fprintf(f, ": %s, %zu changes, %zu failed", kind_name(o->last_kind), o->last_changes,
			o->last_failed);
		if (o->last_err)
			fprintf(f, ", error: %s", strerror(-o->last_err));
		fputc('\n', f);
	} else
		fputs("last reconcile: none yet\n", f);
	fprintf(f, "drains running: %zu\n", drains_running(o));
	if (!c->kernel)
		fputs("kernel: the IPVS table could not be read: kernel weights and counters unknown\n", f);
}

struct text {
	FILE *f;
	int width; /* of the address column */
};

static void row_width(const struct ctx *c, const struct svc *s, const struct row *r, void *ud) {
	struct text *t = ud;
	char a[LB_ADDRSTRLEN];
	int len = (int)strlen(lb_addr_fmt(r->addr, a));
	if (len > t->width)
		t->width = len;
}

static void svc_width(const struct ctx *c, const struct svc *s, void *ud) {
	for_each_row(c, s, row_width, ud);
}

/* A kernel count, "-" when unknown. */
static const char *count(bool known, uint64_t v, char buf[24]) {
	if (!known)
		return "-";
	snprintf(buf, 24, "%" PRIu64, v);
	return buf;
}

/* The state column: health for a backend, the role otherwise, and the drain. */
static void row_state(FILE *f, const struct ctx *c, const struct row *r) {
	char d[LB_STATUS_DURLEN], t[LB_STATUS_DURLEN];
	const char *sep = "";
	if (r->has_health) {
		if (!r->h.checked)
			fprintf(f, "%s (not checked)", lb_health_name(r->h.state));
		else {
			fputs(lb_health_name(r->h.state), f);
			if (r->h.raw == LB_HEALTH_UNKNOWN)
				fputs(" (no verdict yet)", f);
			if (r->h.since_ms > 0)
				fprintf(f, " %s", lb_status_fmt_dur(c->now_ms - r->h.since_ms, d));
			if (r->h.state == LB_HEALTH_DOWN && r->h.reason[0]) {
				char reason[sizeof(r->h.reason) + 1];
				memcpy(reason, r->h.reason, sizeof(r->h.reason));
				reason[sizeof(r->h.reason)] = 0;
				fputs(": ", f);
				put_text(f, reason);
			}
		}
		sep = ", ";
	} else if (strcmp(r->role, "sorry") == 0) {
		fputs("sorry server", f);
		sep = ", ";
	} else if (!r->drain)
		fputs("not in the config", f);
	if (r->drain)
		fprintf(f, "%sdraining %s/%s", sep, lb_status_fmt_dur(c->now_ms - r->drain->since_ms, d),
			lb_status_fmt_dur(r->drain->timeout_ms, t));
}

static void text_row(const struct ctx *c, const struct svc *s, const struct row *r, void *ud) {
	struct text *t = ud;
	char a[LB_ADDRSTRLEN], wt[56], c1[24], c2[24], c3[24];
	bool conns = r->kd && r->kd->conns_known;
	snprintf(wt, sizeof(wt), "%s%s%s", r->has_weight ? count(true, r->weight, c1) : "-", "/",
		 r->kd ? count(true, r->kd->weight, c2) : "-");
	fprintf(t->f, "  -> %-*s %-11s %10s %10s ", t->width, lb_addr_fmt(r->addr, a), wt,
		count(conns, conns ? r->kd->active : 0, c1), count(conns, conns ? r->kd->inactive : 0, c2));
	fprintf(t->f, "%10s  ", count(r->kd && r->kd->stats_known, r->kd ? r->kd->stats.conns : 0, c3));
	row_state(t->f, c, r);
	fputc('\n', t->f);
}

static void proto_upper(uint16_t proto, char buf[8]) {
	const char *n = lb_proto_name(proto);
	size_t i = 0;
	for (; n && n[i] && i < 7; i++)
		buf[i] = (char)(n[i] - 'a' + 'A');
	buf[i] = 0;
}

static void text_svc(const struct ctx *c, const struct svc *s, void *ud) {
	struct text *t = ud;
	const struct lb_service_conf *sc = s->sc;
	char a[LB_ADDRSTRLEN], p[8], n1[24], n2[24], n3[24];
	proto_upper(sc->protocol, p);
	if (sc->fwmark) /* as ipvsadm -L shows it */
		fprintf(t->f, "FWM  %" PRIu32 "%s %s %s", sc->fwmark,
			sc->listen.af == AF_INET6 ? " IPv6" : "", sc->scheduler, lb_fwd_name(sc->forward));
	else
		fprintf(t->f, "%-4s %s %s %s", p, lb_addr_fmt(&sc->listen, a), sc->scheduler,
			lb_fwd_name(sc->forward));
	if (sc->persist_timeout_s)
		fprintf(t->f, " persistent %" PRIu32, sc->persist_timeout_s);
	fputs("  ", t->f);
	put_text(t->f, sc->name);
	fprintf(t->f, ": %zu/%zu up", s->up, sc->n_backends);
	if (sc->quorum.enabled)
		fprintf(t->f, ", quorum %s (%zu up, min_up %" PRIu32 ")", quorum_state(c->o, s), s->up,
			lb_quorum_min_up(sc));
	if (c->kernel && !s->ks)
		fputs(", not in the kernel", t->f);
	if (s->ks)
		fprintf(t->f, ", conns %s, active %s, inactive %s",
			count(s->ks->stats_known, s->ks->stats.conns, n1),
			count(s->dests_known, s->active, n2), count(s->dests_known, s->inactive, n3));
	fputc('\n', t->f);
	for_each_row(c, s, text_row, t);
}


/* ---- the generator: the answer in pieces ---- */

/* What is made at each step (see lb_status_gen_read). */
enum stage {
	ST_HEAD,   /* json: the envelope, {, the summary members, "services":[; text: the summary */
	ST_WIDTH,  /* text only: the address column's width, one service per step, nothing written */
	ST_COLS,   /* text only: the column titles */
	ST_SVC,    /* one service with its destinations */
	ST_TAIL,   /* json: ]}; then the end of the envelope */
	ST_DONE,
};

/* Lifetimes. The kernel table is the generator's (a copy, taken over) or, for lb_status_json and
 * lb_status_text, borrowed for their call. The config is never held across steps: a reload frees
 * the old one while an answer streams, and every unit needs it (names, weights, health). So only
 * the names of the services shown are copied at creation (in config order), and each step looks
 * its service up by name in o->cfg as it is then (first where the previous one was found, then
 * the whole list), with the health, drains and quorum of that moment. A service that left the
 * config meanwhile is skipped (the JSON stays valid, just shorter); one whose VIP changed is
 * looked up in the table read for the old one (so it shows as not in the kernel). The answer is
 * therefore not one instant's state, only each service is: as before the kernel counters are
 * those of one read. Copying every unit eagerly instead would be the cost this design avoids. */
struct lb_status_gen {
	struct ctx c;
	struct lb_table own;      /* the kernel table taken over (c.kernel points here) */
	bool json, envelope;
	char **names;             /* the services shown, in config order at creation */
	size_t n_names, next;     /* next: the name of the next ST_WIDTH / ST_SVC step */
	size_t cursor;            /* where in o->cfg the last name was found */
	enum stage stage;
	struct lb_jw w;           /* json: one writer for the whole document, its FILE the unit's */
	int width;                /* text: of the address column */
	char *unit;               /* made, not yet read */
	size_t unit_len, unit_off;
	int err;                  /* sticky */
};

/* The configured service named name now, or NULL (it left the config). */
static const struct lb_service_conf *gen_find(struct lb_status_gen *g, const char *name) {
	const struct lb_config *cfg = g->c.o->cfg;
	size_t n = cfg ? cfg->n_services : 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = (g->cursor + k) % n;
		if (strcmp(cfg->services[i].name, name) == 0) {
			g->cursor = i + 1;
			return &cfg->services[i];
		}
	}
	return NULL;
}

static struct lb_status_gen *gen_make(const struct lb_observe *o, char *const *only, size_t n_only,
				      int64_t now_ms, bool json, bool envelope, int *err) {
	if (lb_status_unknown(o, only, n_only)) {
		*err = -ENOENT;
		return NULL;
	}
	struct lb_status_gen *g = calloc(1, sizeof(*g));
	const struct lb_config *cfg = o->cfg;
	size_t n = cfg ? cfg->n_services : 0;
	if (!g || (n && !(g->names = calloc(n, sizeof(*g->names))))) {
		free(g);
		*err = -ENOMEM;
		return NULL;
	}
	g->c = (struct ctx){.o = o, .now_ms = now_ms};
	g->json = json;
	g->envelope = envelope;
	g->width = (int)strlen("RemoteAddress:Port");
	for (size_t i = 0; i < n; i++) {
		if (!shown(&cfg->services[i], only, n_only))
			continue;
		if (!(g->names[g->n_names] = strdup(cfg->services[i].name))) {
			lb_status_gen_free(g);
			*err = -ENOMEM;
			return NULL;
		}
		g->n_names++;
	}
	*err = 0;
	return g;
}

struct lb_status_gen *lb_status_gen_new(const struct lb_observe *o, struct lb_table *kernel_owned,
					char *const *only, size_t n_only, int64_t now_ms, bool json,
					int *err) {
	struct lb_status_gen *g = gen_make(o, only, n_only, now_ms, json, true, err);
	if (kernel_owned) {
		if (g) {
			g->own = *kernel_owned;
			g->c.kernel = &g->own;
		} else
			lb_table_clear(kernel_owned);
		*kernel_owned = (struct lb_table){0};
	}
	return g;
}

void lb_status_gen_free(struct lb_status_gen *g) {
	if (!g)
		return;
	for (size_t i = 0; i < g->n_names; i++)
		free(g->names[i]);
	free(g->names);
	free(g->unit);
	lb_table_clear(&g->own);
	free(g);
}

/* The next service to show (advancing g->next), or NULL when none is left. *cost: the work. */
static int gen_next_svc(struct lb_status_gen *g, struct svc *s, bool *have, size_t *cost) {
	*have = false;
	while (g->next < g->n_names) {
		const struct lb_service_conf *sc = gen_find(g, g->names[g->next++]);
		if (!sc)
			continue; /* left the config since the request */
		int r = svc_get(&g->c, sc, s);
		if (r < 0) {
			svc_done(s);
			return r;
		}
		*have = true;
		*cost += 1 + sc->n_backends + sc->n_sorry + (s->ks ? s->ks->n_dests : 0);
		return 0;
	}
	return 0;
}

/* Makes the unit of the current stage into f (the text raw: the caller escapes it). Adds its work
 * (destination lines) to *cost. 0 or -ENOMEM. */
static int gen_unit(struct lb_status_gen *g, FILE *f, size_t *cost) {
	struct svc s;
	bool have;
	int r;
	struct text t = {.f = f, .width = g->width};
	g->w.f = f;
	*cost += 1;
	switch (g->stage) {
	case ST_HEAD:
		if (g->json) {
			lb_jw_init(&g->w, f, 0);
			lb_jw_object(&g->w);
			json_header(&g->w, &g->c);
			lb_jw_key(&g->w, "services");
			lb_jw_array(&g->w);
			g->stage = ST_SVC;
		} else {
			text_summary(f, &g->c);
			g->stage = ST_WIDTH;
		}
		return 0;
	case ST_WIDTH:
		if ((r = gen_next_svc(g, &s, &have, cost)) < 0)
			return r;
		if (have) {
			svc_width(&g->c, &s, &t);
			g->width = t.width;
			svc_done(&s);
		} else
			g->stage = ST_COLS;
		return 0;
	case ST_COLS:
		fprintf(f, "\nProt LocalAddress:Port Scheduler Forward [persistent TIMEOUT]  Name: backends up\n");
		fprintf(f, "  -> %-*s %-11s %10s %10s %10s  %s\n", g->width, "RemoteAddress:Port", "Weight",
			"ActiveConn", "InActConn", "Conns", "State");
		g->next = 0;
		g->stage = ST_SVC;
		return 0;
	case ST_SVC:
		if ((r = gen_next_svc(g, &s, &have, cost)) < 0)
			return r;
		if (have) {
			if (g->json)
				json_svc(&g->c, &s, &g->w);
			else
				text_svc(&g->c, &s, &t);
			svc_done(&s);
		} else
			g->stage = ST_TAIL;
		return 0;
	case ST_TAIL:
		if (g->json) {
			lb_jw_array_end(&g->w);
			lb_jw_object_end(&g->w);
			/* misuse cannot happen: the structure is fixed; -EIO is the memory stream's */
			if ((r = lb_jw_finish(&g->w)) < 0)
				return -ENOMEM;
		}
		g->stage = ST_DONE;
		return 0;
	case ST_DONE:
		break;
	}
	return 0;
}

/* Makes the next unit, with its part of the envelope, into g->unit. */
static int gen_step(struct lb_status_gen *g, size_t *cost) {
	bool head = g->stage == ST_HEAD;
	char *raw = NULL, *out = NULL;
	size_t raw_len = 0, out_len = 0;
	FILE *o = open_memstream(&out, &out_len);
	if (!o)
		return -ENOMEM;
	bool escape = g->envelope && !g->json;
	FILE *f = escape ? open_memstream(&raw, &raw_len) : o;
	int r = f ? 0 : -ENOMEM;
	if (r == 0 && head && g->envelope)
		fputs(g->json ? "{\"ok\":true,\"status\":" : "{\"ok\":true,\"text\":\"", o);
	if (r == 0)
		r = gen_unit(g, f, cost);
	if (escape && f && fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	/* Escaped unit by unit: the same bytes as the whole text escaped at once, because every
	 * unit ends with a newline (or is empty), so no UTF-8 sequence spans two units and each
	 * unit starts where lb_json_escape of the whole would start a character. */
	if (r == 0 && escape)
		lb_json_escape(o, raw, raw_len);
	if (r == 0 && g->stage == ST_DONE && g->envelope)
		fputs(g->json ? "}\n" : "\"}\n", o);
	free(raw);
	if (fclose(o) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(out);
		return r;
	}
	free(g->unit);
	g->unit = out;
	g->unit_len = out_len;
	g->unit_off = 0;
	return 0;
}

ssize_t lb_status_gen_read(struct lb_status_gen *g, char *buf, size_t max) {
	size_t done = 0, cost = 0;
	if (g->err)
		return g->err;
	while (done < max) {
		if (g->unit_off < g->unit_len) {
			size_t n = g->unit_len - g->unit_off;
			if (n > max - done)
				n = max - done;
			memcpy(buf + done, g->unit + g->unit_off, n);
			g->unit_off += n;
			done += n;
			continue;
		}
		if (g->stage == ST_DONE || cost >= LB_STATUS_GEN_LINES)
			break;
		int r = gen_step(g, &cost);
		if (r < 0)
			return g->err = r;
	}
	if (done == 0 && g->stage != ST_DONE)
		return -EAGAIN;
	return (ssize_t)done;
}

/* The forms without envelope, through the generator (the kernel table borrowed). */
static int status_to(const struct lb_observe *o, const struct lb_table *kernel, char *const *only,
		     size_t n_only, int64_t now_ms, bool json, FILE *out) {
	int r;
	struct lb_status_gen *g = gen_make(o, only, n_only, now_ms, json, false, &r);
	if (!g)
		return r;
	g->c.kernel = kernel;
	char buf[16384];
	ssize_t n;
	while ((n = lb_status_gen_read(g, buf, sizeof(buf))) != 0) {
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			break;
		fwrite(buf, 1, (size_t)n, out);
	}
	lb_status_gen_free(g);
	if (n < 0)
		return (int)n;
	return ferror(out) ? -EIO : 0;
}

int lb_status_json(const struct lb_observe *o, const struct lb_table *kernel, char *const *only,
		   size_t n_only, int64_t now_ms, FILE *out) {
	return status_to(o, kernel, only, n_only, now_ms, true, out);
}

int lb_status_text(const struct lb_observe *o, const struct lb_table *kernel, char *const *only,
		   size_t n_only, int64_t now_ms, FILE *out) {
	return status_to(o, kernel, only, n_only, now_ms, false, out);
}
