/* Reading the configuration file whole, with a size limit checked before anything is parsed. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "util.h"

static const char *kind_of(mode_t m) {
	return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
	       : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int cfg_read_file(struct cfg_ctx *c, const char *path, char **buf, size_t *len,
		  struct lb_file_sig *sig) {
	/* a glob over /dev would match devices: opening one can have effects of its own
	 * (a watchdog starts), so they are refused before open; the fstat below still decides */
	struct stat pre;
	if (stat(path, &pre) == 0 && (S_ISCHR(pre.st_mode) || S_ISBLK(pre.st_mode) ||
				      S_ISSOCK(pre.st_mode))) {
		cfg_file_error(c, "is %s, not a regular file: refused", kind_of(pre.st_mode));
		return -EINVAL;
	}
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, for ever; the file type is
	 * checked before anything is read (it has no effect on a regular file) */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int r = -errno;
		cfg_file_error(c, "cannot open: %s", strerror(-r));
		return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		cfg_file_error(c, "cannot stat: %s", strerror(-r));
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		cfg_file_error(c, "is a directory, not a configuration file");
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_file_error(c, "is %s, not a regular file: refused", kind_of(st.st_mode));
		return -EINVAL;
	}
	if (st.st_size > (off_t)CFG_MAX_BYTES) {
		cfg_file_error(c, "file too large (%lld bytes; the limit is 16 MiB)", (long long)st.st_size);
		return -EFBIG;
	}
	/* the version is taken before reading: a write after this changes it, so a later reload
	 * never mistakes what was read for a newer version */
	if (sig)
		*sig = (struct lb_file_sig){.dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
					    .mtime = st.st_mtim, .ctime = st.st_ctim};
	_cleanup_free_ char *b = NULL;
	size_t n = 0;
	int r = lb_read_bounded(fd, CFG_MAX_BYTES, &b, &n);
	if (r < 0) {
		cfg_file_error(c, "cannot read: %s", strerror(-r));
		return r;
	}
	if (n > CFG_MAX_BYTES) { /* grew while we read, or not a regular file */
		cfg_file_error(c, "file too large (more than 16 MiB)");
		return -EFBIG;
	}
	*buf = TAKE_PTR(b);
	*len = n;
	return 0;
}
