/* kpath.c: the kernel data path's I/O: libnftables for the table,
 * nf_tables netlink batches (kpath_nl.c) for the mappings, NFLOG over
 * libmnl for the connections' SYN, FIN and RST; see kpath.h. What the
 * kernel says of a connection, of forwarding and of routes is
 * kpath_sys.c's. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <nftables/libnftables.h>

#include "addr.h"
#include "kpath.h"
#include "kpath_int.h"
#include "kpath_nl.h"
#include "log.h"

/* The setup text: the table, 6 maps, 4 + KPATH_SLOTS chains and rules. */
#define KPATH_SETUP_MAX 16384
/* NFLOG's socket buffer: the SYN, FIN and RST of many connections at once. */
#define KPATH_RCVBUF (4 << 20)

static struct nft_ctx *
nft_open(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (nft == NULL)
		return NULL;
	if (nft_ctx_buffer_output(nft) != 0 || nft_ctx_buffer_error(nft) != 0) {
		nft_ctx_free(nft);
		return NULL;
	}
	return nft;
}

/* Run TEXT; -1 with nftables' first error line in ERR. */
static int
nft_run(struct nft_ctx *nft, const char *text, char *err, size_t errsize)
{
	const char *e, *nl;

	if (nft_run_cmd_from_buffer(nft, text) == 0)
		return 0;
	if (err != NULL && errsize > 0) {
		e = nft_ctx_get_error_buffer(nft);
		if (e == NULL || *e == '\0')
			e = "nftables refused the command";
		nl = strchr(e, '\n');
		snprintf(err, errsize, "%.*s", nl != NULL ? (int)(nl - e) : (int)strlen(e), e);
	}
	return -1;
}

int
kpath_setup(const char *table, unsigned group, bool flush, char *err, size_t errsize)
{
	char *text = malloc(KPATH_SETUP_MAX);
	struct nft_ctx *nft;
	int rc = -1;

	if (text == NULL || kpath_nft_setup(text, KPATH_SETUP_MAX, table, group, flush) < 0) {
		snprintf(err, errsize, "cannot build the nftables table");
		free(text);
		return -1;
	}
	if ((nft = nft_open()) == NULL)
		snprintf(err, errsize, "libnftables: cannot create a context");
	else
		rc = nft_run(nft, text, err, errsize);
	if (nft != NULL)
		nft_ctx_free(nft);
	free(text);
	return rc;
}

void
kpath_teardown(const char *table)
{
	char text[256], err[200];
	struct nft_ctx *nft;

	if (kpath_nft_teardown(text, sizeof(text), table) < 0 || (nft = nft_open()) == NULL)
		return;
	if (nft_run(nft, text, err, sizeof(err)) == -1)
		log_msg(LL_WARN, "data-path kernel: removing table inet %s: %s", table, err);
	nft_ctx_free(nft);
}

/* One NFLOG configuration request for GROUP, ATTR with LEN bytes of DATA;
 * waits for the kernel's answer. 0 or -1 (errno). */
static int
nflog_config(struct mnl_socket *nl, unsigned group, uint16_t attr, const void *data,
    size_t len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons((uint16_t)group);
	mnl_attr_put(nlh, attr, len, data);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	/* The socket is still blocking here: the answer comes at once. */
	if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0)
		return -1;
	return mnl_cb_run(buf, (size_t)n, 1, portid, NULL, NULL) < 0 ? -1 : 0;
}

static unsigned
bucket_of(const struct sockaddr_storage *target)
{
	const struct sockaddr *sa = (const struct sockaddr *)target;
	const uint8_t *p;
	size_t n;
	uint32_t h = 2166136261u;

	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ addr_port(sa)) * 16777619u;
	return h % KPATH_BUCKETS;
}

/* The flow of a logged packet: one whose target is either end, and whose
 * initiator is the other (its port too, once known). */
static struct kflow *
flow_of(struct kpath *kp, const struct kpath_packet *pk, bool *from_initiator)
{
	for (int dir = 0; dir < 2; dir++) {
		const struct sockaddr_storage *tgt = dir == 0 ? &pk->dst : &pk->src;
		const struct sockaddr_storage *ini = dir == 0 ? &pk->src : &pk->dst;

		for (struct kflow *kf = kp->buckets[bucket_of(tgt)]; kf != NULL; kf = kf->next) {
			if (!addr_equal((const struct sockaddr *)tgt, (const struct sockaddr *)&kf->spec.target) ||
			    !addr_equal_host((const struct sockaddr *)ini,
			    (const struct sockaddr *)&kf->spec.initiator))
				continue;
			if (kf->connected ? kf->initiator_port != addr_port((const struct sockaddr *)ini)
			    : dir != 0)
				continue;
			*from_initiator = dir == 0;
			return kf;
		}
	}
	return NULL;
}

/* Send one batch for ITEMS and wait for the kernel's answer to its last
 * element message: 0, or a negative errno (the batch was not applied).
 * The answer comes at once: the kernel handles the batch within the
 * send. */
static int
nl_transact(struct kpath *kp, const struct kpath_nl_item *items, size_t n_items,
    uint64_t timeout_ms)
{
	char ans[8192];                  /* answers, each with its request */
	unsigned count = 0;
	uint32_t first, last;
	int error = 0, done = 0;
	size_t len;
	ssize_t n;

	for (size_t i = 0; i < n_items; i++)
		count += kpath_nl_count(items[i].which);
	first = kp->nft_seq + 1;
	last = first + count - 1;
	len = kpath_nl_batch_many(kp->batch, sizeof(kp->batch), kp->nft_seq, kp->table, items,
	    n_items, KPATH_MARK_MAGIC | kp->group, timeout_ms);
	/* begin, the element messages, end: never reuse a number in flight */
	kp->nft_seq = last + 2;
	if (len == 0)
		return -EAFNOSUPPORT;
	if (mnl_socket_sendto(kp->nft, kp->batch, len) < 0)
		return -errno;
	while (!done) {
		n = mnl_socket_recvfrom(kp->nft, ans, sizeof(ans));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if ((done = kpath_nl_answers(ans, (size_t)n, first, last, &error)) == -1)
			return -EPROTO;
	}
	return error;
}

/* After a batch for SPEC's deletion in the maps WHICH failed with RC: an
 * element that timed out is gone and takes the batch with it, so then
 * each map on its own (the three share a timeout: rare). */
static void
unmap_failed(struct kpath *kp, const struct kpath_spec *spec, unsigned which, int rc)
{
	struct kpath_nl_item it = { .spec = spec, .add = false };

	if (rc == -ENOENT)
		for (unsigned m = KPATH_NL_MARK; m <= KPATH_NL_SNAT; m <<= 1)
			if (which & m) {
				it.which = m;
				rc = nl_transact(kp, &it, 1, 0);
			}
	if (rc != 0 && rc != -ENOENT)
		log_msg(LL_DEBUG, "data-path kernel: removing a mapping: %s", strerror(-rc));
}

/* Remove SPEC's elements in the maps WHICH now, in one batch. */
static void
unmap_now(struct kpath *kp, const struct kpath_spec *spec, unsigned which)
{
	struct kpath_nl_item it = { .spec = spec, .which = which, .add = false };
	int rc = nl_transact(kp, &it, 1, 0);

	if (rc != 0)
		unmap_failed(kp, spec, which, rc);
}

/* The deletions waiting, each in a batch of its own (one failed in a
 * shared batch). */
static void
unmap_flush_apart(struct kpath *kp)
{
	unsigned n = kp->n_unmap;

	kp->n_unmap = 0;
	evtimer_del(kp->unmap_ev);
	for (unsigned i = 0; i < n; i++)
		unmap_now(kp, &kp->unmap[i], kp->unmap_which[i]);
}

/* Send the waiting deletions, and ITEM (if any) after them, in one batch.
 * The result is ITEM's: when the shared batch fails, the deletions go on
 * their own and ITEM is tried alone. */
static int
transact_with_waiting(struct kpath *kp, const struct kpath_nl_item *item, uint64_t timeout_ms)
{
	struct kpath_nl_item items[KPATH_UNMAP_MAX + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < kp->n_unmap; i++)
		items[n++] = (struct kpath_nl_item){ .spec = &kp->unmap[i],
		    .which = kp->unmap_which[i], .add = false };
	if (item != NULL)
		items[n++] = *item;
	if (n == 0)
		return 0;
	if (kp->n_unmap == 0)
		return nl_transact(kp, items, n, timeout_ms);
	if (nl_transact(kp, items, n, timeout_ms) == 0) {
		kp->n_unmap = 0;
		evtimer_del(kp->unmap_ev);
		return 0;
	}
	unmap_flush_apart(kp);
	return item != NULL ? nl_transact(kp, item, 1, timeout_ms) : 0;
}

/* Does a waiting deletion in the maps WHICH hold a key SPEC's elements
 * would take (its passive port drawn again within the wait, for the same
 * client)? The mark and DNAT elements are keyed by the announced address,
 * the SNAT element by the target. */
static bool
waiting_holds(const struct kpath *kp, const struct kpath_spec *spec, unsigned which)
{
	for (unsigned i = 0; i < kp->n_unmap; i++) {
		const struct kpath_spec *w = &kp->unmap[i];
		unsigned held = kp->unmap_which[i] & which;

		if (!addr_equal_host((const struct sockaddr *)&w->initiator,
		    (const struct sockaddr *)&spec->initiator))
			continue;
		if ((held & (KPATH_NL_MARK | KPATH_NL_DNAT)) &&
		    addr_equal((const struct sockaddr *)&w->announced,
		    (const struct sockaddr *)&spec->announced))
			return true;
		if ((held & KPATH_NL_SNAT) &&
		    addr_equal((const struct sockaddr *)&w->target,
		    (const struct sockaddr *)&spec->target))
			return true;
	}
	return false;
}

/* Then the deletion goes first, in the same batch as SPEC's mapping. */
static bool
meets_waiting(const struct kpath *kp, const struct kpath_spec *spec)
{
	return waiting_holds(kp, spec, KPATH_NL_MARK | KPATH_NL_DNAT | KPATH_NL_SNAT);
}

bool
kpath_announced_held(const struct kpath *kp, const struct sockaddr *initiator,
    const struct sockaddr *announced)
{
	struct kpath_spec sp;

	memset(&sp, 0, sizeof(sp));
	memcpy(&sp.initiator, initiator, addr_len(initiator));
	memcpy(&sp.announced, announced, addr_len(announced));
	addr_unmap(&sp.initiator);
	addr_unmap(&sp.announced);
	return waiting_holds(kp, &sp, KPATH_NL_MARK | KPATH_NL_DNAT);
}

static void
unmap_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)transact_with_waiting(arg, NULL, 0);
}

/* The flow's elements in the maps WHICH (those it still has) go in one
 * batch with other flows' (KPATH_UNMAP_MAX at most), never in the next
 * flow's mapping: that one is on its way to the 227 (unless it needs a
 * key a deletion holds, see meets_waiting). When?
 * - Few flows open (few sessions; each waits on its own round trips):
 *   once the loop has run the events ready now (a timer of 0: the next
 *   turn, after a poll that does not wait), in the wakeup the flow's
 *   packet caused. A batch 10 ms later is a wakeup of its own and ~0.1 ms
 *   of deletions that stall whatever session step arrives meanwhile: in
 *   interleaved pairs, one session at a time ran 5-10% slower with it
 *   (bench/README, stop 26).
 * - Many: up to KPATH_UNMAP_DELAY_US, so that some twenty flows share a
 *   transaction. The CPU is the limit then, and every transaction costs
 *   it more than its elements do, in the gateway and in the kernel's
 *   deferred release of it.
 * - Always the batch where the kernel expedites its RCU grace periods
 *   (kpath_rcu_expedited, read at kpath_open): deleted elements are freed
 *   after a grace period, and an expedited one interrupts every CPU. One
 *   per channel cost the kernel path 14% of its sessions per second at
 *   16 clients, more than the wakeup of a batch costs at one client
 *   (bench/README, stop 29). */
static void
flow_unmap_later(struct kflow *kf, unsigned which)
{
	struct kpath *kp = kf->kp;
	const struct timeval now = { 0, 0 };
	const struct timeval batch = { .tv_sec = 0, .tv_usec = KPATH_UNMAP_DELAY_US };

	which &= kf->mapped;
	if (which == 0)
		return;
	if (kp->n_unmap == KPATH_UNMAP_MAX)
		(void)transact_with_waiting(kp, NULL, 0);
	kp->unmap[kp->n_unmap] = kf->spec;
	kp->unmap_which[kp->n_unmap] = which;
	kp->n_unmap++;
	kf->mapped &= ~which;
	if (kp->n_flows <= kp->unmap_now_flows)
		evtimer_add(kp->unmap_ev, &now);     /* sooner, if it waited */
	else if (!evtimer_pending(kp->unmap_ev, NULL))
		evtimer_add(kp->unmap_ev, &batch);
}

/* One logged packet. The callback may free the flow. */
static void
flow_packet(struct kpath *kp, const struct kpath_packet *pk)
{
	bool from_ini;
	struct kflow *kf = flow_of(kp, pk, &from_ini);

	if (kf == NULL || kf->done)
		return;
	if (pk->flags & KPATH_TCP_SYN) {
		if (from_ini && !(pk->flags & KPATH_TCP_ACK)) {
			if (kf->connected)
				return;          /* a retransmitted SYN */
			kf->connected = true;
			kf->initiator_port = addr_port((const struct sockaddr *)&pk->src);
			kpath_seq_start(&kf->seq_initiator, pk->seq);
			kf->cb(kf, KF_EV_CONNECTED, kf->arg);
		} else if (!from_ini && (pk->flags & KPATH_TCP_ACK) && kf->connected &&
		    !kf->synack) {
			kf->synack = true;
			kpath_seq_start(&kf->seq_target, pk->seq);
			/* One connection per mapping: from the target's answer
			 * on (once the deletion's batch went, see
			 * flow_unmap_later), a SYN gets no mark, and so no NAT; the
			 * mapping admits only the initiator's host anyway. Not
			 * at the SYN: an attempt can still fail before this
			 * (see the RST below) and its retry must pass. The SNAT
			 * element stays until the flow goes (it serves marked
			 * connections only). Not deleted in the packet path
			 * (an nft "delete @map" statement): such elements stay,
			 * dead, until the set's garbage collection, which the
			 * gateway's steady transactions keep from finishing;
			 * they pile up, and adds and lookups slow down. */
			flow_unmap_later(kf, KPATH_NL_MARK | KPATH_NL_DNAT);
		}
		return;
	}
	if (!kf->connected)
		return;
	if ((pk->flags & KPATH_TCP_RST) && from_ini && !kf->synack) {
		/* The initiator reset its attempt before the target answered
		 * it. Seen when the target still holds the same four-tuple
		 * in TIME_WAIT (its side of an earlier data connection: SNAT
		 * keeps the initiator's port) and answers the SYN with an ACK
		 * of that old connection: the initiator resets, which ends
		 * the TIME_WAIT, and tries again, as it would without the
		 * gateway. The mapping is still there for that SYN; the
		 * channel's timer bounds the wait. */
		kf->connected = false;
		return;
	}
	if (!(pk->flags & (KPATH_TCP_RST | KPATH_TCP_FIN))) {
		/* A sample (see kpath_nft_setup): counts past 4 GiB. */
		if (from_ini)
			(void)kpath_seq_at(&kf->seq_initiator, pk->end_seq);
		else if (kf->synack)
			(void)kpath_seq_at(&kf->seq_target, pk->end_seq);
		return;
	}
	if (pk->flags & KPATH_TCP_RST) {
		kf->done = true;
		/* The initiator's RST comes after the SYN-ACK here (see
		 * above); the target's before it is a refusal: nothing sent. */
		if (from_ini && !kf->initiator_done)
			kf->from_initiator = kpath_seq_at(&kf->seq_initiator, pk->end_seq);
		else if (!from_ini && kf->synack && !kf->target_done)
			kf->from_target = kpath_seq_at(&kf->seq_target, pk->end_seq);
		kf->reset_by_initiator = from_ini;
		kf->cb(kf, KF_EV_FAILED, kf->arg);
		return;
	}
	if (!(pk->flags & KPATH_TCP_FIN))
		return;
	if (from_ini && !kf->initiator_done) {
		kf->initiator_done = true;
		kf->from_initiator = kpath_seq_at(&kf->seq_initiator, pk->end_seq);
		kf->done = kf->target_done;
		kf->cb(kf, KF_EV_INITIATOR_DONE, kf->arg);
	} else if (!from_ini && kf->synack && !kf->target_done) {
		kf->target_done = true;
		kf->from_target = kpath_seq_at(&kf->seq_target, pk->end_seq);
		kf->done = kf->initiator_done;
		kf->cb(kf, KF_EV_TARGET_DONE, kf->arg);
	}
}

struct msg_ctx {
	struct kpath *kp;
	int n_packets;
};

static int
nflog_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFULA_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int
nflog_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct msg_ctx *mc = data;
	const struct nlattr *tb[NFULA_MAX + 1] = { NULL };
	struct kpath_packet pk;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nflog_attr_cb, tb) < 0 ||
	    tb[NFULA_PAYLOAD] == NULL)
		return MNL_CB_OK;
	if (kpath_parse_packet(mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
	    mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), &pk) == 0) {
		addr_unmap(&pk.src);
		addr_unmap(&pk.dst);
		mc->n_packets++;
		flow_packet(mc->kp, &pk);
	}
	return MNL_CB_OK;
}

/* Log messages taken per recvmmsg(2), and the room for each: a message
 * carries at most 96 bytes of the packet (kpath_open) and some 100 of
 * attributes. */
#define NFLOG_BATCH 16
#define NFLOG_MSG_MAX 1024

static void
nflog_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kpath *kp = arg;
	char buf[NFLOG_BATCH][NFLOG_MSG_MAX];
	struct iovec iov[NFLOG_BATCH];
	struct mmsghdr mm[NFLOG_BATCH];
	struct msg_ctx mc = { kp, 0 };

	(void)fd;
	(void)what;
	/* Bounded per wakeup: the other events of the loop get their turn.
	 * A batch not filled took all there was: no read to see EAGAIN. */
	for (int i = 0; i < 4; i++) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (int k = 0; k < NFLOG_BATCH; k++) {
			iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(mnl_socket_get_fd(kp->nl), mm, NFLOG_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Messages were dropped: a flow whose FIN is lost
				 * ends by the server's reply and the timer. */
				if (kp->lost++ % 1000 == 0)
					log_msg(LL_WARN, "data-path kernel: log group %u: messages "
					    "lost (socket buffer full, %lu times)", kp->group, kp->lost);
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				log_msg(LL_WARN, "data-path kernel: log group %u: %s", kp->group,
				    strerror(errno));
			return;
		}
		for (int k = 0; k < n; k++) {
			if (mm[k].msg_hdr.msg_flags & MSG_TRUNC) {
				if (kp->lost++ % 1000 == 0)
					log_msg(LL_WARN, "data-path kernel: log group %u: a message "
					    "longer than %d bytes skipped", kp->group, NFLOG_MSG_MAX);
				continue;
			}
			(void)mnl_cb_run(buf[k], mm[k].msg_len, 0, 0, nflog_msg_cb, &mc);
		}
		if (n < NFLOG_BATCH)
			return;
	}
}

/* NFLOG is readable: read it once the rest of this wakeup's events ran.
 * The data SYN comes with the client's RETR, the FINs with the 226 and
 * the QUIT; relaying those lines first takes the log off their way. An
 * event made active goes to the end of the queue being run, so the read
 * comes in this same pass and can never be starved. */
static void
nflog_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kpath *kp = arg;

	(void)fd;
	(void)what;
	event_active(kp->read_ev, EV_READ, 0);
}

void
kpath_poll(struct kpath *kp)
{
	nflog_read_cb(mnl_socket_get_fd(kp->nl), EV_READ, kp);
}

struct kpath *
kpath_open(struct event_base *base, const char *table, unsigned group, unsigned index,
    unsigned n_loops, char *err, size_t errsize)
{
	struct kpath *kp = calloc(1, sizeof(*kp));
	struct nfulnl_msg_config_cmd bind = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = { .copy_range = htonl(96),
	    .copy_mode = NFULNL_COPY_PACKET };
	uint32_t qthresh = htonl(1), timeout = htonl(0);
	int rcvbuf = KPATH_RCVBUF, busy = 0;
	unsigned slot;

	if (kp == NULL) {
		snprintf(err, errsize, "%s", strerror(ENOMEM));
		return NULL;
	}
	snprintf(kp->table, sizeof(kp->table), "%s", table);
	kp->unmap_now_flows = kpath_rcu_expedited() ? 0 : KPATH_UNMAP_NOW_FLOWS;
	{
		struct timeval tv = { .tv_sec = 2 };

		if ((kp->nft = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) == NULL ||
		    mnl_socket_bind(kp->nft, 0, MNL_SOCKET_AUTOPID) < 0 ||
		    setsockopt(mnl_socket_get_fd(kp->nft), SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)) == -1) {
			snprintf(err, errsize, "nf_tables netlink socket: %s", strerror(errno));
			goto fail;
		}
		kp->nft_seq = (uint32_t)time(NULL);
	}
	if ((kp->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(kp->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errsize, "netfilter netlink socket: %s", strerror(errno));
		goto fail;
	}
	/* Ours first, then those a loop of an earlier or later gateway (an
	 * upgrade) would not take first. */
	for (slot = index; slot < KPATH_SLOTS; slot += n_loops > 0 ? n_loops : 1) {
		if (nflog_config(kp->nl, group + slot, NFULA_CFG_CMD, &bind, sizeof(bind)) == 0)
			break;
		if (errno != EBUSY) {
			snprintf(err, errsize, "NFLOG group %u: %s", group + slot, strerror(errno));
			goto fail;
		}
		busy++;
	}
	if (slot >= KPATH_SLOTS) {
		snprintf(err, errsize, "NFLOG groups %u-%u: all %d meant for loop %u in use",
		    group, group + KPATH_SLOTS - 1, busy, index);
		goto fail;
	}
	kp->group = group + slot;
	if (nflog_config(kp->nl, kp->group, NFULA_CFG_MODE, &mode, sizeof(mode)) == -1 ||
	    nflog_config(kp->nl, kp->group, NFULA_CFG_QTHRESH, &qthresh, sizeof(qthresh)) == -1 ||
	    nflog_config(kp->nl, kp->group, NFULA_CFG_TIMEOUT, &timeout, sizeof(timeout)) == -1) {
		snprintf(err, errsize, "NFLOG group %u settings: %s", kp->group, strerror(errno));
		goto fail;
	}
	if (setsockopt(mnl_socket_get_fd(kp->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		(void)setsockopt(mnl_socket_get_fd(kp->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if ((kp->ct = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(kp->ct, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errsize, "conntrack netlink socket: %s", strerror(errno));
		goto fail;
	}
	kp->est_timeout = 432000;        /* the kernel's default, 5 days */
	{
		FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established", "re");

		if (f != NULL) {
			if (fscanf(f, "%lu", &kp->est_timeout) != 1)
				kp->est_timeout = 432000;
			fclose(f);
		}
	}
	kp->ev = event_new(base, mnl_socket_get_fd(kp->nl), EV_READ | EV_PERSIST, nflog_ready_cb, kp);
	kp->read_ev = event_new(base, -1, 0, nflog_read_cb, kp);
	kp->unmap_ev = evtimer_new(base, unmap_timer_cb, kp);
	if (kp->ev == NULL || kp->read_ev == NULL || kp->unmap_ev == NULL ||
	    event_add(kp->ev, NULL) == -1) {
		snprintf(err, errsize, "%s", strerror(ENOMEM));
		goto fail;
	}
	log_msg(LL_DEBUG, "data-path kernel: table inet %s, log group %u", table, kp->group);
	return kp;
fail:
	kpath_close(kp);
	return NULL;
}

void
kpath_close(struct kpath *kp)
{
	if (kp == NULL)
		return;
	/* Flows belong to data channels: a loop that stops with sessions
	 * still open exits without freeing them, and they die with it. The
	 * ended ones' last elements go now. */
	if (kp->nft != NULL)
		(void)transact_with_waiting(kp, NULL, 0);
	if (kp->unmap_ev != NULL)
		event_free(kp->unmap_ev);
	if (kp->ev != NULL)
		event_free(kp->ev);
	if (kp->read_ev != NULL)
		event_free(kp->read_ev);
	if (kp->nl != NULL)
		mnl_socket_close(kp->nl);
	if (kp->ct != NULL)
		mnl_socket_close(kp->ct);
	if (kp->nft != NULL)
		mnl_socket_close(kp->nft);
	free(kp);
}

struct kflow *
kflow_add(struct kpath *kp, const struct kpath_spec *spec, unsigned timeout,
    kflow_event_fn *cb, void *arg, char *err, size_t errsize)
{
	struct kflow *kf = calloc(1, sizeof(*kf));
	struct kpath_nl_item it = { .which = KPATH_NL_ALL, .add = true };
	unsigned b;
	int rc;

	if (kf == NULL) {
		snprintf(err, errsize, "%s", strerror(ENOMEM));
		return NULL;
	}
	kf->kp = kp;
	kf->spec = *spec;
	kf->cb = cb;
	kf->arg = arg;
	it.spec = spec;
	if (meets_waiting(kp, spec)) {
		log_msg(LL_DEBUG, "data-path kernel: a waiting deletion holds a key of the new "
		    "mapping: both go in one batch, the deletion first");
		rc = transact_with_waiting(kp, &it, (uint64_t)timeout * 1000);
	} else
		rc = nl_transact(kp, &it, 1, (uint64_t)timeout * 1000);
	if (rc != 0) {
		if (rc == -EAFNOSUPPORT)
			snprintf(err, errsize, "the addresses' families differ");
		else if (rc == -ENOENT)
			snprintf(err, errsize, "table inet %s or its maps are gone "
			    "(removed by hand? a reload creates them again)", kp->table);
		else
			snprintf(err, errsize, "adding the mapping: %s", strerror(-rc));
		free(kf);
		return NULL;
	}
	kf->mapped = KPATH_NL_ALL;
	b = bucket_of(&spec->target);
	kf->next = kp->buckets[b];
	kp->buckets[b] = kf;
	kp->n_flows++;
	return kf;
}

void
kflow_free(struct kflow *kf)
{
	struct kflow **p;

	if (kf == NULL)
		return;
	flow_unmap_later(kf, KPATH_NL_ALL);
	for (p = &kf->kp->buckets[bucket_of(&kf->spec.target)]; *p != NULL; p = &(*p)->next)
		if (*p == kf) {
			*p = kf->next;
			break;
		}
	assert(kf->kp->n_flows > 0);
	kf->kp->n_flows--;
	free(kf);
}

uint64_t
kflow_bytes_from_initiator(const struct kflow *kf)
{
	return kf->from_initiator;
}

uint64_t
kflow_bytes_from_target(const struct kflow *kf)
{
	return kf->from_target;
}

bool
kflow_connected(const struct kflow *kf)
{
	return kf->connected;
}

bool
kflow_finished(const struct kflow *kf)
{
	return kf->initiator_done && kf->target_done;
}

bool
kflow_reset_by_initiator(const struct kflow *kf)
{
	return kf->reset_by_initiator;
}
