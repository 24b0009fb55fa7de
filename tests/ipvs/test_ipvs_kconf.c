/* The kernel-wide IPVS settings without a kernel: the SET_CONFIG / NEW_DAEMON / DEL_DAEMON
 * requests are parsed back with the kernel's own attribute layout (ip_vs_ctl.c's policies), the
 * GET_CONFIG and GET_DAEMON replies are hand-built the way ip_vs_genl_get_cmd and
 * ip_vs_genl_fill_daemon build them, and the calls run against a fake kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "../../src/ipvs/ipvs_priv.h"
#include "ipvs_test.h"
#include "kconf.h"
#include "util.h"

/* ip_vs_daemon_policy: MCAST_IFN is an NLA_NUL_STRING of at most 15 characters (libnl's
 * NLA_STRING with maxlen 16 checks the same: NUL-terminated within 16 bytes), MCAST_GROUP a u32,
 * MCAST_GROUP6 16 bytes. */
static struct nla_policy kernel_daemon_policy[IPVS_DAEMON_ATTR_MAX + 1] = {
	[IPVS_DAEMON_ATTR_STATE] = {.type = NLA_U32},
	[IPVS_DAEMON_ATTR_MCAST_IFN] = {.type = NLA_STRING, .maxlen = IP_VS_IFNAME_MAXLEN},
	[IPVS_DAEMON_ATTR_SYNC_ID] = {.type = NLA_U32},
	[IPVS_DAEMON_ATTR_SYNC_MAXLEN] = {.type = NLA_U16},
	[IPVS_DAEMON_ATTR_MCAST_GROUP] = {.type = NLA_U32},
	[IPVS_DAEMON_ATTR_MCAST_GROUP6] = {.minlen = 16, .maxlen = 16},
	[IPVS_DAEMON_ATTR_MCAST_PORT] = {.type = NLA_U16},
	[IPVS_DAEMON_ATTR_MCAST_TTL] = {.type = NLA_U8},
};

struct req {
	struct nl_msg *msg;
	struct nlattr *cmd[IPVS_CMD_ATTR_MAX + 1];
	struct nlattr *d[IPVS_DAEMON_ATTR_MAX + 1];
	uint8_t genl_cmd;
	uint16_t flags;
};

/* Parses the one request at data as the kernel would: header, top-level attributes, the daemon
 * nest. */
static void parse_req(const uint8_t *data, size_t len, struct req *r) {
	memset(r, 0, sizeof(*r));
	const struct nlmsghdr *h0 = (const struct nlmsghdr *)data;
	assert_int_equal(h0->nlmsg_len, len); /* one request, its length exact */
	assert_int_equal(len % 4, 0);
	r->msg = nlmsg_convert((struct nlmsghdr *)data);
	assert_non_null(r->msg);
	struct nlmsghdr *h = nlmsg_hdr(r->msg);
	assert_int_equal(h->nlmsg_type, FAMILY);
	assert_int_equal(h->nlmsg_pid, 0);
	r->flags = h->nlmsg_flags;
	assert_true(genlmsg_valid_hdr(h, 0));
	struct genlmsghdr *g = nlmsg_data(h);
	r->genl_cmd = g->cmd;
	assert_int_equal(g->version, IPVS_GENL_VERSION);
	assert_int_equal(genlmsg_parse(h, 0, r->cmd, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy), 0);
	if (r->cmd[IPVS_CMD_ATTR_DAEMON])
		assert_int_equal(nla_parse_nested(r->d, IPVS_DAEMON_ATTR_MAX, r->cmd[IPVS_CMD_ATTR_DAEMON],
						  kernel_daemon_policy), 0);
}

/* Bit i set when top-level attribute i is present. */
static uint32_t top_set(struct req *r) {
	struct nlmsghdr *h = nlmsg_hdr(r->msg);
	struct nlattr *a;
	int rem;
	uint32_t set = 0;
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(h), 0), genlmsg_attrlen(nlmsg_data(h), 0), rem) {
		assert_false(set & BIT(nla_type(a)));
		set |= BIT(nla_type(a));
	}
	assert_int_equal(rem, 0);
	return set;
}

static struct lb_syncd syncd(const char *ifname, uint32_t id) {
	struct lb_syncd d;
	memset(&d, 0, sizeof(d));
	snprintf(d.ifname, sizeof(d.ifname), "%s", ifname);
	d.id = id;
	return d;
}

static void set_group(struct lb_syncd *d, const char *ip) {
	assert_int_equal(lb_ip_parse(ip, &d->group.af, &d->group.ip), 0);
}

/* ---- SET_CONFIG ---- */

static void test_set_timeouts_request(void **state) {
	static const struct {
		struct lb_timeouts t;
		uint32_t set;
	} cases[] = {
		{{900, 120, 300},
		 BIT(IPVS_CMD_ATTR_TIMEOUT_TCP) | BIT(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) |
			 BIT(IPVS_CMD_ATTR_TIMEOUT_UDP)},
		{{900, 0, 0}, BIT(IPVS_CMD_ATTR_TIMEOUT_TCP)},
		{{0, 120, 0}, BIT(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)},
		{{0, 0, 0x10000}, BIT(IPVS_CMD_ATTR_TIMEOUT_UDP)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lb_nlbuf b = {0};
		struct req r;
		assert_int_equal(lb_ipvs_msg_set_timeouts(&b, FAMILY, 31, &cases[i].t), 0);
		parse_req(b.data, b.len, &r);
		assert_int_equal(r.genl_cmd, IPVS_CMD_SET_CONFIG);
		assert_int_equal(r.flags, NLM_F_REQUEST | NLM_F_ACK); /* answered by an ACK */
		assert_int_equal(nlmsg_hdr(r.msg)->nlmsg_seq, 31);
		/* only what is set: an absent timeout keeps the kernel's value */
		assert_int_equal(top_set(&r), cases[i].set);
		const uint32_t want[] = {cases[i].t.tcp, cases[i].t.tcp_fin, cases[i].t.udp};
		const int attr[] = {IPVS_CMD_ATTR_TIMEOUT_TCP, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
				    IPVS_CMD_ATTR_TIMEOUT_UDP};
		for (size_t a = 0; a < 3; a++)
			if (want[a]) {
				assert_int_equal(nla_len(r.cmd[attr[a]]), 4);
				assert_int_equal(nla_get_u32(r.cmd[attr[a]]), want[a]);
			}
		nlmsg_free(r.msg);
		lb_nlbuf_free(&b);
	}
}

/* ---- GET_CONFIG reply ---- */

/* ip_vs_genl_get_cmd's reply: TCP and TCP_FIN under CONFIG_IP_VS_PROTO_TCP, UDP under _UDP. */
static struct nl_msg *config_reply(uint32_t seq, bool tcp, bool fin, bool udp) {
	struct nl_msg *m = nlmsg_alloc();
	assert_non_null(m);
	assert_non_null(genlmsg_put(m, 0, seq, FAMILY, 0, 0, IPVS_CMD_SET_CONFIG, IPVS_GENL_VERSION));
	if (tcp)
		assert_int_equal(nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP, 900), 0);
	if (fin)
		assert_int_equal(nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, 120), 0);
	if (udp)
		assert_int_equal(nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_UDP, 300), 0);
	return m;
}

static void test_parse_timeouts(void **state) {
	static const struct {
		bool tcp, fin, udp;
		int ret;
		struct lb_timeouts want;
	} cases[] = {
		{true, true, true, 0, {900, 120, 300}},
		{true, true, false, 0, {900, 120, 0}}, /* a kernel without UDP */
		{false, false, true, 0, {0, 0, 300}},  /* a kernel without TCP */
		{false, false, false, -EINVAL, {0}},
		{true, false, true, -EINVAL, {0}}, /* half the TCP pair: no kernel sends that */
		{false, true, true, -EINVAL, {0}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nl_msg *m = config_reply(1, cases[i].tcp, cases[i].fin, cases[i].udp);
		struct lb_timeouts t = {7, 7, 7};
		assert_int_equal(lb_ipvs_parse_timeouts(nlmsg_hdr(m), &t), cases[i].ret);
		if (cases[i].ret == 0)
			assert_memory_equal(&t, &cases[i].want, sizeof(t));
		else
			assert_int_equal(t.tcp, 7); /* untouched */
		nlmsg_free(m);
	}
	/* a timeout shorter than a u32 */
	struct nl_msg *m = config_reply(1, false, false, false);
	assert_int_equal(nla_put_u16(m, IPVS_CMD_ATTR_TIMEOUT_UDP, 300), 0);
	struct lb_timeouts t;
	assert_int_equal(lb_ipvs_parse_timeouts(nlmsg_hdr(m), &t), -EINVAL);
	nlmsg_free(m);
}

/* ---- NEW_DAEMON / DEL_DAEMON ---- */

static const uint32_t DAEMON_MIN_SET = BIT(IPVS_DAEMON_ATTR_STATE) |
				       BIT(IPVS_DAEMON_ATTR_MCAST_IFN) | BIT(IPVS_DAEMON_ATTR_SYNC_ID);

static void build_daemon(int role, const struct lb_syncd *d, struct lb_nlbuf *b, struct req *r) {
	memset(b, 0, sizeof(*b));
	assert_int_equal(lb_ipvs_msg_new_daemon(b, FAMILY, 44, role, d), 0);
	parse_req(b->data, b->len, r);
	assert_int_equal(r->genl_cmd, IPVS_CMD_NEW_DAEMON);
	assert_int_equal(r->flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(top_set(r), BIT(IPVS_CMD_ATTR_DAEMON));
	assert_true(r->cmd[IPVS_CMD_ATTR_DAEMON]->nla_type & NLA_F_NESTED);
	assert_true(b->len <= LB_IPVS_MSG_MAX);
}

/* Only the required three when nothing optional is set: the kernel picks its defaults. */
static void test_new_daemon_minimal(void **state) {
	struct lb_syncd d = syncd("eth1", 0);
	struct lb_nlbuf b;
	struct req r;
	build_daemon(LB_SYNCD_MASTER, &d, &b, &r);
	assert_int_equal(attr_set(r.cmd[IPVS_CMD_ATTR_DAEMON]), DAEMON_MIN_SET);
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_STATE]), IP_VS_STATE_MASTER);
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_MCAST_IFN]), 5); /* "eth1" and its NUL */
	assert_string_equal(nla_get_string(r.d[IPVS_DAEMON_ATTR_MCAST_IFN]), "eth1");
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_SYNC_ID]), 4);
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_SYNC_ID]), 0);
	nlmsg_free(r.msg);
	lb_nlbuf_free(&b);

	/* the longest name an interface can have, 15 characters */
	d = syncd("abcdefghijklmno", 255);
	build_daemon(LB_SYNCD_BACKUP, &d, &b, &r);
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_STATE]), IP_VS_STATE_BACKUP);
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_MCAST_IFN]), 16);
	assert_string_equal(nla_get_string(r.d[IPVS_DAEMON_ATTR_MCAST_IFN]), "abcdefghijklmno");
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_SYNC_ID]), 255);
	nlmsg_free(r.msg);
	lb_nlbuf_free(&b);
}

/* Every field set, IPv4 group: the group in network order (nla_get_in_addr), the port in host
 * order (the kernel applies htons itself), the ttl a u8. */
static void test_new_daemon_ipv4_group(void **state) {
	struct lb_syncd d = syncd("bond0", 10);
	set_group(&d, "239.1.2.3");
	d.port = 8848;
	d.ttl = 3;
	d.max_len = 1472;
	struct lb_nlbuf b;
	struct req r;
	build_daemon(LB_SYNCD_MASTER, &d, &b, &r);
	assert_int_equal(attr_set(r.cmd[IPVS_CMD_ATTR_DAEMON]),
			 DAEMON_MIN_SET | BIT(IPVS_DAEMON_ATTR_SYNC_MAXLEN) |
				 BIT(IPVS_DAEMON_ATTR_MCAST_GROUP) | BIT(IPVS_DAEMON_ATTR_MCAST_PORT) |
				 BIT(IPVS_DAEMON_ATTR_MCAST_TTL));
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_SYNC_ID]), 10);
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_MCAST_GROUP]), 4);
	assert_memory_equal(nla_data(r.d[IPVS_DAEMON_ATTR_MCAST_GROUP]), ((uint8_t[]){239, 1, 2, 3}), 4);
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_MCAST_PORT]), 2);
	assert_int_equal(nla_get_u16(r.d[IPVS_DAEMON_ATTR_MCAST_PORT]), 8848);
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_MCAST_TTL]), 1);
	assert_int_equal(nla_get_u8(r.d[IPVS_DAEMON_ATTR_MCAST_TTL]), 3);
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_SYNC_MAXLEN]), 2);
	assert_int_equal(nla_get_u16(r.d[IPVS_DAEMON_ATTR_SYNC_MAXLEN]), 1472);
	nlmsg_free(r.msg);
	lb_nlbuf_free(&b);
}

static void test_new_daemon_ipv6_group(void **state) {
	struct lb_syncd d = syncd("eth0", 1);
	set_group(&d, "ff02::1:2");
	d.port = 9000;
	struct lb_nlbuf b;
	struct req r;
	build_daemon(LB_SYNCD_BACKUP, &d, &b, &r);
	assert_int_equal(attr_set(r.cmd[IPVS_CMD_ATTR_DAEMON]),
			 DAEMON_MIN_SET | BIT(IPVS_DAEMON_ATTR_MCAST_GROUP6) |
				 BIT(IPVS_DAEMON_ATTR_MCAST_PORT));
	assert_int_equal(nla_len(r.d[IPVS_DAEMON_ATTR_MCAST_GROUP6]), 16);
	assert_memory_equal(nla_data(r.d[IPVS_DAEMON_ATTR_MCAST_GROUP6]), d.group.ip.bytes, 16);
	assert_int_equal(((uint8_t *)nla_data(r.d[IPVS_DAEMON_ATTR_MCAST_GROUP6]))[0], 0xff);
	assert_int_equal(nla_get_u16(r.d[IPVS_DAEMON_ATTR_MCAST_PORT]), 9000);
	nlmsg_free(r.msg);
	lb_nlbuf_free(&b);
}

/* What cannot be expressed is refused and leaves the buffer as it was. */
static void test_new_daemon_refused(void **state) {
	struct lb_nlbuf b = {0};
	struct lb_syncd d = syncd("eth1", 1);
	assert_int_equal(lb_ipvs_msg_new_daemon(&b, FAMILY, 1, 2, &d), -EINVAL);
	assert_int_equal(lb_ipvs_msg_new_daemon(&b, FAMILY, 1, -1, &d), -EINVAL);
	assert_int_equal(lb_ipvs_msg_del_daemon(&b, FAMILY, 1, 2), -EINVAL);
	memset(d.ifname, 'a', sizeof(d.ifname)); /* 16 characters, no NUL */
	assert_int_equal(lb_ipvs_msg_new_daemon(&b, FAMILY, 1, LB_SYNCD_MASTER, &d), -EINVAL);
	d = syncd("eth1", 1);
	d.group.af = 99;
	assert_int_equal(lb_ipvs_msg_new_daemon(&b, FAMILY, 1, LB_SYNCD_MASTER, &d), -EINVAL);
	assert_int_equal(b.len, 0);
	lb_nlbuf_free(&b);
}

static void test_del_daemon_request(void **state) {
	static const struct {
		int role;
		uint32_t state;
	} cases[] = {{LB_SYNCD_MASTER, IP_VS_STATE_MASTER}, {LB_SYNCD_BACKUP, IP_VS_STATE_BACKUP}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lb_nlbuf b = {0};
		struct req r;
		assert_int_equal(lb_ipvs_msg_del_daemon(&b, FAMILY, 5, cases[i].role), 0);
		parse_req(b.data, b.len, &r);
		assert_int_equal(r.genl_cmd, IPVS_CMD_DEL_DAEMON);
		assert_int_equal(r.flags, NLM_F_REQUEST | NLM_F_ACK);
		assert_int_equal(top_set(&r), BIT(IPVS_CMD_ATTR_DAEMON));
		assert_int_equal(attr_set(r.cmd[IPVS_CMD_ATTR_DAEMON]), BIT(IPVS_DAEMON_ATTR_STATE));
		assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_STATE]), cases[i].state);
		nlmsg_free(r.msg);
		lb_nlbuf_free(&b);
	}
}

/* ---- GET_DAEMON replies ---- */

/* Which optional attributes a daemon reply carries, beyond state, interface and id. */
enum {
	D_V4 = 1,       /* MCAST_GROUP 224.0.0.81 */
	D_V6 = 2,       /* MCAST_GROUP6 ff02::81 */
	D_REST = 4,     /* SYNC_MAXLEN 1472, MCAST_PORT 8848, MCAST_TTL 1: kernels since 4.3 */
	D_NO_ID = 8,    /* SYNC_ID left out (broken) */
	D_NO_IFN = 16,  /* MCAST_IFN left out (broken) */
	D_NO_STATE = 32 /* STATE left out (broken) */
};

/* One daemon as ip_vs_genl_dump_daemon sends it. */
static struct nl_msg *daemon_reply(uint32_t seq, uint32_t st, const char *ifn, uint32_t id,
				   unsigned opt) {
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_DAEMON, seq);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DAEMON);
	if (!(opt & D_NO_STATE))
		assert_int_equal(nla_put_u32(m, IPVS_DAEMON_ATTR_STATE, st), 0);
	if (!(opt & D_NO_IFN))
		assert_int_equal(nla_put_string(m, IPVS_DAEMON_ATTR_MCAST_IFN, ifn), 0);
	if (!(opt & D_NO_ID))
		assert_int_equal(nla_put_u32(m, IPVS_DAEMON_ATTR_SYNC_ID, id), 0);
	if (opt & D_REST) {
		assert_int_equal(nla_put_u16(m, IPVS_DAEMON_ATTR_SYNC_MAXLEN, 1472), 0);
		assert_int_equal(nla_put_u16(m, IPVS_DAEMON_ATTR_MCAST_PORT, 8848), 0);
		assert_int_equal(nla_put_u8(m, IPVS_DAEMON_ATTR_MCAST_TTL, 1), 0);
	}
	if (opt & D_V4)
		assert_int_equal(nla_put(m, IPVS_DAEMON_ATTR_MCAST_GROUP, 4, ((uint8_t[]){224, 0, 0, 81})), 0);
	if (opt & D_V6) {
		struct in6_addr a;
		assert_int_equal(inet_pton(AF_INET6, "ff02::81", &a), 1);
		assert_int_equal(nla_put(m, IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, &a), 0);
	}
	nla_nest_end(m, n);
	return m;
}

static int parse_one(struct nl_msg *m, int *role, struct lb_syncd *d) {
	int r = lb_ipvs_parse_daemon(nest_of(m, IPVS_CMD_ATTR_DAEMON), role, d);
	nlmsg_free(m);
	return r;
}

static void test_parse_daemon(void **state) {
	struct lb_syncd d, want;
	int role = 7;
	memset(&d, 0xaa, sizeof(d));
	assert_int_equal(parse_one(daemon_reply(1, IP_VS_STATE_BACKUP, "eth1", 10, D_V4 | D_REST),
				   &role, &d), 0);
	assert_int_equal(role, LB_SYNCD_BACKUP);
	want = syncd("eth1", 10);
	set_group(&want, "224.0.0.81");
	want.max_len = 1472;
	want.port = 8848;
	want.ttl = 1;
	assert_memory_equal(&d, &want, sizeof(d)); /* every byte: starts from a zeroed struct */

	/* a kernel before 4.3: no group, port, ttl nor max_len */
	memset(&d, 0xaa, sizeof(d));
	assert_int_equal(parse_one(daemon_reply(1, IP_VS_STATE_MASTER, "eth0", 3, 0), &role, &d), 0);
	assert_int_equal(role, LB_SYNCD_MASTER);
	want = syncd("eth0", 3);
	assert_memory_equal(&d, &want, sizeof(d));

	/* a state this version does not know: skipped, out untouched */
	memset(&d, 0xaa, sizeof(d));
	struct lb_syncd before = d;
	assert_int_equal(parse_one(daemon_reply(1, 4, "eth0", 3, D_V4), &role, &d), 0);
	assert_int_equal(role, -1);
	assert_memory_equal(&d, &before, sizeof(d));
}

static void test_parse_daemon_malformed(void **state) {
	struct lb_syncd d;
	int role;
	assert_int_equal(lb_ipvs_parse_daemon(NULL, &role, &d), -EINVAL);
	static const unsigned broken[] = {D_NO_ID, D_NO_IFN, D_NO_STATE, D_V4 | D_V6};
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++)
		assert_int_equal(parse_one(daemon_reply(1, IP_VS_STATE_MASTER, "eth0", 1, broken[i]),
					   &role, &d), -EINVAL);
	/* an empty interface name names nothing */
	assert_int_equal(parse_one(daemon_reply(1, IP_VS_STATE_MASTER, "", 1, 0), &role, &d), -EINVAL);

	/* a name without its NUL, one longer than 15 characters, a short group6, a u16 state */
	static const struct {
		int type;
		const char *data;
		int len;
	} bad[] = {
		{IPVS_DAEMON_ATTR_MCAST_IFN, "eth0", 4},
		{IPVS_DAEMON_ATTR_MCAST_IFN, "abcdefghijklmnop", 17},
		{IPVS_DAEMON_ATTR_MCAST_GROUP6, "\xff\x02", 2},
		{IPVS_DAEMON_ATTR_STATE, "\x01\x00", 2},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct nl_msg *m = reply_msg(IPVS_CMD_NEW_DAEMON, 1);
		struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DAEMON);
		if (bad[i].type != IPVS_DAEMON_ATTR_STATE)
			assert_int_equal(nla_put_u32(m, IPVS_DAEMON_ATTR_STATE, IP_VS_STATE_MASTER), 0);
		if (bad[i].type != IPVS_DAEMON_ATTR_MCAST_IFN)
			assert_int_equal(nla_put_string(m, IPVS_DAEMON_ATTR_MCAST_IFN, "eth0"), 0);
		assert_int_equal(nla_put_u32(m, IPVS_DAEMON_ATTR_SYNC_ID, 1), 0);
		assert_int_equal(nla_put(m, bad[i].type, bad[i].len, bad[i].data), 0);
		nla_nest_end(m, n);
		assert_int_equal(parse_one(m, &role, &d), -EINVAL);
	}
}

/* ---- the calls, against a fake kernel whose answers are queued in advance ---- */

static void check_sent(struct fake *f, uint32_t seq, uint8_t cmd, uint16_t flags, struct req *r) {
	uint8_t buf[1024];
	int len = fake_read(f, buf, sizeof(buf));
	parse_req(buf, (size_t)len, r);
	assert_int_equal(nlmsg_hdr(r->msg)->nlmsg_seq, seq);
	assert_int_equal(r->genl_cmd, cmd);
	assert_int_equal(r->flags, flags);
}

static void test_get_daemons(void **state) {
	struct fake f;
	fake_open(&f, 100, 100);
	struct lb_nlbuf dg = {0};
	/* seq 100: both daemons, the backup IPv6; seq 101: none; seq 102: a broken one */
	put_msg(&dg, daemon_reply(100, IP_VS_STATE_MASTER, "eth1", 10, D_V4 | D_REST));
	put_msg(&dg, daemon_reply(100, IP_VS_STATE_BACKUP, "eth2", 11, D_V6 | D_REST));
	put_done(&dg, 100);
	fake_reply(&f, &dg);
	bool run[LB_SYNCD_N] = {false, false};
	struct lb_syncd sd[LB_SYNCD_N];
	memset(sd, 0xaa, sizeof(sd));
	assert_int_equal(lb_ipvs_get_daemons(&f.v, run, sd), 0);
	assert_true(run[LB_SYNCD_MASTER]);
	assert_true(run[LB_SYNCD_BACKUP]);
	struct lb_syncd m = syncd("eth1", 10), b = syncd("eth2", 11);
	set_group(&m, "224.0.0.81");
	set_group(&b, "ff02::81");
	m.max_len = b.max_len = 1472;
	m.port = b.port = 8848;
	m.ttl = b.ttl = 1;
	assert_memory_equal(&sd[LB_SYNCD_MASTER], &m, sizeof(m));
	assert_memory_equal(&sd[LB_SYNCD_BACKUP], &b, sizeof(b));
	struct req r;
	check_sent(&f, 100, IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP, &r);
	assert_int_equal(top_set(&r), 0);
	nlmsg_free(r.msg);

	/* nothing runs: both false, both zeroed */
	put_done(&dg, 101);
	fake_reply(&f, &dg);
	struct lb_syncd zero[LB_SYNCD_N];
	memset(zero, 0, sizeof(zero));
	assert_int_equal(lb_ipvs_get_daemons(&f.v, run, sd), 0);
	assert_false(run[0] || run[1]);
	assert_memory_equal(sd, zero, sizeof(zero));
	check_sent(&f, 101, IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP, &r);
	nlmsg_free(r.msg);

	/* a role listed twice: nonsense, and nothing half-read is handed over */
	put_msg(&dg, daemon_reply(102, IP_VS_STATE_MASTER, "eth1", 10, D_V4));
	put_msg(&dg, daemon_reply(102, IP_VS_STATE_MASTER, "eth1", 10, D_V4));
	put_done(&dg, 102);
	fake_reply(&f, &dg);
	assert_int_equal(lb_ipvs_get_daemons(&f.v, run, sd), -EPROTO);
	assert_false(run[0] || run[1]);
	assert_memory_equal(sd, zero, sizeof(zero));
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_get_daemons_malformed(void **state) {
	struct fake f;
	fake_open(&f, 300, 100);
	struct lb_nlbuf dg = {0};
	put_msg(&dg, daemon_reply(300, IP_VS_STATE_BACKUP, "eth2", 11, 0));
	put_msg(&dg, daemon_reply(300, IP_VS_STATE_MASTER, "eth1", 10, D_NO_ID));
	put_done(&dg, 300);
	fake_reply(&f, &dg);
	bool run[LB_SYNCD_N];
	struct lb_syncd sd[LB_SYNCD_N], zero[LB_SYNCD_N];
	memset(zero, 0, sizeof(zero));
	assert_int_equal(lb_ipvs_get_daemons(&f.v, run, sd), -EPROTO);
	assert_false(run[0] || run[1]);
	assert_memory_equal(sd, zero, sizeof(zero));
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_timeouts_calls(void **state) {
	struct fake f;
	fake_open(&f, 200, 100);
	struct lb_nlbuf dg = {0};
	put_msg(&dg, config_reply(200, true, true, true));
	fake_reply(&f, &dg);
	put_err(&dg, 201, 0);
	fake_reply(&f, &dg);
	put_err(&dg, 202, -EINVAL);
	fake_reply(&f, &dg);
	put_msg(&dg, config_reply(203, false, false, false));
	fake_reply(&f, &dg);

	struct lb_timeouts t = {0};
	assert_int_equal(lb_ipvs_get_timeouts(&f.v, &t), 0);
	assert_int_equal(t.tcp, 900);
	assert_int_equal(t.tcp_fin, 120);
	assert_int_equal(t.udp, 300);
	struct req r;
	check_sent(&f, 200, IPVS_CMD_GET_CONFIG, NLM_F_REQUEST, &r);
	assert_int_equal(top_set(&r), 0);
	nlmsg_free(r.msg);

	const struct lb_timeouts set = {0, 60, 0};
	assert_int_equal(lb_ipvs_set_timeouts(&f.v, &set), 0);
	check_sent(&f, 201, IPVS_CMD_SET_CONFIG, NLM_F_REQUEST | NLM_F_ACK, &r);
	assert_int_equal(top_set(&r), BIT(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN));
	nlmsg_free(r.msg);
	assert_int_equal(lb_ipvs_set_timeouts(&f.v, &set), -EINVAL); /* the kernel's answer */
	check_sent(&f, 202, IPVS_CMD_SET_CONFIG, NLM_F_REQUEST | NLM_F_ACK, &r);
	nlmsg_free(r.msg);

	/* nothing to set: nothing sent, no sequence number spent */
	const struct lb_timeouts none = {0, 0, 0};
	assert_int_equal(lb_ipvs_set_timeouts(&f.v, &none), 0);
	assert_int_equal(f.v.seq, 203);

	/* a reply that does not parse */
	assert_int_equal(lb_ipvs_get_timeouts(&f.v, &t), -EPROTO);
	check_sent(&f, 203, IPVS_CMD_GET_CONFIG, NLM_F_REQUEST, &r);
	nlmsg_free(r.msg);
	uint8_t buf[16];
	assert_int_equal(recv(f.peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_daemon_calls(void **state) {
	struct fake f;
	fake_open(&f, 400, 100);
	struct lb_nlbuf dg = {0};
	put_err(&dg, 400, 0);
	fake_reply(&f, &dg);
	put_err(&dg, 401, -ENODEV);
	fake_reply(&f, &dg);
	put_err(&dg, 402, 0);
	fake_reply(&f, &dg);
	put_err(&dg, 403, -ESRCH);
	fake_reply(&f, &dg);
	put_err(&dg, 404, -EPERM);
	fake_reply(&f, &dg);

	struct lb_syncd d = syncd("eth1", 10);
	d.ttl = 2;
	struct req r;
	assert_int_equal(lb_ipvs_start_daemon(&f.v, LB_SYNCD_BACKUP, &d), 0);
	check_sent(&f, 400, IPVS_CMD_NEW_DAEMON, NLM_F_REQUEST | NLM_F_ACK, &r);
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_STATE]), IP_VS_STATE_BACKUP);
	assert_int_equal(nla_get_u8(r.d[IPVS_DAEMON_ATTR_MCAST_TTL]), 2);
	nlmsg_free(r.msg);
	assert_int_equal(lb_ipvs_start_daemon(&f.v, LB_SYNCD_MASTER, &d), -ENODEV);
	check_sent(&f, 401, IPVS_CMD_NEW_DAEMON, NLM_F_REQUEST | NLM_F_ACK, &r);
	nlmsg_free(r.msg);

	assert_int_equal(lb_ipvs_stop_daemon(&f.v, LB_SYNCD_MASTER), 0);
	check_sent(&f, 402, IPVS_CMD_DEL_DAEMON, NLM_F_REQUEST | NLM_F_ACK, &r);
	assert_int_equal(nla_get_u32(r.d[IPVS_DAEMON_ATTR_STATE]), IP_VS_STATE_MASTER);
	nlmsg_free(r.msg);
	assert_int_equal(lb_ipvs_stop_daemon(&f.v, LB_SYNCD_BACKUP), 0); /* ESRCH: not running */
	check_sent(&f, 403, IPVS_CMD_DEL_DAEMON, NLM_F_REQUEST | NLM_F_ACK, &r);
	nlmsg_free(r.msg);
	assert_int_equal(lb_ipvs_stop_daemon(&f.v, LB_SYNCD_BACKUP), -EPERM);
	check_sent(&f, 404, IPVS_CMD_DEL_DAEMON, NLM_F_REQUEST | NLM_F_ACK, &r);
	nlmsg_free(r.msg);

	/* refused before anything is sent */
	assert_int_equal(lb_ipvs_start_daemon(&f.v, 5, &d), -EINVAL);
	uint8_t buf[16];
	assert_int_equal(recv(f.peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

/* ---- errors in words ---- */

static void check_words(int err, const struct lb_syncd *d, const char *want) {
	char buf[256];
	memset(buf, 'x', sizeof(buf));
	const char *got = lb_ipvs_daemon_strerror(err, d, buf, sizeof(buf));
	assert_ptr_equal(got, buf);
	assert_string_equal(got, want);
}

static void test_daemon_strerror(void **state) {
	struct lb_syncd d = syncd("eth9", 1), v4 = syncd("eth1", 1), v6 = syncd("eth1", 1),
			mc = syncd("eth1", 1);
	set_group(&v4, "10.0.0.1");
	set_group(&v6, "2001:db8::1");
	set_group(&mc, "239.0.0.1");
	check_words(-ENODEV, &d, "no network interface \"eth9\" for the sync daemon");
	check_words(-ENXIO, &d, "no network interface \"eth9\" for the sync daemon");
	check_words(ENODEV, &d, "no network interface \"eth9\" for the sync daemon"); /* either sign */
	check_words(-ENODEV, NULL, "no such network interface");
	check_words(-EINVAL, &v4, "sync group 10.0.0.1 is not a multicast address");
	check_words(-EINVAL, &v6, "sync group 2001:db8::1 is not a multicast address");
	const char *mixed = "the kernel refuses a sync daemon while destinations of another address "
			    "family than their service exist (the sync protocol cannot carry mixed "
			    "families)";
	check_words(-EINVAL, &mc, mixed);
	check_words(-EINVAL, &d, mixed);
	check_words(-EINVAL, NULL, mixed);
	check_words(-EEXIST, &d,
		    "a sync daemon of that role already runs (the kernel cannot change it: stop it "
		    "first)");
	check_words(-EPERM, &d, "permission denied (needs CAP_NET_ADMIN)");
	check_words(-EAFNOSUPPORT, &v6, "the kernel's IPVS has no IPv6 (an IPv6 sync group needs it)");
	check_words(-EBUSY, &d, "Device or resource busy");
	char small[8];
	assert_string_equal(lb_ipvs_daemon_strerror(-ENODEV, &d, small, sizeof(small)), "no netw");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_timeouts_request),
		cmocka_unit_test(test_parse_timeouts),
		cmocka_unit_test(test_new_daemon_minimal),
		cmocka_unit_test(test_new_daemon_ipv4_group),
		cmocka_unit_test(test_new_daemon_ipv6_group),
		cmocka_unit_test(test_new_daemon_refused),
		cmocka_unit_test(test_del_daemon_request),
		cmocka_unit_test(test_parse_daemon),
		cmocka_unit_test(test_parse_daemon_malformed),
		cmocka_unit_test(test_get_daemons),
		cmocka_unit_test(test_get_daemons_malformed),
		cmocka_unit_test(test_timeouts_calls),
		cmocka_unit_test(test_daemon_calls),
		cmocka_unit_test(test_daemon_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
