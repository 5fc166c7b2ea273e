/* kpath_sys.c: what the kernel says to the kernel data path: a flow's
 * conntrack entry (its idle time, its end), whether the host forwards, and
 * the route toward a target; see kpath.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "addr.h"
#include "kpath.h"
#include "kpath_int.h"
#include "log.h"

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

/* Whether the number in PATH (a sysctl, a kernel parameter) is nonzero;
 * UNREADABLE when it cannot be read. */
static bool
flag_on(const char *path, bool unreadable)
{
	FILE *f = fopen(path, "re");
	int v = 0;
	bool on;

	if (f == NULL)
		return unreadable;
	on = fscanf(f, "%d", &v) == 1 ? v != 0 : unreadable;
	fclose(f);
	return on;
}

/* Unreadable (ProcSubset=pid): assume forwarding is on. */
static bool
sysctl_on(const char *path)
{
	return flag_on(path, true);
}

bool
kpath_rcu_expedited(void)
{
	return flag_on("/sys/kernel/rcu_expedited", false);
}

/* Seconds of the monotonic clock, never 0 (0 marks "never"). */
static time_t
now_sec(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return now.tv_sec > 0 ? now.tv_sec : 1;
}

const char *
kpath_cannot_forward(struct kpath *kp, int family)
{
	time_t now = now_sec();

	if (now != kp->forwarding_read) {
		kp->forwarding[0] = sysctl_on("/proc/sys/net/ipv4/ip_forward");
		kp->forwarding[1] = sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");
		kp->forwarding_read = now;
	}
	if (family == AF_INET6)
		return kp->forwarding[1] ? NULL :
		    "IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0)";
	return kp->forwarding[0] ? NULL : "IPv4 forwarding is off (net.ipv4.ip_forward = 0)";
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
