/* notify.c: see notify.h. Hand-rolled, as the protocol is the API: linking
 * libsystemd would pull in five compression and crypto libraries. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "notify.h"
#include "sock.h"

/* The file descriptor store's socket, kept from notify_fdstore_init() on
 * (the supervisor stores the listeners it holds for its workers). Empty:
 * no store. */
static char fdstore_path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];

/* One datagram with STATE and, when N > 0, the descriptors FDS to PATH. */
static void
send_state(const char *path, const char *state, const int *fds, size_t n)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * NOTIFY_MAX_FDS)];
	} cbuf;
	struct sockaddr_un sun;
	struct iovec iov = { (void *)state, strlen(state) };
	struct msghdr msg = { .msg_name = &sun, .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') || n > NOTIFY_MAX_FDS)
		return;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';      /* abstract namespace */
	msg.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	sock_msg_rights(&msg, cbuf.buf, sizeof(cbuf.buf), fds, n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	(void)sendmsg(fd, &msg, MSG_NOSIGNAL);
	close(fd);
}

void
notify_systemd(const char *state)
{
	send_state(getenv("NOTIFY_SOCKET"), state, NULL, 0);
}

bool
notify_fdstore_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	if (path == NULL || strlen(path) >= sizeof(fdstore_path))
		return false;
	strcpy(fdstore_path, path);
	return true;
}

/* The name of listening socket FD in the store: its inode, unique while
 * it is open, so that one socket can be taken out by name. */
static void
fd_name(int fd, char *buf, size_t size)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		st.st_ino = 0;
	snprintf(buf, size, "ftpgw-listen-%llu", (unsigned long long)st.st_ino);
}

void
notify_fdstore_add(int fd)
{
	char state[128], name[64];

	if (fdstore_path[0] == '\0')
		return;
	fd_name(fd, name, sizeof(name));
	snprintf(state, sizeof(state), "FDSTORE=1\nFDNAME=%s", name);
	send_state(fdstore_path, state, &fd, 1);
}

void
notify_fdstore_remove(int fd)
{
	char state[128], name[64];

	if (fdstore_path[0] == '\0')
		return;
	fd_name(fd, name, sizeof(name));
	snprintf(state, sizeof(state), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	send_state(fdstore_path, state, NULL, 0);
}
