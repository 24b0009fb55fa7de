/* IP addresses and IP:port endpoints, IPv4 and IPv6. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Always 16 bytes; an IPv4 address is stored in the first 4 and the rest is zero, so memcmp works. */
union lb_inaddr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t bytes[16];
};

struct lb_addr {
	uint16_t af;   /* AF_INET or AF_INET6 */
	uint16_t port; /* host byte order */
	union lb_inaddr ip;
};

/* "[v6]:port" plus NUL. */
#define LB_ADDRSTRLEN (INET6_ADDRSTRLEN + 9)

/* Parse "1.2.3.4" or "::1" (no port). Returns 0 or -EINVAL. */
int lb_ip_parse(const char *s, uint16_t *af, union lb_inaddr *ip);
/* Parse "1.2.3.4:80" or "[::1]:80". Returns 0, -EINVAL (syntax) or -ERANGE (port 0 or > 65535). */
int lb_addr_parse(const char *s, struct lb_addr *out);
int lb_addr_cmp(const struct lb_addr *a, const struct lb_addr *b);
const char *lb_addr_fmt(const struct lb_addr *a, char buf[static LB_ADDRSTRLEN]);
const char *lb_ip_fmt(uint16_t af, const union lb_inaddr *ip, char buf[static LB_ADDRSTRLEN]);
