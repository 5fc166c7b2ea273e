/* words.h: a table of words and the values they stand for, for an enum
 * that is written in the configuration and named in logs: each module
 * keeps the table of its own enum, so that a word is written once. */
#ifndef FTPGW_WORDS_H
#define FTPGW_WORDS_H

/* A word and the value it stands for; a table ends with a NULL name. */
struct word {
	const char *name;
	long value;
};

/* The word for VALUE in TABLE; "?" when none. */
const char *word_name(const struct word *table, long value);
/* The entry for WORD (case matters, as in the file); NULL when none. */
const struct word *word_find(const struct word *table, const char *word);

#endif
