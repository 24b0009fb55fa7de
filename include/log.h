/* Logging: the journal when running under systemd (with structured fields), timestamped lines on a
 * terminal. Levels are syslog priorities. */
#pragma once
#include <stdarg.h>
#include <syslog.h>

void log_setup(int max_level);           /* picks journal vs. stderr from the environment */
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s); /* "debug"|"info"|"warn"|"error" -> LOG_*, -EINVAL */

/* service/backend may be NULL; when given they become SERVICE= and BACKEND= journal fields. */
void log_full(int prio, const char *service, const char *backend, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_full(LOG_ERR, NULL, NULL, __VA_ARGS__)
#define log_warn(...) log_full(LOG_WARNING, NULL, NULL, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, NULL, NULL, __VA_ARGS__)
