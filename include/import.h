/* ezlb import-keepalived: a keepalived configuration (with its include files) read the way
 * keepalived 2.2 reads it, written out as the equivalent ezlb YAML. What has no ezlb equivalent
 * becomes a warning with its file:line, never a silent drop. */
#pragma once
#include <stddef.h>
#include <stdio.h>

/* Flags of kv_import_buf. */
enum {
	KV_NO_INCLUDE = 1, /* include lines are warned about and not followed (the fuzzer: no file
			    * system access driven by the input) */
};

/* Reads the keepalived configuration at path, writes the ezlb YAML to out and the diagnostics
 * (one "FILE:LINE: warning: ..." or "FILE:LINE: ..." line each) to err. Returns 0 when YAML was
 * written (with or without warnings), -EINVAL when the input is not keepalived syntax, another
 * negative errno when the file cannot be read; nothing is written to out then. */
int kv_import_file(const char *path, FILE *out, FILE *err);

/* The same on len bytes in memory, named name in messages; includes are relative to name's
 * directory. config_id stands for keepalived's config id (the short host name by default) in
 * "@id" lines; NULL: this host's. */
int kv_import_buf(const char *name, const char *buf, size_t len, unsigned flags,
		  const char *config_id, FILE *out, FILE *err);
