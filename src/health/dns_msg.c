/* DNS wire format (RFC 1035 4.1), just what a health check needs: one query out, one header in. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dns_msg.h"
#include "util.h"

#define DNS_FLAG_QR 0x80 /* header byte 2 */
#define DNS_FLAG_RD 0x01 /* header byte 2 */
#define DNS_RCODE_MASK 0x0f /* header byte 3 */
#define DNS_CLASS_IN 1

static void put16(uint8_t *p, uint16_t v) {
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Encode name as labels into out (LB_DNS_NAME_MAX bytes); returns the length or -EINVAL. */
static int name_encode(const char *name, uint8_t *out) {
	if (strcmp(name, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	size_t n = 0;
	const char *s = name;
	for (;;) {
		size_t label = strcspn(s, ".");
		/* An empty label is only the root's, which "." and a trailing dot stand for. */
		if (label == 0 || label > LB_DNS_LABEL_MAX)
			return -EINVAL;
		/* This label, its length byte and the root's 0 must fit. */
		if (n + 1 + label + 1 > LB_DNS_NAME_MAX)
			return -EINVAL;
		out[n++] = (uint8_t)label;
		memcpy(out + n, s, label);
		n += label;
		s += label;
		if (*s == '.')
			s++;
		if (*s == '\0')
			break;
	}
	out[n++] = 0;
	return (int)n;
}

int lb_dns_name_check(const char *name) {
	uint8_t wire[LB_DNS_NAME_MAX];
	int r = name_encode(name, wire);
	return r < 0 ? r : 0;
}

int lb_dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype) {
	uint8_t wire[LB_DNS_NAME_MAX];
	int n = name_encode(name, wire);
	if (n < 0)
		return n;
	size_t len = LB_DNS_HEADER_LEN + (size_t)n + 4;
	if (cap < len)
		return -ENOSPC;
	memset(buf, 0, LB_DNS_HEADER_LEN);
	put16(buf, id);
	buf[2] = DNS_FLAG_RD; /* a recursor answers for names it is not authoritative for */
	put16(buf + 4, 1);   /* QDCOUNT */
	memcpy(buf + LB_DNS_HEADER_LEN, wire, (size_t)n);
	put16(buf + LB_DNS_HEADER_LEN + n, qtype);
	put16(buf + LB_DNS_HEADER_LEN + n + 2, DNS_CLASS_IN);
	return (int)len;
}

enum lb_dns_reply lb_dns_reply_check(const uint8_t *msg, size_t len, uint16_t id, unsigned *rcode) {
	/* Neither a short datagram nor another query's answer says anything about this one: the
	 * caller keeps waiting, and the deadline decides. */
	if (len < LB_DNS_HEADER_LEN || (uint16_t)(msg[0] << 8 | msg[1]) != id ||
	    !(msg[2] & DNS_FLAG_QR))
		return DNS_REPLY_IGNORE;
	*rcode = msg[3] & DNS_RCODE_MASK;
	return *rcode == 0 ? DNS_REPLY_OK : DNS_REPLY_RCODE;
}

const char *lb_dns_rcode_name(unsigned rcode) {
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};
	return rcode < ARRAY_SIZE(names) ? names[rcode] : NULL;
}

static const struct {
	const char *name;
	uint16_t type;
} qtypes[] = {
	{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28},
};

int lb_dns_qtype_parse(const char *s, uint16_t *out) {
	for (size_t i = 0; i < ARRAY_SIZE(qtypes); i++)
		if (strcasecmp(s, qtypes[i].name) == 0) {
			*out = qtypes[i].type;
			return 0;
		}
	return -EINVAL;
}

const char *lb_dns_qtype_name(uint16_t qtype) {
	for (size_t i = 0; i < ARRAY_SIZE(qtypes); i++)
		if (qtypes[i].type == qtype)
			return qtypes[i].name;
	return NULL;
}
