/* portmap.h: which application a destination speaks, like a firewall's
 * "port-mapping application ftp port 9091". Pure lookup, no I/O. */
#ifndef FTPGW_PORTMAP_H
#define FTPGW_PORTMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "addr.h"
#include "words.h"

enum app_kind { APP_FTP, APP_FTPS, APP_TCP };

struct portmap {
	char *name;
	enum app_kind app;
	uint16_t *ports;
	size_t nports;
	struct addr_prefix *servers;   /* never empty: the default is 0.0.0.0/0 and ::/0 */
	size_t nservers;
};

/* The words of application (enum app_kind). */
extern const struct word app_kind_words[];

const char *app_kind_name(enum app_kind app);     /* "ftp", "ftps", "tcp" */
int app_kind_from_string(const char *s);          /* -1 when unknown */

/* The mapping for destination DST (its port is ignored) and PORT: among the
 * entries listing PORT with a server prefix containing DST, the one with the
 * longest matching prefix; on a tie the earlier entry. NULL if none. */
const struct portmap *portmap_lookup(const struct portmap *maps, size_t n,
    const struct sockaddr *dst, uint16_t port);

#endif
