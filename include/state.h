/* The ownership record: which kernel services ezlb created or adopted. Kept in a file under
 * /run/ezlb/ (the kernel table and /run both vanish at reboot), written atomically. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "table.h"

#define LB_STATE_DIR_DEFAULT "/run/ezlb"

struct lb_owned {
	struct lb_svc_key *keys; /* sorted, unique */
	size_t n, cap;
};

/* Returns 0; -ENOENT when there is no record (empty set); -EBADMSG when it is corrupt (empty set,
 * so nothing unknown is ever deleted); other negative errno on I/O errors. Logs what it found.
 * out must be zeroed or an earlier set; it is reset first. */
int lb_owned_load(const char *path, struct lb_owned *out);
/* Write to path.tmp, fsync, rename over path, fsync the directory (made, mode 0755, if missing).
 * Returns 0 or a negative errno (logged). */
int lb_owned_save(const char *path, const struct lb_owned *o);
bool lb_owned_has(const struct lb_owned *o, const struct lb_svc_key *k);
int lb_owned_add(struct lb_owned *o, const struct lb_svc_key *k);    /* keeps sorted; -ENOMEM */
void lb_owned_remove(struct lb_owned *o, const struct lb_svc_key *k);
void lb_owned_free(struct lb_owned *o);
