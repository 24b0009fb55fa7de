/* libFuzzer harness: the endpoint reader (lb_addr_parse), the service-key reader
 * (lb_svc_key_parse) and the ownership-record loader (lb_owned_load, via a memfd). Whatever the
 * readers accept must survive a format-and-parse roundtrip unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void owned_load(const uint8_t *data, size_t size) {
	int fd = memfd_create("owned", 0);
	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct lb_owned o = {0};
		lb_owned_load(path, &o);
		for (size_t i = 0; i < o.n; i++) /* loaded keys are sorted and found again */
			if ((i && lb_svc_key_cmp(&o.keys[i - 1], &o.keys[i]) >= 0) ||
			    !lb_owned_has(&o, &o.keys[i]))
				abort();
		lb_owned_free(&o);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	log_set_max_level(LOG_EMERG); /* the corrupt-record warnings would flood the output */
	char *s = strndup((const char *)data, size);
	if (!s)
		return 0;
	struct lb_addr a, a2;
	char abuf[LB_ADDRSTRLEN];
	if (lb_addr_parse(s, &a) == 0 &&
	    (lb_addr_parse(lb_addr_fmt(&a, abuf), &a2) != 0 || lb_addr_cmp(&a, &a2) != 0))
		abort();
	struct lb_svc_key k, k2;
	char kbuf[LB_SVC_KEYSTRLEN];
	if (lb_svc_key_parse(s, &k) == 0 &&
	    (lb_svc_key_parse(lb_svc_key_fmt(&k, kbuf, sizeof(kbuf)), &k2) != 0 ||
	     lb_svc_key_cmp(&k, &k2) != 0))
		abort();
	free(s);
	owned_load(data, size);
	return 0;
}
