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
 * own family, is 140 bytes); the batch writer keeps this much room free before each request. */
#define LB_IPVS_MSG_MAX 512

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

/* Parses the nested IPVS_CMD_ATTR_SERVICE of a dump reply. Returns 1 for a service with an
 * address key (*out overwritten, with no destinations), 0 for a fwmark service (out untouched),
 * -EINVAL if malformed. */
int lb_ipvs_parse_service(struct nlattr *nest, struct lb_service *out);
/* Parses the nested IPVS_CMD_ATTR_DEST; svc_af is the default address family. */
int lb_ipvs_parse_dest(struct nlattr *nest, uint16_t svc_af, struct lb_dest *out);

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
