/* `ezlb import-keepalived FILE`: the keepalived configuration FILE (and its includes) as ezlb
 * YAML on stdout; warnings and errors on stderr, each with its file:line. Exit status 0 when the
 * YAML was written (warnings or not), 1 when the input is not keepalived syntax or cannot be
 * read, or stdout cannot be written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "import.h"

int cmd_import_keepalived(const struct lb_cli *o) {
	int r = kv_import_file(o->args[0], stdout, stderr);
	if (r < 0)
		return EXIT_FAIL;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ezlb: import-keepalived: cannot write the output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
