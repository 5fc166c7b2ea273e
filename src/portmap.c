/* portmap.c: which application a destination speaks. A linear scan: the
 * table is a handful of entries written by hand in the config. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portmap.h"

const struct word app_kind_words[] = {
	{ "ftp", APP_FTP },
	{ "ftps", APP_FTPS },
	{ "tcp", APP_TCP },
	{ NULL, 0 }
};

/* The words are those of the application key. */
const char *
app_kind_name(enum app_kind app)
{
	return word_name(app_kind_words, app);
}

int
app_kind_from_string(const char *s)
{
	const struct word *word = word_find(app_kind_words, s);

	return word != NULL ? (int)word->value : -1;
}

static bool
portmap_has_port(const struct portmap *map, uint16_t port)
{
	for (size_t i = 0; i < map->nports; i++)
		if (map->ports[i] == port)
			return true;
	return false;
}

const struct portmap *
portmap_lookup(const struct portmap *maps, size_t n,
    const struct sockaddr *dst, uint16_t port)
{
	const struct portmap *best = NULL;
	long best_len = -1;

	for (size_t i = 0; i < n; i++) {
		if (!portmap_has_port(&maps[i], port))
			continue;
		for (size_t j = 0; j < maps[i].nservers; j++) {
			const struct addr_prefix *p = &maps[i].servers[j];

			/* Strictly longer: on a tie the earlier entry stays. */
			if ((long)p->len > best_len && prefix_contains(p, dst)) {
				best = &maps[i];
				best_len = (long)p->len;
			}
		}
	}
	return best;
}
