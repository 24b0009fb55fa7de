/* The sysctl advice: each rule fires for the config it hurts and stays quiet for a good value, an
 * unreadable one (-1) and a config it does not concern; the service naming; and the reader
 * against a tree of hostile files. Configs are filled by hand (no YAML: the decoder's keys for
 * drain, quorum and sorry servers are not what is tested here). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sysctl.h"
#include "test_fds.h"

/* ---- configs ---- */

#define MAX_SVCS 8

struct fixture {
	struct lb_config cfg;
	struct lb_service_conf svcs[MAX_SVCS];
};

/* A TCP IPv4 NAT service without persistence, health checks on (tcp), on_failure remove, no
 * drain and no quorum: it quiesces nothing. */
static struct lb_service_conf *add_svc(struct fixture *f, const char *name) {
	assert_true(f->cfg.n_services < MAX_SVCS);
	struct lb_service_conf *sc = &f->svcs[f->cfg.n_services++];
	memset(sc, 0, sizeof(*sc));
	sc->name = (char *)name;
	sc->protocol = IPPROTO_TCP;
	assert_int_equal(lb_addr_parse("10.0.0.1:80", &sc->listen), 0);
	sc->forward = LB_FWD_NAT;
	sc->check.enabled = true;
	sc->check.on_failure = LB_ON_FAILURE_REMOVE;
	sc->quorum.on_loss = LB_ON_LOSS_FAIL_OPEN;
	f->cfg.services = f->svcs;
	return sc;
}

/* "sticky": persistent (300 s) and quiescing on failure, the service rule 2 is about. */
static struct lb_service_conf *add_sticky(struct fixture *f) {
	struct lb_service_conf *sc = add_svc(f, "sticky");
	sc->persist_timeout_s = 300;
	sc->check.on_failure = LB_ON_FAILURE_QUIESCE;
	return sc;
}

static void set_listen(struct lb_service_conf *sc, const char *ep) {
	assert_int_equal(lb_addr_parse(ep, &sc->listen), 0);
}

/* Every value good: nothing may warn. */
static const struct lb_sysctls GOOD = {
	.ip_forward = 1,
	.ip6_forward = 1,
	.expire_nodest_conn = 1,
	.expire_quiescent_template = 1,
	.conn_reuse_mode = 1,
	.conntrack = 0,
};

/* ---- collecting warnings ---- */

struct warnings {
	char *msg[16];
	size_t n;
};

static void collect(const char *msg, void *ud) {
	struct warnings *w = ud;
	assert_true(w->n < 16);
	w->msg[w->n] = strdup(msg);
	assert_non_null(w->msg[w->n]);
	w->n++;
}

static void warnings_free(struct warnings *w) {
	for (size_t i = 0; i < w->n; i++)
		free(w->msg[i]);
	w->n = 0;
}

/* Runs the advice; checks that the count returned is the count of calls. */
static void advise(const struct lb_sysctls *s, const struct fixture *f, struct warnings *w) {
	warnings_free(w);
	size_t n = lb_sysctls_advise(s, &f->cfg, collect, w);
	assert_int_equal(n, w->n);
}

static size_t count_advice(const struct lb_sysctls *s, const struct fixture *f) {
	struct warnings w = {0};
	advise(s, f, &w);
	size_t n = w.n;
	warnings_free(&w);
	return n;
}

/* The one warning s gives for f contains every string of want (NULL-terminated). */
static void expect_one(const struct lb_sysctls *s, const struct fixture *f, const char *const *want) {
	struct warnings w = {0};
	advise(s, f, &w);
	for (size_t i = 0; i < w.n; i++)
		print_message("warning: %s\n", w.msg[i]);
	assert_int_equal(w.n, 1);
	for (const char *const *p = want; *p; p++) {
		if (!strstr(w.msg[0], *p))
			fail_msg("\"%s\" not in \"%s\"", *p, w.msg[0]);
	}
	warnings_free(&w);
}

#define EXPECT_ONE(s, f, ...) expect_one((s), (f), (const char *const[]){__VA_ARGS__, NULL})

/* ---- rule 1: forwarding for NAT ---- */

static void test_ip_forward(void **state) {
	struct fixture f = {0};
	add_svc(&f, "web");
	struct lb_sysctls s = GOOD;
	assert_int_equal(count_advice(&s, &f), 0);

	s.ip_forward = 0;
	struct warnings w = {0};
	advise(&s, &f, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.msg[0],
			    "sysctl net.ipv4.ip_forward = 0: replies from the NAT backends of service "
			    "\"web\" are not forwarded back through this director, so clients get no "
			    "answer; fix: sysctl -w net.ipv4.ip_forward=1");
	warnings_free(&w);

	s.ip_forward = -1; /* unreadable: never a warning */
	assert_int_equal(count_advice(&s, &f), 0);

	/* not concerned: DR and TUN backends answer clients directly; an IPv6 service is rule 1b */
	s.ip_forward = 0;
	f.svcs[0].forward = LB_FWD_DR;
	assert_int_equal(count_advice(&s, &f), 0);
	f.svcs[0].forward = LB_FWD_TUN;
	assert_int_equal(count_advice(&s, &f), 0);
	f.svcs[0].forward = LB_FWD_NAT;
	set_listen(&f.svcs[0], "[2001:db8::1]:80");
	assert_int_equal(count_advice(&s, &f), 0);
}

static void test_ip6_forward(void **state) {
	struct fixture f = {0};
	set_listen(add_svc(&f, "web6"), "[2001:db8::1]:80");
	struct lb_sysctls s = GOOD;
	s.ip6_forward = 0;
	EXPECT_ONE(&s, &f, "sysctl net.ipv6.conf.all.forwarding = 0: ", "service \"web6\"",
		   "fix: sysctl -w net.ipv6.conf.all.forwarding=1", "accept_ra");
	s.ip6_forward = -1;
	assert_int_equal(count_advice(&s, &f), 0);
	s.ip6_forward = 0;
	f.svcs[0].forward = LB_FWD_DR;
	assert_int_equal(count_advice(&s, &f), 0);
	/* an IPv4 NAT service does not need IPv6 forwarding */
	f.svcs[0].forward = LB_FWD_NAT;
	set_listen(&f.svcs[0], "10.0.0.1:80");
	assert_int_equal(count_advice(&s, &f), 0);
}

/* ---- rule 2: expire_quiescent_template for persistent services that set weights to 0 ---- */

static void test_quiescent_template(void **state) {
	struct fixture f = {0};
	struct lb_service_conf *sc = add_sticky(&f);
	struct lb_sysctls s = GOOD;
	assert_int_equal(count_advice(&s, &f), 0);

	s.expire_quiescent_template = 0;
	EXPECT_ONE(&s, &f, "sysctl net.ipv4.vs.expire_quiescent_template = 0: ",
		   "service \"sticky\" has persistence", "weight 0", "kubernetes#81591",
		   "fix: sysctl -w net.ipv4.vs.expire_quiescent_template=1");
	s.expire_quiescent_template = -1;
	assert_int_equal(count_advice(&s, &f), 0);

	/* each way of quiescing concerns it; UDP too (templates are per client, any protocol) */
	s.expire_quiescent_template = 0;
	sc->protocol = IPPROTO_UDP;
	assert_int_equal(count_advice(&s, &f), 1);
	sc->protocol = IPPROTO_TCP;
	sc->check.on_failure = LB_ON_FAILURE_REMOVE;
	assert_int_equal(count_advice(&s, &f), 0);
	sc->drain_timeout_ms = 60000;
	assert_int_equal(count_advice(&s, &f), 1);
	sc->drain_timeout_ms = 0;
	sc->quorum.enabled = true;
	sc->quorum.on_loss = LB_ON_LOSS_SORRY;
	assert_int_equal(count_advice(&s, &f), 1);
	sc->quorum.on_loss = LB_ON_LOSS_EMPTY;
	assert_int_equal(count_advice(&s, &f), 1);
	sc->quorum.on_loss = LB_ON_LOSS_FAIL_OPEN; /* fails open: no weight changes */
	assert_int_equal(count_advice(&s, &f), 0);
	sc->quorum.enabled = false;
	struct lb_backend_conf sorry = {.weight = 1};
	sc->sorry = &sorry;
	sc->n_sorry = 1;
	sc->quorum.on_loss = LB_ON_LOSS_SORRY; /* sorry servers without a quorum block */
	assert_int_equal(count_advice(&s, &f), 1);
	sc->sorry = NULL;
	sc->n_sorry = 0;

	/* not concerned: quiesces but no persistence */
	sc->check.on_failure = LB_ON_FAILURE_QUIESCE;
	sc->persist_timeout_s = 0;
	assert_int_equal(count_advice(&s, &f), 0);
}

/* ---- rule 3: expire_nodest_conn for services whose checks remove backends ---- */

static void test_nodest(void **state) {
	struct fixture f = {0};
	struct lb_service_conf *sc = add_svc(&f, "plain");
	struct lb_sysctls s = GOOD;
	s.expire_nodest_conn = 0;
	s.conn_reuse_mode = 1; /* rule 4 stays quiet: conn_reuse_mode is good */
	EXPECT_ONE(&s, &f, "sysctl net.ipv4.vs.expire_nodest_conn = 0: ",
		   "when health checks remove a backend of service \"plain\"", "15 min",
		   "fix: sysctl -w net.ipv4.vs.expire_nodest_conn=1");
	s.expire_nodest_conn = -1;
	assert_int_equal(count_advice(&s, &f), 0);

	s.expire_nodest_conn = 0;
	sc->check.on_failure = LB_ON_FAILURE_QUIESCE; /* not concerned: nothing is removed */
	assert_int_equal(count_advice(&s, &f), 0);
	sc->check.on_failure = LB_ON_FAILURE_REMOVE;
	sc->check.enabled = false; /* not concerned: no checks, nothing is ever found down */
	assert_int_equal(count_advice(&s, &f), 0);
	sc->check.enabled = true;
	sc->check.type = LB_CHECK_NONE;
	assert_int_equal(count_advice(&s, &f), 0);
	sc->check.type = LB_CHECK_AUTO;
	sc->protocol = IPPROTO_SCTP; /* auto means none for sctp */
	assert_int_equal(count_advice(&s, &f), 0);
	sc->check.type = LB_CHECK_EXEC;
	assert_int_equal(count_advice(&s, &f), 1);
}

/* ---- rule 4: conn_reuse_mode for services that set weights to 0 ---- */

static void test_conn_reuse(void **state) {
	struct fixture f = {0};
	struct lb_service_conf *sc = add_svc(&f, "quiet");
	sc->check.on_failure = LB_ON_FAILURE_QUIESCE;
	struct lb_sysctls s = GOOD;
	s.conn_reuse_mode = 0;
	s.expire_nodest_conn = 0;
	s.conntrack = 0;
	EXPECT_ONE(&s, &f, "sysctl net.ipv4.vs.conn_reuse_mode = 0: ",
		   "a new connection to service \"quiet\" that reuses the client port", "weight 0",
		   "fix: sysctl -w net.ipv4.vs.conn_reuse_mode=1");
	s.conn_reuse_mode = -1;
	assert_int_equal(count_advice(&s, &f), 0);
	s.conn_reuse_mode = 2; /* any non-zero mode reschedules */
	assert_int_equal(count_advice(&s, &f), 0);

	s.conn_reuse_mode = 0;
	sc->check.on_failure = LB_ON_FAILURE_REMOVE;
	sc->drain_timeout_ms = 5000; /* a drain quiesces too */
	assert_int_equal(count_advice(&s, &f), 2); /* and rule 3: checks remove */
	sc->check.enabled = false;
	assert_int_equal(count_advice(&s, &f), 1);
	sc->drain_timeout_ms = 0; /* not concerned: no weight is ever set to 0 */
	assert_int_equal(count_advice(&s, &f), 0);

	sc->check.on_failure = LB_ON_FAILURE_QUIESCE;
	sc->protocol = IPPROTO_UDP; /* not concerned: UDP has no connection opening (is_new_conn) */
	assert_int_equal(count_advice(&s, &f), 0);
	sc->protocol = IPPROTO_SCTP;
	assert_int_equal(count_advice(&s, &f), 1);
	sc->protocol = IPPROTO_TCP;
	sc->persist_timeout_s = 60; /* persistence: the mode never applies (rule 2 does) */
	s.expire_quiescent_template = 1;
	assert_int_equal(count_advice(&s, &f), 0);
	sc->persist_timeout_s = 0;

	/* expire_nodest_conn reschedules a reused port of a weight-0 backend whatever the mode
	 * (Linux 5.16 and later) */
	s.expire_nodest_conn = 1;
	assert_int_equal(count_advice(&s, &f), 0);
}

/* ---- rule 5: conntrack with rescheduling of reused ports ---- */

static void test_conntrack(void **state) {
	struct fixture f = {0};
	add_svc(&f, "plain");
	struct lb_sysctls s = GOOD;
	s.conntrack = 1;
	EXPECT_ONE(&s, &f, "sysctl net.ipv4.vs.conntrack = 1: ",
		   "when a new connection to service \"plain\" reuses the client port",
		   "(conn_reuse_mode 1, expire_nodest_conn 1)", "about 1 s", "kubernetes#81775",
		   "fix: sysctl -w net.ipv4.vs.conntrack=0, unless netfilter rules");
	s.conntrack = -1; /* absent without CONFIG_IP_VS_NFCT */
	assert_int_equal(count_advice(&s, &f), 0);
	s.conntrack = 1;
	s.conn_reuse_mode = 3;
	assert_int_equal(count_advice(&s, &f), 1);

	/* nothing rescheduled, nothing dropped */
	s.conn_reuse_mode = 0;
	s.expire_nodest_conn = 0;
	assert_int_equal(count_advice(&s, &f), 1); /* rule 3 only */
	f.svcs[0].check.enabled = false;
	assert_int_equal(count_advice(&s, &f), 0);

	/* expire_nodest_conn alone reschedules reused ports of weight-0 backends only */
	s.expire_nodest_conn = 1;
	assert_int_equal(count_advice(&s, &f), 0);
	f.svcs[0].check.on_failure = LB_ON_FAILURE_QUIESCE;
	EXPECT_ONE(&s, &f, "sysctl net.ipv4.vs.conntrack = 1: ", "(conn_reuse_mode 0, expire_nodest_conn 1)");

	/* conn_reuse_mode alone: never under persistence (controlled entries) */
	s.conn_reuse_mode = 1;
	s.expire_nodest_conn = 0;
	f.svcs[0].check.on_failure = LB_ON_FAILURE_REMOVE;
	f.svcs[0].persist_timeout_s = 300;
	assert_int_equal(count_advice(&s, &f), 0);
	f.svcs[0].persist_timeout_s = 0;
	f.svcs[0].protocol = IPPROTO_UDP; /* not concerned: UDP never reuses a port in IPVS */
	assert_int_equal(count_advice(&s, &f), 0);
}

/* ---- naming the services, and the whole picture ---- */

static void test_naming(void **state) {
	struct fixture f = {0};
	set_listen(add_svc(&f, "dr"), "10.0.0.9:80");
	f.svcs[0].forward = LB_FWD_DR; /* not concerned, so not the first named */
	add_svc(&f, "a");
	add_svc(&f, "b");
	add_svc(&f, "c");
	struct lb_sysctls s = GOOD;
	s.ip_forward = 0;
	EXPECT_ONE(&s, &f, "of service \"a\" (and 2 more) are not forwarded");
	f.cfg.n_services = 3;
	EXPECT_ONE(&s, &f, "of service \"a\" (and 1 more) are not");
	f.cfg.n_services = 2;
	EXPECT_ONE(&s, &f, "of service \"a\" are not");
	f.cfg.n_services = 0; /* services: [] */
	assert_int_equal(count_advice(&s, &f), 0);
}

/* Everything bad at once, a config that every rule concerns: one warning per setting, in a
 * fixed order; and every value unreadable (ip_vs not loaded, no /proc): silence. */
static void test_all(void **state) {
	struct fixture f = {0};
	add_sticky(&f);
	add_svc(&f, "plain");
	add_svc(&f, "quiet")->check.on_failure = LB_ON_FAILURE_QUIESCE;
	set_listen(add_svc(&f, "v6"), "[2001:db8::1]:53");
	f.svcs[3].protocol = IPPROTO_UDP;
	struct lb_sysctls s = {0, 0, 0, 0, 0, 1};
	struct warnings w = {0};
	advise(&s, &f, &w);
	assert_int_equal(w.n, 5); /* conntrack: nothing is rescheduled with both at 0 */
	const char *order[] = {"net.ipv4.ip_forward = 0: replies from the NAT backends of service "
			       "\"sticky\" (and 2 more)",
			       "net.ipv6.conf.all.forwarding = 0: replies from the NAT backends of "
			       "service \"v6\" are",
			       "expire_quiescent_template = 0: service \"sticky\" has",
			       "expire_nodest_conn = 0: when health checks remove a backend of "
			       "service \"plain\" (and 1 more)",
			       "conn_reuse_mode = 0: a new connection to service \"quiet\" that"};
	for (size_t i = 0; i < w.n; i++)
		if (!strstr(w.msg[i], order[i]))
			fail_msg("warning %zu: \"%s\" not in \"%s\"", i, order[i], w.msg[i]);
	s.conn_reuse_mode = 1;
	advise(&s, &f, &w);
	assert_int_equal(w.n, 5); /* conn_reuse_mode leaves, conntrack comes */
	assert_non_null(strstr(w.msg[4], "conntrack = 1: when a new connection to service \"plain\" "
					 "(and 1 more) reuses"));
	warnings_free(&w);

	struct lb_sysctls none = {-1, -1, -1, -1, -1, -1};
	assert_int_equal(count_advice(&none, &f), 0);
	assert_int_equal(count_advice(&GOOD, &f), 0);
}

/* ---- the reader ---- */

static char root[] = "/tmp/ezlb-test-sysctl-XXXXXX";

static void put(const char *rel, const char *text) {
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *fp = fopen(path, "we");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void mkdirs(void) {
	const char *dirs[] = {"net", "net/ipv4", "net/ipv4/vs", "net/ipv6", "net/ipv6/conf",
			      "net/ipv6/conf/all"};
	char path[512];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
}

static void rmtree(void) {
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static int setup_tree(void **state) {
	strcpy(root, "/tmp/ezlb-test-sysctl-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkdirs();
	return 0;
}

static int teardown_tree(void **state) {
	rmtree();
	return 0;
}

static void test_read_good(void **state) {
	put("net/ipv4/ip_forward", "1\n");
	put("net/ipv6/conf/all/forwarding", "0\n");
	put("net/ipv4/vs/expire_nodest_conn", "1\n");
	put("net/ipv4/vs/expire_quiescent_template", "0"); /* no newline: still a value */
	put("net/ipv4/vs/conn_reuse_mode", "3\n");
	put("net/ipv4/vs/conntrack", "0 \n");
	struct lb_sysctls s;
	lb_sysctls_read(root, &s);
	assert_int_equal(s.ip_forward, 1);
	assert_int_equal(s.ip6_forward, 0);
	assert_int_equal(s.expire_nodest_conn, 1);
	assert_int_equal(s.expire_quiescent_template, 0);
	assert_int_equal(s.conn_reuse_mode, 3);
	assert_int_equal(s.conntrack, 0);
}

/* Anything that is not one decimal value reads as -1. */
static void test_read_garbage(void **state) {
	static const char *const bad[] = {
		"",                     /* empty */
		"\n",                   /* no digits */
		"yes\n",                /* not a number */
		"1x\n",                 /* trailing junk */
		" 1\n",                 /* leading space */
		"-1\n",                 /* negative */
		"1 2\n",                /* two values */
		"0x1\n",                /* not decimal */
		"99999999999\n",        /* beyond INT_MAX */
		"00000000000000001\n",  /* longer than any value the kernel writes */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("net/ipv4/ip_forward", bad[i]);
		struct lb_sysctls s;
		lb_sysctls_read(root, &s);
		if (s.ip_forward != -1)
			fail_msg("\"%s\" read as %d", bad[i], s.ip_forward);
	}
	put("net/ipv4/ip_forward", "2147483647\n");
	struct lb_sysctls s;
	lb_sysctls_read(root, &s);
	assert_int_equal(s.ip_forward, 2147483647);
	/* a huge file is not read to its end */
	char big[1 << 16];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put("net/ipv4/ip_forward", big);
	lb_sysctls_read(root, &s);
	assert_int_equal(s.ip_forward, -1);
}

/* A FIFO (which would block a plain open or read), a directory, a symbolic link (even to a good
 * file) and missing files (ip_vs not loaded: no net/ipv4/vs at all) are all -1, and no fd
 * leaks. */
static void test_read_hostile(void **state) {
	char path[512], target[512];
	put("net/ipv4/vs/conntrack", "1\n");
	snprintf(path, sizeof(path), "%s/net/ipv4/ip_forward", root);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/net/ipv6/conf/all/forwarding", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(target, sizeof(target), "%s/net/ipv4/vs/conntrack", root);
	snprintf(path, sizeof(path), "%s/net/ipv4/vs/conn_reuse_mode", root);
	assert_int_equal(symlink(target, path), 0);
	int fds = count_fds();
	struct lb_sysctls s;
	lb_sysctls_read(root, &s);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(s.ip_forward, -1);
	assert_int_equal(s.ip6_forward, -1);
	assert_int_equal(s.conn_reuse_mode, -1);
	assert_int_equal(s.expire_nodest_conn, -1); /* missing */
	assert_int_equal(s.expire_quiescent_template, -1);
	assert_int_equal(s.conntrack, 1);

	/* no tree at all */
	lb_sysctls_read("/nonexistent/ezlb-sysctl", &s);
	assert_int_equal(s.ip_forward, -1);
	assert_int_equal(s.conntrack, -1);
}

/* The real /proc/sys of the test's own namespace reads without trouble: ip_forward is always
 * there (values depend on the host, so only their range is checked). */
static void test_read_proc(void **state) {
	struct lb_sysctls s;
	lb_sysctls_read("/proc/sys", &s);
	assert_true(s.ip_forward == 0 || s.ip_forward == 1);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_forward),
		cmocka_unit_test(test_ip6_forward),
		cmocka_unit_test(test_quiescent_template),
		cmocka_unit_test(test_nodest),
		cmocka_unit_test(test_conn_reuse),
		cmocka_unit_test(test_conntrack),
		cmocka_unit_test(test_naming),
		cmocka_unit_test(test_all),
		cmocka_unit_test_setup_teardown(test_read_good, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_read_garbage, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_read_hostile, setup_tree, teardown_tree),
		cmocka_unit_test(test_read_proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
