/* An IPVS table as plain data: what the kernel has (dumped) or what ezlb wants (built from the
 * config and health). Services are sorted by key, destinations within a service by address. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"


/* The identity of a virtual service; everything else in lb_service is its configuration.
 * An address service: fwmark 0, proto and addr (VIP and port). A firewall-mark service: fwmark
 * set, proto 0 and addr all zero but addr.af, its family (the kernel keys it by family and mark
 * alone and reports no protocol for it). */
struct lb_svc_key {
	uint32_t fwmark;      /* 0: an address service */
	uint16_t proto;       /* IPPROTO_*; 0 for a fwmark service */
	struct lb_addr addr;  /* VIP and port; addr.af is the service family */
};

/* The kernel's counters of a service or destination (IPVS_*_ATTR_STATS64), from a dump only. */
struct lb_kstats {
	uint64_t conns;              /* connections scheduled */
	uint64_t inpkts, outpkts;    /* packets */
	uint64_t inbytes, outbytes;  /* bytes */
	uint64_t cps, inpps, outpps, inbps, outbps; /* the kernel's rate estimates, per second */
};

struct lb_dest {
	struct lb_addr addr;  /* identity within its service; af may differ from the service (tun) */
	uint32_t fwd;         /* IP_VS_CONN_F_MASQ / _DROUTE / _TUNNEL */
	uint32_t weight;
	uint32_t u_thresh, l_thresh;  /* max_conns / min_conns; 0 = none */
	/* Tunnel encapsulation (kernels >= 5.2; compared for every destination: the kernel keeps
	 * what it was given, zero unless forward is tun). */
	uint8_t tun_type;     /* IP_VS_CONN_F_TUNNEL_TYPE_IPIP (0) / _GUE / _GRE */
	uint16_t tun_port;    /* GUE's UDP port, host byte order; 0 otherwise */
	uint16_t tun_flags;   /* IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM (0) / _CSUM / _REMCSUM */
	/* Connection counts, from a dump only (conns_known); never planned, never compared. */
	bool conns_known;
	uint32_t active, inactive, persist;
	bool stats_known;      /* stats read from a dump */
	struct lb_kstats stats;
};

/* A destination carries live connections: for TCP and SCTP an active one (inactive entries are
 * closing or TIME_WAIT and carry no data); for UDP, which has no active state, and for a fwmark
 * service (proto 0: it may mark UDP), any entry. Counts
 * not read from the kernel count as live: nothing is deleted on a guess. */
bool lb_dest_live(const struct lb_dest *d, uint16_t proto);
/* Whether inactive entries count as live for a service of proto (UDP, fwmark): the one rule
 * behind lb_dest_live and the counts the logs print. */
bool lb_proto_inactive_live(uint16_t proto);

/* The quorum of a desired service (see lb_quorum_conf in config.h). */
enum lb_quorum {
	LB_QUORUM_NONE = 0, /* no quorum configured */
	LB_QUORUM_OK,
	LB_QUORUM_LOST,
};

struct lb_service {
	struct lb_svc_key key;
	char sched[LB_SCHED_MAX];
	uint32_t flags;    /* IP_VS_SVC_F_* that ezlb manages (PERSISTENT, ONEPACKET, SCHED1..3) */
	uint32_t timeout;  /* persistence timeout, seconds */
	uint32_t netmask;  /* IPv4: network byte order mask; IPv6: prefix length */
	bool stats_known;   /* stats read from a dump */
	struct lb_kstats stats;
	bool dests_unknown; /* dumped without its destinations (a service ezlb neither wants nor
			     * owns: there is no need to read them); never planned against */
	const char *name;  /* config name for messages; NULL for a dumped service. Borrowed: the
			    * table never frees it, so it must outlive the table */
	struct lb_dest *dests;
	size_t n_dests, cap_dests;
	/* Desired services only (zero in a dump): */
	uint32_t drain_timeout_ms; /* how long a destination leaving it may drain */
	/* Configured backends that health (or a lost quorum) takes out under on_failure: remove:
	 * deleted at once when in the kernel, never drained (a down backend cannot serve its
	 * connections). Sorted; owned by the service (lb_table_clear frees it). */
	struct lb_addr *failed;
	size_t n_failed;
	enum lb_quorum quorum;
	uint32_t n_up, min_up;     /* for messages about the quorum */
};

struct lb_table {
	struct lb_service *svcs;
	size_t n, cap;
	bool torn;     /* dumped while the kernel table changed (see lb_ipvs_dump): may lack entries */
	bool may_skip; /* the service list came in several replies: an entry may have been skipped
			* unseen, so absence is only a hint */
};

int lb_svc_key_cmp(const struct lb_svc_key *a, const struct lb_svc_key *b);
/* "tcp 10.0.0.1:80", "udp [2001:db8::1]:53", "fwmark 100 ipv4", "fwmark 7 ipv6"; an unknown
 * protocol prints as "proto-N". LB_SVC_KEYSTRLEN always suffices. */
#define LB_SVC_KEYSTRLEN (LB_ADDRSTRLEN + 16)
const char *lb_svc_key_fmt(const struct lb_svc_key *k, char *buf, size_t len);
/* The inverse of lb_svc_key_fmt (fwmark 1..4294967295). Returns 0, -EINVAL or -ERANGE. */
int lb_svc_key_parse(const char *s, struct lb_svc_key *out);

/* Appends a zeroed service / destination; returns it or NULL on ENOMEM. */
struct lb_service *lb_table_add_service(struct lb_table *t);
struct lb_dest *lb_service_add_dest(struct lb_service *s);
/* to's destinations become a copy of from's (to's own are freed). 0, or -ENOMEM (to unchanged). */
int lb_service_copy_dests(struct lb_service *to, const struct lb_service *from);
void lb_table_sort(struct lb_table *t);
void lb_service_sort(struct lb_service *s); /* its destinations only */
/* Binary search: t (resp. s's destinations) must be sorted. */
struct lb_service *lb_table_find(const struct lb_table *t, const struct lb_svc_key *k);
struct lb_dest *lb_service_find_dest(const struct lb_service *s, const struct lb_addr *a);
/* Whether dests[i] repeats dests[i - 1] (a torn dump may list a destination twice). */
bool lb_service_dup_dest(const struct lb_service *s, size_t i);
/* Whether a is in s's failed list (binary search). */
bool lb_service_has_failed(const struct lb_service *s, const struct lb_addr *a);
/* Appends a to s's failed list (the caller sorts with lb_service_sort). 0 or -ENOMEM. */
int lb_service_add_failed(struct lb_service *s, const struct lb_addr *a);
size_t lb_table_count_dests(const struct lb_table *t);
void lb_table_clear(struct lb_table *t); /* frees contents, keeps t usable */
/* A deep copy (names still borrowed; failed lists not copied: a dumped table has none), for a
 * reader that outlives the call that lent it the table. 0 or -ENOMEM (to then empty). */
int lb_table_copy(struct lb_table *to, const struct lb_table *from);
