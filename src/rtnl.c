/* rtnetlink for VIP announcement (rtnl.h): reads which host addresses the announce interfaces
 * hold, creates the dummy interface, and puts or takes off the /32 and /128 VIPs.
 *
 * libnl-route does the messages and waits for each acknowledgement, so every call here is one
 * synchronous request on one NETLINK_ROUTE socket (libnl opens it close-on-exec, so the health
 * checks ezlb runs do not inherit it). libnl translates the kernel's errno into its own NLE_*
 * codes, and not one-to-one (EEXIST and EADDRINUSE both become NLE_EXIST, ENOENT and ESRCH
 * NLE_OBJ_NOTFOUND, ENOBUFS NLE_NOMEM); errno_of() turns them back as well as it can. */
#include "rtnl.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>

/* Requests are single messages; only the address dump brings much back, and the kernel paces a
 * dump by our reads, so the receive buffer needs to hold one dump batch, not the whole table. */
#define RCVBUF_WANT (256 * 1024)
#define SNDBUF_WANT (32 * 1024)

struct lb_rtnl {
	struct nl_sock *sk;
};

/* A libnl error (negative NLE_*) as a negative errno. */
static int errno_of(int nlerr) {
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_EXIST: return -EEXIST;
	case NLE_NODEV: return -ENODEV;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_PERM: return -EPERM;
	case NLE_NOACCESS: return -EACCES;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_BUSY: return -EBUSY;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_AGAIN:
	case NLE_DUMP_INTR: return -EAGAIN;
	case NLE_INTR: return -EINTR;
	default: return -EIO;
	}
}

int lb_rtnl_open(struct lb_rtnl **out) {
	struct lb_rtnl *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->sk = nl_socket_alloc();
	int e = r->sk ? nl_connect(r->sk, NETLINK_ROUTE) : -NLE_NOMEM;
	if (e < 0) {
		lb_rtnl_close(r);
		return errno_of(e);
	}
	/* Only after nl_connect: it needs the fd. The kernel caps the sizes at net.core.*mem_max
	 * without failing, and the defaults would work too, so a refusal is not an error. */
	(void)nl_socket_set_buffer_size(r->sk, RCVBUF_WANT, SNDBUF_WANT);
	*out = r;
	return 0;
}

void lb_rtnl_close(struct lb_rtnl *r) {
	if (!r)
		return;
	if (r->sk)
		nl_socket_free(r->sk); /* closes the fd */
	free(r);
}

/* The link named name into *out (the caller puts it), or *out NULL when there is none. */
static int link_get(struct lb_rtnl *r, const char *name, struct rtnl_link **out) {
	*out = NULL;
	if (strnlen(name, LB_IFNAMSIZ) >= LB_IFNAMSIZ)
		return -EINVAL; /* the kernel could not have it; libnl would send it anyway */
	int e = rtnl_link_get_kernel(r->sk, 0, name, out);
	/* the kernel says ENODEV (NLE_NODEV); libnl says NLE_OBJ_NOTFOUND if the answer is empty */
	if (e == -NLE_NODEV || e == -NLE_OBJ_NOTFOUND) {
		*out = NULL;
		return 0;
	}
	return e < 0 ? errno_of(e) : 0;
}

/* name's interface index, 0 when there is no such interface, or a negative errno. */
static int link_index(struct lb_rtnl *r, const char *name) {
	struct rtnl_link *l;
	int e = link_get(r, name, &l);
	if (e < 0 || !l)
		return e;
	int idx = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return idx;
}

static void set_ifname(struct lb_vip *v, const char *name) {
	memset(v->ifname, 0, sizeof(v->ifname));
	memcpy(v->ifname, name, strnlen(name, sizeof(v->ifname) - 1));
}

/* An nl_addr as an lb_addr (port 0): false for anything but a whole IPv4 or IPv6 address. */
static bool addr_from_nl(const struct nl_addr *a, struct lb_addr *out) {
	int af = nl_addr_get_family(a);
	unsigned int len = nl_addr_get_len(a);
	if (!(af == AF_INET && len == 4) && !(af == AF_INET6 && len == 16))
		return false;
	memset(out, 0, sizeof(*out));
	out->af = (uint16_t)af;
	memcpy(out->ip.bytes, nl_addr_get_binary_addr(a), len);
	return true;
}

struct dump_ctx {
	int ifindex;
	const char *ifname;
	struct lb_vipset *out;
	int err;
};

/* nl_cache_foreach's callback, which cannot stop the walk: after an error it does nothing. */
static void dump_one(struct nl_object *obj, void *arg) {
	struct dump_ctx *c = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	/* IFA_LOCAL, or IFA_ADDRESS where there is no IFA_LOCAL (IPv6): the address itself, never
	 * the peer of a point-to-point address */
	struct nl_addr *local = rtnl_addr_get_local(a);
	struct lb_vip v;
	if (c->err < 0 || rtnl_addr_get_ifindex(a) != c->ifindex || !local ||
	    !addr_from_nl(local, &v.addr))
		return;
	set_ifname(&v, c->ifname);
	c->err = lb_vipset_add(c->out, &v);
}

static int dump_iface(struct lb_rtnl *r, struct nl_cache *cache, const char *ifname,
		      struct lb_vipset *out) {
	int idx = link_index(r, ifname);
	if (idx <= 0)
		return idx; /* no such interface: no addresses */
	struct dump_ctx c = {.ifindex = idx, .ifname = ifname, .out = out};
	nl_cache_foreach(cache, dump_one, &c);
	return c.err;
}

int lb_rtnl_dump_addrs(struct lb_rtnl *r, const char (*ifaces)[LB_IFNAMSIZ], size_t n,
		       struct lb_vipset *out) {
	if (n == 0)
		return 0;
	/* one dump of every address (the kernel cannot filter by interface on all versions), then
	 * one walk per interface: n is a handful */
	struct nl_cache *cache = NULL;
	int e = rtnl_addr_alloc_cache(r->sk, &cache); /* frees its cache itself on failure */
	if (e < 0)
		return errno_of(e);
	for (size_t i = 0; i < n && e >= 0; i++)
		e = dump_iface(r, cache, ifaces[i], out);
	nl_cache_free(cache);
	return e < 0 ? e : 0;
}

int lb_rtnl_link_state(struct lb_rtnl *r, const char *ifname, bool *exists, bool *up) {
	struct rtnl_link *l;
	*exists = false;
	*up = false;
	int e = link_get(r, ifname, &l);
	if (e < 0 || !l)
		return e;
	*exists = true;
	*up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
	rtnl_link_put(l);
	return 0;
}

/* Sets orig up, unless it is already. */
static int link_set_up(struct lb_rtnl *r, struct rtnl_link *orig) {
	if (rtnl_link_get_flags(orig) & IFF_UP)
		return 0;
	struct rtnl_link *chg = rtnl_link_alloc();
	if (!chg)
		return -ENOMEM;
	rtnl_link_set_flags(chg, IFF_UP);
	int e = rtnl_link_change(r->sk, orig, chg, 0);
	rtnl_link_put(chg);
	return e < 0 ? errno_of(e) : 0;
}

/* The kernel applies the IFF_UP of the creating request, but a new interface may still come
 * up later or not at all (an older kernel, a udev rule setting it down): look, and fix. */
static int ensure_up(struct lb_rtnl *r, const char *ifname) {
	struct rtnl_link *l;
	int e = link_get(r, ifname, &l);
	if (e < 0)
		return e;
	if (!l)
		return -ENODEV; /* deleted again by someone else at once */
	e = link_set_up(r, l);
	rtnl_link_put(l);
	return e;
}

int lb_rtnl_add_dummy(struct lb_rtnl *r, const char *ifname) {
	if (strnlen(ifname, LB_IFNAMSIZ) >= LB_IFNAMSIZ)
		return -EINVAL;
	struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, ifname);
	int e = rtnl_link_set_type(l, "dummy");
	if (e >= 0) {
		rtnl_link_set_flags(l, IFF_UP);
		/* EXCL: an existing interface of that name is someone else's, never reconfigured */
		e = rtnl_link_add(r->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	}
	rtnl_link_put(l);
	if (e < 0)
		return errno_of(e); /* no dummy driver: the kernel says EOPNOTSUPP */
	return ensure_up(r, ifname);
}

/* v->addr as a host address (/32 or /128) on interface ifindex, into *out (the caller puts it). */
static int addr_build(const struct lb_vip *v, int ifindex, struct rtnl_addr **out) {
	if (v->addr.af != AF_INET && v->addr.af != AF_INET6)
		return -EAFNOSUPPORT;
	size_t len = v->addr.af == AF_INET ? 4 : 16;
	struct nl_addr *local = nl_addr_build(v->addr.af, v->addr.ip.bytes, len);
	struct rtnl_addr *a = rtnl_addr_alloc();
	int e = local && a ? 0 : -ENOMEM;
	if (e == 0) {
		nl_addr_set_prefixlen(local, (int)len * 8);
		rtnl_addr_set_ifindex(a, ifindex);
		/* also sets the family and the prefix length from local; takes its own reference */
		int nle = rtnl_addr_set_local(a, local);
		e = nle < 0 ? errno_of(nle) : 0;
	}
	if (local)
		nl_addr_put(local);
	if (e < 0) {
		if (a)
			rtnl_addr_put(a);
		return e;
	}
	*out = a;
	return 0;
}

int lb_rtnl_addr_add(struct lb_rtnl *r, const struct lb_vip *v) {
	int idx = link_index(r, v->ifname);
	if (idx <= 0)
		return idx < 0 ? idx : -ENODEV;
	struct rtnl_addr *a;
	int e = addr_build(v, idx, &a);
	if (e < 0)
		return e;
	/* Duplicate address detection would keep the address tentative (unusable) for a second or
	 * more, and fail it outright if another host answered: an anycast VIP is on many hosts. */
	if (v->addr.af == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	e = rtnl_addr_add(r->sk, a, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_addr_put(a);
	if (e == -NLE_EXIST)
		return 0; /* already there: what we wanted */
	return e < 0 ? errno_of(e) : 0;
}

int lb_rtnl_addr_del(struct lb_rtnl *r, const struct lb_vip *v) {
	int idx = link_index(r, v->ifname);
	if (idx <= 0)
		return idx; /* no interface: the address is gone with it */
	struct rtnl_addr *a;
	int e = addr_build(v, idx, &a);
	if (e < 0)
		return e;
	/* The kernel matches local address and prefix length: only our host address goes, never
	 * the same address with another prefix that someone else configured. */
	e = rtnl_addr_delete(r->sk, a, 0);
	rtnl_addr_put(a);
	/* not there (EADDRNOTAVAIL), or the interface went, or lost its IPv4 setup (ENODEV) */
	if (e == -NLE_NOADDR || e == -NLE_NODEV)
		return 0;
	return e < 0 ? errno_of(e) : 0;
}
