/* Drain records as text, for the tests (test_drain, test_reconcile):
 *   record:  entry ("; " entry)*
 *   entry:   proto vip dest since_ms timeout_ms, dest "*" for a whole service (or
 *            "fwmark N ipv4|ipv6" in place of proto vip), e.g.
 *            "tcp 10.0.0.1:80 192.168.1.11:8080 1000 60000; tcp 10.0.0.9:80 * 1000 60000"
 * drains_fmt writes a record in the same syntax, to compare with one string. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "drain.h"
#include "table.h"

/* One entry; the whole of s must be it. */
static inline struct lb_drain drain_entry(const char *s) {
	char proto[16], vip[64], dest[64], key[96];
	long long since;
	unsigned long timeout;
	int end = -1;
	struct lb_drain e;
	memset(&e, 0, sizeof(e));
	char fam[8];
	if (strncmp(s, "fwmark ", 7) == 0) {
		assert_int_equal(sscanf(s, " %15s %63s %7s %63s %lld %lu %n", proto, vip, fam, dest,
					&since, &timeout, &end), 6);
		snprintf(key, sizeof(key), "%s %s %s", proto, vip, fam);
	} else {
		assert_int_equal(sscanf(s, " %15s %63s %63s %lld %lu %n", proto, vip, dest, &since,
					&timeout, &end), 5);
		snprintf(key, sizeof(key), "%s %s", proto, vip);
	}
	assert_true(end > 0 && s[end] == 0);
	assert_int_equal(lb_svc_key_parse(key, &e.svc), 0);
	if (strcmp(dest, "*") != 0)
		assert_int_equal(lb_addr_parse(dest, &e.dest), 0);
	e.since_ms = since;
	e.timeout_ms = (uint32_t)timeout;
	return e;
}

/* A whole record, added to d; NULL is the empty record. Each (service, dest) may appear once. */
static inline void drains_from(const char *spec, struct lb_drains *d) {
	if (!spec)
		return;
	char *buf = strdup(spec), *save = NULL;
	assert_non_null(buf);
	for (char *s = strtok_r(buf, ";", &save); s; s = strtok_r(NULL, ";", &save)) {
		struct lb_drain x = drain_entry(s);
		assert_null(lb_drains_find(d, &x.svc, x.dest.af ? &x.dest : NULL));
		assert_int_equal(lb_drains_put(d, &x), 0);
	}
	free(buf);
}

/* The record as "e1; e2; ...". */
static inline const char *drains_fmt(const struct lb_drains *d, char *buf, size_t len) {
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < d->n; i++) {
		char k[LB_SVC_KEYSTRLEN], a[LB_ADDRSTRLEN];
		const struct lb_drain *e = &d->v[i];
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s %lld %u", i ? "; " : "",
					lb_svc_key_fmt(&e->svc, k, sizeof(k)),
					e->dest.af ? lb_addr_fmt(&e->dest, a) : "*", (long long)e->since_ms,
					e->timeout_ms);
		assert_true(off < len);
	}
	return buf;
}
