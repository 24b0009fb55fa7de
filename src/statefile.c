/* Small text files in the state directory, read as hostile input and replaced atomically: the
 * one piece of code behind the ownership record and the drain record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "statedir.h"
#include "util.h"

static FILE *open_file(const struct lb_statedir *sd, const char *name, int *err) {
	_cleanup_close_ int fd = lb_statedir_openat(sd, name, O_RDONLY | O_NONBLOCK, 0);
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

static int take_line(char *line, ssize_t len, unsigned lineno, const char *header, size_t max_line,
		     lb_statefile_line_fn fn, void *ud, const char **why) {
	if (len <= 0 || line[len - 1] != '\n')
		return *why = "truncated line", -EBADMSG;
	if ((size_t)len > max_line)
		return *why = "line too long", -EBADMSG;
	line[len - 1] = 0;
	if (strlen(line) != (size_t)len - 1) /* the text below a NUL would go unseen */
		return *why = "NUL byte in line", -EBADMSG;
	if (lineno == 1)
		return strcmp(line, header) == 0 ? 0 : (*why = "bad header", -EBADMSG);
	if (line[0] == 0 || line[0] == '#')
		return 0;
	return fn(line, ud, why);
}

int lb_statefile_read(const struct lb_statedir *sd, const char *name, const char *header,
		      size_t max_line, lb_statefile_line_fn fn, void *ud, unsigned *lineno,
		      const char **why) {
	int r = 0;
	FILE *f = open_file(sd, name, &r);
	*lineno = 0;
	if (!f)
		return r;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	/* errno is cleared before each read so a failed one (EIO) can be told from EOF */
	while (r >= 0 && (errno = 0, len = getline(&line, &cap, f)) >= 0)
		r = take_line(line, len, ++*lineno, header, max_line, fn, ud, why);
	if (r >= 0 && ferror(f))
		r = errno ? -errno : -EIO;
	fclose(f);
	if (r >= 0 && *lineno == 0) {
		*lineno = 1;
		*why = "empty file";
		return -EBADMSG;
	}
	return r;
}

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

/* Writes a new temporary file completely and durably; the rename that publishes it comes after.
 * Its name is in tmp once it exists, so the caller can remove it. */
static int write_tmp(const struct lb_statedir *sd, const char *name, char *tmp, const char *text,
		     size_t len, const char **step) {
	_cleanup_close_ int fd = lb_statedir_create_tmp(sd, name, 0644, tmp);
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

static char *render(const char *header, lb_statefile_emit_fn emit, const void *ud, size_t *len) {
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		return NULL;
	fprintf(f, "%s\n", header);
	emit(f, ud);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int lb_statefile_write(const struct lb_statedir *sd, const char *name, const char *header,
		       lb_statefile_emit_fn emit, const void *ud, const char **step) {
	char tmp[LB_STATEDIR_TMPNAME_MAX] = "";
	size_t len;
	_cleanup_free_ char *text = render(header, emit, ud, &len);
	if (!text)
		return *step = "format", -ENOMEM;
	int r = write_tmp(sd, name, tmp, text, len, step);
	if (r < 0 && tmp[0])
		lb_statedir_discard(sd, tmp);
	if (r == 0)
		r = lb_statedir_replace(sd, tmp, name, step);
	return r;
}

/* ---- records: the files above, with their messages ---- */

int lb_record_load(const struct lb_statedir *sd, const struct lb_record *rec,
		   lb_statefile_line_fn fn, void *ud) {
	unsigned lineno = 0;
	const char *why = NULL;
	int r = lb_statefile_read(sd, rec->name, rec->header, rec->max_line, fn, ud, &lineno, &why);
	if (r == -ENOENT && rec->if_missing)
		log_info("no %s at %s/%s: %s", rec->what, sd->path, rec->name, rec->if_missing);
	else if (r == -EBADMSG)
		log_warn("%s/%s:%u: corrupt %s: %s; ignoring it%s", sd->path, rec->name, lineno,
			 rec->what, why, rec->if_corrupt);
	else if (r == -ELOOP)
		log_error("cannot read %s %s/%s: it is a symbolic link, which ezlb never follows; "
			  "remove it", rec->what, sd->path, rec->name);
	else if (r < 0 && r != -ENOENT)
		log_error("cannot read %s %s/%s: %s", rec->what, sd->path, rec->name,
			  r == -EINVAL ? "not a regular file" : strerror(-r));
	return r;
}

int lb_record_save(const struct lb_statedir *sd, const struct lb_record *rec,
		   lb_statefile_emit_fn emit, const void *ud) {
	const char *step = NULL;
	int r = lb_statefile_write(sd, rec->name, rec->header, emit, ud, &step);
	if (r < 0)
		log_error("cannot save %s %s/%s: %s: %s", rec->what, sd->path, rec->name, step,
			  strerror(-r));
	return r;
}
