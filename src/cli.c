/* Helpers every command shares: loading the config with its diagnostics on stderr, and the
 * log-level rule. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"

int cli_load_config(const char *path, struct lb_config **out) {
	struct lb_diag diag = {0};
	int r = lb_config_load(path, out, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	if (r < 0 && diag.n == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
	lb_diag_free(&diag);
	return r;
}

void cli_apply_log_level(const struct lb_cli *o, const struct lb_config *cfg) {
	if (o->log_level < 0 && cfg->log_level >= 0)
		log_set_max_level(cfg->log_level);
}
