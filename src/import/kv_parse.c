/* Pieces -> statements. A "{" opens the block of the statement just before it (on the same line
 * or the next); "}" closes the innermost block. keepalived decides with its keyword table which
 * keywords take a block; without that table, a brace that fits no statement is an error here:
 * keepalived would report it too and then read the rest at a level nobody meant. */
#include <errno.h>

#include "kv.h"

struct level {
	struct kv_node *owner; /* the statement whose block this is; NULL at the top */
	struct kv_node **tail; /* where the next statement of the level goes */
	struct kv_node *last;  /* the level's last statement */
};

static struct kv_node *node(struct kv_ctx *c, const struct kv_piece *p) {
	struct kv_node *n = kv_alloc(&c->arena, sizeof(*n));
	if (!n) {
		c->oom = true;
		return NULL;
	}
	n->at = p->at;
	n->raw = p->raw;
	n->w = p->w;
	n->n = p->n;
	return n;
}

static bool open_block(struct kv_ctx *c, struct level *lv, size_t *depth, const struct kv_piece *p) {
	struct kv_node *prev = lv[*depth].last;
	if (!prev || prev->block) {
		kv_error(c, p->at, "'{' without a keyword before it");
		return false;
	}
	if (*depth + 1 >= KV_NEST_MAX) {
		kv_error(c, p->at, "blocks nested deeper than %d", KV_NEST_MAX);
		return false;
	}
	prev->block = true;
	lv[++*depth] = (struct level){.owner = prev, .tail = &prev->child};
	return true;
}

struct kv_node *kv_parse(struct kv_ctx *c) {
	struct level lv[KV_NEST_MAX];
	struct kv_node *root = NULL;
	size_t depth = 0;
	lv[0] = (struct level){.tail = &root};
	for (size_t i = 0; i < c->n_pieces; i++) {
		const struct kv_piece *p = &c->pieces[i];
		if (p->kind == KV_OPEN) {
			if (!open_block(c, lv, &depth, p))
				return NULL;
		} else if (p->kind == KV_CLOSE) {
			if (depth == 0) {
				kv_error(c, p->at, "'}' without a block to close");
				return NULL;
			}
			depth--;
		} else {
			struct kv_node *n = node(c, p);
			if (!n)
				return NULL;
			*lv[depth].tail = n;
			lv[depth].tail = &n->next;
			lv[depth].last = n;
		}
	}
	if (depth) {
		const struct kv_node *o = lv[depth].owner;
		kv_error(c, o->at, "the block of \"%s\" is not closed: '}' missing", o->w[0]);
		return NULL;
	}
	return root;
}
