/* Event hooks (global.notify): one run of the configured command per event, without a shell, driven
 * from the loop and never blocking it.
 *
 * Each run gets EZLB_EVENT, and EZLB_SERVICE, EZLB_BACKEND, EZLB_REASON when the event has them,
 * plus PATH=/usr/sbin:/usr/bin:/sbin:/bin and nothing else; stdin and stdout are /dev/null, stderr
 * a pipe read on the loop (its first 4 KiB kept, the rest read and discarded). A run that exits
 * non-zero, dies of a signal or outlives the timeout (its whole process group is SIGKILLed) is
 * logged once, with the event, why, and what stderr said (on one line, cut at 1.5 KiB).
 *
 * At most LB_NOTIFY_MAX_RUNNING runs at once and LB_NOTIFY_MAX_QUEUED events wait; an event that
 * finds the queue full is dropped and counted, with one log line per overflow episode. The events
 * of one backend (same service and backend) run in the order they came, one at a time; the events
 * without a backend form one more such sequence. Sequences do not wait for each other. */
#pragma once
#include <stdint.h>

#include "loop.h"

#define LB_NOTIFY_MAX_RUNNING 8
#define LB_NOTIFY_MAX_QUEUED 256

struct lb_notify;

/* 0, or -ENOMEM. Hooks are off until lb_notify_configure gives a command. */
int lb_notify_new(struct lb_loop *l, struct lb_notify **out);
/* argv NULL: hooks off (events are dropped silently, the waiting ones too; running hooks finish).
 * Else argv[0] an absolute path, NULL-terminated, and timeout_ms > 0. The lists are copied; the
 * waiting events run with the new command, running hooks keep their own deadline.
 * 0, -EINVAL, or -ENOMEM (the previous settings stay). */
int lb_notify_configure(struct lb_notify *n, char *const *argv, uint32_t timeout_ms);
/* event: "backend_up", "backend_down", "quorum_lost", "quorum_regained", "config_loaded",
 * "config_error", "reconcile_failed"; service/backend/reason may be NULL. Never blocks; copies its
 * arguments (each cut at 1 KiB). The hook starts in a later loop turn. */
void lb_notify_event(struct lb_notify *n, const char *event, const char *service, const char *backend,
		     const char *reason);
/* Events dropped because the queue was full (or memory short), since lb_notify_new. */
uint64_t lb_notify_dropped(const struct lb_notify *n);
/* Kills running hooks' process groups and reaps them (waiting a bounded time: SIGKILL is prompt),
 * drops the waiting events. NULL is fine. */
void lb_notify_free(struct lb_notify *n);
