/* ezlb services -> YAML that `ezlb check` accepts: every text that came from the keepalived file
 * is written double-quoted with escapes (so no value can end a line, start a comment or become
 * a number), IPv6 endpoints quoted, durations with their unit. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "kv.h"
#include "proto.h"

static void str(FILE *o, const char *s) {
	fputc('"', o);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(o, "\\x%02x", *p);
		else
			fputc(*p, o);
	}
	fputc('"', o);
}

/* Text in a comment: a file name, which may be any bytes; YAML wants UTF-8 even there. */
static void comment_str(FILE *o, const char *s) {
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p >= 0x20 && *p < 0x7f ? *p : '?', o);
}

static void endpoint(FILE *o, const struct lb_addr *a) {
	char buf[LB_ADDRSTRLEN];
	lb_addr_fmt(a, buf);
	if (a->af == AF_INET6)
		fprintf(o, "\"%s\"", buf);
	else
		fputs(buf, o);
}

static void duration(FILE *o, const char *key, uint32_t ms) {
	if (ms % 1000)
		fprintf(o, "      %s: %ums\n", key, ms);
	else
		fprintf(o, "      %s: %us\n", key, ms / 1000);
}

static void hex(FILE *o, const char *key, const uint8_t *b, size_t n, bool comma) {
	fprintf(o, "%s%s: \"", comma ? ", " : "", key);
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%02x", b[i]);
	fputc('"', o);
}

static void kind_block(FILE *o, const struct ez_check *e) {
	if (e->kind == KV_CK_HTTP || e->kind == KV_CK_SSL) {
		fputs("      http: {path: ", o);
		str(o, e->path);
		if (e->host)
			fputs(", host: ", o), str(o, e->host);
		if (e->status[0])
			fputs(", status: ", o), str(o, e->status);
		if (e->expect)
			fputs(", expect: ", o), str(o, e->expect);
		fputs("}\n", o);
	} else if (e->kind == KV_CK_MISC) {
		fputs("      exec: {command: [", o);
		for (size_t i = 0; i < e->argc; i++) {
			if (i)
				fputs(", ", o);
			str(o, e->argv[i]);
		}
		fputs("]}\n", o);
	} else if (e->kind == KV_CK_DNS && (e->dns_name || e->dns_type)) {
		fputs("      dns: {", o);
		if (e->dns_name)
			fputs("name: ", o), str(o, e->dns_name);
		if (e->dns_type)
			fprintf(o, "%sqtype: %s", e->dns_name ? ", " : "", e->dns_type);
		fputs("}\n", o);
	} else if (e->kind == KV_CK_UDP && (e->send_len || e->reply_len)) {
		fputs("      udp: {", o);
		if (e->send_len)
			hex(o, "send_hex", e->send, e->send_len, false);
		if (e->reply_len)
			hex(o, "expect_hex", e->reply, e->reply_len, e->send_len > 0);
		fputs("}\n", o);
	}
}

static void check(FILE *o, const struct ez_check *e) {
	static const char *const types[] = {[KV_CK_TCP] = "tcp", [KV_CK_HTTP] = "http",
					    [KV_CK_SSL] = "https", [KV_CK_MISC] = "exec",
					    [KV_CK_DNS] = "dns", [KV_CK_UDP] = "udp"};
	if (!e->enabled) {
		fputs("    health_check: {enabled: false}\n", o);
		return;
	}
	fprintf(o, "    health_check:\n      type: %s\n", types[e->kind]);
	if (e->port)
		fprintf(o, "      port: %u\n", e->port);
	duration(o, "interval", e->interval_ms);
	duration(o, "timeout", e->timeout_ms);
	if (e->fast_ms)
		duration(o, "fast_interval", e->fast_ms);
	fprintf(o, "      fail_count: %u\n      rise_count: 1\n", e->fail_count);
	fprintf(o, "      initial: %s\n      on_failure: %s\n", e->initial_down ? "down" : "up",
		e->quiesce ? "quiesce" : "remove");
	kind_block(o, e);
}

static void servers(FILE *o, const char *key, const struct ez_backend *b, size_t n) {
	fprintf(o, n ? "    %s:\n" : "    %s: []\n", key);
	for (size_t i = 0; i < n; i++) {
		fputs("      - {address: ", o);
		endpoint(o, &b[i].addr);
		fprintf(o, ", weight: %u", b[i].weight);
		if (b[i].max_conns)
			fprintf(o, ", max_conns: %ju", (uintmax_t)b[i].max_conns);
		if (b[i].min_conns)
			fprintf(o, ", min_conns: %ju", (uintmax_t)b[i].min_conns);
		fputs("}\n", o);
	}
}

static void ipvs_keys(FILE *o, const struct ez_service *s) {
	/* kv's enums follow the kernel's order, which indexes the shared names (proto.h) */
	static const char *const fwds[] = {"nat", "dr", "tun"};
	if (s->n_sched_flags)
		fprintf(o, "    scheduler_flags: [%s%s%s]\n", s->sched_flags[0], s->n_sched_flags > 1 ? ", " : "",
			s->n_sched_flags > 1 ? s->sched_flags[1] : "");
	if (s->one_packet)
		fputs("    one_packet: true\n", o);
	fprintf(o, "    forward: %s\n", fwds[s->fwd]);
	if (s->fwd == KV_FWD_TUN && (s->tun_type != KV_TUN_IPIP || s->csum != KV_CSUM_NONE)) {
		fprintf(o, "    tunnel: {type: %s", lb_tun_type_names[s->tun_type]);
		if (s->tun_port)
			fprintf(o, ", port: %u", s->tun_port);
		fprintf(o, ", checksum: %s}\n", lb_tun_csum_names[s->csum]);
	}
	if (s->persist_s) {
		fprintf(o, "    persistence: {timeout: %us", s->persist_s);
		if (s->netmask[0])
			fprintf(o, s->listen.af == AF_INET6 ? ", netmask: \"/%s\"" : ", netmask: %s", s->netmask);
		fputs("}\n", o);
	}
}

static void service(const struct kv_ctx *c, const struct ez_service *s, FILE *o) {
	fputs("  # from ", o);
	comment_str(o, c->files[s->at.file]);
	fprintf(o, ":%u\n  - name: %s\n", s->at.line, s->name);
	if (s->is_fwmark) {
		fprintf(o, "    fwmark: %u\n", s->fwmark);
		if (s->listen.af == AF_INET6)
			fputs("    family: ipv6\n", o);
	} else {
		fputs("    listen: ", o);
		endpoint(o, &s->listen);
		fputc('\n', o);
	}
	fprintf(o, "    protocol: %s\n    scheduler: %s\n", lb_proto_name(s->proto), s->sched);
	ipvs_keys(o, s);
	check(o, &s->check);
	servers(o, "backends", s->backends, s->n_backends);
	if (s->n_sorry) {
		if (s->min_up)
			fprintf(o, "    quorum: {min_up: %u}\n", s->min_up);
		servers(o, "sorry_servers", s->sorry, s->n_sorry);
	}
}

static void global(const struct kv_global *g, FILE *o) {
	if (!g->tcp_s && !g->tcpfin_s && !g->udp_s && !g->sync)
		return;
	fputs("global:\n", o);
	if (g->tcp_s || g->tcpfin_s || g->udp_s) {
		const char *sep = "";
		fputs("  timeouts: {", o);
		if (g->tcp_s)
			fprintf(o, "tcp: %us", g->tcp_s), sep = ", ";
		if (g->tcpfin_s)
			fprintf(o, "%stcp_fin: %us", sep, g->tcpfin_s), sep = ", ";
		if (g->udp_s)
			fprintf(o, "%sudp: %us", sep, g->udp_s);
		fputs("}\n", o);
	}
	if (!g->sync)
		return;
	fputs("  sync: {interface: ", o);
	str(o, g->sync_ifname);
	fprintf(o, ", id: %ju", (uintmax_t)g->sync_id);
	if (g->sync_group.af) {
		char ip[LB_ADDRSTRLEN];
		fprintf(o, ", group: \"%s\"", lb_ip_fmt(g->sync_group.af, &g->sync_group.ip, ip));
	}
	if (g->sync_port)
		fprintf(o, ", port: %ju", (uintmax_t)g->sync_port);
	if (g->sync_ttl)
		fprintf(o, ", ttl: %ju", (uintmax_t)g->sync_ttl);
	if (g->sync_maxlen)
		fprintf(o, ", max_len: %ju", (uintmax_t)g->sync_maxlen);
	fputs("}\n", o);
}

void kv_yaml(const struct kv_ctx *c, const struct kv_global *g, const struct ez_service *s, FILE *o) {
	fputs("# Imported by ezlb import-keepalived from ", o);
	comment_str(o, c->n_files ? c->files[0] : "?");
	fputs(".\n# Read the warnings it printed: what they name is not in this file.\n", o);
	global(g, o);
	if (!s) {
		fputs("services: []\n", o);
		return;
	}
	fputs("services:\n", o);
	for (; s; s = s->next)
		service(c, s, o);
}
