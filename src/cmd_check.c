/* `ezlb check`: the configuration (the main file and every file it includes) is valid, and what
 * the files alone cannot tell (that an exec check's program can run here) is checked on this
 * host. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "log.h"

static size_t count_backends(const struct lb_config *c) {
	size_t n = 0;
	for (size_t i = 0; i < c->n_services; i++)
		n += c->services[i].n_backends;
	return n;
}

/* The daemon accepts a missing program (it may be installed later: every probe then fails with
 * the reason); check is where an operator hears of it first. Returns how many are unusable. */
static size_t check_exec_programs(const struct lb_config *cfg) {
	size_t bad = 0;
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct lb_service_conf *s = &cfg->services[i];
		if (lb_check_type_of(&s->check, s->protocol) != LB_CHECK_EXEC || !s->check.exec.argc)
			continue;
		const char *prog = s->check.exec.argv[0];
		struct stat st;
		const char *why = NULL;
		if (stat(prog, &st) < 0)
			why = strerror(errno);
		else if (!S_ISREG(st.st_mode))
			why = "not a regular file";
		else if (access(prog, X_OK) < 0)
			why = "not executable";
		if (why) {
			fprintf(stderr, "%s: service %s: health_check.exec.command: %s: %s\n",
				cfg->files ? cfg->files[cfg->svc_file[i]]->path : cfg->path, s->name, prog,
				why);
			bad++;
		}
	}
	return bad;
}

int cmd_check(const struct lb_cli *o) {
	struct lb_config *cfg = NULL;
	if (cli_load_config(o->config_path, &cfg) < 0)
		return EXIT_FAIL;
	size_t bad = check_exec_programs(cfg);
	/* --list-files: what a deployment must ship, main file first, one per line, on stdout */
	for (size_t f = 0; o->list_files && f < cfg->n_files; f++)
		printf("%s\n", cfg->files[f]->path);
	if (!bad && !o->list_files)
		printf("configuration OK: %zu services, %zu backends\n", cfg->n_services,
		       count_backends(cfg));
	lb_config_free(cfg);
	return bad ? EXIT_FAIL : EXIT_OK;
}
