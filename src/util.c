#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

int grow_array(void **items, size_t *cap, size_t n, size_t sz) {
	if (n <= *cap)
		return 0;
	size_t c = *cap ? *cap : 8;
	while (c < n)
		c *= 2;
	void *p = reallocarray(*items, c, sz);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = c;
	return 0;
}

usec_t now_usec(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}

void lb_line_put(struct lb_line *l, const char *fmt, ...) {
	if (l->off + 1 >= l->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->off, l->len - l->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->off = l->off + (size_t)n < l->len ? l->off + (size_t)n : l->len - 1;
}

int lb_read_bounded(int fd, size_t max, char **buf, size_t *len) {
	_cleanup_free_ char *b = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 1 >= cap && GROW(b, cap, n + 65536) < 0)
			return -ENOMEM;
		size_t want = cap - n - 1; /* room for the NUL */
		if (n + want > max + 1)
			want = max + 1 - n;
		ssize_t r = read(fd, b + n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			break;
	}
	if (!b && GROW(b, cap, 1) < 0)
		return -ENOMEM;
	b[n] = 0;
	*len = n;
	*buf = TAKE_PTR(b);
	return 0;
}

bool lb_ifname_ok(const char *s) {
	size_t len = strlen(s);
	if (len < 1 || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}
