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

static struct labels svc_labels(const struct lb_service_conf *sc) {
	return (struct labels){{{"service", sc->name}}};
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

static void quorum_families(FILE *f, const struct lb_observe *o) {
	const struct lb_config *cfg = o->cfg;
	family(f, "ezlb_service_quorum", "gauge",
	       "1 if the service has quorum or none is configured, 0 if it lost quorum.");
	for (size_t i = 0; i < cfg->n_services; i++) {
		struct lb_svc_key k = lb_desired_key(&cfg->services[i]);
		bool lost = o->no_quorum && lb_owned_has(o->no_quorum, &k);
		struct labels ls = svc_labels(&cfg->services[i]);
		sample_u(f, "ezlb_service_quorum", &ls, !lost);
	}
	family(f, "ezlb_service_backends", "gauge", "Configured backends by health state.");
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service_conf *sc = &cfg->services[i];
		uint64_t up = 0;
		for (size_t j = 0; j < sc->n_backends; j++) {
			struct lb_health_detail d;
			health_of(o, sc, &sc->backends[j], &d);
			up += d.state == LB_HEALTH_UP;
		}
		struct labels ls = svc_labels(sc);
		struct labels u = with(&ls, "state", "up"), dn = with(&ls, "state", "down");
		sample_u(f, "ezlb_service_backends", &u, up);
		sample_u(f, "ezlb_service_backends", &dn, sc->n_backends - up);
	}
}

/* ezlb_backend_up and ezlb_backend_health_transitions_total: one pass per family. */
static void health_family(FILE *f, const struct lb_observe *o, bool transitions) {
	const struct lb_config *cfg = o->cfg;
	const char *name = transitions ? "ezlb_backend_health_transitions_total" : "ezlb_backend_up";
	if (transitions)
		family(f, name, "counter", "Changes of the backend's health state since the start.");
	else
		family(f, name, "gauge", "1 if health checks find the backend up (or it is not "
					 "checked), 0 if down.");
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service_conf *sc = &cfg->services[i];
		for (size_t j = 0; j < sc->n_backends; j++) {
			char a[LB_ADDRSTRLEN];
			struct lb_health_detail d;
			health_of(o, sc, &sc->backends[j], &d);
			struct labels ls = with(&(struct labels){{{"service", sc->name}}}, "backend",
						lb_addr_fmt(&sc->backends[j].addr, a));
			sample_u(f, name, &ls, transitions ? d.transitions : d.state == LB_HEALTH_UP);
		}
	}
}

static bool is_backend(const struct lb_service_conf *sc, const struct lb_addr *a) {
	for (size_t j = 0; j < sc->n_backends; j++)
		if (lb_addr_cmp(&sc->backends[j].addr, a) == 0)
			return true;
	return false;
}

static void draining_family(FILE *f, const struct lb_observe *o) {
	const struct lb_config *cfg = o->cfg;
	family(f, "ezlb_backend_draining", "gauge",
	       "1 while a backend that left the config drains its connections, else 0.");
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service_conf *sc = &cfg->services[i];
		struct lb_svc_key k = lb_desired_key(sc);
		char a[LB_ADDRSTRLEN];
		for (size_t j = 0; j < sc->n_backends; j++) {
			struct labels ls = with(&(struct labels){{{"service", sc->name}}}, "backend",
						lb_addr_fmt(&sc->backends[j].addr, a));
			bool dr = o->drains && lb_drains_find(o->drains, &k, &sc->backends[j].addr);
			sample_u(f, "ezlb_backend_draining", &ls, dr);
		}
		for (size_t j = 0; o->drains && j < o->drains->n; j++) {
			const struct lb_drain *e = &o->drains->v[j];
			if (lb_svc_key_cmp(&e->svc, &k) != 0 || !e->dest.af || is_backend(sc, &e->dest))
				continue;
			struct labels ls = with(&(struct labels){{{"service", sc->name}}}, "backend",
						lb_addr_fmt(&e->dest, a));
			sample_u(f, "ezlb_backend_draining", &ls, 1);
		}
	}
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

static const struct lb_service *kernel_svc(const struct lb_table *kernel,
					   const struct lb_service_conf *sc) {
	struct lb_svc_key k = lb_desired_key(sc);
	return lb_table_find(kernel, &k);
}

static void dest_family(FILE *f, const struct lb_config *cfg, const struct lb_table *kernel,
			enum dest_field fld) {
	family(f, dest_families[fld].name, dest_families[fld].type, dest_families[fld].help);
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service *s = kernel_svc(kernel, &cfg->services[i]);
		for (size_t j = 0; s && j < s->n_dests; j++) {
			char a[LB_ADDRSTRLEN];
			if (lb_service_dup_dest(s, j))
				continue; /* a torn dump may list one twice: one series each */
			struct labels ls = with(&(struct labels){{{"service", cfg->services[i].name}}},
						"backend", lb_addr_fmt(&s->dests[j].addr, a));
			dest_sample(f, fld, &ls, &s->dests[j]);
		}
	}
}

static void svc_conns(FILE *f, const struct lb_config *cfg, const struct lb_table *kernel,
		      bool active) {
	const char *name = active ? "ezlb_service_connections_active"
				  : "ezlb_service_connections_inactive";
	family(f, name, "gauge", active ? "Active connections of all its destinations."
					: "Inactive connections of all its destinations.");
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service *s = kernel_svc(kernel, &cfg->services[i]);
		if (!s)
			continue;
		uint64_t n = 0;
		for (size_t j = 0; j < s->n_dests; j++)
			if (s->dests[j].conns_known && !lb_service_dup_dest(s, j))
				n += active ? s->dests[j].active : s->dests[j].inactive;
		struct labels ls = svc_labels(&cfg->services[i]);
		sample_u(f, name, &ls, n);
	}
}

/* The service's own counters: 0 connections, 1 packets, 2 bytes. */
static void svc_counter(FILE *f, const struct lb_config *cfg, const struct lb_table *kernel,
			int what) {
	static const char *const names[3] = {"ezlb_service_connections_total",
					      "ezlb_service_packets_total", "ezlb_service_bytes_total"};
	static const char *const helps[3] = {"Connections the kernel scheduled for the service.",
					     "Packets, by direction.", "Bytes, by direction."};
	family(f, names[what], "counter", helps[what]);
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service *s = kernel_svc(kernel, &cfg->services[i]);
		if (!s || !s->stats_known)
			continue;
		struct labels ls = svc_labels(&cfg->services[i]);
		const struct lb_kstats *st = &s->stats;
		if (what == 0)
			sample_u(f, names[what], &ls, st->conns);
		else if (what == 1)
			in_out(f, names[what], &ls, st->inpkts, st->outpkts);
		else
			in_out(f, names[what], &ls, st->inbytes, st->outbytes);
	}
}

static void kernel_families(FILE *f, const struct lb_config *cfg, const struct lb_table *kernel) {
	for (enum dest_field fld = 0; fld < D_N; fld++)
		dest_family(f, cfg, kernel, fld);
	svc_conns(f, cfg, kernel, true);
	svc_conns(f, cfg, kernel, false);
	for (int what = 0; what < 3; what++)
		svc_counter(f, cfg, kernel, what);
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

int lb_metrics_render(const struct lb_observe *o, const struct lb_table *kernel,
		      const struct lb_procstat *ps, FILE *out) {
	static const struct lb_config empty;
	struct lb_observe obs = *o;
	if (!obs.cfg)
		obs.cfg = &empty; /* nothing loaded yet: the families, without services */
	build_info(out);
	config_families(out, &obs);
	quorum_families(out, &obs);
	health_family(out, &obs, false);
	health_family(out, &obs, true);
	draining_family(out, &obs);
	if (kernel)
		kernel_families(out, obs.cfg, kernel);
	probe_families(out, &obs);
	reconcile_families(out, &obs);
	if (ps)
		process_families(out, ps);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
