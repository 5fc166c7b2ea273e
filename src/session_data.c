/* session_data.c: the engine's data effects. The client's PASV, EPSV,
 * PORT and EPRT become a plan (xlate.c, pure code): the gateway's own
 * listener or connect on the client side and, per server-data-mode and the
 * two families, PASV/EPSV/PORT/EPRT toward the server. This file carries
 * the plan out with data channels, hands the server's reply to xlate.c for
 * the server's target and the client's reply, and tells the engine whether
 * a transfer's final reply must wait for its data. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <ifaddrs.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conf.h"
#include "data.h"
#include "data_path.h"
#include "kpath.h"
#include "log.h"
#include "session_int.h"
#include "xlate.h"

void
session_transfer_begin(void *ctx, const struct ftp_command *cmd)
{
	struct session *s = ctx;

	s->xfer_verb = cmd->verb;
	s->xfer_start = time(NULL);
	s->xfer_dropped_up = s->xfer_dropped_down = 0;
	log_escape(cmd->arg, cmd->arg_len, s->xfer_path, sizeof(s->xfer_path));
}

/* A transfer's final reply is on its way to the client: the idle time
 * starts again from here, and a file transfer gets its xferlog line
 * (listings are not file transfers). */
void
session_transfer_end(void *ctx, int code, bool ok)
{
	struct session *s = ctx;
	char host[ADDR_STRLEN];
	bool upload = s->xfer_verb == FTP_V_STOR || s->xfer_verb == FTP_V_STOU ||
	    s->xfer_verb == FTP_V_APPE;
	uint64_t bytes = 0;

	(void)code;
	s->transfers++;
	session_arm_idle_timer(s);
	if (*s->env->xferlog == NULL || (s->xfer_verb != FTP_V_RETR && !upload))
		return;
	if (s->dc != NULL)
		bytes = upload ? dc_bytes_to_server(s->dc) : dc_bytes_to_client(s->dc);
	else                             /* dropped already, by ABOR say */
		bytes = upload ? s->xfer_dropped_up : s->xfer_dropped_down;
	xferlog_write(*s->env->xferlog, time(NULL), (long)(time(NULL) - s->xfer_start),
	    addr_fmt_host(SA(&s->client), host, sizeof(host)), (unsigned long long)bytes,
	    s->xfer_path, upload ? 'i' : 'o', s->user, ok);
	s->xfer_verb = FTP_V_UNKNOWN;
}

void
session_drop_dc(struct session *s)
{
	if (s->dc == NULL)
		return;
	s->xfer_dropped_up = dc_bytes_to_server(s->dc);
	s->xfer_dropped_down = dc_bytes_to_client(s->dc);
	s->data_to_server += s->xfer_dropped_up;
	s->data_to_client += s->xfer_dropped_down;
	dc_free(s->dc);
	s->dc = NULL;
	s->dc_listen_pending = false;
}

void
session_data_drop(void *ctx)
{
	session_drop_dc(ctx);
}

static void
dc_event_cb(struct data_channel *dc, enum dc_event ev, void *arg)
{
	struct session *s = arg;

	switch (ev) {
	case DC_EV_TO_CLIENT_DONE:
		session_data_event(s, EE_DATA_TO_CLIENT_DONE);
		break;
	case DC_EV_DONE:
		session_data_event(s, EE_DATA_DONE);
		break;
	case DC_EV_FAILED:
		session_data_event(s, EE_DATA_FAILED);
		break;
	case DC_EV_PATH:
		if (dc_kernel(dc))
			s->env->stats->data_kernel++;
		else if (dc_kernel_raced(dc))
			s->env->stats->data_kernel_raced++;
		else
			s->env->stats->data_kernel_fallbacks++;
		break;
	}
}

/* The session's side of the translation: its listener and addresses. */
static void
xlate_in_of(const struct session *s, struct xlate_in *in)
{
	in->sid = s->id;
	in->lc = s->lc;
	in->client = &s->client;
	in->client_local = &s->client_local;
	in->server = &s->server;
	in->server_local = &s->server_local;
	in->own = NULL;
	in->n_own = 0;
}

#define OWN_MAX 64

/* The gateway's interface addresses, for a 227 it may follow (a rare
 * path: only with follow-pasv-address). Returns how many went into OWN. */
static size_t
own_addresses(struct sockaddr_storage *own, size_t max)
{
	struct ifaddrs *list, *i;
	size_t n = 0;

	if (getifaddrs(&list) == -1)
		return 0;
	for (i = list; i != NULL && n < max; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&own[n], 0, sizeof(own[n]));
		memcpy(&own[n], i->ifa_addr, addr_len(i->ifa_addr));
		n++;
	}
	freeifaddrs(list);
	return n;
}

/* Where the client's data connection arrives: the host its 227 names, or
 * for EPSV the one its control connection went to (our listener's address
 * in every mode but redirect). */
static void
client_data_dst(const struct session *s, enum ftp_verb verb, struct sockaddr_storage *out)
{
	uint16_t port = addr_port(SA(&s->advertise));

	if (verb == FTP_V_EPSV)
		*out = s->lc->mode == MODE_REDIRECT ? s->server : s->client_local;
	else
		*out = s->advertise;
	addr_set_port(SA(out), port);
}

/* Whether the kernel is to forward the new channel (data-path kernel |
 * auto); when not, why goes to the log (at info level when the listener
 * says kernel). */
static bool
data_path_choose(struct session *s, bool client_listens, bool server_listens)
{
	struct data_path_facts f = {
		.kernel_unavailable = s->env->kpath != NULL ? NULL :
		    s->env->kpath_why_not != NULL ? s->env->kpath_why_not :
		    "no kernel data path in this process",
		.client_tls = engine_client_prot_p(s->eng),
		.server_tls = engine_server_prot_p(s->eng),
		.client_listens = client_listens,
		.server_listens = server_listens,
		.client_family = s->client.ss_family,
		.server_family = s->server.ss_family,
		.rate_limited = s->lc->rate_session != 0 || s->lc->rate_client != 0,
		.pasv_fixed = s->lc->pasv_kind == PASV_ADDR_FIXED,
	};
	const char *why;

	s->dc_kernel_asked = false;
	if (!data_path_wanted(s->lc->data_path))
		return false;
	if (f.kernel_unavailable == NULL)
		f.kernel_unavailable = kpath_cannot_forward(s->env->kpath, s->server.ss_family);
	if ((why = data_path_refusal(&f)) != NULL) {
		s->env->stats->data_kernel_fallbacks++;
		log_sess(s->lc->data_path == DATA_PATH_KERNEL ? LL_INFO : LL_DEBUG, s->id,
		    "data channel relayed, not forwarded by the kernel: %s", why);
		return false;
	}
	s->dc_kernel_asked = true;
	return true;
}

/* The kernel is to forward the channel: what the listening end's peer
 * was told to connect to. */
static void
data_path_kernel(struct session *s, enum ftp_verb verb, bool client_listens,
    const struct sockaddr_storage *server_bound)
{
	struct sockaddr_storage dst;

	if (client_listens)
		client_data_dst(s, verb, &dst);
	else
		dst = *server_bound;
	dc_set_kernel(s->dc, s->env->kpath, SA(&dst));
}

/* The engine's data_open: PASV, EPSV, PORT, EPRT from the client. The
 * plan is xlate.c's; this carries it out. */
int
session_data_open(void *ctx, const struct ftp_command *cmd, struct engine_data_req *req)
{
	struct session *s = ctx;
	struct xlate_in in;
	struct xlate_plan plan;
	enum xlate_verdict v;
	struct sockaddr_storage bound;
	bool kernel;
	int n;

	memset(&bound, 0, sizeof(bound));
	xlate_in_of(s, &in);
	v = xlate_plan(&in, cmd, &plan, req->reply, sizeof(req->reply));
	if (v == XLATE_REFUSED)
		return -1;

	session_drop_dc(s);
	if (plan.client.listen)
		s->env->stats->data_passive++;
	else
		s->env->stats->data_active++;
	if (v == XLATE_UNSERVED)
		return -1;
	s->dc = dc_new(s->env->base, s->id, s->cf->data_timeout, dc_event_cb, s);
	if (s->dc == NULL) {
		snprintf(req->reply, sizeof(req->reply), "425 Can't open data connection.");
		return -1;
	}
	session_rate_apply(s);
	if (engine_client_prot_p(s->eng))
		dc_set_tls(s->dc, DC_CLIENT, s->tls, &s->ticket, SA(&s->server),
		    s->cf->tls.require_session_reuse);
	if (engine_server_prot_p(s->eng))
		dc_set_tls(s->dc, DC_SERVER, s->tls, &s->ticket, SA(&s->server), false);

	/* The kernel's, when it may: then no listener until the relay needs
	 * one after all. */
	kernel = data_path_choose(s, plan.client.listen, plan.server.listen);

	/* The client's end: its port now, its listener once the command went
	 * to the server (session_data_listen), so that its socket, bind and
	 * listen overlap with the server's answer instead of delaying it. */
	if (plan.client.listen) {
		s->advertise = plan.advertise;
		if (dc_listen(s->dc, DC_CLIENT, SA(&plan.client.host), plan.client.transparent,
		    s->pool, SA(&s->client), true, &bound) == -1)
			goto fail;
		addr_set_port(SA(&s->advertise), addr_port(SA(&bound)));
		s->dc_listen_pending = true;
	} else
		dc_connect_to(s->dc, DC_CLIENT, SA(&plan.client.target),
		    plan.client.has_src ? SA(&plan.client.src) : NULL, plan.client.transparent);

	/* The server's end. */
	if (plan.server.listen) {
		if (dc_listen(s->dc, DC_SERVER, SA(&plan.server.host), plan.server.transparent,
		    s->pool, SA(&s->server), kernel, &bound) == -1)
			goto fail;
	} else
		dc_connect_to(s->dc, DC_SERVER, NULL,
		    plan.server.has_src ? SA(&plan.server.src) : NULL, plan.server.transparent);
	if (kernel)
		data_path_kernel(s, cmd->verb, plan.client.listen, &bound);
	req->server_verb = plan.server_verb;
	n = xlate_server_line(plan.server_verb, &bound, req->line, sizeof(req->line));
	if (n <= 0 || (size_t)n >= sizeof(req->line))
		goto fail;
	req->len = (size_t)n;
	return 0;
fail:
	if (req->reply[0] == '\0')
		snprintf(req->reply, sizeof(req->reply), "425 Can't open data connection.");
	session_drop_dc(s);
	return -1;
}

/* The kernel's mapping of a PASV/EPSV channel goes in after its 227
 * (kernel-late-mapping) only while the loop carries this many sessions at
 * most: each of them waits on its own round trips, so a 227 sent 20-40 us
 * sooner is the session's time. On a busy loop the CPU, not the latency,
 * sets the rate, and the listener that waits for a client faster than the
 * mapping costs it (socket, bind, listen, close: ~20 us); with a loop turn
 * between 227 and mapping a fifth of the clients came first there (16
 * clients, 2 workers; bench/README, stop 27). */
#define DATA_KERNEL_LATE_SESSIONS 4

void
session_data_listen(struct session *s)
{
	struct sockaddr_storage bound;

	if (!s->dc_listen_pending)
		return;
	s->dc_listen_pending = false;
	if (s->dc == NULL || (s->dc_kernel_asked && !(s->cf->kernel_late_mapping &&
	    s->list->n <= DATA_KERNEL_LATE_SESSIONS && dc_kernel_late(s->dc))))
		return;                  /* dropped; or the kernel's (dc_start) */
	if (dc_listen_open(s->dc, DC_CLIENT, &bound) == -1) {
		/* The server's answer meets no channel: 425. */
		session_drop_dc(s);
		return;
	}
	addr_set_port(SA(&s->advertise), addr_port(SA(&bound)));
}

/* The engine's data_reply: the server answered our PASV/EPSV/PORT/EPRT. */
size_t
session_data_reply(void *ctx, enum ftp_verb client_verb, enum ftp_verb server_verb,
    int code, const char *text, size_t len, char *line, size_t size)
{
	struct session *s = ctx;
	struct xlate_in in;
	struct xlate_target target;
	struct sockaddr_storage own[OWN_MAX];
	int n = -1;

	session_data_listen(s);          /* if not done yet */
	if (s->dc == NULL) {
		/* Dropped meanwhile (ABOR, the data timeout, no listener): a
		 * refusal is the server's to give, but its address never
		 * reaches the client. */
		if (code / 100 != 2)
			return 0;
		n = snprintf(line, size, "425 Can't open data connection.");
		return n > 0 && (size_t)n < size ? (size_t)n : 0;
	}
	xlate_in_of(s, &in);
	if (s->lc->follow_pasv_address && server_verb == FTP_V_PASV) {
		in.own = own;
		in.n_own = own_addresses(own, OWN_MAX);
	}
	switch (xlate_server_reply(&in, server_verb, code, text, len, &target)) {
	case XLATE_ANSWER_FORBIDDEN:
		session_drop_dc(s);
		n = snprintf(line, size, "425 Can't open data connection: the server named a forbidden address.");
		return n > 0 && (size_t)n < size ? (size_t)n : 0;
	case XLATE_ANSWER_REFUSED:
		/* The server's own refusal says it best. */
		session_drop_dc(s);
		return 0;
	case XLATE_ANSWER_BAD:
		session_drop_dc(s);
		n = snprintf(line, size, "425 Can't open data connection: bad reply from the server.");
		return n > 0 && (size_t)n < size ? (size_t)n : 0;
	case XLATE_ANSWER_CONNECT:
		dc_set_target(s->dc, DC_SERVER, SA(&target.addr));
		break;
	case XLATE_ANSWER_ACCEPTED:
		break;
	}
	if (dc_start(s->dc) == -1) {
		session_drop_dc(s);
		n = snprintf(line, size, "425 Can't open data connection.");
		return n > 0 && (size_t)n < size ? (size_t)n : 0;
	}
	return xlate_client_reply(client_verb, &s->advertise, line, size);
}

/* The engine's data_pending: the final reply of RETR/STOR/... must not
 * overtake the data. */
bool
session_data_pending(void *ctx, bool seen_1xx, int code)
{
	struct session *s = ctx;

	if (s->dc != NULL && dc_state(s->dc) == DC_ARMED)
		dc_poll(s->dc);              /* its connection may be queued already */
	if (s->dc == NULL)
		return false;
	switch (dc_state(s->dc)) {
	case DC_ARMED:                        /* nobody connected: nothing to wait for */
	case DC_DONE:
		return false;
	default:
		/* A refusal without a preliminary reply means no transfer ran. */
		return (seen_1xx || code / 100 == 2) && !dc_to_client_done(s->dc);
	}
}
