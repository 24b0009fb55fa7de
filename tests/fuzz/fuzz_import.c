/* libFuzzer harness: ezlb import-keepalived on arbitrary bytes (includes not followed: the input
 * must not steer file system reads). It must not crash, leak or hang; when it succeeds, the YAML
 * it wrote must load in ezlb's own loader without a single diagnostic, and when it fails it must
 * have written nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/config/internal.h"
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_yaml(const char *yaml, size_t len) {
	struct lb_config *cfg = NULL;
	struct lb_diag diag = {0};
	int r = cfg_load_buf("imported.yaml", yaml, len, &cfg, &diag);
	if (r != 0 || diag.n) {
		fprintf(stderr, "the import wrote YAML ezlb refuses (%s):\n%s\n", diag.n ? diag.msgs[0] : "?", yaml);
		abort();
	}
	lb_config_free(cfg);
	lb_diag_free(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *o = open_memstream(&out, &out_len), *e = open_memstream(&err, &err_len);
	if (!o || !e)
		abort();
	int r = kv_import_buf("fuzz.conf", (const char *)data, size, KV_NO_INCLUDE, "fuzzhost", o, e);
	fclose(o);
	fclose(e);
	if (r == 0)
		check_yaml(out, out_len);
	else if (out_len)
		abort();
	free(out);
	free(err);
	return 0;
}
