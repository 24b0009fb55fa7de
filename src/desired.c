/* Config (+ health) -> desired IPVS table. */
#include "desired.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <stdio.h>
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

struct lb_svc_key lb_desired_key(const struct lb_service_conf *sc) {
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
	s->flags = sc->persist_timeout_s ? IP_VS_SVC_F_PERSISTENT : 0;
	s->timeout = sc->persist_timeout_s;
	s->netmask = sc->persist_netmask;
	s->name = sc->name;
}

static int add_backends(struct lb_service *s, const struct lb_service_conf *sc, lb_backend_up_fn up,
			void *ud) {
	for (size_t i = 0; i < sc->n_backends; i++) {
		const struct lb_backend_conf *be = &sc->backends[i];
		bool is_up = !up || up(ud, sc, be);
		if (!is_up && sc->check.on_failure == LB_ON_FAILURE_REMOVE)
			continue;
		struct lb_dest *d = lb_service_add_dest(s);
		if (!d)
			return -ENOMEM;
		d->addr = be->addr;
		d->fwd = fwd_flag(sc->forward);
		d->weight = is_up ? be->weight : 0;
	}
	return 0;
}

static struct lb_service *build_service(struct lb_table *out, const struct lb_service_conf *sc,
					 lb_backend_up_fn up, void *ud) {
	struct lb_service *s = lb_table_add_service(out);
	if (!s)
		return NULL;
	fill_service(s, sc);
	return add_backends(s, sc, up, ud) < 0 ? NULL : s;
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
