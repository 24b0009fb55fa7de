/* The table of check kinds, keyed by service protocol. A new kind (say HTTP, chosen by a future
 * `check.type`) is a new check_*.c file and one line here. */
#include "check.h"

const struct lb_check_ops *const lb_check_kinds[] = {
	&lb_check_tcp,
	&lb_check_udp,
};
const size_t lb_check_n_kinds = ARRAY_SIZE(lb_check_kinds);

const struct lb_check_ops *lb_check_kind(const struct lb_check_ops *const *kinds, size_t n,
					 uint16_t proto) {
	for (size_t i = 0; i < n; i++)
		if (kinds[i]->proto == proto)
			return kinds[i];
	return NULL;
}
