/* DNS messages for the dns health check: build one query, judge a reply's header. Pure functions
 * (no I/O, no state), so that the wire format is tested apart from sockets. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define LB_DNS_HEADER_LEN 12
#define LB_DNS_NAME_MAX 255 /* a name on the wire: its length bytes and labels, the root's 0 */
#define LB_DNS_LABEL_MAX 63
/* The largest query lb_dns_query_build writes: header, name, qtype and class. */
#define LB_DNS_QUERY_MAX (LB_DNS_HEADER_LEN + LB_DNS_NAME_MAX + 4)

#define LB_DNS_TYPE_SOA 6

/* 0, or -EINVAL when name cannot be sent: an empty label ("a..b", ".com", ""), a label longer than
 * 63 bytes, or more than 255 bytes on the wire. "." is the root; a trailing dot is optional.
 * Bytes are taken as they are: no "\." escapes. */
int lb_dns_name_check(const char *name);

/* Write a standard query (RD set, one question name/qtype, class IN) with this id into buf.
 * Returns its length, -EINVAL for a bad name (see lb_dns_name_check), -ENOSPC when cap is too
 * small (LB_DNS_QUERY_MAX always suffices). */
int lb_dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype);

enum lb_dns_reply {
	DNS_REPLY_OK,     /* our id, QR set, RCODE 0 (TC too: the server answered) */
	DNS_REPLY_IGNORE, /* not this query's answer: another id, QR clear, shorter than a header */
	DNS_REPLY_RCODE,  /* our answer, with RCODE != 0 in *rcode */
};
/* Judge a reply to the query with this id from its header; the rest is not read, so msg may be
 * just the first LB_DNS_HEADER_LEN bytes of the datagram. */
enum lb_dns_reply lb_dns_reply_check(const uint8_t *msg, size_t len, uint16_t id, unsigned *rcode);

/* "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", ... ; NULL when unknown. */
const char *lb_dns_rcode_name(unsigned rcode);

/* Query types by name, case-insensitive: A AAAA NS SOA MX TXT CNAME. 0, or -EINVAL for another
 * name. */
int lb_dns_qtype_parse(const char *s, uint16_t *out);
/* "A", "SOA", ... ; NULL for a type without a name here. */
const char *lb_dns_qtype_name(uint16_t qtype);
