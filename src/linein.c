/* linein.c: a plain control connection's input, line by line; see
 * linein.h. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "linein.h"

struct linein {
	struct event *ev;
	linein_fn *cb;
	void *arg;
	char *buf;               /* LINEIN_SIZE bytes while it holds any, else NULL */
	size_t start, end;       /* the bytes not taken: buf[start..end) */
	bool reading;            /* started, and no end or error since */
	bool full;               /* reading paused until a line is taken */
};

/* Emptied buffers kept for the next reads, per thread: a buffer is
 * taken and given back for nearly every command and reply, and one this
 * size is beyond malloc's per-thread cache. */
#define SPARES_MAX 8
static _Thread_local char *spares[SPARES_MAX];
static _Thread_local unsigned n_spares;

static char *
buf_get(void)
{
	return n_spares > 0 ? spares[--n_spares] : malloc(LINEIN_SIZE);
}

static void
buf_put(char *buf)
{
	if (buf == NULL)
		return;
	if (n_spares < SPARES_MAX)
		spares[n_spares++] = buf;
	else
		free(buf);
}

static void
pause_reading(struct linein *li)
{
	if (li->reading && !li->full) {
		li->full = true;
		event_del(li->ev);
	}
}

static void
resume_reading(struct linein *li)
{
	if (li->reading && li->full && li->end - li->start < LINEIN_SIZE) {
		li->full = false;
		if (event_add(li->ev, NULL) == -1)
			li->full = true;     /* out of memory: stays paused */
	}
}

static void
stop(struct linein *li)
{
	if (li->reading && !li->full)
		event_del(li->ev);
	li->reading = li->full = false;
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct linein *li = arg;
	ssize_t n;

	(void)what;
	if (li->buf == NULL) {
		if ((li->buf = buf_get()) == NULL)
			return;              /* level-triggered: tried again */
		li->start = li->end = 0;
	} else if (li->start > 0) {
		memmove(li->buf, li->buf + li->start, li->end - li->start);
		li->end -= li->start;
		li->start = 0;
	}
	if (li->end == LINEIN_SIZE) {
		pause_reading(li);
		return;
	}
	n = recv(fd, li->buf + li->end, LINEIN_SIZE - li->end, MSG_DONTWAIT);
	if (n > 0) {
		li->end += (size_t)n;
		if (li->end == LINEIN_SIZE)
			pause_reading(li);
		li->cb(li->arg, LINEIN_READ);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* The end, or an error: what was read stays to be taken. */
	{
		int err = n == 0 ? 0 : errno;

		stop(li);
		errno = err;
		li->cb(li->arg, n == 0 ? LINEIN_EOF : LINEIN_ERROR);
	}
}

struct linein *
linein_new(struct event_base *base, int fd, linein_fn *cb, void *arg)
{
	struct linein *li = calloc(1, sizeof(*li));

	if (li == NULL)
		return NULL;
	li->cb = cb;
	li->arg = arg;
	if ((li->ev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, li)) == NULL) {
		free(li);
		return NULL;
	}
	return li;
}

void
linein_free(struct linein *li)
{
	if (li == NULL)
		return;
	event_free(li->ev);
	buf_put(li->buf);
	free(li);
}

int
linein_start(struct linein *li)
{
	bool room = linein_pending(li) < LINEIN_SIZE;

	if (li->reading)
		return 0;
	if (room && event_add(li->ev, NULL) == -1)
		return -1;
	li->reading = true;
	li->full = !room;
	return 0;
}

void
linein_stop(struct linein *li)
{
	stop(li);
}

bool
linein_reading(const struct linein *li)
{
	return li->reading;
}

size_t
linein_pending(const struct linein *li)
{
	return li->buf != NULL ? li->end - li->start : 0;
}

const char *
linein_rest(const struct linein *li, size_t *len)
{
	*len = linein_pending(li);
	return *len > 0 ? li->buf + li->start : NULL;
}

/* Drop N bytes from the front; an emptied buffer goes (a session that
 * waits holds none). */
static void
drop(struct linein *li, size_t n)
{
	assert(n <= li->end - li->start);
	li->start += n;
	if (li->start == li->end) {
		buf_put(li->buf);
		li->buf = NULL;
		li->start = li->end = 0;
	}
	resume_reading(li);
}

int
linein_take(struct linein *li, size_t max, bool discard_long, bool *discarding,
    char *line, size_t *len)
{
	size_t have = linein_pending(li), n;
	const char *p, *lf;

	assert(max + 2 <= LINEIN_SIZE);
	if (have == 0)
		return 0;
	p = li->buf + li->start;
	lf = memchr(p, '\n', have);
	if (lf == NULL) {
		if (have <= max)
			return 0;
		drop(li, have);
		if (!discard_long)
			return -1;
		/* Keep dropping up to the LF. */
		*discarding = true;
		return 0;
	}
	n = (size_t)(lf - p);
	if (discard_long && *discarding) {
		drop(li, n + 1);
		*discarding = false;
		return -1;
	}
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > max) {
		drop(li, (size_t)(lf - p) + 1);
		return -1;
	}
	memcpy(line, p, n);
	line[n] = '\0';
	*len = n;
	drop(li, (size_t)(lf - p) + 1);
	return 1;
}
