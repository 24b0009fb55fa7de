/* Logging to the journal (structured) when stderr is connected to it, else timestamped lines. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

static int max_level = LOG_INFO;
static bool to_journal;

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected stderr to; if stderr still
 * is that stream we log natively to the journal (priorities and fields survive). */
static bool stderr_is_journal(void) {
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(int level) {
	max_level = level;
	to_journal = stderr_is_journal();
}

void log_set_max_level(int level) { max_level = level; }
int log_get_max_level(void) { return max_level; }

int log_level_from_string(const char *s) {
	static const struct { const char *name; int level; } map[] = {
		{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"notice", LOG_NOTICE},
		{"warn", LOG_WARNING}, {"warning", LOG_WARNING}, {"error", LOG_ERR},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].name) == 0)
			return map[i].level;
	return -EINVAL;
}

static const char *level_tag(int prio) {
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warn";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void log_full(int prio, const char *service, const char *backend, const char *fmt, ...) {
	if (prio > max_level)
		return;
	int saved = errno;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (to_journal) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=ezlb",
				service ? "EZLB_SERVICE=%s" : NULL, service, backend ? "EZLB_BACKEND=%s" : NULL,
				backend, NULL);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld ezlb[%s]: %s\n", stamp, ts.tv_nsec / 1000000, level_tag(prio), msg);
	}
	errno = saved;
}
