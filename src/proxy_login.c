/* proxy_login.c: "user@host[:port]" of an explicit proxy login (see
 * proxy_login.h). Pure code: no resolution, no sockets. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "proxy_login.h"

/* A host name as DNS and /etc/hosts know them (letters, digits, '-',
 * '.', and '_' that some internal names carry), or a dotted IPv4
 * address, which has the same characters. */
static bool
name_ok(const char *s, size_t len)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._";

	if (len == 0 || len > PROXY_HOST_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (memchr(ok, s[i], sizeof(ok) - 1) == NULL)
			return false;
	/* No empty label: "a..b". */
	for (size_t i = 1; i < len; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return false;
	return true;
}

static bool
ipv6_ok(const char *s, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* A decimal port 1..65535, no sign, no spaces. */
static bool
port_parse(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

enum proxy_login_verdict
proxy_login_parse(const char *arg, size_t len, struct proxy_login *out)
{
	const char *at = NULL, *host, *colon;
	size_t user_len, host_len, rest;

	memset(out, 0, sizeof(*out));
	for (size_t i = len; i > 0; i--)
		if (arg[i - 1] == '@') {
			at = arg + i - 1;
			break;
		}
	if (at == NULL)
		return PROXY_LOGIN_NO_HOST;
	user_len = (size_t)(at - arg);
	host = at + 1;
	rest = len - user_len - 1;
	if (user_len == 0 || user_len > FTP_LINE_MAX || rest == 0)
		return PROXY_LOGIN_BAD;
	/* The user name goes to the server as it is: no control bytes. */
	for (size_t i = 0; i < user_len; i++)
		if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
			return PROXY_LOGIN_BAD;
	memcpy(out->user, arg, user_len);
	out->port = PROXY_DEFAULT_PORT;

	if (host[0] == '[') {            /* [IPV6] or [IPV6]:PORT */
		const char *close = memchr(host, ']', rest);

		if (close == NULL)
			return PROXY_LOGIN_BAD;
		host_len = (size_t)(close - host - 1);
		if (!ipv6_ok(host + 1, host_len))
			return PROXY_LOGIN_BAD;
		memcpy(out->host, host + 1, host_len);
		rest -= host_len + 2;
		if (rest == 0)
			return PROXY_LOGIN_OK;
		if (close[1] != ':' || !port_parse(close + 2, rest - 1, &out->port))
			return PROXY_LOGIN_BAD;
		return PROXY_LOGIN_OK;
	}
	colon = memchr(host, ':', rest);
	if (colon != NULL && memchr(colon + 1, ':', rest - (size_t)(colon - host) - 1) != NULL) {
		/* Two colons: a bare IPv6 address, which cannot carry a port. */
		if (!ipv6_ok(host, rest))
			return PROXY_LOGIN_BAD;
		memcpy(out->host, host, rest);
		return PROXY_LOGIN_OK;
	}
	host_len = colon != NULL ? (size_t)(colon - host) : rest;
	if (!name_ok(host, host_len))
		return PROXY_LOGIN_BAD;
	if (colon != NULL && !port_parse(colon + 1, rest - host_len - 1, &out->port))
		return PROXY_LOGIN_BAD;
	memcpy(out->host, host, host_len);
	return PROXY_LOGIN_OK;
}
