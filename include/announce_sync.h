/* Applying VIP announcement (announce.h): the kernel's addresses read back over rtnetlink,
 * planned against the record, the record saved, the addresses added or removed. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "announce.h"
#include "rtnl.h"
#include "statedir.h"

/* The record of the addresses ezlb put on interfaces: the file `announced` in the state
 * directory, one "IFNAME ADDRESS" line each. Only these are ever removed. */
#define LB_ANNOUNCE_FILE "announced"

struct lb_announce_opts {
	const struct lb_statedir *state; /* holds the record; locked */
	bool dry_run;                    /* print the plan to plan_out, change nothing */
	FILE *plan_out;
	/* The addresses already warned about as foreign (wanted, present, not ezlb's): a warning
	 * is logged once per address, not at every pass. NULL: warn every time (one-shot runs). */
	struct lb_vipset *warned;
};

/* One pass. *rt is opened on first need (NULL while nothing is wanted or recorded: a config
 * without announce costs no netlink socket); the caller closes it. A missing interface that an
 * address must go on is created as a dummy interface, up. Each change and each failure is
 * logged once, e.g. "announce: + 10.0.0.1/32 on ezlb0". *changes counts the ops applied.
 * Returns 0, -EIO when an op failed, or another negative errno when the record or the
 * interfaces could not be read, or the record not saved (then nothing is changed). */
int lb_announce_sync(struct lb_rtnl **rt, const struct lb_vipset *want,
		     const struct lb_announce_opts *o, size_t *changes);
