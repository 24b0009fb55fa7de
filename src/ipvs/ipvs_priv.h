/* Internals of the IPVS module shared by its files and its unit tests; not an interface for
 * other modules (they use include/ipvs.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <netlink/attr.h>
#include <netlink/netlink.h>

#include "ipvs.h"
#include "reconcile.h"
#include "table.h"

/* Upper bound of one request built by lb_ipvs_msg_op (the largest, a destination op naming its
 * own family and a tunnel, is 164 bytes); the batch writer keeps this much room free before each
 * request. */
#define LB_IPVS_MSG_MAX 512

/* Which tunnel encapsulations the kernel has, learnt from its destination dumps:
 * ip_vs_genl_fill_dest sends TUN_TYPE and TUN_PORT for every destination since Linux 5.2 (gue)
 * and TUN_FLAGS too since 5.3 (gre, checksum flags). An older kernel ignores the attributes it
 * does not know, so a request for gue or gre would silently become plain ipip: lb_ipvs_apply
 * refuses it instead. */
enum lb_ipvs_tun {
	LB_IPVS_TUN_UNKNOWN = 0, /* no destination dumped yet: requests are sent as asked */
	LB_IPVS_TUN_NONE,        /* before 5.2: ipip only */
	LB_IPVS_TUN_GUE,         /* 5.2: ipip and gue, no tunnel flags */
	LB_IPVS_TUN_ALL,         /* 5.3 and later: ipip, gue, gre and the flags */
};

struct lb_ipvs {
	struct nl_sock *sk;
	int fd;
	uint16_t family;      /* generic netlink id of "IPVS" */
	uint32_t seq;         /* next sequence number; each request gets its own */
	size_t batch_bytes;   /* most bytes per sendmsg (the kernel refuses more than sndbuf) */
	size_t batch_msgs;    /* most requests per sendmsg (their error replies must fit rcvbuf) */
	uint8_t *rbuf;        /* receive buffer, LB_IPVS_RBUF bytes */
	int reply_timeout_ms; /* how long a missing reply is waited for */
	unsigned datagrams;   /* replies the last request took: more than one is not atomic */
	enum lb_ipvs_tun tun; /* from the last destination dumped */
	struct lb_ipvs_stats stats;
};

/* 32 KiB is the largest skb the kernel builds for a dump; twice that leaves room to detect a
 * truncated read instead of misparsing it. */
#define LB_IPVS_RBUF (64 * 1024)

/* A growable buffer of back-to-back netlink messages: the batch sent in one sendmsg. */
struct lb_nlbuf {
	uint8_t *data;
	size_t len, cap;
};

int lb_nlbuf_reserve(struct lb_nlbuf *b, size_t more);
void lb_nlbuf_free(struct lb_nlbuf *b);

/* Writing one request (ipvs_msg.c): lb_ipvs_msg_begin reserves LB_IPVS_MSG_MAX bytes and writes
 * the netlink and generic netlink headers (*off remembers where); attributes follow, each within
 * that room; lb_ipvs_msg_end sets the length. Nests are closed by offset, like the message. */
int lb_ipvs_msg_begin(struct lb_nlbuf *b, uint16_t family, uint32_t seq, uint16_t flags,
		      uint8_t cmd, size_t *off);
void lb_ipvs_msg_end(struct lb_nlbuf *b, size_t off);
void lb_ipvs_put_attr(struct lb_nlbuf *b, uint16_t type, const void *data, size_t len);
size_t lb_ipvs_nest_begin(struct lb_nlbuf *b, uint16_t type);
void lb_ipvs_nest_end(struct lb_nlbuf *b, size_t off);

/* Host byte order, as netlink's NLA_U8/U16/U32 are; the caller converts a big-endian field. */
static inline void lb_ipvs_put_u8(struct lb_nlbuf *b, uint16_t type, uint8_t v) {
	lb_ipvs_put_attr(b, type, &v, sizeof(v));
}
static inline void lb_ipvs_put_u16(struct lb_nlbuf *b, uint16_t type, uint16_t v) {
	lb_ipvs_put_attr(b, type, &v, sizeof(v));
}
static inline void lb_ipvs_put_u32(struct lb_nlbuf *b, uint16_t type, uint32_t v) {
	lb_ipvs_put_attr(b, type, &v, sizeof(v));
}

/* Appends one generic netlink request for op (its IPVS command and every attribute the op
 * carries). flags are added to NLM_F_REQUEST. Returns 0, -ENOMEM, or -EINVAL for an op that
 * cannot be expressed (e.g. missing dest). */
int lb_ipvs_msg_op(struct lb_nlbuf *b, uint16_t family, uint32_t seq, uint16_t flags,
		   const struct lb_op *op);
/* Appends a request with no attributes but, if svc is given, the service's identity (GET_DEST
 * dump, DEL_SERVICE). */
int lb_ipvs_msg_cmd(struct lb_nlbuf *b, uint16_t family, uint32_t seq, uint16_t flags, uint8_t cmd,
		    const struct lb_service *svc);
uint8_t lb_ipvs_op_cmd(enum lb_op_kind k);

/* Attribute policies for what the kernel sends (and what we send, checked by the tests). */
extern struct nla_policy lb_ipvs_cmd_policy[];
extern struct nla_policy lb_ipvs_svc_policy[];
extern struct nla_policy lb_ipvs_dest_policy[];

/* Parses the nested IPVS_CMD_ATTR_SERVICE of a dump reply: an address service, or a firewall-mark
 * one (key {fwmark, proto 0, addr all zero but af}). Returns 1 (*out overwritten, with no
 * destinations), -EINVAL if malformed, -EAFNOSUPPORT for a family other than IPv4/IPv6. */
int lb_ipvs_parse_service(struct nlattr *nest, struct lb_service *out);
/* Parses the nested IPVS_CMD_ATTR_DEST; svc_af is the default address family. Returns 0,
 * -EINVAL if malformed, -EAFNOSUPPORT for a family other than IPv4/IPv6. */
int lb_ipvs_parse_dest(struct nlattr *nest, uint16_t svc_af, struct lb_dest *out);
/* The same, and *tun (if not NULL) tells which tunnel attributes the destination carried. */
int lb_ipvs_parse_dest_tun(struct nlattr *nest, uint16_t svc_af, struct lb_dest *out,
			   enum lb_ipvs_tun *tun);
/* Whether op asks for a tunnel the kernel is known (tun) to lack: an add or edit of a destination
 * with gue/gre, a tunnel port or tunnel flags the kernel would silently drop. */
bool lb_ipvs_tun_unsupported(enum lb_ipvs_tun tun, const struct lb_op *op);

/* ---- kernel-wide settings (ipvs_kconf.c): the requests and the replies, for the tests. The
 * change requests carry NLM_F_ACK: the kernel answers a successful one with nothing else. ---- */
struct lb_timeouts;
struct lb_syncd;
/* SET_CONFIG with the nonzero fields of t. 0 or -ENOMEM. */
int lb_ipvs_msg_set_timeouts(struct lb_nlbuf *b, uint16_t family, uint32_t seq,
			     const struct lb_timeouts *t);
/* NEW_DAEMON for role (LB_SYNCD_*): state, interface and id always, the other fields when set.
 * -EINVAL for an unknown role or a group family other than 0, IPv4, IPv6. */
int lb_ipvs_msg_new_daemon(struct lb_nlbuf *b, uint16_t family, uint32_t seq, int role,
			   const struct lb_syncd *d);
/* DEL_DAEMON for role: the state alone. -EINVAL for an unknown role. */
int lb_ipvs_msg_del_daemon(struct lb_nlbuf *b, uint16_t family, uint32_t seq, int role);
/* The GET_CONFIG reply (its top-level attributes). -EINVAL if malformed (see ipvs_kconf.c). */
int lb_ipvs_parse_timeouts(struct nlmsghdr *h, struct lb_timeouts *out);
/* One IPVS_CMD_ATTR_DAEMON nest of a GET_DAEMON dump: *role is LB_SYNCD_* or -1 for a state
 * we do not know (then out is untouched). 0, or -EINVAL if malformed. */
int lb_ipvs_parse_daemon(struct nlattr *nest, int *role, struct lb_syncd *out);

/* Whether err answering op means "already as wanted" (EEXIST on add, ENOENT/ESRCH on delete). */
bool lb_ipvs_err_is_benign(enum lb_op_kind k, int err);

/* Sends len bytes of requests in one sendmsg. Returns 0 or -errno. */
int lb_ipvs_send(struct lb_ipvs *v, const void *buf, size_t len);
/* Receives one datagram into v->rbuf. Returns its length or -errno (-EMSGSIZE if truncated). */
ssize_t lb_ipvs_recv(struct lb_ipvs *v, int flags);
/* The same, waiting (bounded) for the datagram if none is queued yet. */
ssize_t lb_ipvs_recv_wait(struct lb_ipvs *v);

/* Called for each reply message that belongs to the request; a negative return aborts. */
typedef int (*lb_ipvs_msg_cb)(struct nlmsghdr *h, void *ctx);
/* Sends the request in req (sequence number seq) and feeds its replies to cb until it is done:
 * NLMSG_DONE for a dump, the first reply otherwise. Returns 0 or the kernel's -errno. */
int lb_ipvs_request(struct lb_ipvs *v, struct lb_nlbuf *req, uint32_t seq, bool dump,
		    lb_ipvs_msg_cb cb, void *ctx);
/* Throws away anything queued on the socket, after a failure left replies unread. */
void lb_ipvs_drain(struct lb_ipvs *v);
