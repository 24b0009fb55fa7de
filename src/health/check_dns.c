/* DNS check, like keepalived's DNS_CHECK: one query (health_check.dns name and qtype, RD set) on a
 * connected UDP socket; the backend is up when an answer with our id, QR set and RCODE 0 comes
 * back before the deadline (TC set counts too: the server answered). RCODE != 0 fails with its
 * name ("DNS rcode 2 (SERVFAIL)"), an ICMP error fails with its reason, silence is a "timeout".
 * Datagrams that are not an answer to this query (another id: a stale answer to an earlier probe;
 * QR clear; shorter than a header) are ignored: the probe keeps waiting and the deadline decides.
 *
 * The only per-probe state besides the socket is the 16-bit id, kept in p->word: nothing to
 * allocate, nothing to free. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "check.h"
#include "dns_msg.h"

/* Datagrams read per wakeup: a peer flooding junk cannot keep the loop in one probe. */
#define READS_PER_WAKEUP 16


/* Query ids from splitmix64, seeded once from getrandom: unpredictable enough that an off-path
 * host cannot answer for the backend, and no syscall per probe. The seed falls back to the clock
 * when the kernel has no entropy yet (early boot, GRND_NONBLOCK). */
static uint16_t new_id(void) {
	static uint64_t state;
	static bool seeded;
	if (!seeded) {
		if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != sizeof(state))
			state = now_usec(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
		seeded = true;
	}
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint16_t)(z ^ (z >> 31));
}

/* A zeroed conf (as tests build them) means the config's defaults: the root, SOA. */
static const char *conf_name(const struct lb_check_conf *c) {
	return c->dns.name ? c->dns.name : ".";
}
static uint16_t conf_qtype(const struct lb_check_conf *c) {
	return c->dns.qtype ? c->dns.qtype : LB_DNS_TYPE_SOA;
}

static void dns_cancel(struct lb_probe *p) {
	lb_probe_close(p, false);
}

/* End the probe on one datagram's header; false when it was not an answer to this query. */
static bool judge(struct lb_probe *p, const uint8_t *msg, size_t len) {
	unsigned rcode;
	enum lb_dns_reply r = lb_dns_reply_check(msg, len, (uint16_t)p->word, &rcode);
	if (r == DNS_REPLY_IGNORE)
		return false;
	dns_cancel(p);
	if (r == DNS_REPLY_OK) {
		lb_probe_done(p, true, NULL);
		return true;
	}
	char reason[48];
	const char *name = lb_dns_rcode_name(rcode);
	if (name)
		snprintf(reason, sizeof(reason), "DNS rcode %u (%s)", rcode, name);
	else
		snprintf(reason, sizeof(reason), "DNS rcode %u", rcode);
	lb_probe_done(p, false, reason);
	return true;
}

/* Read what waits on the socket; returns true when the probe ended. */
static bool dns_read(struct lb_probe *p) {
	for (int i = 0; i < READS_PER_WAKEUP; i++) {
		/* The header is all the verdict reads; the rest of the datagram is dropped. */
		uint8_t hdr[LB_DNS_HEADER_LEN];
		ssize_t n = recv(p->fd, hdr, sizeof(hdr), MSG_DONTWAIT);
		if (n >= 0) {
			if (judge(p, hdr, (size_t)n))
				return true;
			continue;
		}
		int err = errno;
		if (err == EAGAIN || err == EINTR)
			return false;
		dns_cancel(p);
		lb_probe_fail_errno(p, err);
		return true;
	}
	return false; /* more waiting: level-triggered epoll calls again */
}

static void dns_ready(struct lb_loop *l, int fd, uint32_t revents, void *userdata) {
	dns_read(userdata);
}

static void dns_start(struct lb_probe *p) {
	uint8_t query[LB_DNS_QUERY_MAX];
	uint16_t id = new_id();
	int len = lb_dns_query_build(query, sizeof(query), id, conf_name(p->conf),
				     conf_qtype(p->conf));
	if (len < 0) { /* the config's decoder checks names: not the backend's fault */
		lb_probe_abort(p, -len);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t sl = lb_probe_sockaddr(p->addr, &ss);
	int fd = lb_probe_open(p, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		return;
	p->word = id;
	/* Connected: only the backend's datagrams are delivered, and its ICMP errors reported. */
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 || send(fd, query, (size_t)len, 0) < 0) {
		int err = errno;
		dns_cancel(p);
		lb_probe_fail_errno(p, err);
		return;
	}
	lb_probe_watch(p, EPOLLIN, dns_ready); /* on failure it aborted the probe */
}

/* A late loop may not have read an answer, or an ICMP error, that came in time: read what is
 * queued before calling it a timeout. */
static void dns_expire(struct lb_probe *p) {
	if (p->fd >= 0 && dns_read(p))
		return;
	dns_cancel(p);
	lb_probe_done(p, false, "timeout");
}

static int dns_conf_cmp(const struct lb_check_conf *a, const struct lb_check_conf *b) {
	int r = strcmp(conf_name(a), conf_name(b));
	if (r)
		return r;
	uint16_t ta = conf_qtype(a), tb = conf_qtype(b);
	return ta == tb ? 0 : ta < tb ? -1 : 1;
}

const struct lb_check_ops lb_check_dns = {
	.name = "dns",
	.type = LB_CHECK_DNS,
	.start = dns_start,
	.cancel = dns_cancel,
	.expire = dns_expire,
	.conf_cmp = dns_conf_cmp,
};
