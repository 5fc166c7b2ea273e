/* check_engine_limits.c: unit tests for src/engine.c at its limits:
 * overlong lines, replies over ENGINE_REPLY_MAX (collected or streamed),
 * the bound on what the engine buffers, and backpressure. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "check_engine.h"
#include "engine.h"
#include "ftp_proto.h"

/* 18. Overlong lines. */
START_TEST(test_line_too_long)
{
	et_start_ready();
	ck_assert(engine_wants_client_line(E));
	et_ev(EE_CLIENT_LINE_TOO_LONG);
	expect_client_code("500");
	expect_server("");
	ck_assert_int_eq(F.closes, 0);
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	et_ev(EE_SERVER_LINE_TOO_LONG);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* An overlong line behind a command is answered in its turn: the client
 * pairs replies with its commands by order. */
START_TEST(test_line_too_long_in_order)
{
	et_start_ready();
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	ck_assert(engine_wants_client_line(E));
	et_ev(EE_CLIENT_LINE_TOO_LONG);
	feed_server("200 ok");
	ck_assert_msg(F.client.len > 8 && strncmp(F.client.p, "200 ok\r\n500 ", 12) == 0,
	    "client got \"%s\", expected the 200 then the 500", et_esc(F.client.p, F.client.len));
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 19. A collected reply over ENGINE_REPLY_MAX; a streamed one. Lines of
 * 100 bytes keep the reply under FTP_REPLY_MAX_LINES lines, so that it is
 * the byte bound that is tested. */
#define BIG_LINES	((ENGINE_REPLY_MAX / 100) + 200)
static void
feed_lines(char *line, int n)
{
	for (int i = 1; i < n && F.closes == 0; i++) {
		snprintf(line, 128, " FEATURE%05d %0*d", i, 80, i);
		feed_server(line);
	}
}

static void
big_reply(char *line)
{
	feed_lines(line, BIG_LINES);
}

START_TEST(test_reply_too_big)
{
	char line[128];

	et_start_ready();
	feed_client("FEAT");
	feed_server("211-Features:");
	big_reply(line);
	if (F.closes == 0)
		feed_server("211 End");
	ck_assert_int_eq(F.closes, 1);
	/* Nothing of the collected reply, only the 421. */
	expect_client_code("421");
}
END_TEST

START_TEST(test_reply_big_streamed)
{
	char line[128];

	et_start_ready();
	feed_client("STAT");
	feed_server("211-Status:");
	big_reply(line);
	feed_server("211 End");
	ck_assert_int_eq(F.closes, 0);
	/* Every line, in order, and nothing else. */
	{
		const char *p = F.client.p;
		size_t n = strlen("211-Status:\r\n");

		ck_assert_msg(F.client.len > n && memcmp(p, "211-Status:\r\n", n) == 0, "first line");
		p += n;
		for (int i = 1; i < BIG_LINES; i++) {
			n = (size_t)snprintf(line, sizeof(line), " FEATURE%05d %0*d\r\n", i, 80, i);
			ck_assert_msg(p + n <= F.client.p + F.client.len && memcmp(p, line, n) == 0,
			    "line %d missing", i);
			p += n;
		}
		ck_assert_msg(strcmp(p, "211 End\r\n") == 0, "last line \"%s\"",
		    et_esc(p, strlen(p)));
	}
}
END_TEST

/* A big held final reply, then a big FEAT: the memory the engine keeps
 * stays within one collected reply and two lines. */
START_TEST(test_buffered_bound)
{
	char line[128];

	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226-Transfer complete.");
	feed_lines(line, 600);
	feed_server("226 Done");
	expect_phase(EP_HELD);
	et_ev(EE_DATA_TO_CLIENT_DONE);
	expect_phase(EP_READY);
	et_buf_clear(&F.client);
	feed_client("FEAT");
	feed_server("211-Features:");
	feed_lines(line, 600);
	feed_server("211 End");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* 20. Backpressure. */
START_TEST(test_backpressure)
{
	char *longline = malloc(FTP_LINE_MAX);

	ck_assert_ptr_nonnull(longline);
	et_start_ready();
	for (int i = 0; i < 10; i++)
		et_queue_client("NOOP");
	et_pump();
	expect_server("NOOP\r\n");
	ck_assert_uint_le(F.q_head, 2);
	ck_assert(!engine_wants_client_line(E));
	feed_server("200 one");
	expect_client("200 one\r\n");
	expect_server("NOOP\r\n");
	ck_assert_uint_le(F.q_head, 3);
	ck_assert(!engine_wants_client_line(E));
	for (int i = 0; i < 9; i++)
		feed_server("200 ok");
	ck_assert_uint_eq(F.q_head, 10);
	ck_assert_uint_eq(engine_outstanding(E), 0);
	et_buf_clear(&F.client);
	et_buf_clear(&F.server);

	/* A longest line waiting behind a command. */
	feed_client("NOOP");
	memcpy(longline, "SITE ", 5);
	memset(longline + 5, 'x', FTP_LINE_MAX - 5);
	ck_assert(engine_wants_client_line(E));
	et_event(EE_CLIENT_LINE, longline, FTP_LINE_MAX);
	ck_assert(!engine_wants_client_line(E));
	ck_assert_uint_ge(engine_buffered(E), 1);
	ck_assert_uint_lt(engine_buffered(E), BUFFERED_BOUND);
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	ck_assert_uint_eq(F.server.len, FTP_LINE_MAX + 2);
	free(longline);
}
END_TEST

/* During a transfer only ABOR-like commands go on; one other waits. */
START_TEST(test_backpressure_transfer)
{
	et_start_ready();
	et_retr_started();
	et_queue_client("PWD");
	et_queue_client("SYST");
	et_pump();
	ck_assert_uint_eq(F.q_head, 1);
	ck_assert(!engine_wants_client_line(E));
	expect_server("");
	feed_server("226 Done");
	expect_client("226 Done\r\n");
	expect_server("PWD\r\n");
	feed_server("257 \"/\"");
	expect_server("SYST\r\n");
}
END_TEST

/* The tests above, in their order. */
void
et_add_limits_tests(TCase *tc)
{
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_line_too_long_in_order);
	tcase_add_test(tc, test_reply_too_big);
	tcase_add_test(tc, test_reply_big_streamed);
	tcase_add_test(tc, test_buffered_bound);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_backpressure_transfer);
}
