/* inotify on the config file's directory. */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

struct lb_watch {
	int fd;
	char *dir;
	char *base;
	int target_wd;   /* the directory of the file a symlinked config points to, or -1 */
	char *target;    /* that file's name there */
	bool writing;    /* the file was modified or created and not closed since: still being
			  * written, so a version on disk now may be a prefix of the real one */
};

/* Events that can mean a new version of a file in the directory. */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | \
		    IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF)

/* A config that is a symlink to a file elsewhere (/etc/ezlb/ezlb.yaml -> /srv/lb/ezlb.yaml) is
 * also edited there: watch that directory too. Best effort: the path's own directory is enough
 * for every other case. */
static void watch_target(struct lb_watch *w, const char *config_path) {
	_cleanup_free_ char *real = realpath(config_path, NULL);
	_cleanup_free_ char *d = real ? strdup(real) : NULL, *b = real ? strdup(real) : NULL;
	if (!d || !b)
		return;
	_cleanup_free_ char *self = realpath(w->dir, NULL);
	const char *dir = dirname(d);
	if (self && strcmp(self, dir) == 0)
		return; /* same directory */
	w->target_wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
	if (w->target_wd >= 0)
		w->target = strdup(basename(b));
}

int lb_watch_new(const char *config_path, struct lb_watch **out) {
	_cleanup_free_ char *d = strdup(config_path), *b = strdup(config_path);
	_cleanup_free_ struct lb_watch *w = calloc(1, sizeof(*w));
	if (!d || !b || !w)
		return -ENOMEM;
	w->target_wd = -1;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->dir = strdup(dirname(d));
	w->base = strdup(basename(b));
	if (!w->dir || !w->base || inotify_add_watch(w->fd, w->dir, WATCH_MASK) < 0) {
		int r = w->dir && w->base ? -errno : -ENOMEM;
		log_error("watching %s for config changes: %s", w->dir ? w->dir : config_path, strerror(-r));
		lb_watch_free(TAKE_PTR(w));
		return r;
	}
	watch_target(w, config_path);
	*out = TAKE_PTR(w);
	return 0;
}

void lb_watch_free(struct lb_watch *w) {
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->dir);
	free(w->base);
	free(w->target);
	free(w);
}

int lb_watch_fd(const struct lb_watch *w) { return w->fd; }

bool lb_watch_writing(const struct lb_watch *w) { return w->writing; }

/* The config file itself: its name in the watched directory, or the target of a symlinked one. */
static bool is_our_file(const struct lb_watch *w, const struct inotify_event *ev) {
	if (ev->wd == w->target_wd)
		return w->target && strcmp(ev->name, w->target) == 0;
	return strcmp(ev->name, w->base) == 0;
}

/* A name whose change can swap what our path resolves to (a "..data" style link, a rename over
 * the directory): anything but obviously unrelated files. Editors' swap files (".x.swp", "x~",
 * "4913") are ignored; the signature check settles the rest. */
static bool may_swap_path(const struct lb_watch *w, const struct inotify_event *ev) {
	if (!ev->len || (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
		return true;
	if (ev->wd == w->target_wd)
		return false;
	size_t n = strlen(ev->name);
	bool swap = (n > 4 && strcmp(ev->name + n - 4, ".swp") == 0) || ev->name[n - 1] == '~' ||
		    strcmp(ev->name, "4913") == 0;
	return !swap && !(ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB));
}

/* A new name in the directory: a symlink is complete as soon as it exists; a regular file is
 * complete when its writer closes it (IN_CLOSE_WRITE follows). */
static bool created_link(const struct lb_watch *w, const struct inotify_event *ev) {
	_cleanup_free_ char *p = NULL;
	const char *dir = ev->wd == w->target_wd ? NULL : w->dir;
	struct stat st;
	if (!dir || asprintf(&p, "%s/%s", dir, ev->name) < 0)
		return false;
	return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

/* What one event means for our file: 1 a complete new version may be there, 0 nothing.
 * A version is complete after close-after-write, a rename over it, a new symlink, a delete (then
 * the load reports the missing file), a chmod or touch; IN_MODIFY alone means a writer is at work
 * (scp, `cat >`, rsync --inplace): nothing is loaded until it closes the file. */
static int classify(struct lb_watch *w, const struct inotify_event *ev) {
	if (!is_our_file(w, ev))
		return may_swap_path(w, ev);
	if (ev->mask & IN_MODIFY) {
		w->writing = true;
		return 0;
	}
	if (ev->mask & IN_CREATE) {
		bool link = created_link(w, ev);
		w->writing = !link;
		return link;
	}
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE))
		w->writing = false;
	return 1;
}

int lb_watch_drain(struct lb_watch *w) {
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? hit : -errno;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				hit = 1;
			else if (classify(w, ev))
				hit = 1;
			p += sizeof(*ev) + ev->len;
		}
	}
}

void lb_file_sig_get(const char *path, struct lb_file_sig *sig) {
	struct stat st;
	memset(sig, 0, sizeof(*sig));
	if (stat(path, &st) < 0)
		return;
	sig->dev = st.st_dev;
	sig->ino = st.st_ino;
	sig->size = st.st_size;
	sig->mtime = st.st_mtim;
	sig->ctime = st.st_ctim;
}

bool lb_file_sig_eq(const struct lb_file_sig *a, const struct lb_file_sig *b) {
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}
