/* The planner of the kernel-wide settings, table-driven: (want, have, owned record) -> exact op
 * lines and the record after. Every case is also applied to have and planned again: nothing
 * left to do, the same record. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "kconf.h"
#include "util.h"

#define M LB_SYNCD_BIT(LB_SYNCD_MASTER)
#define B LB_SYNCD_BIT(LB_SYNCD_BACKUP)

static struct lb_syncd syncd(const char *ifname, uint32_t id) {
	struct lb_syncd d = {.id = id};
	snprintf(d.ifname, sizeof(d.ifname), "%s", ifname);
	return d;
}

/* What the kernel reports for a daemon started with d: the defaults filled in. */
static struct lb_syncd as_kernel(const struct lb_syncd *d) {
	struct lb_syncd k = *d;
	if (!k.group.af) {
		k.group.af = AF_INET;
		inet_pton(AF_INET, "224.0.0.81", &k.group.ip);
	}
	k.port = k.port ? k.port : 8848;
	k.ttl = k.ttl ? k.ttl : 1;
	k.max_len = k.max_len ? k.max_len : 1472;
	return k;
}

struct kcase {
	const char *name;
	struct lb_kconf want, have;
	unsigned owned;
	const char *ops[6];
	unsigned owned_after;
};

/* have after the plan: what a kernel that accepted every op would hold. */
static void apply(const struct lb_kplan *p, struct lb_kconf *have) {
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_kop *op = &p->ops[i];
		switch (op->kind) {
		case LB_KOP_SET_TIMEOUTS:
			if (op->timeouts.tcp) have->timeouts.tcp = op->timeouts.tcp;
			if (op->timeouts.tcp_fin) have->timeouts.tcp_fin = op->timeouts.tcp_fin;
			if (op->timeouts.udp) have->timeouts.udp = op->timeouts.udp;
			break;
		case LB_KOP_STOP_DAEMON:
			assert_true(have->run[op->role]); /* only what runs is stopped */
			have->run[op->role] = false;
			memset(&have->syncd[op->role], 0, sizeof(have->syncd[op->role]));
			break;
		case LB_KOP_START_DAEMON:
			assert_false(have->run[op->role]); /* the kernel refuses a second one */
			have->run[op->role] = true;
			have->syncd[op->role] = as_kernel(&op->syncd);
			break;
		}
	}
}

static void run_case(const struct kcase *c) {
	struct lb_kplan p;
	char line[LB_KOP_STRLEN];
	lb_kconf_plan(&c->want, &c->have, c->owned, &p);
	size_t n = 0;
	while (n < ARRAY_SIZE(c->ops) && c->ops[n])
		n++;
	for (size_t i = 0; i < p.n; i++)
		print_message("  got: %s\n", lb_kop_fmt(&p.ops[i], line, sizeof(line)));
	assert_int_equal(p.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(lb_kop_fmt(&p.ops[i], line, sizeof(line)), c->ops[i]);
	assert_int_equal(p.owned, c->owned_after);
	struct lb_kconf have = c->have;
	apply(&p, &have);
	struct lb_kplan again;
	lb_kconf_plan(&c->want, &have, p.owned, &again);
	assert_int_equal(again.n, 0);
	assert_int_equal(again.owned, p.owned);
}

static struct lb_kconf want_sync(enum lb_sync_role role, const char *ifname, uint32_t id) {
	struct lb_config cfg = {0};
	struct lb_kconf w;
	cfg.sync.enabled = true;
	cfg.sync.role = role;
	cfg.sync.id = id;
	snprintf(cfg.sync.ifname, sizeof(cfg.sync.ifname), "%s", ifname);
	lb_kconf_want(&cfg, &w);
	return w;
}

static struct lb_kconf have_running(bool master, bool backup, const char *ifname, uint32_t id) {
	struct lb_kconf h = {0};
	struct lb_syncd d = syncd(ifname, id);
	h.run[LB_SYNCD_MASTER] = master;
	h.run[LB_SYNCD_BACKUP] = backup;
	if (master)
		h.syncd[LB_SYNCD_MASTER] = as_kernel(&d);
	if (backup)
		h.syncd[LB_SYNCD_BACKUP] = as_kernel(&d);
	return h;
}

static const struct lb_timeouts KERNEL_DEFAULT = {900, 120, 300};

static void test_timeouts(void **state) {
	(void)state;
	struct kcase cases[] = {
		{"nothing set, nothing read", {.manage_sync = false}, {.manage_sync = false}, 0, {NULL}, 0},
		{"one timeout differs: only it is set", {.timeouts = {600, 0, 0}},
		 {.timeouts = KERNEL_DEFAULT}, 0, {"~ timeouts: tcp 900s -> 600s"}, 0},
		{"all three differ", {.timeouts = {7200, 30, 60}}, {.timeouts = KERNEL_DEFAULT}, 0,
		 {"~ timeouts: tcp 900s -> 7200s, tcp_fin 120s -> 30s, udp 300s -> 60s"}, 0},
		{"set and equal: nothing", {.timeouts = {900, 120, 300}}, {.timeouts = KERNEL_DEFAULT},
		 0, {NULL}, 0},
		{"a differing one among equal ones", {.timeouts = {900, 60, 300}},
		 {.timeouts = KERNEL_DEFAULT}, 0, {"~ timeouts: tcp_fin 120s -> 60s"}, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		run_case(&cases[i]);
	}
}

static void test_sync(void **state) {
	(void)state;
	struct lb_kconf none = {0};
	struct lb_kconf both = want_sync(LB_SYNC_BOTH, "eth1", 10);
	struct lb_kconf master = want_sync(LB_SYNC_MASTER, "eth1", 10);
	struct lb_kconf backup = want_sync(LB_SYNC_BACKUP, "eth1", 10);
	struct lb_kconf other_id = want_sync(LB_SYNC_BOTH, "eth1", 11);
	struct lb_kconf group = both;
	group.syncd[LB_SYNCD_MASTER].group.af = AF_INET;
	inet_pton(AF_INET, "239.1.1.1", &group.syncd[LB_SYNCD_MASTER].group.ip);
	group.syncd[LB_SYNCD_MASTER].port = 9000;
	group.syncd[LB_SYNCD_MASTER].ttl = 2;
	group.syncd[LB_SYNCD_MASTER].max_len = 1200;
	struct lb_kconf explicit_defaults = master;
	explicit_defaults.syncd[LB_SYNCD_MASTER].port = 8848;
	explicit_defaults.syncd[LB_SYNCD_MASTER].ttl = 1;
	struct kcase cases[] = {
		{"start both", both, none, 0,
		 {"+ sync daemon master: interface eth1, id 10", "+ sync daemon backup: interface eth1, id 10"},
		 M | B},
		{"running as wanted, not recorded: adopted, untouched", both,
		 have_running(true, true, "eth1", 10), 0, {NULL}, M | B},
		{"running as wanted and recorded: nothing", both, have_running(true, true, "eth1", 10),
		 M | B, {NULL}, M | B},
		{"stopped by hand: started again (repair)", both, have_running(true, false, "eth1", 10),
		 M | B, {"+ sync daemon backup: interface eth1, id 10"}, M | B},
		{"id changed: stopped, then started, stops first", other_id,
		 have_running(true, true, "eth1", 10), M | B,
		 {"- sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472",
		  "- sync daemon backup: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472",
		  "+ sync daemon master: interface eth1, id 11", "+ sync daemon backup: interface eth1, id 11"},
		 M | B},
		{"role both -> master: the backup stops", master, have_running(true, true, "eth1", 10),
		 M | B,
		 {"- sync daemon backup: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472"},
		 M},
		{"role master -> backup", backup, have_running(true, false, "eth1", 10), M,
		 {"- sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472",
		  "+ sync daemon backup: interface eth1, id 10"},
		 B},
		{"optional settings differ: restart with them", group, have_running(true, true, "eth1", 10),
		 M | B,
		 {"- sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472",
		  "+ sync daemon master: interface eth1, id 10, group 239.1.1.1, port 9000, ttl 2, "
		  "max_len 1200"},
		 M | B},
		{"optional settings equal to the kernel's defaults: nothing", explicit_defaults,
		 have_running(true, false, "eth1", 10), M, {NULL}, M},
		{"sync removed from the config: ezlb's daemons stop", none,
		 have_running(true, true, "eth1", 10), M | B,
		 {"- sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472",
		  "- sync daemon backup: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472"},
		 0},
		{"sync removed: a daemon ezlb did not start is left alone", none,
		 have_running(true, true, "eth1", 10), M,
		 {"- sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472"},
		 0},
		{"no sync, nothing recorded: foreign daemons untouched", none,
		 have_running(true, true, "eth9", 3), 0, {NULL}, 0},
		{"recorded daemon no longer runs: dropped from the record", none,
		 have_running(false, false, "", 0), M | B, {NULL}, 0},
		{"interface changed", want_sync(LB_SYNC_MASTER, "eth2", 10),
		 have_running(true, false, "eth1", 10), M,
		 {"- sync daemon master: interface eth1, id 10, group 224.0.0.81, port 8848, ttl 1, "
		  "max_len 1472",
		  "+ sync daemon master: interface eth2, id 10"},
		 M},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		run_case(&cases[i]);
	}
}

static void test_want_from_config(void **state) {
	(void)state;
	struct lb_config cfg = {0};
	struct lb_kconf w;
	lb_kconf_want(&cfg, &w);
	assert_false(w.manage_sync);
	assert_false(w.run[LB_SYNCD_MASTER] || w.run[LB_SYNCD_BACKUP]);
	assert_int_equal(w.timeouts.tcp | w.timeouts.tcp_fin | w.timeouts.udp, 0);
	cfg.timeouts = (struct lb_timeouts_conf){900, 0, 60};
	cfg.sync = (struct lb_sync_conf){.enabled = true, .ifname = "bond0", .id = 255,
					 .role = LB_SYNC_MASTER, .port = 8849, .ttl = 4, .max_len = 1000};
	lb_kconf_want(&cfg, &w);
	assert_int_equal(w.timeouts.tcp, 900);
	assert_int_equal(w.timeouts.tcp_fin, 0);
	assert_int_equal(w.timeouts.udp, 60);
	assert_true(w.manage_sync);
	assert_true(w.run[LB_SYNCD_MASTER]);
	assert_false(w.run[LB_SYNCD_BACKUP]);
	assert_string_equal(w.syncd[LB_SYNCD_MASTER].ifname, "bond0");
	assert_int_equal(w.syncd[LB_SYNCD_MASTER].id, 255);
	assert_int_equal(w.syncd[LB_SYNCD_MASTER].port, 8849);
	assert_int_equal(w.syncd[LB_SYNCD_MASTER].ttl, 4);
	assert_int_equal(w.syncd[LB_SYNCD_MASTER].max_len, 1000);
	cfg.sync.role = LB_SYNC_BACKUP;
	lb_kconf_want(&cfg, &w);
	assert_false(w.run[LB_SYNCD_MASTER]);
	assert_true(w.run[LB_SYNCD_BACKUP]);
}

static void test_matches(void **state) {
	(void)state;
	struct lb_syncd want = syncd("eth1", 1), have = as_kernel(&want);
	assert_true(lb_syncd_matches(&want, &have));
	want.ttl = 2;
	assert_false(lb_syncd_matches(&want, &have));
	want = syncd("eth1", 1);
	want.group.af = AF_INET6;
	inet_pton(AF_INET6, "ff02::81", &want.group.ip);
	assert_false(lb_syncd_matches(&want, &have)); /* another family */
	have.group = want.group;
	assert_true(lb_syncd_matches(&want, &have));
	struct lb_syncd other = syncd("eth10", 1);
	assert_false(lb_syncd_matches(&other, &have));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_want_from_config),
		cmocka_unit_test(test_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
