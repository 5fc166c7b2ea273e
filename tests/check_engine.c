/* check_engine.c: unit tests for src/engine.c, the FTP dialogue of one
 * session as pure code: the greeting, login, the order of commands and
 * replies (strict mode), deny-commands, allow-commands and the access
 * rules, LPRT/LPSV and 228, then timeouts, shutdown and the end of the
 * session; and suite_engine(), which adds the tests of the other
 * check_engine_*.c files in their order. The harness (fake effects,
 * events, checks) is check_engine.h. */
#include "config.h"

#include <string.h>

#include "unit.h"
#include "check_engine.h"
#include "addr.h"
#include "engine.h"
#include "rules.h"

/* 1. Greeting. */
START_TEST(test_greeting)
{
	et_start();
	et_queue_client("USER bob");
	et_queue_client("PASS x");
	et_pump();
	expect_server("");
	expect_client("");
	et_ev(EE_SERVER_CONNECTED);
	expect_phase(EP_GREETING);
	ck_assert(engine_wants_server_line(E));
	expect_server("");
	expect_client("");
	ck_assert_uint_eq(engine_outstanding(E), 1);      /* the greeting */
	feed_server("220 hi");
	expect_client("220 hi\r\n");
	expect_server("USER bob\r\n");
	expect_phase(EP_LOGIN);
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	expect_server("PASS x\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* A multi-line greeting (and a 120 before it) reaches the client whole. */
START_TEST(test_greeting_multiline)
{
	et_start();
	et_ev(EE_SERVER_CONNECTED);
	feed_server("120 wait");
	expect_client("120 wait\r\n");
	expect_phase(EP_GREETING);
	feed_server("220-Welcome");
	feed_server("220 ready");
	expect_client("220-Welcome\r\n220 ready\r\n");
	expect_phase(EP_LOGIN);
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 2. Login. */
START_TEST(test_login)
{
	et_start_ready();
	ck_assert_int_eq(F.users, 1);
	ck_assert_str_eq(F.user, "bob");
	feed_client("SYST");
	expect_server("SYST\r\n");
	feed_server("215 UNIX Type: L8");
	expect_client("215 UNIX Type: L8\r\n");
	expect_phase(EP_READY);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

START_TEST(test_login_refused)
{
	et_start();
	et_greet();
	feed_client("USER bob");
	feed_server("331 pw");
	feed_client("PASS wrong");
	feed_server("530 Login incorrect.");
	expect_server("USER bob\r\nPASS wrong\r\n");
	expect_client("331 pw\r\n530 Login incorrect.\r\n");
	expect_phase(EP_LOGIN);
	ck_assert(!engine_logged_in(E));
}
END_TEST

START_TEST(test_login_pipelined)
{
	et_start();
	et_greet();
	et_queue_client("USER a");
	et_queue_client("PASS b");
	et_queue_client("SYST");
	et_pump();
	expect_server("USER a\r\n");
	expect_client("");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	expect_server("PASS b\r\n");
	feed_server("230 in");
	expect_client("230 in\r\n");
	expect_server("SYST\r\n");
	expect_phase(EP_READY);
	ck_assert_str_eq(F.user, "a");
	feed_server("215 UNIX");
	expect_client("215 UNIX\r\n");
	expect_server("");
	ck_assert_uint_eq(F.q_head, 3);
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* 3. Strict mode. */
START_TEST(test_strict_order)
{
	C.strict = true;
	et_start();
	et_greet();
	feed_client("PASS x");
	expect_client_code("503");
	expect_server("");
	feed_client("RETR f");
	expect_client_code("530");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	/* What is allowed before login goes through. */
	feed_client("SYST");
	expect_server("SYST\r\n");
	feed_server("215 UNIX");
	expect_client("215 UNIX\r\n");
	feed_client("NOOP");
	expect_server("NOOP\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	et_login();
	feed_client("RETR f");
	expect_client_code("425");
	expect_server("");
	ck_assert_int_eq(F.begins, 0);
	/* With a data channel set up, the transfer goes through. */
	et_passive();
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	ck_assert_int_eq(F.begins, 1);
}
END_TEST

START_TEST(test_strict_refused_setup)
{
	C.strict = true;
	et_start_ready();
	F.open_result = -1;
	feed_client("PASV");
	expect_client(REFUSE_REPLY "\r\n");
	expect_server("");
	feed_client("RETR f");
	expect_client_code("425");
	expect_server("");
}
END_TEST

START_TEST(test_strict_off)
{
	et_start();
	et_greet();
	feed_client("PASS x");
	expect_server("PASS x\r\n");
	feed_server("503 USER first");
	expect_client("503 USER first\r\n");
	feed_client("RETR f");
	expect_server("RETR f\r\n");
	feed_server("530 not logged in");
	expect_client("530 not logged in\r\n");
	expect_phase(EP_LOGIN);
}
END_TEST

/* 4. deny-commands. */
static const char *const deny_list[] = { "SITE EXEC", "DELE" };

START_TEST(test_deny)
{
	C.deny = deny_list;
	C.n_deny = 2;
	et_start_ready();
	feed_client("SITE EXEC x");
	expect_client_code("502");
	expect_server("");
	feed_client("dele f");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE CHMOD 644 f");
	expect_server("SITE CHMOD 644 f\r\n");
	expect_client("");
	feed_server("200 chmod ok");
	expect_client("200 chmod ok\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* An RFC 775 alias is denied with its command, whichever of the two the
 * list names. */
START_TEST(test_deny_alias)
{
	static const char *const deny[] = { "MKD", "XRMD", "CWD", "CDUP", "PWD" };
	static const char *const refused[] = {
		"XMKD d", "xmkd d", "MKD d", "RMD d", "XRMD d", "XCWD /", "CWD /",
		"XCUP", "CDUP", "XPWD", "PWD",
	};

	C.deny = deny;
	C.n_deny = sizeof(deny) / sizeof(deny[0]);
	et_start_ready();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		feed_client(refused[i]);
		expect_client_code("502");
		expect_server("");
	}
	feed_client("DELE f");
	expect_server("DELE f\r\n");
	feed_server("250 ok");
	expect_client("250 ok\r\n");
}
END_TEST

/* What the deny check sees is what the server reads: a client's IAC IAC
 * (a data byte 255) goes on as IAC IAC, so a server doing its own Telnet
 * processing cannot read "SITE CH<IAC><WILL>XMOD" as SITE CHMOD; a bare
 * IAC WILL X is Telnet, stripped before the check. */
START_TEST(test_deny_telnet)
{
	static const char *const deny[] = { "SITE CHMOD" };

	C.deny = deny;
	C.n_deny = 1;
	et_start_ready();
	feed_client("SITE CH\xff\xff\xfbXMOD 777 f");
	expect_server("SITE CH\xff\xff\xfbXMOD 777 f\r\n");
	feed_server("500 what");
	expect_client("500 what\r\n");
	feed_client("SITE CH\xff\xfbXMOD 777 f");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE C\xff\xf1HMOD 777 f");         /* IAC NOP */
	expect_client_code("502");
	expect_server("");
	/* A data byte 255 in a name goes as the client sent it. */
	feed_client("DELE \xff\xff" "a\xff\xff");
	expect_server("DELE \xff\xff" "a\xff\xff\r\n");
}
END_TEST

/* The same toward the client: a reply's data byte 255 goes on as IAC
 * IAC, so a client doing Telnet processing cannot find the end of a
 * multi-line reply (and a 228 behind it) where the gateway saw an inner
 * line. */
START_TEST(test_reply_telnet)
{
	et_start_ready();
	feed_client("HELP");
	feed_server("214-Help");
	feed_server("\xff\xff\xf1" "214 not the end");
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	feed_server("214 end");
	expect_client("214-Help\r\n\xff\xff\xf1" "214 not the end\r\n"
	    "228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)\r\n214 end\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
}
END_TEST

/* Access rules at USER and at every command: a denied USER gets 530 and
 * the session goes on (another name may log in); a denied command gets
 * 502 in its turn, after the replies ahead of it; QUIT is never denied;
 * each fresh decision of a rule is counted. */
START_TEST(test_rules)
{
	static char *bob[] = { "bob" }, *anon[] = { "anon*" };
	static char *stor[] = { "STOR", "QUIT", "NOOP" };
	static struct rule rules[] = {
		{ .name = "no-bob", .action = RULE_DENY, .users = bob, .n_users = 1 },
		{ .name = "anon-ro", .action = RULE_DENY, .users = anon, .n_users = 1,
		    .commands = stor, .n_commands = 3 },
	};
	static const struct rule_set set = { .rules = rules, .n = 2 };
	struct sockaddr_storage client, server;

	rules_compute_needs(&rules[0]);
	rules_compute_needs(&rules[1]);
	ck_assert_int_eq(addr_parse("198.51.100.7", false, &client), 0);
	ck_assert_int_eq(addr_parse("203.0.113.5:21", false, &server), 0);
	C.rules = &set;
	C.client = (struct sockaddr *)&client;
	C.server = (struct sockaddr *)&server;
	et_start();
	et_greet();
	feed_client("USER bob");
	expect_client("530 Login denied by the gateway.\r\n");
	expect_server("");
	ck_assert_int_eq(F.rule_hits[0], 1);
	feed_client("USER anonymous");
	expect_server("USER anonymous\r\n");
	feed_server("331 pw");
	expect_client("331 pw\r\n");
	feed_client("PASS x");
	expect_server("PASS x\r\n");
	feed_server("230 ok");
	expect_client("230 ok\r\n");
	/* STOR waits for the SYST's reply, then gets its 502. */
	feed_client("SYST");
	expect_server("SYST\r\n");
	feed_client("stor f");
	expect_client("");
	expect_server("");
	feed_server("215 UNIX");
	expect_client("215 UNIX\r\n502 Command not allowed by the gateway.\r\n");
	expect_server("");
	ck_assert_int_eq(F.rule_hits[1], 1);
	feed_client("XMKD d");
	expect_server("XMKD d\r\n");
	feed_server("257 made");
	expect_client("257 made\r\n");
	/* A denied NOOP during a transfer waits for the transfer's reply. */
	et_retr_started();
	F.pending = false;
	feed_client("NOOP");
	expect_client("");
	expect_server("");
	feed_server("226 Done");
	expect_client("226 Done\r\n502 Command not allowed by the gateway.\r\n");
	feed_client("QUIT");
	expect_server("QUIT\r\n");
	ck_assert_int_eq(F.rule_hits[0], 1);
	ck_assert_int_eq(F.rule_hits[1], 2);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* allow-commands: only what it names goes; the gateway's own verbs and
 * QUIT are not subject to it; deny-commands comes first. */
START_TEST(test_allow)
{
	static const char *const allow[] = { "USER", "pass", "PASV", "RETR", "MKD",
	    "SITE CHMOD" };
	static const char *const deny[] = { "SITE CHMOD 777" };

	C.allow = allow;
	C.n_allow = sizeof(allow) / sizeof(allow[0]);
	C.deny = deny;
	C.n_deny = 1;
	et_start_ready();
	feed_client("SYST");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE EXEC x");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE CHMOD 777 f");
	expect_client_code("502");
	expect_server("");
	feed_client("HELLO");
	expect_client_code("500");
	feed_client("HELO");
	expect_client_code("502");
	expect_server("");
	feed_client("SITE CHMOD 644 f");
	expect_server("SITE CHMOD 644 f\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	feed_client("XMKD d");
	expect_server("XMKD d\r\n");
	feed_server("257 made");
	expect_client("257 made\r\n");
	/* PBSZ is the gateway's own answer, not the list's 502. */
	feed_client("PBSZ 0");
	expect_client_code("503");
	expect_server("");
	/* A refused NOOP during a transfer waits for the transfer's reply:
	 * the 502 must not pass for RETR's. */
	et_retr_started();
	F.pending = false;
	feed_client("NOOP");
	expect_client("");
	expect_server("");
	feed_server("226 Done");
	expect_client("226 Done\r\n502 Command not allowed by the gateway.\r\n");
	feed_client("QUIT");
	expect_server("QUIT\r\n");
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* LPRT and LPSV (RFC 1639) are never forwarded: their addresses are not
 * translated. */
START_TEST(test_lprt_lpsv)
{
	et_start();
	et_greet();
	feed_client("LPSV");
	expect_client_code("502");
	expect_server("");
	et_login();
	feed_client("LPSV");
	expect_client_code("502");
	expect_server("");
	feed_client("lprt 4,4,198,51,100,2,2,195,80");
	expect_client_code("502");
	expect_server("");
	ck_assert_int_eq(F.opens, 0);
	C.strict = true;
	engine_free(E);
	E = NULL;
	et_start_ready();
	feed_client("LPSV");
	expect_client_code("502");
	expect_server("");
}
END_TEST

/* A 228 (LPSV's reply) never reaches the client, whatever it answers. */
START_TEST(test_228_never_passes)
{
	et_start_ready();
	feed_client("XLPS");                  /* unknown: the server's business */
	expect_server("XLPS\r\n");
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client_code("502");
	feed_client("SITE LPSV");
	expect_server("SITE LPSV\r\n");
	feed_server("228-Entering Long Passive Mode");
	feed_server(" (4,4,10,0,0,5,2,4,1)");
	feed_server("228 end");
	expect_client_code("502");
	/* Unsolicited: dropped. */
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client("");
	/* To a data setup: the channel is refused, the 228 not passed. */
	feed_client("PASV");
	expect_server("PASV\r\n");
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client_code("502");
	ck_assert_int_eq(F.reply_code, 502);          /* refused, not a 228 */
	ck_assert_uint_eq(engine_outstanding(E), 0);
	/* A transfer's final reply: the client gets 502, the transfer failed. */
	et_retr_started();
	feed_server("228 Entering Long Passive Mode (4,4,10,0,0,5,2,4,1)");
	expect_client_code("502");
	ck_assert_int_eq(F.ends, 1);
	ck_assert(!F.end_ok);
	feed_client("NOOP");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	ck_assert_uint_eq(engine_outstanding(E), 0);
	ck_assert_int_eq(F.closes, 0);
}
END_TEST

/* strict: before login only the list reaches the server; an
 * unknown verb, REIN and LANG get 530. */
START_TEST(test_strict_before_login)
{
	static const char *const refused[] = {
		"XYZW a", "SITE HELP", "REIN", "LANG en", "XCWD /", "CWD /", "MLST",
	};

	C.strict = true;
	et_start();
	et_greet();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		feed_client(refused[i]);
		expect_client_code("530");
		expect_server("");
	}
	feed_client("CLNT fancy 1.0");
	expect_server("CLNT fancy 1.0\r\n");
	feed_server("200 noted");
	expect_client("200 noted\r\n");
	feed_client("HOST ftp.example.org");
	expect_server("HOST ftp.example.org\r\n");
	feed_server("220 ok");
	expect_client("220 ok\r\n");
	feed_client("OPTS UTF8 ON");
	expect_server("OPTS UTF8 ON\r\n");
	feed_server("200 ok");
	expect_client("200 ok\r\n");
	et_login();
	/* Logged in, what the gateway does not know is the server's. */
	feed_client("XYZW a");
	expect_server("XYZW a\r\n");
	feed_server("500 unknown");
	expect_client("500 unknown\r\n");
}
END_TEST

/* 22. Timeouts. */
START_TEST(test_timeout_ready)
{
	et_start_ready();
	et_ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

START_TEST(test_timeout_connecting)
{
	et_start();
	et_ev(EE_TIMEOUT);
	expect_client_code("421");
	expect_server("");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* The header leaves it to the caller not to feed EE_TIMEOUT while data
 * flows (session.c re-arms then); a timeout that is fed is an idle one,
 * in a transfer too, and a held reply does not survive it. */
START_TEST(test_timeout_transfer)
{
	et_start_ready();
	et_retr_started();
	et_ev(EE_TIMEOUT);
	expect_client_code("421");
	expect_server("");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

START_TEST(test_timeout_held)
{
	et_start_ready();
	et_retr_started();
	F.pending = true;
	feed_server("226 Done");
	expect_phase(EP_HELD);
	et_ev(EE_TIMEOUT);
	expect_client_code("421");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* 23. Shutdown. */
START_TEST(test_shutdown)
{
	static const char text[] = "421 Gateway shutting down.";
	struct engine_event shut = { .type = EE_SHUTDOWN, .text = text, .len = strlen(text) };

	/* TEXT is a C string here (session.c passes len 0); the header
	 * only says LINE events are not NUL-terminated. */
	et_start_ready();
	engine_event(E, &shut);
	et_invariants();
	expect_client("421 Gateway shutting down.\r\n");
	ck_assert_int_eq(F.closes, 1);
}
END_TEST

/* 24. After close, nothing. */
START_TEST(test_after_close)
{
	static const enum engine_ev all[] = {
		EE_SERVER_CONNECTED, EE_SERVER_TLS_UP, EE_CLIENT_TLS_UP, EE_CLIENT_LINE,
		EE_SERVER_LINE, EE_CLIENT_LINE_TOO_LONG, EE_SERVER_LINE_TOO_LONG,
		EE_DATA_TO_CLIENT_DONE, EE_DATA_DONE, EE_DATA_FAILED, EE_SERVER_CLOSED,
		EE_CLIENT_CLOSED, EE_TIMEOUT, EE_SHUTDOWN,
	};

	et_start_ready();
	feed_client("NOOP");
	et_ev(EE_SERVER_CLOSED);
	ck_assert_int_eq(F.closes, 1);
	ck_assert(!engine_wants_client_line(E));
	ck_assert(!engine_wants_server_line(E));
	expect_client_code("421");
	expect_server("NOOP\r\n");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		et_event_raw(all[i], "200 ok", 6);
	ck_assert_int_eq(F.closes, 1);
	ck_assert_int_eq(F.after_close, 0);
	expect_client("");
	expect_server("");
}
END_TEST

Suite *
suite_engine(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("dialogue");

	tcase_add_checked_fixture(tc, et_setup, et_teardown);
	tcase_add_test(tc, test_greeting);
	tcase_add_test(tc, test_greeting_multiline);
	tcase_add_test(tc, test_login);
	tcase_add_test(tc, test_login_refused);
	tcase_add_test(tc, test_login_pipelined);
	tcase_add_test(tc, test_strict_order);
	tcase_add_test(tc, test_strict_refused_setup);
	tcase_add_test(tc, test_strict_off);
	tcase_add_test(tc, test_deny);
	tcase_add_test(tc, test_deny_alias);
	tcase_add_test(tc, test_deny_telnet);
	tcase_add_test(tc, test_reply_telnet);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_lprt_lpsv);
	tcase_add_test(tc, test_228_never_passes);
	tcase_add_test(tc, test_strict_before_login);
	et_add_transfer_tests(tc);
	et_add_limits_tests(tc);
	et_add_tls_tests(tc);
	tcase_add_test(tc, test_timeout_ready);
	tcase_add_test(tc, test_timeout_connecting);
	tcase_add_test(tc, test_timeout_transfer);
	tcase_add_test(tc, test_timeout_held);
	tcase_add_test(tc, test_shutdown);
	tcase_add_test(tc, test_after_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxy");
	tcase_add_checked_fixture(tc, et_setup, et_teardown);
	et_add_proxy_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}
