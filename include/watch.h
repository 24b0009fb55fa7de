/* Watches the directory that holds the config file, so every way of saving it is seen: in-place
 * writes, rename-over saves (vim, mv), delete then re-create, and Kubernetes ConfigMap symlink
 * swaps (which rename a "..data" link in that directory). The caller debounces and then decides
 * by the file's signature (lb_file_sig) whether it really changed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct lb_watch;

int lb_watch_new(const char *config_path, struct lb_watch **out);
/* Also watch the directories of the config's include entries, for names matching their globs
 * (dirs[i] with globs[i]; a directory may come several times). Replaces the previous set; a
 * directory that cannot be watched (missing) is skipped: the load reports it, and the next call
 * after it reappears watches it. Returns 0 or -ENOMEM. */
int lb_watch_set_includes(struct lb_watch *w, const char *const *dirs, const char *const *globs,
			  size_t n);
void lb_watch_free(struct lb_watch *w);
int lb_watch_fd(const struct lb_watch *w);
#define LB_WATCH_CHANGED 1  /* the main file (or what its path resolves to) may have a new version */
#define LB_WATCH_INCLUDED 2 /* an included file is complete: closed after writing, renamed into
			     * place, removed or renamed away, or a new symlink */
/* Reads all pending events. Returns LB_WATCH_CHANGED (1) if a complete new version of the config
 * file may be there, or'ed with LB_WATCH_INCLUDED for the included files; 0 if neither; or -errno.
 * An included file follows the same rules as the main file, each name on its own. Writing to the file in place (IN_MODIFY) is not a new version: the file is
 * complete when its writer closes it (IN_CLOSE_WRITE), when another file is renamed over it, or
 * when a symlink is put in its place. */
int lb_watch_drain(struct lb_watch *w);
/* The included files that had events since lb_watch_dirty_clear: *paths (dir "/" name, as given
 * to lb_watch_set_includes) and *n. False when that is not known (at the start, after lost events
 * or a directory that went away): then every file must be looked at. */
bool lb_watch_dirty(const struct lb_watch *w, const char *const **paths, size_t *n);
/* After a load that took in every change so far. */
void lb_watch_dirty_clear(struct lb_watch *w);
/* True between a write to the file (or to an included file) in place and its close: the file on
 * disk may be a prefix of what is being written, and must not be loaded. */
bool lb_watch_writing(const struct lb_watch *w);

/* What identifies a version of a file (following symlinks); all zero when it cannot be stat'ed. */
struct lb_file_sig {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};
void lb_file_sig_get(const char *path, struct lb_file_sig *sig);
bool lb_file_sig_eq(const struct lb_file_sig *a, const struct lb_file_sig *b);
