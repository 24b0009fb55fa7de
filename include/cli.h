/* The commands behind the CLI. Each returns the process exit status. */
#pragma once
#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3 /* status: no daemon */ };

#define LB_CONFIG_DEFAULT "/etc/ezlb/ezlb.yaml"

struct lb_cli {
	const char *config_path;
	const char *state_dir;
	bool dry_run;
	bool no_health_check;
	int log_level; /* -1: from the config */
	bool json;     /* status: print JSON */
	char **args;   /* status: the service names; import-keepalived: the file */
	int n_args;
	bool all;           /* export: every service, not only ezlb's */
	bool health_checks; /* export: default health checks instead of enabled: false */
	bool list_files;    /* check: print every file the config reads */
};

int cmd_check(const struct lb_cli *o);
int cmd_once(const struct lb_cli *o);
int cmd_cleanup(const struct lb_cli *o);
int cmd_run(const struct lb_cli *o);
int cmd_status(const struct lb_cli *o); /* src/cmd_status.c */
int cmd_export(const struct lb_cli *o); /* src/cmd_export.c */
int cmd_import_keepalived(const struct lb_cli *o); /* src/cmd_import.c */

/* Loads the config, printing every diagnostic to stderr. Returns 0 or a negative errno. */
struct lb_config;
int cli_load_config(const char *path, struct lb_config **out);
/* global.log_level takes effect unless --log-level was given. */
void cli_apply_log_level(const struct lb_cli *o, const struct lb_config *cfg);
