/* Helpers shared by the tests that run the event loop with child processes (hooks, exec checks):
 * running the loop, log capture, shell scripts, and this process's children from /proc. */
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "util.h"

/* Run the loop for ms milliseconds, whatever happens meanwhile. */
static inline void run_loop_ms(struct lb_loop *l, unsigned ms) {
	usec_t end = now_usec(CLOCK_MONOTONIC) + (usec_t)ms * USEC_PER_MSEC;
	for (usec_t now; (now = now_usec(CLOCK_MONOTONIC)) < end;)
		assert_true(lb_loop_run_once(l, (int)((end - now) / USEC_PER_MSEC) + 1) >= 0);
}

/* --- log capture --- */

/* Log capture: stderr goes to a memfd; capture_take() returns the messages logged since
 * capture_start(), one per line, without the timestamp and level prefix. capture_start() opens
 * the memfd the first time unless the test opened capture_fd and saved_stderr itself. */
static int capture_fd = -1, saved_stderr = -1;

static inline void capture_start(void) {
	fflush(stderr);
	if (capture_fd < 0) {
		capture_fd = memfd_create("log", 0);
		assert_true(capture_fd >= 0);
		saved_stderr = dup(STDERR_FILENO);
	}
	assert_int_equal(ftruncate(capture_fd, 0), 0);
	assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
	dup2(capture_fd, STDERR_FILENO);
}

/* Caller frees the result. */
static inline char *capture_take(void) {
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	off_t len = lseek(capture_fd, 0, SEEK_END);
	char *raw = calloc(1, (size_t)len + 1), *out = calloc(1, (size_t)len + 1);
	assert_non_null(raw);
	assert_non_null(out);
	assert_int_equal(pread(capture_fd, raw, (size_t)len, 0), len);
	/* "2026-01-01T00:00:00.000 ezlb[warn]: msg" -> "msg" */
	char *save = NULL;
	for (char *line = strtok_r(raw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *m = strstr(line, "]: ");
		strcat(out, m ? m + 3 : line);
		strcat(out, "\n");
	}
	free(raw);
	return out;
}

/* The number of lines of a captured log. */
static inline int n_lines(const char *log) {
	int n = 0;
	for (; *log; log++)
		n += *log == '\n';
	return n;
}

/* want is one whole line of log. */
static inline void assert_line(const char *log, const char *want) {
	char line[2048];
	snprintf(line, sizeof(line), "%s\n", want);
	if (!strstr(log, line))
		fail_msg("missing \"%s\" in log:\n%s", want, log);
}

/* --- scripts --- */

/* An nftw callback that removes everything (a test's temporary directory). */
static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
	return remove(path);
}

/* Writes "#!/bin/sh\n" body to path, with mode. */
static inline void write_script(const char *path, const char *body, mode_t mode) {
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static inline bool under_valgrind(void) {
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

/* --- processes (from /proc) --- */

/* State, parent and process group of pid (each pointer may be NULL but state); false if it is
 * gone. */
static inline bool proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp) {
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	int pp = 0, pg = 0;
	if (!p || sscanf(p + 2, "%c %d %d", state, &pp, &pg) != 3)
		return false;
	if (ppid)
		*ppid = pp;
	if (pgrp)
		*pgrp = pg;
	return true;
}

/* Children of this process: all of them, and the zombies among them. */
static inline void count_children(int *all, int *zombies) {
	DIR *d = opendir("/proc");
	assert_non_null(d);
	*all = *zombies = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char st;
		pid_t ppid;
		int pid = atoi(e->d_name);
		if (pid > 0 && proc_stat(pid, &st, &ppid, NULL) && ppid == getpid()) {
			(*all)++;
			*zombies += st == 'Z';
		}
	}
	closedir(d);
}

static inline void assert_no_children(void) {
	int all, zombies;
	count_children(&all, &zombies);
	assert_int_equal(zombies, 0);
	assert_int_equal(all, 0);
}

/* A process that is not our child (it is reparented when its parent dies): dead once gone or a
 * zombie waiting for its new parent. Waits up to 2 s. */
static inline bool dies(pid_t pid) {
	for (int i = 0; i < 200; i++) {
		char st;
		if (!proc_stat(pid, &st, NULL, NULL) || st == 'Z' || st == 'X')
			return true;
		usleep(10000);
	}
	return false;
}
