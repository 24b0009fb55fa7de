/* Reading the kernel table: one GET_SERVICE dump, then one GET_DEST dump per service whose
 * destinations the caller needs (the kernel dumps destinations only for a named service, and only
 * one dump may run per socket).
 *
 * A dump of more than one reply packet is not a snapshot. IPVS resumes it by counting entries
 * (ip_vs_genl_dump_services: `if (++idx <= start) continue`) and never sets NLM_F_DUMP_INTR, and
 * new services go to the head of their hash bucket: when another tool adds or deletes services
 * meanwhile, an entry can be listed twice or skipped. A duplicate is the visible sign, so a list
 * with one is read again (a few times); if it never settles the table is marked torn, duplicates
 * are dropped, and callers must not conclude from it that anything is absent.
 *
 * Firewall-mark services are listed like any other (the kernel dumps them after the address
 * services, keyed by family and mark); which of them ezlb may touch is the planner's business
 * (ownership), not the dump's. Destination dumps also tell which tunnel attributes the kernel
 * knows (v->tun), which lb_ipvs_apply checks tunnel requests against. */
#include <errno.h>
#include <linux/ip_vs.h>
#include <netlink/genl/genl.h>
#include <string.h>

#include "ipvs_priv.h"
#include "log.h"

#define DUMP_ATTEMPTS 4 /* reads of a list that keeps changing before planning around it */
#define NOBUFS_RETRIES 2

static int service_cb(struct nlmsghdr *h, void *ctx) {
	struct lb_table *t = ctx;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0)
		return -EPROTO;
	struct lb_service s;
	if (lb_ipvs_parse_service(tb[IPVS_CMD_ATTR_SERVICE], &s) < 0)
		return -EPROTO;
	struct lb_service *slot = lb_table_add_service(t);
	if (!slot)
		return -ENOMEM;
	*slot = s;
	return 0;
}

struct dest_ctx {
	struct lb_ipvs *v;
	struct lb_service *svc;
};

static int dest_cb(struct nlmsghdr *h, void *ctx) {
	struct dest_ctx *c = ctx;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0)
		return -EPROTO;
	struct lb_dest d;
	enum lb_ipvs_tun tun;
	if (lb_ipvs_parse_dest_tun(tb[IPVS_CMD_ATTR_DEST], c->svc->key.addr.af, &d, &tun) < 0)
		return -EPROTO;
	c->v->tun = tun;
	struct lb_dest *slot = lb_service_add_dest(c->svc);
	if (!slot)
		return -ENOMEM;
	*slot = d;
	return 0;
}

/* One dump request. ENOBUFS means replies were dropped: what arrived is incomplete, so the
 * socket is drained (that also finishes the kernel's side of the dump) and the dump repeated. */
static int dump(struct lb_ipvs *v, uint8_t cmd, const struct lb_service *svc, lb_ipvs_msg_cb cb,
		void *ctx, void (*reset)(void *ctx)) {
	int r;
	for (int attempt = 0;; attempt++) {
		struct lb_nlbuf req = {0};
		uint32_t seq = v->seq++;
		r = lb_ipvs_msg_cmd(&req, v->family, seq, NLM_F_DUMP, cmd, svc);
		if (r >= 0)
			r = lb_ipvs_request(v, &req, seq, true, cb, ctx);
		lb_nlbuf_free(&req);
		if (r != -ENOBUFS || attempt == NOBUFS_RETRIES)
			return r;
		log_debug("ipvs: dump reply dropped (ENOBUFS): reading again");
		lb_ipvs_drain(v);
		reset(ctx);
	}
}

static void log_dump_error(const char *what, int r) {
	if (r == -EPROTO)
		log_error("IPVS: cannot read the kernel's %s: malformed reply", what);
	else
		log_error("IPVS: cannot read the kernel's %s: %s", what, strerror(-r));
}

static void reset_services(void *ctx) {
	lb_table_clear(ctx);
}

static void reset_dests(void *ctx) {
	struct dest_ctx *c = ctx;
	c->svc->n_dests = 0;
}

/* Keeps the first of each run of equal keys (sorted input); returns how many it dropped: more
 * than 0 means the list moved under the dump. */
static size_t drop_dup_services(struct lb_table *t) {
	size_t n = 0, was = t->n;
	for (size_t i = 0; i < t->n; i++) {
		if (n && lb_svc_key_cmp(&t->svcs[n - 1].key, &t->svcs[i].key) == 0) {
			free(t->svcs[i].dests);
			continue;
		}
		t->svcs[n++] = t->svcs[i];
	}
	t->n = n;
	return was - n;
}

static size_t drop_dup_dests(struct lb_service *s) {
	size_t n = 0, was = s->n_dests;
	for (size_t i = 0; i < s->n_dests; i++)
		if (!n || lb_addr_cmp(&s->dests[n - 1].addr, &s->dests[i].addr) != 0)
			s->dests[n++] = s->dests[i];
	s->n_dests = n;
	return was - n;
}

int lb_ipvs_dump_services(struct lb_ipvs *v, struct lb_table *out) {
	int r = 0;
	size_t dropped = 0;
	v->stats.dumps++;
	for (int attempt = 1; attempt <= DUMP_ATTEMPTS; attempt++) {
		reset_services(out);
		r = dump(v, IPVS_CMD_GET_SERVICE, NULL, service_cb, out, reset_services);
		if (r < 0) {
			log_dump_error("services", r);
			lb_table_clear(out);
			return r;
		}
		lb_table_sort(out);
		/* the kernel fills each reply under its lock: one reply is a snapshot */
		out->may_skip = v->datagrams > 1;
		if (!(dropped = drop_dup_services(out)))
			break;
		v->stats.torn++;
		log_debug("ipvs: service list changed while read (an entry listed twice), attempt %d",
			  attempt);
	}
	out->torn = dropped > 0;
	if (out->torn)
		log_warn("IPVS: the kernel's service list kept changing during %d reads (another tool is "
			 "editing it): planning against the last read without its duplicates; nothing is "
			 "taken as gone from it",
			 DUMP_ATTEMPTS);
	for (size_t i = 0; i < out->n; i++)
		out->svcs[i].dests_unknown = true;
	return 0;
}

int lb_ipvs_dump_dests(struct lb_ipvs *v, struct lb_service *svc, bool *torn) {
	struct dest_ctx dc = {.v = v, .svc = svc};
	int r = 0;
	size_t dropped = 0;
	for (int attempt = 1; attempt <= DUMP_ATTEMPTS; attempt++) {
		svc->n_dests = 0;
		r = dump(v, IPVS_CMD_GET_DEST, svc, dest_cb, &dc, reset_dests);
		if (r < 0) {
			char key[LB_SVC_KEYSTRLEN], what[LB_SVC_KEYSTRLEN + 32];
			snprintf(what, sizeof(what), "destinations of %s",
				 lb_svc_key_fmt(&svc->key, key, sizeof(key)));
			log_dump_error(what, r);
			svc->n_dests = 0;
			return r;
		}
		lb_service_sort(svc);
		if (!(dropped = drop_dup_dests(svc)))
			break;
		v->stats.torn++;
	}
	svc->dests_unknown = false;
	if (dropped)
		*torn = true;
	return 0;
}

int lb_ipvs_dump(struct lb_ipvs *v, struct lb_table *out, lb_ipvs_want_fn want, void *ud) {
	int r = lb_ipvs_dump_services(v, out);
	/* out->svcs does not move from here on: only destination arrays grow */
	for (size_t i = 0; i < out->n && r == 0; i++)
		if (!want || want(&out->svcs[i].key, ud))
			r = lb_ipvs_dump_dests(v, &out->svcs[i], &out->torn);
	if (r < 0)
		lb_table_clear(out);
	return r;
}

/* ---- one service by its key (not a dump: the kernel answers it under one lock) ---- */

struct get_ctx {
	struct lb_service *out;
	bool found;
};

static int get_cb(struct nlmsghdr *h, void *ctx) {
	struct get_ctx *c = ctx;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	c->found = true;
	if (!c->out)
		return 0;
	if (genlmsg_parse(h, 0, tb, IPVS_CMD_ATTR_MAX, lb_ipvs_cmd_policy) < 0 ||
	    lb_ipvs_parse_service(tb[IPVS_CMD_ATTR_SERVICE], c->out) < 0)
		return -EPROTO;
	return 0;
}

int lb_ipvs_get_service(struct lb_ipvs *v, const struct lb_svc_key *k, struct lb_service *out) {
	struct lb_service s = {.key = *k};
	struct lb_nlbuf req = {0};
	uint32_t seq = v->seq++;
	struct get_ctx c = {.out = out};
	int r = lb_ipvs_msg_cmd(&req, v->family, seq, 0, IPVS_CMD_GET_SERVICE, &s);
	if (r >= 0)
		r = lb_ipvs_request(v, &req, seq, false, get_cb, &c);
	lb_nlbuf_free(&req);
	if (r == -ESRCH || r == -ENOENT)
		return 0;
	return r < 0 ? r : c.found;
}

int lb_ipvs_has_service(struct lb_ipvs *v, const struct lb_svc_key *k) {
	return lb_ipvs_get_service(v, k, NULL);
}
