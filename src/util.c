#include "util.h"

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
