/* fuzz_ftp_proto.c: libFuzzer target for src/ftp_proto.c. Every parser
 * gets the input in a heap buffer of exactly its size, so ASan reports any
 * read past (ptr, len); decodes that succeed must survive a format and
 * decode round trip unchanged. Build and run with tests/fuzz/run.sh. */
#include "config.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ftp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than assert(): the check must hold in NDEBUG builds too. */
#define REQUIRE(cond)	do { if (!(cond)) abort(); } while (0)

static char *
copy_exact(const char *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);

	REQUIRE(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	return copy;
}

static void
fuzz_telnet(const char *data, size_t size)
{
	char *buf = copy_exact(data, size);
	size_t n = ftp_telnet_strip(buf, size);

	REQUIRE(n <= size);
	free(buf);
}

static void
check_port_round_trip(const struct sockaddr_in *sin)
{
	char buf[64];
	struct sockaddr_in back;
	int n = ftp_port_format(buf, sizeof(buf), sin);

	REQUIRE(n > 5 && memcmp(buf, "PORT ", 5) == 0);
	REQUIRE(ftp_port_arg_decode(buf + 5, (size_t)n - 5, &back) == 0);
	REQUIRE(memcmp(&back, sin, sizeof(back)) == 0);

	n = ftp_227_format(buf, sizeof(buf), sin);
	REQUIRE(n > 0);
	REQUIRE(ftp_227_decode(buf, (size_t)n, &back) == 0);
	REQUIRE(memcmp(&back, sin, sizeof(back)) == 0);
}

static void
check_eprt_round_trip(const struct sockaddr_storage *ss)
{
	char buf[128];
	struct sockaddr_storage back;
	int n = ftp_eprt_format(buf, sizeof(buf), (const struct sockaddr *)ss);

	REQUIRE(n > 5 && memcmp(buf, "EPRT ", 5) == 0);
	REQUIRE(ftp_eprt_arg_decode(buf + 5, (size_t)n - 5, &back) == 0);
	REQUIRE(back.ss_family == ss->ss_family);
	if (ss->ss_family == AF_INET)
		REQUIRE(memcmp(&back, ss, sizeof(struct sockaddr_in)) == 0);
	else
		REQUIRE(memcmp(&back, ss, sizeof(struct sockaddr_in6)) == 0);
}

static void
check_229_round_trip(uint16_t port)
{
	char buf[64];
	uint16_t back;
	int n = ftp_229_format(buf, sizeof(buf), port);

	REQUIRE(n > 0);
	REQUIRE(ftp_229_decode(buf, (size_t)n, &back) == 0);
	REQUIRE(back == port);
}

/* The decoders on one argument or reply text. */
static void
fuzz_decoders(const char *data, size_t size)
{
	char *buf = copy_exact(data, size);
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	uint16_t port;

	if (ftp_port_arg_decode(buf, size, &sin) == 0)
		check_port_round_trip(&sin);
	if (ftp_227_decode(buf, size, &sin) == 0)
		check_port_round_trip(&sin);
	if (ftp_eprt_arg_decode(buf, size, &ss) == 0)
		check_eprt_round_trip(&ss);
	if (ftp_229_decode(buf, size, &port) == 0)
		check_229_round_trip(port);
	(void)ftp_epsv_arg_parse(buf, size);
	free(buf);
}

static void
fuzz_command(const char *data, size_t size)
{
	static const char *const patterns[] = {
		"SITE EXEC", "DELE", "SITE CHMOD 777", "site  exec ", "", " ",
	};
	char *line = copy_exact(data, size);
	struct ftp_command cmd, again;
	char *pattern, *rebuilt;
	size_t name_len;

	if (ftp_command_parse(line, size, &cmd) == -1) {
		free(line);
		return;
	}
	name_len = strlen(cmd.name);
	REQUIRE(name_len == 3 || name_len == 4);
	REQUIRE(cmd.arg_len <= size);
	REQUIRE(cmd.verb == FTP_V_UNKNOWN ||
	    strcmp(ftp_verb_name(cmd.verb), cmd.name) == 0);
	(void)ftp_verb_is_transfer(cmd.verb);
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		(void)ftp_command_matches(&cmd, patterns[i]);

	/* A parsed line holds no NUL, so it is a valid pattern, and a command
	 * always matches its own line. */
	pattern = malloc(size + 1);
	REQUIRE(pattern != NULL);
	memcpy(pattern, line, size);
	pattern[size] = '\0';
	REQUIRE(ftp_command_matches(&cmd, pattern));
	free(pattern);

	/* Name and argument put back together parse to the same command. */
	rebuilt = malloc(name_len + 1 + cmd.arg_len);
	REQUIRE(rebuilt != NULL);
	memcpy(rebuilt, cmd.name, name_len);
	rebuilt[name_len] = ' ';
	memcpy(rebuilt + name_len + 1, cmd.arg, cmd.arg_len);
	REQUIRE(ftp_command_parse(rebuilt, name_len + 1 + cmd.arg_len, &again) == 0);
	REQUIRE(again.verb == cmd.verb && strcmp(again.name, cmd.name) == 0);
	REQUIRE(again.arg_len == cmd.arg_len &&
	    memcmp(again.arg, cmd.arg, cmd.arg_len) == 0);
	free(rebuilt);

	/* The argument as a PORT, EPRT or EPSV argument. */
	fuzz_decoders(cmd.arg, cmd.arg_len);
	free(line);
}

static void
fuzz_replies(const char *data, size_t size)
{
	struct ftp_reply_parser p;
	size_t start = 0;

	ftp_reply_parser_init(&p);
	while (start <= size) {
		const char *nl = memchr(data + start, '\n', size - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - start;
		char *line;
		enum ftp_reply_status st;

		if (len > 0 && data[start + len - 1] == '\r')
			len--;
		line = copy_exact(data + start, len);
		st = ftp_reply_feed(&p, line, len);
		REQUIRE(st == FTP_REPLY_BAD || st == FTP_REPLY_MORE ||
		    st == FTP_REPLY_DONE);
		/* The line that overflows a reply is counted, then refused. */
		REQUIRE(p.lines <= FTP_REPLY_MAX_LINES ||
		    (st == FTP_REPLY_BAD && p.lines == FTP_REPLY_MAX_LINES + 1));
		REQUIRE(st == FTP_REPLY_MORE || !p.in_multiline);
		REQUIRE(st == FTP_REPLY_BAD || (p.code >= 100 && p.code <= 599));
		free(line);
		if (nl == NULL)
			break;
		start = end + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	fuzz_telnet(text, size);
	fuzz_command(text, size);
	fuzz_replies(text, size);
	fuzz_decoders(text, size);
	return 0;
}
