/* listen_app.h: which application a listener's session speaks, decided in
 * one place for the gateway (at accept) and for "ftpgw -t" (which says
 * what each listener will do). Pure: no I/O but the description's FILE. */
#ifndef FTPGW_LISTEN_APP_H
#define FTPGW_LISTEN_APP_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "portmap.h"

struct config;
struct listen_conf;

/* The application of a session of listener LC toward SERVER (host and
 * port), reached on the local port LOCAL_PORT, and the name of the mapping
 * that decided it (or why none did) in *WHY.
 *   redirect, tproxy: the mapping of the server's port; none: plain TCP.
 *   reverse: the mapping of the listen port, else of the upstream's port;
 *     none: FTP (a reverse listener stands in front of an FTP server
 *     unless a port-mapping says otherwise).
 *   proxy: FTP, always. */
enum app_kind listen_app(const struct config *cf, const struct listen_conf *lc,
    const struct sockaddr *server, uint16_t local_port, const char **why);

/* One line per listener of CF to F: its mode, address, and what its
 * sessions will speak. */
void listen_app_describe(FILE *f, const struct config *cf);

#endif
