#include "util.h"

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
