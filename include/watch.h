/* Watches the directory that holds the config file, so every way of saving it is seen: in-place
 * writes, rename-over saves (vim, mv), delete then re-create, and Kubernetes ConfigMap symlink
 * swaps (which rename a "..data" link in that directory). The caller debounces and then decides
 * by the file's signature (lb_file_sig) whether it really changed. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct lb_watch;

int lb_watch_new(const char *config_path, struct lb_watch **out);
void lb_watch_free(struct lb_watch *w);
int lb_watch_fd(const struct lb_watch *w);
/* Reads all pending events. Returns 1 if a complete new version of the config file may be there,
 * 0 if not, or -errno. Writing to the file in place (IN_MODIFY) is not a new version: the file is
 * complete when its writer closes it (IN_CLOSE_WRITE), when another file is renamed over it, or
 * when a symlink is put in its place. */
int lb_watch_drain(struct lb_watch *w);
/* True between a write to the file in place and its close: the file on disk may be a prefix of
 * what is being written, and must not be loaded. */
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
