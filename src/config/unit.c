/* A file's unit: the services parsed from one version of one file, shared by refcount between the
 * configs that hold that version, so a reload re-parses only the files that changed. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* Takes from's services (leaving it none) and the positions the checks across files need. */
struct lb_config_file *cfg_unit_new(const char *path, const struct lb_file_sig *sig,
				    struct lb_config *from, const struct cfg_svc_src *src) {
	size_t n = from->n_services;
	struct lb_config_file *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->path = strdup(path);
	u->pos = calloc(n ? n : 1, sizeof(*u->pos));
	if (!u->path || !u->pos) {
		free(u->path);
		free(u->pos);
		free(u);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		u->pos[i] = (struct cfg_svc_pos){src[i].name, src[i].listen, src[i].fwmark,
						 src[i].drain_set};
	u->services = TAKE_PTR(from->services);
	u->n_services = n;
	from->n_services = 0;
	u->sig = *sig;
	u->refs = 1;
	return u;
}

struct lb_config_file *cfg_unit_ref(struct lb_config_file *u) {
	u->refs++;
	return u;
}

void cfg_unit_unref(struct lb_config_file *u) {
	if (!u || --u->refs > 0)
		return;
	cfg_services_free(u->services, u->n_services);
	free(u->pos);
	free(u->path);
	free(u);
}
