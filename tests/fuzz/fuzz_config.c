/* libFuzzer harness: the whole config loader (read-from-memory entry point, then the same YAML
 * tree, decoders and validation as lb_config_load) on arbitrary bytes. It must not crash, leak
 * or misbehave; an accepted config must come with no diagnostics. */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/config/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	struct lb_config *cfg = NULL;
	struct lb_diag diag = {0};
	int r = cfg_load_buf("fuzz.yaml", (const char *)data, size, &cfg, &diag);
	if ((r == 0) != (cfg != NULL) || (r == 0 && diag.n))
		abort();
	lb_config_free(cfg);
	lb_diag_free(&diag);
	return 0;
}
