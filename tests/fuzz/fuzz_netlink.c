/* libFuzzer harness: IPVS dump-reply parsing. The input is a buffer of back-to-back netlink
 * messages, walked with NLMSG_OK/NLMSG_NEXT as lb_ipvs_request does; each is read with
 * genlmsg_parse and its service or destination attribute with lb_ipvs_parse_service /
 * lb_ipvs_parse_dest. Results go into an lb_table (destinations into the last service), which is
 * then sorted and checked to be found again. */
#include <linux/ip_vs.h>
#include <netlink/genl/genl.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ipvs/ipvs_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	/* a copy with netlink's alignment, as the receive buffer has */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct lb_table t = {0};
	int len = (int)size;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
		if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0)
			continue;
		struct lb_service s;
		if (tb[IPVS_CMD_ATTR_SERVICE] && lb_ipvs_parse_service(tb[IPVS_CMD_ATTR_SERVICE], &s) == 1) {
			struct lb_service *slot = lb_table_add_service(&t);
			if (!slot)
				break;
			*slot = s;
		}
		struct lb_dest d;
		if (t.n && tb[IPVS_CMD_ATTR_DEST] &&
		    lb_ipvs_parse_dest(tb[IPVS_CMD_ATTR_DEST], t.svcs[t.n - 1].key.addr.af, &d) == 0) {
			struct lb_dest *slot = lb_service_add_dest(&t.svcs[t.n - 1]);
			if (!slot)
				break;
			*slot = d;
		}
	}
	lb_table_sort(&t);
	for (size_t i = 0; i < t.n; i++) {
		if (!lb_table_find(&t, &t.svcs[i].key))
			abort();
		for (size_t j = 0; j < t.svcs[i].n_dests; j++)
			if (!lb_service_find_dest(&t.svcs[i], &t.svcs[i].dests[j].addr))
				abort();
	}
	lb_table_clear(&t);
	free(buf);
	return 0;
}
