/* ftp_policy.h: what the gateway lets through, as pure functions of a
 * command and the session's facts: the login as the replies tell it (RFC
 * 959 s.5.4), strict mode, the AUTH types it speaks (RFC 4217) and the
 * feature list it shows (RFC 2389). No I/O, no state of their own. */
#ifndef FTPGW_FTP_POLICY_H
#define FTPGW_FTP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "ftp_proto.h"

struct ftp_login {
	bool user_accepted;              /* USER got 331/332: PASS may follow */
	bool logged_in;                  /* 230 (or 202) seen */
};

/* The server answered VERB with CODE: what it says of the login. */
void ftp_login_track(struct ftp_login *login, enum ftp_verb verb, int code);
/* Commands that may go before login: USER PASS ACCT AUTH PBSZ PROT FEAT
 * SYST HELP NOOP QUIT OPTS CLNT HOST; nothing else, unknown verbs included. */
bool ftp_verb_allowed_before_login(enum ftp_verb verb);
/* strict mode: NULL when CMD may go now, else the reply that refuses it
 * (no CRLF), with *WHY a few words for the log. DATA_ARMED: a PORT, PASV,
 * EPRT or EPSV succeeded since the last transfer. */
const char *ftp_strict_refusal(const struct ftp_login *login, bool data_armed,
    const struct ftp_command *cmd, const char **why);
/* AUTH TLS, SSL, TLS-C, TLS-P (any case). */
bool ftp_auth_type_ok(const struct ftp_command *cmd);
/* A 211 FEAT reply TEXT (LEN bytes, every line ending in CRLF) as the
 * client sees it: the server's AUTH, PBSZ, PROT and CCC lines dropped
 * (the gateway terminates TLS), its own AUTH TLS, PBSZ and PROT added when
 * OFFER_TLS. Written to OUT; returns the length, or 0 when SIZE is too
 * small (2 * LEN + 64 always suffices). */
size_t ftp_feat_rewrite(const char *text, size_t len, bool offer_tls, char *out, size_t size);

#endif
