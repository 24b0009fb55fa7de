/* Durations: one or more <integer><unit> parts, units ms, s, m, h ("500ms", "5s", "1m30s"). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const struct {
	const char *name;
	uint64_t ms;
} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};

/* Matches the unit at *s, longest first so that "ms" is not read as "m" then junk. */
static uint64_t parse_unit(const char **s) {
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t l = strlen(units[i].name);
		if (!strncmp(*s, units[i].name, l)) {
			*s += l;
			return units[i].ms;
		}
	}
	return 0;
}

int cfg_parse_duration(const char *s, uint32_t *out_ms) {
	uint64_t total = 0;
	bool range = false;
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		uint64_t v = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > UINT32_MAX) /* keeps the arithmetic below far from wrapping */
				range = true, v = UINT32_MAX;
		}
		uint64_t unit = parse_unit(&s);
		if (!unit)
			return -EINVAL;
		total += v * unit;
		if (total > UINT32_MAX)
			range = true, total = UINT32_MAX + 1ULL;
	}
	if (range)
		return -ERANGE;
	*out_ms = (uint32_t)total;
	return 0;
}

const char *cfg_fmt_duration(uint32_t ms, char *buf, size_t len) {
	if (ms % 1000)
		snprintf(buf, len, "%ums", ms);
	else if (ms % 60000)
		snprintf(buf, len, "%us", ms / 1000);
	else if (ms % 3600000)
		snprintf(buf, len, "%um", ms / 60000);
	else
		snprintf(buf, len, "%uh", ms / 3600000);
	return buf;
}
