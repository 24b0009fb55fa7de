/* Private to src/import/: the keepalived reader behind `ezlb import-keepalived`.
 *
 * Reading runs in four steps, each in its own file:
 *   kv_lex.c    files -> "pieces": keepalived's line reader (comments, includes, @id lines,
 *               $NAME definitions, lines split at braces) and its word splitter;
 *   kv_parse.c  pieces -> a tree of statements with their { } blocks;
 *   kv_vs.c, kv_rs.c, kv_checker.c
 *               tree -> a model of the virtual servers as keepalived 2.2 understands them
 *               (defaults, inheritance, the corrections keepalived makes before it touches the
 *               kernel);
 *   kv_map*.c   model -> ezlb services, and kv_yaml.c writes them.
 * Every step reports into one kv_ctx: warnings for what ezlb cannot express, errors for input
 * that is not keepalived syntax. Everything lives in one arena, freed at once. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "addr.h"
#include "import.h"

#define KV_LINE_MAX 1023          /* keepalived reads lines with fgets() into 1024 bytes */
#define KV_FILE_MAX (16u << 20)   /* one file */
#define KV_TOTAL_MAX (64u << 20)  /* all files together */
#define KV_DEPTH_MAX 16           /* include nesting */
#define KV_FILES_MAX 1024         /* files read */
#define KV_NEST_MAX 32            /* { } nesting */
#define KV_SUBST_MAX 32           /* rounds of $NAME substitution on one line */
#define KV_DEFS_MAX 1024          /* $NAME definitions */
#define KV_UNSET UINT64_MAX       /* a timer or count not given */

/* ---- kv_arena.c: every string and node of one import ---- */
struct kv_chunk;
struct kv_arena {
	struct kv_chunk *head;
};
void *kv_alloc(struct kv_arena *a, size_t n); /* zeroed; NULL when out of memory */
char *kv_strndup(struct kv_arena *a, const char *s, size_t n);
void kv_arena_free(struct kv_arena *a);

/* ---- kv_diag.c: files, diagnostics ---- */
struct kv_loc {
	uint32_t file; /* index in kv_ctx.files */
	uint32_t line; /* 1-based; 0: the whole file */
};

struct kv_def; /* kv_defs.c */
struct kv_msg {
	struct kv_loc at;
	size_t seq; /* keeps messages of one line in the order they were found */
	char *text;
};
struct kv_piece;

struct kv_ctx {
	struct kv_arena arena;
	const char **files;
	size_t n_files, cap_files;
	struct kv_msg *msgs;
	size_t n_msgs, cap_msgs;
	size_t n_errors;
	bool oom;
	unsigned flags;        /* KV_NO_INCLUDE */
	const char *config_id; /* for "@id" lines */
	size_t total_bytes;    /* read so far, bounded by KV_TOTAL_MAX */
	/* the files being read, outermost first: an include of one of them is a loop */
	struct {
		dev_t dev;
		ino_t ino;
	} open[KV_DEPTH_MAX + 1];
	size_t depth;
	struct kv_def *defs;
	size_t n_defs, cap_defs;
	struct kv_piece *pieces;
	size_t n_pieces, cap_pieces;
};

/* The name index of a file (added once per read: an included file read twice is two entries
 * with the same name, which is fine for messages). -1 when out of memory. */
int kv_file_add(struct kv_ctx *c, const char *name, uint32_t *idx);
void kv_warn(struct kv_ctx *c, struct kv_loc at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void kv_error(struct kv_ctx *c, struct kv_loc at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void kv_diag_print(struct kv_ctx *c, FILE *err);
void kv_ctx_free(struct kv_ctx *c);

/* ---- kv_text.c: keepalived's string rules, pure functions ---- */
/* Removes a comment ('#' or '!' outside double quotes, "\#" and "\!" unescaped) and leading and
 * trailing blanks, in place. Returns false on an unterminated double quote. */
bool kv_decomment(char *s);
/* keepalived's word splitter for keywords: blanks separate words, "..." is one word without
 * its quotes (no escapes). Returns 0, -EINVAL on an unmatched quote, -ENOMEM. */
int kv_words(struct kv_arena *a, const char *s, const char ***w, size_t *n);
/* keepalived's splitter for scripts and patterns: '...' and "..." quote (quotes removed, text
 * kept), backslash escapes as in the shell (\n, \t, \x41, \101, \cC, ...). Returns 0, -EINVAL
 * (unmatched quote, trailing backslash) or -ENOMEM. A word ends at a NUL made by an escape, as
 * keepalived's copy of it does. */
int kv_words_qe(struct kv_arena *a, const char *s, const char ***w, size_t *n);
/* The first piece of a line as keepalived's reader cuts it at '{' and '}' outside double quotes:
 * returns its length (blanks trimmed) and sets *rest to where the next piece starts (or the end). */
size_t kv_cut_piece(const char *s, const char **rest);
/* keepalived's hex strings ("Ab12f 3 456"): pairs of digits, blanks separate groups, a lone
 * digit is a byte of its own. Returns the byte count, 0 when invalid or empty. *wild: an 'x'
 * nibble was seen (a wildcard, allowed only when wild is not NULL). */
size_t kv_hex(const char *s, uint8_t *out, size_t cap, bool *wild);
/* keepalived's <TIMER>: seconds with up to 6 decimals ("2.5", "3"). Returns 0 and microseconds,
 * or -EINVAL / -ERANGE. */
int kv_timer(const char *s, uint64_t *us);
/* keepalived's unsigned: decimal digits only here (keepalived's strtoul would take more, but
 * a value like "0x10" in an LVS setting is a mistake worth a warning). */
int kv_uint(const char *s, uint64_t max, uint64_t *out);
/* on|off|true|false|yes|no: 1, 0, or -1 when none of them. */
int kv_bool(const char *s);

/* ---- kv_defs.c: $NAME=value definitions and their substitution ---- */
/* A line that defines $NAME: remembered, returns 1; 0 when the line is no definition; a negative
 * errno after an error was reported. */
int kv_def_line(struct kv_ctx *c, const char *line, struct kv_loc at);
/* Replaces every $NAME / ${NAME} of line (of capacity cap) by its value. Returns 1 when it
 * replaced something, 0 when not, negative after an error was reported. */
int kv_subst(struct kv_ctx *c, char *line, size_t cap, struct kv_loc at);

/* ---- kv_dups.c ---- */
/* For n keys of size bytes each (compared as bytes), first[i] is the index of the first key equal
 * to key i (i itself when none comes before it). 0 or -ENOMEM. */
int kv_first_equal(const void *keys, size_t n, size_t size, size_t *first);

/* ---- kv_file.c: files and globs, read without trusting them ---- */
/* The whole of a regular file, opened without blocking (a FIFO or device is refused, not read)
 * and no larger than max. Returns 0, or a negative errno and *why (a static text). */
int kv_read_file(const char *path, size_t max, char **buf, size_t *len, struct stat *st,
		 const char **why);
/* The paths a keepalived include pattern names, relative ones taken from dir, sorted; directories
 * come back with a trailing '/'. *n may be 0. Returns 0, or a negative errno. */
int kv_glob(struct kv_arena *a, const char *dir, const char *pattern, const char ***paths,
	    size_t *n);

/* ---- kv_lex.c: files -> pieces ---- */
enum kv_piece_kind { KV_WORDS, KV_OPEN, KV_CLOSE };
struct kv_piece {
	uint8_t kind;
	struct kv_loc at;
	const char *raw; /* the piece's text, for the handlers that re-split it (misc_path) */
	const char **w;
	size_t n;
};
/* Appends the pieces of the file at path (or of buf, named name) and of what it includes.
 * Returns 0 or a negative errno (after reporting it). */
int kv_lex_file(struct kv_ctx *c, const char *path, struct kv_loc from);
int kv_lex_buf(struct kv_ctx *c, const char *name, const char *buf, size_t len);

/* ---- kv_parse.c: pieces -> statements ---- */
struct kv_node {
	struct kv_loc at;
	const char *raw;
	const char **w; /* w[0] is the keyword */
	size_t n;
	bool block; /* followed by { ... } (child holds its statements) */
	struct kv_node *child, *next;
};
/* The top-level statements (NULL for an empty file). Errors (unbalanced braces) are reported
 * and make it return NULL with c->n_errors set. */
struct kv_node *kv_parse(struct kv_ctx *c);

/* ---- the model: kv_vs.c, kv_rs.c, kv_checker.c ---- */
enum kv_fwd_method { KV_FWD_UNSET = -1, KV_FWD_NAT = 0, KV_FWD_DR, KV_FWD_TUN };
enum kv_tun_type { KV_TUN_IPIP = 0, KV_TUN_GUE, KV_TUN_GRE };
enum kv_csum { KV_CSUM_NONE = 0, KV_CSUM_CSUM, KV_CSUM_REMOTE };

struct kv_fwd {
	int method; /* enum kv_fwd_method */
	uint8_t tun_type;
	uint8_t csum;
	uint16_t tun_port;
	struct kv_loc at;
};

/* What a virtual server passes down to its real servers, and a real server to its checkers. */
struct kv_opts {
	int alpha;   /* -1 unset, 0, 1 */
	int inhibit; /* -1 unset, 0, 1 (not on checkers) */
	uint64_t retry, connect_us, delay_us, dbr_us; /* KV_UNSET when not given */
	const char *vhost;
};

enum kv_ck_kind { KV_CK_TCP, KV_CK_HTTP, KV_CK_SSL, KV_CK_MISC, KV_CK_DNS, KV_CK_UDP };

#define KV_HTTP_MIN 100
#define KV_HTTP_MAX 599
struct kv_checker {
	enum kv_ck_kind kind;
	struct kv_loc at;
	struct kv_opts o;       /* the checker's own settings (inhibit unused) */
	uint64_t default_retry; /* keepalived's per-kind defaults */
	uint64_t default_dbr_us; /* 0: the delay_loop */
	uint16_t port;          /* connect_port; 0: the real server's */
	/* HTTP_GET, SSL_GET: the first url */
	bool has_url;
	const char *path;
	uint8_t status[(KV_HTTP_MAX - KV_HTTP_MIN) / 8 + 1]; /* bit per code; none: 200-299 */
	const char *url_vhost;
	const char *expect; /* a regex that is a plain string */
	bool sni;
	/* MISC_CHECK */
	const char **argv;
	size_t argc;
	uint64_t misc_timeout_us;
	/* DNS_CHECK */
	const char *dns_name, *dns_type;
	/* UDP_CHECK */
	uint8_t *send, *reply;
	size_t send_len, reply_len;
	struct kv_checker *next;
};

struct kv_rs {
	struct kv_loc at;
	struct lb_addr addr; /* port as keepalived gives it to the kernel (0: none) */
	uint16_t conf_port;  /* the port as written (0: none) */
	uint64_t weight;     /* KV_UNSET: the virtual server's */
	struct kv_fwd fwd;   /* method KV_FWD_UNSET: the virtual server's */
	uint64_t uthreshold, lthreshold; /* KV_UNSET when not given */
	struct kv_loc uthreshold_at, lthreshold_at;
	struct kv_opts o;
	struct kv_checker *checkers, **checkers_tail; /* those ezlb can run, in order */
	size_t n_checkers, n_other;  /* n_other: checkers ezlb has no kind for (warned) */
	bool dropped;                /* keepalived drops it (warned) */
	struct kv_rs *next;
};

struct kv_vs {
	struct kv_loc at;
	bool is_fwmark;
	uint32_t fwmark;
	struct lb_addr addr; /* is_fwmark: only af (0 until known) */
	uint16_t proto;      /* IPPROTO_*; 0: not given */
	char sched[16];      /* "" until given */
	uint32_t flags;      /* IP_VS_SVC_F_* */
	struct kv_loc flag_at[4]; /* where SCHED1..3 and ONEPACKET were set */
	struct kv_fwd fwd;
	uint32_t persist_s;  /* 0: none */
	bool has_gran;
	uint32_t gran;       /* IPv4 mask (network order) or IPv6 prefix length */
	struct kv_loc gran_at;
	struct kv_opts o;
	uint64_t weight; /* the real servers' default, 1 */
	uint64_t quorum, hysteresis;
	struct kv_loc quorum_at;
	bool has_sorry;
	struct lb_addr sorry;
	uint16_t sorry_conf_port; /* as written (0: none) */
	struct kv_fwd sorry_fwd;
	struct kv_loc sorry_at, sorry_fwd_at; /* sorry_fwd_at: sorry_server_lvs_method, if given */
	struct kv_rs *rs, **rs_tail;
	size_t n_rs;
	bool skip; /* keepalived would not create it, or ezlb cannot (warned) */
	struct kv_vs *next;
};

/* global_defs' settings that have an ezlb key. */
struct kv_global {
	uint32_t tcp_s, tcpfin_s, udp_s; /* lvs_timeouts; 0: not given */
	struct kv_loc timeouts_at;
	bool sync; /* lvs_sync_daemon */
	struct kv_loc sync_at;
	const char *sync_ifname, *sync_inst;
	uint64_t sync_id, sync_maxlen, sync_port, sync_ttl; /* 0: not given (but id) */
	struct lb_addr sync_group; /* af 0: not given */
};
/* kv_global.c: global_defs (root: to find the VRRP instance a sync daemon names). */
void kv_global_defs(struct kv_ctx *c, const struct kv_node *n, const struct kv_node *root,
		    struct kv_global *g);
/* kv_global.c: drops (with a warning) what ezlb's global.sync would refuse. */
void kv_map_global(struct kv_ctx *c, struct kv_global *g);

/* kv_vs.c: the virtual servers of the tree and global_defs into g; every other top-level block
 * is warned about. */
struct kv_vs *kv_model(struct kv_ctx *c, const struct kv_node *root, struct kv_global *g);
/* kv_fix.c: what keepalived decides once a virtual server is read (defaults, inheritance, ports,
 * the corrections it makes with a message) before anything reaches the kernel. */
void kv_fix(struct kv_ctx *c, struct kv_vs *vs);
/* kv_rs.c: a real_server block into a new kv_rs (NULL when keepalived skips it). */
struct kv_rs *kv_real_server(struct kv_ctx *c, struct kv_vs *vs, const struct kv_node *n);
/* kv_checker.c: a checker block of a real server. */
void kv_checker(struct kv_ctx *c, struct kv_rs *rs, const struct kv_node *n);
bool kv_is_checker(const char *keyword);
/* kv_rs.c: the options shared by virtual servers, real servers and checkers (which differ a little
 * in what they accept). Returns false when the keyword is none of them at that level. */
enum kv_level { KV_AT_VS, KV_AT_RS, KV_AT_CHECKER, KV_AT_MISC };
bool kv_common_opt(struct kv_ctx *c, const struct kv_node *n, struct kv_opts *o,
		   enum kv_level level);
/* The words of a statement: min..max arguments after the keyword. Fewer is an error (keepalived
 * exits on a missing parameter), more a warning (keepalived ignores them). */
bool kv_args(struct kv_ctx *c, const struct kv_node *n, size_t min, size_t max);
/* A warning that keyword n has no ezlb equivalent, with why. */
void kv_not_imported(struct kv_ctx *c, const struct kv_node *n, const char *why);
/* kv_rs.c: "NAT", "DR", "TUN [type ...] [port N] [csum ...]" into f; false after a warning. */
bool kv_parse_fwd(struct kv_ctx *c, const struct kv_node *n, struct kv_fwd *f);
/* kv_rs.c: keepalived's "IP [PORT]" (PORT absent or 0: none). */
bool kv_parse_addr(const char *ip, const char *port, struct lb_addr *out);

/* ---- kv_map.c, kv_map_check.c: model -> ezlb services ---- */
struct ez_backend {
	struct kv_rs *rs; /* where it comes from; NULL for a sorry server */
	struct lb_addr addr;
	uint32_t weight;
	uint64_t max_conns, min_conns; /* 0: none */
};

#define EZ_HTTP_RANGES 16
struct ez_check {
	bool enabled;
	enum kv_ck_kind kind;
	uint16_t port;
	uint32_t interval_ms, timeout_ms, fast_ms, fail_count;
	bool initial_down, quiesce;
	const char *path, *host, *expect;
	char status[EZ_HTTP_RANGES * 8 + 1]; /* "" for the default 200-299 */
	const char **argv;
	size_t argc;
	const char *dns_name, *dns_type;
	const uint8_t *send, *reply;
	size_t send_len, reply_len;
};

struct ez_service {
	struct kv_loc at;
	char name[65];
	bool is_fwmark;
	uint32_t fwmark;
	struct lb_addr listen; /* fwmark: af only */
	uint16_t proto;
	const char *sched;
	const char *sched_flags[2];
	size_t n_sched_flags;
	bool one_packet;
	int fwd;
	uint8_t tun_type, csum;
	uint16_t tun_port;
	uint32_t persist_s;
	char netmask[48]; /* "" : the default */
	struct ez_check check;
	struct ez_backend *backends;
	size_t n_backends;
	uint32_t min_up;  /* 0: no quorum block */
	struct ez_backend *sorry;
	size_t n_sorry;
	struct ez_service *next;
};

struct ez_service *kv_map(struct kv_ctx *c, struct kv_vs *vs);
/* kv_map_servers.c: the backends (false: none left, the service is not imported) and the sorry
 * server with the quorum that brings it in. */
bool kv_map_servers(struct kv_ctx *c, struct kv_vs *vs, struct ez_service *s);
/* Drops (warning why, marking the real server dropped) every backend equal to one before it. */
void kv_dedupe_backends(struct kv_ctx *c, struct ez_service *s, const char *why);
void kv_map_sorry(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s);
/* kv_map_check.c: the one health check of a service from its real servers' checkers. */
void kv_map_check(struct kv_ctx *c, const struct kv_vs *vs, struct ez_service *s);

/* ---- kv_yaml.c ---- */
void kv_yaml(const struct kv_ctx *c, const struct kv_global *g, const struct ez_service *s,
	     FILE *out);
