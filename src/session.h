/* session.h: one client's control connection and everything hanging off it:
 * the server connection, the FTP state, the current data channel. */
#ifndef FTPGW_SESSION_H
#define FTPGW_SESSION_H

#include <sys/socket.h>

struct gateway;
struct listener;
struct session;

/* A client connected to listener L (FD is ours from now on). */
void session_accept(struct gateway *gw, struct listener *l, int fd,
    const struct sockaddr *peer);
struct evbuffer;
/* One line for ftpgwctl: id client server app state bytes-up bytes-down
 * age-seconds user. */
void session_describe(const struct session *s, struct evbuffer *out);
/* Graceful stop: tell the client why and close. */
void session_shutdown(struct session *s, const char *reply);

#endif
