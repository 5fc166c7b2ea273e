/* fmt.h: the few number-to-text conversions on every session's path (two
 * log lines with two addresses each, the 227 reply), written out by hand:
 * snprintf and inet_ntop cost a tenth of a session's user time here.
 * Everything else formats with snprintf. */
#ifndef FTPGW_FMT_H
#define FTPGW_FMT_H

#include <stddef.h>
#include <string.h>

/* The decimal digits of V at P, no NUL; returns the end. P must have room
 * for 20 bytes. */
static inline char *
fmt_uint(char *p, unsigned long long v)
{
	char rev[20];
	size_t n = 0;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = rev[--n];
	return p;
}

/* SRC (LEN bytes) into BUF of SIZE as snprintf("%s") would: cut to fit,
 * always terminated when SIZE > 0. Returns BUF. */
static inline char *
fmt_copy(char *buf, size_t size, const char *src, size_t len)
{
	if (size == 0)
		return buf;
	if (len >= size)
		len = size - 1;
	memcpy(buf, src, len);
	buf[len] = '\0';
	return buf;
}

#endif
