/* kpath_nl.c: a mapping as an nf_tables netlink batch; see kpath_nl.h. */
#include "config.h"

#include <endian.h>
#include <string.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "kpath_nl.h"

/* nftables keeps each part of a concatenated key or value in 32-bit
 * registers: a part takes its size rounded up to 4 bytes, zero-padded. */
#define REG_ROUND(n) (((n) + 3u) & ~3u)

/* The largest key: IPv6 initiator . IPv6 host . port . mark (SNAT). */
#define KEY_MAX (16 + 16 + 4 + 4)

struct blob {
	uint8_t b[KEY_MAX];
	size_t len;
};

/* Append a host's address (network order), or a port (network order,
 * padded), as nftables lays out the part. */
static void
put_host(struct blob *k, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		memcpy(k->b + k->len, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		k->len += 4;
	} else {
		memcpy(k->b + k->len, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		k->len += 16;
	}
}

static void
put_port(struct blob *k, const struct sockaddr_storage *ss)
{
	uint16_t port = ss->ss_family == AF_INET ?
	    ((const struct sockaddr_in *)ss)->sin_port :
	    ((const struct sockaddr_in6 *)ss)->sin6_port;

	memcpy(k->b + k->len, &port, 2);
	memset(k->b + k->len + 2, 0, REG_ROUND(2) - 2);
	k->len += REG_ROUND(2);
}

static bool
families_agree(const struct kpath_spec *sp)
{
	int af = sp->initiator.ss_family;

	return (af == AF_INET || af == AF_INET6) && sp->announced.ss_family == af &&
	    sp->target.ss_family == af && sp->snat.ss_family == af;
}

unsigned
kpath_nl_count(unsigned which)
{
	return !!(which & KPATH_NL_MARK) + !!(which & KPATH_NL_DNAT) + !!(which & KPATH_NL_SNAT);
}

static struct nlmsghdr *
put_header(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags, uint32_t seq,
    uint8_t family, uint16_t res_id)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

/* One element message: KEY (and for ADD, DATA and the timeout) in map SET. */
static bool
put_element(struct mnl_nlmsg_batch *b, size_t limit, uint32_t seq, bool ack, const char *table,
    const char *set, bool add, const struct blob *key, const struct blob *data,
    uint64_t timeout_ms)
{
	struct nlmsghdr *nlh;
	struct nlattr *list, *elem, *nest;
	size_t room = limit - mnl_nlmsg_batch_size(b);

	/* Header, names, nests and both blobs: check before writing. */
	if (room < 160 + strlen(table) + strlen(set) + key->len + data->len)
		return false;
	nlh = put_header(b, (NFNL_SUBSYS_NFTABLES << 8) |
	    (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
	    (add ? NLM_F_CREATE : 0) | (ack ? NLM_F_ACK : 0), seq, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, key->len, key->b);
	mnl_attr_nest_end(nlh, nest);
	if (add) {
		nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, data->len, data->b);
		mnl_attr_nest_end(nlh, nest);
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(timeout_ms));
	}
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	return mnl_nlmsg_batch_next(b);
}

/* The maps by KPATH_NL_* bit (mark, dnat, snat) and family (4, 6). */
static const char *const map_name[3][2] = {
	{ "mark4", "mark6" }, { "dnat4", "dnat6" }, { "snatm4", "snatm6" },
};

/* One item's element messages (see kpath_nl_batch_many); the one
 * numbered ACK_SEQ asks for an answer. */
static bool
put_item(struct mnl_nlmsg_batch *b, size_t size, uint32_t *seq, uint32_t ack_seq,
    const char *table, const struct kpath_nl_item *it, bool add, uint32_t mark,
    uint64_t timeout_ms)
{
	const struct kpath_spec *sp = it->spec;
	struct blob ann_key = { .len = 0 }, tgt_key = { .len = 0 };
	struct blob mark_val = { .len = 4 }, dnat_val = { .len = 0 }, snat_val = { .len = 0 };
	int f = sp->initiator.ss_family == AF_INET ? 0 : 1;
	bool ok = true;

	/* mark and dnat: initiator . announced host . announced port */
	put_host(&ann_key, &sp->initiator);
	put_host(&ann_key, &sp->announced);
	put_port(&ann_key, &sp->announced);
	/* snat: initiator . target host . target port . mark (the worker's:
	 * the target port is the server's, and may come to two workers) */
	put_host(&tgt_key, &sp->initiator);
	put_host(&tgt_key, &sp->target);
	put_port(&tgt_key, &sp->target);
	memcpy(tgt_key.b + tgt_key.len, &mark, 4);   /* marks are in host order */
	tgt_key.len += 4;
	memcpy(mark_val.b, &mark, 4);
	put_host(&dnat_val, &sp->target);
	put_port(&dnat_val, &sp->target);
	put_host(&snat_val, &sp->snat);

	if (ok && (it->which & KPATH_NL_MARK)) {
		ok = put_element(b, size, *seq, *seq == ack_seq, table, map_name[0][f], add, &ann_key,
		    &mark_val, timeout_ms);
		(*seq)++;
	}
	if (ok && (it->which & KPATH_NL_DNAT)) {
		ok = put_element(b, size, *seq, *seq == ack_seq, table, map_name[1][f], add, &ann_key,
		    &dnat_val, timeout_ms);
		(*seq)++;
	}
	if (ok && (it->which & KPATH_NL_SNAT)) {
		ok = put_element(b, size, *seq, *seq == ack_seq, table, map_name[2][f], add, &tgt_key,
		    &snat_val, timeout_ms);
		(*seq)++;
	}
	return ok;
}

size_t
kpath_nl_batch_many(void *buf, size_t size, uint32_t seq, const char *table,
    const struct kpath_nl_item *items, size_t n, uint32_t mark, uint64_t timeout_ms)
{
	struct mnl_nlmsg_batch *b;
	uint32_t last = seq;
	bool ok = true;
	size_t len;

	if (n == 0 || size < 2 * MNL_NLMSG_HDRLEN + 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!families_agree(items[i].spec) || items[i].which == 0 ||
		    (items[i].which & ~KPATH_NL_ALL) != 0)
			return 0;
		last += kpath_nl_count(items[i].which);
	}
	if ((b = mnl_nlmsg_batch_start(buf, size)) == NULL)
		return 0;
	put_header(b, NFNL_MSG_BATCH_BEGIN, 0, seq++, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	ok = mnl_nlmsg_batch_next(b);
	for (size_t i = 0; ok && i < n; i++)
		ok = put_item(b, size, &seq, last, table, &items[i], items[i].add, mark, timeout_ms);
	if (ok && size - mnl_nlmsg_batch_size(b) >= MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg)) {
		put_header(b, NFNL_MSG_BATCH_END, 0, seq, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
		ok = mnl_nlmsg_batch_next(b);
	} else
		ok = false;
	len = ok ? mnl_nlmsg_batch_size(b) : 0;
	mnl_nlmsg_batch_stop(b);
	return len;
}

size_t
kpath_nl_batch(void *buf, size_t size, uint32_t seq, const char *table,
    const struct kpath_spec *sp, bool add, unsigned which, uint32_t mark,
    uint64_t timeout_ms)
{
	struct kpath_nl_item it = { .spec = sp, .which = which, .add = add };

	return kpath_nl_batch_many(buf, size, seq, table, &it, 1, mark, timeout_ms);
}

int
kpath_nl_answers(const void *buf, size_t len, uint32_t first, uint32_t last,
    int *error)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len, done = 0;

	if (!mnl_nlmsg_ok(nlh, left))
		return -1;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_seq < first || nlh->nlmsg_seq > last)
			continue;
		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			return -1;
		e = mnl_nlmsg_get_payload(nlh);
		if (e->error != 0 && *error == 0)
			*error = e->error;
		if (nlh->nlmsg_seq == last)
			done = 1;
	}
	return done;
}
