/* Config (+ health) -> desired IPVS table. */
#include "desired.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint32_t fwd_flag(enum lb_fwd f) {
	switch (f) {
	case LB_FWD_DR: return IP_VS_CONN_F_DROUTE;
	case LB_FWD_TUN: return IP_VS_CONN_F_TUNNEL;
	case LB_FWD_NAT: break;
	}
	return IP_VS_CONN_F_MASQ;
}

/* A fwmark service is keyed by mark and family alone: the kernel reports no protocol for it. */
struct lb_svc_key lb_desired_key(const struct lb_service_conf *sc) {
	if (sc->fwmark)
		return (struct lb_svc_key){.fwmark = sc->fwmark, .addr = {.af = sc->listen.af}};
	return (struct lb_svc_key){.proto = sc->protocol, .addr = sc->listen};
}

int lb_desired_keys(const struct lb_config *cfg, struct lb_owned *out) {
	for (size_t i = 0; i < cfg->n_services; i++) {
		struct lb_svc_key k = lb_desired_key(&cfg->services[i]);
		int r = lb_owned_add(out, &k);
		if (r < 0)
			return r;
	}
	return 0;
}

static void fill_service(struct lb_service *s, const struct lb_service_conf *sc) {
	s->key = lb_desired_key(sc);
	snprintf(s->sched, sizeof(s->sched), "%s", sc->scheduler);
	s->flags = (sc->persist_timeout_s ? IP_VS_SVC_F_PERSISTENT : 0) | sc->svc_flags;
	s->timeout = sc->persist_timeout_s;
	s->netmask = sc->persist_netmask;
	s->name = sc->name;
	s->drain_timeout_ms = sc->drain_timeout_ms;
}

/* be's address and thresholds, with weight (its own, or 0 when quiesced). The tunnel settings
 * are the service's; the kernel keeps them per destination. */
static int add_dest(struct lb_service *s, const struct lb_service_conf *sc,
		    const struct lb_backend_conf *be, uint32_t weight) {
	struct lb_dest *d = lb_service_add_dest(s);
	if (!d)
		return -ENOMEM;
	d->addr = be->addr;
	d->fwd = fwd_flag(sc->forward);
	d->weight = weight;
	d->u_thresh = be->max_conns;
	d->l_thresh = be->min_conns;
	if (sc->forward == LB_FWD_TUN) {
		d->tun_type = sc->tunnel.type;
		d->tun_port = sc->tunnel.port;
		d->tun_flags = sc->tunnel.flags;
	}
	return 0;
}

static bool is_sorry(const struct lb_service_conf *sc, const struct lb_addr *a) {
	for (size_t i = 0; i < sc->n_sorry; i++)
		if (lb_addr_cmp(&sc->sorry[i].addr, a) == 0)
			return true;
	return false;
}

/* Quorum first: it decides whether the backends' health is what counts. */
static void judge_quorum(struct lb_service *s, const struct lb_service_conf *sc, const bool *up) {
	s->n_up = 0;
	for (size_t i = 0; i < sc->n_backends; i++)
		s->n_up += up[i];
	if (!sc->quorum.enabled)
		return;
	s->min_up = lb_quorum_min_up(sc);
	s->quorum = s->n_up < s->min_up ? LB_QUORUM_LOST : LB_QUORUM_OK;
}

/* A backend that is down (or taken out with the rest by a lost quorum) is left out under
 * on_failure: remove -- and listed as failed, so it is deleted at once rather than drained --
 * or kept with weight 0 under quiesce. Without quorum the sorry servers take the traffic; with
 * fail_open every backend does, as if all were up. A sorry server that is also a backend is
 * planned once: as the sorry server while quorum is lost, as the backend otherwise. */
static int add_backends(struct lb_service *s, const struct lb_service_conf *sc, const bool *up) {
	bool lost = s->quorum == LB_QUORUM_LOST;
	enum lb_on_loss how = sc->quorum.on_loss;
	int r = 0;
	for (size_t i = 0; i < sc->n_backends && r == 0; i++) {
		const struct lb_backend_conf *be = &sc->backends[i];
		bool in = lost ? how == LB_ON_LOSS_FAIL_OPEN : up[i];
		if (lost && how == LB_ON_LOSS_SORRY && is_sorry(sc, &be->addr))
			continue;
		if (in)
			r = add_dest(s, sc, be, be->weight);
		else if (sc->check.on_failure == LB_ON_FAILURE_QUIESCE)
			r = add_dest(s, sc, be, 0);
		else
			r = lb_service_add_failed(s, &be->addr);
	}
	for (size_t i = 0; lost && how == LB_ON_LOSS_SORRY && i < sc->n_sorry && r == 0; i++)
		r = add_dest(s, sc, &sc->sorry[i], sc->sorry[i].weight);
	return r;
}

static struct lb_service *build_service(struct lb_table *out, const struct lb_service_conf *sc,
					 lb_backend_up_fn up, void *ud) {
	struct lb_service *s = lb_table_add_service(out);
	_cleanup_free_ bool *is_up = calloc(sc->n_backends ? sc->n_backends : 1, sizeof(bool));
	if (!s || !is_up)
		return NULL;
	for (size_t i = 0; i < sc->n_backends; i++)
		is_up[i] = !up || up(ud, sc, &sc->backends[i]);
	fill_service(s, sc);
	judge_quorum(s, sc, is_up);
	return add_backends(s, sc, is_up) < 0 ? NULL : s;
}

int lb_desired_add_service(struct lb_table *out, const struct lb_service_conf *sc, lb_backend_up_fn up,
			   void *ud) {
	struct lb_service *s = build_service(out, sc, up, ud);
	if (!s)
		return -ENOMEM;
	lb_service_sort(s);
	return 0;
}

int lb_desired_build(const struct lb_config *cfg, lb_backend_up_fn up, void *ud, struct lb_table *out) {
	lb_table_clear(out);
	for (size_t i = 0; i < cfg->n_services; i++) {
		int r = build_service(out, &cfg->services[i], up, ud) ? 0 : -ENOMEM;
		if (r < 0)
			return r;
	}
	lb_table_sort(out);
	return 0;
}
