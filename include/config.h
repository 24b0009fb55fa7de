/* The parsed configuration: one immutable struct, loaded by a pure function of the file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"
#include "watch.h" /* struct lb_file_sig */


enum lb_fwd { LB_FWD_NAT = 0, LB_FWD_DR, LB_FWD_TUN };

/* What happens to a backend that health checks find down. */
enum lb_on_failure {
	LB_ON_FAILURE_REMOVE = 0, /* delete the destination (default) */
	LB_ON_FAILURE_QUIESCE,    /* keep it with weight 0, like keepalived's inhibit_on_failure */
};

/* The kind of health check (health_check.type). AUTO is what an absent type means: tcp for tcp
 * services, udp for udp, none for sctp (lb_check_type_of resolves it). */
enum lb_check_type {
	LB_CHECK_AUTO = 0,
	LB_CHECK_NONE,
	LB_CHECK_TCP,
	LB_CHECK_UDP,
	LB_CHECK_HTTP,
	LB_CHECK_HTTPS,
	LB_CHECK_EXEC,
	LB_CHECK_DNS,
	LB_CHECK_N
};

/* An accepted HTTP status: lo..hi inclusive (a single code has lo == hi). */
struct lb_status_range {
	uint16_t lo, hi;
};
#define LB_HTTP_MAX_RANGES 16

/* health_check.http, for type http and https. Strings are NUL-terminated and owned. */
struct lb_check_http {
	char *path;         /* default "/" */
	char *host;         /* Host header and SNI; NULL: the probed address */
	struct lb_status_range status[LB_HTTP_MAX_RANGES];
	size_t n_status;    /* default one range, 200-299 */
	char *expect;       /* NULL: any body */
	bool tls_verify;    /* https: verify chain and name; default false */
	char *ca_file;      /* https: trust anchors for tls_verify; NULL: the system store */
};

/* health_check.exec: argv[0] is an absolute path; argv is NULL-terminated (argv[argc] == NULL). */
struct lb_check_exec {
	char **argv;
	size_t argc;
};

/* health_check.dns */
struct lb_check_dns {
	char *name;      /* query name; default "." */
	uint16_t qtype;  /* DNS type number; default 6 (SOA) */
};

/* health_check.udp: the datagram sent and the prefix expected back. */
struct lb_check_udp {
	uint8_t *send;   /* NULL with send_len 0: an empty datagram */
	size_t send_len;
	uint8_t *expect; /* the reply must start with these bytes */
	size_t expect_len;
	bool has_expect; /* with expect, silence until the timeout is a failure */
};

struct lb_check_conf {
	bool enabled;          /* default true; false is type none */
	enum lb_check_type type; /* default AUTO */
	uint16_t port;         /* probe this port of each backend; 0: the backend's own */
	uint32_t interval_ms;  /* default 5000 */
	uint32_t fast_interval_ms; /* between states; default 1000, never longer than interval */
	uint32_t timeout_ms;   /* default 3000, must be < interval */
	uint32_t fail_count;   /* default 3, >= 1 */
	uint32_t rise_count;   /* default 2, >= 1 */
	bool initial_up;       /* state of a backend before its first verdict; default true */
	enum lb_on_failure on_failure;
	struct lb_check_http http;
	struct lb_check_exec exec;
	struct lb_check_dns dns;
	struct lb_check_udp udp;
};

/* The check type a service's backends get: AUTO resolved by protocol, NONE when disabled. */
enum lb_check_type lb_check_type_of(const struct lb_check_conf *c, uint16_t protocol);
const char *lb_check_type_name(enum lb_check_type t); /* "tcp", "http", ... ; "auto" for AUTO */

/* Limits the config enforces and export respects (ipvsadm's and the kernel's). */
#define LB_WEIGHT_MAX 65535u
#define LB_CONNS_MAX 2147483647u     /* max_conns / min_conns: INT_MAX, as ipvsadm -x/-y (the
				      * kernel counts connections in ints) */
#define LB_TIMEOUT_MAX_S 2073600u    /* global.timeouts: 24 days (the kernel keeps s * HZ in an int) */

struct lb_backend_conf {
	struct lb_addr addr;
	uint32_t weight; /* 0..65535, default 1; 0 = quiesced (no new connections) */
	uint32_t max_conns; /* upper connection threshold (ipvsadm -x), 0..INT_MAX; 0 = none */
	uint32_t min_conns; /* lower threshold (ipvsadm -y), 0..INT_MAX; 0 = none (the kernel then
			     * resumes below 3/4 of max_conns); nonzero only below a nonzero max_conns */
};

/* services[].tunnel, for forward: tun. Kernel values (linux/ip_vs.h). */
struct lb_tunnel_conf {
	uint8_t type;   /* IP_VS_CONN_F_TUNNEL_TYPE_IPIP (default) / _GUE / _GRE */
	uint16_t port;  /* gue: the UDP port, 1..65535, required; 0 for ipip and gre */
	uint16_t flags; /* checksum: none (IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, default) / csum (_CSUM) /
			 * remote (_REMCSUM, gue only) */
};

/* What a service does when too few of its backends are up (quorum.on_loss). */
enum lb_on_loss {
	LB_ON_LOSS_SORRY = 0, /* only the sorry servers take connections */
	LB_ON_LOSS_FAIL_OPEN, /* every configured backend, as if all were up (checks likely wrong) */
	LB_ON_LOSS_EMPTY,     /* no destination takes connections */
};

/* quorum: with `enabled`, the service has lost quorum while fewer than lb_quorum_min_up() of its
 * backends are up. A service with sorry_servers and no quorum block gets min_up 1, on_loss sorry
 * (keepalived's sorry_server: used when every real server is down). */
struct lb_quorum_conf {
	bool enabled;
	uint32_t min_up;      /* a count, or a percentage when pct */
	bool pct;             /* min_up is a share of the configured backends, rounded up */
	enum lb_on_loss on_loss; /* resolved at load: sorry with sorry_servers, else fail_open */
};

struct lb_service_conf {
	char *name;
	uint16_t protocol;            /* IPPROTO_TCP (default), IPPROTO_UDP, IPPROTO_SCTP; for a
				       * fwmark service only what its health checks use */
	uint32_t fwmark;              /* 1..4294967295: a firewall-mark service; 0: listen */
	struct lb_addr listen;        /* the VIP; for a fwmark service only .af is set (family:
				       * ipv4 default, ipv6), address and port are zero */
	uint32_t svc_flags;           /* IP_VS_SVC_F_SCHED1..3 (scheduler_flags: sh-fallback and
				       * mh-fallback are SCHED1, sh-port and mh-port SCHED2) and
				       * IP_VS_SVC_F_ONEPACKET (one_packet) */
	struct lb_tunnel_conf tunnel; /* every backend's and sorry server's encapsulation */
	char scheduler[LB_SCHED_MAX]; /* default "wlc", like ipvsadm */
	enum lb_fwd forward;          /* default nat */
	uint32_t persist_timeout_s;   /* 0 = no persistence */
	uint32_t persist_netmask;     /* IPv4: mask in network byte order; IPv6: prefix length */
	struct lb_check_conf check;
	struct lb_backend_conf *backends;
	size_t n_backends;
	uint32_t drain_timeout_ms;    /* a leaving backend drains this long at most; default:
				       * global.drain_timeout; 0 = delete at once */
	struct lb_quorum_conf quorum;
	struct lb_backend_conf *sorry; /* sorry_servers: never health-checked */
	size_t n_sorry;
	char announce_if[16];          /* announce.interface (IFNAMSIZ): the VIP goes on it as a
					* host address while the service can serve; "" = none */
};

/* The number of up backends a service needs (quorum.min_up resolved against its backends): 0
 * without quorum; a share is rounded up, and is at least 1 even of a service with no backends. */
uint32_t lb_quorum_min_up(const struct lb_service_conf *sc);

/* global.timeouts: IPVS connection timeouts in seconds (ipvsadm --set), 1..2073600 (24 days: the
 * kernel keeps seconds * HZ in an int); 0 = key absent, leave the kernel's. */
struct lb_timeouts_conf {
	uint32_t tcp_s, tcp_fin_s, udp_s;
};

/* global.sync.role */
enum lb_sync_role { LB_SYNC_BOTH = 0, LB_SYNC_MASTER, LB_SYNC_BACKUP };

/* global.sync: the kernel's connection sync daemon (ipvsadm --start-daemon). Unset optional
 * fields are 0 (af 0 for group): the kernel picks its default and ezlb does not compare them. */
struct lb_sync_conf {
	bool enabled;          /* global.sync present */
	char ifname[16];       /* IFNAMSIZ; required, a name dev_valid_name() accepts */
	uint32_t id;           /* 0..255 (one byte in the sync messages), default 0 */
	enum lb_sync_role role;
	struct lb_addr group;  /* multicast group (port 0); af 0: the kernel's 224.0.0.81 */
	uint16_t port;         /* 1..65535; 0: 8848 */
	uint8_t ttl;           /* 1..255; 0: 1 */
	uint16_t max_len;      /* message size; 0: from the interface MTU. Else within the bounds the
				* kernel would clamp it to (ip_vs_sync.c): 1024 (1 for role master)
				* to 65535 less the IP and UDP headers of the group's family */
};

struct lb_config {
	char *path;
	int log_level;               /* LOG_* priority, or -1 when the file does not set it */
	uint32_t resync_interval_ms; /* default 30000 */
	uint32_t max_exec_checks;    /* exec checks running at once; default 64 */
	uint32_t drain_timeout_ms;   /* default of services' drain_timeout, and the drain of a
				      * service that is no longer in the file; default 60000 */
	bool metrics;                /* global.metrics present: serve /metrics */
	struct lb_addr metrics_listen; /* global.metrics.listen; default 127.0.0.1:9521 (also set
					* when metrics is false); never a tcp service's VIP:port */
	char **notify_argv;          /* global.notify: argv[0] absolute, NULL-terminated, 1..64
				      * arguments of 1..4096 bytes; NULL: none */
	size_t notify_argc;
	uint32_t notify_timeout_ms;  /* global.notify_timeout, 100..600000; default 10000 */
	struct lb_timeouts_conf timeouts; /* global.timeouts */
	struct lb_sync_conf sync;         /* global.sync */
	struct lb_service_conf *services;
	size_t n_services;
	/* Where the services come from. files[0] is the main file, then the included files in
	 * include order; services[] holds shallow copies of their services in that order:
	 * files[svc_file[i]]->services[i - file_first[svc_file[i]]], except that each copy owns its
	 * name (a strdup) and gets global.drain_timeout when the service does not set it. files is
	 * NULL for a config built by hand, whose services it owns. */
	struct lb_config_file **files;
	size_t n_files;
	size_t *file_first;
	uint32_t *svc_file;
	bool *fresh;                 /* per file: read by the load that made this config (the others
				      * were reused from the previous config, unchanged) */
	size_t n_read;               /* how many files that load read */
	struct lb_include *includes; /* the main file's include list */
	size_t n_includes;
	uint32_t metrics_line, metrics_col; /* private: where global.metrics.listen was written */
};

/* include: one entry, e.g. "conf.d/ *.yaml" -> dir "/etc/ezlb/conf.d", name "*.yaml". Wildcards
 * only in the file name: the daemon watches dir for names that match. */
struct lb_include {
	char *pattern;    /* as written */
	char *dir;        /* absolute or relative like the main file's path; relative patterns are
			   * taken from the main file's directory */
	char *name;       /* a glob(7) pattern; a leading dot is matched only by a dot */
	uint32_t line, col;
};

struct cfg_svc_pos;
/* One file and the services it defines: parsed once, then shared (refcounted) by every config
 * loaded while that file keeps the same version (lb_config_reload). Immutable once built. */
struct lb_config_file {
	char *path;
	struct lb_file_sig sig;            /* the version parsed (fstat of what was read) */
	struct lb_service_conf *services;  /* owned */
	size_t n_services;
	struct cfg_svc_pos *pos;           /* private: where each service's keys were written */
	unsigned refs;
};

/* Diagnostics: each message is complete, e.g.
 * "ezlb.yaml:14:20: services[1].backends[0].address: \"192.168.1.300:80\" is not an IP:port". */
struct lb_diag {
	char **msgs;
	size_t n, cap;
};
void lb_diag_free(struct lb_diag *d);

/* Returns 0 and *out, or a negative errno with every problem found in diag (-EINVAL for a config
 * that is not valid, other errnos for a file that cannot be read). Logs nothing. */
int lb_config_load(const char *path, struct lb_config **out, struct lb_diag *diag);
void lb_config_free(struct lb_config *c);

/* lb_config_load, reusing what prev (a config loaded from the same path, or NULL) parsed from
 * files whose signature (lb_file_sig) has not changed since: only changed or new files are read.
 * The result is checked as a whole (names and listen addresses unique across files), and nothing
 * of prev is changed: prev and *out may be freed in any order. */
int lb_config_reload(const struct lb_config *prev, const char *path, struct lb_config **out,
		     struct lb_diag *diag);

/* lb_config_reload for a caller that saw every change since prev was loaded (the daemon's
 * watcher): dirty lists the included files that may have changed (paths as an include entry's
 * dir "/" file name); every other file prev holds is reused without even a stat. Files added to
 * or gone from the directories are still found by listing them. */
int lb_config_reload_dirty(const struct lb_config *prev, const char *path,
			   const char *const *dirty, size_t n_dirty, struct lb_config **out,
			   struct lb_diag *diag);

/* What changed from prev to next (next made by lb_config_reload(prev, ...)). full: plan
 * everything (no prev, or the main file was read again: its globals and services may differ).
 * Otherwise changed lists the services of next from files read again (indexes into
 * next->services; every other service is unchanged), and n_deleted counts the services of prev
 * (by listen+protocol, or fwmark+family) that are in no file of next. */
struct lb_config_diff {
	bool full;
	size_t *changed;
	size_t n_changed;
	size_t n_deleted;
};
int lb_config_diff(const struct lb_config *prev, const struct lb_config *next,
		   struct lb_config_diff *out);
void lb_config_diff_free(struct lb_config_diff *d);

const char *lb_fwd_name(enum lb_fwd f);     /* "nat", "dr", "tun" */
