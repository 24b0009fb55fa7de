/* Small helpers shared by every module: cleanup attributes, array growth, time. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED __attribute__((unused))

/* Ownership is explicit: a variable marked _cleanup_free_ is freed when it goes out of scope
 * unless the code hands it on with TAKE_PTR(). */
#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
#define _cleanup_close_ _cleanup_(closep)
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* Grow *items (of *cap elements of size sz) so that it holds at least n. Returns 0 or -ENOMEM. */
int grow_array(void **items, size_t *cap, size_t n, size_t sz);
#define GROW(arr, cap, n) grow_array((void **)&(arr), &(cap), (n), sizeof(*(arr)))

typedef uint64_t usec_t;
#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
usec_t now_usec(clockid_t clock);  /* CLOCK_MONOTONIC for deadlines */

/* An append-only line in a caller's buffer that truncates instead of overflowing: the plan
 * lines of the table and of the kernel-wide settings. */
struct lb_line {
	char *buf;
	size_t len, off;
};
void lb_line_put(struct lb_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value of one hex digit (either case), or -1: the config's hex payloads, HTTP chunk sizes,
 * JSON \u escapes and keepalived's escapes all read digits by this one rule. */
static inline int lb_hex_digit(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads fd to its end, but never more than max + 1 bytes (a pipe or a device that goes on for
 * ever is caught: *len > max then means "too large"). *buf is NUL-terminated and the caller's.
 * Returns 0, -ENOMEM or -errno of read. */
int lb_read_bounded(int fd, size_t max, char **buf, size_t *len);

/* The kernel's dev_valid_name() (net/core/dev.c): 1 to IFNAMSIZ - 1 bytes, none of them '/',
 * ':' or whitespace, and not "." or "..". The config (sync, announce) and the announce record
 * refuse by this one rule a name the kernel could never create. */
bool lb_ifname_ok(const char *s);
