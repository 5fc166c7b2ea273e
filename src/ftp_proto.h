/* ftp_proto.h: the FTP grammar (RFC 959, 1123, 2228, 2428, 4217) as pure
 * code: no I/O, no globals, no allocation. Parsers take (pointer, length),
 * never read past it, and reject rather than guess. Formatters write a line
 * WITHOUT the trailing CRLF and return its length, or -1 if SIZE is too small. */
#ifndef FTPGW_FTP_PROTO_H
#define FTPGW_FTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Longest command or reply line the gateway accepts, CRLF excluded. */
#define FTP_LINE_MAX 4096
/* Most lines one (multi-line) reply may have. */
#define FTP_REPLY_MAX_LINES 1000

/* Remove Telnet sequences in place (RFC 854 as used by RFC 959):
 * IAC IAC -> one 0xFF byte; IAC WILL/WONT/DO/DONT <opt> -> dropped;
 * IAC <any other> -> dropped (IP, DM, AYT, ... as sent before ABOR).
 * A lone IAC at the end is dropped. Returns the new length. */
size_t ftp_telnet_strip(char *buf, size_t len);
/* The reverse for a line going out: every 0xFF byte of IN (LEN bytes) as
 * IAC IAC, so that a peer doing its own Telnet processing reads exactly
 * IN. Writes to OUT (at least 2 * LEN bytes) and returns the length. */
size_t ftp_telnet_escape(const char *in, size_t len, char *out);

enum ftp_verb {
	FTP_V_UNKNOWN = 0,
	FTP_V_USER, FTP_V_PASS, FTP_V_ACCT, FTP_V_CWD, FTP_V_CDUP, FTP_V_SMNT,
	FTP_V_QUIT, FTP_V_REIN, FTP_V_PORT, FTP_V_PASV, FTP_V_TYPE, FTP_V_STRU,
	FTP_V_MODE, FTP_V_RETR, FTP_V_STOR, FTP_V_STOU, FTP_V_APPE, FTP_V_ALLO,
	FTP_V_REST, FTP_V_RNFR, FTP_V_RNTO, FTP_V_ABOR, FTP_V_DELE, FTP_V_RMD,
	FTP_V_MKD, FTP_V_PWD, FTP_V_LIST, FTP_V_NLST, FTP_V_SITE, FTP_V_SYST,
	FTP_V_STAT, FTP_V_HELP, FTP_V_NOOP, FTP_V_EPRT, FTP_V_EPSV, FTP_V_FEAT,
	FTP_V_OPTS, FTP_V_MLSD, FTP_V_MLST, FTP_V_SIZE, FTP_V_MDTM, FTP_V_AUTH,
	FTP_V_PBSZ, FTP_V_PROT, FTP_V_CCC, FTP_V_LANG, FTP_V_HOST,
	FTP_V_XCUP, FTP_V_XCWD, FTP_V_XMKD, FTP_V_XPWD, FTP_V_XRMD,
	FTP_V_LPRT, FTP_V_LPSV, FTP_V_CLNT,
	FTP_V_COUNT
};

struct ftp_command {
	enum ftp_verb verb;      /* FTP_V_UNKNOWN for verbs not in the table */
	char name[8];            /* the verb upper-cased, NUL-terminated */
	const char *arg;         /* into the parsed line, after the first space, or the
	                          * literal "" when empty; arg_len is the authority */
	size_t arg_len;
};

/* Parse one command line: LINE has LEN bytes, no CRLF, Telnet already
 * stripped. The verb is 3 or 4 ASCII letters in any case (RFC 959), followed
 * by end of line or one space and the argument. Returns 0, or -1 when the
 * line is empty, the verb is malformed, or the line holds NUL, CR or LF. */
int ftp_command_parse(const char *line, size_t len, struct ftp_command *cmd);
const char *ftp_verb_name(enum ftp_verb verb);    /* "RETR"; "" for UNKNOWN */
/* The command a verb is another name of: the RFC 775 aliases XCUP XCWD
 * XMKD XPWD XRMD are CDUP CWD MKD PWD RMD (RFC 1123 s.4.1.3.1); any other
 * verb is itself. */
enum ftp_verb ftp_verb_canonical(enum ftp_verb verb);
/* RETR STOR STOU APPE LIST NLST MLSD: commands that use the data connection. */
bool ftp_verb_is_transfer(enum ftp_verb verb);
/* Does CMD match a deny- or allow-list PATTERN such as "SITE EXEC" or
 * "DELE"? The first word of PATTERN is compared with the verb, both taken
 * as their canonical command ("MKD" matches XMKD and "XMKD" matches MKD),
 * the rest (if any) with the leading words of the argument,
 * case-insensitively, on word boundaries. */
bool ftp_command_matches(const struct ftp_command *cmd, const char *pattern);

/* The EPSV argument (RFC 2428 s.3). */
enum ftp_epsv_arg { FTP_EPSV_DEFAULT, FTP_EPSV_V4, FTP_EPSV_V6, FTP_EPSV_ALL, FTP_EPSV_BAD };
enum ftp_epsv_arg ftp_epsv_arg_parse(const char *arg, size_t len);

/* Replies, fed line by line (without CRLF). A reply is "ddd text" or the
 * multi-line form "ddd-text" ... "ddd text" (RFC 959 s.4.2); the lines in
 * between may be anything, including other codes. A bare "ddd" is a
 * complete reply. */
struct ftp_reply_parser {
	int code;                /* the reply's code once the first line is seen */
	unsigned lines;          /* lines seen so far in this reply */
	bool in_multiline;
};
enum ftp_reply_status {
	FTP_REPLY_BAD = -1,      /* not a valid first line, or too many lines */
	FTP_REPLY_MORE = 0,      /* the reply goes on */
	FTP_REPLY_DONE = 1,      /* this line ends the reply */
};
void ftp_reply_parser_init(struct ftp_reply_parser *p);
/* After DONE or BAD, the next call starts a new reply; until then `code` and
 * `lines` describe the reply just ended. */
enum ftp_reply_status ftp_reply_feed(struct ftp_reply_parser *p, const char *line, size_t len);

/* PORT argument "h1,h2,h3,h4,p1,p2": exactly six decimal numbers 0..255,
 * no signs or spaces. Port 0 is an error. Returns 0 or -1. */
int ftp_port_arg_decode(const char *arg, size_t len, struct sockaddr_in *out);
/* 227 reply text (whole reply, code included): RFC 1123 s.4.1.2.6: scan for
 * the first digit after the code, then h1,h2,h3,h4,p1,p2. Returns 0 or -1. */
int ftp_227_decode(const char *text, size_t len, struct sockaddr_in *out);
/* EPRT argument "<d>af<d>addr<d>port<d>", d any of ASCII 33..126, af 1 or 2,
 * the address numeric of that family. Returns 0 or -1. */
int ftp_eprt_arg_decode(const char *arg, size_t len, struct sockaddr_storage *out);
/* 229 reply text (code included): "(<d><d><d>port<d>)" anywhere in the text,
 * the same delimiter four times. Returns 0 or -1. */
int ftp_229_decode(const char *text, size_t len, uint16_t *port);

int ftp_port_format(char *buf, size_t size, const struct sockaddr_in *sa);      /* "PORT h1,h2,h3,h4,p1,p2" */
int ftp_eprt_format(char *buf, size_t size, const struct sockaddr *sa);         /* "EPRT |1|203.0.113.2|50000|" */
int ftp_227_format(char *buf, size_t size, const struct sockaddr_in *sa);       /* "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)." */
int ftp_229_format(char *buf, size_t size, uint16_t port);                      /* "229 Entering Extended Passive Mode (|||port|)" */

#endif
