/* process_* metrics from /proc (see procstat.h). */
#include "procstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Fields of /proc/self/stat, counted from the state (field 3): proc(5) numbers from 1. */
#define STAT_FIRST 3
#define STAT_STARTTIME (22 - STAT_FIRST)
#define STAT_VSIZE (23 - STAT_FIRST)
#define STAT_RSS (24 - STAT_FIRST)
#define STAT_FIELDS (STAT_RSS + 1)

static double start_time_cache; /* 0 until known; see procstat.h */

static void fclosep(FILE **f) {
	if (*f)
		fclose(*f);
}

/* Reads a small /proc file whole into buf (NUL-terminated). 0 or a negative errno. */
static int read_small(const char *path, char *buf, size_t len) {
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || (got += (size_t)n) == len - 1)
			break;
	}
	buf[got] = '\0';
	return 0;
}

/* The numeric fields of /proc/self/stat from the state on. The command name, which may hold
 * spaces and parentheses, ends at the last ')'. */
static int read_stat(unsigned long long f[STAT_FIELDS]) {
	char buf[1024];
	int r = read_small("/proc/self/stat", buf, sizeof(buf));
	if (r < 0)
		return r;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	p++;
	for (int i = 0; i < STAT_FIELDS; i++) {
		while (*p == ' ')
			p++;
		if (i == 0) { /* the state letter */
			p += *p != '\0';
			f[i] = 0;
			continue;
		}
		char *end;
		errno = 0;
		f[i] = strtoull(p, &end, 10);
		if (end == p || errno)
			return -EBADMSG;
		p = end;
	}
	return 0;
}

/* btime of /proc/stat: the boot time, seconds since the epoch. */
static int boot_time(double *out) {
	_cleanup_(fclosep) FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -errno;
	char line[256];
	unsigned long long bt;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "btime %llu", &bt) == 1) {
			*out = (double)bt;
			return 0;
		}
		/* the per-CPU lines can be longer than line: skip their rest */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	return -ENOENT;
}

static int start_time(unsigned long long ticks, double *out) {
	if (start_time_cache == 0) {
		double bt = 0;
		long hz = sysconf(_SC_CLK_TCK);
		int r = boot_time(&bt);
		if (r < 0)
			return r;
		if (hz <= 0)
			return -EINVAL;
		start_time_cache = bt + (double)ticks / (double)hz;
	}
	*out = start_time_cache;
	return 0;
}

static int count_fds(double *out) {
	struct stat st;
	/* Linux >= 6.2 reports the number of open fds as the directory's size */
	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) {
		*out = (double)st.st_size;
		return 0;
	}
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int self = dirfd(d);
	long n = 0;
	struct dirent *e;
	while (n < LB_PROCSTAT_MAX_FDS && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* "." and ".." */
		if (atoi(e->d_name) != self)
			n++;
	}
	closedir(d);
	*out = (double)n;
	return 0;
}

static double timeval_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int lb_procstat_read(struct lb_procstat *out) {
	unsigned long long f[STAT_FIELDS];
	struct rusage ru;
	struct rlimit rl;
	long page = sysconf(_SC_PAGESIZE);
	int r = read_stat(f);
	if (r < 0)
		return r;
	if (getrusage(RUSAGE_SELF, &ru) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	out->rss_bytes = (double)f[STAT_RSS] * (double)(page > 0 ? page : 4096);
	out->vsize_bytes = (double)f[STAT_VSIZE];
	out->cpu_seconds = timeval_s(ru.ru_utime) + timeval_s(ru.ru_stime);
	out->max_fds = (double)rl.rlim_cur;
	r = start_time(f[STAT_STARTTIME], &out->start_time_seconds);
	if (r < 0)
		return r;
	return count_fds(&out->open_fds);
}
