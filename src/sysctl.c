/* The kernel settings that decide whether a change drops traffic: read, judged against the
 * config, one warning per harmful setting.
 *
 * What the kernel does with them (mainline net/netfilter/ipvs, read for this file; the test VM
 * runs Debian's 6.1):
 *
 * - All five are per network namespace: the four net.ipv4.vs.* live in struct netns_ipvs and are
 *   registered per netns by ip_vs_control_net_init_sysctl() (ip_vs_ctl.c), so they exist only
 *   while ip_vs is loaded, and net.ipv4.vs.conntrack only with CONFIG_IP_VS_NFCT. Defaults
 *   there: conn_reuse_mode = 1; expire_nodest_conn, expire_quiescent_template and conntrack are
 *   never assigned, so 0.
 * - ip_vs_in_hook() (ip_vs_core.c), for a packet that opens a connection (is_new_conn: a TCP SYN
 *   or an SCTP INIT, never UDP) and matches an existing IPVS entry (a reused client port):
 *     1. expire_nodest_conn set and the entry's destination at weight 0: rescheduled, whatever
 *        conn_reuse_mode says (since "ipvs: Fix reuse connection if RS weight is 0", Linux 5.16
 *        and its stable backports of Nov 2021; before, conn_reuse_mode 0 disabled this too);
 *     2. else conn_reuse_mode != 0 and is_new_conn_expected(): the old entry is TCP TIME_WAIT or
 *        CLOSE (or FIN_WAIT of a DR/TUN entry with mode bit 2), or SCTP CLOSED, and it is not
 *        controlled: an entry under a persistence template never qualifies;
 *     3. otherwise the new connection goes to the old entry's destination, weight 0 or not.
 *   A rescheduled entry is expired; if ip_vs_conn_uses_old_conntrack() (the packet's conntrack
 *   entry is confirmed, i.e. netfilter still tracks the old connection) the packet is dropped
 *   and the client resends its SYN after its retransmission timeout, about 1 s. Since Linux 5.9
 *   ("ipvs: allow connection reuse for unconfirmed conntrack") only a confirmed entry causes the
 *   drop: netfilter's TCP tracker deletes a closed TIME_WAIT entry when a SYN reopens it
 *   (tcp_packet(), nf_conntrack_proto_tcp.c) and the SYN gets a new, unconfirmed one. Before 5.9
 *   every reused port of a tracked connection was dropped once (kubernetes#70747, #81775).
 *   Entries carry IP_VS_CONN_F_NFCT only when net.ipv4.vs.conntrack is set (ip_vs_conn_new());
 *   without it IPVS detaches their packets from conntrack (ip_vs_notrack), so no confirmed entry
 *   exists for them and the drop cannot happen.
 * - Same hook, a packet of an entry whose destination was deleted (not IP_VS_DEST_F_AVAILABLE):
 *   with expire_nodest_conn the entry is expired and the packet handled as new (a TCP segment
 *   that is not a SYN goes to the local stack, which resets it; a UDP datagram is scheduled to
 *   another backend), and since 5.9 __ip_vs_del_dest() also queues the expiry of all the
 *   deleted destination's entries at once; without it the packet is silently dropped until the
 *   entry times out.
 * - ip_vs_check_template() (ip_vs_conn.c): a persistence template stays valid for a weight-0
 *   destination unless expire_quiescent_template is set, so a persistent client keeps going
 *   there. */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* "1\n" is what the kernel writes; anything that does not fit is not a value of ours. */
#define VALUE_MAX 16

/* Reads one decimal value from a file that may be anything (a test tree, a bind mount): never
 * follows a symbolic link, never blocks on a FIFO, never reads more than VALUE_MAX bytes.
 * Returns the value (>= 0) or -1. */
static int read_value(const char *root, const char *rel) {
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
		return -1;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	char buf[VALUE_MAX + 1];
	ssize_t n;
	do
		n = read(fd, buf, sizeof(buf)); /* one more than allowed: tells "too long" */
	while (n < 0 && errno == EINTR);
	if (n <= 0 || n > VALUE_MAX)
		return -1;
	long v = 0;
	ssize_t i = 0;
	for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		v = v * 10 + (buf[i] - '0');
		if (v > INT_MAX)
			return -1;
	}
	if (i == 0)
		return -1;
	for (; i < n; i++) /* the kernel's trailing newline; nothing else may follow */
		if (buf[i] != '\n' && buf[i] != ' ' && buf[i] != '\t')
			return -1;
	return (int)v;
}

void lb_sysctls_read(const char *root, struct lb_sysctls *out) {
	out->ip_forward = read_value(root, "net/ipv4/ip_forward");
	out->ip6_forward = read_value(root, "net/ipv6/conf/all/forwarding");
	out->expire_nodest_conn = read_value(root, "net/ipv4/vs/expire_nodest_conn");
	out->expire_quiescent_template = read_value(root, "net/ipv4/vs/expire_quiescent_template");
	out->conn_reuse_mode = read_value(root, "net/ipv4/vs/conn_reuse_mode");
	out->conntrack = read_value(root, "net/ipv4/vs/conntrack");
}

/* ---- which services a setting hurts ---- */

typedef bool (*svc_pred)(const struct lb_service_conf *sc, const struct lb_sysctls *s);

/* Whether ezlb may set one of the service's destinations to weight 0 while it still has
 * connections: quiesce on failure, a drain, or a lost quorum that takes the backends out (or a
 * regained one that drains the sorry servers). A quorum that fails open changes no weight. */
static bool quiesces(const struct lb_service_conf *sc) {
	bool quorum = sc->quorum.enabled || sc->n_sorry > 0;
	return sc->check.on_failure == LB_ON_FAILURE_QUIESCE || sc->drain_timeout_ms > 0 ||
	       (quorum && sc->quorum.on_loss != LB_ON_LOSS_FAIL_OPEN);
}

/* Only a TCP SYN or an SCTP INIT can reuse a port in IPVS's eyes (is_new_conn). */
static bool opens_connections(const struct lb_service_conf *sc) {
	return sc->protocol == IPPROTO_TCP || sc->protocol == IPPROTO_SCTP;
}

static bool nat_v4(const struct lb_service_conf *sc, const struct lb_sysctls *s) {
	return sc->forward == LB_FWD_NAT && sc->listen.af == AF_INET;
}

static bool nat_v6(const struct lb_service_conf *sc, const struct lb_sysctls *s) {
	return sc->forward == LB_FWD_NAT && sc->listen.af == AF_INET6;
}

static bool persistent_quiescing(const struct lb_service_conf *sc, const struct lb_sysctls *s) {
	return sc->persist_timeout_s > 0 && quiesces(sc);
}

static bool checked_remove(const struct lb_service_conf *sc, const struct lb_sysctls *s) {
	return sc->check.on_failure == LB_ON_FAILURE_REMOVE &&
	       lb_check_type_of(&sc->check, sc->protocol) != LB_CHECK_NONE;
}

/* conn_reuse_mode never applies under persistence: the old entry is controlled. */
static bool reuse_to_quiesced(const struct lb_service_conf *sc, const struct lb_sysctls *s) {
	return opens_connections(sc) && sc->persist_timeout_s == 0 && quiesces(sc);
}

/* Where a reused port gets rescheduled (the two branches of ip_vs_in_hook, see the top). */
static bool rescheduled_reuse(const struct lb_service_conf *sc, const struct lb_sysctls *s) {
	if (!opens_connections(sc))
		return false;
	return (s->conn_reuse_mode > 0 && sc->persist_timeout_s == 0) ||
	       (s->expire_nodest_conn > 0 && quiesces(sc));
}

/* `service "web"`, or `service "web" (and 2 more)`: the first service pred holds for, or "" if
 * none. */
static const char *concerned(const struct lb_config *cfg, svc_pred pred, const struct lb_sysctls *s,
			     char *buf, size_t len) {
	const struct lb_service_conf *first = NULL;
	size_t more = 0;
	for (size_t i = 0; i < cfg->n_services; i++) {
		if (!pred(&cfg->services[i], s))
			continue;
		if (first)
			more++;
		else
			first = &cfg->services[i];
	}
	if (!first)
		buf[0] = '\0';
	else if (more)
		snprintf(buf, len, "service \"%s\" (and %zu more)", first->name, more);
	else
		snprintf(buf, len, "service \"%s\"", first->name);
	return buf;
}

/* ---- the rules ---- */

struct advice {
	const struct lb_sysctls *s;
	const struct lb_config *cfg;
	lb_sysctl_warn_fn warn;
	void *ud;
	size_t n;
	char who[160];
	char msg[1024];
};

/* Finds the services pred concerns; false (nothing to say) if none. */
static bool find(struct advice *a, svc_pred pred) {
	return concerned(a->cfg, pred, a->s, a->who, sizeof(a->who))[0] != '\0';
}

static void emit(struct advice *a) {
	a->warn(a->msg, a->ud);
	a->n++;
}

/* Requests reach a NAT backend through the local IPVS hook, but its replies arrive addressed to
 * the client and must be forwarded (and un-NATed on the way): without forwarding they are
 * dropped and every connection stalls. */
static void rule_forwarding(struct advice *a, int value, const char *name, svc_pred pred,
			    const char *extra) {
	if (value != 0 || !find(a, pred))
		return;
	snprintf(a->msg, sizeof(a->msg),
		 "sysctl %s = 0: replies from the NAT backends of %s are not forwarded back through "
		 "this director, so clients get no answer; fix: sysctl -w %s=1%s",
		 name, a->who, name, extra);
	emit(a);
}

static void rule_quiescent_template(struct advice *a) {
	if (a->s->expire_quiescent_template != 0 || !find(a, persistent_quiescing))
		return;
	snprintf(a->msg, sizeof(a->msg),
		 "sysctl net.ipv4.vs.expire_quiescent_template = 0: %s has persistence, so a client "
		 "whose persistence template points at a backend ezlb set to weight 0 (quiesced or "
		 "draining) keeps being sent there until it stays away for the whole persistence "
		 "timeout (kubernetes#81591); fix: sysctl -w net.ipv4.vs.expire_quiescent_template=1",
		 a->who);
	emit(a);
}

static void rule_nodest(struct advice *a) {
	if (a->s->expire_nodest_conn != 0 || !find(a, checked_remove))
		return;
	snprintf(a->msg, sizeof(a->msg),
		 "sysctl net.ipv4.vs.expire_nodest_conn = 0: when health checks remove a backend of "
		 "%s, the packets of its open connections are dropped until their IPVS entries time "
		 "out (by default 15 min for established TCP, 5 min for UDP) instead of TCP clients "
		 "getting a reset and UDP flows moving to another backend; fix: sysctl -w "
		 "net.ipv4.vs.expire_nodest_conn=1",
		 a->who);
	emit(a);
}

/* With expire_nodest_conn set, Linux 5.16 and later reschedule a reused port of a weight-0
 * destination whatever conn_reuse_mode is: then 0 hurts only older kernels, which ezlb does
 * not try to tell apart, so it says nothing. */
static void rule_conn_reuse(struct advice *a) {
	if (a->s->conn_reuse_mode != 0 || a->s->expire_nodest_conn == 1 || !find(a, reuse_to_quiesced))
		return;
	snprintf(a->msg, sizeof(a->msg),
		 "sysctl net.ipv4.vs.conn_reuse_mode = 0: a new connection to %s that reuses the "
		 "client port of an ended one goes to that one's backend again, also when ezlb has "
		 "set it to weight 0 (quiesced or draining); fix: sysctl -w "
		 "net.ipv4.vs.conn_reuse_mode=1 (or, on Linux 5.16 and later, "
		 "net.ipv4.vs.expire_nodest_conn=1)",
		 a->who);
	emit(a);
}

static void rule_conntrack(struct advice *a) {
	if (a->s->conntrack <= 0 || !find(a, rescheduled_reuse))
		return;
	snprintf(a->msg, sizeof(a->msg),
		 "sysctl net.ipv4.vs.conntrack = %d: when a new connection to %s reuses the client "
		 "port of an old one that IPVS reschedules (conn_reuse_mode %d, expire_nodest_conn "
		 "%d) while netfilter still tracks the old one, IPVS drops its first SYN and the "
		 "client retries after about 1 s (on kernels before 5.9 every reused port: "
		 "kubernetes#70747 and kubernetes#81775); fix: sysctl -w net.ipv4.vs.conntrack=0, unless "
		 "netfilter rules (SNAT or MASQUERADE of IPVS traffic, conntrack matches) need IPVS "
		 "connections tracked",
		 a->s->conntrack, a->who, a->s->conn_reuse_mode, a->s->expire_nodest_conn);
	emit(a);
}

size_t lb_sysctls_advise(const struct lb_sysctls *s, const struct lb_config *cfg,
			 lb_sysctl_warn_fn warn, void *ud) {
	struct advice a = {.s = s, .cfg = cfg, .warn = warn, .ud = ud};
	rule_forwarding(&a, s->ip_forward, "net.ipv4.ip_forward", nat_v4, "");
	rule_forwarding(&a, s->ip6_forward, "net.ipv6.conf.all.forwarding", nat_v6,
			" (interfaces then ignore router advertisements unless their accept_ra is 2)");
	rule_quiescent_template(&a);
	rule_nodest(&a);
	rule_conn_reuse(&a);
	rule_conntrack(&a);
	return a.n;
}

static void warn_log(const char *msg, void *ud) {
	log_warn("%s", msg);
}

size_t lb_sysctls_check(const struct lb_config *cfg) {
	struct lb_sysctls s;
	lb_sysctls_read("/proc/sys", &s);
	log_debug("sysctls: ip_forward %d, ipv6 forwarding %d, vs.expire_nodest_conn %d, "
		  "vs.expire_quiescent_template %d, vs.conn_reuse_mode %d, vs.conntrack %d "
		  "(-1: unreadable)",
		  s.ip_forward, s.ip6_forward, s.expire_nodest_conn, s.expire_quiescent_template,
		  s.conn_reuse_mode, s.conntrack);
	return lb_sysctls_advise(&s, cfg, warn_log, NULL);
}
