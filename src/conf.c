/* conf.c: load ftpgw.conf into an immutable, reference-counted snapshot.
 *
 * Three passes over one copy of the file:
 *  1. A pre-lexer with libconfuse's own tokenising rules. libconfuse 3.3
 *     miscounts lines after every comment (+1 per '#' or '//' comment, +1
 *     per block comment), silently accepts a missing '}' at the end of the
 *     file, and an unterminated "string" at the end. The pre-lexer blanks the
 *     comments out (keeping the newlines, so libconfuse's line numbers come
 *     out right), reports unclosed braces, strings and comments, and notes
 *     the line where each section opens and each key is assigned
 *     (cfg_opt_t keeps no line).
 *  2. libconfuse parses the blanked text. Syntax, unknown keys, enum values
 *     and integer ranges are checked here; the first error stops it.
 *  3. The values are copied into struct config and every semantic rule is
 *     checked, reporting all failures, not just the first.
 * Every message is "FILE:LINE: what" (or "FILE: what" when no line applies)
 * on the caller's stream. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "portmap.h"

/* No sane ftpgw.conf comes near this; a bigger file is a mistake. */
#define CONF_MAX_SIZE (1024 * 1024)

#define TLS_WIRE_1_2 0x0303
#define TLS_WIRE_1_3 0x0304

/* Where KEY = ... is written: in the root (section -1) or in the Nth
 * section of the file. */
struct key_line {
	int section;
	char key[32];            /* every key of the schema fits */
	int line;
};

/* A libconfuse section and its place in the file. */
struct sec_line {
	const cfg_t *sec;
	int section;             /* index into section_lines */
};

/* The state of one config_load() call. */
struct loader {
	const char *path;
	FILE *err;
	unsigned nerrors;
	bool garbled;            /* unterminated string or comment */

	/* From the pre-lexer: the opening line of each section in file
	 * order, and the line of every assignment. */
	int *section_lines;
	size_t nsection_lines;
	struct key_line *key_lines;
	size_t nkey_lines;

	/* Collected while libconfuse parses. */
	size_t sections_closed;  /* how many sections libconfuse has closed */
	struct sec_line *sec_lines;
	size_t nsec_lines;
};

/* libconfuse's callbacks carry no user pointer. Its lexer is global state,
 * so config_load() cannot run twice at once anyway; the loader of the call
 * in progress lives here. */
static struct loader *active_loader;

static void conf_error(struct loader *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		fprintf(ld->err, "%s:%d: ", ld->path, line);
	else
		fprintf(ld->err, "%s: ", ld->path);
	va_start(ap, fmt);
	vfprintf(ld->err, fmt, ap);
	va_end(ap);
	fputc('\n', ld->err);
	ld->nerrors++;
}

/* libconfuse's error function: the same format as ours, plus the section
 * the error is in, so "no such option 'x'" says where. */
static void conf_errfunc(cfg_t *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct loader *ld = active_loader;
	FILE *out = ld != NULL ? ld->err : stderr;
	const char *path = ld != NULL ? ld->path : "config";

	if (cfg != NULL && cfg->line > 0)
		fprintf(out, "%s:%d: ", path, cfg->line);
	else
		fprintf(out, "%s: ", path);
	if (cfg != NULL && cfg->name != NULL && strcmp(cfg->name, "root") != 0) {
		if (cfg->title != NULL)
			fprintf(out, "%s \"%s\": ", cfg->name, cfg->title);
		else
			fprintf(out, "%s: ", cfg->name);
	}
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	if (ld != NULL)
		ld->nerrors++;
}

/* Grow the array that ARRAYP points to (a T **) of *N elements of SIZE
 * bytes by one and return the new element; NULL when out of memory.
 * Doubling is not worth it for a few dozen entries. The pointer is copied
 * with memcpy rather than cast to void **, which would break aliasing. */
static void *
array_push(void *arrayp, size_t *n, size_t size)
{
	void *array, *grown;

	memcpy(&array, arrayp, sizeof(array));
	if ((grown = reallocarray(array, *n + 1, size)) == NULL)
		return NULL;
	memcpy(arrayp, &grown, sizeof(grown));
	return (char *)grown + (*n)++ * size;
}

/*
 * Pass 1: the pre-lexer. It follows libconfuse 3.3's flex rules (lexer.l):
 * '#' always starts a comment outside strings; '//' only when the run of
 * slashes is not part of a longer unquoted word ("a//b" and "//x" are words
 * to libconfuse); '/' '*' starts a block comment that ends at the next
 * '*' '/'; strings are "..." or '...' with backslash escapes; unquoted words
 * are runs of anything but  #"'\t\n\r={}()+,* ; '{' after '=' or '+=' opens
 * a list, any other '{' a section.
 */

static bool
is_word_char(char c)
{
	return strchr(" #\"'\t\n\r={}()+,*", c) == NULL;
}

static size_t
word_length(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_word_char(s[i]))
		i++;
	return i;
}

/* Replace TEXT[FROM..TO) by spaces, keeping newlines; returns the number of
 * newlines kept. */
static int
blank_out(char *text, size_t from, size_t to)
{
	int newlines = 0;

	for (size_t i = from; i < to; i++) {
		if (text[i] == '\n')
			newlines++;
		else
			text[i] = ' ';
	}
	return newlines;
}

struct open_brace {
	int line;
	bool section;
};

/* Note that KEY (LEN bytes) is assigned on LINE in SECTION. */
static int
note_key(struct loader *ld, int section, const char *key, size_t len,
    int line)
{
	struct key_line *kl;

	if (len >= sizeof(kl->key))
		return 0;        /* not a key of ours: libconfuse will say so */
	kl = array_push(&ld->key_lines, &ld->nkey_lines, sizeof(*kl));
	if (kl == NULL)
		return -1;
	kl->section = section;
	memcpy(kl->key, key, len);
	kl->key[len] = '\0';
	kl->line = line;
	return 0;
}

static void
prelex(struct loader *ld, char *text, size_t len)
{
	struct open_brace *stack = NULL;
	size_t depth = 0, i = 0;
	int line = 1;
	char prev = 0;           /* the previous token: '=', '+', 'w'ord, ... */
	const char *word = NULL; /* the last word or string, for keys */
	size_t word_len = 0;
	int word_line = 0;
	int section = -1;        /* the top-level section we are in */

	while (i < len) {
		char c = text[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == ' ' || c == '\t') {
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < len &&
		    text[i + 1] == '/' &&
		    strspn(text + i, "/") >= word_length(text + i, len - i))) {
			size_t end = i;

			while (end < len && text[end] != '\n')
				end++;
			blank_out(text, i, end);
			i = end;
		} else if (c == '/' && i + 1 < len && text[i + 1] == '*') {
			size_t end = i + 2;

			while (end + 1 < len &&
			    !(text[end] == '*' && text[end + 1] == '/'))
				end++;
			if (end + 1 >= len) {
				conf_error(ld, line, "unterminated comment: no '*/' "
				    "before the end of the file");
				ld->garbled = true;
				break;
			}
			line += blank_out(text, i, end + 2);
			i = end + 2;
		} else if (c == '"' || c == '\'') {
			int start = line;
			size_t j = i + 1;

			while (j < len && text[j] != c) {
				if (text[j] == '\\' && j + 1 < len)
					j++;
				if (text[j] == '\n')
					line++;
				j++;
			}
			if (j >= len) {
				conf_error(ld, start, "unterminated string: no "
				    "closing %c before the end of the file", c);
				ld->garbled = true;
				break;
			}
			word = text + i + 1;
			word_len = j - i - 1;
			word_line = start;
			i = j + 1;
			prev = 'w';
		} else if (c == '{') {
			struct open_brace *b = array_push(&stack, &depth,
			    sizeof(*stack));

			if (b == NULL)
				goto nomem;
			b->line = line;
			b->section = prev != '=' && prev != '+';
			if (b->section) {
				int *l = array_push(&ld->section_lines,
				    &ld->nsection_lines, sizeof(int));

				if (l == NULL)
					goto nomem;
				*l = line;
				if (depth == 1)
					section = (int)ld->nsection_lines - 1;
			}
			prev = '{';
			i++;
		} else if (c == '}') {
			/* A stray '}' is libconfuse's to report. */
			if (depth > 0 && --depth == 0)
				section = -1;
			prev = '}';
			i++;
		} else if (c == '=' || (c == '+' && i + 1 < len &&
		    text[i + 1] == '=')) {
			if (prev == 'w' && note_key(ld, section, word, word_len,
			    word_line) == -1)
				goto nomem;
			prev = c;
			i += c == '+' ? 2 : 1;
		} else if (c == ',' || c == '(' || c == ')') {
			prev = c;
			i++;
		} else if (c == '$' && i + 1 < len && text[i + 1] == '{' &&
		    memchr(text + i, '}', len - i) != NULL) {
			/* ${VAR}: libconfuse's environment substitution. */
			const char *close = memchr(text + i, '}', len - i);

			word = text + i;
			word_len = (size_t)(close - word) + 1;
			word_line = line;
			for (const char *p = text + i; p < close; p++)
				if (*p == '\n')
					line++;
			i = (size_t)(close - text) + 1;
			prev = 'w';
		} else if (is_word_char(c)) {
			word = text + i;
			word_len = word_length(text + i, len - i);
			word_line = line;
			i += word_len;
			prev = 'w';
		} else {
			/* '*', '\r', a lone '+': libconfuse skips them too. */
			i++;
		}
	}
	if (!ld->garbled)
		for (size_t k = 0; k < depth; k++)
			conf_error(ld, stack[k].line, "missing '}': the %s "
			    "opened on this line is never closed",
			    stack[k].section ? "section" : "list");
	free(stack);
	return;
nomem:
	conf_error(ld, 0, "out of memory");
	ld->garbled = true;
	free(stack);
}

/*
 * Pass 2: libconfuse, its callbacks and the line bookkeeping.
 */

struct enum_value {
	const char *name;
	long value;
};

static const struct enum_value mode_values[] = {
	{ "redirect", MODE_REDIRECT },
	{ "tproxy", MODE_TPROXY },
	{ "reverse", MODE_REVERSE },
	{ NULL, 0 }
};

static const struct enum_value sdata_values[] = {
	{ "same", SDATA_SAME },
	{ "passive", SDATA_PASSIVE },
	{ "active", SDATA_ACTIVE },
	{ NULL, 0 }
};

static const struct enum_value application_values[] = {
	{ "ftp", APP_FTP },
	{ "ftps", APP_FTPS },
	{ "tcp", APP_TCP },
	{ NULL, 0 }
};

static const struct enum_value log_level_values[] = {
	{ "error", LL_ERROR },
	{ "warn", LL_WARN },
	{ "info", LL_INFO },
	{ "debug", LL_DEBUG },
	{ NULL, 0 }
};

static const struct enum_value client_side_values[] = {
	{ "off", TLS_CLIENT_OFF },
	{ "optional", TLS_CLIENT_OPTIONAL },
	{ "required", TLS_CLIENT_REQUIRED },
	{ NULL, 0 }
};

static const struct enum_value server_side_values[] = {
	{ "off", TLS_SERVER_OFF },
	{ "auto", TLS_SERVER_AUTO },
	{ "required", TLS_SERVER_REQUIRED },
	{ NULL, 0 }
};

static const struct enum_value min_protocol_values[] = {
	{ "TLSv1.2", TLS_WIRE_1_2 },
	{ "TLSv1.3", TLS_WIRE_1_3 },
	{ NULL, 0 }
};

static int
parse_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, long *result,
    const struct enum_value *values)
{
	char want[128] = "";

	for (const struct enum_value *v = values; v->name != NULL; v++) {
		if (strcmp(value, v->name) == 0) {
			*result = v->value;
			return 0;
		}
		if (v != values)
			strncat(want, "|", sizeof(want) - strlen(want) - 1);
		strncat(want, v->name, sizeof(want) - strlen(want) - 1);
	}
	cfg_error(cfg, "invalid value for option '%s': '%s' (%s)",
	    opt->name, value, want);
	return -1;
}

static int
parse_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, mode_values);
}

static int
parse_sdata(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, sdata_values);
}

static int
parse_application(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, application_values);
}

static int
parse_log_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, log_level_values);
}

static int
parse_client_side(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, client_side_values);
}

static int
parse_server_side(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, server_side_values);
}

static int
parse_min_protocol(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_enum(cfg, opt, value, result, min_protocol_values);
}

static cfg_opt_t listen_opts[] = {
	CFG_STR("address", "0.0.0.0", CFGF_NONE),
	CFG_INT("port", 8021, CFGF_NONE),
	CFG_INT_CB("mode", MODE_REDIRECT, CFGF_NONE, parse_mode),
	CFG_STR("upstream", NULL, CFGF_NODEFAULT),
	CFG_STR("passive-address", "original", CFGF_NONE),
	CFG_INT_CB("server-data-mode", SDATA_SAME, CFGF_NONE, parse_sdata),
	CFG_BOOL("follow-pasv-address", cfg_false, CFGF_NONE),
	CFG_STR("passive-ports", NULL, CFGF_NODEFAULT),
	CFG_STR("interface", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t port_mapping_opts[] = {
	CFG_INT_CB("application", APP_FTP, CFGF_NONE, parse_application),
	CFG_INT_LIST("ports", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("servers", "{\"0.0.0.0/0\", \"::/0\"}", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t tls_opts[] = {
	CFG_STR("certificate", NULL, CFGF_NODEFAULT),
	CFG_STR("key", NULL, CFGF_NODEFAULT),
	CFG_STR("ca-file", "/etc/ssl/certs/ca-certificates.crt", CFGF_NONE),
	CFG_INT_CB("client-side", TLS_CLIENT_OPTIONAL, CFGF_NONE,
	    parse_client_side),
	CFG_INT_CB("server-side", TLS_SERVER_AUTO, CFGF_NONE, parse_server_side),
	CFG_BOOL("verify-server", cfg_false, CFGF_NONE),
	CFG_INT_CB("min-protocol", TLS_WIRE_1_2, CFGF_NONE, parse_min_protocol),
	CFG_STR("ciphers", "", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("log-level", LL_INFO, CFGF_NONE, parse_log_level),
	CFG_STR("passive-ports", "50000-50999", CFGF_NONE),
	CFG_INT("max-sessions", 10000, CFGF_NONE),
	CFG_INT("max-sessions-per-client", 50, CFGF_NONE),
	CFG_INT("idle-timeout", 900, CFGF_NONE),
	CFG_INT("data-timeout", 60, CFGF_NONE),
	CFG_INT("connect-timeout", 10, CFGF_NONE),
	CFG_INT("shutdown-timeout", 30, CFGF_NONE),
	CFG_BOOL("strict", cfg_true, CFGF_NONE),
	CFG_STR_LIST("deny-commands", "{\"SITE EXEC\"}", CFGF_NONE),
	CFG_INT("workers", 0, CFGF_NONE),
	CFG_STR("control-socket", "/run/ftpgw/ftpgw.sock", CFGF_NONE),
	CFG_STR("metrics-listen", "", CFGF_NONE),
	CFG_STR("log-facility", "daemon", CFGF_NONE),
	CFG_STR("transfer-log", "", CFGF_NONE),
	CFG_SEC("listen", listen_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("port-mapping", port_mapping_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("tls", tls_opts, CFGF_NONE),
	CFG_END()
};

/* Integer options and their ranges, by option name (unique across the
 * sections). */
static const struct {
	const char *name;
	long min, max;
} int_ranges[] = {
	{ "port", 1, 65535 },
	{ "ports", 1, 65535 },
	{ "max-sessions", 1, 1000000 },
	{ "max-sessions-per-client", 1, 1000000 },
	{ "idle-timeout", 1, 604800 },
	{ "data-timeout", 1, 86400 },
	{ "connect-timeout", 1, 600 },
	{ "shutdown-timeout", 0, 86400 },
	{ "workers", 0, 256 },
};

/* Where the options of int_ranges live, for cfg_set_validate_func(). */
static const char *const ranged_paths[] = {
	"listen|port", "port-mapping|ports", "max-sessions",
	"max-sessions-per-client", "idle-timeout", "data-timeout",
	"connect-timeout", "shutdown-timeout", "workers",
};

/* Called by libconfuse right after it stores a value, while its line
 * counter still points at that value, so the error has the right line. */
static int
validate_range(cfg_t *cfg, cfg_opt_t *opt)
{
	for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++) {
		if (strcmp(opt->name, int_ranges[i].name) != 0)
			continue;
		for (unsigned j = 0; j < cfg_opt_size(opt); j++) {
			long v = cfg_opt_getnint(opt, j);

			if (v < int_ranges[i].min || v > int_ranges[i].max) {
				cfg_error(cfg, "option '%s' value %ld out of "
				    "range %ld..%ld", opt->name, v,
				    int_ranges[i].min, int_ranges[i].max);
				return -1;
			}
		}
	}
	return 0;
}

/* Called on the parent when a section closes. libconfuse has moved the
 * section's line to its closing brace by then; the pre-lexer saw the
 * sections open in the same order, so the Nth close is the Nth open. */
static int
validate_section(cfg_t *cfg, cfg_opt_t *opt)
{
	struct loader *ld = active_loader;
	const cfg_t *sec;
	struct sec_line *sl;
	size_t k;

	if (ld == NULL || cfg_opt_size(opt) == 0)
		return 0;
	sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	k = ld->sections_closed++;
	if (k >= ld->nsection_lines)
		return 0;
	sl = array_push(&ld->sec_lines, &ld->nsec_lines, sizeof(*sl));
	if (sl == NULL) {
		cfg_error(cfg, "out of memory");
		return -1;
	}
	sl->sec = sec;
	sl->section = (int)k;
	return 0;
}

/* The pre-lexer's number for SEC: -1 for the root, -2 if unknown. */
static int
section_index(const struct loader *ld, const cfg_t *sec)
{
	if (sec->name != NULL && strcmp(sec->name, "root") == 0)
		return -1;
	/* The last match: two tls { } blocks are one libconfuse section. */
	for (size_t i = ld->nsec_lines; i > 0; i--)
		if (ld->sec_lines[i - 1].sec == sec)
			return ld->sec_lines[i - 1].section;
	return -2;
}

/* The line where SEC opens; 0 for the root (no line: "FILE: what"). */
static int
section_line(const struct loader *ld, const cfg_t *sec)
{
	int k = section_index(ld, sec);

	if (k == -1)
		return 0;
	return k >= 0 ? ld->section_lines[k] : sec->line;
}

/* The line of the last "NAME = " in SEC, or where SEC opens when NAME was
 * left at its default. */
static int
option_line(const struct loader *ld, cfg_t *sec, const char *name)
{
	int k = section_index(ld, sec);

	for (size_t i = ld->nkey_lines; k != -2 && i > 0; i--)
		if (ld->key_lines[i - 1].section == k &&
		    strcmp(ld->key_lines[i - 1].key, name) == 0)
			return ld->key_lines[i - 1].line;
	return section_line(ld, sec);
}

/*
 * Pass 3: the snapshot and the semantic checks.
 */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* "SITE EXEC", "DELE": a verb of 3-4 letters, then optional words, each
 * after one space. The verb is stored upper-case, as the session matches
 * FTP verbs. Returns a copy or NULL (errno 0 when malformed). */
static char *
deny_command_parse(const char *s)
{
	size_t verb = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz");
	char *copy;

	errno = 0;
	if (verb < 3 || verb > 4 || (s[verb] != '\0' && s[verb] != ' '))
		return NULL;
	for (const char *p = s + verb; *p != '\0'; p++) {
		if (*p == ' ') {
			/* Exactly one space, then a word. */
			if (p[1] == ' ' || p[1] == '\0')
				return NULL;
		} else if (!isgraph((unsigned char)*p))
			return NULL;
	}
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (size_t i = 0; i < verb; i++)
		copy[i] = (char)toupper((unsigned char)copy[i]);
	return copy;
}

/* A bare numeric host, no port: "192.0.2.1", "::", "[2001:db8::1]". */
static int
host_parse(const char *s, struct sockaddr_storage *out)
{
	if (addr_parse(s, false, out) == -1)
		return -1;
	return addr_port((struct sockaddr *)out) == 0 ? 0 : -1;
}

/* A Linux interface name (IFNAMSIZ - 1 bytes at most), restricted to the
 * characters that are safe unquoted in a shell and in an nft file. */
static bool
interface_name_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strlen(s);
	return len >= 1 && len <= 15 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/* Out of memory while copying: reported like any other error so the load
 * fails cleanly. Returns false so callers can "return oom(ld)". */
static bool
oom(struct loader *ld)
{
	conf_error(ld, 0, "out of memory");
	return false;
}

/* The keys operators use to watch the gateway: control socket, metrics,
 * syslog facility, transfer log. */
static bool
snap_operations(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	static const char *const facilities[] = { "daemon", "user", "local0",
	    "local1", "local2", "local3", "local4", "local5", "local6", "local7" };
	const char *sock = cfg_getstr(cfg, "control-socket");
	const char *metrics = cfg_getstr(cfg, "metrics-listen");
	const char *facility = cfg_getstr(cfg, "log-facility");
	const char *xferlog = cfg_getstr(cfg, "transfer-log");
	size_t i;

	if (sock[0] != '\0' && (sock[0] != '/' || strlen(sock) >= 108))
		conf_error(ld, option_line(ld, cfg, "control-socket"),
		    "control-socket \"%s\": an absolute path of at most 107 bytes "
		    "(or \"\" for none)", sock);
	else if ((cf->control_socket = strdup(sock)) == NULL)
		return oom(ld);
	cf->has_metrics = metrics[0] != '\0';
	if (cf->has_metrics && addr_parse(metrics, true, &cf->metrics_addr) == -1)
		conf_error(ld, option_line(ld, cfg, "metrics-listen"),
		    "metrics-listen \"%s\": ADDRESS:PORT or [IPV6]:PORT (or \"\" for none)",
		    metrics);
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facility, facilities[i]) == 0)
			break;
	if (i == sizeof(facilities) / sizeof(facilities[0]))
		conf_error(ld, option_line(ld, cfg, "log-facility"),
		    "log-facility \"%s\": daemon, user or local0 ... local7", facility);
	else
		cf->log_facility = (int)i;
	if (xferlog[0] != '\0' && xferlog[0] != '/')
		conf_error(ld, option_line(ld, cfg, "transfer-log"),
		    "transfer-log \"%s\": an absolute path (or \"\" for none)", xferlog);
	else if (xferlog[0] != '\0' && (cf->transfer_log = strdup(xferlog)) == NULL)
		return oom(ld);
	return true;
}

static bool
snap_globals(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	unsigned n;

	if (cfg_size(cfg, "user") > 0) {
		const char *user = cfg_getstr(cfg, "user");

		if (user == NULL || *user == '\0')
			conf_error(ld, option_line(ld, cfg, "user"),
			    "user: empty (leave it out to stay as started)");
		else if ((cf->user = strdup(user)) == NULL)
			return oom(ld);
	}
	cf->log_level = (int)cfg_getint(cfg, "log-level");
	if (port_range_parse(cfg_getstr(cfg, "passive-ports"), &cf->pasv_lo,
	    &cf->pasv_hi) == -1)
		conf_error(ld, option_line(ld, cfg, "passive-ports"),
		    "passive-ports \"%s\" is not a port range (LO-HI or PORT, "
		    "1 <= LO <= HI <= 65535)", cfg_getstr(cfg, "passive-ports"));
	/* The ranges were checked while parsing (validate_range). */
	cf->max_sessions = (unsigned)cfg_getint(cfg, "max-sessions");
	cf->max_sessions_per_client =
	    (unsigned)cfg_getint(cfg, "max-sessions-per-client");
	cf->idle_timeout = (unsigned)cfg_getint(cfg, "idle-timeout");
	cf->data_timeout = (unsigned)cfg_getint(cfg, "data-timeout");
	cf->connect_timeout = (unsigned)cfg_getint(cfg, "connect-timeout");
	cf->shutdown_timeout = (unsigned)cfg_getint(cfg, "shutdown-timeout");
	cf->strict = cfg_getbool(cfg, "strict");
	cf->workers = (unsigned)cfg_getint(cfg, "workers");
	if (!snap_operations(ld, cfg, cf))
		return false;

	n = cfg_size(cfg, "deny-commands");
	if (n > 0 && (cf->deny_commands = calloc(n, sizeof(char *))) == NULL)
		return oom(ld);
	for (unsigned i = 0; i < n; i++) {
		const char *s = cfg_getnstr(cfg, "deny-commands", i);
		char *copy = deny_command_parse(s);

		if (copy == NULL && errno != 0)
			return oom(ld);
		if (copy == NULL) {
			conf_error(ld, option_line(ld, cfg, "deny-commands"),
			    "deny-commands: \"%s\" is not a command (3-4 letters, "
			    "then optional arguments after single spaces)", s);
			continue;
		}
		cf->deny_commands[cf->n_deny_commands++] = copy;
	}
	return true;
}

static bool
snap_listen(struct loader *ld, cfg_t *sec, struct config *cf,
    struct listen_conf *lc)
{
	const char *name = cfg_title(sec);
	const char *s;
	int line = section_line(ld, sec);

	if ((lc->name = strdup(name)) == NULL)
		return oom(ld);

	s = cfg_getstr(sec, "address");
	if (host_parse(s, &lc->addr) == -1)
		conf_error(ld, option_line(ld, sec, "address"), "listen \"%s\": "
		    "address \"%s\" is not a numeric IPv4 or IPv6 address "
		    "(the port goes in 'port')", name, s);
	else
		addr_set_port((struct sockaddr *)&lc->addr,
		    (uint16_t)cfg_getint(sec, "port"));

	lc->mode = (enum listen_mode)cfg_getint(sec, "mode");
	if (cfg_size(sec, "upstream") > 0) {
		s = cfg_getstr(sec, "upstream");
		if (lc->mode != MODE_REVERSE)
			conf_error(ld, option_line(ld, sec, "upstream"),
			    "listen \"%s\": upstream is only for mode reverse "
			    "(this is mode %s)", name, listen_mode_name(lc->mode));
		else if (s == NULL || addr_parse(s, false, &lc->upstream) == -1 ||
		    addr_is_any((struct sockaddr *)&lc->upstream))
			conf_error(ld, option_line(ld, sec, "upstream"),
			    "listen \"%s\": upstream \"%s\" is not a numeric "
			    "address with an optional port (A.B.C.D[:PORT] or "
			    "[IPV6][:PORT])", name, s != NULL ? s : "");
		else {
			if (addr_port((struct sockaddr *)&lc->upstream) == 0)
				addr_set_port((struct sockaddr *)&lc->upstream, 21);
			lc->has_upstream = true;
		}
	} else if (lc->mode == MODE_REVERSE)
		conf_error(ld, line, "listen \"%s\": mode reverse needs "
		    "'upstream' (the server's address)", name);

	s = cfg_getstr(sec, "passive-address");
	if (strcmp(s, "original") == 0)
		lc->pasv_kind = PASV_ADDR_ORIGINAL;
	else if (strcmp(s, "local") == 0)
		lc->pasv_kind = PASV_ADDR_LOCAL;
	else if (host_parse(s, &lc->pasv_fixed) == 0 &&
	    !addr_is_any((struct sockaddr *)&lc->pasv_fixed))
		lc->pasv_kind = PASV_ADDR_FIXED;
	else
		conf_error(ld, option_line(ld, sec, "passive-address"),
		    "listen \"%s\": passive-address \"%s\" is not original, "
		    "local, or a numeric IPv4 or IPv6 address", name, s);

	lc->sdata = (enum server_data_mode)cfg_getint(sec, "server-data-mode");
	lc->follow_pasv_address = cfg_getbool(sec, "follow-pasv-address");

	if (cfg_size(sec, "interface") > 0) {
		s = cfg_getstr(sec, "interface");
		if (!interface_name_ok(s))
			conf_error(ld, option_line(ld, sec, "interface"),
			    "listen \"%s\": interface \"%s\" is not an interface "
			    "name (1-15 of A-Z a-z 0-9 _ . -)", name,
			    s != NULL ? s : "");
		else if ((lc->interface = strdup(s)) == NULL)
			return oom(ld);
	}

	if (cfg_size(sec, "passive-ports") > 0) {
		s = cfg_getstr(sec, "passive-ports");
		if (port_range_parse(s, &lc->pasv_lo, &lc->pasv_hi) == -1) {
			conf_error(ld, option_line(ld, sec, "passive-ports"),
			    "listen \"%s\": passive-ports \"%s\" is not a port "
			    "range (LO-HI or PORT, 1 <= LO <= HI <= 65535)",
			    name, s != NULL ? s : "");
			return true;
		}
	} else {
		lc->pasv_lo = cf->pasv_lo;
		lc->pasv_hi = cf->pasv_hi;
	}
	/* The gateway's data listeners would fight its control listener. A
	 * broken global range (0-0) has been reported already. */
	if (lc->pasv_lo != 0 && cfg_getint(sec, "port") >= lc->pasv_lo &&
	    cfg_getint(sec, "port") <= lc->pasv_hi)
		conf_error(ld, option_line(ld, sec, "port"), "listen \"%s\": "
		    "port %ld is inside passive-ports %u-%u", name,
		    cfg_getint(sec, "port"), (unsigned)lc->pasv_lo,
		    (unsigned)lc->pasv_hi);
	/* Each worker owns a slice of the range: one port at least. */
	if (lc->pasv_lo != 0 && cf->workers > (unsigned)lc->pasv_hi - lc->pasv_lo + 1)
		conf_error(ld, option_line(ld, sec, "passive-ports"), "listen \"%s\": passive-ports %u-%u has fewer ports than "
		    "workers (%u): each worker needs a slice of its own", name,
		    (unsigned)lc->pasv_lo, (unsigned)lc->pasv_hi, cf->workers);
	return true;
}

static bool
snap_listens(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	unsigned n = cfg_size(cfg, "listen");

	if (n == 0) {
		conf_error(ld, 0, "no listen section: at least one "
		    "listen \"NAME\" { ... } is needed");
		return true;
	}
	if ((cf->listens = calloc(n, sizeof(*cf->listens))) == NULL)
		return oom(ld);
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "listen", i);
		struct listen_conf *lc = &cf->listens[i];

		cf->n_listens++;
		if (!snap_listen(ld, sec, cf, lc))
			return false;
		if (lc->addr.ss_family == AF_UNSPEC)
			continue;
		for (unsigned j = 0; j < i; j++) {
			char buf[ADDR_STRLEN];

			if (!addr_equal((struct sockaddr *)&lc->addr,
			    (struct sockaddr *)&cf->listens[j].addr))
				continue;
			conf_error(ld, section_line(ld, sec), "listen \"%s\": "
			    "%s is already used by listen \"%s\"", lc->name,
			    addr_fmt((struct sockaddr *)&lc->addr, buf,
			    sizeof(buf)), cf->listens[j].name);
			break;
		}
	}
	return true;
}

static bool
snap_tls(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	cfg_t *sec = cfg_getsec(cfg, "tls");
	struct tls_conf *tls = &cf->tls;

	if (cfg_size(sec, "certificate") > 0 &&
	    (tls->certificate = dup_or_null(cfg_getstr(sec, "certificate"))) ==
	    NULL)
		return oom(ld);
	if (cfg_size(sec, "key") > 0 &&
	    (tls->key = dup_or_null(cfg_getstr(sec, "key"))) == NULL)
		return oom(ld);
	if ((tls->ca_file = dup_or_null(cfg_getstr(sec, "ca-file"))) == NULL ||
	    (tls->ciphers = dup_or_null(cfg_getstr(sec, "ciphers"))) == NULL)
		return oom(ld);
	tls->enabled = tls->certificate != NULL && *tls->certificate != '\0';
	tls->client_side = (enum tls_client_side)cfg_getint(sec, "client-side");
	tls->server_side = (enum tls_server_side)cfg_getint(sec, "server-side");
	tls->verify_server = cfg_getbool(sec, "verify-server");
	tls->min_protocol = (uint16_t)cfg_getint(sec, "min-protocol");
	return true;
}

static bool
snap_portmap(struct loader *ld, cfg_t *sec, const struct config *cf,
    struct portmap *pm)
{
	const char *name = cfg_title(sec);
	unsigned n;

	if ((pm->name = strdup(name)) == NULL)
		return oom(ld);
	n = cfg_size(sec, "ports");
	if (n == 0)
		conf_error(ld, option_line(ld, sec, "ports"), "port-mapping "
		    "\"%s\": needs ports = {PORT, ...}", name);
	else if ((pm->ports = calloc(n, sizeof(*pm->ports))) == NULL)
		return oom(ld);
	for (unsigned i = 0; i < n; i++)
		pm->ports[pm->nports++] =
		    (uint16_t)cfg_getnint(sec, "ports", i);

	n = cfg_size(sec, "servers");
	if (n == 0)
		conf_error(ld, option_line(ld, sec, "servers"), "port-mapping "
		    "\"%s\": servers is empty (leave it out for every server)",
		    name);
	else if ((pm->servers = calloc(n, sizeof(*pm->servers))) == NULL)
		return oom(ld);
	for (unsigned i = 0; i < n; i++) {
		const char *s = cfg_getnstr(sec, "servers", i);

		if (prefix_parse(s, &pm->servers[pm->nservers]) == 0)
			pm->nservers++;
		else
			conf_error(ld, option_line(ld, sec, "servers"),
			    "port-mapping \"%s\": servers \"%s\" is not an "
			    "address prefix (ADDRESS/LENGTH with the host bits "
			    "zero, or ADDRESS)", name, s);
	}

	pm->app = (enum app_kind)cfg_getint(sec, "application");
	if (pm->app == APP_FTPS && !cf->tls.enabled)
		conf_error(ld, option_line(ld, sec, "application"),
		    "port-mapping \"%s\": application ftps needs TLS "
		    "(set tls { certificate ... })", name);
	return true;
}

/* The built-in mappings after the file's: port 21 is FTP (and, with TLS,
 * port 990 implicit FTPS) wherever it goes, unless a stanza says otherwise. */
static bool
snap_default_portmap(struct loader *ld, struct portmap *pm, const char *name,
    enum app_kind app, uint16_t port)
{
	if ((pm->name = strdup(name)) == NULL ||
	    (pm->ports = calloc(1, sizeof(*pm->ports))) == NULL ||
	    (pm->servers = calloc(2, sizeof(*pm->servers))) == NULL)
		return oom(ld);
	pm->app = app;
	pm->ports[pm->nports++] = port;
	if (prefix_parse("0.0.0.0/0", &pm->servers[0]) == -1 ||
	    prefix_parse("::/0", &pm->servers[1]) == -1)
		return oom(ld);  /* cannot happen: the literals are valid */
	pm->nservers = 2;
	return true;
}

static bool
snap_portmaps(struct loader *ld, cfg_t *cfg, struct config *cf)
{
	unsigned n = cfg_size(cfg, "port-mapping");

	if ((cf->maps = calloc((size_t)n + 2, sizeof(*cf->maps))) == NULL)
		return oom(ld);
	for (unsigned i = 0; i < n; i++) {
		cf->n_maps++;
		if (!snap_portmap(ld, cfg_getnsec(cfg, "port-mapping", i), cf,
		    &cf->maps[i]))
			return false;
	}
	cf->n_maps++;
	if (!snap_default_portmap(ld, &cf->maps[n], "ftp", APP_FTP, 21))
		return false;
	if (!cf->tls.enabled)
		return true;
	cf->n_maps++;
	return snap_default_portmap(ld, &cf->maps[n + 1], "ftps", APP_FTPS, 990);
}

static void config_free(struct config *);

/* Copy every value out of CFG; NULL when anything is wrong (reported). */
static struct config *
snapshot(struct loader *ld, cfg_t *cfg)
{
	struct config *cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		oom(ld);
		return NULL;
	}
	cf->refs = 1;
	if ((cf->path = strdup(ld->path)) == NULL) {
		oom(ld);
		config_free(cf);
		return NULL;
	}
	/* TLS before the port mappings: ftps needs it. */
	if (!snap_globals(ld, cfg, cf) || !snap_listens(ld, cfg, cf) ||
	    !snap_tls(ld, cfg, cf) || !snap_portmaps(ld, cfg, cf) ||
	    ld->nerrors > 0) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/* Read all of PATH into a NUL-terminated buffer. */
static char *
read_file(struct loader *ld, size_t *lenp)
{
	FILE *fp;
	char *text;
	size_t len;

	if ((fp = fopen(ld->path, "r")) == NULL) {
		conf_error(ld, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if ((text = malloc(CONF_MAX_SIZE + 1)) == NULL) {
		fclose(fp);
		oom(ld);
		return NULL;
	}
	len = fread(text, 1, CONF_MAX_SIZE + 1, fp);
	if (ferror(fp)) {
		conf_error(ld, 0, "cannot read: %s", strerror(errno));
		len = 0;
		free(text);
		text = NULL;
	} else if (len > CONF_MAX_SIZE) {
		conf_error(ld, 0, "larger than %d bytes: not a config file",
		    CONF_MAX_SIZE);
		free(text);
		text = NULL;
	} else
		text[len] = '\0';
	fclose(fp);
	*lenp = len;
	return text;
}

/* Run libconfuse over the blanked TEXT. */
static int
parse_text(struct loader *ld, cfg_t *cfg, char *text, size_t len)
{
	FILE *fp;
	int rc;

	/* fmemopen() of 0 bytes is refused by some libcs; an empty file
	 * parses to the defaults. */
	if (len == 0)
		return CFG_SUCCESS;
	if ((fp = fmemopen(text, len, "r")) == NULL) {
		conf_error(ld, 0, "cannot parse: %s", strerror(errno));
		return CFG_PARSE_ERROR;
	}
	rc = cfg_parse_fp(cfg, fp);
	fclose(fp);
	return rc;
}

static struct config *load_text(struct loader *ld, char *text, size_t len);

struct config *
config_load(const char *path, FILE *err)
{
	struct loader ld;
	char *text;
	size_t len;

	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.err = err;
	if ((text = read_file(&ld, &len)) == NULL)
		return NULL;
	return load_text(&ld, text, len);
}

struct config *
config_parse(const char *name, const char *text, size_t len, FILE *err)
{
	struct loader ld;
	char *copy;

	memset(&ld, 0, sizeof(ld));
	ld.path = name;
	ld.err = err;
	if ((copy = malloc(len + 1)) == NULL) {
		oom(&ld);
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	return load_text(&ld, copy, len);
}

/* Parse and check TEXT (LEN bytes, NUL-terminated, ours to change and
 * free) for config_load and config_parse. */
static struct config *
load_text(struct loader *ldp, char *text, size_t len)
{
	struct loader ld = *ldp;
	struct config *cf = NULL;
	cfg_t *cfg;

	if (memchr(text, '\0', len) != NULL) {
		conf_error(&ld, 0, "contains a NUL byte: not a text file");
		free(text);
		return NULL;
	}
	prelex(&ld, text, len);

	active_loader = &ld;
	if ((cfg = cfg_init(root_opts, CFGF_NONE)) == NULL)
		oom(&ld);
	else {
		cfg_set_error_function(cfg, conf_errfunc);
		for (size_t i = 0; i < sizeof(ranged_paths) /
		    sizeof(ranged_paths[0]); i++)
			cfg_set_validate_func(cfg, ranged_paths[i],
			    validate_range);
		cfg_set_validate_func(cfg, "listen", validate_section);
		cfg_set_validate_func(cfg, "port-mapping", validate_section);
		cfg_set_validate_func(cfg, "tls", validate_section);
		/* A garbled file (open string or comment) would only give
		 * errors about the garbling. */
		if (parse_text(&ld, cfg, text, len) == CFG_SUCCESS &&
		    !ld.garbled)
			cf = snapshot(&ld, cfg);
		/* Every string read from CFG dies here: CF holds copies. */
		cfg_free(cfg);
	}
	active_loader = NULL;

	free(text);
	free(ld.section_lines);
	free(ld.key_lines);
	free(ld.sec_lines);
	if (ld.nerrors > 0) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/* The one place a snapshot's memory is released, complete or partial. */
static void
config_free(struct config *cf)
{
	if (cf == NULL)
		return;
	free(cf->path);
	free(cf->user);
	free(cf->control_socket);
	free(cf->transfer_log);
	for (size_t i = 0; i < cf->n_deny_commands; i++)
		free(cf->deny_commands[i]);
	free(cf->deny_commands);
	for (size_t i = 0; i < cf->n_listens; i++) {
		free(cf->listens[i].name);
		free(cf->listens[i].interface);
	}
	free(cf->listens);
	for (size_t i = 0; i < cf->n_maps; i++) {
		free(cf->maps[i].name);
		free(cf->maps[i].ports);
		free(cf->maps[i].servers);
	}
	free(cf->maps);
	free(cf->tls.certificate);
	free(cf->tls.key);
	free(cf->tls.ca_file);
	free(cf->tls.ciphers);
	free(cf);
}

/* Sessions on several worker threads hold the same snapshot: the count is
 * updated atomically (refs stays a plain unsigned for the header). */
struct config *
config_ref(struct config *cf)
{
	__atomic_add_fetch(&cf->refs, 1, __ATOMIC_RELAXED);
	return cf;
}

void
config_unref(struct config *cf)
{
	if (cf == NULL)
		return;
	if (__atomic_sub_fetch(&cf->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(cf);
}

const char *
listen_mode_name(enum listen_mode mode)
{
	for (const struct enum_value *v = mode_values; v->name != NULL; v++)
		if (v->value == (long)mode)
			return v->name;
	return "?";
}
