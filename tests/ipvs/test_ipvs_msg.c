/* The IPVS module without a kernel: requests are built and parsed back with libnl; dump replies
 * are hand-built with libnl and parsed; the pipelined apply and the dump run against a fake
 * kernel (a socketpair whose replies are queued in advance, since sequence numbers are
 * deterministic); every error message is checked word for word. */
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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "../../src/ipvs/ipvs_priv.h"
#include "ipvs_test.h"
#include "log.h"
#include "table.h"
#include "util.h"


/* ---- fixtures ---- */

static struct lb_service svc(const char *listen, uint16_t proto, const char *sched, uint32_t flags,
			     uint32_t timeout, uint32_t netmask) {
	struct lb_service s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(lb_addr_parse(listen, &s.key.addr), 0);
	s.key.proto = proto;
	snprintf(s.sched, sizeof(s.sched), "%s", sched);
	s.flags = flags;
	s.timeout = timeout;
	s.netmask = netmask;
	return s;
}

/* A firewall-mark service (persistent), as parse must build it: every other byte zero. */
static struct lb_service fwmark_svc(uint16_t af, uint32_t mark, const char *sched, uint32_t timeout,
				    uint32_t netmask) {
	struct lb_service s;
	memset(&s, 0, sizeof(s));
	s.key.fwmark = mark;
	s.key.addr.af = af;
	snprintf(s.sched, sizeof(s.sched), "%s", sched);
	s.flags = IP_VS_SVC_F_PERSISTENT;
	s.timeout = timeout;
	s.netmask = netmask;
	return s;
}

static struct lb_dest dest(const char *addr, uint32_t fwd, uint32_t weight, uint32_t u,
			   uint32_t l) {
	struct lb_dest d;
	memset(&d, 0, sizeof(d));
	assert_int_equal(lb_addr_parse(addr, &d.addr), 0);
	d.fwd = fwd;
	d.weight = weight;
	d.u_thresh = u;
	d.l_thresh = l;
	return d;
}

struct parsed {
	struct nl_msg *msg;
	struct nlattr *cmd[IPVS_CMD_ATTR_MAX + 1];
	struct nlattr *svc[IPVS_SVC_ATTR_MAX + 1];
	struct nlattr *dest[IPVS_DEST_ATTR_MAX + 1];
	uint8_t genl_cmd;
};

/* Parses the request at data with libnl, as the kernel would: header, then nests. */
static void parse_request(const uint8_t *data, struct parsed *p) {
	memset(p, 0, sizeof(*p));
	p->msg = nlmsg_convert((struct nlmsghdr *)data);
	assert_non_null(p->msg);
	struct nlmsghdr *h = nlmsg_hdr(p->msg);
	assert_true(genlmsg_valid_hdr(h, 0));
	struct genlmsghdr *g = nlmsg_data(h);
	p->genl_cmd = g->cmd;
	assert_int_equal(g->version, IPVS_GENL_VERSION);
	assert_int_equal(g->reserved, 0);
	assert_int_equal(genlmsg_parse(h, 0, p->cmd, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy), 0);
	if (p->cmd[IPVS_CMD_ATTR_SERVICE]) {
		assert_true(p->cmd[IPVS_CMD_ATTR_SERVICE]->nla_type & NLA_F_NESTED);
		assert_int_equal(nla_parse_nested(p->svc, IPVS_SVC_ATTR_MAX, p->cmd[IPVS_CMD_ATTR_SERVICE],
						  lb_ipvs_svc_policy), 0);
	}
	if (p->cmd[IPVS_CMD_ATTR_DEST])
		assert_int_equal(nla_parse_nested(p->dest, IPVS_DEST_ATTR_MAX, p->cmd[IPVS_CMD_ATTR_DEST],
						  lb_ipvs_dest_policy), 0);
}

/* A firewall-mark key is the family and the mark (u32), and nothing of an address key. */
static void check_fwmark_key(struct parsed *p, const struct lb_service *s) {
	assert_int_equal(nla_get_u16(p->svc[IPVS_SVC_ATTR_AF]), s->key.addr.af);
	assert_int_equal(nla_len(p->svc[IPVS_SVC_ATTR_FWMARK]), 4);
	assert_int_equal(nla_get_u32(p->svc[IPVS_SVC_ATTR_FWMARK]), s->key.fwmark);
	assert_null(p->svc[IPVS_SVC_ATTR_PROTOCOL]);
	assert_null(p->svc[IPVS_SVC_ATTR_ADDR]);
	assert_null(p->svc[IPVS_SVC_ATTR_PORT]);
}

static void check_svc_key(struct parsed *p, const struct lb_service *s) {
	if (s->key.fwmark) {
		check_fwmark_key(p, s);
		return;
	}
	assert_null(p->svc[IPVS_SVC_ATTR_FWMARK]);
	assert_int_equal(nla_get_u16(p->svc[IPVS_SVC_ATTR_AF]), s->key.addr.af);
	assert_int_equal(nla_get_u16(p->svc[IPVS_SVC_ATTR_PROTOCOL]), s->key.proto);
	assert_int_equal(nla_len(p->svc[IPVS_SVC_ATTR_ADDR]), 16);
	assert_memory_equal(nla_data(p->svc[IPVS_SVC_ATTR_ADDR]), s->key.addr.ip.bytes, 16);
	/* network byte order on the wire */
	assert_int_equal(nla_get_u16(p->svc[IPVS_SVC_ATTR_PORT]), htons(s->key.addr.port));
}

static const uint32_t SVC_KEY_SET = BIT(IPVS_SVC_ATTR_AF) | BIT(IPVS_SVC_ATTR_PROTOCOL) |
				    BIT(IPVS_SVC_ATTR_ADDR) | BIT(IPVS_SVC_ATTR_PORT);
static const uint32_t SVC_FULL_SET = BIT(IPVS_SVC_ATTR_AF) | BIT(IPVS_SVC_ATTR_PROTOCOL) |
				     BIT(IPVS_SVC_ATTR_ADDR) | BIT(IPVS_SVC_ATTR_PORT) |
				     BIT(IPVS_SVC_ATTR_SCHED_NAME) | BIT(IPVS_SVC_ATTR_FLAGS) |
				     BIT(IPVS_SVC_ATTR_TIMEOUT) | BIT(IPVS_SVC_ATTR_NETMASK);
static const uint32_t FWM_KEY_SET = BIT(IPVS_SVC_ATTR_AF) | BIT(IPVS_SVC_ATTR_FWMARK);
static const uint32_t FWM_FULL_SET = BIT(IPVS_SVC_ATTR_AF) | BIT(IPVS_SVC_ATTR_FWMARK) |
				     BIT(IPVS_SVC_ATTR_SCHED_NAME) | BIT(IPVS_SVC_ATTR_FLAGS) |
				     BIT(IPVS_SVC_ATTR_TIMEOUT) | BIT(IPVS_SVC_ATTR_NETMASK);
static const uint32_t DEST_KEY_SET = BIT(IPVS_DEST_ATTR_ADDR) | BIT(IPVS_DEST_ATTR_PORT);
static const uint32_t TUN_SET = BIT(IPVS_DEST_ATTR_TUN_TYPE) | BIT(IPVS_DEST_ATTR_TUN_PORT) |
				BIT(IPVS_DEST_ATTR_TUN_FLAGS);
static const uint32_t DEST_FULL_SET = BIT(IPVS_DEST_ATTR_ADDR) | BIT(IPVS_DEST_ATTR_PORT) |
				      BIT(IPVS_DEST_ATTR_FWD_METHOD) | BIT(IPVS_DEST_ATTR_WEIGHT) |
				      BIT(IPVS_DEST_ATTR_U_THRESH) | BIT(IPVS_DEST_ATTR_L_THRESH);

/* ---- building requests ---- */

static void build_one(const struct lb_op *op, uint16_t flags, struct lb_nlbuf *b,
		      struct parsed *p) {
	memset(b, 0, sizeof(*b));
	assert_int_equal(lb_ipvs_msg_op(b, FAMILY, 77, flags, op), 0);
	const struct nlmsghdr *h = (const struct nlmsghdr *)b->data;
	assert_int_equal(h->nlmsg_len, b->len);
	assert_int_equal(b->len % 4, 0);
	assert_int_equal(h->nlmsg_type, FAMILY);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | flags);
	assert_int_equal(h->nlmsg_seq, 77);
	assert_int_equal(h->nlmsg_pid, 0);
	parse_request(b->data, p);
}

static void test_add_service(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", IP_VS_SVC_F_PERSISTENT, 300,
				  htonl(0xffffff00));
	struct lb_op op = {.kind = LB_OP_ADD_SVC, .svc = &s};
	struct lb_nlbuf b;
	struct parsed p;
	build_one(&op, 0, &b, &p);
	/* 16 nlmsghdr + 4 genl + nest(4 + af 8 + proto 8 + addr 20 + port 8 + "wrr" 8 + flags 12 +
	 * timeout 8 + netmask 8) */
	assert_int_equal(b.len, 104);
	assert_int_equal(p.genl_cmd, IPVS_CMD_NEW_SERVICE);
	assert_null(p.cmd[IPVS_CMD_ATTR_DEST]);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]), SVC_FULL_SET);
	check_svc_key(&p, &s);
	assert_int_equal(nla_get_u16(p.svc[IPVS_SVC_ATTR_PORT]), 0x5000); /* 80, big-endian */
	assert_string_equal(nla_get_string(p.svc[IPVS_SVC_ATTR_SCHED_NAME]), "wrr");
	assert_int_equal(nla_len(p.svc[IPVS_SVC_ATTR_SCHED_NAME]), 4);
	struct ip_vs_flags fl;
	assert_int_equal(nla_len(p.svc[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
	memcpy(&fl, nla_data(p.svc[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
	assert_int_equal(fl.flags, IP_VS_SVC_F_PERSISTENT);
	assert_int_equal(fl.mask, 0xffffffffu);
	assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_TIMEOUT]), 300);
	assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_NETMASK]), htonl(0xffffff00));
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

static void test_edit_service_v6_flags(void **state) {
	/* HASHED is the kernel's own bookkeeping: never sent even if a caller leaves it set */
	struct lb_service s = svc("[2001:db8::1]:443", IPPROTO_UDP, "sh",
				  IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_HASHED, 0, 64);
	struct lb_op op = {.kind = LB_OP_EDIT_SVC, .svc = &s, .old_svc = &s};
	struct lb_nlbuf b;
	struct parsed p;
	build_one(&op, NLM_F_ACK, &b, &p);
	assert_int_equal(p.genl_cmd, IPVS_CMD_SET_SERVICE);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]), SVC_FULL_SET);
	check_svc_key(&p, &s);
	assert_int_equal(nla_get_u16(p.svc[IPVS_SVC_ATTR_AF]), AF_INET6);
	assert_int_equal(nla_get_u16(p.svc[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_UDP);
	struct ip_vs_flags fl;
	memcpy(&fl, nla_data(p.svc[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
	assert_int_equal(fl.flags, IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2);
	assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_NETMASK]), 64);
	assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_TIMEOUT]), 0);
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

static void test_longest_scheduler_name(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "abcdefghijklmno", 0, 0, 0xffffffff);
	assert_int_equal(strlen(s.sched), 15);
	struct lb_op op = {.kind = LB_OP_ADD_SVC, .svc = &s};
	struct lb_nlbuf b;
	struct parsed p;
	build_one(&op, 0, &b, &p);
	assert_int_equal(nla_len(p.svc[IPVS_SVC_ATTR_SCHED_NAME]), 16);
	assert_string_equal(nla_get_string(p.svc[IPVS_SVC_ATTR_SCHED_NAME]), "abcdefghijklmno");
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

static void test_delete_service_sends_key_only(void **state) {
	struct lb_service s = svc("10.0.0.9:8080", IPPROTO_SCTP, "rr", IP_VS_SVC_F_PERSISTENT, 60,
				  0xffffffff);
	struct lb_op op = {.kind = LB_OP_DEL_SVC, .svc = &s};
	struct lb_nlbuf b;
	struct parsed p;
	build_one(&op, 0, &b, &p);
	assert_int_equal(p.genl_cmd, IPVS_CMD_DEL_SERVICE);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]), SVC_KEY_SET);
	assert_null(p.cmd[IPVS_CMD_ATTR_DEST]);
	check_svc_key(&p, &s);
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

static void check_dest(struct parsed *p, const struct lb_dest *d, bool full) {
	assert_int_equal(nla_len(p->dest[IPVS_DEST_ATTR_ADDR]), 16);
	assert_memory_equal(nla_data(p->dest[IPVS_DEST_ATTR_ADDR]), d->addr.ip.bytes, 16);
	assert_int_equal(nla_get_u16(p->dest[IPVS_DEST_ATTR_PORT]), htons(d->addr.port));
	if (!full)
		return;
	assert_int_equal(nla_get_u32(p->dest[IPVS_DEST_ATTR_FWD_METHOD]), d->fwd);
	assert_int_equal(nla_get_u32(p->dest[IPVS_DEST_ATTR_WEIGHT]), d->weight);
	assert_int_equal(nla_get_u32(p->dest[IPVS_DEST_ATTR_U_THRESH]), d->u_thresh);
	assert_int_equal(nla_get_u32(p->dest[IPVS_DEST_ATTR_L_THRESH]), d->l_thresh);
}

static void test_dest_ops(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", 0, 0, 0xffffffff);
	struct lb_dest d = dest("192.168.1.10:8080", IP_VS_CONN_F_DROUTE, 5, 1000, 10);
	static const struct {
		enum lb_op_kind kind;
		uint8_t cmd;
		bool full;
	} cases[] = {
		{LB_OP_ADD_DEST, IPVS_CMD_NEW_DEST, true},
		{LB_OP_EDIT_DEST, IPVS_CMD_SET_DEST, true},
		{LB_OP_DEL_DEST, IPVS_CMD_DEL_DEST, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lb_op op = {.kind = cases[i].kind, .svc = &s, .dest = &d};
		struct lb_nlbuf b;
		struct parsed p;
		build_one(&op, 0, &b, &p);
		assert_int_equal(p.genl_cmd, cases[i].cmd);
		/* the service is named by its key only: its settings belong to service ops */
		assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]), SVC_KEY_SET);
		check_svc_key(&p, &s);
		assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_DEST]),
				 cases[i].full ? DEST_FULL_SET : DEST_KEY_SET);
		check_dest(&p, &d, cases[i].full);
		nlmsg_free(p.msg);
		lb_nlbuf_free(&b);
	}
}

static void test_dest_of_other_family_names_it(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	struct lb_dest d = dest("[2001:db8::10]:80", IP_VS_CONN_F_TUNNEL, 1, 0, 0);
	struct lb_op op = {.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d};
	struct lb_nlbuf b;
	struct parsed p;
	build_one(&op, 0, &b, &p);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_DEST]),
			 DEST_FULL_SET | BIT(IPVS_DEST_ATTR_ADDR_FAMILY));
	assert_int_equal(nla_get_u16(p.dest[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET6);
	check_dest(&p, &d, true);
	assert_true(b.len <= LB_IPVS_MSG_MAX); /* the largest request there is: room is reserved */
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);

	/* a delete must name it too, or the kernel would look for an IPv4 destination */
	op.kind = LB_OP_DEL_DEST;
	build_one(&op, 0, &b, &p);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_DEST]),
			 DEST_KEY_SET | BIT(IPVS_DEST_ATTR_ADDR_FAMILY));
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

/* A firewall-mark service is named by family and mark in every request: add, delete, and as
 * the service of a destination op; never a protocol, address or port. */
static void test_fwmark_service_requests(void **state) {
	struct lb_service s = fwmark_svc(AF_INET6, 0x80000001u, "wrr", 120, 64);
	struct lb_dest d = dest("[2001:db8::7]:1", IP_VS_CONN_F_DROUTE, 3, 0, 0);
	d.addr.port = 0; /* a fwmark service's destinations need no port */
	static const struct {
		enum lb_op_kind kind;
		uint8_t cmd;
		uint32_t svc_set;
	} cases[] = {
		{LB_OP_ADD_SVC, IPVS_CMD_NEW_SERVICE, FWM_FULL_SET},
		{LB_OP_EDIT_SVC, IPVS_CMD_SET_SERVICE, FWM_FULL_SET},
		{LB_OP_DEL_SVC, IPVS_CMD_DEL_SERVICE, FWM_KEY_SET},
		{LB_OP_ADD_DEST, IPVS_CMD_NEW_DEST, FWM_KEY_SET},
		{LB_OP_DEL_DEST, IPVS_CMD_DEL_DEST, FWM_KEY_SET},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lb_op op = {.kind = cases[i].kind, .svc = &s, .dest = &d};
		struct lb_nlbuf b;
		struct parsed p;
		build_one(&op, 0, &b, &p);
		assert_int_equal(p.genl_cmd, cases[i].cmd);
		assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]), cases[i].svc_set);
		check_fwmark_key(&p, &s);
		assert_int_equal(nla_get_u16(p.svc[IPVS_SVC_ATTR_AF]), AF_INET6);
		assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_FWMARK]), 0x80000001u);
		if (cases[i].svc_set == FWM_FULL_SET) {
			assert_string_equal(nla_get_string(p.svc[IPVS_SVC_ATTR_SCHED_NAME]), "wrr");
			assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_TIMEOUT]), 120);
			assert_int_equal(nla_get_u32(p.svc[IPVS_SVC_ATTR_NETMASK]), 64);
		}
		nlmsg_free(p.msg);
		lb_nlbuf_free(&b);
	}

	/* the GET_DEST dump and the point lookup go through the same key */
	struct lb_nlbuf b = {0};
	struct parsed p;
	assert_int_equal(lb_ipvs_msg_cmd(&b, FAMILY, 9, NLM_F_DUMP, IPVS_CMD_GET_DEST, &s), 0);
	parse_request(b.data, &p);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]), FWM_KEY_SET);
	check_fwmark_key(&p, &s);
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

static struct lb_dest tun_dest(const char *addr, uint8_t type, uint16_t port, uint16_t flags) {
	struct lb_dest d = dest(addr, IP_VS_CONN_F_TUNNEL, 4, 0, 0);
	d.tun_type = type;
	d.tun_port = port;
	d.tun_flags = flags;
	return d;
}

/* The three tunnel attributes as ip_vs_genl_parse_dest reads them: TUN_TYPE u8, TUN_PORT
 * big-endian, TUN_FLAGS u16 in host order. */
static void check_tunnel(struct parsed *p, const struct lb_dest *d) {
	assert_int_equal(nla_len(p->dest[IPVS_DEST_ATTR_TUN_TYPE]), 1);
	assert_int_equal(nla_get_u8(p->dest[IPVS_DEST_ATTR_TUN_TYPE]), d->tun_type);
	assert_int_equal(nla_len(p->dest[IPVS_DEST_ATTR_TUN_PORT]), 2);
	const uint8_t *port = nla_data(p->dest[IPVS_DEST_ATTR_TUN_PORT]);
	assert_int_equal(port[0], d->tun_port >> 8); /* the high byte first: network order */
	assert_int_equal(port[1], d->tun_port & 0xff);
	assert_int_equal(nla_len(p->dest[IPVS_DEST_ATTR_TUN_FLAGS]), 2);
	assert_int_equal(nla_get_u16(p->dest[IPVS_DEST_ATTR_TUN_FLAGS]), d->tun_flags);
}

/* Tunnel attributes go with add and edit when any of them is set, all three together; a delete
 * names the destination only; plain ipip sends none (test_dest_ops checks the exact set). */
static void test_dest_tunnel_attrs(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	const struct lb_dest ds[] = {
		tun_dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
			 IP_VS_TUNNEL_ENCAP_FLAG_CSUM),
		tun_dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0, 0),
		tun_dest("192.168.1.9:80", 0, 0, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM),
		tun_dest("192.168.1.9:80", 0, 0x1234, 0),
	};
	static const enum lb_op_kind kinds[] = {LB_OP_ADD_DEST, LB_OP_EDIT_DEST, LB_OP_DEL_DEST};
	for (size_t i = 0; i < ARRAY_SIZE(ds); i++)
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			struct lb_op op = {.kind = kinds[k], .svc = &s, .dest = &ds[i]};
			struct lb_nlbuf b;
			struct parsed p;
			build_one(&op, 0, &b, &p);
			bool full = kinds[k] != LB_OP_DEL_DEST;
			assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_DEST]),
					 full ? DEST_FULL_SET | TUN_SET : DEST_KEY_SET);
			check_dest(&p, &ds[i], full);
			if (full)
				check_tunnel(&p, &ds[i]);
			assert_true(b.len <= LB_IPVS_MSG_MAX);
			nlmsg_free(p.msg);
			lb_nlbuf_free(&b);
		}
}

/* A drain sets the weight to 0 with SET_DEST, which replaces the whole destination: the tunnel
 * the kernel has must go along, or the drain would turn a gue destination into ipip. */
static void test_drain_keeps_tunnel(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	struct lb_dest d = tun_dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
				    IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
	d.weight = 7;
	struct lb_op op = {.kind = LB_OP_DRAIN_DEST, .svc = &s, .dest = &d};
	struct lb_nlbuf b;
	struct parsed p;
	build_one(&op, 0, &b, &p);
	assert_int_equal(p.genl_cmd, IPVS_CMD_SET_DEST);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_DEST]), DEST_FULL_SET | TUN_SET);
	assert_int_equal(nla_get_u32(p.dest[IPVS_DEST_ATTR_WEIGHT]), 0);
	assert_int_equal(nla_get_u32(p.dest[IPVS_DEST_ATTR_FWD_METHOD]), IP_VS_CONN_F_TUNNEL);
	check_tunnel(&p, &d);
	assert_int_equal(d.weight, 7); /* the op's destination is not touched */
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);

	/* an ipip destination drains without them */
	struct lb_dest plain = dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL, 7, 0, 0);
	op.dest = &plain;
	build_one(&op, 0, &b, &p);
	assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_DEST]), DEST_FULL_SET);
	nlmsg_free(p.msg);
	lb_nlbuf_free(&b);
}

static void test_incomplete_op_is_refused(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	struct lb_nlbuf b = {0};
	struct lb_op no_dest = {.kind = LB_OP_ADD_DEST, .svc = &s};
	struct lb_op no_svc = {.kind = LB_OP_ADD_SVC};
	struct lb_op bad_kind = {.kind = (enum lb_op_kind)42, .svc = &s};
	assert_int_equal(lb_ipvs_msg_op(&b, FAMILY, 1, 0, &no_dest), -EINVAL);
	assert_int_equal(lb_ipvs_msg_op(&b, FAMILY, 1, 0, &no_svc), -EINVAL);
	assert_int_equal(lb_ipvs_msg_op(&b, FAMILY, 1, 0, &bad_kind), -EINVAL);
	assert_int_equal(b.len, 0);
	lb_nlbuf_free(&b);
}

static void test_requests_pack_back_to_back(void **state) {
	struct lb_service s = svc("[2001:db8::1]:80", IPPROTO_TCP, "wlc", 0, 0, 128);
	struct lb_dest d = dest("[2001:db8::2]:80", IP_VS_CONN_F_MASQ, 1, 0, 0);
	struct lb_nlbuf b = {0};
	size_t n = 300; /* enough to make the buffer grow several times */
	for (size_t i = 0; i < n; i++) {
		struct lb_op op = {.kind = i % 2 ? LB_OP_ADD_DEST : LB_OP_EDIT_SVC, .svc = &s, .dest = &d};
		assert_int_equal(lb_ipvs_msg_op(&b, FAMILY, 1000 + (uint32_t)i, 0, &op), 0);
	}
	int len = (int)b.len;
	size_t count = 0;
	for (struct nlmsghdr *h = (struct nlmsghdr *)b.data; nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
		assert_int_equal(h->nlmsg_seq, 1000 + count);
		struct parsed p;
		parse_request((uint8_t *)h, &p);
		assert_int_equal(p.genl_cmd, count % 2 ? IPVS_CMD_NEW_DEST : IPVS_CMD_SET_SERVICE);
		check_svc_key(&p, &s);
		nlmsg_free(p.msg);
		count++;
	}
	assert_int_equal(len, 0);
	assert_int_equal(count, n);
	lb_nlbuf_free(&b);
}

/* ---- parsing dump replies ---- */

/* A stats nest as the kernel builds it (ip_vs_genl_fill_stats / _stats64), or broken on purpose.
 * Counter a (IPVS_STATS_ATTR_CONNS..OUTBPS) is stats_value(base, a, wide). */
struct stats_put {
	int type;     /* IPVS_SVC_ATTR_STATS64, IPVS_DEST_ATTR_STATS, ... */
	bool wide;    /* every counter u64 (STATS64), else the kernel's u32 mix (bytes u64) */
	uint64_t base;
	int shorten;  /* this counter sent with only 2 bytes; 0: none */
	int omit;     /* this counter left out; 0: none */
	const void *raw; /* not NULL: the attribute holds these raw_len bytes instead of counters */
	int raw_len;
};

static bool stats_attr_is_u64(int a, bool wide) {
	return wide || a == IPVS_STATS_ATTR_INBYTES || a == IPVS_STATS_ATTR_OUTBYTES;
}

/* Values above 2^32 where the attribute is a u64: a parser reading 32 bits would lose them. */
static uint64_t stats_value(uint64_t base, int a, bool wide) {
	return stats_attr_is_u64(a, wide) ? ((uint64_t)a << 32) + base + (uint64_t)a
					  : (uint32_t)(base + (uint64_t)a);
}

static void put_stats(struct nl_msg *m, const struct stats_put *sp) {
	if (sp->raw) {
		assert_int_equal(nla_put(m, sp->type, sp->raw_len, sp->raw), 0);
		return;
	}
	struct nlattr *st = nla_nest_start(m, sp->type);
	for (int a = IPVS_STATS_ATTR_CONNS; a <= IPVS_STATS_ATTR_OUTBPS; a++) {
		uint64_t v = stats_value(sp->base, a, sp->wide);
		if (a == sp->omit)
			continue;
		if (a == sp->shorten)
			assert_int_equal(nla_put_u16(m, a, 7), 0);
		else if (stats_attr_is_u64(a, sp->wide))
			assert_int_equal(nla_put_u64(m, a, v), 0);
		else
			assert_int_equal(nla_put_u32(m, a, (uint32_t)v), 0);
	}
	nla_nest_end(m, st);
}

static struct lb_kstats stats_want(const struct stats_put *sp) {
	uint64_t v[IPVS_STATS_ATTR_MAX + 1];
	for (int a = IPVS_STATS_ATTR_CONNS; a <= IPVS_STATS_ATTR_OUTBPS; a++)
		v[a] = stats_value(sp->base, a, sp->wide);
	return (struct lb_kstats){
		.conns = v[IPVS_STATS_ATTR_CONNS], .inpkts = v[IPVS_STATS_ATTR_INPKTS],
		.outpkts = v[IPVS_STATS_ATTR_OUTPKTS], .inbytes = v[IPVS_STATS_ATTR_INBYTES],
		.outbytes = v[IPVS_STATS_ATTR_OUTBYTES], .cps = v[IPVS_STATS_ATTR_CPS],
		.inpps = v[IPVS_STATS_ATTR_INPPS], .outpps = v[IPVS_STATS_ATTR_OUTPPS],
		.inbps = v[IPVS_STATS_ATTR_INBPS], .outbps = v[IPVS_STATS_ATTR_OUTBPS],
	};
}

/* What the kernel's ip_vs_genl_fill_service puts, plus attributes we must skip; with n_sp == 0 a
 * STATS nest that lacks most counters (so the stats stay unknown). */
static struct nl_msg *service_reply_ex(uint32_t seq, uint16_t af, const char *ip, uint16_t proto,
				       uint16_t port, const char *sched, uint32_t flags,
				       uint32_t timeout, uint32_t netmask,
				       const struct stats_put *sp, size_t n_sp) {
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_SERVICE, seq);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	union lb_inaddr a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(inet_pton(af, ip, a.bytes), 1);
	struct ip_vs_flags fl = {.flags = flags, .mask = ~0u};
	assert_int_equal(nla_put_u16(m, IPVS_SVC_ATTR_AF, af), 0);
	assert_int_equal(nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, proto), 0);
	assert_int_equal(nla_put(m, IPVS_SVC_ATTR_ADDR, 16, a.bytes), 0);
	assert_int_equal(nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(port)), 0);
	assert_int_equal(nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, sched), 0);
	assert_int_equal(nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl), 0);
	assert_int_equal(nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, timeout), 0);
	assert_int_equal(nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, netmask), 0);
	if (n_sp == 0) {
		struct nlattr *st = nla_nest_start(m, IPVS_SVC_ATTR_STATS);
		assert_int_equal(nla_put_u32(m, IPVS_STATS_ATTR_CONNS, 12345), 0);
		nla_nest_end(m, st);
	}
	for (size_t i = 0; i < n_sp; i++)
		put_stats(m, &sp[i]);
	assert_int_equal(nla_put_u32(m, 30, 1), 0); /* from a future kernel */
	nla_nest_end(m, n);
	return m;
}

static struct nl_msg *service_reply(uint32_t seq, uint16_t af, const char *ip, uint16_t proto,
				    uint16_t port, const char *sched, uint32_t flags, uint32_t timeout,
				    uint32_t netmask) {
	return service_reply_ex(seq, af, ip, proto, port, sched, flags, timeout, netmask, NULL, 0);
}

/* What ip_vs_genl_fill_service puts for a firewall-mark service: the family and the mark, no
 * protocol, address nor port. sched NULL leaves the scheduler out (a broken reply). */
static struct nl_msg *fwmark_reply_ex(uint32_t seq, uint16_t af, uint32_t mark, const char *sched,
				      uint32_t timeout, uint32_t netmask) {
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_SERVICE, seq);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags fl = {.flags = IP_VS_SVC_F_HASHED | IP_VS_SVC_F_PERSISTENT, .mask = ~0u};
	assert_int_equal(nla_put_u16(m, IPVS_SVC_ATTR_AF, af), 0);
	assert_int_equal(nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, mark), 0);
	if (sched)
		assert_int_equal(nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, sched), 0);
	assert_int_equal(nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl), 0);
	assert_int_equal(nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, timeout), 0);
	assert_int_equal(nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, netmask), 0);
	nla_nest_end(m, n);
	return m;
}

static struct nl_msg *fwmark_reply(uint32_t seq) {
	return fwmark_reply_ex(seq, AF_INET, 7, "rr", 60, 0xffffffff);
}

/* af_attr: 0 leaves IPVS_DEST_ATTR_ADDR_FAMILY out (a kernel before 3.18). */
static struct nl_msg *dest_reply_ex(uint32_t seq, uint16_t af, uint16_t af_attr, const char *ip,
				    uint16_t port, uint32_t fwd, uint32_t weight, uint32_t u,
				    uint32_t l, const struct stats_put *sp, size_t n_sp) {
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_DEST, seq);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
	union lb_inaddr a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(inet_pton(af, ip, a.bytes), 1);
	assert_int_equal(nla_put(m, IPVS_DEST_ATTR_ADDR, 16, a.bytes), 0);
	assert_int_equal(nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(port)), 0);
	/* the kernel reports connection flags beyond the forwarding method; only those count */
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, fwd | 0x100), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, weight), 0);
	assert_int_equal(nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, 0), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, u), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, l), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_ACTIVE_CONNS, 3), 0);
	if (af_attr)
		assert_int_equal(nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, af_attr), 0);
	for (size_t i = 0; i < n_sp; i++)
		put_stats(m, &sp[i]);
	nla_nest_end(m, n);
	return m;
}

static struct nl_msg *dest_reply(uint32_t seq, uint16_t af, uint16_t af_attr, const char *ip,
				 uint16_t port, uint32_t fwd, uint32_t weight, uint32_t u, uint32_t l) {
	return dest_reply_ex(seq, af, af_attr, ip, port, fwd, weight, u, l, NULL, 0);
}

static void test_parse_service(void **state) {
	struct nl_msg *m = service_reply(1, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "wrr",
					 IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, 300,
					 htonl(0xffffff00));
	struct lb_service s;
	memset(&s, 0xaa, sizeof(s));
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), 1);
	struct lb_service want = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", IP_VS_SVC_F_PERSISTENT, 300,
				     htonl(0xffffff00));
	/* every byte, padding included: parse starts from a zeroed struct */
	assert_memory_equal(&s, &want, sizeof(s));
	nlmsg_free(m);

	m = service_reply(1, AF_INET6, "2001:db8::1", IPPROTO_UDP, 53, "sh",
			  IP_VS_SVC_F_HASHED | IP_VS_SVC_F_SCHED1, 0, 128);
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), 1);
	want = svc("[2001:db8::1]:53", IPPROTO_UDP, "sh", IP_VS_SVC_F_SCHED1, 0, 128);
	assert_memory_equal(&s, &want, sizeof(s));
	nlmsg_free(m);
}

/* A firewall-mark service is read like any other, keyed by family and mark. */
static void test_parse_fwmark_service(void **state) {
	static const struct {
		uint16_t af;
		uint32_t mark, netmask;
	} cases[] = {{AF_INET, 7, 0xffffffff}, {AF_INET6, 0xffffffffu, 128}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nl_msg *m = fwmark_reply_ex(1, cases[i].af, cases[i].mark, "wlc", 300,
						   cases[i].netmask);
		struct lb_service s;
		memset(&s, 0x5a, sizeof(s));
		assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), 1);
		struct lb_service want = fwmark_svc(cases[i].af, cases[i].mark, "wlc", 300,
						    cases[i].netmask);
		/* every byte: proto 0, address and port zero, HASHED masked out */
		assert_memory_equal(&s, &want, sizeof(s));
		nlmsg_free(m);
	}
}

/* Broken fwmark services: no scheduler, mark 0 (no kernel sends it: it would alias an address
 * key), a family the kernel does not have. */
static void test_parse_fwmark_service_malformed(void **state) {
	struct lb_service s;
	struct nl_msg *m = fwmark_reply_ex(1, AF_INET, 7, NULL, 0, 0xffffffff);
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), -EINVAL);
	nlmsg_free(m);
	m = fwmark_reply_ex(1, AF_INET, 0, "rr", 0, 0xffffffff);
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), -EINVAL);
	nlmsg_free(m);
	m = fwmark_reply_ex(1, 99, 7, "rr", 0, 0xffffffff);
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), -EAFNOSUPPORT);
	nlmsg_free(m);
}

static void test_parse_service_malformed(void **state) {
	struct lb_service s;
	assert_int_equal(lb_ipvs_parse_service(NULL, &s), -EINVAL);

	/* no scheduler: the configuration cannot be compared */
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_SERVICE, 1);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	uint8_t addr[16] = {10, 0, 0, 1};
	nla_put_u16(m, IPVS_SVC_ATTR_AF, AF_INET);
	nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	nla_put(m, IPVS_SVC_ATTR_ADDR, 16, addr);
	nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(80));
	nla_nest_end(m, n);
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), -EINVAL);
	nlmsg_free(m);

	/* an IPv6 service whose address has only 4 bytes */
	m = reply_msg(IPVS_CMD_NEW_SERVICE, 1);
	n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags fl = {0, ~0u};
	nla_put_u16(m, IPVS_SVC_ATTR_AF, AF_INET6);
	nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	nla_put(m, IPVS_SVC_ATTR_ADDR, 4, addr);
	nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(80));
	nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, "rr");
	nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl);
	nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, 0);
	nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, 128);
	nla_nest_end(m, n);
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), -EINVAL);
	nlmsg_free(m);

	/* a family we do not know */
	m = service_reply(1, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "rr", 0, 0, 0xffffffff);
	n = nest_of(m, IPVS_CMD_ATTR_SERVICE);
	struct nlattr *af = nla_find(nla_data(n), nla_len(n), IPVS_SVC_ATTR_AF);
	*(uint16_t *)nla_data(af) = 99;
	assert_int_equal(lb_ipvs_parse_service(n, &s), -EAFNOSUPPORT);
	nlmsg_free(m);
}

static void test_parse_dest(void **state) {
	struct lb_dest d, want;
	memset(&d, 0xaa, sizeof(d));
	struct nl_msg *m = dest_reply(1, AF_INET, AF_INET, "192.168.1.10", 8080, IP_VS_CONN_F_DROUTE,
				      5, 100, 10);
	assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d), 0);
	want = dest("192.168.1.10:8080", IP_VS_CONN_F_DROUTE, 5, 100, 10);
	assert_memory_equal(&d, &want, sizeof(d));
	nlmsg_free(m);

	/* no family attribute: the service's */
	m = dest_reply(1, AF_INET6, 0, "2001:db8::5", 80, IP_VS_CONN_F_MASQ, 0, 0, 0);
	assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET6, &d), 0);
	want = dest("[2001:db8::5]:80", IP_VS_CONN_F_MASQ, 0, 0, 0);
	assert_memory_equal(&d, &want, sizeof(d));
	nlmsg_free(m);

	/* the family attribute wins over the service's (IPv4 VIP tunnelled to IPv6) */
	m = dest_reply(1, AF_INET6, AF_INET6, "2001:db8::6", 80, IP_VS_CONN_F_TUNNEL, 65535, 0, 0);
	assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d), 0);
	want = dest("[2001:db8::6]:80", IP_VS_CONN_F_TUNNEL, 65535, 0, 0);
	assert_memory_equal(&d, &want, sizeof(d));
	nlmsg_free(m);

	assert_int_equal(lb_ipvs_parse_dest(NULL, AF_INET, &d), -EINVAL);
}

/* ---- the kernel's counters ---- */

static struct lb_service parse_svc_stats(const struct stats_put *sp, size_t n_sp) {
	struct nl_msg *m = service_reply_ex(1, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "wrr", 0, 0,
					    0xffffffff, sp, n_sp);
	struct lb_service s;
	memset(&s, 0xaa, sizeof(s));
	/* the counters never make a service unreadable: only their own validity is at stake */
	assert_int_equal(lb_ipvs_parse_service(nest_of(m, IPVS_CMD_ATTR_SERVICE), &s), 1);
	nlmsg_free(m);
	struct lb_service want = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", 0, 0, 0xffffffff);
	assert_int_equal(lb_svc_key_cmp(&s.key, &want.key), 0);
	assert_string_equal(s.sched, "wrr");
	return s;
}

static void assert_no_stats(const struct lb_service *s) {
	struct lb_kstats zero;
	memset(&zero, 0, sizeof(zero));
	assert_false(s->stats_known);
	assert_memory_equal(&s->stats, &zero, sizeof(zero));
}

/* What a kernel since 4.1 sends: both nests; the 64-bit one counts, whole. */
static void test_parse_service_stats64(void **state) {
	const struct stats_put both[] = {
		{.type = IPVS_SVC_ATTR_STATS, .base = 1000},
		{.type = IPVS_SVC_ATTR_STATS64, .wide = true, .base = 5000},
	};
	struct lb_service s = parse_svc_stats(both, 2);
	struct lb_kstats want = stats_want(&both[1]);
	assert_true(s.stats_known);
	assert_memory_equal(&s.stats, &want, sizeof(want));
	assert_true(s.stats.conns > UINT32_MAX); /* no truncation on the way */
	assert_int_equal(s.stats.outbps, (10ULL << 32) + 5010);
}

/* An older kernel: only the 32-bit nest, whose byte counters are u64 all the same. */
static void test_parse_service_stats32_fallback(void **state) {
	const struct stats_put old[] = {{.type = IPVS_SVC_ATTR_STATS, .base = 70}};
	struct lb_service s = parse_svc_stats(old, 1);
	struct lb_kstats want = stats_want(&old[0]);
	assert_true(s.stats_known);
	assert_memory_equal(&s.stats, &want, sizeof(want));
	assert_int_equal(s.stats.conns, 71);
	assert_int_equal(s.stats.inbytes, (4ULL << 32) + 74);
}

/* Counters the parser cannot trust are unknown, never partly zero, never a crash. */
static void test_parse_service_stats_malformed(void **state) {
	static const struct stats_put cases[][2] = {
		/* a u64 counter of 2 bytes */
		{{.type = IPVS_SVC_ATTR_STATS64, .wide = true, .shorten = IPVS_STATS_ATTR_INBYTES}},
		/* a u32 counter of 2 bytes */
		{{.type = IPVS_SVC_ATTR_STATS, .shorten = IPVS_STATS_ATTR_CPS}},
		/* the 32-bit layout (u32 counters) sent as STATS64 */
		{{.type = IPVS_SVC_ATTR_STATS64, .wide = false}},
		/* a counter missing */
		{{.type = IPVS_SVC_ATTR_STATS64, .wide = true, .omit = IPVS_STATS_ATTR_OUTBPS}},
		/* a broken 64-bit nest is not made up for by a sound 32-bit one */
		{{.type = IPVS_SVC_ATTR_STATS, .base = 3},
		 {.type = IPVS_SVC_ATTR_STATS64, .wide = true, .shorten = IPVS_STATS_ATTR_CONNS}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lb_service s = parse_svc_stats(cases[i], cases[i][1].type ? 2 : 1);
		assert_no_stats(&s);
	}
	/* no stats at all: unknown */
	struct lb_service s = parse_svc_stats(NULL, 0);
	assert_no_stats(&s);
}

/* A stats attribute too short to hold even an attribute header, or holding garbage. */
static void test_parse_service_stats_garbage(void **state) {
	static const uint8_t junk[][8] = {{0}, {1, 2, 3}, {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}};
	static const int len[] = {0, 3, 8};
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		const struct stats_put sp = {.type = IPVS_SVC_ATTR_STATS64, .raw = junk[i], .raw_len = len[i]};
		struct lb_service s = parse_svc_stats(&sp, 1);
		assert_no_stats(&s);
	}
}

static void test_parse_dest_stats(void **state) {
	const struct stats_put good[] = {
		{.type = IPVS_DEST_ATTR_STATS, .base = 1},
		{.type = IPVS_DEST_ATTR_STATS64, .wide = true, .base = 900},
	};
	struct nl_msg *m = dest_reply_ex(1, AF_INET, AF_INET, "192.168.1.10", 8080,
					 IP_VS_CONN_F_MASQ, 5, 0, 0, good, 2);
	struct lb_dest d;
	memset(&d, 0xaa, sizeof(d));
	assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d), 0);
	nlmsg_free(m);
	struct lb_kstats want = stats_want(&good[1]);
	assert_true(d.stats_known);
	assert_memory_equal(&d.stats, &want, sizeof(want));
	assert_int_equal(d.weight, 5);

	const struct stats_put old[] = {{.type = IPVS_DEST_ATTR_STATS, .base = 40}};
	m = dest_reply_ex(1, AF_INET, AF_INET, "192.168.1.10", 8080, IP_VS_CONN_F_MASQ, 5, 0, 0,
			  old, 1);
	assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d), 0);
	nlmsg_free(m);
	want = stats_want(&old[0]);
	assert_true(d.stats_known);
	assert_memory_equal(&d.stats, &want, sizeof(want));

	const struct stats_put bad[] = {
		{.type = IPVS_DEST_ATTR_STATS64, .wide = true, .shorten = IPVS_STATS_ATTR_OUTPKTS}};
	m = dest_reply_ex(1, AF_INET, AF_INET, "192.168.1.10", 8080, IP_VS_CONN_F_MASQ, 5, 0, 0,
			  bad, 1);
	assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d), 0);
	nlmsg_free(m);
	assert_false(d.stats_known);
	assert_int_equal(d.stats.outpkts, 0);
	assert_int_equal(d.weight, 5); /* the destination itself still reads */
}

/* An error with the kernel's extended ACK text; capped (NETLINK_CAP_ACK) or, if not, carrying
 * a copy of the whole failed request (here 40 bytes) before the TLVs. */
static void put_err_ext(struct lb_nlbuf *dg, uint32_t seq, int err, const char *text, bool capped) {
	size_t body = capped ? 0 : 40, tl = strlen(text) + 1;
	size_t len = NLMSG_HDRLEN + sizeof(struct nlmsgerr) + body + NLA_HDRLEN + NLA_ALIGN(tl);
	uint8_t m[256];
	assert_true(len <= sizeof(m));
	memset(m, 0, sizeof(m));
	struct nlmsghdr *h = (struct nlmsghdr *)m;
	*h = (struct nlmsghdr){.nlmsg_len = (uint32_t)len, .nlmsg_type = NLMSG_ERROR,
			       .nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0),
			       .nlmsg_seq = seq};
	struct nlmsgerr *e = (struct nlmsgerr *)(m + NLMSG_HDRLEN);
	e->error = err;
	e->msg = (struct nlmsghdr){.nlmsg_len = NLMSG_HDRLEN + (uint32_t)body, .nlmsg_type = FAMILY,
				   .nlmsg_seq = seq};
	struct nlattr *a = (struct nlattr *)(m + NLMSG_HDRLEN + sizeof(*e) + body);
	a->nla_type = NLMSGERR_ATTR_MSG;
	a->nla_len = (uint16_t)(NLA_HDRLEN + tl);
	memcpy((uint8_t *)a + NLA_HDRLEN, text, tl);
	put_bytes(dg, m, len);
}

/* The requests of one datagram: their sequence numbers, and which carry NLM_F_ACK. */
static size_t requests_in(uint8_t *buf, int len, uint32_t *seqs, bool *acks, uint8_t *cmds) {
	size_t n = 0;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
		seqs[n] = h->nlmsg_seq;
		acks[n] = h->nlmsg_flags & NLM_F_ACK;
		cmds[n] = ((struct genlmsghdr *)nlmsg_data(h))->cmd;
		assert_true(h->nlmsg_flags & NLM_F_REQUEST);
		n++;
	}
	assert_int_equal(len, 0);
	return n;
}

static void test_apply_maps_errors_to_ops(void **state) {
	struct fake f;
	fake_open(&f, 1000, 3);
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", 0, 0, 0xffffffff);
	struct lb_dest d[6];
	for (int i = 0; i < 6; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.168.1.%d:80", i + 1);
		d[i] = dest(a, IP_VS_CONN_F_MASQ, 1, 0, 0);
	}
	struct lb_op ops[7] = {
		{.kind = LB_OP_ADD_SVC, .svc = &s},
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d[0]},
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d[1]},
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d[2]},
		{.kind = LB_OP_EDIT_DEST, .svc = &s, .dest = &d[3]},
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d[4]},
		{.kind = LB_OP_DEL_DEST, .svc = &s, .dest = &d[5]},
	};
	/* batches of 3: seq 1000-1002, 1003-1005, 1006. Each batch's replies are one datagram. */
	struct lb_nlbuf dg = {0};
	put_err(&dg, 1001, -ESRCH);  /* op 1 failed in the middle of a batch */
	put_err(&dg, 1002, 0);       /* the ACK closing batch 1 */
	fake_reply(&f, &dg);
	put_err(&dg, 5, -EINVAL);    /* a stray reply to something long gone: ignored */
	put_err(&dg, 1003, -EEXIST); /* add of what exists: success */
	put_err_ext(&dg, 1004, -ENOENT, "no such dest", true); /* edit of a missing one: failed */
	put_err_ext(&dg, 1005, -ERANGE, "weight too big", false); /* the last one's error is its ACK */
	fake_reply(&f, &dg);
	put_err(&dg, 1006, -ENOENT); /* delete of what is gone: success */
	fake_reply(&f, &dg);

	/* the kernel's own words go to the debug log: catch stderr */
	int saved = dup(STDERR_FILENO);
	FILE *cap = tmpfile();
	assert_non_null(cap);
	fflush(stderr);
	dup2(fileno(cap), STDERR_FILENO);
	int level = log_get_max_level();
	log_set_max_level(LOG_DEBUG);
	int errs[7];
	memset(errs, 0x7f, sizeof(errs));
	int failed = lb_ipvs_apply(&f.v, ops, 7, errs);
	log_set_max_level(level);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char logged[1024] = "";
	rewind(cap);
	size_t got = fread(logged, 1, sizeof(logged) - 1, cap);
	logged[got] = 0;
	fclose(cap);
	assert_non_null(strstr(logged, "op 4: kernel says: no such dest"));
	assert_non_null(strstr(logged, "op 5: kernel says: weight too big"));
	assert_int_equal(failed, 3);
	int want[7] = {0, -ESRCH, 0, 0, -ENOENT, -ERANGE, 0};
	assert_memory_equal(errs, want, sizeof(want));
	assert_int_equal(f.v.seq, 1007);

	uint8_t buf[8192];
	uint32_t seqs[8];
	bool acks[8];
	uint8_t cmds[8];
	assert_int_equal(requests_in(buf, fake_read(&f, buf, sizeof(buf)), seqs, acks, cmds), 3);
	assert_int_equal(seqs[0], 1000);
	assert_int_equal(seqs[2], 1002);
	assert_false(acks[0]);
	assert_false(acks[1]);
	assert_true(acks[2]);
	assert_int_equal(cmds[0], IPVS_CMD_NEW_SERVICE);
	assert_int_equal(cmds[1], IPVS_CMD_NEW_DEST);
	assert_int_equal(requests_in(buf, fake_read(&f, buf, sizeof(buf)), seqs, acks, cmds), 3);
	assert_int_equal(seqs[0], 1003);
	assert_int_equal(cmds[1], IPVS_CMD_SET_DEST);
	assert_true(acks[2] && !acks[0] && !acks[1]);
	assert_int_equal(requests_in(buf, fake_read(&f, buf, sizeof(buf)), seqs, acks, cmds), 1);
	assert_int_equal(seqs[0], 1006);
	assert_int_equal(cmds[0], IPVS_CMD_DEL_DEST);
	assert_true(acks[0]);
	assert_int_equal(recv(f.peer, buf, sizeof(buf), MSG_DONTWAIT), -1); /* nothing more */
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_apply_skips_incomplete_op(void **state) {
	struct fake f;
	fake_open(&f, 50, 100);
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", 0, 0, 0xffffffff);
	struct lb_dest d = dest("192.168.1.1:80", IP_VS_CONN_F_MASQ, 1, 0, 0);
	struct lb_op ops[3] = {
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d},
		{.kind = LB_OP_ADD_DEST, .svc = &s}, /* no destination: never sent */
		{.kind = LB_OP_EDIT_DEST, .svc = &s, .dest = &d},
	};
	struct lb_nlbuf dg = {0};
	put_err(&dg, 52, 0);
	fake_reply(&f, &dg);
	int errs[3];
	assert_int_equal(lb_ipvs_apply(&f.v, ops, 3, errs), 1);
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], -EINVAL);
	assert_int_equal(errs[2], 0);
	uint8_t buf[4096];
	uint32_t seqs[4];
	bool acks[4];
	uint8_t cmds[4];
	assert_int_equal(requests_in(buf, fake_read(&f, buf, sizeof(buf)), seqs, acks, cmds), 2);
	assert_int_equal(seqs[0], 50);
	assert_int_equal(seqs[1], 52);
	assert_true(acks[1] && !acks[0]);
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_apply_without_answer_fails_loudly(void **state) {
	struct fake f;
	fake_open(&f, 10, 2);
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", 0, 0, 0xffffffff);
	struct lb_op ops[4] = {
		{.kind = LB_OP_ADD_SVC, .svc = &s},
		{.kind = LB_OP_EDIT_SVC, .svc = &s},
		{.kind = LB_OP_EDIT_SVC, .svc = &s},
		{.kind = LB_OP_DEL_SVC, .svc = &s},
	};
	/* the first batch is answered (op 1 failed); the second never is */
	struct lb_nlbuf dg = {0};
	put_err(&dg, 11, -ENOENT);
	fake_reply(&f, &dg);
	int errs[4];
	assert_int_equal(lb_ipvs_apply(&f.v, ops, 4, errs), -ETIMEDOUT);
	/* what is known stays; what is not known is never reported as success */
	int want[4] = {0, -ENOENT, -ETIMEDOUT, -ETIMEDOUT};
	assert_memory_equal(errs, want, sizeof(want));
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_apply_nothing(void **state) {
	struct fake f;
	fake_open(&f, 10, 2);
	int errs[1] = {7};
	assert_int_equal(lb_ipvs_apply(&f.v, NULL, 0, errs), 0);
	assert_int_equal(errs[0], 7);
	uint8_t buf[16];
	assert_int_equal(recv(f.peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	fake_close(&f);
}

static void test_dump_reads_services_then_dests(void **state) {
	struct fake f;
	fake_open(&f, 500, 100);
	struct lb_nlbuf dg = {0};
	/* GET_SERVICE (seq 500): a udp v6 service, a fwmark one, a tcp v4 one, over 2 datagrams
	 * (the kernel lists fwmark services last; the order here shows the dump sorts anyway) */
	put_msg(&dg, service_reply(500, AF_INET6, "2001:db8::1", IPPROTO_UDP, 53, "rr",
				   IP_VS_SVC_F_HASHED, 0, 128));
	put_msg(&dg, fwmark_reply(500));
	fake_reply(&f, &dg);
	put_msg(&dg, service_reply(500, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "wrr",
				   IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, 300, 0xffffffff));
	put_done(&dg, 500);
	fake_reply(&f, &dg);
	/* destinations are read in key order: tcp v4 first. GET_DEST of the tcp service (seq 501),
	 * unsorted, one IPv6 tunnel destination */
	put_msg(&dg, dest_reply(501, AF_INET6, AF_INET6, "2001:db8::9", 80, IP_VS_CONN_F_TUNNEL, 2, 0, 0));
	put_msg(&dg, dest_reply(501, AF_INET, AF_INET, "192.168.1.10", 8080, IP_VS_CONN_F_MASQ, 5, 0, 0));
	put_msg(&dg, dest_reply(501, AF_INET, 0, "192.168.1.2", 8080, IP_VS_CONN_F_DROUTE, 1, 9, 3));
	put_done(&dg, 501);
	fake_reply(&f, &dg);
	/* GET_DEST of the udp service (seq 502): none */
	put_done(&dg, 502);
	fake_reply(&f, &dg);
	/* GET_DEST of the fwmark service, last in key order (seq 503): one direct-routing dest */
	put_msg(&dg, dest_reply(503, AF_INET, AF_INET, "192.168.2.1", 0, IP_VS_CONN_F_DROUTE, 1, 0, 0));
	put_done(&dg, 503);
	fake_reply(&f, &dg);

	struct lb_table t = {0};
	lb_table_add_service(&t); /* stale content: the dump starts from a clean table */
	assert_int_equal(f.v.tun, LB_IPVS_TUN_UNKNOWN);
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), 0);
	assert_int_equal(t.n, 3);
	/* the destinations carried TUN_TYPE but not TUN_FLAGS: a 5.2 kernel */
	assert_int_equal(f.v.tun, LB_IPVS_TUN_GUE);
	struct lb_service s0 = svc("10.0.0.1:80", IPPROTO_TCP, "wrr", IP_VS_SVC_F_PERSISTENT, 300,
				   0xffffffff);
	struct lb_service s1 = svc("[2001:db8::1]:53", IPPROTO_UDP, "rr", 0, 0, 128);
	assert_int_equal(lb_svc_key_cmp(&t.svcs[0].key, &s0.key), 0);
	assert_string_equal(t.svcs[0].sched, "wrr");
	assert_int_equal(t.svcs[0].flags, IP_VS_SVC_F_PERSISTENT);
	assert_int_equal(t.svcs[0].timeout, 300);
	assert_int_equal(t.svcs[0].netmask, 0xffffffff);
	assert_null(t.svcs[0].name);
	assert_int_equal(t.svcs[0].n_dests, 3);
	struct lb_dest w0 = dest("192.168.1.2:8080", IP_VS_CONN_F_DROUTE, 1, 9, 3);
	struct lb_dest w1 = dest("192.168.1.10:8080", IP_VS_CONN_F_MASQ, 5, 0, 0);
	struct lb_dest w2 = dest("[2001:db8::9]:80", IP_VS_CONN_F_TUNNEL, 2, 0, 0);
	assert_memory_equal(&t.svcs[0].dests[0], &w0, sizeof(w0));
	assert_memory_equal(&t.svcs[0].dests[1], &w1, sizeof(w1));
	assert_memory_equal(&t.svcs[0].dests[2], &w2, sizeof(w2));
	assert_int_equal(lb_svc_key_cmp(&t.svcs[1].key, &s1.key), 0);
	assert_int_equal(t.svcs[1].flags, 0);
	assert_int_equal(t.svcs[1].netmask, 128);
	assert_int_equal(t.svcs[1].n_dests, 0);
	struct lb_service s2 = fwmark_svc(AF_INET, 7, "rr", 60, 0xffffffff);
	assert_int_equal(lb_svc_key_cmp(&t.svcs[2].key, &s2.key), 0);
	assert_int_equal(t.svcs[2].key.proto, 0);
	assert_int_equal(t.svcs[2].flags, IP_VS_SVC_F_PERSISTENT);
	assert_int_equal(t.svcs[2].timeout, 60);
	assert_false(t.svcs[2].dests_unknown);
	assert_int_equal(t.svcs[2].n_dests, 1);
	struct lb_dest w3 = dest("192.168.2.1:1", IP_VS_CONN_F_DROUTE, 1, 0, 0);
	w3.addr.port = 0;
	assert_memory_equal(&t.svcs[2].dests[0], &w3, sizeof(w3));

	/* what was asked: the service dump, then each service's destinations by its key */
	uint8_t buf[4096];
	struct parsed p;
	int len = fake_read(&f, buf, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	assert_int_equal(len, h->nlmsg_len);
	assert_int_equal(h->nlmsg_seq, 500);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	parse_request(buf, &p);
	assert_int_equal(p.genl_cmd, IPVS_CMD_GET_SERVICE);
	assert_null(p.cmd[IPVS_CMD_ATTR_SERVICE]);
	nlmsg_free(p.msg);
	const struct lb_service *order[3] = {&s0, &s1, &s2};
	for (int i = 0; i < 3; i++) {
		len = fake_read(&f, buf, sizeof(buf));
		assert_int_equal(len, h->nlmsg_len);
		assert_int_equal(h->nlmsg_seq, 501 + i);
		assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
		parse_request(buf, &p);
		assert_int_equal(p.genl_cmd, IPVS_CMD_GET_DEST);
		assert_int_equal(attr_set(p.cmd[IPVS_CMD_ATTR_SERVICE]),
				 order[i]->key.fwmark ? FWM_KEY_SET : SVC_KEY_SET);
		check_svc_key(&p, order[i]);
		nlmsg_free(p.msg);
	}
	assert_int_equal(recv(f.peer, buf, sizeof(buf), MSG_DONTWAIT), -1); /* nothing more */
	lb_table_clear(&t);
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

static void test_dump_error_leaves_empty_table(void **state) {
	struct fake f;
	fake_open(&f, 900, 100);
	struct lb_nlbuf dg = {0};
	put_msg(&dg, service_reply(900, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "rr", 0, 0, 0xffffffff));
	put_done(&dg, 900);
	fake_reply(&f, &dg);
	put_err(&dg, 901, -EPERM);
	fake_reply(&f, &dg);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), -EPERM);
	assert_int_equal(t.n, 0);
	assert_null(t.svcs);
	lb_nlbuf_free(&dg);
	fake_close(&f);
}

/* ---- dumps of a kernel table that changes while it is read ---- */

/* A fake kernel in a child process: it answers request i with datagram answers[i] only once
 * request i has arrived, so what the code drains after a failure cannot swallow later answers.
 * It gives up after a while: when a failed test never sends the request, the child must not
 * outlive the run (and hold its output pipe open). */
static pid_t fake_kernel(struct fake *f, struct lb_nlbuf *answers, size_t n) {
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t buf[8192];
		struct timeval tv = {.tv_sec = 5};
		if (setsockopt(f->peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			_exit(3);
		for (size_t i = 0; i < n; i++) {
			if (recv(f->peer, buf, sizeof(buf), 0) < 0)
				_exit(1);
			if (send(f->peer, answers[i].data, answers[i].len, 0) < 0)
				_exit(2);
		}
		_exit(0);
	}
	return pid;
}

static void fake_kernel_done(pid_t pid, struct lb_nlbuf *answers, size_t n) {
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* every scripted request was made */
	for (size_t i = 0; i < n; i++)
		lb_nlbuf_free(&answers[i]);
}

#define SVC_A(seq) service_reply(seq, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "rr", 0, 0, 0xffffffff)
#define SVC_B(seq) service_reply(seq, AF_INET, "10.0.0.2", IPPROTO_TCP, 80, "rr", 0, 0, 0xffffffff)

static void dests_none(struct lb_nlbuf *dg, uint32_t seq) { put_done(dg, seq); }

/* A service listed twice means the list moved under the dump: it is read again, and the second,
 * clean read is what counts. */
static void test_torn_service_list_is_read_again(void **state) {
	struct fake f;
	fake_open(&f, 100, 100);
	struct lb_nlbuf a[4] = {0};
	put_msg(&a[0], SVC_A(100));
	put_msg(&a[0], SVC_B(100));
	put_msg(&a[0], SVC_A(100)); /* resumed by count after an insert: A again */
	put_done(&a[0], 100);
	put_msg(&a[1], SVC_B(101));
	put_msg(&a[1], SVC_A(101));
	put_done(&a[1], 101);
	dests_none(&a[2], 102);
	put_msg(&a[3], dest_reply(103, AF_INET, AF_INET, "192.168.1.1", 80, IP_VS_CONN_F_MASQ, 1, 0, 0));
	put_msg(&a[3], dest_reply(103, AF_INET, AF_INET, "192.168.1.1", 80, IP_VS_CONN_F_MASQ, 1, 0, 0));
	put_done(&a[3], 103);
	/* B's destinations (seq 103) are torn too, listed twice: read again */
	struct lb_nlbuf all[5] = {a[0], a[1], a[2], a[3], {0}};
	put_msg(&all[4], dest_reply(104, AF_INET, AF_INET, "192.168.1.1", 80, IP_VS_CONN_F_MASQ, 1, 0, 0));
	put_done(&all[4], 104);
	pid_t pid = fake_kernel(&f, all, 5);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), 0);
	fake_kernel_done(pid, all, 5);
	assert_int_equal(t.n, 2);
	assert_false(t.torn);
	assert_int_equal(f.v.stats.torn, 2);
	assert_false(t.svcs[0].dests_unknown);
	assert_int_equal(t.svcs[0].n_dests, 0);
	assert_int_equal(t.svcs[1].n_dests, 1);
	lb_table_clear(&t);
	fake_close(&f);
}

/* A list that never settles: planned around, duplicates dropped, marked torn. */
static void test_torn_service_list_that_never_settles(void **state) {
	struct fake f;
	fake_open(&f, 200, 100);
	struct lb_nlbuf a[6] = {0};
	for (uint32_t i = 0; i < 4; i++) {
		put_msg(&a[i], SVC_A(200 + i));
		put_msg(&a[i], SVC_A(200 + i));
		put_msg(&a[i], SVC_B(200 + i));
		put_done(&a[i], 200 + i);
	}
	dests_none(&a[4], 204);
	dests_none(&a[5], 205);
	pid_t pid = fake_kernel(&f, a, 6);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), 0);
	fake_kernel_done(pid, a, 6);
	assert_int_equal(t.n, 2);
	assert_true(t.torn);
	assert_int_not_equal(lb_svc_key_cmp(&t.svcs[0].key, &t.svcs[1].key), 0);
	lb_table_clear(&t);
	assert_false(t.torn);
	fake_close(&f);
}

/* Replies dropped for lack of buffer space (ENOBUFS): read again, never planned against. */
static void test_dump_repeated_after_enobufs(void **state) {
	struct fake f;
	fake_open(&f, 300, 100);
	struct lb_nlbuf a[3] = {0};
	put_msg(&a[0], SVC_A(300));
	put_err(&a[0], 300, -ENOBUFS);
	put_msg(&a[1], SVC_B(301));
	put_done(&a[1], 301);
	dests_none(&a[2], 302);
	pid_t pid = fake_kernel(&f, a, 3);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), 0);
	fake_kernel_done(pid, a, 3);
	assert_int_equal(t.n, 1); /* only the second read's content */
	struct lb_service b = svc("10.0.0.2:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	assert_int_equal(lb_svc_key_cmp(&t.svcs[0].key, &b.key), 0);
	lb_table_clear(&t);
	fake_close(&f);
}

/* A reply that does not parse fails the dump: an empty table and an error, never a partial one. */
static void test_dump_malformed_reply_fails(void **state) {
	struct fake f;
	fake_open(&f, 400, 100);
	struct lb_nlbuf a[1] = {0};
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_SERVICE, 400);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	nla_put_u16(m, IPVS_SVC_ATTR_AF, AF_INET); /* and nothing else */
	nla_nest_end(m, n);
	put_msg(&a[0], SVC_A(400));
	put_msg(&a[0], m);
	put_done(&a[0], 400);
	pid_t pid = fake_kernel(&f, a, 1);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), -EPROTO);
	fake_kernel_done(pid, a, 1);
	assert_int_equal(t.n, 0);
	fake_close(&f);
}

static bool only_b(const struct lb_svc_key *k, void *ud) {
	struct lb_service b = svc("10.0.0.2:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	return lb_svc_key_cmp(k, &b.key) == 0;
}

/* Destinations are read only for the services the caller may change. */
static void test_dump_reads_only_wanted_dests(void **state) {
	struct fake f;
	fake_open(&f, 500, 100);
	struct lb_nlbuf a[2] = {0};
	put_msg(&a[0], SVC_A(500));
	put_msg(&a[0], SVC_B(500));
	put_done(&a[0], 500);
	put_msg(&a[1], dest_reply(501, AF_INET, AF_INET, "192.168.1.1", 80, IP_VS_CONN_F_MASQ, 1, 0, 0));
	put_done(&a[1], 501);
	pid_t pid = fake_kernel(&f, a, 2);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, only_b, NULL), 0);
	fake_kernel_done(pid, a, 2); /* exactly two requests: no GET_DEST for A */
	assert_int_equal(t.n, 2);
	assert_true(t.svcs[0].dests_unknown);
	assert_false(t.svcs[1].dests_unknown);
	assert_int_equal(t.svcs[1].n_dests, 1);
	assert_int_equal(recv(f.v.fd, f.v.rbuf, LB_IPVS_RBUF, MSG_DONTWAIT), -1);
	lb_table_clear(&t);
	fake_close(&f);
}

/* The counters a dump reads stay in the table it hands over. */
static void test_dump_keeps_stats(void **state) {
	struct fake f;
	fake_open(&f, 700, 100);
	const struct stats_put ss[] = {{.type = IPVS_SVC_ATTR_STATS64, .wide = true, .base = 10}};
	const struct stats_put ds[] = {{.type = IPVS_DEST_ATTR_STATS64, .wide = true, .base = 20}};
	struct lb_nlbuf a[2] = {0};
	put_msg(&a[0], service_reply_ex(700, AF_INET, "10.0.0.1", IPPROTO_TCP, 80, "rr", 0, 0,
					0xffffffff, ss, 1));
	put_done(&a[0], 700);
	put_msg(&a[1], dest_reply_ex(701, AF_INET, AF_INET, "192.168.1.1", 80, IP_VS_CONN_F_MASQ, 1,
				     0, 0, ds, 1));
	put_msg(&a[1], dest_reply(701, AF_INET, AF_INET, "192.168.1.2", 80, IP_VS_CONN_F_MASQ, 1,
				  0, 0));
	put_done(&a[1], 701);
	pid_t pid = fake_kernel(&f, a, 2);
	struct lb_table t = {0};
	assert_int_equal(lb_ipvs_dump(&f.v, &t, NULL, NULL), 0);
	fake_kernel_done(pid, a, 2);
	assert_int_equal(t.n, 1);
	struct lb_kstats sw = stats_want(&ss[0]), dw = stats_want(&ds[0]);
	assert_true(t.svcs[0].stats_known);
	assert_memory_equal(&t.svcs[0].stats, &sw, sizeof(sw));
	assert_int_equal(t.svcs[0].n_dests, 2);
	assert_true(t.svcs[0].dests[0].stats_known);
	assert_memory_equal(&t.svcs[0].dests[0].stats, &dw, sizeof(dw));
	assert_false(t.svcs[0].dests[1].stats_known); /* sent none */
	lb_table_clear(&t);
	fake_close(&f);
}

/* The point lookup that decides whether an owned service is really gone. */
static void test_has_service(void **state) {
	struct fake f;
	fake_open(&f, 600, 100);
	struct lb_nlbuf a[3] = {0};
	struct nl_msg *m = SVC_A(600);
	nlmsg_hdr(m)->nlmsg_flags = 0; /* a plain reply, not part of a dump */
	put_msg(&a[0], m);
	put_err(&a[1], 601, -ESRCH);
	put_err(&a[2], 602, -EPERM);
	pid_t pid = fake_kernel(&f, a, 3);
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	assert_int_equal(lb_ipvs_has_service(&f.v, &s.key), 1);
	assert_int_equal(lb_ipvs_has_service(&f.v, &s.key), 0);
	assert_int_equal(lb_ipvs_has_service(&f.v, &s.key), -EPERM);
	fake_kernel_done(pid, a, 3);
	fake_close(&f);
}

/* The point lookup of a firewall-mark service: asked by family and mark, answered with one. */
static void test_get_fwmark_service(void **state) {
	struct fake f;
	fake_open(&f, 650, 100);
	struct lb_nlbuf a[2] = {0};
	struct nl_msg *m = fwmark_reply(650);
	nlmsg_hdr(m)->nlmsg_flags = 0;
	put_msg(&a[0], m);
	put_err(&a[1], 651, -ESRCH);
	pid_t pid = fake_kernel(&f, a, 2);
	struct lb_service want = fwmark_svc(AF_INET, 7, "rr", 60, 0xffffffff), got;
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(lb_ipvs_get_service(&f.v, &want.key, &got), 1);
	assert_memory_equal(&got, &want, sizeof(got));
	assert_int_equal(lb_ipvs_has_service(&f.v, &want.key), 0);
	fake_kernel_done(pid, a, 2);
	fake_close(&f);
}

/* A dumped destination with tunnel attributes, and what their presence says of the kernel. */
static struct nl_msg *tun_dest_reply(bool type, bool port, bool flags) {
	struct nl_msg *m = reply_msg(IPVS_CMD_NEW_DEST, 1);
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
	uint8_t a[16] = {192, 168, 1, 9};
	assert_int_equal(nla_put(m, IPVS_DEST_ATTR_ADDR, 16, a), 0);
	assert_int_equal(nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(80)), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_TUNNEL), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, 4), 0);
	if (type)
		assert_int_equal(nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, IP_VS_CONN_F_TUNNEL_TYPE_GUE), 0);
	if (port) /* 6080 = 0x17c0, big-endian on the wire */
		assert_int_equal(nla_put(m, IPVS_DEST_ATTR_TUN_PORT, 2, (uint8_t[]){0x17, 0xc0}), 0);
	if (flags)
		assert_int_equal(nla_put_u16(m, IPVS_DEST_ATTR_TUN_FLAGS, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM),
				 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, 0), 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, 0), 0);
	nla_nest_end(m, n);
	return m;
}

static void test_parse_dest_tunnel(void **state) {
	static const struct {
		bool type, port, flags;
		enum lb_ipvs_tun tun;
	} cases[] = {
		{true, true, true, LB_IPVS_TUN_ALL},    /* 5.3 and later */
		{true, true, false, LB_IPVS_TUN_GUE},   /* 5.2 */
		{false, false, false, LB_IPVS_TUN_NONE}, /* before 5.2 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nl_msg *m = tun_dest_reply(cases[i].type, cases[i].port, cases[i].flags);
		struct lb_dest d;
		enum lb_ipvs_tun tun = LB_IPVS_TUN_UNKNOWN;
		memset(&d, 0xaa, sizeof(d));
		assert_int_equal(lb_ipvs_parse_dest_tun(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d, &tun), 0);
		struct lb_dest want = dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL, 4, 0, 0);
		want.tun_type = cases[i].type ? IP_VS_CONN_F_TUNNEL_TYPE_GUE : 0;
		want.tun_port = cases[i].port ? 6080 : 0;
		want.tun_flags = cases[i].flags ? IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM : 0;
		assert_memory_equal(&d, &want, sizeof(d));
		assert_int_equal(tun, cases[i].tun);
		/* the plain parser reads the same */
		memset(&d, 0xaa, sizeof(d));
		assert_int_equal(lb_ipvs_parse_dest(nest_of(m, IPVS_CMD_ATTR_DEST), AF_INET, &d), 0);
		assert_memory_equal(&d, &want, sizeof(d));
		nlmsg_free(m);
	}
}

/* The decision behind apply's -EOPNOTSUPP, for every kernel level and kind of op. */
static void test_tun_unsupported(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	const struct lb_dest plain = tun_dest("192.168.1.9:80", 0, 0, 0),
			     gue = tun_dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080, 0),
			     gue_csum = tun_dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
						 IP_VS_TUNNEL_ENCAP_FLAG_CSUM),
			     gre = tun_dest("192.168.1.9:80", IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0, 0),
			     port_only = tun_dest("192.168.1.9:80", 0, 6080, 0);
	static const enum lb_ipvs_tun levels[] = {LB_IPVS_TUN_UNKNOWN, LB_IPVS_TUN_NONE,
						  LB_IPVS_TUN_GUE, LB_IPVS_TUN_ALL};
	static const struct {
		int dest;         /* index into ds */
		bool refused[4];  /* per level above */
	} cases[] = {
		{0, {false, false, false, false}},
		{1, {false, true, false, false}},
		{2, {false, true, true, false}},
		{3, {false, true, true, false}},
		{4, {false, true, false, false}},
	};
	const struct lb_dest *ds[] = {&plain, &gue, &gue_csum, &gre, &port_only};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++)
		for (size_t l = 0; l < ARRAY_SIZE(levels); l++) {
			const struct lb_dest *d = ds[cases[c].dest];
			struct lb_op add = {.kind = LB_OP_ADD_DEST, .svc = &s, .dest = d};
			struct lb_op edit = {.kind = LB_OP_EDIT_DEST, .svc = &s, .dest = d};
			assert_int_equal(lb_ipvs_tun_unsupported(levels[l], &add), cases[c].refused[l]);
			assert_int_equal(lb_ipvs_tun_unsupported(levels[l], &edit), cases[c].refused[l]);
			/* deletes name the destination only; a drain copies what the kernel has */
			static const enum lb_op_kind never[] = {LB_OP_DEL_DEST, LB_OP_DRAIN_DEST,
								LB_OP_ADD_SVC};
			for (size_t k = 0; k < ARRAY_SIZE(never); k++) {
				struct lb_op op = {.kind = never[k], .svc = &s, .dest = d};
				assert_false(lb_ipvs_tun_unsupported(levels[l], &op));
			}
		}
	struct lb_op no_dest = {.kind = LB_OP_ADD_DEST, .svc = &s};
	assert_false(lb_ipvs_tun_unsupported(LB_IPVS_TUN_NONE, &no_dest));
}

/* A kernel whose destination dump carries no TUN_TYPE (before 5.2) would take a gue request as
 * ipip: apply does not send it, and says so with -EOPNOTSUPP; everything else goes on. */
static void test_apply_refuses_tunnel_on_old_kernel(void **state) {
	struct fake f;
	fake_open(&f, 800, 100);
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "rr", 0, 0, 0xffffffff);
	struct lb_nlbuf a[2] = {0};
	struct nl_msg *m = tun_dest_reply(false, false, false);
	nlmsg_hdr(m)->nlmsg_seq = 800;
	put_msg(&a[0], m);
	put_done(&a[0], 800);
	put_err(&a[1], 804, 0); /* the ACK of the last request sent */
	pid_t pid = fake_kernel(&f, a, 2);
	bool torn = false;
	assert_int_equal(lb_ipvs_dump_dests(&f.v, &s, &torn), 0);
	assert_int_equal(f.v.tun, LB_IPVS_TUN_NONE);
	struct lb_dest gue = tun_dest("192.168.1.20:80", IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080, 0),
		       plain = tun_dest("192.168.1.21:80", 0, 0, 0);
	struct lb_op ops[4] = {
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &gue},
		{.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &plain},
		{.kind = LB_OP_EDIT_DEST, .svc = &s, .dest = &gue},
		{.kind = LB_OP_DEL_DEST, .svc = &s, .dest = &gue},
	};
	int errs[4];
	assert_int_equal(lb_ipvs_apply(&f.v, ops, 4, errs), 2);
	fake_kernel_done(pid, a, 2);
	int want[4] = {-EOPNOTSUPP, 0, -EOPNOTSUPP, 0};
	assert_memory_equal(errs, want, sizeof(want));
	free(s.dests);
	fake_close(&f);
}

/* ---- errors in words ---- */

static void check_msg(enum lb_op_kind kind, const struct lb_service *s, const struct lb_dest *d,
		      int err, const char *want) {
	struct lb_op op = {.kind = kind, .svc = s, .dest = d};
	char buf[256];
	memset(buf, 'x', sizeof(buf));
	const char *got = lb_ipvs_strerror(&op, err, buf, sizeof(buf));
	assert_ptr_equal(got, buf);
	assert_string_equal(got, want);
}

static void test_strerror(void **state) {
	struct lb_service s = svc("10.0.0.1:80", IPPROTO_TCP, "foo", 0, 0, 0xffffffff);
	struct lb_service s6 = svc("[2001:db8::1]:80", IPPROTO_TCP, "rr", IP_VS_SVC_F_PERSISTENT, 60, 0);
	struct lb_dest d = dest("192.168.1.10:8080", IP_VS_CONN_F_MASQ, 0x80000000u, 0, 0);
	struct lb_dest dt = dest("192.168.1.10:8080", IP_VS_CONN_F_MASQ, 1, 5, 10);
	struct lb_dest d6 = dest("[2001:db8::2]:80", IP_VS_CONN_F_MASQ, 1, 0, 0);
	const char *nosched = "scheduler \"foo\" not in kernel (no module ip_vs_foo)";
	check_msg(LB_OP_ADD_SVC, &s, NULL, -ENOENT, nosched);
	check_msg(LB_OP_EDIT_SVC, &s, NULL, -ENOENT, nosched);
	check_msg(LB_OP_ADD_SVC, &s, NULL, ENOENT, nosched); /* either sign */
	check_msg(LB_OP_ADD_SVC, &s, NULL, -EEXIST, "service already exists");
	check_msg(LB_OP_EDIT_SVC, &s, NULL, -ESRCH, "service does not exist");
	check_msg(LB_OP_DEL_SVC, &s, NULL, -ESRCH, "service does not exist");
	check_msg(LB_OP_DEL_SVC, &s, NULL, -ENOENT, "No such file or directory");
	check_msg(LB_OP_ADD_SVC, &s, NULL, -EINVAL,
		  "the kernel rejected the service's settings as invalid");
	check_msg(LB_OP_ADD_SVC, &s6, NULL, -EINVAL,
		  "IPv6 persistence netmask must be a prefix length 1..128, not 0");
	check_msg(LB_OP_ADD_SVC, &s6, NULL, -EAFNOSUPPORT,
		  "address family not supported by the kernel's IPVS (IPv6?)");
	check_msg(LB_OP_ADD_SVC, &s, NULL, -EPERM, "permission denied (needs CAP_NET_ADMIN)");
	check_msg(LB_OP_DEL_DEST, &s, &d, -EPERM, "permission denied (needs CAP_NET_ADMIN)");
	check_msg(LB_OP_ADD_SVC, &s, NULL, -ENOPROTOOPT, "the ip_vs module is being unloaded");
	check_msg(LB_OP_ADD_DEST, &s, &d, -ESRCH, "service does not exist");
	check_msg(LB_OP_ADD_DEST, &s, &d, -EEXIST, "destination already exists");
	check_msg(LB_OP_EDIT_DEST, &s, &d, -ENOENT, "destination does not exist");
	check_msg(LB_OP_DEL_DEST, &s, &d, -ENOENT, "destination does not exist");
	check_msg(LB_OP_ADD_DEST, &s, &d, -ERANGE, "weight 2147483648 out of range");
	check_msg(LB_OP_EDIT_DEST, &s, &dt, -ERANGE,
		  "lower connection threshold 10 above upper threshold 5");
	check_msg(LB_OP_ADD_DEST, &s, &d6, -EINVAL,
		  "a destination of another address family than its service needs forward: tun "
		  "(and no sync daemon running: the sync protocol cannot carry mixed families)");
	struct lb_dest d6t = dest("[2001:db8::2]:80", IP_VS_CONN_F_TUNNEL, 1, 0, 0);
	check_msg(LB_OP_EDIT_DEST, &s, &d6t, -EINVAL,
		  "a destination of another address family than its service is refused while a "
		  "sync daemon runs (the sync protocol cannot carry mixed families)");
	/* a delete is not checked for families by the kernel */
	check_msg(LB_OP_DEL_DEST, &s, &d6t, -EINVAL,
		  "the kernel rejected the destination (not a unicast address it can forward to?)");
	struct lb_dest gue0 = dest("192.168.1.10:8080", IP_VS_CONN_F_TUNNEL, 1, 0, 0);
	gue0.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GUE;
	check_msg(LB_OP_ADD_DEST, &s, &gue0, -EINVAL, "a gue tunnel needs a port (tun_port 0)");
	check_msg(LB_OP_EDIT_DEST, &s, &gue0, -EINVAL, "a gue tunnel needs a port (tun_port 0)");
	gue0.tun_port = 6080;
	check_msg(LB_OP_ADD_DEST, &s, &gue0, -EINVAL,
		  "the kernel rejected the destination (not a unicast address it can forward to?)");
	struct lb_dest big = dest("192.168.1.10:8080", IP_VS_CONN_F_MASQ, 1, 0x80000000u, 0);
	check_msg(LB_OP_ADD_DEST, &s, &big, -EINVAL,
		  "upper connection threshold 2147483648 above the kernel's limit 2147483647");
	check_msg(LB_OP_ADD_DEST, &s, &gue0, -EOPNOTSUPP,
		  "the kernel has no GUE/GRE tunnels for IPVS (gue needs Linux 5.2, gre 5.3)");
	check_msg(LB_OP_EDIT_DEST, &s, &gue0, -EOPNOTSUPP,
		  "the kernel has no GUE/GRE tunnels for IPVS (gue needs Linux 5.2, gre 5.3)");
	check_msg(LB_OP_ADD_DEST, &s, &d, -EINVAL,
		  "the kernel rejected the destination (not a unicast address it can forward to?)");
	check_msg(LB_OP_ADD_DEST, &s, &d, -EAFNOSUPPORT,
		  "address family not supported by the kernel's IPVS (IPv6?)");
	check_msg(LB_OP_ADD_DEST, &s, &d, -ENOBUFS,
		  "netlink receive buffer overflowed: result unknown");
	check_msg(LB_OP_ADD_DEST, &s, &d, -ETIMEDOUT, "the kernel did not answer: result unknown");
	check_msg(LB_OP_ADD_DEST, &s, &d, -EBUSY, "Device or resource busy");

	char small[10];
	struct lb_op op = {.kind = LB_OP_ADD_DEST, .svc = &s, .dest = &d};
	assert_string_equal(lb_ipvs_strerror(&op, -EEXIST, small, sizeof(small)), "destinati");
	assert_string_equal(lb_ipvs_strerror(NULL, -EEXIST, small, sizeof(small)), "File exis");
}

static void test_benign_errors(void **state) {
	assert_true(lb_ipvs_err_is_benign(LB_OP_ADD_SVC, -EEXIST));
	assert_true(lb_ipvs_err_is_benign(LB_OP_ADD_DEST, -EEXIST));
	assert_true(lb_ipvs_err_is_benign(LB_OP_DEL_SVC, -ESRCH));
	assert_true(lb_ipvs_err_is_benign(LB_OP_DEL_SVC, -ENOENT));
	assert_true(lb_ipvs_err_is_benign(LB_OP_DEL_DEST, -ESRCH));
	assert_true(lb_ipvs_err_is_benign(LB_OP_DEL_DEST, -ENOENT));
	assert_false(lb_ipvs_err_is_benign(LB_OP_ADD_SVC, -ENOENT));
	assert_false(lb_ipvs_err_is_benign(LB_OP_ADD_DEST, -ESRCH));
	assert_false(lb_ipvs_err_is_benign(LB_OP_EDIT_SVC, -ESRCH));
	assert_false(lb_ipvs_err_is_benign(LB_OP_EDIT_DEST, -ENOENT));
	assert_false(lb_ipvs_err_is_benign(LB_OP_EDIT_DEST, -EEXIST));
	assert_false(lb_ipvs_err_is_benign(LB_OP_DEL_DEST, -EEXIST));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_service),
		cmocka_unit_test(test_edit_service_v6_flags),
		cmocka_unit_test(test_longest_scheduler_name),
		cmocka_unit_test(test_delete_service_sends_key_only),
		cmocka_unit_test(test_dest_ops),
		cmocka_unit_test(test_dest_of_other_family_names_it),
		cmocka_unit_test(test_fwmark_service_requests),
		cmocka_unit_test(test_dest_tunnel_attrs),
		cmocka_unit_test(test_drain_keeps_tunnel),
		cmocka_unit_test(test_incomplete_op_is_refused),
		cmocka_unit_test(test_requests_pack_back_to_back),
		cmocka_unit_test(test_parse_service),
		cmocka_unit_test(test_parse_fwmark_service),
		cmocka_unit_test(test_parse_fwmark_service_malformed),
		cmocka_unit_test(test_parse_service_malformed),
		cmocka_unit_test(test_parse_dest),
		cmocka_unit_test(test_parse_service_stats64),
		cmocka_unit_test(test_parse_service_stats32_fallback),
		cmocka_unit_test(test_parse_service_stats_malformed),
		cmocka_unit_test(test_parse_service_stats_garbage),
		cmocka_unit_test(test_parse_dest_stats),
		cmocka_unit_test(test_apply_maps_errors_to_ops),
		cmocka_unit_test(test_apply_skips_incomplete_op),
		cmocka_unit_test(test_apply_without_answer_fails_loudly),
		cmocka_unit_test(test_apply_nothing),
		cmocka_unit_test(test_dump_reads_services_then_dests),
		cmocka_unit_test(test_dump_error_leaves_empty_table),
		cmocka_unit_test(test_torn_service_list_is_read_again),
		cmocka_unit_test(test_torn_service_list_that_never_settles),
		cmocka_unit_test(test_dump_repeated_after_enobufs),
		cmocka_unit_test(test_dump_malformed_reply_fails),
		cmocka_unit_test(test_dump_reads_only_wanted_dests),
		cmocka_unit_test(test_dump_keeps_stats),
		cmocka_unit_test(test_has_service),
		cmocka_unit_test(test_get_fwmark_service),
		cmocka_unit_test(test_parse_dest_tunnel),
		cmocka_unit_test(test_tun_unsupported),
		cmocka_unit_test(test_apply_refuses_tunnel_on_old_kernel),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_benign_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
