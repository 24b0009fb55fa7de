/* `ezlb export [--all] [--health-checks] [--state-dir DIR]`: the kernel's IPVS table as ezlb
 * YAML on stdout (the writer and its rules: include/export.h), warnings on stderr.
 *
 * Read-only: the state directory is read without its lock. The ownership record is replaced
 * atomically (a rename), so an unlocked read sees the old or the new record, never half of one,
 * and an export must not wait for, nor be refused by, a running daemon. A state directory that
 * does not exist is not created: nothing is owned there.
 *
 * Exit status: 0 when the table was written, warnings or not (a service ezlb cannot express is a
 * comment, not a failure); 1 when the kernel (or, without --all, the ownership record) cannot be
 * read, or stdout cannot be written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "export.h"
#include "ipvs.h"
#include "kconf.h"
#include "state.h"
#include "statedir.h"

/* Which services are ezlb's. Returns 0 (an empty set when there is no record: nothing is owned)
 * or a negative errno, said on stderr: a record that exists but cannot be read or trusted
 * leaves the answer unknown, and exporting nothing would look like an answer. */
static int load_owned(const char *dir, struct lb_owned *owned) {
	struct stat st;
	if (stat(dir, &st) < 0 && errno == ENOENT) {
		fprintf(stderr, "ezlb: export: no state directory %s: ezlb owns no service here "
				"(--all exports every service)\n", dir);
		return 0;
	}
	struct lb_statedir sd = {.fd = -1, .lock_fd = -1};
	int r = lb_statedir_open(dir, &sd); /* logs why it refuses the directory */
	if (r == 0)
		r = lb_owned_load(&sd, owned); /* logs what it found */
	lb_statedir_close(&sd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		fprintf(stderr, "ezlb: export: cannot tell which services ezlb owns (%s); --all exports "
				"every service\n", strerror(-r));
	return r;
}

static bool owned_only(const struct lb_svc_key *k, void *ud) {
	return lb_owned_has(ud, k);
}

/* The table, its destinations (only the owned services' without --all) and the global settings.
 * Returns 0 or a negative errno (logged by the ipvs layer). */
static int read_kernel(const struct lb_cli *o, struct lb_owned *owned, struct lb_table *t,
		       struct lb_kconf *k) {
	struct lb_ipvs *v = NULL;
	int r = lb_ipvs_open(&v);
	if (r < 0)
		return r;
	if (!o->all)
		r = load_owned(o->state_dir, owned);
	if (r == 0)
		r = lb_ipvs_dump(v, t, o->all ? NULL : owned_only, owned);
	if (r == 0 && (r = lb_ipvs_get_timeouts(v, &k->timeouts)) < 0)
		fprintf(stderr, "ezlb: export: cannot read the IPVS timeouts: %s\n", strerror(-r));
	if (r == 0 && (r = lb_ipvs_get_daemons(v, k->run, k->syncd)) < 0)
		fprintf(stderr, "ezlb: export: cannot read the IPVS sync daemons: %s\n", strerror(-r));
	lb_ipvs_close(v);
	return r;
}

/* "ezlb 0.1.0 export --all of the IPVS table of host lb1, 2026-01-31T12:00:00Z" */
static void make_header(const struct lb_cli *o, char *buf, size_t len) {
	char host[256] = "", when[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "?");
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len, "ezlb %s export%s%s of the IPVS table of host %s, %s\n"
		 "Check it with `ezlb check -c FILE`; `ezlb once --dry-run -c FILE --no-health-check` "
		 "plans no change.", EZLB_VERSION, o->all ? " --all" : "",
		 o->health_checks ? " --health-checks" : "", host, when);
}

int cmd_export(const struct lb_cli *o) {
	struct lb_owned owned = {0};
	struct lb_table t = {0};
	struct lb_kconf k;
	memset(&k, 0, sizeof(k));
	int r = read_kernel(o, &owned, &t, &k);
	if (r == 0) {
		char header[512];
		make_header(o, header, sizeof(header));
		struct lb_export_opts opts = {o->all ? NULL : &owned, o->health_checks, header};
		r = lb_export_write(stdout, stderr, &t, &k, &opts, NULL);
		if (r < 0)
			fprintf(stderr, "ezlb: export: cannot write the configuration: %s\n",
				r == -EIO ? strerror(errno ? errno : EIO) : strerror(-r));
	}
	lb_table_clear(&t);
	lb_owned_free(&owned);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
