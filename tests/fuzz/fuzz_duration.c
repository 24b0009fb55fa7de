/* libFuzzer harness: the duration reader (src/config/duration.c) on arbitrary text. An accepted
 * duration, formatted by cfg_fmt_duration, must read back as the same number of milliseconds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *s = strndup((const char *)data, size); /* stops at an embedded NUL, as YAML text would */
	if (!s)
		return 0;
	uint32_t ms, again;
	if (cfg_parse_duration(s, &ms) == 0) {
		char buf[32];
		if (cfg_parse_duration(cfg_fmt_duration(ms, buf, sizeof(buf)), &again) != 0 || again != ms)
			abort();
	}
	free(s);
	return 0;
}
