/* rtnetlink through libnl-route-3: the interfaces and host addresses of VIP announcement
 * (announce.h). Each call is one request to the kernel of this network namespace, answered at
 * once: nothing waits on a peer. Errors are negative errno values and are not logged here
 * (announce_sync.c knows which service and address they concern). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "announce.h"

struct lb_rtnl;

/* 0 or a negative errno (the netlink socket could not be made or connected). */
int lb_rtnl_open(struct lb_rtnl **out);
void lb_rtnl_close(struct lb_rtnl *r); /* NULL is fine */

/* Adds to out every address (IPv4 and IPv6, any prefix length; addr.port 0) found on each of
 * the n named interfaces. An interface that does not exist has none: not an error. out is not
 * cleared. 0 or a negative errno. */
int lb_rtnl_dump_addrs(struct lb_rtnl *r, const char (*ifaces)[LB_IFNAMSIZ], size_t n,
		       struct lb_vipset *out);

/* Whether ifname exists (*exists) and is administratively up (*up). 0 or a negative errno. */
int lb_rtnl_link_state(struct lb_rtnl *r, const char *ifname, bool *exists, bool *up);

/* Creates ifname as a dummy interface and sets it up. -EEXIST when it exists already. */
int lb_rtnl_add_dummy(struct lb_rtnl *r, const char *ifname);

/* Puts v->addr on v->ifname as a host address (/32 or /128; IPv6 with IFA_F_NODAD, so it is
 * usable at once). An address already there is success (idempotent). -ENODEV when the
 * interface does not exist. */
int lb_rtnl_addr_add(struct lb_rtnl *r, const struct lb_vip *v);

/* Takes the host address v->addr off v->ifname. Already gone (or no such interface) is success
 * (idempotent). */
int lb_rtnl_addr_del(struct lb_rtnl *r, const struct lb_vip *v);
