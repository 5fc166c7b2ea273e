/* check_ftp_proto.c: unit tests for src/ftp_proto.c. Inputs are copied
 * into heap buffers of exactly their length, without a NUL, so that a
 * sanitizer build catches any parser that reads past (ptr, len). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unit.h"
#include "ftp_policy.h"
#include "ftp_proto.h"

/* A string literal with its length, embedded NULs included. */
#define S(lit)	lit, (sizeof(lit) - 1)

static char *
dup_exact(const char *s, size_t len)
{
	/* malloc(0) may return NULL; one spare byte nobody may read is
	 * still caught by ASan as out of bounds of the LEN requested. */
	char *copy = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, s, len);
	return copy;
}

static struct sockaddr_in
make_sin(const char *host, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, host, &sin.sin_addr), 1);
	sin.sin_port = htons(port);
	return sin;
}

static struct sockaddr_storage
make_ss(const char *host, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, host, &sin6->sin6_addr), 1);
		sin6->sin6_port = htons(port);
	} else {
		struct sockaddr_in sin = make_sin(host, port);

		memcpy(&ss, &sin, sizeof(sin));
	}
	return ss;
}

static void
assert_sin_eq(const struct sockaddr_in *got, const struct sockaddr_in *want)
{
	ck_assert_int_eq(got->sin_family, AF_INET);
	ck_assert_uint_eq(got->sin_addr.s_addr, want->sin_addr.s_addr);
	ck_assert_uint_eq(got->sin_port, want->sin_port);
}

static void
assert_ss_eq(const struct sockaddr_storage *got,
    const struct sockaddr_storage *want)
{
	ck_assert_int_eq(got->ss_family, want->ss_family);
	if (want->ss_family == AF_INET)
		assert_sin_eq((const struct sockaddr_in *)got,
		    (const struct sockaddr_in *)want);
	else {
		const struct sockaddr_in6 *g = (const struct sockaddr_in6 *)got;
		const struct sockaddr_in6 *w = (const struct sockaddr_in6 *)want;

		ck_assert_mem_eq(&g->sin6_addr, &w->sin6_addr, 16);
		ck_assert_uint_eq(g->sin6_port, w->sin6_port);
		ck_assert_uint_eq(g->sin6_scope_id, 0);
		ck_assert_uint_eq(g->sin6_flowinfo, 0);
	}
}

/* ---- Telnet ---------------------------------------------------------- */

static const struct {
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
} telnet_cases[] = {
	{ S(""), S("") },
	{ S("NOOP"), S("NOOP") },
	{ S("\xff\xff"), S("\xff") },
	{ S("RETR a\xff\xff" "b"), S("RETR a\xff" "b") },
	{ S("\xff\xfd\x01NOOP"), S("NOOP") },          /* IAC DO ECHO */
	{ S("\xff\xfb\x03N\xff\xfc\x03O\xff\xfe\x18OP"), S("NOOP") },
	{ S("\xff\xfd\xffX"), S("X") },                 /* option byte 255 */
	{ S("\xff\xf4\xff\xf2" "ABOR"), S("ABOR") },   /* IP, DM before ABOR */
	{ S("AB\xff\xf1OR"), S("ABOR") },               /* IAC NOP */
	{ S("ABOR\xff"), S("ABOR") },                   /* lone IAC at end */
	{ S("\xff"), S("") },
	{ S("ABOR\xff\xfd"), S("ABOR") },               /* DO without option */
	{ S("\xff\xff\xff"), S("\xff") },               /* IAC IAC, lone IAC */
	{ S("\xff\xff\xff\xff"), S("\xff\xff") },
	{ S("a\0b"), S("a\0b") },                       /* NUL is not Telnet's */
};

START_TEST(test_telnet_strip)
{
	for (size_t i = 0; i < sizeof(telnet_cases) / sizeof(telnet_cases[0]); i++) {
		char *buf = dup_exact(telnet_cases[i].in, telnet_cases[i].in_len);
		size_t n = ftp_telnet_strip(buf, telnet_cases[i].in_len);

		ck_assert_msg(n == telnet_cases[i].out_len,
		    "case %zu: length %zu, want %zu", i, n, telnet_cases[i].out_len);
		ck_assert_mem_eq(buf, telnet_cases[i].out, n);
		free(buf);
	}
}
END_TEST

/* The reverse of the strip: what was checked goes out with a data byte
 * 255 as IAC IAC, and stripping that gives the checked line back. */
START_TEST(test_telnet_escape)
{
	static const struct {
		const char *in;
		size_t in_len;
		const char *out;
		size_t out_len;
	} cases[] = {
		{ S(""), S("") },
		{ S("NOOP"), S("NOOP") },
		{ S("\xff"), S("\xff\xff") },
		{ S("SITE CH\xff\xfbXMOD 777 f"), S("SITE CH\xff\xff\xfbXMOD 777 f") },
		{ S("\xff\xff"), S("\xff\xff\xff\xff") },
		{ S("a\0b\xfe"), S("a\0b\xfe") },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *in = dup_exact(cases[i].in, cases[i].in_len);
		char *out = malloc(2 * cases[i].in_len + 1);
		size_t n;

		ck_assert_ptr_nonnull(out);
		n = ftp_telnet_escape(in, cases[i].in_len, out);
		ck_assert_msg(n == cases[i].out_len, "case %zu: length %zu, want %zu",
		    i, n, cases[i].out_len);
		ck_assert_mem_eq(out, cases[i].out, n);
		n = ftp_telnet_strip(out, n);
		ck_assert_uint_eq(n, cases[i].in_len);
		ck_assert_mem_eq(out, cases[i].in, n);
		free(in);
		free(out);
	}
}
END_TEST

/* ---- Commands -------------------------------------------------------- */

START_TEST(test_verb_canonical)
{
	static const enum ftp_verb alias[][2] = {
		{ FTP_V_XCUP, FTP_V_CDUP }, { FTP_V_XCWD, FTP_V_CWD },
		{ FTP_V_XMKD, FTP_V_MKD }, { FTP_V_XPWD, FTP_V_PWD },
		{ FTP_V_XRMD, FTP_V_RMD },
	};

	for (int v = 0; v < FTP_V_COUNT; v++) {
		enum ftp_verb want = (enum ftp_verb)v;

		for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
			if (alias[i][0] == (enum ftp_verb)v)
				want = alias[i][1];
		ck_assert_msg(ftp_verb_canonical((enum ftp_verb)v) == want, "verb %s",
		    ftp_verb_name((enum ftp_verb)v));
		/* ftp_command_matches() searches the table only for a
		 * pattern word that starts with X. */
		if (want != (enum ftp_verb)v)
			ck_assert_msg(ftp_verb_name((enum ftp_verb)v)[0] == 'X',
			    "alias %s does not start with X", ftp_verb_name((enum ftp_verb)v));
	}
	/* Both ways round, in any case. */
	{
		struct ftp_command mkd, xmkd, site;

		ck_assert_int_eq(ftp_command_parse("MKD d", 5, &mkd), 0);
		ck_assert_int_eq(ftp_command_parse("xmkd d", 6, &xmkd), 0);
		ck_assert_int_eq(ftp_command_parse("SITE exec x", 11, &site), 0);
		ck_assert(ftp_command_matches(&mkd, "xMkD"));
		ck_assert(ftp_command_matches(&xmkd, "mkd"));
		ck_assert(ftp_command_matches(&xmkd, "XMKD"));
		ck_assert(!ftp_command_matches(&mkd, "XRMD"));
		ck_assert(!ftp_command_matches(&mkd, "SITE"));
		ck_assert(ftp_command_matches(&site, "site EXEC"));
		ck_assert(!ftp_command_matches(&site, "XSITE EXEC"));
	}
}
END_TEST

/* strict: the list, and nothing else, before login. */
START_TEST(test_before_login)
{
	static const enum ftp_verb before[] = {
		FTP_V_USER, FTP_V_PASS, FTP_V_ACCT, FTP_V_AUTH, FTP_V_PBSZ,
		FTP_V_PROT, FTP_V_FEAT, FTP_V_SYST, FTP_V_HELP, FTP_V_NOOP,
		FTP_V_QUIT, FTP_V_OPTS, FTP_V_CLNT, FTP_V_HOST,
	};

	for (int v = 0; v < FTP_V_COUNT; v++) {
		bool want = false;

		for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
			if (before[i] == (enum ftp_verb)v)
				want = true;
		ck_assert_msg(ftp_verb_allowed_before_login((enum ftp_verb)v) == want,
		    "verb %d \"%s\"", v, ftp_verb_name((enum ftp_verb)v));
	}
}
END_TEST

static const struct {
	const char *line;
	size_t len;
	enum ftp_verb verb;
	const char *name;
	const char *arg;
} command_ok[] = {
	{ S("USER alice"), FTP_V_USER, "USER", "alice" },
	{ S("user alice"), FTP_V_USER, "USER", "alice" },
	{ S("rEtR file with  spaces.txt "), FTP_V_RETR, "RETR", "file with  spaces.txt " },
	{ S("CWD /pub"), FTP_V_CWD, "CWD", "/pub" },
	{ S("PWD"), FTP_V_PWD, "PWD", "" },
	{ S("QUIT"), FTP_V_QUIT, "QUIT", "" },
	{ S("STOR "), FTP_V_STOR, "STOR", "" },        /* empty after the space */
	{ S("STOR  x"), FTP_V_STOR, "STOR", " x" },    /* the rest, as it is */
	{ S("SITE EXEC rm"), FTP_V_SITE, "SITE", "EXEC rm" },
	{ S("XYZ"), FTP_V_UNKNOWN, "XYZ", "" },
	{ S("abcd 1"), FTP_V_UNKNOWN, "ABCD", "1" },
	{ S("EPRT |1|203.0.113.2|50000|"), FTP_V_EPRT, "EPRT", "|1|203.0.113.2|50000|" },
	{ S("PASS \xc3\xa9t\xc3\xa9\t\x01"), FTP_V_PASS, "PASS", "\xc3\xa9t\xc3\xa9\t\x01" },
	{ S("ccc"), FTP_V_CCC, "CCC", "" },
};

START_TEST(test_command_parse_ok)
{
	for (size_t i = 0; i < sizeof(command_ok) / sizeof(command_ok[0]); i++) {
		char *line = dup_exact(command_ok[i].line, command_ok[i].len);
		struct ftp_command cmd;

		ck_assert_msg(ftp_command_parse(line, command_ok[i].len, &cmd) == 0,
		    "case %zu rejected", i);
		ck_assert_int_eq(cmd.verb, command_ok[i].verb);
		ck_assert_str_eq(cmd.name, command_ok[i].name);
		ck_assert_uint_eq(cmd.arg_len, strlen(command_ok[i].arg));
		ck_assert_mem_eq(cmd.arg, command_ok[i].arg, cmd.arg_len);
		if (cmd.arg_len > 0) {
			/* Into the caller's line, not a copy. */
			ck_assert_ptr_eq(cmd.arg, line + strlen(cmd.name) + 1);
		} else
			ck_assert_str_eq(cmd.arg, "");
		free(line);
	}
}
END_TEST

static const struct {
	const char *line;
	size_t len;
} command_bad[] = {
	{ S("") },
	{ S(" USER a") },
	{ S("US") },
	{ S("US a") },
	{ S("USERS a") },
	{ S("USERX") },
	{ S("US3R a") },
	{ S("USER\ta") },
	{ S("USER,a") },
	{ S("RE-T") },
	{ S("123 a") },
	{ S("\xc3\xa9XYZ") },
	{ S("USER a\r") },
	{ S("USER a\nPASS b") },
	{ S("USER a\0") },
	{ S("US\0R a") },
	{ S("\0") },
	{ S("\r\n") },
	{ S("NOOP\r") },
	{ S("\xff\xf4" "ABOR") },                    /* Telnet not stripped */
};

START_TEST(test_command_parse_bad)
{
	for (size_t i = 0; i < sizeof(command_bad) / sizeof(command_bad[0]); i++) {
		char *line = dup_exact(command_bad[i].line, command_bad[i].len);
		struct ftp_command cmd;

		ck_assert_msg(ftp_command_parse(line, command_bad[i].len, &cmd) == -1,
		    "case %zu accepted", i);
		/* A failed parse leaves nothing a careless caller could act on. */
		ck_assert_int_eq(cmd.verb, FTP_V_UNKNOWN);
		ck_assert_str_eq(cmd.name, "");
		ck_assert_uint_eq(cmd.arg_len, 0);
		free(line);
	}
}
END_TEST

START_TEST(test_command_parse_every_verb)
{
	for (int v = FTP_V_UNKNOWN + 1; v < FTP_V_COUNT; v++) {
		const char *name = ftp_verb_name((enum ftp_verb)v);
		char lower[8];
		struct ftp_command cmd;
		size_t n = strlen(name);

		ck_assert_msg(n == 3 || n == 4, "verb %d has no name", v);
		ck_assert_int_eq(ftp_command_parse(name, n, &cmd), 0);
		ck_assert_int_eq(cmd.verb, v);
		for (size_t i = 0; i <= n; i++)
			lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
			    name[i] - 'A' + 'a' : name[i]);
		ck_assert_int_eq(ftp_command_parse(lower, n, &cmd), 0);
		ck_assert_int_eq(cmd.verb, v);
		ck_assert_str_eq(cmd.name, name);
	}
}
END_TEST

START_TEST(test_command_arg_not_terminated)
{
	/* The caller's buffer goes on past LEN: ARG_LEN is the authority. */
	const char buf[] = "DELE victimXXXX";
	struct ftp_command cmd;

	ck_assert_int_eq(ftp_command_parse(buf, 11, &cmd), 0);
	ck_assert_int_eq(cmd.verb, FTP_V_DELE);
	ck_assert_uint_eq(cmd.arg_len, 6);
	ck_assert_mem_eq(cmd.arg, "victim", 6);
	/* A line cut just after the verb has no argument at all. */
	ck_assert_int_eq(ftp_command_parse(buf, 4, &cmd), 0);
	ck_assert_uint_eq(cmd.arg_len, 0);
	ck_assert_str_eq(cmd.arg, "");
}
END_TEST

START_TEST(test_verb_name_and_transfer)
{
	static const enum ftp_verb transfer[] = {
		FTP_V_RETR, FTP_V_STOR, FTP_V_STOU, FTP_V_APPE, FTP_V_LIST,
		FTP_V_NLST, FTP_V_MLSD,
	};

	ck_assert_str_eq(ftp_verb_name(FTP_V_UNKNOWN), "");
	ck_assert_str_eq(ftp_verb_name(FTP_V_COUNT), "");
	ck_assert_str_eq(ftp_verb_name((enum ftp_verb)-1), "");
	ck_assert_str_eq(ftp_verb_name(FTP_V_RETR), "RETR");
	ck_assert_str_eq(ftp_verb_name(FTP_V_XRMD), "XRMD");
	ck_assert_str_eq(ftp_verb_name(FTP_V_HOST), "HOST");
	for (int v = 0; v < FTP_V_COUNT; v++) {
		bool want = false;

		for (size_t i = 0; i < sizeof(transfer) / sizeof(transfer[0]); i++)
			if (transfer[i] == (enum ftp_verb)v)
				want = true;
		ck_assert_msg(ftp_verb_is_transfer((enum ftp_verb)v) == want,
		    "verb %s", ftp_verb_name((enum ftp_verb)v));
	}
	ck_assert(!ftp_verb_is_transfer(FTP_V_COUNT));
}
END_TEST

static const struct {
	const char *line;
	const char *pattern;
	bool match;
} matches_cases[] = {
	{ "DELE x", "DELE", true },
	{ "dele x", "dele", true },
	{ "DELE", "DELE", true },
	{ "DELE x", "DEL", false },
	{ "RMD x", "DELE", false },
	{ "LIST x", "DELE", false },
	{ "SITE EXED", "SITE EXEC", false },
	{ "SITE EXEC rm -rf /", "SITE EXEC", true },
	{ "site exec rm", "SITE EXEC", true },
	{ "SITE EXEC", "site exec", true },
	{ "SITE  EXEC foo", "SITE EXEC", true },     /* runs of blanks collapse */
	{ "SITE \t EXEC\tfoo", "SITE EXEC", true },
	{ "SITE EXEC   ", "SITE EXEC", true },
	{ "SITE EXECUTE foo", "SITE EXEC", false },  /* word boundary */
	{ "SITE EXE", "SITE EXEC", false },
	{ "SITE XEXEC", "SITE EXEC", false },
	{ "SITE", "SITE EXEC", false },
	{ "SITE ", "SITE EXEC", false },
	{ "SITE CHMOD 777 x", "SITE EXEC", false },
	{ "SITE CHMOD 777 x", "SITE", true },        /* one word: any argument */
	{ "SITE CHMOD 777 x", "SITE CHMOD 777", true },
	{ "SITE CHMOD 7777 x", "SITE CHMOD 777", false },
	{ "SITE EXEC", "  SITE   EXEC  ", true },    /* blanks in the pattern too */
	{ "SITE EXEC", "", false },
	{ "SITE EXEC", "   ", false },
	{ "OPTS UTF8 ON", "OPTS UTF8 ON", true },
	{ "OPTS UTF8 OFF", "OPTS UTF8 ON", false },
	{ "XYZ a", "XYZ", true },                     /* unknown verbs by name */
	/* An RFC 775 alias is its command, both ways. */
	{ "XMKD d", "MKD", true },
	{ "xmkd d", "mkd", true },
	{ "MKD d", "XMKD", true },
	{ "XCWD /", "CWD", true },
	{ "XCUP", "CDUP", true },
	{ "XPWD", "PWD", true },
	{ "XRMD d", "RMD", true },
	{ "RMD d", "XRMD", true },
	{ "XRMD d", "MKD", false },
	{ "XMKD d", "XRMD", false },
	{ "XMKD d", "MKD e", false },
	{ "XMKD e f", "MKD e", true },
};

START_TEST(test_command_matches)
{
	for (size_t i = 0; i < sizeof(matches_cases) / sizeof(matches_cases[0]); i++) {
		size_t len = strlen(matches_cases[i].line);
		char *line = dup_exact(matches_cases[i].line, len);
		struct ftp_command cmd;

		ck_assert_int_eq(ftp_command_parse(line, len, &cmd), 0);
		ck_assert_msg(ftp_command_matches(&cmd, matches_cases[i].pattern) ==
		    matches_cases[i].match, "case %zu: \"%s\" vs \"%s\"", i,
		    matches_cases[i].line, matches_cases[i].pattern);
		free(line);
	}
}
END_TEST

START_TEST(test_command_matches_edges)
{
	struct ftp_command cmd;
	/* The argument is bounded by ARG_LEN even when the buffer goes on. */
	const char buf[] = "SITE EXE" "C now";

	ck_assert_int_eq(ftp_command_parse(buf, 8, &cmd), 0);
	ck_assert(!ftp_command_matches(&cmd, "SITE EXEC"));
	ck_assert(ftp_command_matches(&cmd, "SITE EXE"));
	ck_assert(!ftp_command_matches(&cmd, NULL));
	/* A failed parse matches nothing, not even an empty verb. */
	ck_assert_int_eq(ftp_command_parse("", 0, &cmd), -1);
	ck_assert(!ftp_command_matches(&cmd, "SITE"));
	ck_assert(!ftp_command_matches(&cmd, ""));
}
END_TEST

static const struct {
	const char *arg;
	size_t len;
	enum ftp_epsv_arg want;
} epsv_cases[] = {
	{ S(""), FTP_EPSV_DEFAULT },
	{ S("1"), FTP_EPSV_V4 },
	{ S("2"), FTP_EPSV_V6 },
	{ S("ALL"), FTP_EPSV_ALL },
	{ S("all"), FTP_EPSV_ALL },
	{ S("aLl"), FTP_EPSV_ALL },
	{ S("3"), FTP_EPSV_BAD },
	{ S("0"), FTP_EPSV_BAD },
	{ S("01"), FTP_EPSV_BAD },
	{ S("12"), FTP_EPSV_BAD },
	{ S(" 1"), FTP_EPSV_BAD },
	{ S("1 "), FTP_EPSV_BAD },
	{ S("ALL "), FTP_EPSV_BAD },
	{ S("AL"), FTP_EPSV_BAD },
	{ S("ALLX"), FTP_EPSV_BAD },
	{ S("1\0"), FTP_EPSV_BAD },
	{ S("+1"), FTP_EPSV_BAD },
};

START_TEST(test_epsv_arg_parse)
{
	for (size_t i = 0; i < sizeof(epsv_cases) / sizeof(epsv_cases[0]); i++) {
		char *arg = dup_exact(epsv_cases[i].arg, epsv_cases[i].len);

		ck_assert_msg(ftp_epsv_arg_parse(arg, epsv_cases[i].len) ==
		    epsv_cases[i].want, "case %zu", i);
		free(arg);
	}
}
END_TEST

/* ---- Replies --------------------------------------------------------- */

static enum ftp_reply_status
feed(struct ftp_reply_parser *p, const char *line, size_t len)
{
	char *copy = dup_exact(line, len);
	enum ftp_reply_status st = ftp_reply_feed(p, copy, len);

	free(copy);
	return st;
}

#define FEED(p, lit)	feed((p), S(lit))

START_TEST(test_reply_single_line)
{
	static const struct {
		const char *line;
		size_t len;
		int code;
	} ok[] = {
		{ S("220 ready"), 220 },
		{ S("220"), 220 },
		{ S("220 "), 220 },
		{ S("100 x"), 100 },
		{ S("599 x"), 599 },
		{ S("530 \0\r\n odd but ours to relay"), 530 },
	};
	struct ftp_reply_parser p;

	ftp_reply_parser_init(&p);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(feed(&p, ok[i].line, ok[i].len) == FTP_REPLY_DONE,
		    "case %zu", i);
		ck_assert_int_eq(p.code, ok[i].code);
		ck_assert_uint_eq(p.lines, 1);
		ck_assert(!p.in_multiline);
	}
}
END_TEST

START_TEST(test_reply_bad_first_line)
{
	static const struct {
		const char *line;
		size_t len;
	} bad[] = {
		{ S("") }, { S("2") }, { S("22") }, { S("2200") }, { S("220x") },
		{ S("220\t") }, { S("620 x") }, { S("020 x") }, { S("920 x") },
		{ S("22a x") }, { S("2a0 x") }, { S("abc") }, { S(" 220 x") },
		{ S("+20 x") }, { S("220\0") }, { S("\0" "220 x") },
	};
	struct ftp_reply_parser p;

	ftp_reply_parser_init(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(feed(&p, bad[i].line, bad[i].len) == FTP_REPLY_BAD,
		    "case %zu", i);
		/* ... and the parser is ready for the next reply. */
		ck_assert_int_eq(FEED(&p, "200 ok"), FTP_REPLY_DONE);
		ck_assert_int_eq(p.code, 200);
	}
}
END_TEST

START_TEST(test_reply_multiline)
{
	struct ftp_reply_parser p;

	ftp_reply_parser_init(&p);
	ck_assert_int_eq(FEED(&p, "220-Welcome"), FTP_REPLY_MORE);
	ck_assert_int_eq(p.code, 220);
	ck_assert(p.in_multiline);
	ck_assert_int_eq(FEED(&p, "230 another code"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "220-same code, dash"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "220x"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "2200 not the end"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, " 220 indented"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "22"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, ""), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "\0\xff garbage"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "999 nonsense"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "220 done"), FTP_REPLY_DONE);
	/* CODE and LINES stay readable after DONE. */
	ck_assert_int_eq(p.code, 220);
	ck_assert_uint_eq(p.lines, 11);
	ck_assert(!p.in_multiline);

	/* A new reply starts right away; a bare "ddd" ends it too. */
	ck_assert_int_eq(FEED(&p, "211-Features:"), FTP_REPLY_MORE);
	ck_assert_int_eq(p.code, 211);
	ck_assert_uint_eq(p.lines, 1);
	ck_assert_int_eq(FEED(&p, " EPSV"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "211"), FTP_REPLY_DONE);
	ck_assert_uint_eq(p.lines, 3);

	/* "ddd-" with nothing after it opens a multi-line reply. */
	ck_assert_int_eq(FEED(&p, "250-"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "250 "), FTP_REPLY_DONE);
}
END_TEST

START_TEST(test_reply_line_limits)
{
	struct ftp_reply_parser p;
	char *line = malloc(FTP_LINE_MAX + 1);

	ck_assert_ptr_nonnull(line);
	memset(line, 'x', FTP_LINE_MAX + 1);
	memcpy(line, "200 ", 4);
	ftp_reply_parser_init(&p);
	ck_assert_int_eq(ftp_reply_feed(&p, line, FTP_LINE_MAX), FTP_REPLY_DONE);
	ck_assert_int_eq(ftp_reply_feed(&p, line, FTP_LINE_MAX + 1), FTP_REPLY_BAD);

	/* An overlong line inside a multi-line reply kills it. */
	ck_assert_int_eq(FEED(&p, "200-a"), FTP_REPLY_MORE);
	line[0] = ' ';          /* an inner line, not the "200 " end */
	ck_assert_int_eq(ftp_reply_feed(&p, line, FTP_LINE_MAX), FTP_REPLY_MORE);
	ck_assert_int_eq(ftp_reply_feed(&p, line, FTP_LINE_MAX + 1), FTP_REPLY_BAD);
	ck_assert(!p.in_multiline);
	/* ... and what follows is a new reply, not the old one's end. */
	ck_assert_int_eq(FEED(&p, "x"), FTP_REPLY_BAD);
	ck_assert_int_eq(FEED(&p, "200 a"), FTP_REPLY_DONE);
	free(line);
}
END_TEST

START_TEST(test_reply_max_lines)
{
	struct ftp_reply_parser p;

	/* FTP_REPLY_MAX_LINES in all, terminator included: accepted. */
	ftp_reply_parser_init(&p);
	ck_assert_int_eq(FEED(&p, "214-help"), FTP_REPLY_MORE);
	for (unsigned i = 0; i < FTP_REPLY_MAX_LINES - 2; i++)
		ck_assert_int_eq(FEED(&p, " line"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "214 end"), FTP_REPLY_DONE);
	ck_assert_uint_eq(p.lines, FTP_REPLY_MAX_LINES);

	/* One more line: BAD, even if that line would have ended it. */
	ck_assert_int_eq(FEED(&p, "214-help"), FTP_REPLY_MORE);
	for (unsigned i = 0; i < FTP_REPLY_MAX_LINES - 1; i++)
		ck_assert_int_eq(FEED(&p, " line"), FTP_REPLY_MORE);
	ck_assert_int_eq(FEED(&p, "214 end"), FTP_REPLY_BAD);
	ck_assert(!p.in_multiline);
	ck_assert_int_eq(FEED(&p, "220 next"), FTP_REPLY_DONE);
	ck_assert_uint_eq(p.lines, 1);
}
END_TEST

/* ---- PORT and 227 ---------------------------------------------------- */

static const struct {
	const char *arg;
	size_t len;
	const char *host;       /* NULL: must be rejected */
	uint16_t port;
} port_cases[] = {
	{ S("203,0,113,2,195,80"), "203.0.113.2", 50000 },
	{ S("0,0,0,0,0,1"), "0.0.0.0", 1 },
	{ S("255,255,255,255,255,255"), "255.255.255.255", 65535 },
	{ S("010,000,001,002,000,021"), "10.0.1.2", 21 },  /* leading zeros */
	{ S("10,0,1,2,1,0"), "10.0.1.2", 256 },
	{ S(""), NULL, 0 },
	{ S("203,0,113,2,0,0"), NULL, 0 },            /* port 0 */
	{ S("203,0,113,2,000,000"), NULL, 0 },
	{ S("256,0,113,2,195,80"), NULL, 0 },
	{ S("203,0,113,2,195,256"), NULL, 0 },
	{ S("203,0,113,2,256,0"), NULL, 0 },
	{ S("203,0,113,2,999,80"), NULL, 0 },
	{ S("0203,0,113,2,195,80"), NULL, 0 },        /* four digits */
	{ S("203,0,113,2,195,0080"), NULL, 0 },
	{ S("99999999999999999999,0,0,0,0,1"), NULL, 0 },
	{ S("203,0,113,2,195"), NULL, 0 },            /* five numbers */
	{ S("203,0,113,2,195,80,1"), NULL, 0 },       /* seven */
	{ S("203,0,113,2,195,80,"), NULL, 0 },
	{ S(",203,0,113,2,195,80"), NULL, 0 },
	{ S("203,,113,2,195,80"), NULL, 0 },
	{ S("203,0,113,2,195,"), NULL, 0 },
	{ S("-1,0,113,2,195,80"), NULL, 0 },
	{ S("+203,0,113,2,195,80"), NULL, 0 },
	{ S("203,-0,113,2,195,80"), NULL, 0 },
	{ S("203, 0,113,2,195,80"), NULL, 0 },
	{ S(" 203,0,113,2,195,80"), NULL, 0 },
	{ S("203,0,113,2,195,80 "), NULL, 0 },
	{ S("203.0.113.2,195,80"), NULL, 0 },
	{ S("0x1,0,113,2,195,80"), NULL, 0 },
	{ S("a,b,c,d,e,f"), NULL, 0 },
	{ S("203,0,113,2,195,80\0"), NULL, 0 },
	{ S("203,0,113,2,195\0,80"), NULL, 0 },
	{ S("203,0,113,2,195,80\r\n"), NULL, 0 },
	{ S("203,0,113,2,195,8a"), NULL, 0 },
	{ S(",,,,,"), NULL, 0 },
};

START_TEST(test_port_arg_decode)
{
	for (size_t i = 0; i < sizeof(port_cases) / sizeof(port_cases[0]); i++) {
		char *arg = dup_exact(port_cases[i].arg, port_cases[i].len);
		struct sockaddr_in got;
		int rc = ftp_port_arg_decode(arg, port_cases[i].len, &got);

		if (port_cases[i].host == NULL)
			ck_assert_msg(rc == -1, "case %zu accepted", i);
		else {
			struct sockaddr_in want = make_sin(port_cases[i].host,
			    port_cases[i].port);

			ck_assert_msg(rc == 0, "case %zu rejected", i);
			assert_sin_eq(&got, &want);
		}
		free(arg);
	}
}
END_TEST

START_TEST(test_port_arg_decode_bounded)
{
	/* The six numbers end at LEN even if the buffer carries on. */
	const char buf[] = "203,0,113,2,195,80";
	struct sockaddr_in got, want = make_sin("203.0.113.2", 195 * 256 + 8);

	ck_assert_int_eq(ftp_port_arg_decode(buf, sizeof(buf) - 2, &got), 0);
	assert_sin_eq(&got, &want);
	ck_assert_int_eq(ftp_port_arg_decode(buf, sizeof(buf) - 4, &got), -1);
}
END_TEST

static const struct {
	const char *text;
	size_t len;
	const char *host;
	uint16_t port;
} pasv_cases[] = {
	{ S("227 Entering Passive Mode (203,0,113,2,195,80)."), "203.0.113.2", 50000 },
	{ S("227 Entering Passive Mode (203,0,113,2,195,80)"), "203.0.113.2", 50000 },
	{ S("227 =203,0,113,2,195,80"), "203.0.113.2", 50000 },
	{ S("227 Entering Passive Mode 203,0,113,2,195,80"), "203.0.113.2", 50000 },
	{ S("227 203,0,113,2,195,80"), "203.0.113.2", 50000 },
	{ S("227 ok (010,000,000,001,000,021)"), "10.0.0.1", 21 },
	{ S("227-Entering Passive Mode\r\n227 (203,0,113,2,195,80)"), "203.0.113.2", 50000 },
	{ S("227-Entering Passive Mode\r\n227-\r\n227 203,0,113,2,195,80."), "203.0.113.2", 50000 },
	{ S("227-Entering Passive Mode\r\n (203,0,113,2,195,80)\r\n227 done"), "203.0.113.2", 50000 },
	{ S("227-Passive\n227 (203,0,113,2,195,80)"), "203.0.113.2", 50000 },
	{ S("227 Entering Passive Mode (203,0,113,2,195,80)\r\n227 (1,2,3,4,5,6)"), "203.0.113.2", 50000 },
	{ S("227 \0\xff(203,0,113,2,195,80)"), "203.0.113.2", 50000 },
	{ S(""), NULL, 0 },
	{ S("227"), NULL, 0 },
	{ S("227 "), NULL, 0 },
	{ S("227 Entering Passive Mode"), NULL, 0 },
	{ S("200 Entering Passive Mode (203,0,113,2,195,80)"), NULL, 0 },
	{ S("2270 (203,0,113,2,195,80)"), NULL, 0 },
	{ S("227x(203,0,113,2,195,80)"), NULL, 0 },
	{ S(" 227 (203,0,113,2,195,80)"), NULL, 0 },
	{ S("227 (203,0,113,2,0,0)"), NULL, 0 },             /* port 0 */
	{ S("227 (256,0,113,2,195,80)"), NULL, 0 },
	{ S("227 (203,0,113,2,195,256)"), NULL, 0 },
	{ S("227 (203,0,113,2,195)"), NULL, 0 },
	{ S("227 (203,0,113,2,195,80,1)"), NULL, 0 },
	{ S("227 (203,0,113,2,195,80,)"), NULL, 0 },
	{ S("227 (203,0,113,2,195,0080)"), NULL, 0 },
	{ S("227 (203, 0,113,2,195,80)"), NULL, 0 },
	{ S("227 (203,0,113,2,195,-80)"), NULL, 0 },
	{ S("227 (203,0,113,2,195,+80)"), NULL, 0 },
	{ S("227 Mode v2 (203,0,113,2,195,80)"), NULL, 0 },   /* first digit rule */
	{ S("227 (203,0,113,2,195,8"), "203.0.113.2", 49928 },
	{ S("227 (203,0,113,2,195,"), NULL, 0 },
	{ S("227 (203,0,113,2,195\0,80)"), NULL, 0 },
	{ S("227-Passive\r\n228 (203,0,113,2,195,80)"), NULL, 0 },
};

START_TEST(test_227_decode)
{
	for (size_t i = 0; i < sizeof(pasv_cases) / sizeof(pasv_cases[0]); i++) {
		char *text = dup_exact(pasv_cases[i].text, pasv_cases[i].len);
		struct sockaddr_in got;
		int rc = ftp_227_decode(text, pasv_cases[i].len, &got);

		if (pasv_cases[i].host == NULL)
			ck_assert_msg(rc == -1, "case %zu accepted", i);
		else {
			struct sockaddr_in want = make_sin(pasv_cases[i].host,
			    pasv_cases[i].port);

			ck_assert_msg(rc == 0, "case %zu rejected", i);
			assert_sin_eq(&got, &want);
		}
		free(text);
	}
}
END_TEST

/* ---- EPRT and 229 ---------------------------------------------------- */

static const struct {
	const char *arg;
	size_t len;
	const char *host;
	uint16_t port;
} eprt_cases[] = {
	{ S("|1|203.0.113.2|50000|"), "203.0.113.2", 50000 },
	{ S("|2|2001:db8::1|50000|"), "2001:db8::1", 50000 },
	{ S("!1!203.0.113.2!1!"), "203.0.113.2", 1 },
	{ S("~2~::ffff:203.0.113.2~65535~"), "::ffff:203.0.113.2", 65535 },
	{ S("a1a203.0.113.2a21a"), "203.0.113.2", 21 },
	{ S("|2|2001:DB8:0:0:0:0:0:1|00021|"), "2001:db8::1", 21 },
	{ S("|2|ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255|1|"),
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 1 },
	{ S(""), NULL, 0 },
	{ S("|"), NULL, 0 },
	{ S("||||"), NULL, 0 },
	{ S("|1|"), NULL, 0 },
	{ S("|1|203.0.113.2|"), NULL, 0 },
	{ S("|1|203.0.113.2|50000"), NULL, 0 },            /* no final d */
	{ S("|1|203.0.113.2|50000||"), NULL, 0 },          /* trailing junk */
	{ S("|1|203.0.113.2|50000| "), NULL, 0 },
	{ S("|1|203.0.113.2|50000|\0"), NULL, 0 },
	{ S("|1|203.0.113.2|0|"), NULL, 0 },
	{ S("|1|203.0.113.2|65536|"), NULL, 0 },
	{ S("|1|203.0.113.2|99999|"), NULL, 0 },
	{ S("|1|203.0.113.2|050000|"), NULL, 0 },          /* six digits */
	{ S("|1|203.0.113.2|-1|"), NULL, 0 },
	{ S("|1|203.0.113.2|+21|"), NULL, 0 },
	{ S("|1|203.0.113.2| 21|"), NULL, 0 },
	{ S("|1|203.0.113.2||"), NULL, 0 },
	{ S("|1||50000|"), NULL, 0 },
	{ S("|3|203.0.113.2|50000|"), NULL, 0 },
	{ S("|0|203.0.113.2|50000|"), NULL, 0 },
	{ S("||203.0.113.2|50000|"), NULL, 0 },
	{ S("|11|203.0.113.2|50000|"), NULL, 0 },
	{ S("|1|2001:db8::1|50000|"), NULL, 0 },            /* family mismatch */
	{ S("|2|203.0.113.2|50000|"), NULL, 0 },
	{ S("|1|203.0.113.256|50000|"), NULL, 0 },
	{ S("|1|203.0.113|50000|"), NULL, 0 },
	{ S("|1| 203.0.113.2|50000|"), NULL, 0 },
	{ S("|1|203.0.113.2\0junk|50000|"), NULL, 0 },       /* NUL in address */
	{ S("|2|fe80::1%eth0|50000|"), NULL, 0 },
	{ S("|2|2001:db8:0:0:0:0:0:0:1|1|"), NULL, 0 },
	{ S("|2|0000000000000000000000000000000000000000000000000000::1|1|"), NULL, 0 },
	{ S("|1|203.0.113.2!50000!"), NULL, 0 },             /* mixed delimiters */
	{ S("1|1|203.0.113.2|50000|"), NULL, 0 },            /* digit delimiter */
	{ S("111203.0.113.2121"), NULL, 0 },
	{ S(".1.203.0.113.2.21."), NULL, 0 },
	{ S(":2:2001:db8::1:21:"), NULL, 0 },
	{ S(" 1 203.0.113.2 21 "), NULL, 0 },                /* space: 32 */
	{ S("\x7f" "1\x7f" "203.0.113.2\x7f" "21\x7f"), NULL, 0 },
	{ S("\xff" "1\xff" "203.0.113.2\xff" "21\xff"), NULL, 0 },
	{ S("\0" "1\0" "203.0.113.2\0" "21\0"), NULL, 0 },
};

START_TEST(test_eprt_arg_decode)
{
	for (size_t i = 0; i < sizeof(eprt_cases) / sizeof(eprt_cases[0]); i++) {
		char *arg = dup_exact(eprt_cases[i].arg, eprt_cases[i].len);
		struct sockaddr_storage got;
		int rc = ftp_eprt_arg_decode(arg, eprt_cases[i].len, &got);

		if (eprt_cases[i].host == NULL)
			ck_assert_msg(rc == -1, "case %zu accepted", i);
		else {
			struct sockaddr_storage want = make_ss(eprt_cases[i].host,
			    eprt_cases[i].port);

			ck_assert_msg(rc == 0, "case %zu rejected", i);
			assert_ss_eq(&got, &want);
		}
		free(arg);
	}
}
END_TEST

static const struct {
	const char *text;
	size_t len;
	int port;               /* -1: must be rejected */
} epsv_reply_cases[] = {
	{ S("229 Entering Extended Passive Mode (|||50000|)"), 50000 },
	{ S("229 Entering Extended Passive Mode (|||50000|)."), 50000 },
	{ S("229 (!!!1!)"), 1 },
	{ S("229 (~~~65535~)"), 65535 },
	{ S("229 ((((21()"), 21 },
	{ S("229 ((|||1) (|||2|)"), 2 },                    /* first good one */
	{ S("229 (|||00021|)"), 21 },
	{ S("229-Extended\r\n229 (|||50000|)"), 50000 },
	{ S("229-Extended (|||50000|)\r\n229 done"), 50000 },
	{ S("229 \0(|||50000|)"), 50000 },
	{ S(""), -1 },
	{ S("229"), -1 },
	{ S("229 "), -1 },
	{ S("229 Entering Extended Passive Mode"), -1 },
	{ S("227 (|||50000|)"), -1 },
	{ S("2290 (|||50000|)"), -1 },
	{ S("229 (|||0|)"), -1 },
	{ S("229 (|||65536|)"), -1 },
	{ S("229 (|||050000|)"), -1 },
	{ S("229 (|||-1|)"), -1 },
	{ S("229 (|||+1|)"), -1 },
	{ S("229 (||||)"), -1 },
	{ S("229 (|||50000|"), -1 },
	{ S("229 (|||50000)"), -1 },
	{ S("229 (|||50000!)"), -1 },
	{ S("229 (|!|50000|)"), -1 },
	{ S("229 (||50000|)"), -1 },
	{ S("229 |||50000|"), -1 },
	{ S("229 (   50000 )"), -1 },                        /* space: 32 */
	{ S("229 (11150001)"), -1 },                         /* digit delimiter */
	{ S("229 (...50000.)"), -1 },
	{ S("229 (:::50000:)"), -1 },
	{ S("229 (\x7f\x7f\x7f" "50000\x7f)"), -1 },
	{ S("229 (|||50000|)" "\0"), 50000 },
	{ S("229 (|||5\0" "0000|)"), -1 },
	{ S("229 (|||"), -1 },
	{ S("229 ("), -1 },
};

START_TEST(test_229_decode)
{
	for (size_t i = 0; i < sizeof(epsv_reply_cases) / sizeof(epsv_reply_cases[0]); i++) {
		char *text = dup_exact(epsv_reply_cases[i].text, epsv_reply_cases[i].len);
		uint16_t port = 0;
		int rc = ftp_229_decode(text, epsv_reply_cases[i].len, &port);

		if (epsv_reply_cases[i].port == -1)
			ck_assert_msg(rc == -1, "case %zu accepted", i);
		else {
			ck_assert_msg(rc == 0, "case %zu rejected", i);
			ck_assert_int_eq(port, epsv_reply_cases[i].port);
		}
		free(text);
	}
}
END_TEST

/* ---- Formatters ------------------------------------------------------ */

/* Every formatter: the exact text; the smallest buffer that fits; one
 * byte less gives -1 and an empty string; size 0 touches nothing. */
static void
assert_format(int (*fmt)(char *, size_t, const void *), const void *arg,
    const char *want)
{
	size_t n = strlen(want);
	char buf[128];
	char *exact;

	ck_assert_int_eq(fmt(buf, sizeof(buf), arg), (int)n);
	ck_assert_str_eq(buf, want);

	exact = malloc(n + 1);
	ck_assert_ptr_nonnull(exact);
	ck_assert_int_eq(fmt(exact, n + 1, arg), (int)n);
	ck_assert_str_eq(exact, want);
	memset(exact, 'x', n + 1);
	ck_assert_int_eq(fmt(exact, n, arg), -1);
	ck_assert_int_eq(exact[0], '\0');
	memset(exact, 'x', n + 1);
	ck_assert_int_eq(fmt(exact, 1, arg), -1);
	ck_assert_int_eq(exact[0], '\0');
	ck_assert_int_eq(exact[1], 'x');
	ck_assert_int_eq(fmt(NULL, 0, arg), -1);
	free(exact);
}

static int
fmt_port(char *buf, size_t size, const void *arg)
{
	return ftp_port_format(buf, size, arg);
}

static int
fmt_227(char *buf, size_t size, const void *arg)
{
	return ftp_227_format(buf, size, arg);
}

static int
fmt_eprt(char *buf, size_t size, const void *arg)
{
	return ftp_eprt_format(buf, size, arg);
}

static int
fmt_229(char *buf, size_t size, const void *arg)
{
	return ftp_229_format(buf, size, *(const uint16_t *)arg);
}

START_TEST(test_formatters)
{
	struct sockaddr_in sin = make_sin("203.0.113.2", 50000);
	struct sockaddr_in low = make_sin("0.0.0.0", 1);
	struct sockaddr_in high = make_sin("255.255.255.255", 65535);
	struct sockaddr_storage v4 = make_ss("203.0.113.2", 50000);
	struct sockaddr_storage v6 = make_ss("2001:db8::1", 21);
	struct sockaddr_storage mapped = make_ss("::ffff:10.0.0.1", 2121);
	uint16_t port = 50000, port_max = 65535;

	assert_format(fmt_port, &sin, "PORT 203,0,113,2,195,80");
	assert_format(fmt_port, &low, "PORT 0,0,0,0,0,1");
	assert_format(fmt_port, &high, "PORT 255,255,255,255,255,255");
	assert_format(fmt_227, &sin, "227 Entering Passive Mode (203,0,113,2,195,80).");
	assert_format(fmt_227, &high, "227 Entering Passive Mode (255,255,255,255,255,255).");
	assert_format(fmt_eprt, &v4, "EPRT |1|203.0.113.2|50000|");
	assert_format(fmt_eprt, &v6, "EPRT |2|2001:db8::1|21|");
	assert_format(fmt_eprt, &mapped, "EPRT |2|::ffff:10.0.0.1|2121|");
	assert_format(fmt_229, &port, "229 Entering Extended Passive Mode (|||50000|)");
	assert_format(fmt_229, &port_max, "229 Entering Extended Passive Mode (|||65535|)");
}
END_TEST

START_TEST(test_eprt_format_bad_family)
{
	struct sockaddr_storage ss;
	char buf[64];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(ftp_eprt_format(buf, sizeof(buf), (struct sockaddr *)&ss), -1);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq(ftp_eprt_format(NULL, 0, (struct sockaddr *)&ss), -1);
}
END_TEST

/* ---- Round trips ----------------------------------------------------- */

static const struct {
	const char *host;
	uint16_t port;
} round_trip_addrs[] = {
	{ "203.0.113.2", 50000 },
	{ "0.0.0.0", 1 },
	{ "255.255.255.255", 65535 },
	{ "10.0.0.1", 256 },
	{ "127.0.0.1", 255 },
	{ "2001:db8::1", 50000 },
	{ "::", 1 },
	{ "::1", 65535 },
	{ "::ffff:203.0.113.2", 21 },
	{ "fe80::1:2:3:4", 2121 },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535 },
};

START_TEST(test_round_trips)
{
	for (size_t i = 0; i < sizeof(round_trip_addrs) / sizeof(round_trip_addrs[0]); i++) {
		struct sockaddr_storage ss = make_ss(round_trip_addrs[i].host,
		    round_trip_addrs[i].port), ss_back;
		char buf[128];
		int n;
		uint16_t port;

		/* EPRT, both families; skip "EPRT ". */
		n = ftp_eprt_format(buf, sizeof(buf), (struct sockaddr *)&ss);
		ck_assert_int_gt(n, 5);
		ck_assert_int_eq(ftp_eprt_arg_decode(buf + 5, (size_t)n - 5, &ss_back), 0);
		assert_ss_eq(&ss_back, &ss);

		n = ftp_229_format(buf, sizeof(buf), round_trip_addrs[i].port);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(ftp_229_decode(buf, (size_t)n, &port), 0);
		ck_assert_uint_eq(port, round_trip_addrs[i].port);

		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
			struct sockaddr_in back;

			n = ftp_port_format(buf, sizeof(buf), sin);
			ck_assert_int_gt(n, 5);
			ck_assert_int_eq(ftp_port_arg_decode(buf + 5, (size_t)n - 5, &back), 0);
			assert_sin_eq(&back, sin);

			n = ftp_227_format(buf, sizeof(buf), sin);
			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(ftp_227_decode(buf, (size_t)n, &back), 0);
			assert_sin_eq(&back, sin);
		}
	}
}
END_TEST

/* ---- Fuzzer regressions ---------------------------------------------- */

/* Found by tests/fuzz/run.sh: a "229-" reply whose inner lines (short
 * codes, "422", blanks, bytes >= 0x80) run past FTP_REPLY_MAX_LINES. The
 * line that overflows is counted and refused; the next line is a new
 * reply, not part of the refused one. */
START_TEST(test_fuzz_reply_overflow)
{
	static const struct {
		const char *line;
		size_t len;
	} inner[] = {
		{ S("/2\r0(!!!ded1\r0((!!!ded1M0(!!! (!!!d2") }, { S("21 ") },
		{ S("422") }, { S("") }, { S("42!") }, { S("4\x93" "2") },
		{ S("2\x9d\0 ") }, { S("229-") },
	};
	struct ftp_reply_parser p;
	enum ftp_reply_status st = FTP_REPLY_MORE;
	unsigned fed = 1;

	ftp_reply_parser_init(&p);
	ck_assert_int_eq(FEED(&p, "229-Extend"), FTP_REPLY_MORE);
	while (st == FTP_REPLY_MORE) {
		size_t i = fed % (sizeof(inner) / sizeof(inner[0]));

		st = feed(&p, inner[i].line, inner[i].len);
		fed++;
	}
	ck_assert_int_eq(st, FTP_REPLY_BAD);
	ck_assert_uint_eq(fed, FTP_REPLY_MAX_LINES + 1);
	ck_assert_uint_eq(p.lines, FTP_REPLY_MAX_LINES + 1);
	ck_assert(!p.in_multiline);
	ck_assert_int_eq(FEED(&p, "229 (|||50000|)"), FTP_REPLY_DONE);
	ck_assert_uint_eq(p.lines, 1);
}
END_TEST

Suite *
suite_ftp_proto(void)
{
	Suite *s = suite_create("ftp_proto");
	TCase *tc_telnet = tcase_create("telnet");
	TCase *tc_cmd = tcase_create("command");
	TCase *tc_reply = tcase_create("reply");
	TCase *tc_addr = tcase_create("address");
	TCase *tc_fmt = tcase_create("format");

	tcase_add_test(tc_telnet, test_telnet_strip);
	tcase_add_test(tc_telnet, test_telnet_escape);
	suite_add_tcase(s, tc_telnet);

	tcase_add_test(tc_cmd, test_command_parse_ok);
	tcase_add_test(tc_cmd, test_command_parse_bad);
	tcase_add_test(tc_cmd, test_command_parse_every_verb);
	tcase_add_test(tc_cmd, test_command_arg_not_terminated);
	tcase_add_test(tc_cmd, test_verb_name_and_transfer);
	tcase_add_test(tc_cmd, test_command_matches);
	tcase_add_test(tc_cmd, test_command_matches_edges);
	tcase_add_test(tc_cmd, test_verb_canonical);
	tcase_add_test(tc_cmd, test_before_login);
	tcase_add_test(tc_cmd, test_epsv_arg_parse);
	suite_add_tcase(s, tc_cmd);

	tcase_add_test(tc_reply, test_reply_single_line);
	tcase_add_test(tc_reply, test_reply_bad_first_line);
	tcase_add_test(tc_reply, test_reply_multiline);
	tcase_add_test(tc_reply, test_reply_line_limits);
	tcase_add_test(tc_reply, test_reply_max_lines);
	tcase_add_test(tc_reply, test_fuzz_reply_overflow);
	suite_add_tcase(s, tc_reply);

	tcase_add_test(tc_addr, test_port_arg_decode);
	tcase_add_test(tc_addr, test_port_arg_decode_bounded);
	tcase_add_test(tc_addr, test_227_decode);
	tcase_add_test(tc_addr, test_eprt_arg_decode);
	tcase_add_test(tc_addr, test_229_decode);
	tcase_add_test(tc_addr, test_round_trips);
		suite_add_tcase(s, tc_addr);

	tcase_add_test(tc_fmt, test_formatters);
	tcase_add_test(tc_fmt, test_eprt_format_bad_family);
	suite_add_tcase(s, tc_fmt);
	return s;
}
