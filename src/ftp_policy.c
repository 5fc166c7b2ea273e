/* ftp_policy.c: the gateway's pure policy (see ftp_policy.h). */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "ftp_policy.h"

void
ftp_login_track(struct ftp_login *login, enum ftp_verb verb, int code)
{
	switch (verb) {
	case FTP_V_USER:
	case FTP_V_PASS:
	case FTP_V_ACCT:
		if (code == 230 || code == 202)
			login->logged_in = true;
		else if (code == 331 || code == 332)
			login->user_accepted = true;
		else if (code / 100 >= 4)
			login->user_accepted = login->logged_in = false;
		break;
	case FTP_V_REIN:
		if (code / 100 == 2)
			login->user_accepted = login->logged_in = false;
		break;
	default:
		break;
	}
}

bool
ftp_verb_allowed_before_login(enum ftp_verb verb)
{
	/* A list, not a rule: what the gateway does not know (a SITE-like
	 * extension, an address verb it does not translate) does not reach a
	 * server that has not authenticated anyone yet. */
	switch (verb) {
	case FTP_V_USER: case FTP_V_PASS: case FTP_V_ACCT: case FTP_V_AUTH:
	case FTP_V_PBSZ: case FTP_V_PROT: case FTP_V_FEAT: case FTP_V_SYST:
	case FTP_V_HELP: case FTP_V_NOOP: case FTP_V_QUIT: case FTP_V_OPTS:
	case FTP_V_CLNT: case FTP_V_HOST:
		return true;
	default:
		return false;
	}
}

/* As a firewall ALG does, with the code the server would give. */
const char *
ftp_strict_refusal(const struct ftp_login *login, bool data_armed,
    const struct ftp_command *cmd, const char **why)
{
	if (cmd->verb == FTP_V_PASS && !login->user_accepted && !login->logged_in) {
		*why = "before USER";
		return "503 Login with USER first.";
	}
	if (!login->logged_in && !ftp_verb_allowed_before_login(cmd->verb)) {
		*why = "before login";
		return "530 Please login with USER and PASS.";
	}
	if (ftp_verb_is_transfer(cmd->verb) && !data_armed) {
		*why = "without PORT/PASV";
		return "425 Use PORT, PASV, EPRT or EPSV first.";
	}
	return NULL;
}

bool
ftp_auth_type_ok(const struct ftp_command *cmd)
{
	static const char *const types[] = { "TLS", "SSL", "TLS-C", "TLS-P" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (cmd->arg_len == strlen(types[i]) &&
		    strncasecmp(cmd->arg, types[i], cmd->arg_len) == 0)
			return true;
	return false;
}

/* Append N bytes of P to OUT (at *AT, SIZE): false when it does not fit. */
static bool
put(char *out, size_t size, size_t *at, const char *p, size_t n)
{
	if (n > size - *at)
		return false;
	memcpy(out + *at, p, n);
	*at += n;
	return true;
}

size_t
ftp_feat_rewrite(const char *text, size_t len, bool offer_tls, char *out, size_t size)
{
	const char *line, *end, *last = NULL;
	size_t at = 0;
	bool ok = true;

	for (line = text; line < text + len; line = end + 2) {
		end = memmem(line, (size_t)(text + len - line), "\r\n", 2);
		if (end == NULL)
			break;
		if (line == text) {      /* "211-Features:" whatever its separator */
			ok &= put(out, size, &at, "211-", 4);
			if (end - line > 4)
				ok &= put(out, size, &at, line + 4, (size_t)(end - line - 4));
			ok &= put(out, size, &at, "\r\n", 2);
			continue;
		}
		if (end + 2 >= text + len) {
			last = line;
			break;
		}
		while (line < end && *line == ' ')
			line++;
		if (strncasecmp(line, "AUTH", 4) == 0 || strncasecmp(line, "PBSZ", 4) == 0 ||
		    strncasecmp(line, "PROT", 4) == 0 || strncasecmp(line, "CCC", 3) == 0)
			continue;
		ok &= put(out, size, &at, " ", 1);
		ok &= put(out, size, &at, line, (size_t)(end - line));
		ok &= put(out, size, &at, "\r\n", 2);
	}
	if (offer_tls)
		ok &= put(out, size, &at, " AUTH TLS\r\n PBSZ\r\n PROT\r\n", 25);
	if (last != NULL && last != text)
		ok &= put(out, size, &at, last, (size_t)(text + len - last));
	else
		ok &= put(out, size, &at, "211 End\r\n", 9);
	return ok ? at : 0;
}
