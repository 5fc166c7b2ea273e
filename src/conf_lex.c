/* conf_lex.c: the pre-lexer of ftpgw.conf (see conf_lex.h).
 *
 * It follows libconfuse 3.3's flex rules (lexer.l): '#' always starts a
 * comment outside strings; '//' only when the run of slashes is not part of
 * a longer unquoted word ("a//b" and "//x" are words to libconfuse); '/' '*'
 * starts a block comment that ends at the next '*' '/'; strings are "..." or
 * '...' with backslash escapes; unquoted words are runs of anything but
 *  #"'\t\n\r={}()+,* ; '{' after '=' or '+=' opens a list, any other '{' a
 * section.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_lex.h"

/* Doubling is not worth it for a few dozen entries. The pointer is copied
 * with memcpy rather than cast to void **, which would break aliasing. */
void *
conf_array_push(void *arrayp, size_t *n, size_t size)
{
	void *array, *grown;

	memcpy(&array, arrayp, sizeof(array));
	if ((grown = reallocarray(array, *n + 1, size)) == NULL)
		return NULL;
	memcpy(arrayp, &grown, sizeof(grown));
	return (char *)grown + (*n)++ * size;
}

/* The state of one conf_lex() call. */
struct lexer {
	struct conf_lex *lx;
	conf_lex_error_fn *error;
	void *arg;
};

static void lex_error(struct lexer *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
lex_error(struct lexer *lr, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lr->error(lr->arg, line, msg);
}

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
note_key(struct conf_lex *lx, int section, const char *key, size_t len,
    int line)
{
	struct conf_key_line *kl;

	if (len >= sizeof(kl->key))
		return 0;        /* not a key of ours: libconfuse will say so */
	kl = conf_array_push(&lx->key_lines, &lx->nkey_lines, sizeof(*kl));
	if (kl == NULL)
		return -1;
	kl->section = section;
	memcpy(kl->key, key, len);
	kl->key[len] = '\0';
	kl->line = line;
	return 0;
}

void
conf_lex(char *text, size_t len, struct conf_lex *lx,
    conf_lex_error_fn *error, void *arg)
{
	struct lexer lr = { lx, error, arg };
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
				lex_error(&lr, line, "unterminated comment: no '*/' "
				    "before the end of the file");
				lx->garbled = true;
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
				lex_error(&lr, start, "unterminated string: no "
				    "closing %c before the end of the file", c);
				lx->garbled = true;
				break;
			}
			word = text + i + 1;
			word_len = j - i - 1;
			word_line = start;
			i = j + 1;
			prev = 'w';
		} else if (c == '{') {
			struct open_brace *b = conf_array_push(&stack, &depth,
			    sizeof(*stack));

			if (b == NULL)
				goto nomem;
			b->line = line;
			b->section = prev != '=' && prev != '+';
			if (b->section) {
				int *l = conf_array_push(&lx->section_lines,
				    &lx->nsection_lines, sizeof(int));

				if (l == NULL)
					goto nomem;
				*l = line;
				if (depth == 1)
					section = (int)lx->nsection_lines - 1;
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
			if (prev == 'w' && note_key(lx, section, word, word_len,
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
	if (!lx->garbled)
		for (size_t k = 0; k < depth; k++)
			lex_error(&lr, stack[k].line, "missing '}': the %s "
			    "opened on this line is never closed",
			    stack[k].section ? "section" : "list");
	free(stack);
	return;
nomem:
	lex_error(&lr, 0, "out of memory");
	lx->garbled = true;
	free(stack);
}

void
conf_lex_free(struct conf_lex *lx)
{
	free(lx->section_lines);
	free(lx->key_lines);
	lx->section_lines = NULL;
	lx->key_lines = NULL;
	lx->nsection_lines = lx->nkey_lines = 0;
}
