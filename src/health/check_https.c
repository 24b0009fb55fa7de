/* HTTPS check: the HTTP check (http_client.c) over TLS (tls.c). Targets also differ by their
 * verification settings; each keeps its last TLS session to resume it on the next probe. */
#include <string.h>

#include "check.h"
#include "http_client.h"
#include "tls.h"

static void https_start(struct lb_probe *p) { lb_http_start(p, &lb_tls_xport); }

static int https_conf_cmp(const struct lb_check_conf *a, const struct lb_check_conf *b) {
	int r = lb_http_conf_cmp(a, b);
	if (r)
		return r;
	if (a->http.tls_verify != b->http.tls_verify)
		return a->http.tls_verify ? 1 : -1;
	const char *x = a->http.ca_file, *y = b->http.ca_file;
	if (!x || !y)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

const struct lb_check_ops lb_check_https = {
	.name = "https",
	.type = LB_CHECK_HTTPS,
	.start = https_start,
	.cancel = lb_http_cancel,
	.expire = lb_http_expire,
	.conf_cmp = https_conf_cmp,
	.release = lb_tls_release,
	.shared_free = lb_tls_shared_free,
};
