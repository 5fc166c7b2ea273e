/* addr.c: socket address helpers. Pure code: parsing, formatting and
 * comparing addresses, never a socket call. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "fmt.h"

socklen_t
addr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return 0;
	}
}

void
addr_unmap(struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct sockaddr_in sin;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	/* The IPv4 address is the last 4 of the 16 bytes. */
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}

/* A normalised copy, so that ::ffff:a.b.c.d and a.b.c.d compare equal
 * even when a caller forgot addr_unmap(). */
static void
addr_copy_unmapped(const struct sockaddr *sa, struct sockaddr_storage *out)
{
	socklen_t len = addr_len(sa);

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		out->ss_family = AF_UNSPEC;
		return;
	}
	memcpy(out, sa, len);
	addr_unmap(out);
}

bool
addr_equal_host(const struct sockaddr *a, const struct sockaddr *b)
{
	struct sockaddr_storage na, nb;

	addr_copy_unmapped(a, &na);
	addr_copy_unmapped(b, &nb);
	if (na.ss_family != nb.ss_family)
		return false;
	if (na.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&na;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&nb;

		return x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (na.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&na;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&nb;

		/* fe80::1 on two interfaces are two different hosts. */
		return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 &&
		    x->sin6_scope_id == y->sin6_scope_id;
	}
	return false;
}

bool
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return addr_equal_host(a, b) && addr_port(a) == addr_port(b);
}

bool
addr_is_any(const struct sockaddr *sa)
{
	struct sockaddr_storage n;

	addr_copy_unmapped(sa, &n);
	if (n.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&n)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	if (n.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)&n)->sin6_addr);
	return false;
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
addr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

void
addr_any(struct sockaddr_storage *out, int family, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(port);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
	} else
		out->ss_family = AF_UNSPEC;
}

/* Decimal digits only, no sign, no spaces: LEN characters at S. Returns the
 * value, or -1 when empty, not a number, or above MAX. */
static long
parse_decimal(const char *s, size_t len, long max)
{
	long value = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		value = value * 10 + (s[i] - '0');
		/* Checked at every digit, so VALUE never overflows. */
		if (value > max)
			return -1;
	}
	return value;
}

/* "1".."65535" in LEN characters at S; 0 is not a port. */
static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	long value = parse_decimal(s, len, 65535);

	if (value < 1)
		return -1;
	*port = (uint16_t)value;
	return 0;
}

/* Numeric host of LEN characters at S into OUT (port 0). FAMILY is AF_INET,
 * AF_INET6 or AF_UNSPEC (either). */
static int
parse_host(const char *s, size_t len, int family, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (family != AF_INET6) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			return 0;
		}
	}
	if (family != AF_INET) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			return 0;
		}
	}
	return -1;
}

int
addr_parse(const char *s, bool port_required, struct sockaddr_storage *out)
{
	struct sockaddr_storage ss;
	const char *host, *port_text = NULL;
	size_t host_len;
	int family;
	uint16_t port = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (s[0] == '[') {
		/* "[IPV6]" or "[IPV6]:PORT" */
		const char *close = strchr(s, ']');

		if (close == NULL)
			return -1;
		host = s + 1;
		host_len = (size_t)(close - host);
		family = AF_INET6;
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else {
		const char *colon = strchr(s, ':');

		host = s;
		host_len = strlen(s);
		family = AF_UNSPEC;
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* One colon: "A.B.C.D:PORT". Two or more: bare IPv6,
			 * which cannot carry a port without brackets. */
			host_len = (size_t)(colon - s);
			port_text = colon + 1;
			family = AF_INET;
		}
	}
	if (parse_host(host, host_len, family, &ss) == -1)
		return -1;
	if (port_text != NULL) {
		if (parse_port(port_text, strlen(port_text), &port) == -1)
			return -1;
	} else if (port_required)
		return -1;
	addr_set_port((struct sockaddr *)&ss, port);
	*out = ss;
	return 0;
}

/* The dotted quad of the IPv4 address at RAW (network order) at P; returns
 * the end, no NUL. P needs room for 15 bytes. */
static char *
put_ipv4(char *p, const void *raw)
{
	const uint8_t *b = raw;

	for (int i = 0; i < 4; i++) {
		if (i > 0)
			*p++ = '.';
		p = fmt_uint(p, b[i]);
	}
	return p;
}

/* The host part of SA at P (IPv6 without brackets), "?" for any other
 * family; returns the end, no NUL. P needs INET6_ADDRSTRLEN bytes. */
static char *
put_host(char *p, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return put_ipv4(p, &((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, p,
	    INET6_ADDRSTRLEN) != NULL)
		return p + strlen(p);
	*p = '?';
	return p + 1;
}

const char *
addr_fmt_host(const struct sockaddr *sa, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	return fmt_copy(buf, size, text, (size_t)(put_host(text, sa) - text));
}

const char *
addr_fmt(const struct sockaddr *sa, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN + 8], *p = text;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return fmt_copy(buf, size, "?", 1);
	if (sa->sa_family == AF_INET6)
		*p++ = '[';
	p = put_host(p, sa);
	if (sa->sa_family == AF_INET6)
		*p++ = ']';
	*p++ = ':';
	p = fmt_uint(p, addr_port(sa));
	return fmt_copy(buf, size, text, (size_t)(p - text));
}

int
prefix_parse(const char *s, struct addr_prefix *out)
{
	struct sockaddr_storage ss;
	struct addr_prefix p;
	const char *slash;
	size_t host_len;
	unsigned max_len;

	if (s == NULL)
		return -1;
	slash = strchr(s, '/');
	host_len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (parse_host(s, host_len, AF_UNSPEC, &ss) == -1)
		return -1;

	memset(&p, 0, sizeof(p));
	p.family = ss.ss_family;
	if (p.family == AF_INET) {
		memcpy(p.bytes, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		max_len = 32;
	} else {
		memcpy(p.bytes, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		max_len = 128;
	}
	if (slash != NULL) {
		long len = parse_decimal(slash + 1, strlen(slash + 1), max_len);

		if (len < 0)
			return -1;
		p.len = (unsigned)len;
	} else
		p.len = max_len;

	/* "10.0.0.1/8" is most likely a typo for a host or for 10.0.0.0/8:
	 * refuse it rather than guess. */
	for (unsigned bit = p.len; bit < max_len; bit++)
		if (p.bytes[bit / 8] & (0x80u >> (bit % 8)))
			return -1;
	*out = p;
	return 0;
}

bool
prefix_contains(const struct addr_prefix *p, const struct sockaddr *sa)
{
	struct sockaddr_storage n;
	const uint8_t *bytes;
	unsigned full, rest;

	addr_copy_unmapped(sa, &n);
	if (n.ss_family != p->family)
		return false;
	if (n.ss_family == AF_INET)
		bytes = (const uint8_t *)&((const struct sockaddr_in *)&n)->sin_addr;
	else if (n.ss_family == AF_INET6)
		bytes = ((const struct sockaddr_in6 *)&n)->sin6_addr.s6_addr;
	else
		return false;

	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(bytes, p->bytes, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));

		if ((bytes[full] & mask) != p->bytes[full])
			return false;
	}
	return true;
}

int
port_range_parse(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash;
	uint16_t first, last;

	if (s == NULL)
		return -1;
	dash = strchr(s, '-');
	if (dash == NULL) {
		if (parse_port(s, strlen(s), &first) == -1)
			return -1;
		last = first;
	} else {
		if (parse_port(s, (size_t)(dash - s), &first) == -1 ||
		    parse_port(dash + 1, strlen(dash + 1), &last) == -1)
			return -1;
	}
	if (first > last)
		return -1;
	*lo = first;
	*hi = last;
	return 0;
}
