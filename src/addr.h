/* addr.h: socket address helpers, pure code (no I/O). Every address the
 * gateway reasons about is normalised with addr_unmap() first, so an IPv4
 * peer seen through a dual-stack socket (::ffff:a.b.c.d) is plain AF_INET. */
#ifndef FTPGW_ADDR_H
#define FTPGW_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Big enough for "[ffff:...:ffff]:65535". */
#define ADDR_STRLEN 64

socklen_t addr_len(const struct sockaddr *sa);          /* by family; 0 if unknown */
void addr_unmap(struct sockaddr_storage *ss);             /* ::ffff:a.b.c.d -> AF_INET */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);      /* host and port */
bool addr_equal_host(const struct sockaddr *a, const struct sockaddr *b); /* host only */
bool addr_is_any(const struct sockaddr *sa);              /* 0.0.0.0 or :: */
uint16_t addr_port(const struct sockaddr *sa);            /* host byte order */
void addr_set_port(struct sockaddr *sa, uint16_t port);
/* The wildcard address of FAMILY with PORT. */
void addr_any(struct sockaddr_storage *out, int family, uint16_t port);

/* Numeric host with optional port: "203.0.113.2", "203.0.113.2:21",
 * "2001:db8::1", "[2001:db8::1]:21". With PORT_REQUIRED a missing port is an
 * error; otherwise it is 0. Port 0 written explicitly is an error.
 * Returns 0 or -1. */
int addr_parse(const char *s, bool port_required, struct sockaddr_storage *out);

/* "203.0.113.2:21", "[2001:db8::1]:21"; returns BUF. */
const char *addr_fmt(const struct sockaddr *sa, char *buf, size_t size);
/* "203.0.113.2", "2001:db8::1"; returns BUF. */
const char *addr_fmt_host(const struct sockaddr *sa, char *buf, size_t size);

struct addr_prefix {
	int family;              /* AF_INET or AF_INET6 */
	uint8_t bytes[16];       /* network byte order, host bits zeroed */
	unsigned len;            /* prefix length in bits */
};
/* "198.51.100.0/24", "::/0", "2001:db8::1" (a host: /32 or /128).
 * Host bits set beyond the length are an error. Returns 0 or -1. */
int prefix_parse(const char *s, struct addr_prefix *out);
bool prefix_contains(const struct addr_prefix *p, const struct sockaddr *sa);

/* "50000-50999" or "50000": 1 <= lo <= hi <= 65535. Returns 0 or -1. */
int port_range_parse(const char *s, uint16_t *lo, uint16_t *hi);

#endif
