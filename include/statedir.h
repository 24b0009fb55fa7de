/* The state directory (default /run/ezlb): where ezlb keeps the files that must outlive one run.
 * ezlb trusts what it reads there (the ownership record decides what may be deleted), so the
 * directory must be ezlb's alone: a real directory, owned by ezlb's effective uid, writable by
 * nobody else. Every file in it is opened relative to the directory fd and never through a
 * symbolic link, and one lock file keeps two ezlb processes from managing it at once. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#define LB_STATE_DIR_DEFAULT "/run/ezlb"
#define LB_STATEDIR_LOCK "lock"

struct lb_statedir {
	char *path;  /* as given, without trailing slashes: for messages */
	int fd;      /* the directory itself */
	int lock_fd; /* the flock'd lock file, or -1 */
};

/* The decision on a state directory found by fstat: 0, or -ELOOP (a symbolic link), -ENOTDIR,
 * -EPERM (owned by another uid than euid, or group- or world-writable), with why set to the
 * reason (e.g. "is a symbolic link"). Pure: unit-testable on a crafted struct stat. */
int lb_statedir_check(const struct stat *st, uid_t euid, char *why, size_t len);

/* Makes the directory if missing (mode 0700, parents 0755), opens it without following a
 * symbolic link, and refuses it unless lb_statedir_check accepts it. Logs why on failure.
 * Returns 0 or a negative errno. */
int lb_statedir_open(const char *path, struct lb_statedir *sd);

/* Who holds the lock, as written in the lock file by lb_statedir_lock. */
struct lb_statedir_holder {
	long pid;     /* 0: unknown */
	char cmd[16]; /* "run", "once", "cleanup"; "" when unknown */
};

/* Takes the single-instance lock (STATE_DIR/lock, flock, not blocking) for cmd, writes
 * "PID CMD" into it, then removes temporary files a crash left behind. Returns 0; -EWOULDBLOCK
 * when another process holds it (not logged: *holder says who, lb_statedir_report_busy tells
 * the user); another negative errno (logged). The lock is held until lb_statedir_close. */
int lb_statedir_lock(struct lb_statedir *sd, const char *cmd, struct lb_statedir_holder *holder);

/* The refusal for cmd when holder has the lock: what is going on and what to do instead. */
void lb_statedir_report_busy(const struct lb_statedir *sd, const char *cmd,
			     const struct lb_statedir_holder *holder);

/* Open, lock for cmd, and say so when refused: what a command does before touching anything.
 * Returns 0 or a negative errno (logged); sd is closed again on failure. */
int lb_statedir_acquire(const char *path, const char *cmd, struct lb_statedir *sd);

/* Releases the lock (if held) and closes the directory. Safe on a zeroed or closed sd. */
void lb_statedir_close(struct lb_statedir *sd);

/* openat(name) in the directory with O_NOFOLLOW|O_CLOEXEC added: an fd, or a negative errno
 * (-ELOOP for a symbolic link). Not logged. */
int lb_statedir_openat(const struct lb_statedir *sd, const char *name, int flags, mode_t mode);

/* A new, unique temporary file for an atomic replacement of name ("NAME.tmp.PID.RANDOM"),
 * created with O_EXCL|O_NOFOLLOW so nothing planted there is ever written through. Returns a
 * write-only fd and its name in tmp, or a negative errno (tmp then ""). Not logged. */
#define LB_STATEDIR_TMPNAME_MAX 96
int lb_statedir_create_tmp(const struct lb_statedir *sd, const char *name, mode_t mode,
			   char tmp[LB_STATEDIR_TMPNAME_MAX]);

/* Renames tmp over name and fsyncs the directory so the rename survives a crash. On failure
 * *step says which ("rename": tmp is removed; "fsync directory": the rename was made).
 * Returns 0 or a negative errno. Not logged. */
int lb_statedir_replace(const struct lb_statedir *sd, const char *tmp, const char *name,
			const char **step);

/* Removes tmp (after a failed write). */
void lb_statedir_discard(const struct lb_statedir *sd, const char *tmp);

/* ---- small text files in the directory (src/statefile.c) ---- */

/* Called for each line after the header, its newline removed (a NUL inside was refused). Returns
 * 0, -ENOMEM, or -EBADMSG with *why. */
typedef int (*lb_statefile_line_fn)(char *line, void *ud, const char **why);

/* Reads the file name line by line. Only a regular file, never through a symbolic link (a FIFO
 * planted there would block: O_NONBLOCK keeps the open from blocking and the type check refuses
 * it). Line 1 must be header; every line must end in a newline (a truncated last line may still
 * parse, so it is refused) and be shorter than max_line. Returns 0; -ENOENT; -EBADMSG with
 * *lineno and *why (an empty file is line 1, "empty file"); -ELOOP (a symbolic link); -EINVAL
 * (not a regular file); -EISDIR; other negative errno. Not logged. */
int lb_statefile_read(const struct lb_statedir *sd, const char *name, const char *header,
		      size_t max_line, lb_statefile_line_fn fn, void *ud, unsigned *lineno,
		      const char **why);

/* Writes the body of a file: one line per entry, each ending in a newline. */
typedef void (*lb_statefile_emit_fn)(FILE *f, const void *ud);

/* Replaces name with header, a newline and what emit writes, atomically and durably: a new
 * temporary file written and fsynced, renamed over name, the directory fsynced; the temporary
 * file is removed on failure. Returns 0 or a negative errno with *step saying which step
 * failed. Not logged. */
int lb_statefile_write(const struct lb_statedir *sd, const char *name, const char *header,
		       lb_statefile_emit_fn emit, const void *ud, const char **step);

/* One record file of the state directory and the words its messages use. */
struct lb_record {
	const char *name, *header;
	size_t max_line;
	const char *what;       /* "ownership record" */
	const char *if_corrupt; /* follows "ignoring it" in the warning: ", so nothing ..." */
	const char *if_missing; /* an absent file is logged at info level with this, or not at all
				 * (NULL) */
};

/* lb_statefile_read, logged once with the record's path: absent (as if_missing says), corrupt
 * (a warning naming the line; the caller ignores the record), unreadable (an error: a symbolic
 * link, not a regular file, an I/O error). Returns what lb_statefile_read returned. */
int lb_record_load(const struct lb_statedir *sd, const struct lb_record *rec,
		   lb_statefile_line_fn fn, void *ud);
/* lb_statefile_write, a failure logged with its step. Returns what it returned. */
int lb_record_save(const struct lb_statedir *sd, const struct lb_record *rec,
		   lb_statefile_emit_fn emit, const void *ud);
