/* The Prometheus text exposition (see metrics.h). Every family is written whole (HELP, TYPE, then
 * all its samples), as the format requires; one function per family or group of families. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "util.h"

#ifndef EZLB_VERSION
#define EZLB_VERSION "unknown"
#endif

#define MAX_LABELS 4
#define MAX_KINDS 16 /* check types; the kind table has fewer */

/* A label set: up to MAX_LABELS pairs, a NULL name ends it early. */
struct label {
	const char *name, *value;
};
struct labels {
	struct label l[MAX_LABELS];
};

/* A number as Prometheus parses it: integers without a fraction (counters and byte counts read
 * best that way), other values in the shortest form that reads back as the same double. */
static const char *fmt_num(double v, char buf[static 32]) {
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, 32, "%.0f", v);
		return buf;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

void lb_metrics_escape(const char *s, FILE *out) {
	for (; *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", out); break;
		case '"': fputs("\\\"", out); break;
		case '\n': fputs("\\n", out); break;
		default: fputc(*s, out);
		}
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help) {
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels} value; value already formatted. suffix goes after name ("_bucket", or ""). */
static void sample_s(FILE *f, const char *name, const char *suffix, const struct labels *ls,
		     const char *value) {
	fputs(name, f);
	fputs(suffix, f);
	for (size_t i = 0; ls && i < MAX_LABELS && ls->l[i].name; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "{", ls->l[i].name);
		lb_metrics_escape(ls->l[i].value, f);
		fputc('"', f);
		if (i + 1 == MAX_LABELS || !ls->l[i + 1].name)
			fputc('}', f);
	}
	fprintf(f, " %s\n", value);
}

static void sample_u(FILE *f, const char *name, const struct labels *ls, uint64_t v) {
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	sample_s(f, name, "", ls, buf);
}

static void sample_d(FILE *f, const char *name, const struct labels *ls, double v) {
	char buf[32];
	sample_s(f, name, "", ls, fmt_num(v, buf));
}

/* ls with one more pair (name, value) after its own; ls must have room. */
static struct labels with(const struct labels *ls, const char *name, const char *value) {
	struct labels r = ls ? *ls : (struct labels){0};
	size_t i = 0;
	while (i < MAX_LABELS - 1 && r.l[i].name)
		i++;
	r.l[i] = (struct label){name, value};
	return r;
}

/* One label set of a histogram: cumulative buckets (LB_OBSERVE_BUCKETS + 1, the last +Inf),
 * _sum and _count. */
static void histogram(FILE *f, const char *name, const struct labels *ls, const uint64_t *buckets,
		      double sum, uint64_t count) {
	char le[32], v[32];
	for (size_t i = 0; i <= LB_OBSERVE_BUCKETS; i++) {
		const char *bound = i < LB_OBSERVE_BUCKETS ? fmt_num(lb_observe_buckets[i], le) : "+Inf";
		struct labels b = with(ls, "le", bound);
		snprintf(v, sizeof(v), "%" PRIu64, buckets[i]);
		sample_s(f, name, "_bucket", &b, v);
	}
	sample_s(f, name, "_sum", ls, fmt_num(sum, v));
	snprintf(v, sizeof(v), "%" PRIu64, count);
	sample_s(f, name, "_count", ls, v);
}

/* ---- state from the observed daemon ---- */

static void health_of(const struct lb_observe *o, const struct lb_service_conf *sc,
		      const struct lb_backend_conf *be, struct lb_health_detail *d) {
	*d = (struct lb_health_detail){.raw = LB_HEALTH_UNKNOWN, .state = LB_HEALTH_UP};
	if (o->health_detail)
		o->health_detail(o->health_ud, sc, be, d);
}

static void build_info(FILE *f) {
	family(f, "ezlb_build_info", "gauge", "Always 1; the version of the running ezlb.");
	sample_u(f, "ezlb_build_info", &(struct labels){{{"version", EZLB_VERSION}}}, 1);
}

static void config_families(FILE *f, const struct lb_observe *o) {
	static const char *const result[2] = {"ok", "failed"};
	family(f, "ezlb_config_reloads_total", "counter", "Config reloads, by result.");
	for (size_t i = 0; i < 2; i++)
		sample_u(f, "ezlb_config_reloads_total", &(struct labels){{{"result", result[i]}}},
			 o->reloads[i]);
	family(f, "ezlb_config_last_reload_successful", "gauge",
	       "1 if the last reload succeeded, 0 if the file on disk was refused.");
	sample_u(f, "ezlb_config_last_reload_successful", NULL, o->last_reload_ok);
	family(f, "ezlb_config_last_reload_success_timestamp_seconds", "gauge",
	       "When a config last came into force, in seconds since the epoch.");
	sample_d(f, "ezlb_config_last_reload_success_timestamp_seconds", NULL,
		 (double)o->last_reload_success_ms / 1000.0);
}

static bool is_backend(const struct lb_service_conf *sc, const struct lb_addr *a) {
	for (size_t j = 0; j < sc->n_backends; j++)
		if (lb_addr_cmp(&sc->backends[j].addr, a) == 0)
			return true;
	return false;
}

/* ---- the kernel's counters ---- */

/* What one kernel-side backend family shows of a destination. */
enum dest_field { D_WEIGHT, D_ACTIVE, D_INACTIVE, D_CONNS, D_PACKETS, D_BYTES, D_N };

static const struct {
	const char *name, *type, *help;
} dest_families[D_N] = {
	[D_WEIGHT] = {"ezlb_backend_weight", "gauge", "The backend's weight in the kernel."},
	[D_ACTIVE] = {"ezlb_backend_connections_active", "gauge",
		      "Active connections (IPVS ActiveConn)."},
	[D_INACTIVE] = {"ezlb_backend_connections_inactive", "gauge",
			"Inactive connections (IPVS InActConn)."},
	[D_CONNS] = {"ezlb_backend_connections_total", "counter",
		     "Connections the kernel scheduled to the backend."},
	[D_PACKETS] = {"ezlb_backend_packets_total", "counter", "Packets, by direction."},
	[D_BYTES] = {"ezlb_backend_bytes_total", "counter", "Bytes, by direction."},
};

static void in_out(FILE *f, const char *name, const struct labels *ls, uint64_t in, uint64_t out) {
	struct labels li = with(ls, "direction", "in"), lo = with(ls, "direction", "out");
	sample_u(f, name, &li, in);
	sample_u(f, name, &lo, out);
}

static void dest_sample(FILE *f, enum dest_field fld, const struct labels *ls,
			const struct lb_dest *d) {
	const char *name = dest_families[fld].name;
	switch (fld) {
	case D_WEIGHT: sample_u(f, name, ls, d->weight); break;
	case D_ACTIVE: if (d->conns_known) sample_u(f, name, ls, d->active); break;
	case D_INACTIVE: if (d->conns_known) sample_u(f, name, ls, d->inactive); break;
	case D_CONNS: if (d->stats_known) sample_u(f, name, ls, d->stats.conns); break;
	case D_PACKETS:
		if (d->stats_known)
			in_out(f, name, ls, d->stats.inpkts, d->stats.outpkts);
		break;
	case D_BYTES:
		if (d->stats_known)
			in_out(f, name, ls, d->stats.inbytes, d->stats.outbytes);
		break;
	case D_N: break;
	}
}

/* ---- probes, reconciles, the rest ---- */

static void probe_families(FILE *f, const struct lb_observe *o) {
	static const char *const result[3] = {"ok", "failed", "skipped"};
	struct lb_health_kind_stats ks[MAX_KINDS];
	size_t n = o->kind_stats ? o->kind_stats(o->health_ud, ks, MAX_KINDS) : 0;
	family(f, "ezlb_probes_total", "counter", "Health probes ended, by check type and result.");
	for (size_t i = 0; i < n; i++) {
		uint64_t v[3] = {ks[i].ok, ks[i].failed, ks[i].skipped};
		for (size_t r = 0; r < 3; r++) {
			struct labels ls = {{{"type", ks[i].type}, {"result", result[r]}}};
			sample_u(f, "ezlb_probes_total", &ls, v[r]);
		}
	}
	family(f, "ezlb_probe_duration_seconds", "histogram", "Health probe durations.");
	for (size_t i = 0; i < n; i++) {
		struct labels ls = {{{"type", ks[i].type}}};
		histogram(f, "ezlb_probe_duration_seconds", &ls, ks[i].duration_buckets,
			  ks[i].duration_sum, ks[i].duration_buckets[LB_OBSERVE_BUCKETS]);
	}
	uint64_t b[LB_OBSERVE_BUCKETS + 1] = {0}, count = 0;
	double sum = 0;
	if (o->lateness)
		o->lateness(o->health_ud, b, &sum, &count);
	family(f, "ezlb_probe_lateness_seconds", "histogram",
	       "How late probes started after their due time.");
	histogram(f, "ezlb_probe_lateness_seconds", NULL, b, sum, count);
}

static void reconcile_families(FILE *f, const struct lb_observe *o) {
	static const char *const kind[LB_RECONCILE_KINDS] = {"full", "targeted"};
	static const char *const result[2] = {"ok", "failed"};
	family(f, "ezlb_reconcile_total", "counter", "Reconcile passes, by kind and result.");
	for (size_t k = 0; k < LB_RECONCILE_KINDS; k++)
		for (size_t r = 0; r < 2; r++) {
			struct labels ls = {{{"kind", kind[k]}, {"result", result[r]}}};
			sample_u(f, "ezlb_reconcile_total", &ls, o->reconciles[k][r]);
		}
	family(f, "ezlb_reconcile_duration_seconds", "histogram", "Reconcile pass durations.");
	histogram(f, "ezlb_reconcile_duration_seconds", NULL, o->reconcile_buckets,
		  o->reconcile_seconds_sum, o->reconcile_buckets[LB_OBSERVE_BUCKETS]);
	family(f, "ezlb_netlink_requests_total", "counter", "IPVS netlink requests sent.");
	sample_u(f, "ezlb_netlink_requests_total", NULL, o->netlink_requests);
	family(f, "ezlb_notify_dropped_total", "counter",
	       "Notify events dropped because the notify queue was full.");
	sample_u(f, "ezlb_notify_dropped_total", NULL, o->notify_dropped);
}

static void process_families(FILE *f, const struct lb_procstat *ps) {
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fam[] = {
		{"process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
		 offsetof(struct lb_procstat, cpu_seconds)},
		{"process_open_fds", "gauge", "Number of open file descriptors.",
		 offsetof(struct lb_procstat, open_fds)},
		{"process_max_fds", "gauge", "Maximum number of open file descriptors.",
		 offsetof(struct lb_procstat, max_fds)},
		{"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		 offsetof(struct lb_procstat, vsize_bytes)},
		{"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
		 offsetof(struct lb_procstat, rss_bytes)},
		{"process_start_time_seconds", "gauge",
		 "Start time of the process since unix epoch in seconds.",
		 offsetof(struct lb_procstat, start_time_seconds)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(fam); i++) {
		double v;
		memcpy(&v, (const char *)ps + fam[i].off, sizeof(v));
		family(f, fam[i].name, fam[i].type, fam[i].help);
		sample_d(f, fam[i].name, NULL, v);
	}
}

/* ---- the generator ----
 *
 * A page of a big table (100k destinations: ~86 MB) is produced in small steps, each rendering
 * one unit (the HELP and TYPE of a family, or up to UNIT_ITEMS samples of one family for one
 * service) into an internal buffer that lb_metrics_gen_read copies out; the daemon's /metrics
 * server streams it over many loop turns. The page must stay consistent meanwhile, and what it
 * shows must stay valid: the kernel table is the generator's own (the kstat callback's lives only
 * during the call), and a reload replaces and frees o->cfg while a page streams. So creation
 * takes, in one pass, a snapshot of the little the config-dependent families need: per service
 * its name (copied) and key, whether it lost quorum, its announce interface (copied, "" without
 * announce) and whether it can serve (o->no_serve), and per configured backend its address,
 * health state, transitions and whether it drains, plus the draining destinations that are not
 * configured backends; a few tens of bytes and one health lookup per backend (the one-shot
 * renderer made three, and formatted everything in the same turn). Every streamed family is then
 * written from the snapshot and the owned table alone, never from o. The small families of fixed
 * size (build info, config, probes, reconciles, process) are rendered whole at creation: a few
 * KiB, and their numbers are the page's moment too. */

#define UNIT_ITEMS 256   /* samples of one family for one service per unit (a few KiB to ~40) */
#define STEP_BYTES 8192  /* a refill renders units until it has this much */

struct snap_be {
	struct lb_addr addr;
	uint64_t transitions;
	bool up, draining;
};

struct snap_svc {
	char *name;
	struct lb_svc_key key;
	bool lost;                  /* quorum lost */
	char announce_if[sizeof(((struct lb_service_conf *)0)->announce_if)]; /* "": no announce */
	bool serving;               /* can serve (not in o->no_serve): its VIP is announced */
	uint64_t n_up;
	struct snap_be *be;         /* the configured backends, in config order */
	size_t n_be;
	struct lb_addr *extra;      /* draining destinations that are not configured backends */
	size_t n_extra, cap_extra;
	const struct lb_service *k; /* in the generator's kernel table, or NULL */
};

/* The streamed families, in page order; the kernel ones are skipped without a kernel table. */
enum stage {
	ST_HEAD, /* rendered at creation */
	ST_QUORUM,
	ST_ANNOUNCED, /* only services with announce */
	ST_BACKENDS,
	ST_UP,
	ST_TRANSITIONS,
	ST_DRAINING,
	ST_DEST, /* ST_DEST + enum dest_field */
	ST_SVC_ACTIVE = ST_DEST + D_N,
	ST_SVC_INACTIVE,
	ST_SVC_CONNS,
	ST_SVC_PACKETS,
	ST_SVC_BYTES,
	ST_TAIL, /* rendered at creation */
	ST_END,
};

static const struct {
	const char *name, *type, *help;
} stage_families[ST_TAIL] = {
	[ST_QUORUM] = {"ezlb_service_quorum", "gauge",
		       "1 if the service has quorum or none is configured, 0 if it lost quorum."},
	[ST_ANNOUNCED] = {"ezlb_service_announced", "gauge",
			  "1 while the service can serve and its VIP is announced on the interface "
			  "(announce), 0 while it is withdrawn."},
	[ST_BACKENDS] = {"ezlb_service_backends", "gauge", "Configured backends by health state."},
	[ST_UP] = {"ezlb_backend_up", "gauge",
		   "1 if health checks find the backend up (or it is not checked), 0 if down."},
	[ST_TRANSITIONS] = {"ezlb_backend_health_transitions_total", "counter",
			    "Changes of the backend's health state since the start."},
	[ST_DRAINING] = {"ezlb_backend_draining", "gauge",
			 "1 while a backend that left the config drains its connections, else 0."},
	[ST_SVC_ACTIVE] = {"ezlb_service_connections_active", "gauge",
			   "Active connections of all its destinations."},
	[ST_SVC_INACTIVE] = {"ezlb_service_connections_inactive", "gauge",
			     "Inactive connections of all its destinations."},
	[ST_SVC_CONNS] = {"ezlb_service_connections_total", "counter",
			  "Connections the kernel scheduled for the service."},
	[ST_SVC_PACKETS] = {"ezlb_service_packets_total", "counter", "Packets, by direction."},
	[ST_SVC_BYTES] = {"ezlb_service_bytes_total", "counter", "Bytes, by direction."},
};

struct lb_metrics_gen {
	struct snap_svc *svcs;
	size_t n_svcs;
	struct lb_table own;          /* the kernel table taken over */
	const struct lb_table *kt;    /* &own, or a borrowed one (lb_metrics_render); NULL: none */
	char *head, *tail;            /* rendered at creation */
	size_t head_len, tail_len;
	/* the cursor: the next unit is stage st, service i, item j; hdr once its HELP and TYPE
	 * are out */
	enum stage st;
	size_t i, j;
	bool hdr;
	/* the bytes rendered and not yet read: src[off..len) */
	FILE *f;                      /* a memory stream for the units */
	char *mbuf;
	size_t mlen;
	const char *src;
	size_t len, off;
	int err;                      /* sticky */
};

static enum stage next_stage(const struct lb_metrics_gen *g, enum stage st) {
	st++;
	if (st == ST_DEST && !g->kt)
		st = ST_TAIL;
	return st;
}

/* How many items stage st has for service v (one per sample line or line group). */
static size_t items(enum stage st, const struct snap_svc *v) {
	switch (st) {
	case ST_UP:
	case ST_TRANSITIONS: return v->n_be;
	case ST_DRAINING: return v->n_be + v->n_extra;
	case ST_QUORUM:
	case ST_BACKENDS: return 1;
	case ST_ANNOUNCED: return v->announce_if[0] ? 1 : 0;
	default:
		if (st >= ST_DEST && st < ST_DEST + D_N)
			return v->k ? v->k->n_dests : 0;
		return v->k ? 1 : 0; /* the service's own kernel families */
	}
}

static void item(FILE *f, enum stage st, const struct snap_svc *v, size_t j) {
	const char *name = stage_families[st].name;
	struct labels ls = {{{"service", v->name}}};
	char a[LB_ADDRSTRLEN];
	if (st == ST_UP || st == ST_TRANSITIONS || (st == ST_DRAINING && j < v->n_be)) {
		const struct snap_be *b = &v->be[j];
		struct labels bl = with(&ls, "backend", lb_addr_fmt(&b->addr, a));
		sample_u(f, name, &bl,
			 st == ST_UP ? b->up : st == ST_TRANSITIONS ? b->transitions : b->draining);
		return;
	}
	if (st == ST_DRAINING) {
		struct labels bl = with(&ls, "backend", lb_addr_fmt(&v->extra[j - v->n_be], a));
		sample_u(f, name, &bl, 1);
		return;
	}
	if (st == ST_QUORUM) {
		sample_u(f, name, &ls, !v->lost);
		return;
	}
	if (st == ST_ANNOUNCED) {
		struct labels il = with(&ls, "interface", v->announce_if);
		sample_u(f, name, &il, v->serving);
		return;
	}
	if (st == ST_BACKENDS) {
		struct labels u = with(&ls, "state", "up"), dn = with(&ls, "state", "down");
		sample_u(f, name, &u, v->n_up);
		sample_u(f, name, &dn, v->n_be - v->n_up);
		return;
	}
	const struct lb_service *s = v->k;
	if (st >= ST_DEST && st < ST_DEST + D_N) {
		if (lb_service_dup_dest(s, j))
			return; /* a torn dump may list one twice: one series each */
		struct labels bl = with(&ls, "backend", lb_addr_fmt(&s->dests[j].addr, a));
		dest_sample(f, (enum dest_field)(st - ST_DEST), &bl, &s->dests[j]);
		return;
	}
	if (st == ST_SVC_ACTIVE || st == ST_SVC_INACTIVE) {
		uint64_t n = 0;
		for (size_t d = 0; d < s->n_dests; d++)
			if (s->dests[d].conns_known && !lb_service_dup_dest(s, d))
				n += st == ST_SVC_ACTIVE ? s->dests[d].active : s->dests[d].inactive;
		sample_u(f, name, &ls, n);
		return;
	}
	if (!s->stats_known)
		return;
	const struct lb_kstats *k = &s->stats;
	if (st == ST_SVC_CONNS)
		sample_u(f, name, &ls, k->conns);
	else if (st == ST_SVC_PACKETS)
		in_out(f, name, &ls, k->inpkts, k->outpkts);
	else
		in_out(f, name, &ls, k->inbytes, k->outbytes);
}

/* Renders the next unit of a streamed stage into g->f and moves the cursor past it. */
static void unit(struct lb_metrics_gen *g) {
	FILE *f = g->f;
	if (!g->hdr) {
		if (g->st >= ST_DEST && g->st < ST_DEST + D_N) {
			enum dest_field fld = (enum dest_field)(g->st - ST_DEST);
			family(f, dest_families[fld].name, dest_families[fld].type,
			       dest_families[fld].help);
		} else {
			family(f, stage_families[g->st].name, stage_families[g->st].type,
			       stage_families[g->st].help);
		}
		g->hdr = true;
	}
	if (g->i >= g->n_svcs) {
		g->st = next_stage(g, g->st);
		g->i = g->j = 0;
		g->hdr = false;
		return;
	}
	const struct snap_svc *v = &g->svcs[g->i];
	size_t n = items(g->st, v), end = n - g->j > UNIT_ITEMS ? g->j + UNIT_ITEMS : n;
	for (size_t j = g->j; j < end; j++)
		item(f, g->st, v, j);
	g->j = end;
	if (g->j >= n) {
		g->i++;
		g->j = 0;
	}
}

/* Makes src[off..len) the next bytes of the page (len 0 at the end). 0 or -ENOMEM. */
static int refill(struct lb_metrics_gen *g) {
	g->off = g->len = 0;
	if (g->st == ST_END)
		return 0;
	if (g->st == ST_HEAD || g->st == ST_TAIL) {
		g->src = g->st == ST_HEAD ? g->head : g->tail;
		g->len = g->st == ST_HEAD ? g->head_len : g->tail_len;
		g->st = g->st == ST_HEAD ? next_stage(g, ST_HEAD) : ST_END;
		return 0;
	}
	if (fseek(g->f, 0, SEEK_SET) != 0)
		return -ENOMEM;
	long pos = 0;
	while (g->st != ST_TAIL && (pos = ftell(g->f)) >= 0 && pos < STEP_BYTES)
		unit(g);
	if (fflush(g->f) != 0 || ferror(g->f) || (pos = ftell(g->f)) < 0)
		return -ENOMEM;
	g->src = g->mbuf;
	g->len = (size_t)pos;
	return 0;
}

ssize_t lb_metrics_gen_read(struct lb_metrics_gen *g, char *buf, size_t max) {
	size_t n = 0;
	if (g->err)
		return g->err;
	while (n < max) {
		if (g->off < g->len) {
			size_t k = g->len - g->off < max - n ? g->len - g->off : max - n;
			memcpy(buf + n, g->src + g->off, k);
			g->off += k;
			n += k;
			continue;
		}
		if (g->st == ST_END)
			break;
		int r = refill(g);
		if (r < 0) {
			g->err = r;
			return n ? (ssize_t)n : r; /* the error at the next read */
		}
	}
	return (ssize_t)n;
}

/* Renders the head (build info, config) or the tail (probes, reconciles, process) of the page
 * into a new string: 0, or -ENOMEM. */
static int render_str(char **out, size_t *len, const struct lb_observe *o,
		      const struct lb_procstat *ps, bool head) {
	FILE *f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	if (head) {
		build_info(f);
		config_families(f, o);
	} else {
		probe_families(f, o);
		reconcile_families(f, o);
		if (ps)
			process_families(f, ps);
	}
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int snap_service(struct snap_svc *v, const struct lb_observe *o,
			const struct lb_service_conf *sc, const struct lb_table *kt) {
	v->key = lb_desired_key(sc);
	v->name = strdup(sc->name);
	if (!v->name)
		return -ENOMEM;
	v->lost = o->no_quorum && lb_owned_has(o->no_quorum, &v->key);
	memcpy(v->announce_if, sc->announce_if, sizeof(v->announce_if));
	v->announce_if[sizeof(v->announce_if) - 1] = '\0';
	v->serving = !(o->no_serve && lb_owned_has(o->no_serve, &v->key));
	v->k = kt ? lb_table_find(kt, &v->key) : NULL;
	if (sc->n_backends && !(v->be = calloc(sc->n_backends, sizeof(*v->be))))
		return -ENOMEM;
	v->n_be = sc->n_backends;
	for (size_t j = 0; j < sc->n_backends; j++) {
		struct lb_health_detail d;
		health_of(o, sc, &sc->backends[j], &d);
		v->be[j] = (struct snap_be){
			.addr = sc->backends[j].addr,
			.transitions = d.transitions,
			.up = d.state == LB_HEALTH_UP,
			.draining = o->drains && lb_drains_find(o->drains, &v->key, &sc->backends[j].addr),
		};
		v->n_up += v->be[j].up;
	}
	for (size_t j = 0; o->drains && j < o->drains->n; j++) {
		const struct lb_drain *e = &o->drains->v[j];
		if (lb_svc_key_cmp(&e->svc, &v->key) != 0 || !e->dest.af || is_backend(sc, &e->dest))
			continue;
		if (GROW(v->extra, v->cap_extra, v->n_extra + 1) < 0)
			return -ENOMEM;
		v->extra[v->n_extra++] = e->dest;
	}
	return 0;
}

void lb_metrics_gen_free(struct lb_metrics_gen *g) {
	if (!g)
		return;
	for (size_t i = 0; i < g->n_svcs; i++) {
		free(g->svcs[i].name);
		free(g->svcs[i].be);
		free(g->svcs[i].extra);
	}
	free(g->svcs);
	lb_table_clear(&g->own);
	free(g->head);
	free(g->tail);
	if (g->f)
		fclose(g->f);
	free(g->mbuf);
	free(g);
}

/* kernel_owned taken over, or kernel borrowed (it must then outlive g), or neither. */
static struct lb_metrics_gen *gen_new(const struct lb_observe *o, struct lb_table *kernel_owned,
				      const struct lb_table *kernel, const struct lb_procstat *ps) {
	struct lb_metrics_gen *g = calloc(1, sizeof(*g));
	if (!g) {
		if (kernel_owned)
			lb_table_clear(kernel_owned);
		return NULL;
	}
	if (kernel_owned) {
		g->own = *kernel_owned;
		*kernel_owned = (struct lb_table){0};
		g->kt = &g->own;
	} else {
		g->kt = kernel;
	}
	const struct lb_config *cfg = o->cfg;
	size_t n = cfg ? cfg->n_services : 0; /* nothing loaded yet: the families, no services */
	if (n && !(g->svcs = calloc(n, sizeof(*g->svcs))))
		goto fail;
	g->n_svcs = n;
	for (size_t i = 0; i < n; i++)
		if (snap_service(&g->svcs[i], o, &cfg->services[i], g->kt) < 0)
			goto fail;
	if (render_str(&g->head, &g->head_len, o, ps, true) < 0 ||
	    render_str(&g->tail, &g->tail_len, o, ps, false) < 0)
		goto fail;
	if (!(g->f = open_memstream(&g->mbuf, &g->mlen)))
		goto fail;
	g->st = ST_HEAD;
	return g;
fail:
	lb_metrics_gen_free(g);
	return NULL;
}

struct lb_metrics_gen *lb_metrics_gen_new(const struct lb_observe *o, struct lb_table *kernel_owned,
					  const struct lb_procstat *ps) {
	return gen_new(o, kernel_owned, NULL, ps);
}

int lb_metrics_render(const struct lb_observe *o, const struct lb_table *kernel,
		      const struct lb_procstat *ps, FILE *out) {
	struct lb_metrics_gen *g = gen_new(o, NULL, kernel, ps);
	if (!g)
		return -ENOMEM;
	char buf[16384];
	ssize_t n;
	int r = 0;
	while ((n = lb_metrics_gen_read(g, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			r = -EIO;
			break;
		}
	lb_metrics_gen_free(g);
	if (r == 0 && n < 0)
		r = (int)n;
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return r;
}
