/* libFuzzer harness: the endpoint reader (lb_addr_parse), the service-key reader
 * (lb_svc_key_parse), a line of the announced-address record (lb_vip_parse_line) and the
 * ownership-record loader (lb_owned_load, on a file in a state directory). Whatever the
 * readers accept must survive a format-and-parse roundtrip unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "announce.h"
#include "log.h"
#include "state.h"
#include "statedir.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One state directory for the whole run (made at the first input); each input is the
 * content of its "owned" file. */
static struct lb_statedir sd = {.fd = -1, .lock_fd = -1};
static char dir[] = "/dev/shm/ezlb-fuzz-XXXXXX"; /* memory: a file write per input */

static void remove_dir(void) {
	unlinkat(sd.fd, "owned", 0);
	lb_statedir_close(&sd);
	rmdir(dir);
}

static void owned_load(const uint8_t *data, size_t size) {
	if (sd.fd < 0) {
		if (!mkdtemp(dir)) {
			memcpy(dir, "/tmp/ezlb-fuzz-XXXXXX", sizeof("/tmp/ezlb-fuzz-XXXXXX"));
			if (!mkdtemp(dir))
				abort();
		}
		if (lb_statedir_open(dir, &sd) < 0)
			abort();
		atexit(remove_dir);
	}
	int fd = lb_statedir_openat(&sd, "owned", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	ssize_t n = write(fd, data, size);
	close(fd);
	if (n != (ssize_t)size)
		return;
	struct lb_owned o = {0};
	lb_owned_load(&sd, &o);
	for (size_t i = 0; i < o.n; i++) /* loaded keys are sorted and found again */
		if ((i && lb_svc_key_cmp(&o.keys[i - 1], &o.keys[i]) >= 0) ||
		    !lb_owned_has(&o, &o.keys[i]))
			abort();
	lb_owned_free(&o);
}

/* A record line that parses is written back as the same line, up to the address's spelling,
 * and reads back as the same entry. */
static void vip_line(const char *s) {
	struct lb_vip v, v2;
	const char *why;
	char *out = NULL;
	size_t len = 0;
	if (lb_vip_parse_line(s, &v, &why) != 0)
		return;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	lb_vip_put_line(f, &v);
	fclose(f);
	if (len == 0 || out[len - 1] != '\n')
		abort();
	out[len - 1] = 0;
	if (lb_vip_parse_line(out, &v2, &why) != 0 || lb_vip_cmp(&v, &v2) != 0)
		abort();
	free(out);
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
	vip_line(s);
	free(s);
	owned_load(data, size);
	return 0;
}
