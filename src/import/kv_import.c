/* import-keepalived's entry points: read (kv_lex.c), parse (kv_parse.c), model (kv_vs.c),
 * map (kv_map.c), write (kv_yaml.c); diagnostics last, in input order. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "import.h"
#include "kv.h"

/* keepalived's default config id: the host name up to its first dot. */
static void host_id(char *buf, size_t len) {
	struct utsname u;
	if (uname(&u) < 0)
		u.nodename[0] = '\0';
	snprintf(buf, len, "%.*s", (int)strcspn(u.nodename, "."), u.nodename);
}

/* The steps after reading. Returns 0 or a negative errno. */
static int convert(struct kv_ctx *c, FILE *out) {
	struct kv_node *root = kv_parse(c);
	if (c->n_errors || c->oom)
		return c->oom ? -ENOMEM : -EINVAL;
	struct kv_global g = {0};
	struct kv_vs *vs = kv_model(c, root, &g);
	if (c->n_errors || c->oom)
		return c->oom ? -ENOMEM : -EINVAL;
	kv_map_global(c, &g);
	struct ez_service *s = kv_map(c, vs);
	if (c->oom)
		return -ENOMEM;
	kv_yaml(c, &g, s, out);
	return 0;
}

static int run(struct kv_ctx *c, int lexed, FILE *out, FILE *err) {
	int r = lexed;
	if (r == 0 && (c->n_errors || c->oom))
		r = c->oom ? -ENOMEM : -EINVAL;
	if (r == 0)
		r = convert(c, out);
	kv_diag_print(c, err);
	kv_ctx_free(c);
	return r;
}

int kv_import_file(const char *path, FILE *out, FILE *err) {
	char id[65];
	host_id(id, sizeof(id));
	struct kv_ctx c = {.config_id = id};
	return run(&c, kv_lex_file(&c, path, (struct kv_loc){0, 0}), out, err);
}

int kv_import_buf(const char *name, const char *buf, size_t len, unsigned flags,
		  const char *config_id, FILE *out, FILE *err) {
	char id[65];
	if (!config_id)
		host_id(id, sizeof(id));
	struct kv_ctx c = {.config_id = config_id ? config_id : id, .flags = flags};
	/* the same bounds as a file: kv_lex_buf takes a NUL-free text of at most KV_FILE_MAX */
	if (len > KV_FILE_MAX) {
		fprintf(err, "%s: is too large\n", name);
		return -EFBIG;
	}
	return run(&c, kv_lex_buf(&c, name, buf, len), out, err);
}
