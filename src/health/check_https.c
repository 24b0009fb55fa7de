/* TEMPORARY stub, replaced by the real https check kind. */
#include <errno.h>

#include "check.h"

static void stub_start(struct lb_probe *p) { lb_probe_abort(p, ENOSYS); }
static void stub_cancel(struct lb_probe *p) { (void)p; }

const struct lb_check_ops lb_check_https = {
	.name = "https",
	.type = LB_CHECK_HTTPS,
	.start = stub_start,
	.cancel = stub_cancel,
};
