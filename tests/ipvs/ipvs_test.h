/* Shared by the IPVS unit tests: attribute helpers, hand-built kernel replies, and a fake kernel
 * (the other end of a socketpair standing in for the netlink socket). Header-only: everything is
 * static inline, so a test that uses only part of it builds without unused-function warnings. */
#pragma once
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "../../src/ipvs/ipvs_priv.h"

#define FAMILY 0x24

/* Bit i set when nested attribute type i is present (and each at most once). */
static inline uint32_t attr_set(struct nlattr *nest) {
	uint32_t set = 0;
	struct nlattr *a;
	int rem;
	nla_for_each_nested(a, nest, rem) {
		assert_true(nla_type(a) < 32);
		assert_false(set & (1u << nla_type(a)));
		set |= 1u << nla_type(a);
	}
	assert_int_equal(rem, 0);
	return set;
}
#define BIT(x) (1u << (x))

static inline struct nl_msg *reply_msg(uint8_t cmd, uint32_t seq) {
	struct nl_msg *m = nlmsg_alloc();
	assert_non_null(m);
	assert_non_null(genlmsg_put(m, 0, seq, FAMILY, 0, NLM_F_MULTI, cmd, IPVS_GENL_VERSION));
	return m;
}

static inline struct nlattr *nest_of(struct nl_msg *m, int type) {
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	assert_int_equal(genlmsg_parse(nlmsg_hdr(m), 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy), 0);
	return tb[type];
}

/* ---- a fake kernel: the other end of a socketpair ---- */

struct fake {
	struct lb_ipvs v;
	int peer;
};

static inline void fake_open(struct fake *f, uint32_t seq, size_t batch_msgs) {
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	memset(f, 0, sizeof(*f));
	f->v.fd = sv[0];
	f->peer = sv[1];
	f->v.family = FAMILY;
	f->v.seq = seq;
	f->v.batch_msgs = batch_msgs;
	f->v.batch_bytes = 64 * 1024;
	f->v.reply_timeout_ms = 50;
	f->v.rbuf = malloc(LB_IPVS_RBUF);
	assert_non_null(f->v.rbuf);
}

static inline void fake_close(struct fake *f) {
	close(f->v.fd);
	close(f->peer);
	free(f->v.rbuf);
}

/* Appends to a datagram under construction. */
static inline void put_bytes(struct lb_nlbuf *dg, const void *p, size_t n) {
	assert_int_equal(lb_nlbuf_reserve(dg, n), 0);
	memcpy(dg->data + dg->len, p, n);
	dg->len += n;
}

static inline void put_err(struct lb_nlbuf *dg, uint32_t seq, int err) {
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} m = {
		.h = {.nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_ERROR, .nlmsg_flags = NLM_F_CAPPED,
		      .nlmsg_seq = seq},
		.e = {.error = err, .msg = {.nlmsg_len = 60, .nlmsg_type = FAMILY, .nlmsg_seq = seq}},
	};
	put_bytes(dg, &m, sizeof(m));
}

static inline void put_done(struct lb_nlbuf *dg, uint32_t seq) {
	struct {
		struct nlmsghdr h;
		int err;
	} m = {.h = {.nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_DONE, .nlmsg_flags = NLM_F_MULTI,
		     .nlmsg_seq = seq}};
	put_bytes(dg, &m, sizeof(m));
}

static inline void put_msg(struct lb_nlbuf *dg, struct nl_msg *m) {
	put_bytes(dg, nlmsg_hdr(m), NLMSG_ALIGN(nlmsg_hdr(m)->nlmsg_len));
	nlmsg_free(m);
}

static inline void fake_reply(struct fake *f, struct lb_nlbuf *dg) {
	assert_int_equal(send(f->peer, dg->data, dg->len, 0), (ssize_t)dg->len);
	dg->len = 0;
}

/* Reads the next datagram the code sent; returns its length. */
static inline int fake_read(struct fake *f, uint8_t *buf, size_t len) {
	ssize_t n = recv(f->peer, buf, len, MSG_DONTWAIT);
	assert_true(n > 0);
	return (int)n;
}
