/* Private to src/config/: the YAML node tree, the error collector and the typed decoders.
 *
 * Loading runs in three steps: read.c reads the file (refusing directories and huge files),
 * tree.c turns libyaml's events into a small node tree that keeps every node's line:column,
 * decode*.c walk the tree against the schema and validate.c checks what spans several entries
 * (uniqueness). Every step reports into one cfg_ctx and carries on, so a user sees all problems
 * at once.
 *
 * The bulk of a big file is the "services" list, so each of its entries is decoded as soon as
 * it has been parsed and its nodes are then dropped: a file with 100k backends never has more
 * than one service's nodes in memory. */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CFG_MAX_BYTES (16u << 20) /* refuse bigger files before parsing them */
#define CFG_MAX_DEPTH 64          /* no legitimate config nests this deep */

enum cnode_type { CN_SCALAR, CN_SEQ, CN_MAP, CN_ALIAS };

/* A node of the document. Mappings hold key, value, key, value, ... as children. */
struct cnode {
	uint8_t type;
	bool quoted;     /* scalar written with quotes or as a block scalar, so never a number/bool */
	bool streamed;   /* the top-level services list: its items went to the item callback */
	uint32_t line;   /* 1-based */
	uint32_t col;    /* 1-based */
	uint32_t n;      /* scalar: length; collections: number of children */
	const char *str; /* scalar text (NUL-terminated), or an alias' anchor name */
	struct cnode *child, *next;
};

struct cfg_chunk;
struct cfg_tree {
	struct cfg_chunk *chunks; /* every node and string lives in these, freed at once */
	struct cfg_chunk *spare;  /* kept when rewinding, so streaming does not thrash malloc */
	struct cnode *root;       /* NULL when the file holds no document */
};

/* Called for each item of the top-level "services" sequence once it is complete; the item's
 * nodes are freed when it returns. index counts from 0. */
typedef void (*cfg_item_fn)(void *ud, const struct cnode *item, size_t index);

struct cfg_msg {
	uint32_t file_no;   /* messages sort by file (the main file is 0, then include order) */
	uint32_t line, col; /* 0 for errors about the whole file */
	size_t seq;         /* keeps the order of equal positions stable */
	char *text;
};

struct cfg_ctx {
	const char *file;
	uint32_t file_no;
	struct cfg_msg *msgs;
	size_t n_msgs, cap_msgs;
	bool oom;
	char path[512]; /* key path of the node being decoded, e.g. "services[1].backends[0]" */
	size_t path_len;
};

/* diag.c: errors. cfg_error() prefixes "file:line:col: path: " (path of ctx). */
void cfg_file_error(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cfg_pos_error(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfg_error(struct cfg_ctx *c, const struct cnode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cfg_error_at(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
size_t cfg_path_push(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t cfg_path_push_key(struct cfg_ctx *c, const char *key); /* ".key", or "key" at the top */
size_t cfg_path_push_name(struct cfg_ctx *c, const char *name); /* the same for ezlb's own key names */
size_t cfg_path_push_index(struct cfg_ctx *c, size_t i);      /* "[i]" */
void cfg_path_pop(struct cfg_ctx *c, size_t len);
/* cfg_error about the value of key, a key of the mapping whose path is pushed: ".key" is added
 * to the path for this one message. */
void cfg_key_error(struct cfg_ctx *c, const char *key, const struct cnode *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Moves the messages, sorted by position, into d. Returns -ENOMEM if any message was lost. */
int cfg_ctx_finish(struct cfg_ctx *c, struct lb_diag *d);
/* A node described for a message: "a mapping", "a sequence", "null", or its text quoted. */
const char *cfg_describe(const struct cnode *n, char *buf, size_t len);
const char *cfg_quote(const char *s, char *buf, size_t len);
#define CFG_QUOTE_MAX 96

/* config.c: free what a check conf owns (its kind's strings and buffers). */
void cfg_check_free(struct lb_check_conf *c);

/* read.c: sig (may be NULL) gets the version read, from the descriptor read. */
int cfg_read_file(struct cfg_ctx *c, const char *path, char **buf, size_t *len,
		  struct lb_file_sig *sig);

/* config.c: lb_config_load on len bytes already in memory (name stands for the path in
 * messages); used by the fuzzer. Its include list is decoded but not read. */
int cfg_load_buf(const char *name, const char *buf, size_t len, struct lb_config **out,
		 struct lb_diag *diag);

/* tree.c */
int cfg_tree_parse(struct cfg_ctx *c, const char *buf, size_t len, struct cfg_tree *t,
		   cfg_item_fn on_service, void *ud);
void cfg_tree_free(struct cfg_tree *t);
bool cfg_is_null(const struct cnode *n);

/* suggest.c: the closest candidate within a small edit distance, or NULL. */
const char *cfg_suggest(const char *word, const char *const *cands, size_t n);
/* "a, b<last>c" into buf, e.g. last = " or ". */
const char *cfg_join(const char *const *words, size_t n, const char *last, char *buf, size_t len);

/* mapping.c: schema walking. */
struct cfg_key {
	const char *name;
	bool required;
	const char *hint; /* appended to the "missing required key" message */
};
/* Checks that n is a mapping of known, unique keys; vals[i] is the value for keys[i] or NULL.
 * Returns false (after reporting) if n is not a mapping. n == NULL or null is an error too. */
bool cfg_map(struct cfg_ctx *c, const struct cnode *n, const struct cfg_key *keys, size_t nkeys,
	     const struct cnode **vals);
/* Reports a type error unless n is of the given type; aliases get their own message. */
bool cfg_expect(struct cfg_ctx *c, const struct cnode *n, enum cnode_type type, const char *hint);

/* scalar.c: typed values. Each takes the key to name in errors (pushed on the path), leaves *out
 * untouched and returns false when n is NULL (key absent) or invalid (reported). */
bool cfg_str(struct cfg_ctx *c, const struct cnode *n, const char *key, const char **out);
bool cfg_uint(struct cfg_ctx *c, const struct cnode *n, const char *key, uint32_t min, uint32_t max,
	      uint32_t *out);
bool cfg_bool(struct cfg_ctx *c, const struct cnode *n, const char *key, bool *out);
bool cfg_enum(struct cfg_ctx *c, const struct cnode *n, const char *key, const char *what,
	      const char *const *names, size_t nnames, unsigned *out);
/* cfg_enum for a node whose path is already pushed, such as an item of a list ("[2]"). */
bool cfg_enum_here(struct cfg_ctx *c, const struct cnode *n, const char *what,
		   const char *const *names, size_t nnames, unsigned *out);
bool cfg_duration(struct cfg_ctx *c, const struct cnode *n, const char *key, uint32_t *out_ms);
/* A duration in min_ms..max_ms; min_ms 0 accepts "0s". */
bool cfg_duration_in(struct cfg_ctx *c, const struct cnode *n, const char *key, uint32_t min_ms,
		     uint32_t max_ms, uint32_t *out_ms);
bool cfg_endpoint(struct cfg_ctx *c, const struct cnode *n, const char *key, struct lb_addr *out);

/* duration.c */
int cfg_parse_duration(const char *s, uint32_t *out_ms); /* 0, -EINVAL, -ERANGE */
const char *cfg_fmt_duration(uint32_t ms, char *buf, size_t len);

/* Where a value was written; line 0 when it is absent or was invalid (and already reported). */
struct cfg_pos {
	uint32_t line, col;
};

/* Where each service's values came from, for the checks that look across services. */
struct cfg_svc_src {
	struct cfg_pos name, listen; /* listen: line 0 for a fwmark service */
	struct cfg_pos fwmark;       /* line 0 for an address service */
	struct cfg_pos *be_addr;    /* one per backend */
	struct cfg_pos *sorry_addr; /* one per sorry server */
	bool drain_set; /* drain_timeout written: global.drain_timeout, decoded later, is no default */
};

/* What a file's unit keeps of cfg_svc_src, for the checks across files. */
struct cfg_svc_pos {
	struct cfg_pos name, listen, fwmark;
	bool drain_set;
};

/* What the decoder builds while the file streams by. */
struct cfg_decoder {
	struct cfg_ctx *c;
	struct lb_config *cfg;   /* an included file's services go here too; its globals stay unset */
	struct cfg_svc_src *src; /* parallel to cfg->services */
	size_t cap;
	bool included;           /* an included file: "services" is its only key */
};

/* decode.c, decode_service.c, decode_options.c, decode_backends.c */
void cfg_decode_service_item(void *decoder, const struct cnode *item, size_t index);
void cfg_decode_root(struct cfg_decoder *d, const struct cnode *root);
void cfg_decode_service(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			struct cfg_svc_src *src);
void cfg_decode_persistence(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s);
void cfg_decode_check(struct cfg_ctx *c, const struct cnode *n, struct lb_check_conf *chk,
		      uint16_t protocol);
/* decode_check_kinds.c: the blocks of each check kind, and each kind's defaults. */
void cfg_decode_check_http(struct cfg_ctx *c, const struct cnode *n, struct lb_check_http *h,
			   bool https);
void cfg_decode_check_exec(struct cfg_ctx *c, const struct cnode *n, struct lb_check_exec *e);
void cfg_decode_check_dns(struct cfg_ctx *c, const struct cnode *n, struct lb_check_dns *d);
void cfg_decode_check_udp(struct cfg_ctx *c, const struct cnode *n, struct lb_check_udp *u);
void cfg_check_defaults(struct cfg_ctx *c, struct lb_check_conf *chk, enum lb_check_type t);
/* decode_ipvs.c: what a service matches (listen, or fwmark with family; svc is the service's
 * mapping, for the message when both are missing), and its IPVS options. Each *_known says
 * whether the service's protocol, scheduler or forward is known (absent or valid): a value that
 * was itself refused is not checked against again. */
void cfg_decode_vip(struct cfg_ctx *c, const struct cnode *svc, const struct cnode *listen,
		    const struct cnode *fwmark, const struct cnode *family, struct lb_service_conf *s,
		    struct cfg_svc_src *src);
void cfg_decode_sched_flags(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			    bool sched_known);
void cfg_decode_one_packet(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			   bool proto_known);
void cfg_decode_tunnel(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
		       bool fwd_known);
void cfg_decode_backends(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
			 struct cfg_svc_src *src);
/* decode_announce.c: services[].announce (n NULL: absent), after the VIP. cfg_ifname reads an
 * interface name the kernel could create into out (IFNAMSIZ); false when absent or refused. */
void cfg_decode_announce(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s);
bool cfg_ifname(struct cfg_ctx *c, const struct cnode *n, const char *key, char out[16]);
void cfg_decode_sorry(struct cfg_ctx *c, const struct cnode *n, struct lb_service_conf *s,
		      struct cfg_svc_src *src);
/* decode_quorum.c: quorum (n may be NULL: absent) after backends and sorry_servers are decoded;
 * sorry is the sorry_servers node or NULL. count_known is false when the backends list was not
 * a list, so that min_up is not compared with a count that means nothing. */
void cfg_decode_quorum(struct cfg_ctx *c, const struct cnode *n, const struct cnode *sorry,
		       struct lb_service_conf *s, bool count_known);
/* decode_observe.c: global.metrics, global.notify and global.notify_timeout (each NULL when
 * absent), decoded after the services (metrics.listen must not be a tcp service's VIP:port). */
void cfg_decode_observe(struct cfg_decoder *d, const struct cnode *metrics,
			const struct cnode *notify, const struct cnode *notify_timeout);
/* decode_kernel.c: global.timeouts and global.sync (each NULL when absent). */
void cfg_decode_kernel(struct cfg_ctx *c, const struct cnode *timeouts, const struct cnode *sync,
		       struct lb_config *cfg);
#define CFG_METRICS_DEFAULT_LISTEN "127.0.0.1:9521"
#define CFG_NOTIFY_TIMEOUT_DEFAULT_MS 10000
#define CFG_DRAIN_MAX_MS (24u * 3600 * 1000) /* a drain longer than a day is a forgotten backend */
#define CFG_DRAIN_DEFAULT_MS 60000

/* validate.c: uniqueness of backends and sorry servers within each service of one file, then
 * across the services of every file of an assembled config: names, listen+protocol,
 * fwmark+family, and global.metrics.listen against tcp VIPs. Reports each in the file of the later
 * entry (c->file and c->file_no are switched to it). */
void cfg_validate_backends(struct cfg_ctx *c, const struct lb_service_conf *s, size_t n,
			   const struct cfg_svc_src *src);
void cfg_validate_services(struct cfg_ctx *c, const struct lb_config *cfg);
void cfg_svc_src_free(struct cfg_svc_src *src, size_t n);

/* unit.c: one file's services as a shared unit. */
struct lb_config_file *cfg_unit_new(const char *path, const struct lb_file_sig *sig,
				    struct lb_config *from, const struct cfg_svc_src *src);
struct lb_config_file *cfg_unit_ref(struct lb_config_file *u);
void cfg_unit_unref(struct lb_config_file *u);
void cfg_services_free(struct lb_service_conf *s, size_t n);
/* Parses path as an included file into a new unit (*out), reporting into c. */
int cfg_unit_load(struct cfg_ctx *c, const char *path, struct lb_config_file **out);

/* include.c: the include list of the main file (n: its node, or NULL), and its files. */
void cfg_decode_include(struct cfg_ctx *c, const struct cnode *n, struct lb_config *cfg);
void cfg_includes_free(struct lb_include *v, size_t n);
int cfg_includes_copy(struct lb_config *to, const struct lb_config *from);
/* The files an include entry names now, sorted; a missing directory is reported at the entry. */
int cfg_include_resolve(struct cfg_ctx *c, const struct lb_include *inc, size_t idx, char ***paths,
			size_t *n);
#define CFG_MAX_FILES 100000

/* config.c */
struct lb_config *cfg_config_new(const char *path);
/* The main file (buf/len, or read from path when buf is NULL) into cfg's globals and its unit. */
int cfg_parse_main(struct cfg_ctx *c, const char *path, const char *buf, size_t len,
		   struct lb_config **out, struct lb_config_file **unit);
/* Decodes a file already read into d (services, and for the main file the rest). */
int cfg_parse_into(struct cfg_decoder *d, const char *buf, size_t len);

/* reload.c */
/* dirty: the included files that may have changed since prev (sorted by strcmp), or NULL when
 * not known (every file is stat'ed). */
struct cfg_dirty {
	const char *const *paths;
	size_t n;
};
int cfg_reload(struct cfg_ctx *c, const struct lb_config *prev, const struct cfg_dirty *dirty,
	       const char *path, const char *buf, size_t len, struct lb_config **out);
static inline struct cfg_pos cfg_pos_of(const struct cnode *n) {
	return (struct cfg_pos){n->line, n->col};
}
