/* kpath.c: the kernel data path's I/O: libnftables for the table,
 * nf_tables netlink batches (kpath_nl.c) for the mappings, NFLOG over
 * libmnl for the connections' SYN, FIN and RST; see kpath.h. */
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
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <nftables/libnftables.h>

#include "addr.h"
#include "kpath.h"
#include "kpath_nl.h"
#include "log.h"

#define KPATH_BUCKETS 1024
/* The setup text: the table, 6 maps, 4 + KPATH_SLOTS chains and rules. */
#define KPATH_SETUP_MAX 16384
/* NFLOG's socket buffer: the SYN, FIN and RST of many connections at once. */
#define KPATH_RCVBUF (4 << 20)
/* Route lookups remembered per event loop. */
#define KPATH_ROUTES 8

struct kflow {
	struct kpath *kp;
	struct kflow *next;              /* in its bucket */
	struct kpath_spec spec;
	unsigned mapped;                 /* KPATH_NL_* maps still holding its elements */
	bool connected, initiator_done, target_done, synack, done;
	uint16_t initiator_port;         /* once the SYN passed */
	struct kpath_seq seq_initiator, seq_target;
	uint64_t from_initiator, from_target;
	bool reset_by_initiator;         /* KF_EV_FAILED: who reset it */
	kflow_event_fn *cb;
	void *arg;
};

struct kpath {
	struct mnl_socket *nft;          /* nf_tables: the mappings */
	uint32_t nft_seq;
	struct mnl_socket *nl;
	struct event *ev;
	char table[64];
	unsigned group;                  /* the one this loop bound */
	unsigned long lost;              /* ENOBUFS: log messages dropped */
	struct mnl_socket *ct;           /* ctnetlink: a flow's state, its end */
	unsigned ct_seq;
	unsigned long est_timeout;       /* nf_conntrack_tcp_timeout_established */
	/* The forwarding sysctls, [0] IPv4 and [1] IPv6, and when read. */
	bool forwarding[2];
	time_t forwarding_read;
	/* The last route lookups (kpath_route_source), each good for the
	 * second it was made in: a busy server's channels all ask the same. */
	struct {
		struct sockaddr_storage target, source;   /* port 0 */
		time_t at;
	} routes[KPATH_ROUTES];
	unsigned route_next;                 /* the entry replaced next */
	struct kflow *buckets[KPATH_BUCKETS];
};

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

/* Send one batch for SPEC's elements in the maps WHICH and wait for the
 * kernel's answer to each: 0, or a negative errno (the batch was not
 * applied). The answer comes at once: the kernel handles the batch
 * within the send. */
static int
nl_transact(struct kpath *kp, const struct kpath_spec *spec, bool add, unsigned which,
    uint64_t timeout_ms)
{
	char buf[KPATH_NL_BATCH_MAX];
	char ans[8192];                  /* acks, each with its request */
	uint32_t first = kp->nft_seq + 1, last = first + kpath_nl_count(which) - 1;
	unsigned answered = 0;
	int error = 0;
	size_t len;
	ssize_t n;

	len = kpath_nl_batch(buf, sizeof(buf), kp->nft_seq, kp->table, spec, add, which,
	    KPATH_MARK_MAGIC | kp->group, timeout_ms);
	/* begin, the element messages, end: never reuse a number in flight */
	kp->nft_seq = last + 2;
	if (len == 0)
		return -EAFNOSUPPORT;
	if (mnl_socket_sendto(kp->nft, buf, len) < 0)
		return -errno;
	while (answered < kpath_nl_count(which)) {
		n = mnl_socket_recvfrom(kp->nft, ans, sizeof(ans));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (kpath_nl_answers(ans, (size_t)n, first, last, &answered, &error) == -1)
			return -EPROTO;
	}
	return error;
}

/* Remove the flow's elements in the maps WHICH that it still has. */
static void
flow_unmap(struct kflow *kf, unsigned which)
{
	int rc;

	which &= kf->mapped;
	if (which == 0)
		return;
	kf->mapped &= ~which;
	rc = nl_transact(kf->kp, &kf->spec, false, which, 0);
	/* An element that timed out is gone, and takes the batch with it:
	 * then each map on its own (the three share a timeout, so this is
	 * rare). */
	if (rc == -ENOENT)
		for (unsigned m = KPATH_NL_MARK; m <= KPATH_NL_SNAT; m <<= 1)
			if (which & m)
				rc = nl_transact(kf->kp, &kf->spec, false, m, 0);
	if (rc != 0 && rc != -ENOENT)
		log_msg(LL_DEBUG, "data-path kernel: removing a mapping: %s", strerror(-rc));
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
			 * on, a SYN gets no mark, and so no NAT. Not at the SYN:
			 * an attempt can still fail before this (see the RST
			 * below) and its retry must pass. The SNAT element
			 * stays until the flow goes (it serves marked
			 * connections only). */
			flow_unmap(kf, KPATH_NL_MARK | KPATH_NL_DNAT);
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

static void
nflog_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kpath *kp = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct msg_ctx mc = { kp, 0 };

	(void)fd;
	(void)what;
	/* Bounded per wakeup: the other events of the loop get their turn. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(mnl_socket_get_fd(kp->nl), buf, sizeof(buf), MSG_DONTWAIT);

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
		if (n == 0)
			return;
		(void)mnl_cb_run(buf, (size_t)n, 0, 0, nflog_msg_cb, &mc);
	}
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
	kp->ev = event_new(base, mnl_socket_get_fd(kp->nl), EV_READ | EV_PERSIST, nflog_read_cb, kp);
	if (kp->ev == NULL || event_add(kp->ev, NULL) == -1) {
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
	 * still open exits without freeing them, and they die with it. */
	if (kp->ev != NULL)
		event_free(kp->ev);
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
	if ((rc = nl_transact(kp, spec, true, KPATH_NL_ALL, (uint64_t)timeout * 1000)) != 0) {
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
	return kf;
}

void
kflow_free(struct kflow *kf)
{
	struct kflow **p;

	if (kf == NULL)
		return;
	flow_unmap(kf, KPATH_NL_ALL);
	for (p = &kf->kp->buckets[bucket_of(&kf->spec.target)]; *p != NULL; p = &(*p)->next)
		if (*p == kf) {
			*p = kf->next;
			break;
		}
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

/* The conntrack entry of KF's connection, as the kernel first saw it
 * (initiator -> announced): asked (GET) or removed (DELETE). */
struct ct_answer {
	bool found;
	uint8_t state;                   /* TCP_CONNTRACK_* */
	uint32_t timeout;                /* seconds left */
};

static int
ct_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, CTA_MAX) >= 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int
ct_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_answer *ans = data;
	const struct nlattr *tb[CTA_MAX + 1] = { NULL }, *pi[CTA_PROTOINFO_MAX + 1] = { NULL };
	const struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1] = { NULL };

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, tb) < 0)
		return MNL_CB_OK;
	ans->found = true;
	if (tb[CTA_TIMEOUT] != NULL)
		ans->timeout = ntohl(mnl_attr_get_u32(tb[CTA_TIMEOUT]));
	if (tb[CTA_PROTOINFO] != NULL &&
	    mnl_attr_parse_nested(tb[CTA_PROTOINFO], ct_attr_cb, pi) >= 0 &&
	    pi[CTA_PROTOINFO_TCP] != NULL &&
	    mnl_attr_parse_nested(pi[CTA_PROTOINFO_TCP], ct_attr_cb, tcp) >= 0 &&
	    tcp[CTA_PROTOINFO_TCP_STATE] != NULL)
		ans->state = mnl_attr_get_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
	return MNL_CB_OK;
}

static void
put_ip(struct nlmsghdr *nlh, uint16_t v4, uint16_t v6, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		mnl_attr_put(nlh, v4, 4, &((const struct sockaddr_in *)ss)->sin_addr);
	else
		mnl_attr_put(nlh, v6, 16, &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* TYPE (IPCTNL_MSG_CT_GET or _DELETE) for KF's connection. 0 with *ANS
 * filled, or -1 (errno; ENOENT: no such entry). */
static int
ct_request(struct kflow *kf, uint16_t type, struct ct_answer *ans)
{
	struct kpath *kp = kf->kp;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nlattr *tuple, *ip, *proto;
	unsigned seq = ++kp->ct_seq;
	ssize_t n;
	int rc;

	memset(ans, 0, sizeof(*ans));
	if (kp->ct == NULL) {
		errno = ENOTCONN;
		return -1;
	}
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)kf->spec.initiator.ss_family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	put_ip(nlh, CTA_IP_V4_SRC, CTA_IP_V6_SRC, &kf->spec.initiator);
	put_ip(nlh, CTA_IP_V4_DST, CTA_IP_V6_DST, &kf->spec.announced);
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(kf->initiator_port));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT,
	    htons(addr_port((const struct sockaddr *)&kf->spec.announced)));
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);
	if (mnl_socket_sendto(kp->ct, nlh, nlh->nlmsg_len) < 0)
		return -1;
	/* The answer (and the ACK) come at once; the socket blocks. */
	do {
		if ((n = mnl_socket_recvfrom(kp->ct, buf, sizeof(buf))) < 0)
			return -1;
		rc = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(kp->ct), ct_msg_cb, ans);
	} while (rc > 0);
	return rc < 0 ? -1 : 0;
}

int
kflow_idle(struct kflow *kf, unsigned *idle)
{
	struct ct_answer ans;

	*idle = 0;
	if (!kf->connected)
		return 0;
	if (ct_request(kf, IPCTNL_MSG_CT_GET, &ans) == -1)
		return errno == ENOENT ? -1 : 0;
	/* Each packet of an established connection sets its timeout to the
	 * full established one: what is missing is the time since the last. */
	if (ans.state == TCP_CONNTRACK_ESTABLISHED && ans.timeout < kf->kp->est_timeout)
		*idle = (unsigned)(kf->kp->est_timeout - ans.timeout);
	return 0;
}

void
kflow_cut(struct kflow *kf)
{
	struct ct_answer ans;

	if (!kf->connected || kf->done)
		return;                  /* not yet, or over (FINs or a reset) */
	/* Closing already (one FIN passed): it ends by itself. Cut, its
	 * last packets would be reset, and conntrack would pick them up as
	 * a new entry without NAT, which a later connection reusing the
	 * same ports would meet instead of its own mapping. */
	if (kf->initiator_done || kf->target_done)
		return;
	/* Without its entry (and so its NAT) the connection's next packets
	 * meet closed ports: both ends are reset. */
	if (ct_request(kf, IPCTNL_MSG_CT_DELETE, &ans) == -1 && errno != ENOENT)
		log_msg(LL_WARN, "data-path kernel: ending a connection: %s", strerror(errno));
	kf->done = true;
}

static bool
sysctl_on(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = 0;

	if (f == NULL)
		return true;             /* unreadable (ProcSubset=pid): assume so */
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	return v != 0;
}

const char *
kpath_cannot_forward(struct kpath *kp, int family)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (kp->forwarding_read == 0 || now.tv_sec != kp->forwarding_read) {
		kp->forwarding[0] = sysctl_on("/proc/sys/net/ipv4/ip_forward");
		kp->forwarding[1] = sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");
		kp->forwarding_read = now.tv_sec > 0 ? now.tv_sec : 1;
	}
	if (family == AF_INET6)
		return kp->forwarding[1] ? NULL :
		    "IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0)";
	return kp->forwarding[0] ? NULL : "IPv4 forwarding is off (net.ipv4.ip_forward = 0)";
}

static time_t
now_sec(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return now.tv_sec > 0 ? now.tv_sec : 1;
}

static int
route_lookup(const struct sockaddr *target, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);
	int fd = socket(target->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = -1;

	if (fd == -1)
		return -1;
	if (connect(fd, target, addr_len(target)) == 0 &&
	    getsockname(fd, (struct sockaddr *)out, &len) == 0) {
		addr_unmap(out);
		addr_set_port((struct sockaddr *)out, 0);
		rc = 0;
	}
	close(fd);
	return rc;
}

int
kpath_route_source(struct kpath *kp, const struct sockaddr *target,
    struct sockaddr_storage *out)
{
	struct sockaddr_storage key;
	time_t now = now_sec();
	unsigned i;

	memset(&key, 0, sizeof(key));
	memcpy(&key, target, addr_len(target));
	addr_unmap(&key);
	addr_set_port((struct sockaddr *)&key, 0);
	for (i = 0; i < KPATH_ROUTES; i++)
		if (kp->routes[i].at == now &&
		    addr_equal_host((struct sockaddr *)&kp->routes[i].target, (struct sockaddr *)&key)) {
			*out = kp->routes[i].source;
			return 0;
		}
	if (route_lookup(target, out) == -1)
		return -1;
	i = kp->route_next++ % KPATH_ROUTES;
	kp->routes[i].target = key;
	kp->routes[i].source = *out;
	kp->routes[i].at = now;
	return 0;
}
