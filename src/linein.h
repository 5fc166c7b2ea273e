/* linein.h: the input of a plain (not TLS) control connection, read
 * straight from its socket into a bounded buffer and taken out line by
 * line in place.
 *
 * A bufferevent's read costs an FIONREAD ioctl, a buffer chain allocated
 * and freed and a search across chains for every command and reply; this
 * is one recv(2) per readiness. The buffer exists only while it holds
 * bytes. When it is full (the engine takes no lines for a while) reading
 * stops, and resumes once a line is taken: the rest waits in the socket.
 *
 * The connection's socket is not the reader's: it is closed by its
 * owner, after linein_free. A TLS leg is read by its bufferevent;
 * linein_rest hands what was read but not taken to it. */
#ifndef FTPGW_LINEIN_H
#define FTPGW_LINEIN_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct linein;

enum linein_event {
	LINEIN_READ,             /* new bytes: lines may be there */
	LINEIN_EOF,              /* the peer's end of stream; reading stopped */
	LINEIN_ERROR,            /* a read failed (errno); reading stopped */
};
typedef void linein_fn(void *arg, enum linein_event ev);

/* The buffer's size: a line of FTP_LINE_MAX bytes with its CRLF fits,
 * with room for a few short ones read together. */
#define LINEIN_SIZE (2 * 4096 + 2)

/* A reader of FD (not started). NULL when out of memory. */
struct linein *linein_new(struct event_base *base, int fd, linein_fn *cb, void *arg);
void linein_free(struct linein *li);
/* Watch the socket (again); stop watching it. */
int linein_start(struct linein *li);
void linein_stop(struct linein *li);
/* Whether the socket is watched: started, and no end or error since. */
bool linein_reading(const struct linein *li);

/* Take one line out, CRLF or LF stripped: 1 = a line of *LEN bytes in
 * LINE (room for max + 1), 0 = none whole yet, -1 = a line longer than
 * MAX: it is dropped. A client's (DISCARD_LONG) is dropped up to its LF
 * across reads, *DISCARDING keeping the state; another's is reported
 * as soon as MAX bytes came without a LF. */
int linein_take(struct linein *li, size_t max, bool discard_long, bool *discarding,
    char *line, size_t *len);
/* Bytes read and not taken. */
size_t linein_pending(const struct linein *li);
/* Those bytes (NULL when none), e.g. for a TLS layer that takes over. */
const char *linein_rest(const struct linein *li, size_t *len);

#endif
