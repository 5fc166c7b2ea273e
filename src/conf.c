/* conf.c: load ftpgw.conf into an immutable, reference-counted snapshot.
 *
 * Three passes over one copy of the file:
 *  1. The pre-lexer (conf_lex.c), with libconfuse's own tokenising rules.
 *     libconfuse 3.3 miscounts lines after every comment (+1 per '#' or '//'
 *     comment, +1 per block comment), silently accepts a missing '}' at the
 *     end of the file, and an unterminated "string" at the end. The
 *     pre-lexer blanks the comments out (keeping the newlines, so
 *     libconfuse's line numbers come out right), reports unclosed braces,
 *     strings and comments, and notes the line where each section opens and
 *     each key is assigned (cfg_opt_t keeps no line).
 *  2. libconfuse parses the blanked text, with options made from the key
 *     table (conf_keys.c). Syntax, unknown keys, enum values and integer
 *     ranges are checked here; the first error stops it.
 *  3. The values are copied into struct config and every semantic rule is
 *     checked, reporting all failures, not just the first (conf_snap.c).
 * Every message is "FILE:LINE: what" (or "FILE: what" when no line applies)
 * on the caller's stream. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "conf.h"
#include "conf_int.h"
#include "conf_keys.h"
#include "conf_lex.h"
#include "conf_names.h"

/* No sane ftpgw.conf comes near this; a bigger file is a mistake. */
#define CONF_MAX_SIZE (1024 * 1024)

/* libconfuse's callbacks carry no user pointer. Its lexer is global state,
 * so config_load() cannot run twice at once anyway; the loader of the call
 * in progress lives here. */
static struct loader *active_loader;

void
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

bool
conf_oom(struct loader *ld)
{
	conf_error(ld, 0, "out of memory");
	return false;
}

/* The pre-lexer's reports. */
static void
lex_error(void *arg, int line, const char *msg)
{
	conf_error(arg, line, "%s", msg);
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

/*
 * Pass 2: libconfuse, its options, its callbacks and the line bookkeeping.
 */

/* The section of libconfuse's CFG, by its name. */
static enum conf_section
section_of(const cfg_t *cfg)
{
	for (int s = CONF_SEC_GLOBAL + 1; s < CONF_NSECTIONS; s++)
		if (cfg->name != NULL &&
		    strcmp(cfg->name, conf_section_name(s)) == 0)
			return s;
	return CONF_SEC_GLOBAL;
}

/* The value parser of every CONF_ENUM key: one of the key's words. */
static int
parse_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct conf_key *k = conf_key_find(section_of(cfg), opt->name);
	const struct word *word;
	char want[128] = "";
	long v;

	assert(k != NULL && k->type == CONF_ENUM);
	if ((word = word_find(k->values, value)) != NULL) {
		v = word->value;
		memcpy(result, &v, sizeof(v));
		return 0;
	}
	for (const struct word *n = k->values; n->name != NULL; n++) {
		if (n != k->values)
			strncat(want, "|", sizeof(want) - strlen(want) - 1);
		strncat(want, n->name, sizeof(want) - strlen(want) - 1);
	}
	cfg_error(cfg, "invalid value for option '%s': '%s' (%s)",
	    opt->name, value, want);
	return -1;
}

/* The libconfuse option of key K. cfg_init() copies the options, their
 * names and their defaults. */
static cfg_opt_t
key_opt(const struct conf_key *k)
{
	/* libconfuse's default slot of a list is not const; it only reads
	 * it. */
	char *def = (char *)k->def_str;

	switch (k->type) {
	case CONF_STR:
		return (cfg_opt_t)CFG_STR(k->name, def, CFGF_NONE);
	case CONF_STR_UNSET:
		return (cfg_opt_t)CFG_STR(k->name, NULL, CFGF_NODEFAULT);
	case CONF_STR_LIST:
		return (cfg_opt_t)CFG_STR_LIST(k->name, def, CFGF_NONE);
	case CONF_STR_LIST_UNSET:
		return (cfg_opt_t)CFG_STR_LIST(k->name, NULL, CFGF_NODEFAULT);
	case CONF_INT:
		return (cfg_opt_t)CFG_INT(k->name, k->def_int, CFGF_NONE);
	case CONF_INT_LIST_UNSET:
		return (cfg_opt_t)CFG_INT_LIST(k->name, NULL, CFGF_NODEFAULT);
	case CONF_BOOL:
		return (cfg_opt_t)CFG_BOOL(k->name,
		    k->def_int ? cfg_true : cfg_false, CFGF_NONE);
	case CONF_ENUM:
		return (cfg_opt_t)CFG_INT_CB(k->name, k->def_int, CFGF_NONE,
		    parse_enum);
	}
	abort();
}

/* How many cfg_opt_t make_opts() fills: every key, the root's sections
 * (one per section but the root), and a CFG_END() per section. */
#define NOPTS(nkeys) ((nkeys) + 2 * CONF_NSECTIONS - 1)

/* Fill OPTS (NOPTS(conf_nkeys) entries) with libconfuse's options, made
 * from conf_keys[], and return the root's. */
static cfg_opt_t *
make_opts(cfg_opt_t *opts)
{
	cfg_opt_t *start[CONF_NSECTIONS];
	size_t n = 0;

	/* The sections before the root, which points to them. */
	for (int s = CONF_NSECTIONS - 1; s >= CONF_SEC_GLOBAL; s--) {
		start[s] = opts + n;
		for (size_t i = 0; i < conf_nkeys; i++)
			if (conf_keys[i].section == (enum conf_section)s)
				opts[n++] = key_opt(&conf_keys[i]);
		if (s == CONF_SEC_GLOBAL) {
			opts[n++] = (cfg_opt_t)CFG_SEC(
			    conf_section_name(CONF_SEC_LISTEN),
			    start[CONF_SEC_LISTEN],
			    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
			opts[n++] = (cfg_opt_t)CFG_SEC(
			    conf_section_name(CONF_SEC_PORT_MAPPING),
			    start[CONF_SEC_PORT_MAPPING],
			    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
			opts[n++] = (cfg_opt_t)CFG_SEC(
			    conf_section_name(CONF_SEC_TLS), start[CONF_SEC_TLS],
			    CFGF_NONE);
			opts[n++] = (cfg_opt_t)CFG_SEC(
			    conf_section_name(CONF_SEC_RULE), start[CONF_SEC_RULE],
			    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
		}
		opts[n++] = (cfg_opt_t)CFG_END();
	}
	assert(n == NOPTS(conf_nkeys));
	return start[CONF_SEC_GLOBAL];
}

/* Called by libconfuse right after it stores a value of a key with a
 * range, while its line counter still points at that value, so the error
 * has the right line. */
static int
validate_range(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct conf_key *k = conf_key_find(section_of(cfg), opt->name);

	assert(k != NULL && k->min < k->max);
	for (unsigned j = 0; j < cfg_opt_size(opt); j++) {
		long v = cfg_opt_getnint(opt, j);

		if (v < k->min || v > k->max) {
			cfg_error(cfg, "option '%s' value %ld out of "
			    "range %ld..%ld", opt->name, v, k->min, k->max);
			return -1;
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
	if (k >= ld->lex.nsection_lines)
		return 0;
	sl = conf_array_push(&ld->sec_lines, &ld->nsec_lines, sizeof(*sl));
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

int
conf_section_line(const struct loader *ld, const cfg_t *sec)
{
	int k = section_index(ld, sec);

	if (k == -1)
		return 0;
	return k >= 0 ? ld->lex.section_lines[k] : sec->line;
}

int
conf_option_line(const struct loader *ld, cfg_t *sec, const char *name)
{
	int k = section_index(ld, sec);

	for (size_t i = ld->lex.nkey_lines; k != -2 && i > 0; i--)
		if (ld->lex.key_lines[i - 1].section == k &&
		    strcmp(ld->lex.key_lines[i - 1].key, name) == 0)
			return ld->lex.key_lines[i - 1].line;
	return conf_section_line(ld, sec);
}

/* Hook our checks into CFG: the range of every integer key, and the
 * bookkeeping of every section. */
static void
set_validators(cfg_t *cfg)
{
	char path[64];

	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *sec = conf_section_name(k->section);

		if (k->min >= k->max)
			continue;
		if (sec != NULL)
			snprintf(path, sizeof(path), "%s|%s", sec, k->name);
		else
			snprintf(path, sizeof(path), "%s", k->name);
		cfg_set_validate_func(cfg, path, validate_range);
	}
	for (int s = CONF_SEC_GLOBAL + 1; s < CONF_NSECTIONS; s++)
		cfg_set_validate_func(cfg, conf_section_name(s),
		    validate_section);
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
		conf_oom(ld);
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
		conf_oom(&ld);
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
	cfg_opt_t *opts;
	cfg_t *cfg;

	if (memchr(text, '\0', len) != NULL) {
		conf_error(&ld, 0, "contains a NUL byte: not a text file");
		free(text);
		return NULL;
	}
	conf_lex(text, len, &ld.lex, lex_error, &ld);

	active_loader = &ld;
	/* The options outlive cfg_init(), which copies them, to the end. */
	if ((opts = calloc(NOPTS(conf_nkeys), sizeof(*opts))) == NULL ||
	    (cfg = cfg_init(make_opts(opts), CFGF_NONE)) == NULL)
		conf_oom(&ld);
	else {
		cfg_set_error_function(cfg, conf_errfunc);
		set_validators(cfg);
		/* A garbled file (open string or comment) would only give
		 * errors about the garbling. */
		if (parse_text(&ld, cfg, text, len) == CFG_SUCCESS &&
		    !ld.lex.garbled)
			cf = conf_snapshot(&ld, cfg);
		/* Every string read from CFG dies here: CF holds copies. */
		cfg_free(cfg);
	}
	active_loader = NULL;

	free(text);
	free(opts);
	conf_lex_free(&ld.lex);
	free(ld.sec_lines);
	if (ld.nerrors > 0) {
		config_unref(cf);
		return NULL;
	}
	return cf;
}

const char *
listen_mode_name(enum listen_mode mode)
{
	return word_name(conf_listen_modes, mode);
}

unsigned long long
config_fds_per_worker(const struct config *cf, unsigned n_workers)
{
	unsigned long long sessions;

	assert(n_workers > 0);
	sessions = ((unsigned long long)cf->max_sessions + n_workers - 1) /
	    n_workers;
	return sessions * CONFIG_FDS_PER_SESSION + CONFIG_FDS_OVERHEAD;
}
