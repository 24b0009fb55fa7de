/* inotify on the config file's directory. */
#include "watch.h"

#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

/* One include entry: its directory's watch and the glob names there must match. */
struct inc_watch {
	int wd; /* -1: the directory could not be watched */
	char *dir, *glob;
};

/* An included file modified or created and not closed since (the main file's "writing"). */
struct busy {
	int wd;
	char *name;
};

struct lb_watch {
	int fd;
	char *dir;
	char *base;
	int main_wd;     /* dir's watch */
	int target_wd;   /* the directory of the file a symlinked config points to, or -1 */
	char *target;    /* that file's name there */
	bool writing;    /* the file was modified or created and not closed since: still being
			  * written, so a version on disk now may be a prefix of the real one */
	struct inc_watch *inc;
	size_t n_inc;
	struct busy *busy;
	size_t n_busy, cap_busy;
	char **dirty;    /* included files with events since lb_watch_dirty_clear */
	size_t n_dirty, cap_dirty;
	bool dirty_all;  /* not known: every file may have changed */
};

#define DIRTY_MAX 256 /* beyond that, a stat of every file costs less than the bookkeeping */

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

/* ---- included files ---- */

static void inc_free(struct inc_watch *v, size_t n) {
	for (size_t i = 0; i < n; i++) {
		free(v[i].dir);
		free(v[i].glob);
	}
	free(v);
}

static bool wd_in(const struct inc_watch *v, size_t n, int wd) {
	for (size_t i = 0; i < n; i++)
		if (v[i].wd == wd)
			return true;
	return false;
}

/* Forgets the files being written in directories that are no longer watched (all if v is NULL). */
static void busy_clear(struct lb_watch *w, const struct inc_watch *v, size_t n) {
	size_t k = 0;
	for (size_t i = 0; i < w->n_busy; i++) {
		if (v && wd_in(v, n, w->busy[i].wd))
			w->busy[k++] = w->busy[i];
		else
			free(w->busy[i].name);
	}
	w->n_busy = k;
}

static size_t busy_find(const struct lb_watch *w, int wd, const char *name) {
	size_t i = 0;
	while (i < w->n_busy && (w->busy[i].wd != wd || strcmp(w->busy[i].name, name) != 0))
		i++;
	return i;
}

static void busy_set(struct lb_watch *w, int wd, const char *name, bool on) {
	size_t i = busy_find(w, wd, name);
	if (!on && i < w->n_busy) {
		free(w->busy[i].name);
		w->busy[i] = w->busy[--w->n_busy];
	} else if (on && i == w->n_busy && GROW(w->busy, w->cap_busy, w->n_busy + 1) == 0 &&
		   (w->busy[w->n_busy].name = strdup(name))) {
		w->busy[w->n_busy++].wd = wd;
	} /* out of memory: that file is loaded at its close like any other, maybe early */
}

int lb_watch_set_includes(struct lb_watch *w, const char *const *dirs, const char *const *globs,
			  size_t n) {
	struct inc_watch *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].wd = inotify_add_watch(w->fd, dirs[i], WATCH_MASK); /* the same wd if watched */
		v[i].dir = strdup(dirs[i]);
		v[i].glob = strdup(globs[i]);
		if (!v[i].dir || !v[i].glob) {
			inc_free(v, i + 1);
			return -ENOMEM;
		}
		if (v[i].wd < 0)
			log_debug("config watcher: cannot watch %s: %s", dirs[i], strerror(errno));
	}
	for (size_t i = 0; i < w->n_inc; i++) {
		int wd = w->inc[i].wd;
		if (wd >= 0 && wd != w->main_wd && wd != w->target_wd && !wd_in(v, n, wd) &&
		    !wd_in(w->inc, i, wd))
			inotify_rm_watch(w->fd, wd);
	}
	busy_clear(w, v, n);
	inc_free(w->inc, w->n_inc);
	w->inc = v;
	w->n_inc = n;
	return 0;
}

/* The include entry whose directory and glob the event's name matches, or NULL. */
static const struct inc_watch *inc_match(const struct lb_watch *w, const struct inotify_event *ev) {
	for (size_t i = 0; i < w->n_inc; i++)
		if (w->inc[i].wd == ev->wd && fnmatch(w->inc[i].glob, ev->name, FNM_PERIOD) == 0)
			return &w->inc[i];
	return NULL;
}

static bool is_link(const char *dir, const char *name) {
	_cleanup_free_ char *p = NULL;
	struct stat st;
	return asprintf(&p, "%s/%s", dir, name) >= 0 && lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

static void dirty_add(struct lb_watch *w, const struct inc_watch *iw, const char *name) {
	_cleanup_free_ char *p = NULL;
	if (w->dirty_all)
		return;
	if (w->n_dirty >= DIRTY_MAX || asprintf(&p, "%s/%s", iw->dir, name) < 0) {
		w->dirty_all = true;
		return;
	}
	for (size_t i = 0; i < w->n_dirty; i++)
		if (strcmp(w->dirty[i], p) == 0)
			return;
	if (GROW(w->dirty, w->cap_dirty, w->n_dirty + 1) < 0)
		w->dirty_all = true;
	else
		w->dirty[w->n_dirty++] = TAKE_PTR(p);
}

bool lb_watch_dirty(const struct lb_watch *w, const char *const **paths, size_t *n) {
	*paths = (const char *const *)w->dirty;
	*n = w->n_dirty;
	return !w->dirty_all;
}

void lb_watch_dirty_clear(struct lb_watch *w) {
	for (size_t i = 0; i < w->n_dirty; i++)
		free(w->dirty[i]);
	w->n_dirty = 0;
	w->dirty_all = false;
}

/* An event in an include directory: the main file's rules, for each matching name. Names that
 * match no glob (editors' swap files, a writer's temporary name) do not count at all. */
static int classify_include(struct lb_watch *w, const struct inotify_event *ev) {
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		w->dirty_all = true; /* and what it held, if it comes back, was never seen */
		return LB_WATCH_CHANGED; /* the directory went: the load says so */
	}
	const struct inc_watch *iw = ev->len ? inc_match(w, ev) : NULL;
	if (!iw)
		return 0;
	dirty_add(w, iw, ev->name);
	if (ev->mask & IN_MODIFY) {
		busy_set(w, ev->wd, ev->name, true);
		return 0;
	}
	if (ev->mask & IN_CREATE) {
		bool link = is_link(iw->dir, ev->name);
		busy_set(w, ev->wd, ev->name, !link);
		return link ? LB_WATCH_INCLUDED : 0;
	}
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) {
		busy_set(w, ev->wd, ev->name, false);
		return LB_WATCH_INCLUDED;
	}
	return LB_WATCH_CHANGED; /* chmod, touch: the signature check decides */
}

int lb_watch_new(const char *config_path, struct lb_watch **out) {
	_cleanup_free_ char *d = strdup(config_path), *b = strdup(config_path);
	_cleanup_free_ struct lb_watch *w = calloc(1, sizeof(*w));
	if (!d || !b || !w)
		return -ENOMEM;
	w->target_wd = -1;
	w->dirty_all = true; /* what changed before the watch began is not known */
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->dir = strdup(dirname(d));
	w->base = strdup(basename(b));
	if (!w->dir || !w->base || (w->main_wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK)) < 0) {
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
	inc_free(w->inc, w->n_inc);
	busy_clear(w, NULL, 0);
	free(w->busy);
	lb_watch_dirty_clear(w);
	free(w->dirty);
	free(w);
}

int lb_watch_fd(const struct lb_watch *w) { return w->fd; }

bool lb_watch_writing(const struct lb_watch *w) { return w->writing || w->n_busy; }

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
			if (ev->mask & IN_Q_OVERFLOW) {
				hit |= LB_WATCH_CHANGED | (w->n_inc ? LB_WATCH_INCLUDED : 0);
				busy_clear(w, NULL, 0); /* events were lost: closes too */
				w->dirty_all = true;
			} else {
				if (wd_in(w->inc, w->n_inc, ev->wd))
					hit |= classify_include(w, ev);
				if ((ev->wd == w->main_wd || ev->wd == w->target_wd) && classify(w, ev))
					hit |= LB_WATCH_CHANGED;
			}
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
