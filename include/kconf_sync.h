/* Applying the kernel-wide IPVS settings: read back, planned (kconf.h), recorded, applied. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "ipvs.h"
#include "kconf.h"
#include "statedir.h"

/* The record of the sync daemons ezlb started or adopted: the file `syncd` in the state
 * directory, one role per line ("master", "backup"). Without sync in the config, these and only
 * these are stopped. */
#define LB_SYNCD_FILE "syncd"

struct lb_kconf_opts {
	const struct lb_statedir *state; /* holds the record; locked */
	bool dry_run;                    /* print the plan to plan_out, change nothing */
	FILE *plan_out;
};

/* One pass: reads what the want concerns (the timeouts it sets; the daemons when the config has
 * sync or the record names one), plans, saves the record so that it covers every daemon the
 * pass may start (and, after, drops those it stopped), applies. Each change and each failure is
 * logged once. *changes counts the ops applied. Returns 0, -EIO when an op failed, or another
 * negative errno when the settings could not be read or the record not read or saved (then
 * nothing is changed). */
int lb_kconf_sync(struct lb_ipvs *v, const struct lb_kconf *want, const struct lb_kconf_opts *o,
		  size_t *changes);
