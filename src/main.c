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
		"  version    print the version\n\n"
		"Options:\n"
		"  -c, --config FILE      configuration (default " LB_CONFIG_DEFAULT ")\n"
		"  -n, --dry-run          once: print the plan, change nothing\n"
		"      --no-health-check  once: do not probe backends first\n"
		"      --state-dir DIR    ownership record, lock and control socket, one ezlb each\n"
		"                         (default " LB_STATE_DIR_DEFAULT ")\n"
		"      --json             status: the status as one JSON document (pretty-printed)\n"
		"  -l, --log-level LEVEL  debug|info|warn|error (overrides global.log_level)\n"
		"  -h, --help             this help\n");
}

static const struct {
	const char *name;
	int (*fn)(const struct lb_cli *);
} commands[] = {
	{"run", cmd_run}, {"once", cmd_once}, {"check", cmd_check}, {"cleanup", cmd_cleanup},
	{"status", cmd_status},
};

static int parse_options(int argc, char **argv, struct lb_cli *o) {
	enum { OPT_NO_HEALTH = 0x100, OPT_STATE_DIR, OPT_JSON };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},   {"dry-run", no_argument, NULL, 'n'},
		{"no-health-check", no_argument, NULL, OPT_NO_HEALTH},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"json", no_argument, NULL, OPT_JSON},
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
	/* Only status takes arguments (service names); --json is status's alone. */
	bool status = strcmp(cmd, "status") == 0;
	if (status) {
		o.args = argv + optind;
		o.n_args = argc - optind;
	} else if (optind < argc || o.json) {
		if (optind < argc)
			fprintf(stderr, "ezlb: unexpected argument \"%s\"\n", argv[optind]);
		else
			fprintf(stderr, "ezlb: --json is an option of status only\n");
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
