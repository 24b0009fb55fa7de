/* The ownership record: a sorted set of service keys, kept in a small text file
 *
 *   # ezlb owned services v1
 *   tcp 10.0.0.1:80
 *   udp [2001:db8::1]:53
 *
 * A record that cannot be trusted is treated as empty: then ezlb deletes nothing it was not told
 * about, which is the safe way to be wrong. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define HEADER "# ezlb owned services v1"
#define LINE_MAX_LEN 256 /* far above the longest key; anything longer is garbage */

/* Index of the first key >= k. */
static size_t lower_bound(const struct lb_owned *o, const struct lb_svc_key *k) {
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (lb_svc_key_cmp(&o->keys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool lb_owned_has(const struct lb_owned *o, const struct lb_svc_key *k) {
	size_t i = lower_bound(o, k);
	return i < o->n && lb_svc_key_cmp(&o->keys[i], k) == 0;
}

int lb_owned_add(struct lb_owned *o, const struct lb_svc_key *k) {
	size_t i = lower_bound(o, k);
	if (i < o->n && lb_svc_key_cmp(&o->keys[i], k) == 0)
		return 0;
	if (GROW(o->keys, o->cap, o->n + 1) < 0)
		return -ENOMEM;
	memmove(&o->keys[i + 1], &o->keys[i], (o->n - i) * sizeof(*o->keys));
	o->keys[i] = *k;
	o->n++;
	return 0;
}

void lb_owned_remove(struct lb_owned *o, const struct lb_svc_key *k) {
	size_t i = lower_bound(o, k);
	if (i >= o->n || lb_svc_key_cmp(&o->keys[i], k) != 0)
		return;
	memmove(&o->keys[i], &o->keys[i + 1], (o->n - i - 1) * sizeof(*o->keys));
	o->n--;
}

void lb_owned_free(struct lb_owned *o) {
	free(o->keys);
	o->keys = NULL;
	o->n = o->cap = 0;
}

/* ---- load ---- */

/* Takes one line (newline included) of the record: 0, -ENOMEM, or -EBADMSG and *why. */
static int parse_line(struct lb_owned *o, char *line, ssize_t len, unsigned lineno,
		      const char **why) {
	/* a last line without its newline means a truncated file, and a truncated key may still
	 * parse ("tcp 10.0.0.1:8"), so it is refused rather than believed */
	if (len <= 0 || line[len - 1] != '\n')
		return *why = "truncated line", -EBADMSG;
	if (len > LINE_MAX_LEN)
		return *why = "line too long", -EBADMSG;
	line[len - 1] = 0;
	if (strlen(line) != (size_t)len - 1) /* the text below a NUL would go unseen */
		return *why = "NUL byte in line", -EBADMSG;
	if (lineno == 1)
		return strcmp(line, HEADER) == 0 ? 0
		       : (*why = "not an ezlb ownership record (bad header)", -EBADMSG);
	if (line[0] == 0 || line[0] == '#')
		return 0;
	struct lb_svc_key k;
	if (lb_svc_key_parse(line, &k) < 0)
		return *why = "not a service key (expected e.g. \"tcp 10.0.0.1:80\")", -EBADMSG;
	return lb_owned_add(o, &k);
}

/* The record as a stream. Never through a symbolic link, and only a regular file: a FIFO
 * planted there would block the read for ever (O_NONBLOCK keeps the open itself from blocking). */
static FILE *open_record(const struct lb_statedir *sd, int *err) {
	_cleanup_close_ int fd = lb_statedir_openat(sd, LB_OWNED_FILE, O_RDONLY | O_NONBLOCK, 0);
	struct stat st;
	if (fd < 0)
		return *err = fd, NULL;
	if (fstat(fd, &st) < 0)
		return *err = -errno, NULL;
	if (!S_ISREG(st.st_mode))
		return *err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, NULL;
	FILE *f = fdopen(fd, "r");
	if (!f)
		return *err = -errno, NULL;
	TAKE_FD(fd);
	return f;
}

static void log_unreadable(const char *path, int r) {
	if (r == -ENOENT)
		log_info("no ownership record at %s: ezlb owns only the services the config names", path);
	else if (r == -ELOOP)
		log_error("cannot read ownership record %s: it is a symbolic link, which ezlb never "
			  "follows; remove it (nothing is changed until then)", path);
	else if (r == -EINVAL)
		log_error("cannot read ownership record %s: not a regular file", path);
	else
		log_error("cannot read ownership record %s: %s", path, strerror(-r));
}

int lb_owned_load(const struct lb_statedir *sd, struct lb_owned *out) {
	out->n = 0;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/" LB_OWNED_FILE, sd->path) < 0)
		return path = NULL, -ENOMEM;
	int r = 0;
	FILE *f = open_record(sd, &r);
	if (!f) {
		log_unreadable(path, r);
		return r;
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	const char *why = NULL;
	ssize_t len;
	/* errno is cleared before each read so a failed one (EISDIR, EIO) can be told from EOF */
	while (r >= 0 && (errno = 0, len = getline(&line, &cap, f)) >= 0)
		r = parse_line(out, line, len, ++lineno, &why);
	if (r >= 0 && ferror(f))
		r = errno ? -errno : -EIO;
	fclose(f);
	if (r >= 0 && lineno == 0) {
		r = -EBADMSG;
		why = "empty file";
		lineno = 1;
	}
	if (r == -EBADMSG)
		log_warn("%s:%u: corrupt ownership record: %s; ignoring it, so nothing outside the "
			 "config will be deleted this run",
			 path, lineno, why);
	else if (r < 0)
		log_error("cannot read ownership record %s: %s", path, strerror(-r));
	if (r < 0) {
		out->n = 0;
		return r;
	}
	log_debug("ownership record %s: %zu owned services", path, out->n);
	return 0;
}

/* ---- save ---- */

static int write_all(int fd, const char *buf, size_t len) {
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *render(const struct lb_owned *o, size_t *len) {
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		return NULL;
	fprintf(f, "%s\n", HEADER);
	for (size_t i = 0; i < o->n; i++) {
		char key[LB_SVC_KEYSTRLEN];
		fprintf(f, "%s\n", lb_svc_key_fmt(&o->keys[i], key, sizeof(key)));
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Writes a new temporary file completely and durably; the rename that publishes it comes after.
 * Its name is in tmp once it exists, so the caller can remove it. */
static int write_tmp(const struct lb_statedir *sd, char *tmp, const struct lb_owned *o,
		     const char **step) {
	size_t len;
	_cleanup_free_ char *text = render(o, &len);
	if (!text)
		return *step = "format", -ENOMEM;
	_cleanup_close_ int fd = lb_statedir_create_tmp(sd, LB_OWNED_FILE, 0644, tmp);
	if (fd < 0)
		return *step = "create temporary file", fd;
	int r = write_all(fd, text, len);
	if (r < 0)
		return *step = "write", r;
	if (fsync(fd) < 0)
		return *step = "fsync", -errno;
	if (close(TAKE_FD(fd)) < 0)
		return *step = "close", -errno;
	return 0;
}

int lb_owned_save(const struct lb_statedir *sd, const struct lb_owned *o) {
	char tmp[LB_STATEDIR_TMPNAME_MAX] = "";
	const char *step = NULL;
	int r = write_tmp(sd, tmp, o, &step);
	if (r < 0 && tmp[0])
		lb_statedir_discard(sd, tmp);
	if (r == 0)
		r = lb_statedir_replace(sd, tmp, LB_OWNED_FILE, &step);
	if (r < 0) {
		log_error("cannot save ownership record %s/" LB_OWNED_FILE ": %s: %s", sd->path, step,
			  strerror(-r));
		return r;
	}
	log_debug("saved ownership record %s/" LB_OWNED_FILE ": %zu owned services", sd->path, o->n);
	return 0;
}
