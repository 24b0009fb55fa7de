/* Counting this process's open file descriptors, for the no-fd-leak checks of several tests. */
#pragma once
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* Entries of /proc/self/fd, the directory's own fd and "." and ".." included: only differences
 * between two counts mean anything. */
static inline int count_fds(void) {
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}
