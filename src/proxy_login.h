/* proxy_login.h: the login of an explicit proxy, as pure code: the USER
 * argument "user@host[:port]" that lftp's ftp:proxy, FileZilla's and
 * WinSCP's "USER user@host" proxy types and the classic FTP proxies send.
 * The last '@' separates the host, so a user name may hold '@' itself
 * ("a@b.c@host"); an IPv6 literal is written in brackets
 * ("[2001:db8::1]:2121"), or bare without a port ("2001:db8::1"). */
#ifndef FTPGW_PROXY_LOGIN_H
#define FTPGW_PROXY_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "ftp_proto.h"

/* A DNS name is at most 253 bytes; an IPv6 literal far less. */
#define PROXY_HOST_MAX 253
#define PROXY_DEFAULT_PORT 21

struct proxy_login {
	char user[FTP_LINE_MAX + 1];     /* what goes to the server as USER */
	char host[PROXY_HOST_MAX + 1];   /* a name or a numeric address, no brackets */
	uint16_t port;                   /* PROXY_DEFAULT_PORT when not given */
};

enum proxy_login_verdict {
	PROXY_LOGIN_OK,
	PROXY_LOGIN_NO_HOST,             /* no '@': not a proxy login (530) */
	PROXY_LOGIN_BAD,                 /* an empty or malformed part (501) */
};

/* Parse the USER argument ARG (LEN bytes, no NUL needed) into OUT. */
enum proxy_login_verdict proxy_login_parse(const char *arg, size_t len,
    struct proxy_login *out);

#endif
