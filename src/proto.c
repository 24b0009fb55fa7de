/* The protocol names: one table for every module that prints or reads one. */
#include "proto.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

const char *const lb_proto_names[LB_N_PROTOS] = {"tcp", "udp", "sctp"};
const uint16_t lb_proto_nums[LB_N_PROTOS] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};

const char *lb_proto_name(uint16_t proto) {
	for (size_t i = 0; i < LB_N_PROTOS; i++)
		if (lb_proto_nums[i] == proto)
			return lb_proto_names[i];
	return NULL;
}

int lb_proto_parse(const char *s, size_t n, uint16_t *out) {
	for (size_t i = 0; i < LB_N_PROTOS; i++)
		if (strlen(lb_proto_names[i]) == n && memcmp(lb_proto_names[i], s, n) == 0) {
			*out = lb_proto_nums[i];
			return 0;
		}
	return -EINVAL;
}

const char *const lb_schedulers[LB_N_SCHEDULERS] = {
	"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
};

const char *const lb_tun_type_names[LB_N_TUN_TYPES] = {"ipip", "gue", "gre"};
const char *const lb_tun_csum_names[LB_N_TUN_CSUMS] = {"none", "csum", "remote"};

const char *lb_tun_type_name(unsigned type) {
	return type < LB_N_TUN_TYPES ? lb_tun_type_names[type] : NULL;
}

const char *lb_tun_csum_name(unsigned flags) {
	return flags < LB_N_TUN_CSUMS ? lb_tun_csum_names[flags] : NULL;
}
