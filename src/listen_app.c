/* listen_app.c: see listen_app.h. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "conf.h"
#include "listen_app.h"

enum app_kind
listen_app(const struct config *cf, const struct listen_conf *lc,
    const struct sockaddr *server, uint16_t local_port, const char **why)
{
	const struct portmap *map;

	switch (lc->mode) {
	case MODE_PROXY:
		*why = "(proxy listener)";
		return APP_FTP;
	case MODE_REVERSE:
		/* The port the client reached selects the mapping; without a
		 * stanza for it, the upstream's own port does (9091 -> :21). */
		map = portmap_lookup(cf->maps, cf->n_maps, server, local_port);
		if (map == NULL)
			map = portmap_lookup(cf->maps, cf->n_maps, server, addr_port(server));
		if (map == NULL) {
			*why = "(none: a reverse listener is ftp)";
			return APP_FTP;
		}
		break;
	default:
		map = portmap_lookup(cf->maps, cf->n_maps, server, addr_port(server));
		if (map == NULL) {
			*why = "(none: plain relay)";
			return APP_TCP;
		}
		break;
	}
	*why = map->name;
	return map->app;
}

/* The ports of every mapping of APP, as "21, 990" (at most SIZE bytes). */
static void
ports_of(const struct config *cf, enum app_kind app, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cf->n_maps; i++) {
		if (cf->maps[i].app != app)
			continue;
		for (size_t j = 0; j < cf->maps[i].nports && o + 8 < size; j++)
			o += (size_t)snprintf(buf + o, size - o, "%s%u", o > 0 ? ", " : "",
			    cf->maps[i].ports[j]);
	}
	if (o == 0)
		snprintf(buf, size, "none");
}

void
listen_app_describe(FILE *f, const struct config *cf)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], ftp[256], ftps[256];

	ports_of(cf, APP_FTP, ftp, sizeof(ftp));
	ports_of(cf, APP_FTPS, ftps, sizeof(ftps));
	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];
		const struct sockaddr *la = (const struct sockaddr *)&lc->addr;
		const char *why;

		fprintf(f, "listen \"%s\": %s on %s: ", lc->name, listen_mode_name(lc->mode),
		    addr_fmt(la, a, sizeof(a)));
		switch (lc->mode) {
		case MODE_PROXY:
			fprintf(f, "explicit FTP proxy (USER user@host[:port])\n");
			break;
		case MODE_REVERSE:
			for (size_t u = 0; u < lc->n_upstreams; u++) {
				const struct sockaddr *up =
				    (const struct sockaddr *)&lc->upstreams[u];
				enum app_kind app = listen_app(cf, lc, up, addr_port(la), &why);

				fprintf(f, "%s%s to %s (port-mapping %s)", u > 0 ? "; " : "",
				    app_kind_name(app), addr_fmt(up, b, sizeof(b)), why);
			}
			fprintf(f, "\n");
			break;
		default:
			fprintf(f, "ftp to ports %s, ftps to %s, by original destination "
			    "(port-mapping); other ports relayed as plain tcp\n", ftp, ftps);
			break;
		}
	}
}
