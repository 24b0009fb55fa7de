/* HTTP check: one GET over a fresh connection; the backend is up when the status is in the
 * configured ranges and the body holds `expect`, all within the timeout. The state machine is
 * http_client.c (shared with https), the response reader http_resp.c. */
#include "check.h"
#include "http_client.h"

static void http_start(struct lb_probe *p) { lb_http_start(p, &lb_http_plain); }

const struct lb_check_ops lb_check_http = {
	.name = "http",
	.type = LB_CHECK_HTTP,
	.start = http_start,
	.cancel = lb_http_cancel,
	.expire = lb_http_expire,
	.conf_cmp = lb_http_conf_cmp,
};
