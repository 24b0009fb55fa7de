/* Reading the whole kernel table: one GET_SERVICE dump, then one GET_DEST dump per service (the
 * kernel dumps destinations only for a named service; and only one dump may run per socket). */
#include <errno.h>
#include <linux/ip_vs.h>
#include <netlink/genl/genl.h>
#include <string.h>

#include "ipvs_priv.h"
#include "log.h"

struct svc_ctx {
	struct lb_table *t;
	size_t n_fwmark;
};

static int service_cb(struct nlmsghdr *h, void *ctx) {
	struct svc_ctx *c = ctx;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0)
		return -EPROTO;
	struct lb_service s;
	int r = lb_ipvs_parse_service(tb[IPVS_CMD_ATTR_SERVICE], &s);
	if (r < 0)
		return -EPROTO;
	if (r == 0) {
		/* fwmark services have no address key; ezlb never manages nor touches them */
		c->n_fwmark++;
		return 0;
	}
	struct lb_service *slot = lb_table_add_service(c->t);
	if (!slot)
		return -ENOMEM;
	*slot = s;
	return 0;
}

struct dest_ctx {
	struct lb_service *svc;
};

static int dest_cb(struct nlmsghdr *h, void *ctx) {
	struct dest_ctx *c = ctx;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0)
		return -EPROTO;
	struct lb_dest d;
	if (lb_ipvs_parse_dest(tb[IPVS_CMD_ATTR_DEST], c->svc->key.addr.af, &d) < 0)
		return -EPROTO;
	struct lb_dest *slot = lb_service_add_dest(c->svc);
	if (!slot)
		return -ENOMEM;
	*slot = d;
	return 0;
}

static int dump(struct lb_ipvs *v, uint8_t cmd, const struct lb_service *svc, lb_ipvs_msg_cb cb,
		void *ctx) {
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++;
	int r = lb_ipvs_msg_cmd(&req, v->family, seq, NLM_F_DUMP, cmd, svc);
	if (r >= 0)
		r = lb_ipvs_request(v, &req, seq, true, cb, ctx);
	lb_nlbuf_free(&req);
	return r;
}

static void log_dump_error(const char *what, int r) {
	if (r == -EPROTO)
		log_error("IPVS: cannot read the kernel's %s: malformed reply", what);
	else
		log_error("IPVS: cannot read the kernel's %s: %s", what, strerror(-r));
}

int lb_ipvs_dump(struct lb_ipvs *v, struct lb_table *out) {
	lb_table_clear(out);
	v->stats.dumps++;
	struct svc_ctx sc = {.t = out};
	int r = dump(v, IPVS_CMD_GET_SERVICE, NULL, service_cb, &sc);
	if (r < 0) {
		log_dump_error("services", r);
		lb_table_clear(out);
		return r;
	}
	if (sc.n_fwmark)
		log_debug("ipvs: %zu fwmark service(s) in the kernel, left alone", sc.n_fwmark);
	/* out->svcs does not move from here on: only destination arrays grow */
	for (size_t i = 0; i < out->n; i++) {
		struct dest_ctx dc = {.svc = &out->svcs[i]};
		r = dump(v, IPVS_CMD_GET_DEST, &out->svcs[i], dest_cb, &dc);
		if (r < 0) {
			log_dump_error("destinations", r);
			lb_table_clear(out);
			return r;
		}
	}
	lb_table_sort(out);
	return 0;
}
