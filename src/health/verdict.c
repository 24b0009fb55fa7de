/* Consecutive-result thresholds (see include/health.h for the semantics of UNKNOWN). */
#include "verdict.h"

/* Here, with the states, rather than in health.c: run.c names states in its log lines and calls
 * nothing of health.c. */
const char *lb_health_name(enum lb_health s) {
	switch (s) {
	case LB_HEALTH_UP: return "up";
	case LB_HEALTH_DOWN: return "down";
	default: return "unknown";
	}
}

static void count(struct lb_verdict *v, bool ok) {
	uint32_t *inc = ok ? &v->n_ok : &v->n_fail;
	if (*inc < UINT32_MAX)
		(*inc)++;
	*(ok ? &v->n_fail : &v->n_ok) = 0;
}

bool lb_verdict_settle(struct lb_verdict *v, uint32_t fail_count, uint32_t rise_count) {
	enum lb_health old = v->state;
	if (v->n_fail > 0 && v->n_fail >= fail_count)
		v->state = LB_HEALTH_DOWN;
	else if (v->n_ok > 0 && v->n_ok >= rise_count)
		v->state = LB_HEALTH_UP;
	return v->state != old;
}

bool lb_verdict_step(struct lb_verdict *v, bool ok, uint32_t fail_count, uint32_t rise_count) {
	count(v, ok);
	return lb_verdict_settle(v, fail_count, rise_count);
}

bool lb_verdict_decide(struct lb_verdict *v, bool ok) {
	enum lb_health old = v->state;
	count(v, ok);
	v->state = ok ? LB_HEALTH_UP : LB_HEALTH_DOWN;
	return v->state != old;
}

enum lb_health lb_verdict_effective(const struct lb_verdict *v, bool initial_up) {
	if (v->state != LB_HEALTH_UNKNOWN)
		return v->state;
	return initial_up ? LB_HEALTH_UP : LB_HEALTH_DOWN;
}
