/* ezlb command line: parse, then hand over to a command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "state.h"

static void usage(FILE *f) {
	fprintf(f,
		"Usage: ezlb [COMMAND] [OPTIONS]\n"
		"Keeps the kernel's IPVS table equal to a YAML file.\n\n"
		"Commands:\n"
		"  run        run the daemon (default): health checks, hot reload, drift repair\n"
		"  once       reconcile once and exit (--dry-run prints the plan only)\n"
		"  check      validate the configuration; needs neither root nor IPVS\n"
		"  cleanup    remove every IPVS service ezlb owns\n"
		"  status     ask the running daemon: services, backends, health, drains, counters\n"
		"             (ezlb status [SERVICE...] [--json]; exit 3 when no daemon runs)\n"
		"  export     print the kernel's IPVS table as ezlb YAML (the services ezlb owns;\n"
		"             --all: every service)\n"
		"  import-keepalived FILE\n"
		"             print the ezlb YAML equivalent of a keepalived configuration\n"
		"  version    print the version\n\n"
		"Options:\n"
		"  -c, --config FILE      configuration (default " LB_CONFIG_DEFAULT ")\n"
		"  -n, --dry-run          once: print the plan, change nothing\n"
		"      --no-health-check  once: do not probe backends first\n"
		"      --state-dir DIR    ownership record, lock and control socket, one ezlb each\n"
		"                         (default " LB_STATE_DIR_DEFAULT ")\n"
		"      --json             status: the status as one JSON document (pretty-printed)\n"
		"      --all              export: every service in the kernel, not only ezlb's\n"
		"      --health-checks    export: default health checks instead of none\n"
		"      --list-files       check: print every file the configuration reads\n"
		"  -l, --log-level LEVEL  debug|info|warn|error (overrides global.log_level)\n"
		"  -h, --help             this help\n");
}

static const struct {
	const char *name;
	int (*fn)(const struct lb_cli *);
} commands[] = {
	{"run", cmd_run}, {"once", cmd_once}, {"check", cmd_check}, {"cleanup", cmd_cleanup},
	{"status", cmd_status}, {"export", cmd_export}, {"import-keepalived", cmd_import_keepalived},
};

static int parse_options(int argc, char **argv, struct lb_cli *o) {
	enum { OPT_NO_HEALTH = 0x100, OPT_STATE_DIR, OPT_JSON, OPT_ALL, OPT_HEALTH, OPT_LIST };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},   {"dry-run", no_argument, NULL, 'n'},
		{"no-health-check", no_argument, NULL, OPT_NO_HEALTH},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"json", no_argument, NULL, OPT_JSON},
		{"all", no_argument, NULL, OPT_ALL},
		{"health-checks", no_argument, NULL, OPT_HEALTH},
		{"list-files", no_argument, NULL, OPT_LIST},
		{"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:nl:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; break;
		case 'n': o->dry_run = true; break;
		case OPT_NO_HEALTH: o->no_health_check = true; break;
		case OPT_STATE_DIR: o->state_dir = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_ALL: o->all = true; break;
		case OPT_HEALTH: o->health_checks = true; break;
		case OPT_LIST: o->list_files = true; break;
		case 'l':
			o->log_level = log_level_from_string(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "ezlb: --log-level: \"%s\" is not debug|info|warn|error\n", optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: return -1;
		}
	}
	return 0;
}

/* Arguments and options that belong to one command: status takes service names,
 * import-keepalived exactly one file; --json, --all, --health-checks and --list-files are one
 * command's each. */
static int check_args(const char *cmd, int argc, char **argv, struct lb_cli *o) {
	static const struct { const char *opt, *cmd; } own[] = {
		{"--json", "status"}, {"--all", "export"}, {"--health-checks", "export"},
		{"--list-files", "check"},
	};
	bool *flags[] = {&o->json, &o->all, &o->health_checks, &o->list_files};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (*flags[i] && strcmp(cmd, own[i].cmd) != 0) {
			fprintf(stderr, "ezlb: %s is an option of %s only\n", own[i].opt, own[i].cmd);
			return -1;
		}
	o->args = argv + optind;
	o->n_args = argc - optind;
	if (strcmp(cmd, "status") == 0)
		return 0;
	if (strcmp(cmd, "import-keepalived") == 0 && o->n_args != 1) {
		fprintf(stderr, "ezlb: import-keepalived takes one file\n");
		return -1;
	}
	if (strcmp(cmd, "import-keepalived") != 0 && o->n_args > 0) {
		fprintf(stderr, "ezlb: unexpected argument \"%s\"\n", o->args[0]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv) {
	struct lb_cli o = {
		.config_path = LB_CONFIG_DEFAULT, .state_dir = LB_STATE_DIR_DEFAULT, .log_level = -1,
	};
	const char *cmd = "run";
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("ezlb %s\n", EZLB_VERSION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (parse_options(argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check_args(cmd, argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	log_setup(o.log_level >= 0 ? o.log_level : LOG_INFO);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(&o);
	fprintf(stderr, "ezlb: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
