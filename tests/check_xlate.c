/* check_xlate.c: unit tests for src/xlate.c, the data-connection plan. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "ftp_proto.h"
#include "xlate.h"
#include "unit.h"

/* A session's four control addresses and its listener. */
struct fix {
	struct listen_conf lc;
	struct sockaddr_storage client, client_local, server, server_local;
	struct xlate_in in;
	char line[256];                  /* the client's command; CMD points into it */
	struct ftp_command cmd;
	struct xlate_plan plan;
	char refusal[160];
};

static void
set_addr(struct sockaddr_storage *ss, const char *s)
{
	ck_assert_msg(addr_parse(s, false, ss) == 0, "bad test address %s", s);
}

/* CLIENT and SERVER "v4" or "v6"; redirect, passive-address original,
 * server-data-mode same unless changed. */
static void
fix_init(struct fix *f, bool client_v6, bool server_v6)
{
	memset(f, 0, sizeof(*f));
	f->lc.mode = MODE_REDIRECT;
	f->lc.pasv_kind = PASV_ADDR_ORIGINAL;
	f->lc.sdata = SDATA_SAME;
	set_addr(&f->client, client_v6 ? "[2001:db8:1::10]:40000" : "198.51.100.10:40000");
	set_addr(&f->client_local, client_v6 ? "[2001:db8:1::1]:21" : "198.51.100.1:21");
	set_addr(&f->server, server_v6 ? "[2001:db8:2::5]:21" : "203.0.113.5:21");
	set_addr(&f->server_local, server_v6 ? "[2001:db8:2::1]:45000" : "203.0.113.1:45000");
	f->in.sid = 7;
	f->in.lc = &f->lc;
	f->in.client = &f->client;
	f->in.client_local = &f->client_local;
	f->in.server = &f->server;
	f->in.server_local = &f->server_local;
}

static enum xlate_verdict
plan(struct fix *f, const char *line)
{
	snprintf(f->line, sizeof(f->line), "%s", line);
	ck_assert_int_eq(ftp_command_parse(f->line, strlen(f->line), &f->cmd), 0);
	memset(f->refusal, 'x', sizeof(f->refusal));
	return xlate_plan(&f->in, &f->cmd, &f->plan, f->refusal, sizeof(f->refusal));
}

/* "host:port" of SS, or "-" for no address. */
static const char *
fmt(const struct sockaddr_storage *ss)
{
	static char buf[4][ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	if (ss->ss_family == AF_UNSPEC)
		return "-";
	return addr_fmt((const struct sockaddr *)ss, buf[i], sizeof(buf[i]));
}

#define ck_addr(ss, want) ck_assert_str_eq(fmt(ss), (want))

static void
ck_ok(struct fix *f, const char *line)
{
	enum xlate_verdict v = plan(f, line);

	ck_assert_msg(v == XLATE_OK, "%s: verdict %d, refusal \"%.*s\"", line, (int)v,
	    (int)sizeof(f->refusal) - 1, f->refusal);
}

static void
ck_refused(struct fix *f, const char *line, enum xlate_verdict want, const char *reply)
{
	ck_assert_int_eq(plan(f, line), want);
	ck_assert_str_eq(f->refusal, reply);
}

/* passive-address original, per mode: where the client is met. */
START_TEST(test_original_per_mode)
{
	struct fix f;

	fix_init(&f, false, false);
	f.lc.mode = MODE_REDIRECT;
	ck_ok(&f, "PASV");
	ck_assert(f.plan.client.listen);
	ck_assert(!f.plan.client.transparent);
	ck_addr(&f.plan.client.host, "0.0.0.0:0");
	ck_addr(&f.plan.advertise, "203.0.113.5:0");

	f.lc.mode = MODE_TPROXY;
	ck_ok(&f, "PASV");
	ck_assert(f.plan.client.listen);
	ck_assert(f.plan.client.transparent);
	ck_addr(&f.plan.client.host, "203.0.113.5:0");
	ck_addr(&f.plan.advertise, "203.0.113.5:0");

	f.lc.mode = MODE_REVERSE;
	ck_ok(&f, "EPSV");
	ck_assert(f.plan.client.listen);
	ck_assert(!f.plan.client.transparent);
	ck_addr(&f.plan.client.host, "198.51.100.1:0");
	ck_addr(&f.plan.advertise, "198.51.100.1:0");

	/* The same for an IPv6 client and server. */
	fix_init(&f, true, true);
	ck_ok(&f, "EPSV");
	ck_addr(&f.plan.client.host, "[::]:0");
	ck_addr(&f.plan.advertise, "[2001:db8:2::5]:0");
	f.lc.mode = MODE_TPROXY;
	ck_ok(&f, "EPSV 2");
	ck_assert(f.plan.client.transparent);
	ck_addr(&f.plan.client.host, "[2001:db8:2::5]:0");
	f.lc.mode = MODE_REVERSE;
	ck_ok(&f, "EPSV");
	ck_addr(&f.plan.client.host, "[2001:db8:1::1]:0");
	ck_addr(&f.plan.advertise, "[2001:db8:1::1]:0");
}
END_TEST

/* passive-address local and fixed do not depend on the mode. */
START_TEST(test_local_and_fixed_every_mode)
{
	static const enum listen_mode modes[] = { MODE_REDIRECT, MODE_TPROXY, MODE_REVERSE };
	struct fix f;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		fix_init(&f, false, false);
		f.lc.mode = modes[i];
		f.lc.pasv_kind = PASV_ADDR_LOCAL;
		ck_ok(&f, "PASV");
		ck_assert(f.plan.client.listen);
		ck_assert(!f.plan.client.transparent);
		ck_addr(&f.plan.client.host, "198.51.100.1:0");
		ck_addr(&f.plan.advertise, "198.51.100.1:0");

		f.lc.pasv_kind = PASV_ADDR_FIXED;
		set_addr(&f.lc.pasv_fixed, "192.0.2.99");
		ck_ok(&f, "EPSV");
		ck_assert(f.plan.client.listen);
		ck_assert(!f.plan.client.transparent);
		ck_addr(&f.plan.client.host, "0.0.0.0:0");
		ck_addr(&f.plan.advertise, "192.0.2.99:0");

		/* A v6 client told of a fixed IPv4 address in its 229
		 * (which names no host) is served; PASV could not be. */
		fix_init(&f, true, true);
		f.lc.mode = modes[i];
		f.lc.pasv_kind = PASV_ADDR_FIXED;
		set_addr(&f.lc.pasv_fixed, "2001:db8::99");
		ck_ok(&f, "EPSV");
		ck_addr(&f.plan.client.host, "[::]:0");
		ck_addr(&f.plan.advertise, "[2001:db8::99]:0");
		ck_refused(&f, "PASV", XLATE_UNSERVED, "425 PASV cannot name an IPv6 address: use EPSV.");
	}
}
END_TEST

/* server-data-mode: same mirrors the client, passive and active force. */
START_TEST(test_server_data_mode)
{
	struct fix f;

	fix_init(&f, false, false);
	ck_ok(&f, "PASV");
	ck_assert(!f.plan.server.listen);
	ck_assert(!f.plan.server.has_src);
	ck_assert(!f.plan.server.transparent);
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PASV);
	ck_ok(&f, "EPSV");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPSV);
	ck_ok(&f, "PORT 198,51,100,10,200,10");
	ck_assert(f.plan.server.listen);
	ck_assert(!f.plan.server.transparent);
	ck_addr(&f.plan.server.host, "203.0.113.1:0");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PORT);
	ck_ok(&f, "EPRT |1|198.51.100.10|51210|");
	ck_assert(f.plan.server.listen);
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPRT);

	f.lc.sdata = SDATA_PASSIVE;
	ck_ok(&f, "PORT 198,51,100,10,200,10");
	ck_assert(!f.plan.client.listen);
	ck_assert(!f.plan.server.listen);
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PASV);
	ck_ok(&f, "EPRT |1|198.51.100.10|51210|");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPSV);
	ck_ok(&f, "PASV");
	ck_assert(!f.plan.server.listen);
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PASV);

	f.lc.sdata = SDATA_ACTIVE;
	ck_ok(&f, "PASV");
	ck_assert(f.plan.client.listen);
	ck_assert(f.plan.server.listen);
	ck_addr(&f.plan.server.host, "203.0.113.1:0");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PORT);
	ck_ok(&f, "EPSV");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPRT);
	ck_ok(&f, "PORT 198,51,100,10,200,10");
	ck_assert(f.plan.server.listen);
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PORT);
}
END_TEST

/* tproxy: each side sees the other's address, on both ends and in both
 * directions. */
START_TEST(test_tproxy_sources)
{
	struct fix f;

	fix_init(&f, false, false);
	f.lc.mode = MODE_TPROXY;
	ck_ok(&f, "PORT 198,51,100,10,200,10");
	ck_assert(!f.plan.client.listen);
	ck_assert(f.plan.client.transparent);
	ck_assert(f.plan.client.has_src);
	ck_addr(&f.plan.client.src, "203.0.113.5:0");
	ck_addr(&f.plan.client.target, "198.51.100.10:51210");
	ck_assert(f.plan.server.listen);
	ck_assert(f.plan.server.transparent);
	ck_addr(&f.plan.server.host, "198.51.100.10:0");

	ck_ok(&f, "PASV");
	ck_assert(!f.plan.server.listen);
	ck_assert(f.plan.server.transparent);
	ck_assert(f.plan.server.has_src);
	ck_addr(&f.plan.server.src, "198.51.100.10:0");

	/* Not tproxy: no source, nothing transparent. */
	f.lc.mode = MODE_REDIRECT;
	ck_ok(&f, "PORT 198,51,100,10,200,10");
	ck_assert(!f.plan.client.transparent);
	ck_assert(!f.plan.client.has_src);
	ck_addr(&f.plan.client.target, "198.51.100.10:51210");
	ck_assert(!f.plan.server.transparent);
	f.lc.mode = MODE_REVERSE;
	ck_ok(&f, "PASV");
	ck_assert(!f.plan.server.has_src);
	ck_assert(!f.plan.server.transparent);
}
END_TEST

/* Families: the client keeps its own forms; the server gets the extended
 * ones only where needed (an IPv6 server) or mirrored (same families). */
START_TEST(test_families)
{
	struct fix f;

	/* v6 to v6: EPSV/EPRT both ways. */
	fix_init(&f, true, true);
	ck_ok(&f, "EPSV");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPSV);
	ck_ok(&f, "EPRT |2|2001:db8:1::10|50000|");
	ck_addr(&f.plan.client.target, "[2001:db8:1::10]:50000");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPRT);
	ck_addr(&f.plan.server.host, "[2001:db8:2::1]:0");

	/* v6 client to v4 server: PASV/PORT to the server. */
	fix_init(&f, true, false);
	f.lc.pasv_kind = PASV_ADDR_LOCAL;
	ck_ok(&f, "EPSV");
	ck_addr(&f.plan.advertise, "[2001:db8:1::1]:0");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PASV);
	ck_ok(&f, "EPRT |2|2001:db8:1::10|50000|");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_PORT);
	ck_addr(&f.plan.server.host, "203.0.113.1:0");
	/* In redirect mode with original, the 229 names no host: fine. */
	f.lc.pasv_kind = PASV_ADDR_ORIGINAL;
	ck_ok(&f, "EPSV");
	ck_addr(&f.plan.client.host, "[::]:0");

	/* v4 client to v6 server: EPSV/EPRT to the server, even for
	 * PASV/PORT; PASV cannot advertise the v6 server itself. */
	fix_init(&f, false, true);
	ck_refused(&f, "PASV", XLATE_UNSERVED, "425 PASV cannot name an IPv6 address: use EPSV.");
	f.lc.pasv_kind = PASV_ADDR_LOCAL;
	ck_ok(&f, "PASV");
	ck_addr(&f.plan.advertise, "198.51.100.1:0");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPSV);
	ck_ok(&f, "PORT 198,51,100,10,200,10");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPRT);
	ck_addr(&f.plan.server.host, "[2001:db8:2::1]:0");
	f.lc.sdata = SDATA_ACTIVE;
	ck_ok(&f, "PASV");
	ck_assert_int_eq(f.plan.server_verb, FTP_V_EPRT);
}
END_TEST

/* EPSV/EPRT/PORT naming the other family: 522 with the one to use. */
START_TEST(test_family_refusals)
{
	struct fix f;

	fix_init(&f, false, false);
	ck_refused(&f, "EPSV 2", XLATE_REFUSED, "522 Network protocol not supported, use (1)");
	ck_ok(&f, "EPSV 1");
	ck_refused(&f, "EPRT |2|2001:db8:1::10|50000|", XLATE_REFUSED,
	    "522 Network protocol not supported, use (1)");

	fix_init(&f, true, true);
	ck_refused(&f, "EPSV 1", XLATE_REFUSED, "522 Network protocol not supported, use (2)");
	ck_ok(&f, "EPSV 2");
	ck_refused(&f, "PORT 198,51,100,10,200,10", XLATE_REFUSED,
	    "522 Network protocol not supported, use (2)");
	ck_refused(&f, "EPRT |1|198.51.100.10|50000|", XLATE_REFUSED,
	    "522 Network protocol not supported, use (2)");
	/* A v4-mapped address is IPv4: not the v6 client's family. */
	ck_refused(&f, "EPRT |2|::ffff:198.51.100.10|50000|", XLATE_REFUSED,
	    "522 Network protocol not supported, use (2)");
}
END_TEST

/* FTP bounce (RFC 2577): only the client's own host, port >= 1024. */
START_TEST(test_bounce)
{
	static const char refuse_port[] =
	    "501 PORT refused: data connections go only to your own address and a port above 1023.";
	static const char refuse_eprt[] =
	    "501 EPRT refused: data connections go only to your own address and a port above 1023.";
	struct fix f;

	fix_init(&f, false, false);
	ck_refused(&f, "PORT 203,0,113,5,200,10", XLATE_REFUSED, refuse_port);
	ck_refused(&f, "PORT 198,51,100,11,200,10", XLATE_REFUSED, refuse_port);
	ck_refused(&f, "PORT 198,51,100,10,3,255", XLATE_REFUSED, refuse_port);   /* 1023 */
	ck_ok(&f, "PORT 198,51,100,10,4,0");                                       /* 1024 */
	ck_addr(&f.plan.client.target, "198.51.100.10:1024");
	ck_refused(&f, "EPRT |1|203.0.113.5|50000|", XLATE_REFUSED, refuse_eprt);
	ck_refused(&f, "EPRT |1|198.51.100.10|21|", XLATE_REFUSED, refuse_eprt);
	/* v4-mapped: the client's own host is accepted, as IPv4 ... */
	ck_ok(&f, "EPRT |2|::ffff:198.51.100.10|50000|");
	ck_addr(&f.plan.client.target, "198.51.100.10:50000");
	/* ... and another host is still another host. */
	ck_refused(&f, "EPRT |2|::ffff:203.0.113.5|50000|", XLATE_REFUSED, refuse_eprt);
	ck_refused(&f, "EPRT |2|::ffff:198.51.100.10|1023|", XLATE_REFUSED, refuse_eprt);

	fix_init(&f, true, true);
	ck_refused(&f, "EPRT |2|2001:db8:2::5|50000|", XLATE_REFUSED, refuse_eprt);
	ck_refused(&f, "EPRT |2|2001:db8:1::10|1023|", XLATE_REFUSED, refuse_eprt);
	ck_ok(&f, "EPRT |2|2001:db8:1::10|1024|");
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct fix f;

	fix_init(&f, false, false);
	ck_refused(&f, "PORT 198,51,100,10,200", XLATE_REFUSED, "501 Bad PORT argument.");
	ck_refused(&f, "PORT 198,51,100,10,200,256", XLATE_REFUSED, "501 Bad PORT argument.");
	ck_refused(&f, "PORT 198,51,100,10,0,0", XLATE_REFUSED, "501 Bad PORT argument.");
	ck_refused(&f, "PORT", XLATE_REFUSED, "501 Bad PORT argument.");
	ck_refused(&f, "EPRT |3|198.51.100.10|50000|", XLATE_REFUSED, "501 Bad EPRT argument.");
	ck_refused(&f, "EPRT |1|2001:db8:1::10|50000|", XLATE_REFUSED, "501 Bad EPRT argument.");
	ck_refused(&f, "EPRT |1|198.51.100.10|50000", XLATE_REFUSED, "501 Bad EPRT argument.");
	ck_refused(&f, "EPRT", XLATE_REFUSED, "501 Bad EPRT argument.");
	/* A bad argument is a bad argument before its family is judged. */
	fix_init(&f, true, true);
	ck_refused(&f, "PORT 1,2,3", XLATE_REFUSED, "501 Bad PORT argument.");
	/* A refusal always fits and ends: cut to the buffer given. */
	snprintf(f.line, sizeof(f.line), "PORT 198,51,100,10,200,10");
	ck_assert_int_eq(ftp_command_parse(f.line, strlen(f.line), &f.cmd), 0);
	ck_assert_int_eq(xlate_plan(&f.in, &f.cmd, &f.plan, f.refusal, 8), XLATE_REFUSED);
	ck_assert_str_eq(f.refusal, "522 Net");
}
END_TEST

/* The command for the server. */
START_TEST(test_server_line)
{
	struct sockaddr_storage v4, v6;
	char line[128];

	set_addr(&v4, "203.0.113.1:50010");
	set_addr(&v6, "[2001:db8:2::1]:50010");
	ck_assert_int_eq(xlate_server_line(FTP_V_PASV, &v4, line, sizeof(line)), 4);
	ck_assert_str_eq(line, "PASV");
	ck_assert_int_eq(xlate_server_line(FTP_V_EPSV, &v4, line, sizeof(line)), 4);
	ck_assert_str_eq(line, "EPSV");
	ck_assert_int_gt(xlate_server_line(FTP_V_PORT, &v4, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "PORT 203,0,113,1,195,90");
	ck_assert_int_gt(xlate_server_line(FTP_V_EPRT, &v4, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "EPRT |1|203.0.113.1|50010|");
	ck_assert_int_gt(xlate_server_line(FTP_V_EPRT, &v6, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "EPRT |2|2001:db8:2::1|50010|");
	ck_assert_int_eq(xlate_server_line(FTP_V_PORT, &v6, line, sizeof(line)), -1);
	ck_assert_int_eq(xlate_server_line(FTP_V_PASV, &v4, line, 4), -1);
	ck_assert_int_eq(xlate_server_line(FTP_V_PORT, &v4, line, 10), -1);
}
END_TEST

static enum xlate_answer
answer(struct fix *f, enum ftp_verb verb, int code, const char *text, struct xlate_target *t)
{
	return xlate_server_reply(&f->in, verb, code, text, strlen(text), t);
}

/* 227: connect to the control peer, not to what it names, unless
 * follow-pasv-address. */
START_TEST(test_227)
{
	struct fix f;
	struct xlate_target t;

	fix_init(&f, false, false);
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (203,0,113,5,195,80).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "203.0.113.5:50000");
	ck_assert(!t.foreign);
	ck_assert(!t.followed);

	/* A NAT'd server's private address, or a victim's. */
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (192,0,2,77,195,81).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "203.0.113.5:50001");
	ck_assert(t.foreign);
	ck_assert(!t.followed);

	f.lc.follow_pasv_address = true;
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (192,0,2,77,195,81).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "192.0.2.77:50001");
	ck_assert(t.foreign);
	ck_assert(t.followed);
	/* The control peer itself is not "followed". */
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 =203,0,113,5,4,1\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "203.0.113.5:1025");
	ck_assert(!t.foreign);
	ck_assert(!t.followed);

	/* An IPv6 control peer is never left for what a 227 names. */
	fix_init(&f, true, true);
	f.lc.follow_pasv_address = true;
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (192,0,2,77,195,81).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "[2001:db8:2::5]:50001");
	ck_assert(t.foreign);
	ck_assert(!t.followed);
}
END_TEST

/* follow-pasv-address has limits: what a followed 227 may not name. */
START_TEST(test_227_follow_limits)
{
	static const char *const forbidden[] = {
		"227 Entering Passive Mode (192,0,2,77,0,25).",      /* port 25 */
		"227 Entering Passive Mode (192,0,2,77,3,255).",     /* port 1023 */
		"227 Entering Passive Mode (127,0,0,1,195,80).",     /* loopback */
		"227 Entering Passive Mode (127,1,2,3,195,80).",
		"227 Entering Passive Mode (0,0,0,0,195,80).",       /* unspecified */
		"227 Entering Passive Mode (169,254,1,1,195,80).",   /* link-local */
		"227 Entering Passive Mode (224,0,0,1,195,80).",     /* multicast */
		"227 Entering Passive Mode (255,255,255,255,195,80).",
		"227 Entering Passive Mode (198,51,100,1,195,80).",  /* the gateway's */
		"227 Entering Passive Mode (10,9,8,7,195,80).",      /* the gateway's */
	};
	struct sockaddr_storage own[2];
	struct fix f;
	struct xlate_target t;
	struct addr_prefix nets[1];
	char text[128];

	fix_init(&f, false, false);
	f.lc.follow_pasv_address = true;
	set_addr(&own[0], "198.51.100.1:1");
	set_addr(&own[1], "10.9.8.7:1");
	f.in.own = own;
	f.in.n_own = 2;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		snprintf(text, sizeof(text), "%s\r\n", forbidden[i]);
		ck_assert_msg(answer(&f, FTP_V_PASV, 227, text, &t) == XLATE_ANSWER_FORBIDDEN,
		    "followed: %s", forbidden[i]);
	}
	/* Port 1024 of a public host is fine. */
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (192,0,2,77,4,0).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "192.0.2.77:1024");
	/* The control peer itself (not followed) may be loopback-free anyway:
	 * the limits are for foreign hosts only. */
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (203,0,113,5,0,20).\r\n", &t), XLATE_ANSWER_CONNECT);
	/* Without follow-pasv-address nothing foreign is followed at all. */
	f.lc.follow_pasv_address = false;
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (127,0,0,1,195,80).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "203.0.113.5:50000");
	/* follow-pasv-networks narrows it. */
	f.lc.follow_pasv_address = true;
	ck_assert_int_eq(prefix_parse("192.0.2.0/25", &nets[0]), 0);
	f.lc.follow_nets = nets;
	f.lc.n_follow_nets = 1;
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (192,0,2,77,195,80).\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (192,0,2,200,195,80).\r\n", &t), XLATE_ANSWER_FORBIDDEN);
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (203,0,113,99,195,80).\r\n", &t), XLATE_ANSWER_FORBIDDEN);
}
END_TEST

START_TEST(test_server_answers)
{
	struct fix f;
	struct xlate_target t;

	fix_init(&f, false, false);
	/* Malformed 227/229. */
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227, "227 Entering Passive Mode.\r\n", &t),
	    XLATE_ANSWER_BAD);
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 227,
	    "227 Entering Passive Mode (203,0,113,5,256,1).\r\n", &t), XLATE_ANSWER_BAD);
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 229,
	    "229 Entering Extended Passive Mode (|||0|)\r\n", &t), XLATE_ANSWER_BAD);
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 229,
	    "229 Entering Extended Passive Mode (|!|50000|)\r\n", &t), XLATE_ANSWER_BAD);
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 229, "229 Entering Extended Passive Mode\r\n", &t),
	    XLATE_ANSWER_BAD);
	/* A good 229: the control peer's host, its port. */
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 229,
	    "229 Entering Extended Passive Mode (|||50002|)\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "203.0.113.5:50002");
	fix_init(&f, true, true);
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 229,
	    "229 Entering Extended Passive Mode (!!!50003!)\r\n", &t), XLATE_ANSWER_CONNECT);
	ck_addr(&t.addr, "[2001:db8:2::5]:50003");
	/* Refusals, and the wrong success code, are the server's. */
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 425, "425 No.\r\n", &t), XLATE_ANSWER_REFUSED);
	ck_assert_int_eq(answer(&f, FTP_V_PASV, 229,
	    "229 Entering Extended Passive Mode (|||50002|)\r\n", &t), XLATE_ANSWER_REFUSED);
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 227,
	    "227 Entering Passive Mode (203,0,113,5,195,80).\r\n", &t), XLATE_ANSWER_REFUSED);
	ck_assert_int_eq(answer(&f, FTP_V_EPSV, 500, "500 EPSV?\r\n", &t), XLATE_ANSWER_REFUSED);
	/* PORT/EPRT: any 2xx. */
	ck_assert_int_eq(answer(&f, FTP_V_PORT, 200, "200 OK\r\n", &t), XLATE_ANSWER_ACCEPTED);
	ck_assert_int_eq(answer(&f, FTP_V_EPRT, 250, "250 OK\r\n", &t), XLATE_ANSWER_ACCEPTED);
	ck_assert_int_eq(answer(&f, FTP_V_PORT, 500, "500 No\r\n", &t), XLATE_ANSWER_REFUSED);
	ck_assert_int_eq(answer(&f, FTP_V_EPRT, 522, "522 (1)\r\n", &t), XLATE_ANSWER_REFUSED);
}
END_TEST

/* The client's reply. */
START_TEST(test_client_reply)
{
	struct sockaddr_storage v4, v6;
	char line[128];

	set_addr(&v4, "203.0.113.5:50000");
	set_addr(&v6, "[2001:db8:2::5]:50001");
	ck_assert_uint_gt(xlate_client_reply(FTP_V_PASV, &v4, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "227 Entering Passive Mode (203,0,113,5,195,80).");
	ck_assert_uint_gt(xlate_client_reply(FTP_V_EPSV, &v6, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "229 Entering Extended Passive Mode (|||50001|)");
	ck_assert_uint_gt(xlate_client_reply(FTP_V_EPSV, &v4, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "229 Entering Extended Passive Mode (|||50000|)");
	ck_assert_uint_eq(xlate_client_reply(FTP_V_PORT, &v4, line, sizeof(line)),
	    strlen("200 PORT command successful."));
	ck_assert_str_eq(line, "200 PORT command successful.");
	ck_assert_uint_gt(xlate_client_reply(FTP_V_EPRT, &v4, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "200 EPRT command successful.");
	ck_assert_uint_eq(xlate_client_reply(FTP_V_PASV, &v6, line, sizeof(line)), 0);
	ck_assert_uint_eq(xlate_client_reply(FTP_V_PASV, &v4, line, 20), 0);
	ck_assert_uint_eq(xlate_client_reply(FTP_V_PORT, &v4, line, 28), 0);
}
END_TEST

Suite *
suite_xlate(void)
{
	Suite *s = suite_create("xlate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_original_per_mode);
	tcase_add_test(tc, test_local_and_fixed_every_mode);
	tcase_add_test(tc, test_server_data_mode);
	tcase_add_test(tc, test_tproxy_sources);
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_family_refusals);
	tcase_add_test(tc, test_bounce);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_server_line);
	tcase_add_test(tc, test_227);
	tcase_add_test(tc, test_227_follow_limits);
	tcase_add_test(tc, test_server_answers);
	tcase_add_test(tc, test_client_reply);
	suite_add_tcase(s, tc);
	return s;
}
