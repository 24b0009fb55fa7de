/* A service's quorum block: how many of its backends must be up, and what the service does with
 * fewer (send clients to its sorry servers, to every backend, or nowhere). Decoded after the
 * backends and sorry_servers lists, which it is checked against. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "util.h"

enum { Q_MIN_UP, Q_ON_LOSS, N_QKEYS };

/* The config's names, indexed by enum lb_on_loss. */
static const char *const on_loss_names[] = {
	[LB_ON_LOSS_SORRY] = "sorry", [LB_ON_LOSS_FAIL_OPEN] = "fail_open", [LB_ON_LOSS_EMPTY] = "empty",
};

/* "N", "-N", "N%" or "-N%". The sign is read only so that -1 is "out of range" like the other
 * integers, not "not a number". Past UINT32_MAX the value saturates: out of range anyway. */
static bool parse_min_up(const char *s, bool *negative, bool *pct, uint64_t *v) {
	size_t len = strlen(s);
	*pct = len > 0 && s[len - 1] == '%';
	len -= *pct;
	*negative = s[0] == '-';
	size_t i = *negative;
	if (i >= len)
		return false;
	for (*v = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (*v < UINT32_MAX)
			*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
}

/* A count must be reachable: more than the configured backends can never be up, and such a
 * service would sit in on_loss for ever. A share is of whatever the list holds, so it always is. */
static void decode_min_up(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			  bool count_known) {
	const char *str;
	if (!cfg_str(c, n, "min_up", &str))
		return;
	char buf[CFG_QUOTE_MAX];
	const char *q = cfg_quote(str, buf, sizeof(buf));
	bool negative, pct;
	uint64_t v = 0;
	size_t old = cfg_path_push_name(c, "min_up");
	if (!parse_min_up(str, &negative, &pct, &v))
		cfg_error(c, n, "%s is not a count or a percentage; write e.g. 2 or \"50%%\"", q);
	else if (pct && (negative || v < 1 || v > 100))
		cfg_error(c, n, "%s is out of range 1%%..100%%", q);
	else if (!pct && n->quoted)
		cfg_error(c, n, "%s is a quoted string, not a number; remove the quotes", q);
	else if (!pct && (negative || v < 1))
		cfg_error(c, n, "%s is out of range; the minimum is 1", q);
	else if (!pct && count_known && v > s->n_backends)
		cfg_error(c, n, "%s is more than the number of backends (%zu): the service could never "
				"have quorum", q, s->n_backends);
	else {
		s->quorum.min_up = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		s->quorum.pct = pct;
	}
	cfg_path_pop(c, old);
}

/* Sorry servers and on_loss: sorry go together. Either without the other is a mistake: a sorry
 * action with nowhere to send clients, or servers that would never get a connection. */
static void check_sorry_use(struct cfg_ctx *c, const struct cnode *on_loss, const struct cnode *sorry,
			    const struct lb_service_conf *s) {
	char buf[CFG_QUOTE_MAX];
	/* a sorry_servers that is not a list was reported already; its emptiness means nothing */
	bool sorry_known = !sorry || sorry->type == CN_SEQ;
	if (s->quorum.on_loss == LB_ON_LOSS_SORRY && !s->n_sorry && on_loss && sorry_known) {
		size_t old = cfg_path_push(c, ".quorum.on_loss");
		cfg_error(c, on_loss, "%s needs sorry_servers (the servers used while quorum is lost); "
				      "add them or choose fail_open or empty",
			  cfg_quote(on_loss->str, buf, sizeof(buf)));
		cfg_path_pop(c, old);
	}
	if (s->quorum.on_loss != LB_ON_LOSS_SORRY && s->n_sorry) {
		size_t old = cfg_path_push(c, ".sorry_servers");
		cfg_error(c, sorry, "would never be used: quorum.on_loss is %s; sorry servers need "
				    "on_loss: sorry", on_loss_names[s->quorum.on_loss]);
		cfg_path_pop(c, old);
	}
}

void cfg_decode_quorum(struct cfg_ctx *c, const struct cnode *n, const struct cnode *sorry,
		       struct lb_service_conf *s, bool count_known) {
	static const struct cfg_key keys[N_QKEYS] = {
		[Q_MIN_UP] = {"min_up", true, NULL},
		[Q_ON_LOSS] = {"on_loss", false, NULL},
	};
	bool has_sorry = s->n_sorry > 0;
	/* without a quorum block, sorry servers act like keepalived's sorry_server: they serve while
	 * no backend is up */
	s->quorum = (struct lb_quorum_conf){
		.enabled = has_sorry,
		.min_up = has_sorry,
		.on_loss = has_sorry ? LB_ON_LOSS_SORRY : LB_ON_LOSS_FAIL_OPEN,
	};
	if (!n)
		return;
	const struct cnode *v[N_QKEYS];
	size_t old = cfg_path_push(c, ".quorum");
	bool ok = cfg_map(c, n, keys, N_QKEYS, v);
	if (ok) {
		unsigned i;
		s->quorum.enabled = true;
		if (cfg_enum(c, v[Q_ON_LOSS], "on_loss", "on_loss action", on_loss_names,
			     ARRAY_SIZE(on_loss_names), &i))
			s->quorum.on_loss = (enum lb_on_loss)i;
		decode_min_up(c, v[Q_MIN_UP], s, count_known);
	}
	cfg_path_pop(c, old);
	if (ok)
		check_sorry_use(c, v[Q_ON_LOSS], sorry, s);
}
