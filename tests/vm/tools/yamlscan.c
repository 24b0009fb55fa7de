/* yamlscan: the floor of a libyaml-based loader, for `make bench` (not part of ezlb).
 *
 *   yamlscan FILE
 *
 * Reads FILE into memory and runs libyaml's event parser (yaml_parser_parse) over it to the end
 * of the stream, the way ezlb's loader feeds it (src/config/tree.c: the whole file as one string),
 * but builds no tree and checks nothing. Prints the number of events. Exit status 1 on a read
 * error or a YAML error (with libyaml's message), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* slurp PATH: the whole file in a malloc'd buffer; 0 or -errno */
static int slurp(const char *path, unsigned char **buf, size_t *len) {
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno ? -errno : -EIO;
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		unsigned char *nb = realloc(b, cap * 2);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	int r = !b ? -ENOMEM : ferror(f) ? -EIO : 0;
	fclose(f);
	if (r < 0) {
		free(b);
		return r;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* scan: events up to the end of the stream; -EINVAL on a YAML error (printed), -ENOMEM */
static long long scan(yaml_parser_t *p) {
	long long events = 0;
	for (;;) {
		yaml_event_t e;
		if (!yaml_parser_parse(p, &e)) {
			if (p->error == YAML_MEMORY_ERROR)
				return -ENOMEM;
			fprintf(stderr, "yamlscan: YAML error at line %zu, column %zu: %s\n",
				p->problem_mark.line + 1, p->problem_mark.column + 1,
				p->problem ? p->problem : "unknown problem");
			return -EINVAL;
		}
		events++;
		int end = e.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&e);
		if (end)
			return events;
	}
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: yamlscan FILE\n");
		return 2;
	}
	unsigned char *buf = NULL;
	size_t len = 0;
	int r = slurp(argv[1], &buf, &len);
	if (r < 0) {
		fprintf(stderr, "yamlscan: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		fprintf(stderr, "yamlscan: %s\n", strerror(ENOMEM));
		free(buf);
		return 1;
	}
	yaml_parser_set_input_string(&p, buf, len);
	long long events = scan(&p);
	yaml_parser_delete(&p);
	free(buf);
	if (events < 0) {
		if (events == -ENOMEM)
			fprintf(stderr, "yamlscan: %s\n", strerror(ENOMEM));
		return 1;
	}
	printf("%lld\n", events);
	return 0;
}
