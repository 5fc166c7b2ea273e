/* notify.h: the systemd notification protocol (sd_notify(3)), hand-rolled:
 * one datagram to $NOTIFY_SOCKET; nothing when it is unset.
 *
 * With -S the listening sockets also go to systemd's file descriptor store
 * (FileDescriptorStoreMax= in the unit), one message per socket, named
 * after it, so that a restart finds them again (LISTEN_FDS, handover.h)
 * with the connections waiting in their queues, and a listener a reload
 * closes is taken out of the store by name. */
#ifndef FTPGW_NOTIFY_H
#define FTPGW_NOTIFY_H

#include <stdbool.h>

#define NOTIFY_MAX_FDS 1

/* STATE is e.g. "READY=1", "RELOADING=1", "STOPPING=1". */
void notify_systemd(const char *state);

/* Keep $NOTIFY_SOCKET for the store (-S, before the workers start). False
 * when there is none. */
bool notify_fdstore_init(void);
/* Store listening socket FD / take it out (a reload closed it). */
void notify_fdstore_add(int fd);
void notify_fdstore_remove(int fd);

#endif
