/* xlate.c: the translation of a data connection, as pure code: which end
 * listens and which connects, at which addresses, what the server is sent
 * and what the client is told. The I/O is session_data.c's. */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "xlate.h"

#define SA(ss) ((struct sockaddr *)(ss))
#define CSA(ss) ((const struct sockaddr *)(ss))

/* HOST with port 0: a bind host or a source address. */
static void
host_of(struct sockaddr_storage *out, const struct sockaddr_storage *host)
{
	*out = *host;
	addr_set_port(SA(out), 0);
}

/* Where the gateway listens for the client's data connection, and what it
 * tells the client (passive-address). */
static void
plan_client_listener(const struct xlate_in *in, struct xlate_plan *p)
{
	const struct listen_conf *lc = in->lc;
	int family = in->client->ss_family;

	p->client.listen = true;
	p->client.transparent = false;
	switch (lc->pasv_kind) {
	case PASV_ADDR_ORIGINAL:
		if (lc->mode == MODE_TPROXY) {
			/* Bound to the server's own address: the client's data
			 * connection is caught by -m socket --transparent and
			 * sees only the server. */
			host_of(&p->client.host, in->server);
			p->client.transparent = true;
			host_of(&p->advertise, in->server);
			return;
		}
		if (lc->mode == MODE_REDIRECT) {
			/* The passive range is REDIRECTed to us, to whichever
			 * local address the kernel picks: listen on all. */
			addr_any(&p->client.host, family, 0);
			host_of(&p->advertise, in->server);
			return;
		}
		/* reverse: the address the client reached us on */
		host_of(&p->client.host, in->client_local);
		host_of(&p->advertise, in->client_local);
		return;
	case PASV_ADDR_LOCAL:
		host_of(&p->client.host, in->client_local);
		host_of(&p->advertise, in->client_local);
		return;
	case PASV_ADDR_FIXED:
		addr_any(&p->client.host, family, 0);
		host_of(&p->advertise, &lc->pasv_fixed);
		return;
	}
	assert(!"unknown passive-address kind");
}

#define REFUSE(...) do { snprintf(refusal, size, __VA_ARGS__); return XLATE_REFUSED; } while (0)

/* The client's target of PORT/EPRT, decoded and checked against FTP
 * bounce (RFC 2577): data goes only to the client itself, and never to a
 * privileged port. */
static enum xlate_verdict
active_target(const struct xlate_in *in, const struct ftp_command *cmd,
    struct sockaddr_storage *target, char *refusal, size_t size)
{
	int cfam = in->client->ss_family;
	const char *verb = ftp_verb_name(cmd->verb);
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (cmd->verb == FTP_V_PORT) {
		struct sockaddr_in sin;

		if (ftp_port_arg_decode(cmd->arg, cmd->arg_len, &sin) == -1)
			REFUSE("501 Bad PORT argument.");
		if (cfam != AF_INET)
			REFUSE("522 Network protocol not supported, use (2)");
		memset(target, 0, sizeof(*target));
		memcpy(target, &sin, sizeof(sin));
	} else {
		assert(cmd->verb == FTP_V_EPRT);
		if (ftp_eprt_arg_decode(cmd->arg, cmd->arg_len, target) == -1)
			REFUSE("501 Bad EPRT argument.");
		addr_unmap(target);
		if (target->ss_family != cfam)
			REFUSE("522 Network protocol not supported, use (%d)", cfam == AF_INET ? 1 : 2);
	}
	if (!addr_equal_host(CSA(target), CSA(in->client)) || addr_port(CSA(target)) < 1024) {
		log_sess(LL_WARN, in->sid, "%s to %s refused: client is %s", verb,
		    addr_fmt(CSA(target), a, sizeof(a)), addr_fmt_host(CSA(in->client), b, sizeof(b)));
		REFUSE("501 %s refused: data connections go only to your own address and a port above 1023.", verb);
	}
	return XLATE_OK;
}

enum xlate_verdict
xlate_plan(const struct xlate_in *in, const struct ftp_command *cmd,
    struct xlate_plan *out, char *refusal, size_t size)
{
	bool client_passive = cmd->verb == FTP_V_PASV || cmd->verb == FTP_V_EPSV;
	bool client_ext = cmd->verb == FTP_V_EPSV || cmd->verb == FTP_V_EPRT;
	bool tproxy = in->lc->mode == MODE_TPROXY, server_passive, server_ext;
	int cfam = in->client->ss_family, sfam = in->server->ss_family;
	enum xlate_verdict v;

	assert(cmd->verb == FTP_V_PASV || cmd->verb == FTP_V_EPSV ||
	    cmd->verb == FTP_V_PORT || cmd->verb == FTP_V_EPRT);
	assert(size > 0);
	memset(out, 0, sizeof(*out));
	refusal[0] = '\0';

	/* The client's end. */
	if (cmd->verb == FTP_V_EPSV) {
		switch (ftp_epsv_arg_parse(cmd->arg, cmd->arg_len)) {
		case FTP_EPSV_V4:
			if (cfam != AF_INET)
				REFUSE("522 Network protocol not supported, use (2)");
			break;
		case FTP_EPSV_V6:
			if (cfam != AF_INET6)
				REFUSE("522 Network protocol not supported, use (1)");
			break;
		default:                     /* ALL and bad ones are the engine's */
			break;
		}
	}
	if (client_passive) {
		plan_client_listener(in, out);
		if (cmd->verb == FTP_V_PASV && out->advertise.ss_family != AF_INET) {
			snprintf(refusal, size, "425 PASV cannot name an IPv6 address: use EPSV.");
			return XLATE_UNSERVED;
		}
	} else {
		if ((v = active_target(in, cmd, &out->client.target, refusal, size)) != XLATE_OK)
			return v;
		/* tproxy: the client sees the data come from the server. */
		out->client.listen = false;
		out->client.transparent = tproxy;
		if (tproxy) {
			out->client.has_src = true;
			host_of(&out->client.src, in->server);
		}
	}

	/* The server's end: mirror the client unless told otherwise; the
	 * extended forms where the families differ or the server is IPv6
	 * (PASV and PORT name IPv4 addresses only). */
	switch (in->lc->sdata) {
	case SDATA_PASSIVE:
		server_passive = true;
		break;
	case SDATA_ACTIVE:
		server_passive = false;
		break;
	default:
		server_passive = client_passive;
		break;
	}
	server_ext = sfam == AF_INET6 || (cfam == sfam && client_ext);
	out->server.transparent = tproxy;
	if (server_passive) {
		/* tproxy: the server sees the data come from its client. */
		out->server.listen = false;
		if (tproxy) {
			out->server.has_src = true;
			host_of(&out->server.src, in->client);
		}
		out->server_verb = server_ext ? FTP_V_EPSV : FTP_V_PASV;
	} else {
		/* tproxy: the server sees its client's address in PORT. */
		out->server.listen = true;
		host_of(&out->server.host, tproxy ? in->client : in->server_local);
		out->server_verb = server_ext ? FTP_V_EPRT : FTP_V_PORT;
	}
	return XLATE_OK;
}

#undef REFUSE

int
xlate_server_line(enum ftp_verb server_verb, const struct sockaddr_storage *bound,
    char *line, size_t size)
{
	switch (server_verb) {
	case FTP_V_PASV:
	case FTP_V_EPSV: {
		const char *verb = ftp_verb_name(server_verb);
		size_t n = strlen(verb);

		if (n >= size)
			return -1;
		memcpy(line, verb, n + 1);
		return (int)n;
	}
	case FTP_V_PORT:
		if (bound->ss_family != AF_INET)
			return -1;
		return ftp_port_format(line, size, (const struct sockaddr_in *)bound);
	case FTP_V_EPRT:
		return ftp_eprt_format(line, size, CSA(bound));
	default:
		assert(!"not a data setup verb");
		return -1;
	}
}

/* Why a 227's target may not be followed, or NULL. A server that names
 * the gateway itself, its loopback or a privileged port would make the
 * gateway a bounce (RFC 2577) against what only it can reach. */
static const char *
follow_forbidden(const struct xlate_in *in, const struct sockaddr_in *sin)
{
	uint32_t a = ntohl(sin->sin_addr.s_addr);

	if (ntohs(sin->sin_port) < 1024)
		return "a port below 1024";
	if ((a >> 24) == 0 || (a >> 24) == 127)
		return "a loopback or unspecified address";
	if ((a >> 16) == 0xa9fe)                  /* 169.254/16 */
		return "a link-local address";
	if ((a >> 28) >= 0xe)                     /* 224/4 multicast, 240/4 reserved */
		return "a multicast or reserved address";
	for (size_t i = 0; i < in->n_own; i++)
		if (addr_equal_host(CSA(sin), CSA(&in->own[i])))
			return "an address of the gateway";
	if (in->lc->n_follow_nets == 0)
		return NULL;
	for (size_t i = 0; i < in->lc->n_follow_nets; i++)
		if (prefix_contains(&in->lc->follow_nets[i], CSA(sin)))
			return NULL;
	return "outside follow-pasv-networks";
}

enum xlate_answer
xlate_server_reply(const struct xlate_in *in, enum ftp_verb server_verb,
    int code, const char *text, size_t len, struct xlate_target *target)
{
	memset(target, 0, sizeof(*target));
	switch (server_verb) {
	case FTP_V_PASV: {
		const struct sockaddr_in *server = (const struct sockaddr_in *)in->server;
		struct sockaddr_in sin;
		char a[ADDR_STRLEN];

		if (code != 227)
			return XLATE_ANSWER_REFUSED;
		if (ftp_227_decode(text, len, &sin) == -1)
			break;
		/* Connect to the server we already talk to; a 227 naming
		 * another host (NAT'd servers send private ones; a hostile
		 * one names a victim) is followed only when the listener's
		 * follow-pasv-address says so. */
		target->addr = *in->server;
		addr_set_port(SA(&target->addr), ntohs(sin.sin_port));
		target->foreign = in->server->ss_family != AF_INET ||
		    sin.sin_addr.s_addr != server->sin_addr.s_addr;
		if (!target->foreign)
			return XLATE_ANSWER_CONNECT;
		addr_fmt((const struct sockaddr *)&sin, a, sizeof(a));
		if (in->lc->follow_pasv_address && in->server->ss_family == AF_INET) {
			const char *why = follow_forbidden(in, &sin);

			if (why != NULL) {
				log_sess(LL_WARN, in->sid, "227 names %s, %s: refused (follow-pasv-address)",
				    a, why);
				return XLATE_ANSWER_FORBIDDEN;
			}
			memset(&target->addr, 0, sizeof(target->addr));
			memcpy(&target->addr, &sin, sizeof(sin));
			target->followed = true;
			log_sess(LL_INFO, in->sid, "227 names %s; following it (follow-pasv-address)", a);
		} else
			log_sess(LL_INFO, in->sid, "227 names %s; connecting to the control peer instead", a);
		return XLATE_ANSWER_CONNECT;
	}
	case FTP_V_EPSV: {
		uint16_t port;

		if (code != 229)
			return XLATE_ANSWER_REFUSED;
		if (ftp_229_decode(text, len, &port) == -1)
			break;
		target->addr = *in->server;
		addr_set_port(SA(&target->addr), port);
		return XLATE_ANSWER_CONNECT;
	}
	default:                              /* PORT, EPRT */
		return code / 100 == 2 ? XLATE_ANSWER_ACCEPTED : XLATE_ANSWER_REFUSED;
	}
	log_sess(LL_WARN, in->sid, "malformed %d reply from the server", code);
	return XLATE_ANSWER_BAD;
}

size_t
xlate_client_reply(enum ftp_verb client_verb, const struct sockaddr_storage *advertise,
    char *line, size_t size)
{
	int n;

	switch (client_verb) {
	case FTP_V_PASV:
		if (advertise->ss_family != AF_INET)
			return 0;
		n = ftp_227_format(line, size, (const struct sockaddr_in *)advertise);
		break;
	case FTP_V_EPSV:
		n = ftp_229_format(line, size, addr_port(CSA(advertise)));
		break;
	case FTP_V_PORT:
		n = snprintf(line, size, "200 PORT command successful.");
		break;
	default:
		n = snprintf(line, size, "200 EPRT command successful.");
		break;
	}
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
