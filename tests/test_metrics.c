/* lb_metrics_render against golden files: a fixed state (tests/metrics/state.yaml, fake health
 * functions, a hand-built kernel table with counters, an IPv6 service, a draining backend, a
 * lost quorum, an announced and a withdrawn VIP, a service name needing escapes) renders to
 * exactly tests/metrics/NAME.prom.
 * EZLB_UPDATE_GOLDEN=1 rewrites the golden files instead. The page generator read in pieces of
 * any size (1, 7, 4096 bytes...) gives the same bytes. When promtool is installed, each
 * golden file must also pass `promtool check metrics` (its parser and its linter). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "desired.h"
#include "metrics.h"
#include "util.h"

#define DIR "tests/metrics/"

/* ---- the fixed state ---- */

static bool addr_is(const struct lb_backend_conf *be, const char *s) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(s, &a), 0);
	return lb_addr_cmp(&a, &be->addr) == 0;
}

/* 10.1.2.2:8080 and 10.1.4.2:443 are down; dns6 is not checked. */
static bool fake_detail(const void *ud, const struct lb_service_conf *svc,
			const struct lb_backend_conf *be, struct lb_health_detail *out) {
	bool checked = lb_check_type_of(&svc->check, svc->protocol) != LB_CHECK_NONE;
	bool down = addr_is(be, "10.1.2.2:8080") || addr_is(be, "10.1.4.2:443");
	*out = (struct lb_health_detail){
		.checked = checked,
		.raw = !checked ? LB_HEALTH_UNKNOWN : down ? LB_HEALTH_DOWN : LB_HEALTH_UP,
		.state = down ? LB_HEALTH_DOWN : LB_HEALTH_UP,
		.transitions = addr_is(be, "10.1.2.2:8080") ? 3 : down ? 1 : 0,
	};
	return checked;
}

static size_t fake_kinds(const void *ud, struct lb_health_kind_stats *out, size_t max) {
	assert_true(max >= 2);
	out[0] = (struct lb_health_kind_stats){.type = "tcp", .ok = 120, .failed = 30, .skipped = 2,
					       .duration_sum = 0.75};
	out[1] = (struct lb_health_kind_stats){.type = "http", .ok = 40, .failed = 20,
					       .duration_sum = 1.5};
	double tcp[] = {0.0004, 0.002, 0.004, 0.9, 1.0, 20};
	for (size_t i = 0; i < ARRAY_SIZE(tcp); i++)
		lb_observe_bucket_add(out[0].duration_buckets, tcp[i]);
	lb_observe_bucket_add(out[1].duration_buckets, 0.03);
	return 2;
}

static void fake_lateness(const void *ud, uint64_t b[LB_OBSERVE_BUCKETS + 1], double *sum,
			  uint64_t *count) {
	double v[] = {0.0001, 0.003, 0.2};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		lb_observe_bucket_add(b, v[i]);
	*sum = 0.2031;
	*count = 3;
}

static void add_dest(struct lb_service *s, const char *addr, uint32_t weight, uint32_t active,
		     uint32_t inactive, uint64_t conns) {
	struct lb_dest *d = lb_service_add_dest(s);
	assert_non_null(d);
	assert_int_equal(lb_addr_parse(addr, &d->addr), 0);
	d->weight = weight;
	d->conns_known = true;
	d->active = active;
	d->inactive = inactive;
	d->stats_known = true;
	d->stats = (struct lb_kstats){.conns = conns, .inpkts = conns * 10, .outpkts = conns * 8,
				      .inbytes = conns * 1000, .outbytes = conns * 64000};
}

static struct lb_service *add_svc(struct lb_table *t, const char *key, uint64_t conns) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	assert_int_equal(lb_svc_key_parse(key, &s->key), 0);
	s->stats_known = true;
	s->stats = (struct lb_kstats){.conns = conns, .inpkts = conns * 10, .outpkts = conns * 8,
				      .inbytes = conns * 1000, .outbytes = conns * 64000};
	return s;
}

/* What the kernel has: web without its down backend but with one draining, api on its sorry
 * server, dns6 with one destination whose counters were not read, and a foreign service. */
static void kernel_table(struct lb_table *t) {
	struct lb_service *s = add_svc(t, "tcp 10.0.0.1:80", 1500);
	add_dest(s, "10.1.1.2:8080", 5, 3, 7, 1000);
	add_dest(s, "10.1.3.2:8080", 0, 0, 1, 400);
	add_dest(s, "10.1.9.2:8080", 0, 2, 0, 100); /* left the config: draining */
	s = add_svc(t, "tcp 10.0.0.2:443", 50);
	add_dest(s, "10.9.9.9:443", 1, 1, 4, 50);
	s = add_svc(t, "udp [2001:db8::53]:53", 77);
	add_dest(s, "[2001:db8:1::10]:53", 1, 0, 12, 77);
	add_dest(s, "[2001:db8:1::11]:53", 1, 0, 0, 0);
	s->dests[1].conns_known = s->dests[1].stats_known = false;
	s = add_svc(t, "tcp 10.0.0.9:80", 999); /* not ezlb's */
	add_dest(s, "10.1.1.2:80", 1, 9, 9, 999);
	lb_table_sort(t);
}

struct fixture {
	struct lb_config *cfg;
	struct lb_drains drains;
	struct lb_owned no_quorum, no_serve;
	struct lb_observe obs;
	struct lb_table kernel;
};

static int setup(void **state) {
	struct fixture *f = calloc(1, sizeof(*f));
	struct lb_diag diag = {0};
	assert_int_equal(lb_config_load(DIR "state.yaml", &f->cfg, &diag), 0);
	lb_diag_free(&diag);
	/* config names are restricted: only a name set here exercises the escaping */
	struct lb_service_conf *api = &f->cfg->services[2];
	free(api->name);
	api->name = strdup("api \"v2\"\\\nnext");
	struct lb_drain d = {.since_ms = 1764662400000, .timeout_ms = 60000};
	assert_int_equal(lb_svc_key_parse("tcp 10.0.0.1:80", &d.svc), 0);
	assert_int_equal(lb_addr_parse("10.1.9.2:8080", &d.dest), 0);
	assert_int_equal(lb_drains_put(&f->drains, &d), 0);
	struct lb_svc_key k = lb_desired_key(api);
	assert_int_equal(lb_owned_add(&f->no_quorum, &k), 0);
	assert_int_equal(lb_owned_add(&f->no_serve, &k), 0); /* api cannot serve: VIP withdrawn */
	kernel_table(&f->kernel);
	f->obs = (struct lb_observe){
		.cfg = f->cfg,
		.config_path = DIR "state.yaml",
		.health_detail = fake_detail,
		.kind_stats = fake_kinds,
		.lateness = fake_lateness,
		.drains = &f->drains,
		.no_quorum = &f->no_quorum,
		.no_serve = &f->no_serve,
		.reconciles = {{10, 1}, {25, 0}},
		.reconcile_seconds_sum = 0.5,
		.reloads = {3, 1},
		.last_reload_ok = false,
		.last_reload_success_ms = 1764662400123,
		.netlink_requests = 1234,
		.notify_dropped = 2,
	};
	double rec[] = {0.004, 0.004, 0.02, 0.3};
	for (size_t i = 0; i < ARRAY_SIZE(rec); i++)
		lb_observe_bucket_add(f->obs.reconcile_buckets, rec[i]);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fixture *f = *state;
	lb_config_free(f->cfg);
	lb_drains_free(&f->drains);
	lb_owned_free(&f->no_quorum);
	lb_owned_free(&f->no_serve);
	lb_table_clear(&f->kernel);
	free(f);
	return 0;
}

static const struct lb_procstat fixed_ps = {
	.rss_bytes = 12345678,
	.vsize_bytes = 98765432,
	.cpu_seconds = 1.25,
	.start_time_seconds = 1764662000.5,
	.open_fds = 17,
	.max_fds = 1024,
};

/* ---- rendering and comparing ---- */

static char *render_raw(const struct lb_observe *o, const struct lb_table *k,
			const struct lb_procstat *ps) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(lb_metrics_render(o, k, ps, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The page with the version replaced by "VERSION", so that a release does not touch the goldens. */
static char *render(const struct lb_observe *o, const struct lb_table *k,
		    const struct lb_procstat *ps) {
	char *buf = render_raw(o, k, ps);
	const char *v = "version=\"" EZLB_VERSION "\"";
	char *at = strstr(buf, v);
	assert_non_null(at);
	char *out = NULL;
	assert_true(asprintf(&out, "%.*sversion=\"VERSION\"%s", (int)(at - buf), buf,
			     at + strlen(v)) > 0);
	free(buf);
	return out;
}

static char *slurp(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static void write_file(const char *path, const char *s) {
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void promtool_check(const char *path) {
	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		print_message("promtool not found: skipping `promtool check metrics < %s` "
			      "(deploy/deps.sh test installs it)\n", path);
		return;
	}
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("`%s` failed (status %d)", cmd, rc);
}

static void golden(const char *name, const char *actual) {
	char path[256];
	snprintf(path, sizeof(path), DIR "%s.prom", name);
	const char *upd = getenv("EZLB_UPDATE_GOLDEN");
	if (upd && strcmp(upd, "1") == 0) {
		write_file(path, actual);
		print_message("updated %s\n", path);
	}
	_cleanup_free_ char *want = slurp(path);
	if (!want)
		fail_msg("%s: %s (EZLB_UPDATE_GOLDEN=1 creates it)", path, strerror(errno));
	if (strcmp(want, actual) != 0) {
		char tmp[] = "/tmp/ezlb-metrics-XXXXXX";
		int fd = mkstemp(tmp);
		assert_true(fd >= 0);
		close(fd);
		write_file(tmp, actual);
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "diff -u %s %s >&2", path, tmp);
		(void)!system(cmd);
		unlink(tmp);
		fail_msg("%s differs from the rendering (diff above; EZLB_UPDATE_GOLDEN=1 rewrites it)",
			 path);
	}
	promtool_check(path);
}

static void test_full(void **state) {
	struct fixture *f = *state;
	_cleanup_free_ char *page = render(&f->obs, &f->kernel, &fixed_ps);
	golden("full", page);
}

/* The kernel read failed, no process numbers: those families are left out entirely. */
static void test_no_kernel(void **state) {
	struct fixture *f = *state;
	_cleanup_free_ char *page = render(&f->obs, NULL, NULL);
	golden("no_kernel", page);
	assert_null(strstr(page, "ezlb_backend_weight"));
	assert_null(strstr(page, "process_"));
}

/* Nothing loaded, no health functions: every family still renders, without services. */
static void test_empty(void **state) {
	struct lb_observe o = {.last_reload_ok = true};
	_cleanup_free_ char *page = render(&o, NULL, NULL);
	golden("empty", page);
}

/* A few properties the golden file also shows, stated where a reader looks for them. */
static void test_properties(void **state) {
	struct fixture *f = *state;
	_cleanup_free_ char *p = render(&f->obs, &f->kernel, &fixed_ps);
	assert_non_null(strstr(p, "ezlb_backend_up{service=\"web\",backend=\"10.1.2.2:8080\"} 0\n"));
	assert_non_null(strstr(p, "ezlb_backend_weight{service=\"dns6\",backend=\"[2001:db8:1::10]:53\"} 1\n"));
	assert_non_null(strstr(p, "service=\"api \\\"v2\\\"\\\\\\nnext\""));
	assert_non_null(strstr(p, "ezlb_probe_lateness_seconds_bucket{le=\"0.005\"} 2\n"));
	assert_non_null(strstr(p, "ezlb_probe_lateness_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(p, "ezlb_backend_draining{service=\"web\",backend=\"10.1.9.2:8080\"} 1\n"));
	assert_non_null(strstr(p, "ezlb_service_quorum{service=\"web\"} 1\n"));
	/* announce: web serves, api does not (no_serve), dns6 has none: no sample */
	assert_non_null(strstr(p, "ezlb_service_announced{service=\"web\",interface=\"ezlb0\"} 1\n"));
	assert_non_null(strstr(p, "ezlb_service_announced{service=\"api \\\"v2\\\"\\\\\\nnext\","
				  "interface=\"ezlb1\"} 0\n"));
	assert_null(strstr(p, "ezlb_service_announced{service=\"dns6\""));
	/* the down backend is not in the kernel: no weight; the foreign service is not shown */
	assert_null(strstr(p, "ezlb_backend_weight{service=\"web\",backend=\"10.1.2.2:8080\"}"));
	assert_null(strstr(p, "10.0.0.9"));
	assert_null(strstr(p, "backend=\"10.1.1.2:80\""));
	/* a destination without counters has no counter series, but its weight */
	assert_null(strstr(p, "ezlb_backend_connections_total{service=\"dns6\",backend=\"[2001:db8:1::11]:53\"}"));
	assert_non_null(strstr(p, "ezlb_backend_weight{service=\"dns6\",backend=\"[2001:db8:1::11]:53\"} 1\n"));
}

static char *escaped(const char *s) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	lb_metrics_escape(s, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_escape(void **state) {
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ""},
		{"web", "web"},
		{"a\\b", "a\\\\b"},
		{"say \"hi\"", "say \\\"hi\\\""},
		{"two\nlines\n", "two\\nlines\\n"},
		{"\\\"\n", "\\\\\\\"\\n"},
		{"tab\tand é", "tab\tand é"}, /* everything else as is, UTF-8 included */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *got = escaped(cases[i].in);
		assert_string_equal(got, cases[i].out);
	}
}

/* A stream that fails (here: full) is reported, not ignored. */
static void test_write_error(void **state) {
	struct fixture *f = *state;
	char small[64];
	FILE *out = fmemopen(small, sizeof(small), "w");
	assert_non_null(out);
	setvbuf(out, NULL, _IONBF, 0);
	assert_int_equal(lb_metrics_render(&f->obs, &f->kernel, &fixed_ps, out), -EIO);
	fclose(out);
}

/* The page read from a generator in pieces of any size is the page lb_metrics_render writes. */
static char *read_all(const struct lb_observe *o, const struct lb_table *k,
		      const struct lb_procstat *ps, size_t piece, size_t *reads) {
	struct lb_table own = {0};
	if (k)
		assert_int_equal(lb_table_copy(&own, k), 0);
	struct lb_metrics_gen *g = lb_metrics_gen_new(o, k ? &own : NULL, ps);
	assert_non_null(g);
	assert_int_equal(own.n, 0); /* taken over */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	char *piece_buf = malloc(piece);
	ssize_t n;
	*reads = 0;
	while ((n = lb_metrics_gen_read(g, piece_buf, piece)) > 0) {
		assert_true((size_t)n <= piece);
		assert_int_equal(fwrite(piece_buf, 1, (size_t)n, f), (size_t)n);
		(*reads)++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(lb_metrics_gen_read(g, piece_buf, piece), 0); /* the end stays the end */
	free(piece_buf);
	lb_metrics_gen_free(g);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check_pieces(const struct lb_observe *o, const struct lb_table *k,
			 const struct lb_procstat *ps) {
	static const size_t sizes[] = {1, 7, 4096, 1 << 20};
	_cleanup_free_ char *whole = render_raw(o, k, ps);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t reads;
		_cleanup_free_ char *got = read_all(o, k, ps, sizes[i], &reads);
		assert_string_equal(got, whole);
		if (sizes[i] < strlen(whole))
			assert_true(reads >= strlen(whole) / sizes[i]);
	}
}

static void test_gen_pieces(void **state) {
	struct fixture *f = *state;
	check_pieces(&f->obs, &f->kernel, &fixed_ps);
	check_pieces(&f->obs, NULL, NULL);
	struct lb_observe empty = {.last_reload_ok = true};
	check_pieces(&empty, NULL, NULL);
}

/* A service with more destinations than one unit holds: they come whole and in order, and the
 * pieces still add up to the page. */
static void test_gen_big_service(void **state) {
	struct fixture *f = *state;
	struct lb_service *s;
	struct lb_svc_key k;
	assert_int_equal(lb_svc_key_parse("tcp 10.0.0.1:80", &k), 0);
	s = lb_table_find(&f->kernel, &k);
	assert_non_null(s);
	for (int i = 0; i < 1000; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.2.%d.%d:80", i / 250, i % 250 + 1);
		add_dest(s, a, (uint32_t)i, 1, 2, 3);
	}
	lb_service_sort(s);
	check_pieces(&f->obs, &f->kernel, &fixed_ps);
	_cleanup_free_ char *p = render_raw(&f->obs, &f->kernel, &fixed_ps);
	const char *at = p;
	for (int i = 0; i < 1000; i++) {
		char line[128];
		snprintf(line, sizeof(line),
			 "\nezlb_backend_weight{service=\"web\",backend=\"10.2.%d.%d:80\"} %d\n", i / 250,
			 i % 250 + 1, i);
		const char *next = strstr(at, line);
		if (!next)
			fail_msg("missing or out of order: %s", line + 1);
		at = next + 1;
	}
	size_t weights = 0;
	for (const char *q = p; (q = strstr(q, "\nezlb_backend_weight{")); q++)
		weights++;
	assert_int_equal(weights, 1000 + 3 + 1 + 2); /* web's 3, api's 1, dns6's 2 */
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_kernel, setup, teardown),
		cmocka_unit_test(test_empty),
		cmocka_unit_test_setup_teardown(test_properties, setup, teardown),
		cmocka_unit_test(test_escape),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_big_service, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
