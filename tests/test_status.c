/* `ezlb status` rendering against golden files (tests/status/NAME.json and NAME.txt): a fixed
 * state (tests/status/fixture.yaml, made-up health, drains and a hand-built kernel table) must
 * render to exactly those bytes. The JSON is compact on the wire; the golden file holds it
 * pretty-printed through json.c (which also proves the output parses and round-trips).
 *
 * EZLB_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing; review the diff. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "desired.h"
#include "drain.h"
#include "json.h"
#include "log.h"
#include "observe.h"
#include "state.h"
#include "status.h"
#include "table.h"

#define GOLDEN_DIR "tests/status/"
#define NOW_MS 1764663000000LL /* 2025-12-02T08:10:00Z */

/* ---- the fixed state ---- */

struct fake_health {
	const char *addr;
	struct lb_health_detail d;
};

static const struct fake_health health_web[] = {
	{"10.1.1.2:8080", {.checked = true, .raw = LB_HEALTH_UP, .state = LB_HEALTH_UP,
			   .since_ms = NOW_MS - 3723000, .transitions = 2, .last_probe_ms = NOW_MS - 400}},
	{"10.1.2.2:8080", {.checked = true, .raw = LB_HEALTH_DOWN, .state = LB_HEALTH_DOWN,
			   .since_ms = NOW_MS - 133000, .transitions = 1, .reason = "connection refused",
			   .last_probe_ms = NOW_MS - 900}},
	{"10.1.3.2:8080", {.checked = true, .raw = LB_HEALTH_UNKNOWN, .state = LB_HEALTH_UP,
			   .since_ms = NOW_MS - 1500}},
	{"10.2.1.2:80", {.checked = true, .raw = LB_HEALTH_UP, .state = LB_HEALTH_UP,
			 .since_ms = NOW_MS - 90061000, .last_probe_ms = NOW_MS - 100}},
	{"10.2.2.2:80", {.checked = true, .raw = LB_HEALTH_DOWN, .state = LB_HEALTH_DOWN,
			 .since_ms = NOW_MS - 45000, .transitions = 7, .reason = "timeout",
			 .last_probe_ms = NOW_MS - 200}},
	{"10.2.3.2:80", {.checked = true, .raw = LB_HEALTH_DOWN, .state = LB_HEALTH_DOWN,
			 .since_ms = NOW_MS - 45000, .transitions = 7,
			 .reason = "HTTP 503: body lacks \"ok\"", .last_probe_ms = NOW_MS - 200}},
	{0},
};

/* A reason from the network with everything a terminal or a JSON parser must not get raw. */
static const struct fake_health health_odd[] = {
	{"10.1.2.2:8080", {.checked = true, .raw = LB_HEALTH_DOWN, .state = LB_HEALTH_DOWN,
			   .since_ms = NOW_MS - 5000, .transitions = 1,
			   .reason = "exit status 1: \x1b[31mred\x1b[0m \"q\" \\ tab\there \xff\xfe caf\xc3\xa9 \xe2\x80\xa8 \xc2\x9b" "2J",
			   .last_probe_ms = NOW_MS - 900}},
	{0},
};

static bool fake_detail(const void *ud, const struct lb_service_conf *svc,
			const struct lb_backend_conf *be, struct lb_health_detail *out) {
	const struct fake_health *t = ud;
	char a[LB_ADDRSTRLEN];
	lb_addr_fmt(&be->addr, a);
	for (; t->addr; t++)
		if (strcmp(t->addr, a) == 0 && svc->check.enabled) {
			*out = t->d;
			return true;
		}
	memset(out, 0, sizeof(*out));
	out->state = LB_HEALTH_UP; /* unprobed: counts as up */
	return false;
}

static struct lb_svc_key key(const char *s) {
	struct lb_svc_key k;
	assert_int_equal(lb_svc_key_parse(s, &k), 0);
	return k;
}

static struct lb_addr addr(const char *s) {
	struct lb_addr a;
	assert_int_equal(lb_addr_parse(s, &a), 0);
	return a;
}

static struct lb_kstats stats(uint64_t base) {
	return (struct lb_kstats){.conns = base, .inpkts = base * 10, .outpkts = base * 9,
				  .inbytes = base * 1000, .outbytes = base * 20000, .cps = base % 7,
				  .inpps = base % 11, .outpps = base % 13, .inbps = base % 1000,
				  .outbps = base % 10000};
}

static struct lb_service *ksvc(struct lb_table *t, const char *k, uint64_t conns) {
	struct lb_service *s = lb_table_add_service(t);
	assert_non_null(s);
	s->key = key(k);
	snprintf(s->sched, sizeof(s->sched), "wrr");
	s->stats_known = true;
	s->stats = stats(conns);
	return s;
}

static void kdest(struct lb_service *s, const char *a, uint32_t weight, uint32_t active,
		  uint32_t inactive, uint64_t conns) {
	struct lb_dest *d = lb_service_add_dest(s);
	assert_non_null(d);
	d->addr = addr(a);
	d->fwd = 0;
	d->weight = weight;
	d->conns_known = true;
	d->active = active;
	d->inactive = inactive;
	d->persist = active ? 1 : 0;
	d->stats_known = true;
	d->stats = stats(conns);
}

/* The kernel: web with two of its backends, a draining destination and a stranger (listed twice,
 * as a torn dump may), api with only its sorry server, dns6 with counters the dump lacked, new
 * absent. */
static void build_kernel(struct lb_table *t) {
	struct lb_service *s = ksvc(t, "tcp 10.0.0.1:80", 170);
	kdest(s, "10.1.1.2:8080", 5, 3, 1, 120);
	kdest(s, "10.1.3.2:8080", 2, 0, 2, 0);
	kdest(s, "10.1.4.2:8080", 0, 1, 0, 50);
	kdest(s, "10.1.5.2:8080", 1, 0, 0, 0);
	kdest(s, "10.1.5.2:8080", 1, 0, 0, 0);
	s = ksvc(t, "tcp 10.0.0.2:80", 18446744073709551615ULL);
	kdest(s, "10.9.9.9:8080", 7, 4, 0, 18446744073709551615ULL);
	s = ksvc(t, "udp [2001:db8::53]:53", 9);
	s->stats_known = false;
	kdest(s, "[2001:db8:1::10]:5353", 1, 0, 5, 9);
	s->dests[0].stats_known = false;
	lb_table_sort(t);
}

struct fixture {
	struct lb_config *cfg;
	struct lb_table kernel;
	struct lb_drains drains;
	struct lb_owned no_quorum;
	struct lb_observe o;
};

static int setup(void **state) {
	struct fixture *f = calloc(1, sizeof(*f));
	struct lb_diag diag = {0};
	assert_non_null(f);
	int r = lb_config_load(GOLDEN_DIR "fixture.yaml", &f->cfg, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	lb_diag_free(&diag);
	assert_int_equal(r, 0);
	build_kernel(&f->kernel);
	struct lb_drain d = {.svc = key("tcp 10.0.0.1:80"), .dest = addr("10.1.4.2:8080"),
			     .since_ms = NOW_MS - 12000, .timeout_ms = 60000};
	assert_int_equal(lb_drains_put(&f->drains, &d), 0);
	struct lb_drain whole = {.svc = key("tcp 10.0.0.99:80"), .since_ms = NOW_MS - 1000,
				 .timeout_ms = 5000};
	assert_int_equal(lb_drains_put(&f->drains, &whole), 0);
	struct lb_svc_key api = key("tcp 10.0.0.2:80");
	assert_int_equal(lb_owned_add(&f->no_quorum, &api), 0);
	f->o = (struct lb_observe){
		.cfg = f->cfg,
		.config_path = "/etc/ezlb/ezlb.yaml",
		.config_loaded_ms = NOW_MS - 600000,
		.config_error = "/etc/ezlb/ezlb.yaml:3:5: services[0].schedular: unknown key (did you mean \"scheduler\"?)\n"
				"/etc/ezlb/ezlb.yaml:9:20: services[0].backends[0].weight: \"70000\" is out of range 0..65535",
		.health_detail = fake_detail,
		.health_ud = health_web,
		.drains = &f->drains,
		.no_quorum = &f->no_quorum,
		.start_ms = NOW_MS - 4000000,
		.last_reconcile_ms = NOW_MS - 10123,
		.last_kind = LB_RECONCILE_TARGETED,
		.last_changes = 3,
		.last_failed = 1,
	};
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fixture *f = *state;
	lb_config_free(f->cfg);
	lb_table_clear(&f->kernel);
	lb_drains_free(&f->drains);
	lb_owned_free(&f->no_quorum);
	free(f);
	return 0;
}

/* ---- golden files ---- */

static char *slurp(const char *path, size_t *len) {
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	assert_non_null(m);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	*len = cap;
	return buf;
}

static void spit(const char *path, const char *buf, size_t len) {
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The version changes with every release; the golden files say @VERSION@. */
static char *unversion(const char *s) {
	static const char *const pats[][2] = {
		{"\"version\": \"" EZLB_VERSION "\"", "\"version\": \"@VERSION@\""},
		{"ezlb " EZLB_VERSION ",", "ezlb @VERSION@,"},
	};
	char *out = strdup(s);
	assert_non_null(out);
	for (size_t p = 0; p < 2; p++) {
		char *at = strstr(out, pats[p][0]);
		if (!at)
			continue;
		char *n = NULL;
		assert_true(asprintf(&n, "%.*s%s%s", (int)(at - out), out, pats[p][1],
				     at + strlen(pats[p][0])) > 0);
		free(out);
		out = n;
	}
	return out;
}

static void golden(const char *name, const char *actual) {
	char path[256], apath[256], cmd[600];
	size_t len = 0;
	snprintf(path, sizeof(path), GOLDEN_DIR "%s", name);
	char *got = unversion(actual);
	if (getenv("EZLB_UPDATE_GOLDEN")) {
		spit(path, got, strlen(got));
		free(got);
		return;
	}
	char *want = slurp(path, &len);
	if (!want || len != strlen(got) || memcmp(want, got, len) != 0) {
		snprintf(apath, sizeof(apath), "/tmp/ezlb-status-%s.actual", name);
		spit(apath, got, strlen(got));
		snprintf(cmd, sizeof(cmd), "diff -u %s %s >&2", path, apath);
		fprintf(stderr, "%s differs from the output (EZLB_UPDATE_GOLDEN=1 to accept it):\n", path);
		if (system(cmd) < 0)
			fprintf(stderr, "(cannot run diff)\n");
		free(want);
		free(got);
		fail_msg("%s: output differs", name);
	}
	free(want);
	free(got);
}

/* Renders the JSON, checks it parses and round-trips byte for byte, and returns it pretty. */
static char *render_json(const struct lb_observe *o, const struct lb_table *k, char *const *only,
			 size_t n_only) {
	char *compact = NULL, *again = NULL, *pretty = NULL;
	size_t clen = 0, alen = 0, plen = 0;
	FILE *m = open_memstream(&compact, &clen);
	assert_int_equal(lb_status_json(o, k, only, n_only, NOW_MS, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_null(memchr(compact, '\n', clen)); /* one line: the wire protocol needs it */

	struct lb_json *v = NULL;
	struct lb_json_error err = {0};
	int r = lb_json_parse(compact, clen, SIZE_MAX, 16, &v, &err);
	if (r < 0)
		fail_msg("status JSON does not parse: %s at %zu: %.60s", err.why, err.offset,
			 compact + (err.offset < clen ? err.offset : clen));
	struct lb_jw w;
	m = open_memstream(&again, &alen);
	lb_jw_init(&w, m, 0);
	lb_jw_value(&w, v);
	assert_int_equal(lb_jw_finish(&w), 0);
	assert_int_equal(fclose(m), 0);
	assert_int_equal(alen, clen);
	assert_memory_equal(again, compact, clen);

	m = open_memstream(&pretty, &plen);
	lb_jw_init(&w, m, 2);
	lb_jw_value(&w, v);
	assert_int_equal(lb_jw_finish(&w), 0);
	fputc('\n', m);
	assert_int_equal(fclose(m), 0);
	lb_json_free(v);
	free(compact);
	free(again);
	return pretty;
}

static char *render_text(const struct lb_observe *o, const struct lb_table *k, char *const *only,
			 size_t n_only) {
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(lb_status_text(o, k, only, n_only, NOW_MS, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_int_equal(strlen(buf), len); /* no NUL inside */
	return buf;
}

static void check_both(const char *name, const struct lb_observe *o, const struct lb_table *k,
		       char *const *only, size_t n_only) {
	char file[64];
	char *s = render_json(o, k, only, n_only);
	snprintf(file, sizeof(file), "%s.json", name);
	golden(file, s);
	free(s);
	s = render_text(o, k, only, n_only);
	snprintf(file, sizeof(file), "%s.txt", name);
	golden(file, s);
	free(s);
}

/* ---- tests ---- */

/* Everything at once: a backend down with its reason, one without a verdict, a draining
 * destination, a stranger listed twice by a torn dump, quorum lost with the sorry server in the
 * kernel, a service not in the kernel, counters the dump lacked, uint64 maximum counters, a
 * config error of two lines, a reconcile with a failed op. */
static void test_full(void **state) {
	struct fixture *f = *state;
	check_both("full", &f->o, &f->kernel, NULL, 0);
}

/* The kernel read failed: every kernel field is null or "-", and kernel_error says so. No
 * reconcile yet, no config error, no drain, no quorum record, no health functions at all. */
static void test_no_kernel(void **state) {
	struct fixture *f = *state;
	struct lb_observe o = f->o;
	o.config_error = NULL;
	o.last_reconcile_ms = 0;
	o.drains = NULL;
	o.no_quorum = NULL;
	o.health_detail = NULL;
	check_both("nokernel", &o, NULL, NULL, 0);
}

/* only: the services asked for, in config order, whatever the order asked in. */
static void test_only(void **state) {
	struct fixture *f = *state;
	char *only[] = {"api", "web", "api"};
	struct lb_observe o = f->o;
	o.last_err = -ETIMEDOUT;
	o.last_kind = LB_RECONCILE_FULL;
	check_both("only", &o, &f->kernel, only, 3);
}

/* A service whose destinations the read did not cover (configured after the read was asked
 * for): its counters are shown, its destinations unknown (null), not "absent". */
static void test_partial(void **state) {
	struct fixture *f = *state;
	struct lb_svc_key k = key("tcp 10.0.0.1:80");
	struct lb_service *web = lb_table_find(&f->kernel, &k);
	assert_non_null(web);
	web->dests_unknown = true;
	char *only[] = {"web"};
	check_both("partial", &f->o, &f->kernel, only, 1);
}

/* An unknown name: -ENOENT, nothing written, and lb_status_unknown names it. */
static void test_unknown(void **state) {
	struct fixture *f = *state;
	char *only[] = {"web", "nope", "also-nope"};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(lb_status_json(&f->o, &f->kernel, only, 3, NOW_MS, m), -ENOENT);
	assert_int_equal(lb_status_text(&f->o, &f->kernel, only, 3, NOW_MS, m), -ENOENT);
	assert_int_equal(fclose(m), 0);
	assert_int_equal(len, 0);
	free(buf);
	assert_string_equal(lb_status_unknown(&f->o, only, 3), "nope");
	assert_null(lb_status_unknown(&f->o, only, 1));
	/* a prefix is not the name */
	char *prefix[] = {"we"};
	assert_string_equal(lb_status_unknown(&f->o, prefix, 1), "we");
}

/* Names, paths, errors and reasons with quotes, control characters, escape sequences and
 * invalid UTF-8: valid JSON, and text that shows them without handing them to the terminal.
 * (The config loader refuses such service names; status must not depend on it.) */
static void test_odd_names(void **state) {
	struct fixture *f = *state;
	struct lb_service_conf *web = &f->cfg->services[0];
	char *saved = web->name;
	web->name = strdup("we\"b\\\x01\n\x1b[2J\xc3\x28\xf0\x9f\x98\x80");
	assert_non_null(web->name);
	struct lb_observe o = f->o;
	o.config_path = "/etc/ezlb/\xe9t\xe9\t.yaml";
	o.config_error = "bad \x7f\x1b]0;title\x07 line\r\nsecond line\n";
	o.health_ud = health_odd;
	char *only[] = {web->name};
	check_both("odd", &o, &f->kernel, only, 1);
	free(web->name);
	web->name = saved;
}

static void test_fmt(void **state) {
	char b[LB_STATUS_TIMELEN], d[LB_STATUS_DURLEN];
	assert_string_equal(lb_status_fmt_time(NOW_MS + 7, true, b), "2025-12-02T08:10:00.007Z");
	assert_string_equal(lb_status_fmt_time(NOW_MS + 999, false, b), "2025-12-02T08:10:00Z");
	assert_string_equal(lb_status_fmt_time(-1, true, b), "1969-12-31T23:59:59.999Z");
	assert_string_equal(lb_status_fmt_time(INT64_MAX, true, b), "292278994-08-17T07:12:55.807Z");
	assert_string_equal(lb_status_fmt_dur(-5, d), "0ms");
	assert_string_equal(lb_status_fmt_dur(999, d), "999ms");
	assert_string_equal(lb_status_fmt_dur(59999, d), "59s");
	assert_string_equal(lb_status_fmt_dur(133000, d), "2m13s");
	assert_string_equal(lb_status_fmt_dur(3723000, d), "1h2m");
	assert_string_equal(lb_status_fmt_dur(90061000, d), "1d1h");
}

/* A failing stream is reported, not ignored. */
static void test_write_error(void **state) {
	struct fixture *f = *state;
	FILE *full = fopen("/dev/full", "w");
	if (!full)
		skip();
	setvbuf(full, NULL, _IONBF, 0);
	assert_int_equal(lb_status_json(&f->o, &f->kernel, NULL, 0, NOW_MS, full), -EIO);
	clearerr(full);
	assert_int_equal(lb_status_text(&f->o, &f->kernel, NULL, 0, NOW_MS, full), -EIO);
	fclose(full);
}

/* ---- the generator: the answer line in pieces ---- */

/* Reads g to its end in reads of at most step bytes. */
static char *gen_all(struct lb_status_gen *g, size_t step, size_t *len) {
	char *buf = NULL, *piece = malloc(step);
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	assert_non_null(m);
	assert_non_null(piece);
	ssize_t n;
	int again = 0;
	while ((n = lb_status_gen_read(g, piece, step)) != 0) {
		if (n == -EAGAIN) {
			assert_true(++again < 100000);
			continue;
		}
		assert_true(n > 0 && (size_t)n <= step);
		fwrite(piece, 1, (size_t)n, m);
	}
	assert_int_equal(lb_status_gen_read(g, piece, step), 0); /* stays at the end */
	assert_int_equal(fclose(m), 0);
	free(piece);
	*len = cap;
	return buf;
}

/* What lb_status_json / lb_status_text write, wrapped as the control socket's answer line. */
static char *envelope(const struct lb_observe *o, const struct lb_table *k, char *const *only,
		      size_t n_only, bool json, char **plain) {
	char *body = NULL, *line = NULL;
	size_t blen = 0, llen = 0;
	FILE *m = open_memstream(&body, &blen);
	assert_int_equal((json ? lb_status_json : lb_status_text)(o, k, only, n_only, NOW_MS, m), 0);
	assert_int_equal(fclose(m), 0);
	m = open_memstream(&line, &llen);
	if (json)
		fprintf(m, "{\"ok\":true,\"status\":%s}\n", body);
	else {
		fputs("{\"ok\":true,\"text\":\"", m);
		lb_json_escape(m, body, blen); /* the whole text at once */
		fputs("\"}\n", m);
	}
	assert_int_equal(fclose(m), 0);
	*plain = body;
	return line;
}

static void check_gen(const struct lb_observe *o, const struct lb_table *k, char *const *only,
		      size_t n_only) {
	static const size_t steps[] = {1, 7, 4096};
	for (int json = 0; json < 2; json++) {
		char *plain;
		char *want = envelope(o, k, only, n_only, json, &plain);
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			struct lb_table copy = {0};
			int err = 1;
			if (k)
				assert_int_equal(lb_table_copy(&copy, k), 0);
			struct lb_status_gen *g = lb_status_gen_new(o, k ? &copy : NULL, only, n_only,
								    NOW_MS, json, &err);
			assert_non_null(g);
			assert_int_equal(err, 0);
			assert_int_equal(copy.n, 0); /* taken over */
			size_t len;
			char *got = gen_all(g, steps[i], &len);
			lb_status_gen_free(g);
			assert_int_equal(len, strlen(want));
			assert_memory_equal(got, want, len);
			/* one line that parses, and the text in it is lb_status_text's */
			assert_null(memchr(got, '\n', len - 1));
			struct lb_json *v = NULL;
			assert_int_equal(lb_json_parse(got, len - 1, SIZE_MAX, 32, &v, NULL), 0);
			assert_true(lb_json_get(v, "ok")->boolean);
			if (!json) {
				const struct lb_json *t = lb_json_get(v, "text");
				assert_true(lb_json_is(t, LB_JSON_STRING));
				/* put_text made it valid UTF-8: it comes back exactly */
				assert_int_equal(t->len, strlen(plain));
				assert_memory_equal(t->str, plain, t->len);
			} else
				assert_true(lb_json_is(lb_json_get(v, "status"), LB_JSON_OBJECT));
			lb_json_free(v);
			free(got);
		}
		free(want);
		free(plain);
	}
}

static void test_gen(void **state) {
	struct fixture *f = *state;
	check_gen(&f->o, &f->kernel, NULL, 0);
	struct lb_observe o = f->o;
	o.config_error = NULL;
	check_gen(&o, NULL, NULL, 0);
	char *only[] = {"api", "web"};
	check_gen(&f->o, &f->kernel, only, 2);
	/* unknown names: refused at creation, the table taken over all the same */
	char *nope[] = {"nope"};
	struct lb_table copy = {0};
	int err = 0;
	assert_int_equal(lb_table_copy(&copy, &f->kernel), 0);
	assert_null(lb_status_gen_new(&f->o, &copy, nope, 1, NOW_MS, true, &err));
	assert_int_equal(err, -ENOENT);
	assert_int_equal(copy.n, 0);
}

/* Hostile bytes escaped unit by unit: the text's units end with newlines, so escaping each is
 * escaping the whole (no UTF-8 sequence, valid or not, is cut; U+2028 stays whole). */
static void test_gen_odd(void **state) {
	struct fixture *f = *state;
	struct lb_service_conf *web = &f->cfg->services[0];
	char *saved = web->name;
	web->name = strdup("we\"b\\\x01\n\x1b[2J\xc3\x28\xf0\x9f\x98\x80\xe2\x80\xa8\xe2\x82");
	assert_non_null(web->name);
	struct lb_observe o = f->o;
	o.config_path = "/etc/ezlb/\xe9t\xe9\t.yaml\xe2\x80";
	o.config_error = "bad \x7f\x1b]0;title\x07 line\r\nsecond line \xf0\x9f\n";
	o.health_ud = health_odd;
	check_gen(&o, &f->kernel, NULL, 0);
	free(web->name);
	web->name = saved;
}

/* A reload while an answer streams: the old config is freed (ASan sees any pointer kept into
 * it), a service that left is skipped, one that stayed is shown from the new config. */
static void test_gen_reload(void **state) {
	struct fixture *f = *state;
	for (int json = 0; json < 2; json++) {
		struct lb_config *old = NULL, *next = NULL;
		struct lb_diag diag = {0};
		assert_int_equal(lb_config_load(GOLDEN_DIR "fixture.yaml", &old, &diag), 0);
		assert_int_equal(lb_config_load(GOLDEN_DIR "fixture.yaml", &next, &diag), 0);
		lb_diag_free(&diag);
		free(next->services[1].name); /* api left, new.svc-1 renamed */
		next->services[1].name = strdup("api-gone");
		free(next->services[3].name);
		next->services[3].name = strdup("renamed");
		struct lb_observe o = f->o;
		o.cfg = old;
		int err;
		struct lb_status_gen *g = lb_status_gen_new(&o, NULL, NULL, 0, NOW_MS, json, &err);
		assert_non_null(g);
		char piece[8];
		assert_true(lb_status_gen_read(g, piece, sizeof(piece)) > 0);
		o.cfg = next;
		lb_config_free(old);
		size_t len;
		char *got = gen_all(g, 4096, &len);
		lb_status_gen_free(g);
		struct lb_json *v = NULL;
		char *line = NULL;
		assert_true(asprintf(&line, "%.*s%s", (int)sizeof(piece), piece, got) > 0);
		size_t llen = strlen(line);
		assert_int_equal(line[llen - 1], '\n');
		assert_int_equal(lb_json_parse(line, llen - 1, SIZE_MAX, 32, &v, NULL), 0);
		if (json) {
			const struct lb_json *svcs = lb_json_get(lb_json_get(v, "status"), "services");
			assert_int_equal(svcs->n, 2);
			assert_string_equal(lb_json_cstr(lb_json_get(&svcs->items[0], "name")), "web");
			assert_string_equal(lb_json_cstr(lb_json_get(&svcs->items[1], "name")), "dns6");
		} else {
			const char *t = lb_json_cstr(lb_json_get(v, "text"));
			assert_non_null(strstr(t, "  web: "));
			assert_non_null(strstr(t, "  dns6: "));
			assert_null(strstr(t, "api"));
			assert_null(strstr(t, "renamed"));
		}
		lb_json_free(v);
		free(line);
		free(got);
		lb_config_free(next);
	}
}

int main(void) {
	log_setup(LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_names, setup, teardown),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_odd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_reload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
