/* check_conf_keys.c: the key table of src/conf_keys.c against itself and
 * against the documentation: every key, with its default, its range and its
 * words, must be in man/ftpgw.conf.5.in (in its section's entry) and in the
 * sample etc/ftpgw.conf, and the sample must load. Also the descriptor
 * budget that ftpgw -t and the open-files limit use. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_keys.h"
#include "conf_names.h"
#include "log.h"
#include "unit.h"

/* The man page's .Sh title for the keys of SECTION. */
static const char *
man_section(enum conf_section section)
{
	static const char *const titles[CONF_NSECTIONS] = {
		[CONF_SEC_GLOBAL] = "GLOBAL OPTIONS",
		[CONF_SEC_LISTEN] = "LISTEN",
		[CONF_SEC_PORT_MAPPING] = "PORT MAPPING",
		[CONF_SEC_TLS] = "TLS",
		[CONF_SEC_RULE] = "RULES",
	};

	return titles[section];
}

/* Whether LINE starts with the mdoc macro line ".MACRO WORD" and WORD ends
 * there (".It Ic port" is not ".It Ic ports"). */
static bool
macro_line(const char *line, const char *macro, const char *word)
{
	size_t m = strlen(macro), w = strlen(word);

	return strncmp(line, macro, m) == 0 && line[m] == ' ' &&
	    strncmp(line + m + 1, word, w) == 0 &&
	    (line[m + 1 + w] == ' ' || line[m + 1 + w] == '\n' ||
	    line[m + 1 + w] == '\0');
}

/* The entry ".It Ic NAME" of key K in the man page MAN, as plain text: the
 * lines up to the next ".It Ic" or ".Sh", without their macro names, with
 * \(dq as '"', joined by single spaces. NULL when there is none. */
static char *
man_entry(const char *man, const struct conf_key *k)
{
	const char *p = man, *start = NULL, *end;
	bool in_section = false;
	char *text, *o;

	for (; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (macro_line(p, ".Sh", man_section(k->section)))
			in_section = true;
		else if (strncmp(p, ".Sh ", 4) == 0)
			in_section = false;
		else if (in_section && macro_line(p, ".It Ic", k->name)) {
			start = p;
			break;
		}
		if (strchr(p, '\n') == NULL)
			break;
	}
	if (start == NULL)
		return NULL;
	for (end = strchr(start, '\n') + 1; *end != '\0' &&
	    strncmp(end, ".It Ic ", 7) != 0 && strncmp(end, ".Sh ", 4) != 0;
	    end = strchr(end, '\n') + 1)
		if (strchr(end, '\n') == NULL) {
			end += strlen(end);
			break;
		}

	text = o = calloc(1, (size_t)(end - start) + 1);
	ck_assert_ptr_nonnull(text);
	for (p = start; p < end; ) {
		if (*p == '.' && (p == start || p[-1] == '\n')) {
			/* A macro line: drop ".Xx " (".It Ic ": the first two). */
			p += strcspn(p, " \n");
			if (strncmp(p, " Ic ", 4) == 0 || strncmp(p, " Cm ", 4) == 0)
				p += 3;
			continue;
		}
		if (strncmp(p, "\\(dq", 4) == 0) {
			*o++ = '"';
			p += 4;
		} else if (*p == '\n' || *p == ' ' || *p == '\t') {
			if (o > text && o[-1] != ' ')
				*o++ = ' ';
			p++;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return text;
}

/* Whether TEXT has WHAT as a whole word: not inside a longer number, name
 * or path. */
static bool
has_word(const char *text, const char *what)
{
	size_t n = strlen(what);

	for (const char *p = strstr(text, what); p != NULL;
	    p = strstr(p + 1, what)) {
		bool before = p == text || !(isalnum((unsigned char)p[-1]) ||
		    strchr("-_/", p[-1]) != NULL);
		bool after = !(isalnum((unsigned char)p[n]) ||
		    strchr("-_/", p[n]) != NULL);

		if (before && after)
			return true;
	}
	return false;
}

/* K's default in the file's syntax, and without the quotes of a string
 * (the man page writes .Cm info, .Pa /run/...). */
static void
default_texts(const struct conf_key *k, char *lit, char *bare, size_t size)
{
	size_t n;

	ck_assert_int_eq(conf_key_default_text(k, lit, size), 0);
	n = strlen(lit);
	if (n >= 2 && lit[0] == '"' && lit[n - 1] == '"')
		snprintf(bare, size, "%.*s", (int)(n - 2), lit + 1);
	else
		snprintf(bare, size, "%s", lit);
}

START_TEST(test_keys_in_man_page)
{
	char *man = test_slurp("man/ftpgw.conf.5.in");
	unsigned missing = 0;

	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		char *entry = man_entry(man, k);
		char lit[128], bare[128], phrase[160];

		if (entry == NULL) {
			fprintf(stderr, "ftpgw.conf.5: no \".It Ic %s\" under "
			    ".Sh %s\n", k->name, man_section(k->section));
			missing++;
			continue;
		}
		if (conf_key_has_default(k)) {
			default_texts(k, lit, bare, sizeof(lit));
			snprintf(phrase, sizeof(phrase), "default is %s", lit);
			if (!has_word(entry, phrase)) {
				snprintf(phrase, sizeof(phrase), "default is %s",
				    bare);
				if (!has_word(entry, phrase)) {
					fprintf(stderr, "ftpgw.conf.5: %s: no "
					    "\"default is %s\" in: %s\n", k->name,
					    lit, entry);
					missing++;
				}
			}
		}
		if (k->min < k->max) {
			snprintf(phrase, sizeof(phrase), "%ld to %ld", k->min,
			    k->max);
			if (!has_word(entry, phrase)) {
				fprintf(stderr, "ftpgw.conf.5: %s: no range "
				    "\"%s\" in: %s\n", k->name, phrase, entry);
				missing++;
			}
		}
		for (const struct word *w = k->values;
		    k->type == CONF_ENUM && w->name != NULL; w++)
			if (!has_word(entry, w->name)) {
				fprintf(stderr, "ftpgw.conf.5: %s: no word "
				    "\"%s\" in: %s\n", k->name, w->name, entry);
				missing++;
			}
		free(entry);
	}
	free(man);
	ck_assert_msg(missing == 0, "%u gaps in man/ftpgw.conf.5.in (above)",
	    missing);
}
END_TEST

/* The sample file, line by line: commented-out lines count, since the
 * sample shows most keys at their default that way. */
struct sample_line {
	const char *raw;         /* the line as written, NUL-terminated */
	const char *code;        /* after any leading '#' and blanks */
	enum conf_section section;
	bool blank;
};

static struct sample_line *
sample_lines(char *text, size_t *np)
{
	struct sample_line *lines = NULL;
	enum conf_section section = CONF_SEC_GLOBAL;
	size_t n = 0;

	for (char *p = text, *nl; *p != '\0'; p = nl + 1) {
		struct sample_line *l;

		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		lines = reallocarray(lines, n + 1, sizeof(*lines));
		ck_assert_ptr_nonnull(lines);
		l = &lines[n++];
		l->raw = p;
		l->code = p + strspn(p, "# \t");
		l->blank = p[strspn(p, " \t")] == '\0';
		for (int s = CONF_SEC_GLOBAL + 1; s < CONF_NSECTIONS; s++) {
			const char *name = conf_section_name(s);
			size_t len = strlen(name);

			if (strncmp(l->code, name, len) == 0 &&
			    (l->code[len] == ' ' || l->code[len] == '{') &&
			    strchr(l->code, '{') != NULL)
				section = s;
		}
		l->section = section;
		if (strcmp(l->code, "}") == 0)
			section = CONF_SEC_GLOBAL;
		if (nl[1] == '\0')
			break;
	}
	*np = n;
	return lines;
}

/* Whether LINE assigns key NAME: "NAME = ...", perhaps commented out. */
static bool
assigns(const struct sample_line *l, const char *name)
{
	size_t len = strlen(name);

	return strncmp(l->code, name, len) == 0 &&
	    strncmp(l->code + len, " = ", 3) == 0;
}

/* Whether S contains "default", in any case. */
static bool
says_default(const char *s)
{
	for (; *s != '\0'; s++)
		if (strncasecmp(s, "default", 7) == 0)
			return true;
	return false;
}

START_TEST(test_keys_in_sample)
{
	char *text = test_slurp("etc/ftpgw.conf");
	size_t n;
	struct sample_line *lines = sample_lines(text, &n);
	unsigned missing = 0;

	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		char lit[128], bare[128];
		size_t at, from, to;
		bool shown = false;

		for (at = 0; at < n; at++)
			if (lines[at].section == k->section &&
			    assigns(&lines[at], k->name))
				break;
		if (at == n) {
			fprintf(stderr, "etc/ftpgw.conf: no \"%s = \" in %s\n",
			    k->name, k->section == CONF_SEC_GLOBAL ?
			    "the global options" : conf_section_name(k->section));
			missing++;
			continue;
		}
		if (!conf_key_has_default(k))
			continue;
		/* The default: in the assignment, or in a comment of its
		 * paragraph that says "default". */
		default_texts(k, lit, bare, sizeof(lit));
		for (from = at; from > 0 && !lines[from - 1].blank; from--)
			;
		for (to = at; to + 1 < n && !lines[to + 1].blank; to++)
			;
		for (size_t j = from; j <= to && !shown; j++)
			shown = strstr(lines[j].raw, lit) != NULL &&
			    (j == at || says_default(lines[j].raw));
		if (!shown) {
			fprintf(stderr, "etc/ftpgw.conf:%zu: %s: the default %s "
			    "is not shown\n", at + 1, k->name, lit);
			missing++;
		}
	}
	free(lines);
	free(text);
	ck_assert_msg(missing == 0, "%u gaps in etc/ftpgw.conf (above)",
	    missing);
}
END_TEST

START_TEST(test_sample_loads)
{
	char *path = strdup(test_src_path("etc/ftpgw.conf"));
	char *errors = NULL;
	size_t size = 0;
	FILE *err = open_memstream(&errors, &size);
	struct config *cf;

	ck_assert_ptr_nonnull(path);
	ck_assert_ptr_nonnull(err);
	cf = config_load(path, err);
	fclose(err);
	ck_assert_msg(cf != NULL && errors[0] == '\0', "%s:\n%s", path, errors);
	ck_assert_uint_eq(cf->n_listens, 1);
	ck_assert_str_eq(cf->listens[0].name, "outbound");
	ck_assert_uint_eq(cf->pasv_lo, 50000);
	config_unref(cf);
	free(errors);
	free(path);
}
END_TEST

/* The table is sound: one key per name and section, defaults within their
 * range and among their words, a one-line doc. */
START_TEST(test_table_consistent)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		ck_assert_ptr_eq(conf_key_find(k->section, k->name), k);
		ck_assert_msg(k->doc != NULL && k->doc[0] != '\0' &&
		    strchr(k->doc, '\n') == NULL, "%s: doc", k->name);
		if (k->type == CONF_INT && k->min < k->max)
			ck_assert_msg(k->def_int >= k->min &&
			    k->def_int <= k->max, "%s: default out of range",
			    k->name);
		if (k->type == CONF_ENUM)
			ck_assert_msg(k->values != NULL && strcmp(word_name(
			    k->values, k->def_int), "?") != 0,
			    "%s: default has no word", k->name);
		if (k->type == CONF_STR && k->values != NULL)
			ck_assert_msg(word_find(k->values, k->def_str) !=
			    NULL, "%s: default is not a word", k->name);
		if (k->field_size != 0)
			ck_assert_msg(k->type == CONF_INT ||
			    k->type == CONF_BOOL || k->type == CONF_ENUM,
			    "%s: a field for a type kept as is", k->name);
	}
	ck_assert_ptr_null(conf_key_find(CONF_SEC_TLS, "max-sessions"));
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(word_name(log_level_words, LL_WARN), "warn");
	ck_assert_str_eq(word_name(conf_tls_versions, 0x0304), "1.3");
	ck_assert_str_eq(word_name(app_kind_words, 42), "?");
	ck_assert_ptr_null(word_find(conf_sdata_modes, "Same"));
	ck_assert_ptr_null(word_find(conf_sdata_modes, NULL));
	ck_assert_int_eq(word_find(conf_pasv_kinds, "local")->value,
	    PASV_ADDR_LOCAL);
}
END_TEST

START_TEST(test_fds_per_worker)
{
	struct config cf = { .max_sessions = 10000 };

	ck_assert_int_eq(CONFIG_FDS_PER_SESSION, 9);
	ck_assert_uint_eq(config_fds_per_worker(&cf, 1),
	    10000 * 9 + CONFIG_FDS_OVERHEAD);
	/* A worker's share is rounded up. */
	cf.max_sessions = 10001;
	ck_assert_uint_eq(config_fds_per_worker(&cf, 2),
	    5001 * 9 + CONFIG_FDS_OVERHEAD);
	cf.max_sessions = 50;
	ck_assert_uint_le(config_fds_per_worker(&cf, 1), 1024);
	cf.max_sessions = 1000000;
	ck_assert_uint_eq(config_fds_per_worker(&cf, 256),
	    3907ULL * 9 + CONFIG_FDS_OVERHEAD);
}
END_TEST

Suite *
suite_conf_keys(void)
{
	Suite *s = suite_create("conf_keys");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_table_consistent);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_keys_in_man_page);
	tcase_add_test(tc, test_keys_in_sample);
	tcase_add_test(tc, test_sample_loads);
	tcase_add_test(tc, test_fds_per_worker);
	suite_add_tcase(s, tc);
	return s;
}
