/* portmap.c: which application a destination speaks. A linear scan: the
 * table is a handful of entries written by hand in the config. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portmap.h"

static const char *const app_names[] = {
	[APP_FTP] = "ftp",
	[APP_FTPS] = "ftps",
	[APP_TCP] = "tcp",
};

const char *
app_kind_name(enum app_kind app)
{
	if ((size_t)app < sizeof(app_names) / sizeof(app_names[0]))
		return app_names[app];
	return "?";
}

int
app_kind_from_string(const char *s)
{
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(app_names) / sizeof(app_names[0]); i++)
		if (strcmp(s, app_names[i]) == 0)
			return (int)i;
	return -1;
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
