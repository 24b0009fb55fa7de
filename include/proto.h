/* The names ezlb gives to IPVS protocols and the kernel's name limits: one table, used by the
 * config, the kernel table and the ownership record alike. Depends on nothing above it. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define LB_SCHED_MAX 16 /* IP_VS_SCHEDNAME_MAXLEN */

/* The IPVS schedulers (net/netfilter/ipvs/ip_vs_*.c) the config accepts and export writes.
 * Whether a module is present is the kernel's answer, given when a service is added. */
#define LB_N_SCHEDULERS 14
extern const char *const lb_schedulers[LB_N_SCHEDULERS];

/* Tunnel types and checksum modes in the config's words, indexed by the kernel's values:
 * IP_VS_CONN_F_TUNNEL_TYPE_IPIP/_GUE/_GRE (0, 1, 2) and IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM/_CSUM/
 * _REMCSUM (0, 1, 2). */
#define LB_N_TUN_TYPES 3
extern const char *const lb_tun_type_names[LB_N_TUN_TYPES]; /* "ipip", "gue", "gre" */
#define LB_N_TUN_CSUMS 3
extern const char *const lb_tun_csum_names[LB_N_TUN_CSUMS]; /* "none", "csum", "remote" */
/* The name of a kernel value, or NULL for one ezlb has no word for. */
const char *lb_tun_type_name(unsigned type);
const char *lb_tun_csum_name(unsigned flags);

#define LB_N_PROTOS 3
extern const char *const lb_proto_names[LB_N_PROTOS]; /* "tcp", "udp", "sctp" */
extern const uint16_t lb_proto_nums[LB_N_PROTOS];     /* IPPROTO_* in the same order */

/* "tcp", "udp", "sctp"; NULL for a protocol ezlb has no name for. */
const char *lb_proto_name(uint16_t proto);
/* The inverse for the n bytes at s: 0 and *out, or -EINVAL. */
int lb_proto_parse(const char *s, size_t n, uint16_t *out);
