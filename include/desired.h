/* The desired IPVS table: the config, with health applied. Pure. */
#pragma once
#include <stdbool.h>

#include "config.h"
#include "state.h"
#include "table.h"

/* Answers whether a backend should take new connections. */
typedef bool (*lb_backend_up_fn)(void *ud, const struct lb_service_conf *svc,
				  const struct lb_backend_conf *be);

/* Builds out (cleared first, sorted). up == NULL means every backend is up. A backend that is not
 * up is left out, or kept with weight 0 when its service says on_failure: quiesce.
 * Returns 0 or -ENOMEM. out's services point at cfg's names: cfg must outlive out. */
int lb_desired_build(const struct lb_config *cfg, lb_backend_up_fn up, void *ud, struct lb_table *out);

/* The kernel key of a configured service: its protocol and listen address. */
struct lb_svc_key lb_desired_key(const struct lb_service_conf *sc);
/* Adds the key of every configured service to out (a sorted key set). 0 or -ENOMEM. */
int lb_desired_keys(const struct lb_config *cfg, struct lb_owned *out);

/* Appends the desired state of one service to out (its destinations sorted; out's service order
 * is the caller's to sort). Returns 0 or -ENOMEM. */
int lb_desired_add_service(struct lb_table *out, const struct lb_service_conf *sc, lb_backend_up_fn up,
			   void *ud);
