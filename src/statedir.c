/* The state directory: opened once, checked, locked; every file in it reached through its fd. */
#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int lb_statedir_check(const struct stat *st, uid_t euid, char *why, size_t len) {
	if (S_ISLNK(st->st_mode))
		return snprintf(why, len, "is a symbolic link"), -ELOOP;
	if (!S_ISDIR(st->st_mode))
		return snprintf(why, len, "is not a directory"), -ENOTDIR;
	if (st->st_uid != euid)
		return snprintf(why, len, "is owned by uid %u, not by ezlb's uid %u", (unsigned)st->st_uid,
				(unsigned)euid), -EPERM;
	/* anyone else who can write here can plant or replace the record ezlb deletes by */
	if (st->st_mode & 022)
		return snprintf(why, len, "is writable by %s (mode %04o)",
				(st->st_mode & 022) == 022 ? "group and others" :
				(st->st_mode & 002) ? "others" : "its group",
				(unsigned)(st->st_mode & 07777)), -EPERM;
	return 0;
}

/* mkdir -p: parents 0755 (they are shared, e.g. /run), the directory itself 0700. */
static int make_dirs(char *path) {
	for (char *p = path + 1;; p++) {
		bool end = *p == 0;
		if (*p != '/' && !end)
			continue;
		*p = 0;
		int r = mkdir(path, end ? 0700 : 0755) < 0 && errno != EEXIST ? -errno : 0;
		if (!end)
			*p = '/';
		if (r < 0 || end)
			return r;
	}
}

/* O_PATH|O_NOFOLLOW opens the name itself even when it is a symbolic link, so what is checked is
 * exactly what is then used: no window between a stat and an open. */
static int open_checked(const char *path, int *out, char *why, size_t len) {
	_cleanup_close_ int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return snprintf(why, len, "%s", strerror(errno)), -errno;
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return snprintf(why, len, "fstat: %s", strerror(errno)), -errno;
	int r = lb_statedir_check(&st, geteuid(), why, len);
	if (r < 0)
		return r;
	*out = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*out < 0)
		return snprintf(why, len, "%s", strerror(errno)), -errno;
	return 0;
}

int lb_statedir_open(const char *path, struct lb_statedir *sd) {
	*sd = (struct lb_statedir){.fd = -1, .lock_fd = -1};
	if (!path[0]) {
		log_error("--state-dir: an empty path names no directory");
		return -EINVAL;
	}
	sd->path = strdup(path);
	if (!sd->path)
		return -ENOMEM;
	size_t n = strlen(sd->path);
	while (n > 1 && sd->path[n - 1] == '/') /* a trailing slash would follow a symbolic link */
		sd->path[--n] = 0;
	char why[128];
	int r = make_dirs(sd->path);
	if (r < 0)
		snprintf(why, sizeof(why), "cannot create it: %s", strerror(-r));
	else
		r = open_checked(sd->path, &sd->fd, why, sizeof(why));
	if (r < 0) {
		log_error("state directory %s %s: refusing to use it (see --state-dir)", sd->path, why);
		lb_statedir_close(sd);
	}
	return r;
}

void lb_statedir_close(struct lb_statedir *sd) {
	if (sd->lock_fd >= 0)
		close(sd->lock_fd); /* releases the flock */
	if (sd->fd >= 0)
		close(sd->fd);
	free(sd->path);
	*sd = (struct lb_statedir){.fd = -1, .lock_fd = -1};
}

int lb_statedir_openat(const struct lb_statedir *sd, const char *name, int flags, mode_t mode) {
	int fd = openat(sd->fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

/* ---- the lock ---- */

static void read_holder(int fd, struct lb_statedir_holder *h) {
	char buf[64];
	*h = (struct lb_statedir_holder){0};
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	char cmd[sizeof(h->cmd)] = "";
	long pid;
	if (sscanf(buf, "%ld %15[a-z]", &pid, cmd) < 1 || pid <= 0)
		return;
	h->pid = pid;
	snprintf(h->cmd, sizeof(h->cmd), "%s", cmd);
}

/* Who holds the lock is for the message of the one refused; the lock works without it, so a
 * full or read-only directory does not stop a run that has nothing to write. */
static void write_holder(const struct lb_statedir *sd, int fd, bool writable, const char *cmd) {
	if (!writable)
		return;
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), cmd);
	errno = 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("cannot write the pid into %s/" LB_STATEDIR_LOCK ": %s (the lock holds anyway)",
			 sd->path, strerror(errno ? errno : EIO));
}

/* "NAME.tmp.PID.RANDOM" (and the plain "NAME.tmp" of older versions). */
static bool is_tmp_name(const char *name) {
	size_t n = strlen(name);
	return strstr(name, ".tmp.") || (n > 4 && strcmp(name + n - 4, ".tmp") == 0);
}

/* A temporary file is only ever written by the lock holder, so with the lock held any left
 * over is from a run that died mid-write: unfinished, never to be read. */
static void remove_leftovers(const struct lb_statedir *sd) {
	int dfd = openat(sd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		log_warn("cannot list state directory %s: %s", sd->path, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && is_tmp_name(e->d_name)) {
			if (unlinkat(sd->fd, e->d_name, 0) == 0)
				log_info("removed %s/%s, left over from an interrupted write", sd->path,
					 e->d_name);
			else
				log_warn("cannot remove %s/%s: %s", sd->path, e->d_name, strerror(errno));
		}
	closedir(d);
}

/* Read-write to record the pid; on a read-only file system a read-only fd still takes a flock. */
static int open_lock_file(const struct lb_statedir *sd, bool *writable) {
	*writable = true;
	int fd = lb_statedir_openat(sd, LB_STATEDIR_LOCK, O_RDWR | O_CREAT, 0600);
	if (fd == -EROFS) {
		*writable = false;
		fd = lb_statedir_openat(sd, LB_STATEDIR_LOCK, O_RDONLY, 0);
	}
	if (fd < 0)
		log_error("cannot open lock file %s/" LB_STATEDIR_LOCK ": %s", sd->path,
			  fd == -ELOOP ? "it is a symbolic link (remove it)" : strerror(-fd));
	return fd;
}

int lb_statedir_lock(struct lb_statedir *sd, const char *cmd, struct lb_statedir_holder *holder) {
	bool writable;
	_cleanup_close_ int fd = open_lock_file(sd, &writable);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		if (r == -EWOULDBLOCK) {
			read_holder(fd, holder);
			return r;
		}
		log_error("cannot lock %s/" LB_STATEDIR_LOCK ": %s", sd->path, strerror(-r));
		return r;
	}
	write_holder(sd, fd, writable, cmd);
	sd->lock_fd = TAKE_FD(fd);
	remove_leftovers(sd);
	return 0;
}

void lb_statedir_report_busy(const struct lb_statedir *sd, const char *cmd,
			     const struct lb_statedir_holder *h) {
	char pid[32] = "unknown pid";
	if (h->pid)
		snprintf(pid, sizeof(pid), "pid %ld", h->pid);
	bool daemon_holds = strcmp(h->cmd, "run") == 0;
	if (strcmp(cmd, "run") == 0)
		log_error("another ezlb %s (%s) holds %s/" LB_STATEDIR_LOCK ": only one ezlb may manage a "
			  "state directory", daemon_holds ? "daemon" : h->cmd[0] ? h->cmd : "process",
			  pid, sd->path);
	else if (daemon_holds && strcmp(cmd, "cleanup") == 0)
		log_error("ezlb daemon (%s) is running on %s: stop it first (`systemctl stop ezlb`), "
			  "then run `ezlb cleanup`", pid, sd->path);
	else if (daemon_holds)
		log_error("ezlb daemon (%s) is running on %s: edit the configuration and run "
			  "`systemctl reload ezlb` (or stop the daemon first)", pid, sd->path);
	else
		log_error("another ezlb %s (%s) holds %s/" LB_STATEDIR_LOCK ": try again when it has "
			  "finished", h->cmd[0] ? h->cmd : "process", pid, sd->path);
}

int lb_statedir_acquire(const char *path, const char *cmd, struct lb_statedir *sd) {
	struct lb_statedir_holder h;
	int r = lb_statedir_open(path, sd);
	if (r < 0)
		return r;
	r = lb_statedir_lock(sd, cmd, &h);
	if (r == -EWOULDBLOCK)
		lb_statedir_report_busy(sd, cmd, &h);
	if (r < 0)
		lb_statedir_close(sd);
	return r;
}

/* ---- atomic replacement ---- */

static unsigned long long tmp_suffix(void) {
	unsigned long long x;
	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) == sizeof(x))
		return x;
	return now_usec(CLOCK_MONOTONIC) ^ ((unsigned long long)getpid() << 32);
}

int lb_statedir_create_tmp(const struct lb_statedir *sd, const char *name, mode_t mode,
			   char tmp[LB_STATEDIR_TMPNAME_MAX]) {
	int fd = -EEXIST;
	/* O_EXCL: a name that exists, file or planted symbolic link, is never opened; try another */
	for (int i = 0; i < 16 && fd == -EEXIST; i++) {
		int n = snprintf(tmp, LB_STATEDIR_TMPNAME_MAX, "%s.tmp.%ld.%016llx", name, (long)getpid(),
				 tmp_suffix());
		if (n < 0 || n >= LB_STATEDIR_TMPNAME_MAX)
			return tmp[0] = 0, -ENAMETOOLONG;
		fd = lb_statedir_openat(sd, tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
	}
	if (fd < 0)
		tmp[0] = 0; /* not ours: never to be removed by the caller */
	return fd;
}

int lb_statedir_replace(const struct lb_statedir *sd, const char *tmp, const char *name,
			const char **step) {
	int r = 0;
	if (renameat(sd->fd, tmp, sd->fd, name) < 0) {
		r = -errno;
		*step = "rename";
		lb_statedir_discard(sd, tmp);
	} else if (fsync(sd->fd) < 0) { /* the rename is only durable once the directory is */
		r = -errno;
		*step = "fsync directory";
	}
	return r;
}

void lb_statedir_discard(const struct lb_statedir *sd, const char *tmp) {
	unlinkat(sd->fd, tmp, 0);
}
