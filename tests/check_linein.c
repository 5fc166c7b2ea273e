/* check_linein.c: unit tests for src/linein.c, over a socketpair and an
 * event loop of their own. */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "linein.h"
#include "unit.h"

#define MAX 4096                 /* FTP_LINE_MAX */

struct rig {
	struct event_base *base;
	int fd[2];                   /* fd[0] is read, fd[1] written */
	struct linein *li;
	int reads, eofs, errors;
	bool discarding;
	char line[MAX + 1];
	size_t len;
};

static void
rig_cb(void *arg, enum linein_event ev)
{
	struct rig *r = arg;

	if (ev == LINEIN_READ)
		r->reads++;
	else if (ev == LINEIN_EOF)
		r->eofs++;
	else
		r->errors++;
}

static void
rig_open(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	ck_assert_ptr_nonnull(r->base);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, r->fd), 0);
	r->li = linein_new(r->base, r->fd[0], rig_cb, r);
	ck_assert_ptr_nonnull(r->li);
	ck_assert_int_eq(linein_start(r->li), 0);
	ck_assert(linein_reading(r->li));
}

static void
rig_close(struct rig *r)
{
	linein_free(r->li);
	close(r->fd[0]);
	if (r->fd[1] != -1)
		close(r->fd[1]);
	event_base_free(r->base);
}

static void
put(struct rig *r, const char *s, size_t n)
{
	ck_assert_int_eq(write(r->fd[1], s, n), (ssize_t)n);
}

static void
put_str(struct rig *r, const char *s)
{
	put(r, s, strlen(s));
}

/* Run the loop until nothing more happens. */
static void
spin(struct rig *r)
{
	for (int i = 0; i < 8; i++)
		event_base_loop(r->base, EVLOOP_NONBLOCK);
}

static int
take(struct rig *r, bool client)
{
	return linein_take(r->li, MAX, client, &r->discarding, r->line, &r->len);
}

START_TEST(test_lines_crlf_and_lf)
{
	struct rig r;

	rig_open(&r);
	ck_assert_int_eq(take(&r, true), 0);
	put_str(&r, "USER a\r\nNOOP\nPA");
	spin(&r);
	ck_assert_int_ge(r.reads, 1);
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_str_eq(r.line, "USER a");
	ck_assert_uint_eq(r.len, 6);
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_str_eq(r.line, "NOOP");
	ck_assert_int_eq(take(&r, true), 0);      /* "PA" waits for the rest */
	ck_assert_uint_eq(linein_pending(r.li), 2);
	put_str(&r, "SS b\r\n");
	spin(&r);
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_str_eq(r.line, "PASS b");
	ck_assert_uint_eq(linein_pending(r.li), 0);
	/* an empty line is a line */
	put_str(&r, "\r\n");
	spin(&r);
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_uint_eq(r.len, 0);
	rig_close(&r);
}
END_TEST

START_TEST(test_longest_line_fits)
{
	struct rig r;
	static char buf[MAX + 2];

	rig_open(&r);
	memset(buf, 'x', MAX);
	memcpy(buf + MAX, "\r\n", 2);
	put(&r, buf, sizeof(buf));
	spin(&r);
	ck_assert_int_eq(take(&r, false), 1);
	ck_assert_uint_eq(r.len, MAX);
	rig_close(&r);
}
END_TEST

START_TEST(test_overlong_client_line_dropped_to_its_lf)
{
	struct rig r;
	static char buf[3 * MAX];

	rig_open(&r);
	memset(buf, 'y', sizeof(buf));
	/* Longer than the buffer: it is dropped across reads. */
	put(&r, buf, sizeof(buf));
	spin(&r);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(take(&r, true), 0);
		spin(&r);
	}
	ck_assert(r.discarding);
	put_str(&r, "tail\r\nNOOP\r\n");
	spin(&r);
	ck_assert_int_eq(take(&r, true), -1);   /* up to its LF: reported once */
	ck_assert(!r.discarding);
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_str_eq(r.line, "NOOP");
	rig_close(&r);
}
END_TEST

START_TEST(test_overlong_line_with_its_lf)
{
	struct rig r;
	static char buf[MAX + 3];

	rig_open(&r);
	memset(buf, 'z', sizeof(buf));
	memcpy(buf + MAX + 1, "\r\n", 2);      /* MAX + 1 bytes, then CRLF */
	put(&r, buf, sizeof(buf));
	put_str(&r, "220 ok\r\n");
	spin(&r);
	ck_assert_int_eq(take(&r, false), -1);
	ck_assert_int_eq(take(&r, false), 1);
	ck_assert_str_eq(r.line, "220 ok");
	rig_close(&r);
}
END_TEST

START_TEST(test_overlong_server_line_without_lf)
{
	struct rig r;
	static char buf[MAX + 1];

	rig_open(&r);
	memset(buf, 'q', sizeof(buf));
	put(&r, buf, sizeof(buf));
	spin(&r);
	ck_assert_int_eq(take(&r, false), -1);
	ck_assert(!r.discarding);
	rig_close(&r);
}
END_TEST

/* A full buffer stops the reading; taking a line resumes it. */
START_TEST(test_full_buffer_pauses)
{
	struct rig r;
	static char buf[4 * MAX];
	size_t lines = sizeof(buf) / 64, n = 0;

	rig_open(&r);
	for (size_t i = 0; i < lines; i++) {
		memset(buf + i * 64, 'a' + (int)(i % 26), 62);
		memcpy(buf + i * 64 + 62, "\r\n", 2);
	}
	put(&r, buf, sizeof(buf));
	spin(&r);
	ck_assert_uint_eq(linein_pending(r.li), LINEIN_SIZE);
	ck_assert(linein_reading(r.li));
	while (take(&r, true) == 1) {
		ck_assert_uint_eq(r.len, 62);
		ck_assert_int_eq(r.line[0], 'a' + (int)(n % 26));
		n++;
		spin(&r);
	}
	ck_assert_uint_eq(n, lines);
	rig_close(&r);
}
END_TEST

START_TEST(test_eof_keeps_what_was_read)
{
	struct rig r;
	const char *rest;
	size_t n;

	rig_open(&r);
	put_str(&r, "QUIT\r\nAUTH");
	close(r.fd[1]);
	r.fd[1] = -1;
	spin(&r);
	ck_assert_int_eq(r.eofs, 1);
	ck_assert(!linein_reading(r.li));
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_str_eq(r.line, "QUIT");
	rest = linein_rest(r.li, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(rest, "AUTH", 4) == 0);
	ck_assert_int_eq(take(&r, true), 0);
	spin(&r);
	ck_assert_int_eq(r.eofs, 1);            /* once */
	rig_close(&r);
}
END_TEST

START_TEST(test_stop_and_start)
{
	struct rig r;

	rig_open(&r);
	linein_stop(r.li);
	ck_assert(!linein_reading(r.li));
	put_str(&r, "NOOP\r\n");
	spin(&r);
	ck_assert_int_eq(r.reads, 0);
	ck_assert_ptr_null(linein_rest(r.li, &r.len));
	ck_assert_int_eq(linein_start(r.li), 0);
	spin(&r);
	ck_assert_int_eq(take(&r, true), 1);
	ck_assert_str_eq(r.line, "NOOP");
	rig_close(&r);
}
END_TEST

Suite *
suite_linein(void)
{
	Suite *s = suite_create("linein");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lines_crlf_and_lf);
	tcase_add_test(tc, test_longest_line_fits);
	tcase_add_test(tc, test_overlong_client_line_dropped_to_its_lf);
	tcase_add_test(tc, test_overlong_line_with_its_lf);
	tcase_add_test(tc, test_overlong_server_line_without_lf);
	tcase_add_test(tc, test_full_buffer_pauses);
	tcase_add_test(tc, test_eof_keeps_what_was_read);
	tcase_add_test(tc, test_stop_and_start);
	suite_add_tcase(s, tc);
	return s;
}
