#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lb_ip_parse(const char *s, uint16_t *af, union lb_inaddr *ip) {
	union lb_inaddr tmp;
	memset(&tmp, 0, sizeof(tmp));
	if (inet_pton(AF_INET, s, &tmp.v4) == 1) {
		*af = AF_INET;
	} else if (inet_pton(AF_INET6, s, &tmp.v6) == 1) {
		*af = AF_INET6;
	} else {
		return -EINVAL;
	}
	*ip = tmp;
	return 0;
}

static int parse_port(const char *s, uint16_t *port) {
	size_t n = strspn(s, "0123456789");
	if (n == 0 || s[n])
		return -EINVAL;
	/* a number too long to be a port is out of range, not bad syntax ("100000"); leading zeros
	 * do not count, and past this check strtoul cannot overflow */
	size_t zeros = strspn(s, "0");
	if (n - zeros > 5)
		return -ERANGE;
	unsigned long v = strtoul(s + zeros, NULL, 10);
	if (v < 1 || v > 65535)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

/* Up to max digits as a number; *len gets how many were read (max + 1: too many). */
static unsigned read_digits(const char **s, unsigned max, unsigned *len) {
	const char *p = *s;
	unsigned v = 0, n = 0;
	for (; *p >= '0' && *p <= '9' && n <= max; p++, n++)
		v = v * 10 + (unsigned)(*p - '0');
	*s = p;
	*len = n;
	return v;
}

/* The common form, "10.0.0.1:80" written canonically, read in one pass: loading a 100k-backend
 * file spent more in inet_pton and strtoul than in the rest of a backend's decoding. Anything
 * else (leading zeros, IPv6, every error) is left to the general path below, so what is accepted,
 * and how it is reported, does not change. */
static bool parse_v4_fast(const char *s, struct lb_addr *out) {
	uint32_t ip = 0;
	unsigned v, n;
	for (int part = 0; part < 4; part++) {
		const char *start = s;
		v = read_digits(&s, 3, &n);
		if (n == 0 || n > 3 || v > 255 || (n > 1 && *start == '0') || *s++ != (part < 3 ? '.' : ':'))
			return false;
		ip = ip << 8 | v;
	}
	const char *start = s;
	v = read_digits(&s, 5, &n);
	if (*s || n == 0 || n > 5 || *start == '0' || v > 65535)
		return false;
	memset(out, 0, sizeof(*out));
	out->af = AF_INET;
	out->ip.v4.s_addr = htonl(ip);
	out->port = (uint16_t)v;
	return true;
}

int lb_addr_parse(const char *s, struct lb_addr *out) {
	if (parse_v4_fast(s, out))
		return 0;
	char host[INET6_ADDRSTRLEN];
	const char *port;
	struct lb_addr a;
	memset(&a, 0, sizeof(a));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = 0;
		port = close + 2;
		if (inet_pton(AF_INET6, host, &a.ip.v6) != 1)
			return -EINVAL;
		a.af = AF_INET6;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, colon - s);
		host[colon - s] = 0;
		port = colon + 1;
		/* an unbracketed IPv6 address is ambiguous with its port: refuse it */
		if (inet_pton(AF_INET, host, &a.ip.v4) != 1)
			return -EINVAL;
		a.af = AF_INET;
	}
	int r = parse_port(port, &a.port);
	if (r < 0)
		return r;
	*out = a;
	return 0;
}

int lb_addr_cmp(const struct lb_addr *a, const struct lb_addr *b) {
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	int r = memcmp(a->ip.bytes, b->ip.bytes, sizeof(a->ip.bytes));
	if (r)
		return r < 0 ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

const char *lb_ip_fmt(uint16_t af, const union lb_inaddr *ip, char buf[static LB_ADDRSTRLEN]) {
	if (!inet_ntop(af, ip->bytes, buf, LB_ADDRSTRLEN))
		snprintf(buf, LB_ADDRSTRLEN, "<af %u>", af);
	return buf;
}

const char *lb_addr_fmt(const struct lb_addr *a, char buf[static LB_ADDRSTRLEN]) {
	char ip[LB_ADDRSTRLEN];
	lb_ip_fmt(a->af, &a->ip, ip);
	snprintf(buf, LB_ADDRSTRLEN, a->af == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return buf;
}
