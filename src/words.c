/* words.c: tables of words and the values they stand for. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "words.h"

const char *
word_name(const struct word *table, long value)
{
	for (const struct word *n = table; n->name != NULL; n++)
		if (n->value == value)
			return n->name;
	return "?";
}

const struct word *
word_find(const struct word *table, const char *word)
{
	if (word == NULL)
		return NULL;
	for (const struct word *n = table; n->name != NULL; n++)
		if (strcmp(n->name, word) == 0)
			return n;
	return NULL;
}
