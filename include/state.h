/* The ownership record: which kernel services ezlb created or adopted. Kept in the file `owned`
 * of the state directory, /run/ezlb by default (the kernel table and /run both vanish at
 * reboot), written atomically. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "statedir.h"
#include "table.h"

struct lb_owned {
	struct lb_svc_key *keys; /* sorted, unique */
	size_t n, cap;
};

#define LB_OWNED_FILE "owned" /* in the state directory */

/* Returns 0; -ENOENT when there is no record (empty set); -EBADMSG when it is corrupt (empty set,
 * so nothing unknown is ever deleted); other negative errno on I/O errors, among them -ELOOP
 * when the record is a symbolic link, which is never followed (the caller must not act on an
 * empty set then: the record exists and may own services). Logs what it found.
 * out must be zeroed or an earlier set; it is reset first. */
int lb_owned_load(const struct lb_statedir *sd, struct lb_owned *out);
/* Writes a new temporary file (never an existing name), fsyncs it, renames it over the record
 * and fsyncs the directory; the temporary file is removed on any failure.
 * Returns 0 or a negative errno (logged: "cannot save ownership record PATH: STEP: ERROR"). */
int lb_owned_save(const struct lb_statedir *sd, const struct lb_owned *o);
bool lb_owned_has(const struct lb_owned *o, const struct lb_svc_key *k);
int lb_owned_add(struct lb_owned *o, const struct lb_svc_key *k);    /* keeps sorted; -ENOMEM */
void lb_owned_remove(struct lb_owned *o, const struct lb_svc_key *k);
void lb_owned_free(struct lb_owned *o);
