/* conf_lex.h: the pre-lexer of ftpgw.conf. It follows libconfuse 3.3's own
 * tokenising rules to make up for libconfuse's faults: it blanks the
 * comments out (keeping the newlines, so libconfuse's line numbers come out
 * right), reports unclosed braces, strings and comments, and notes the line
 * where each section opens and each key is assigned (libconfuse keeps no
 * line per option). */
#ifndef FTPGW_CONF_LEX_H
#define FTPGW_CONF_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* KEY = ... on LINE, in the root (section -1) or in the Nth section of the
 * file (an index into section_lines). */
struct conf_key_line {
	int section;
	char key[32];            /* every key of the schema fits */
	int line;
};

struct conf_lex {
	int *section_lines;      /* the opening line of each section, in order */
	size_t nsection_lines;
	struct conf_key_line *key_lines;
	size_t nkey_lines;
	bool garbled;            /* an unterminated string or comment */
};

/* Called with each problem found, its line (0: none) and a message. */
typedef void conf_lex_error_fn(void *arg, int line, const char *msg);

/* Blank the comments of TEXT (LEN bytes) out in place and fill LX, which
 * must start zeroed; problems go to ERROR(ARG, ...). Out of memory is
 * reported and sets garbled. */
void conf_lex(char *text, size_t len, struct conf_lex *lx,
    conf_lex_error_fn *error, void *arg);
/* Free what conf_lex() allocated in LX. */
void conf_lex_free(struct conf_lex *lx);

/* Grow the array that ARRAYP points to (a T **) of *N elements of SIZE
 * bytes by one and return the new element; NULL when out of memory. */
void *conf_array_push(void *arrayp, size_t *n, size_t size);

#endif
