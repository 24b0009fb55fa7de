/* The per-target state machine, kept pure so that it can be tested as a table. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "health.h"

struct lb_verdict {
	enum lb_health state;  /* UNKNOWN until the first threshold is reached */
	uint32_t n_ok, n_fail; /* consecutive successes / failures; one of them is always 0 */
};

/* Count one probe result, then apply the thresholds. Returns true when state changed. */
bool lb_verdict_step(struct lb_verdict *v, bool ok, uint32_t fail_count, uint32_t rise_count);
/* Apply (new) thresholds to the current counters. Returns true when state changed. */
bool lb_verdict_settle(struct lb_verdict *v, uint32_t fail_count, uint32_t rise_count);
/* Count one result and let it decide alone (`ezlb once`). Returns true when state changed. */
bool lb_verdict_decide(struct lb_verdict *v, bool ok);
/* What the target counts as: UNKNOWN resolves through initial_up. Never UNKNOWN. */
enum lb_health lb_verdict_effective(const struct lb_verdict *v, bool initial_up);
