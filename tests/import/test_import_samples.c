/* keepalived's own sample configurations (tests/import/fixtures/keepalived.conf.*, from
 * keepalived 2.2.7's doc/samples) through the import: each gives YAML that ezlb's loader takes
 * without a diagnostic, the services keepalived would build, and the warnings expected. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/config/internal.h"
#include "import_test.h"

#define FIX "tests/import/fixtures/keepalived.conf."

static const struct {
	const char *file;
	size_t services, backends;
	const char *out[6], *err[6];
} samples[] = {
	{"sample", 1, 1,
	 {"listen: 10.10.10.2:1358\n", "type: http\n", "http: {path: \"/testurl3/test.jsp\"}\n",
	  "sorry_servers:\n      - {address: 192.168.200.200:1358, weight: 1}\n", "persistence: {timeout: 50s}\n"},
	 {":15: warning: vrrp_instance not imported", ":42: warning: digest not imported",
	  ":12: warning: router_id not imported"}},
	{"fwmark", 0, 0, {"services: []\n"},
	 {":16: warning: real_server without port in a fwmark service not imported",
	  ":9: warning: virtual_server not imported: none of its real servers could be"}},
	{"quorum", 1, 10,
	 {"scheduler: wrr\n", "port: 80\n", "initial: down\n", "{address: 10.0.0.10:8080, weight: 1}"},
	 {":33: warning: quorum not imported", ":34: warning: hysteresis not imported",
	  ":32: warning: omega not imported"}},
	{"misc_check_arg", 1, 1,
	 {"exec: {command: [\"/usr/local/bin/script.sh\", \"arg1\", \"arg2\"]}\n", "fail_count: 1\n"}, {NULL}},
	{"status_code", 1, 1, {"type: https\n", "status: \"200-299 400-499 503 505\""},
	 {":30: warning: url not imported"}},
	{"UDP_CHECK", 1, 1, {"protocol: udp\n", "type: udp\n"}, {NULL}},
	{"IPv6", 1, 1, {"listen: \"[ae00::1]:80\"\n", "{address: \"[ae00::10]:25\", weight: 1}"},
	 {":9: warning: virtual_server_group not imported", ":26: warning: SMTP_CHECK not imported"}},
	{"virtual_server_group", 0, 0, {"services: []\n"},
	 {":24: warning: virtual_server not imported: virtual_server_group has no ezlb equivalent"}},
	{"SSL_GET", 2, 2, {"listen: 192.168.200.100:443\n", "listen: 192.168.200.100:80\n", "type: https\n"},
	 {":46: warning: url not imported"}},
	{"vrrp.lvs_syncd", 1, 1, {"interval: 20s\n"}, {":5: warning: vrrp_sync_group not imported"}},
};

static void test_samples(void **state) {
	for (size_t i = 0; i < ARRAY_LEN(samples); i++) {
		char path[128];
		snprintf(path, sizeof(path), FIX "%s", samples[i].file);
		struct import_run r = import_file(path);
		bool ok = r.rc == 0;
		for (size_t k = 0; k < ARRAY_LEN(samples[i].out) && samples[i].out[k]; k++)
			if (!strstr(r.out, samples[i].out[k]))
				ok = false, print_error("%s: missing in the output: %s\n", path, samples[i].out[k]);
		for (size_t k = 0; k < ARRAY_LEN(samples[i].err) && samples[i].err[k]; k++)
			if (!strstr(r.err, samples[i].err[k]))
				ok = false, print_error("%s: missing in the messages: %s\n", path, samples[i].err[k]);
		struct lb_config *cfg = NULL;
		struct lb_diag diag = {0};
		if (cfg_load_buf("imported.yaml", r.out, strlen(r.out), &cfg, &diag) != 0 || diag.n) {
			ok = false;
			for (size_t k = 0; k < diag.n; k++)
				print_error("%s: ezlb refuses the import: %s\n", path, diag.msgs[k]);
		} else {
			size_t backends = 0;
			for (size_t k = 0; k < cfg->n_services; k++)
				backends += cfg->services[k].n_backends;
			if (cfg->n_services != samples[i].services || backends != samples[i].backends)
				ok = false, print_error("%s: %zu services, %zu backends\n", path, cfg->n_services, backends);
		}
		if (!ok)
			print_error("--- out:\n%s--- err:\n%s", r.out, r.err);
		lb_config_free(cfg);
		lb_diag_free(&diag);
		import_run_free(&r);
		assert_true(ok);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
