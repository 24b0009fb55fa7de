/* The parsed configuration: one immutable struct, loaded by a pure function of the file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define LB_SCHED_MAX 16 /* IP_VS_SCHEDNAME_MAXLEN */

enum lb_fwd { LB_FWD_NAT = 0, LB_FWD_DR, LB_FWD_TUN };

/* What happens to a backend that health checks find down. */
enum lb_on_failure {
	LB_ON_FAILURE_REMOVE = 0, /* delete the destination (default) */
	LB_ON_FAILURE_QUIESCE,    /* keep it with weight 0, like keepalived's inhibit_on_failure */
};

struct lb_check_conf {
	bool enabled;          /* default true */
	uint32_t interval_ms;  /* default 5000 */
	uint32_t timeout_ms;   /* default 3000, must be < interval */
	uint32_t fail_count;   /* default 3, >= 1 */
	uint32_t rise_count;   /* default 2, >= 1 */
	bool initial_up;       /* state of a backend before its first verdict; default true */
	enum lb_on_failure on_failure;
};

struct lb_backend_conf {
	struct lb_addr addr;
	uint32_t weight; /* 0..65535, default 1; 0 = quiesced (no new connections) */
};

struct lb_service_conf {
	char *name;
	uint16_t protocol;            /* IPPROTO_TCP (default), IPPROTO_UDP, IPPROTO_SCTP */
	struct lb_addr listen;
	char scheduler[LB_SCHED_MAX]; /* default "wlc", like ipvsadm */
	enum lb_fwd forward;          /* default nat */
	uint32_t persist_timeout_s;   /* 0 = no persistence */
	uint32_t persist_netmask;     /* IPv4: mask in network byte order; IPv6: prefix length */
	struct lb_check_conf check;
	struct lb_backend_conf *backends;
	size_t n_backends;
};

struct lb_config {
	char *path;
	int log_level;               /* LOG_* priority, or -1 when the file does not set it */
	uint32_t resync_interval_ms; /* default 30000 */
	struct lb_service_conf *services;
	size_t n_services;
};

/* Diagnostics: each message is complete, e.g.
 * "ezlb.yaml:14:20: services[1].backends[0].address: \"192.168.1.300:80\" is not an IP:port". */
struct lb_diag {
	char **msgs;
	size_t n, cap;
};
void lb_diag_free(struct lb_diag *d);

/* Returns 0 and *out, or a negative errno with every problem found in diag (-EINVAL for a config
 * that is not valid, other errnos for a file that cannot be read). Logs nothing. */
int lb_config_load(const char *path, struct lb_config **out, struct lb_diag *diag);
void lb_config_free(struct lb_config *c);

const char *lb_proto_name(uint16_t proto); /* "tcp", "udp", "sctp" */
const char *lb_fwd_name(enum lb_fwd f);     /* "nat", "dr", "tun" */
