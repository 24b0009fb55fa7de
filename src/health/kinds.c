/* The table of check kinds, keyed by health_check.type. A new kind is a new check_*.c file and one
 * line here (and its type in include/config.h and the config schema). */
#include "check.h"

const struct lb_check_ops *const lb_check_kinds[] = {
	&lb_check_tcp, &lb_check_udp, &lb_check_http, &lb_check_https, &lb_check_exec, &lb_check_dns,
};
const size_t lb_check_n_kinds = ARRAY_SIZE(lb_check_kinds);

const struct lb_check_ops *lb_check_kind(const struct lb_check_ops *const *kinds, size_t n,
					 enum lb_check_type type) {
	for (size_t i = 0; i < n; i++)
		if (kinds[i]->type == type)
			return kinds[i];
	return NULL;
}
