/* libyaml events -> a node tree that remembers where each node was written.
 *
 * Aliases are kept as CN_ALIAS leaves and never expanded: the decoder rejects them with their key
 * path, and a "billion laughs" document costs no more than its own size. Nodes and strings live in
 * a few large chunks, allocated like a stack: each item of the top-level services list is handed
 * to the decoder when complete and its memory is taken back at once. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "internal.h"
#include "util.h"

#define CHUNK_SIZE (64u << 10)

struct cfg_chunk {
	struct cfg_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* A position in the arena to rewind to. */
struct mark {
	struct cfg_chunk *chunk;
	size_t used;
};

static void *arena_alloc(struct cfg_tree *t, size_t sz, size_t align) {
	struct cfg_chunk *ch = t->chunks;
	size_t at = ch ? (ch->used + align - 1) & ~(align - 1) : 0;
	if (!ch || at + sz > ch->size) {
		size_t size = sz > CHUNK_SIZE ? sz : CHUNK_SIZE;
		if (t->spare && t->spare->size >= size) {
			ch = TAKE_PTR(t->spare);
		} else if (!(ch = malloc(sizeof(*ch) + size))) {
			return NULL;
		} else {
			ch->size = size;
		}
		ch->used = 0;
		ch->next = t->chunks;
		t->chunks = ch;
		at = 0;
	}
	ch->used = at + sz;
	return (char *)ch->data + at;
}

static struct mark arena_mark(const struct cfg_tree *t) {
	return (struct mark){t->chunks, t->chunks ? t->chunks->used : 0};
}

static void arena_rewind(struct cfg_tree *t, struct mark m) {
	while (t->chunks != m.chunk) {
		struct cfg_chunk *ch = t->chunks;
		t->chunks = ch->next;
		if (!t->spare || t->spare->size < ch->size) {
			free(t->spare);
			t->spare = ch;
		} else {
			free(ch);
		}
	}
	if (t->chunks)
		t->chunks->used = m.used;
}

void cfg_tree_free(struct cfg_tree *t) {
	arena_rewind(t, (struct mark){NULL, 0});
	free(t->spare);
	t->spare = NULL;
	t->root = NULL;
}

bool cfg_is_null(const struct cnode *n) {
	if (n->type != CN_SCALAR || n->quoted || n->n > 4)
		return false;
	return !strcmp(n->str, "") || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

struct builder {
	struct cfg_ctx *c;
	struct cfg_tree *t;
	const char *buf;
	size_t len;
	int docs, depth;
	struct cnode *open[CFG_MAX_DEPTH], *last[CFG_MAX_DEPTH];
	/* streaming of the top-level services list */
	cfg_item_fn on_item;
	void *ud;
	unsigned services_keys; /* "services" keys seen in the root mapping */
	struct cnode *stream;   /* the list being streamed, open[1] while inside it */
	struct mark item_mark;  /* where the current item's memory starts */
};

static bool in_stream(const struct builder *b) {
	return b->stream && b->depth == 2 && b->open[1] == b->stream;
}

/* The item just completed goes to the decoder, then leaves the tree and the arena. */
static void item_done(struct builder *b) {
	struct cnode *item = b->last[1];
	b->on_item(b->ud, item, b->stream->n - 1);
	b->stream->child = NULL;
	b->last[1] = NULL;
	arena_rewind(b->t, b->item_mark);
}

static struct cnode *new_node(struct builder *b, uint8_t type, const yaml_mark_t *m) {
	if (in_stream(b))
		b->item_mark = arena_mark(b->t);
	struct cnode *n = arena_alloc(b->t, sizeof(*n), _Alignof(struct cnode));
	if (!n)
		return NULL;
	*n = (struct cnode){.type = type, .line = (uint32_t)m->line + 1, .col = (uint32_t)m->column + 1};
	if (b->depth == 0) {
		b->t->root = n;
	} else {
		struct cnode *parent = b->open[b->depth - 1];
		if (b->last[b->depth - 1])
			b->last[b->depth - 1]->next = n;
		else
			parent->child = n;
		b->last[b->depth - 1] = n;
		parent->n++;
	}
	return n;
}

static const char *copy_str(struct builder *b, const unsigned char *s, size_t len) {
	char *p = arena_alloc(b->t, len + 1, 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = 0;
	}
	return p;
}

static int on_scalar(struct builder *b, const yaml_event_t *e) {
	if (memchr(e->data.scalar.value, 0, e->data.scalar.length)) {
		cfg_pos_error(b->c, (uint32_t)e->start_mark.line + 1, (uint32_t)e->start_mark.column + 1,
			      "a string contains a NUL character");
		return -EINVAL;
	}
	struct cnode *n = new_node(b, CN_SCALAR, &e->start_mark);
	if (!n || !(n->str = copy_str(b, e->data.scalar.value, e->data.scalar.length)))
		return -ENOMEM;
	n->n = (uint32_t)e->data.scalar.length;
	n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	/* a key of the root mapping: children alternate key, value, so keys are the odd counts */
	if (b->depth == 1 && b->open[0]->type == CN_MAP && b->open[0]->n % 2 == 1 &&
	    !strcmp(n->str, "services"))
		b->services_keys++;
	if (in_stream(b))
		item_done(b);
	return 0;
}

static int on_alias(struct builder *b, const yaml_event_t *e) {
	struct cnode *n = new_node(b, CN_ALIAS, &e->start_mark);
	const char *a = (const char *)e->data.alias.anchor;
	if (!n || !(n->str = copy_str(b, e->data.alias.anchor, strlen(a))))
		return -ENOMEM;
	if (in_stream(b))
		item_done(b);
	return 0;
}

/* Only the first "services" of the root mapping is streamed; a duplicate is reported later. */
static bool starts_stream(const struct builder *b) {
	const struct cnode *root = b->open[0], *key = b->last[0];
	return b->on_item && b->depth == 1 && root->type == CN_MAP && root->n % 2 == 1 &&
	       key->type == CN_SCALAR && !strcmp(key->str, "services") && b->services_keys == 1;
}

static int on_open(struct builder *b, const yaml_event_t *e, uint8_t type) {
	if (b->depth == CFG_MAX_DEPTH) {
		cfg_pos_error(b->c, (uint32_t)e->start_mark.line + 1, (uint32_t)e->start_mark.column + 1,
			      "nesting deeper than %d levels", CFG_MAX_DEPTH);
		return -EINVAL;
	}
	bool stream = type == CN_SEQ && starts_stream(b);
	struct cnode *n = new_node(b, type, &e->start_mark);
	if (!n)
		return -ENOMEM;
	if (stream) {
		n->streamed = true;
		b->stream = n;
	}
	b->open[b->depth] = n;
	b->last[b->depth] = NULL;
	b->depth++;
	return 0;
}

static int on_event(struct builder *b, const yaml_event_t *e) {
	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			cfg_pos_error(b->c, (uint32_t)e->start_mark.line + 1, (uint32_t)e->start_mark.column + 1,
				      "a second YAML document; the configuration must be a single document");
			return -EINVAL;
		}
		return 0;
	case YAML_SCALAR_EVENT: return on_scalar(b, e);
	case YAML_ALIAS_EVENT: return on_alias(b, e);
	case YAML_SEQUENCE_START_EVENT: return on_open(b, e, CN_SEQ);
	case YAML_MAPPING_START_EVENT: return on_open(b, e, CN_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		if (in_stream(b))
			item_done(b);
		return 0;
	default: return 0;
	}
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset, not a line. */
static void offset_to_pos(const char *buf, size_t len, size_t off, uint32_t *line, uint32_t *col) {
	*line = *col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int report_yaml_error(struct builder *b, const yaml_parser_t *p) {
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		uint32_t line, col;
		offset_to_pos(b->buf, b->len, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			cfg_pos_error(b->c, line, col, "not valid YAML text: %s (byte 0x%02x)", p->problem,
				      (unsigned)p->problem_value & 0xff);
		else
			cfg_pos_error(b->c, line, col, "not valid YAML text: %s", p->problem);
		return -EINVAL;
	}
	char ctx[128] = "";
	if (p->context)
		snprintf(ctx, sizeof(ctx), " (%s at line %zu, column %zu)", p->context,
			 p->context_mark.line + 1, p->context_mark.column + 1);
	/* "listen: [2001:db8::1]:80" reads as a flow sequence followed by junk */
	size_t i = p->problem_mark.index;
	const char *hint = i > 0 && i < b->len && b->buf[i] == ':' && b->buf[i - 1] == ']'
				   ? "; quote IPv6 endpoints: \"[2001:db8::1]:80\""
				   : "";
	cfg_pos_error(b->c, (uint32_t)p->problem_mark.line + 1, (uint32_t)p->problem_mark.column + 1,
		      "YAML syntax error: %s%s%s", p->problem ? p->problem : "unknown problem", ctx, hint);
	return -EINVAL;
}

static int run_parser(struct builder *b, yaml_parser_t *p) {
	for (;;) {
		yaml_event_t e;
		if (!yaml_parser_parse(p, &e))
			return report_yaml_error(b, p);
		int r = on_event(b, &e);
		bool end = e.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&e);
		if (r < 0 || end)
			return r;
	}
}

int cfg_tree_parse(struct cfg_ctx *c, const char *buf, size_t len, struct cfg_tree *t,
		   cfg_item_fn on_service, void *ud) {
	struct builder b = {.c = c, .t = t, .buf = buf, .len = len, .on_item = on_service, .ud = ud};
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	int r = run_parser(&b, &p);
	yaml_parser_delete(&p);
	if (r < 0)
		cfg_tree_free(t);
	if (r == -ENOMEM)
		cfg_file_error(c, "out of memory while parsing");
	return r;
}
