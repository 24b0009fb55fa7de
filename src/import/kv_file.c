/* Files of a keepalived configuration, which is input like any other: opened without blocking
 * (a FIFO or a device named by an include must not hang the import), read only when regular,
 * and only up to a size. Include patterns are globbed like keepalived does (wildcards and
 * braces, sorted, directories marked). */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv.h"
#include "util.h"

int kv_read_file(const char *path, size_t max, char **buf, size_t *len, struct stat *st,
		 const char **why) {
	*why = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode)) {
		*why = S_ISDIR(st->st_mode) ? "is a directory" : "is not a regular file";
		return -EINVAL;
	}
	char *b = NULL;
	size_t used = 0;
	int r = lb_read_bounded(fd, max, &b, &used);
	if (r < 0)
		return r;
	if (used > max) {
		free(b);
		*why = "is too large";
		return -EFBIG;
	}
	*buf = b;
	*len = used;
	return 0;
}

/* dir with glob's special characters escaped, then '/', then pattern. */
static char *join(struct kv_arena *a, const char *dir, const char *pattern) {
	size_t dl = strlen(dir), pl = strlen(pattern);
	char *out = kv_alloc(a, 2 * dl + pl + 2), *o = out;
	if (!out)
		return NULL;
	for (const char *d = dir; *d; d++) {
		if (strchr("*?[]{}\\", *d))
			*o++ = '\\';
		*o++ = *d;
	}
	if (dl)
		*o++ = '/';
	memcpy(o, pattern, pl + 1);
	return out;
}

int kv_glob(struct kv_arena *a, const char *dir, const char *pattern, const char ***paths,
	    size_t *n) {
	const char *full = pattern[0] == '/' ? pattern : join(a, dir, pattern);
	if (!full)
		return -ENOMEM;
	glob_t g = {0};
	int r = glob(full, GLOB_MARK | GLOB_BRACE, NULL, &g);
	*n = 0;
	*paths = NULL;
	if (r == GLOB_NOMATCH) {
		globfree(&g);
		return 0;
	}
	if (r != 0) {
		globfree(&g);
		return r == GLOB_NOSPACE ? -ENOMEM : -EIO;
	}
	const char **out = kv_alloc(a, (g.gl_pathc + 1) * sizeof(*out));
	for (size_t i = 0; out && i < g.gl_pathc; i++)
		if (!(out[i] = kv_strndup(a, g.gl_pathv[i], strlen(g.gl_pathv[i]))))
			out = NULL;
	size_t count = g.gl_pathc;
	globfree(&g);
	if (!out)
		return -ENOMEM;
	*paths = out;
	*n = count;
	return 0;
}
