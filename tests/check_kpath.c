/* check_kpath.c: unit tests for the pure parts of the kernel data path:
 * src/kpath_nft.c (the nftables text of the table, the parse of a logged
 * packet, byte counts from sequence numbers), src/kpath_nl.c (one
 * mapping's netlink batch and the kernel's answers) and
 * src/data_path.c (which channels the kernel may forward, and why not). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "addr.h"
#include "data_path.h"
#include "kpath_nft.h"
#include "kpath_nl.h"
#include "unit.h"

static struct sockaddr_storage
A(const char *s)
{
	struct sockaddr_storage ss;

	ck_assert_int_eq(addr_parse(s, false, &ss), 0);
	return ss;
}

static unsigned
count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

START_TEST(test_setup_text)
{
	static char buf[16384];
	char line[128];

	ck_assert_int_gt(kpath_nft_setup(buf, sizeof(buf), "ftpgw", 2100, true), 0);
	ck_assert_ptr_nonnull(strstr(buf, "add table inet ftpgw\n"));
	/* Three maps per family, all with timeouts, emptied on a fresh start. */
	ck_assert_uint_eq(count(buf, "flags timeout;"), 6);
	ck_assert_uint_eq(count(buf, "flush map inet ftpgw "), 6);
	ck_assert_ptr_nonnull(strstr(buf, "type ipv4_addr . ipv4_addr . inet_service : ipv4_addr . inet_service;"));
	ck_assert_ptr_nonnull(strstr(buf, "type ipv6_addr . ipv6_addr . inet_service : mark;"));
	/* Ahead of TPROXY (-150) and of the operator's NAT (-100). */
	ck_assert_ptr_nonnull(strstr(buf, "type filter hook prerouting priority -160;"));
	ck_assert_ptr_nonnull(strstr(buf, "type nat hook prerouting priority -110;"));
	ck_assert_ptr_nonnull(strstr(buf, "ct mark 0x46470834-0x46470843 meta nfproto ipv6 dnat ip6 to"));
	/* SNAT by the worker's mark too (kpath_nft.h) */
	ck_assert_ptr_nonnull(strstr(buf, "type ipv4_addr . ipv4_addr . inet_service . mark : ipv4_addr;"));
	ck_assert_ptr_nonnull(strstr(buf, "snat ip to ip saddr . ip daddr . tcp dport . ct mark map @snatm4\n"));
	/* One log group per slot, each behind its own mark. */
	for (unsigned i = 0; i < KPATH_SLOTS; i++) {
		snprintf(line, sizeof(line), "add rule inet ftpgw kp_log%u log group %u snaplen", i, 2100 + i);
		ck_assert_msg(strstr(buf, line) != NULL, "no \"%s\"", line);
		snprintf(line, sizeof(line), "0x%08x : jump kp_log%u", 0x46470834u + i, i);
		ck_assert_msg(strstr(buf, line) != NULL, "no \"%s\"", line);
	}
	/* SYN, FIN and RST, and a sample of data segments (counts past 4 GiB). */
	ck_assert_uint_eq(count(buf, "ct mark vmap {"), 2);
	ck_assert_ptr_nonnull(strstr(buf, "add rule inet ftpgw kp_log meta length > 100 "
	    "@th,32,16 & 0x3ff0 == 0 ct mark vmap { 0x46470834 : jump kp_log0,"));
	/* A gateway taking over keeps the elements. */
	ck_assert_int_gt(kpath_nft_setup(buf, sizeof(buf), "ftpgw_b", 4000, false), 0);
	ck_assert_uint_eq(count(buf, "flush map"), 0);
	ck_assert_uint_eq(count(buf, "flush chain inet ftpgw_b "), 4 + KPATH_SLOTS);
	/* Groups past 65535, and a buffer too small, are refused. */
	ck_assert_int_eq(kpath_nft_setup(buf, sizeof(buf), "ftpgw", 65530, true), -1);
	ck_assert_int_eq(kpath_nft_setup(buf, 100, "ftpgw", 2100, true), -1);
	ck_assert_int_gt(kpath_nft_teardown(buf, sizeof(buf), "ftpgw"), 0);
	ck_assert_str_eq(buf, "add table inet ftpgw\ndelete table inet ftpgw\n");
}
END_TEST

/* The element messages of a batch, in order: map name, key, data, timeout. */
struct elem_msg {
	uint16_t type;
	char set[16];
	uint8_t key[64], data[64];
	uint16_t key_len, data_len;
	uint64_t timeout_ms;
	uint32_t seq;
};

static int
value_of(const struct nlattr *nest, uint8_t *out, uint16_t *len)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == NFTA_DATA_VALUE) {
			*len = mnl_attr_get_payload_len(a);
			memcpy(out, mnl_attr_get_payload(a), *len);
			return 0;
		}
	return -1;
}

/* Walk a batch: begin, the element messages (into OUT), end. */
static unsigned
walk_batch(const void *buf, size_t len, struct elem_msg *out, unsigned max)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;
	unsigned n = 0, i = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), i++) {
		const struct nlattr *a, *list, *elem, *e;
		const struct nlmsghdr *next;

		if (i == 0) {
			ck_assert_uint_eq(nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
			continue;
		}
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			break;
		ck_assert_uint_lt(n, max);
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = nlh->nlmsg_type & 0xff;
		out[n].seq = nlh->nlmsg_seq;
		ck_assert_uint_eq(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		/* Only the batch's last element message asks for an answer. */
		next = mnl_nlmsg_next(nlh, &(int){ left });
		ck_assert_int_eq(!!(nlh->nlmsg_flags & NLM_F_ACK),
		    next->nlmsg_type == NFNL_MSG_BATCH_END);
		list = NULL;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_TABLE)
				ck_assert_str_eq(mnl_attr_get_str(a), "ftpgw");
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
				snprintf(out[n].set, sizeof(out[n].set), "%s", mnl_attr_get_str(a));
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
				list = a;
		}
		ck_assert_ptr_nonnull(list);
		elem = mnl_attr_get_payload(list);
		ck_assert_uint_eq(mnl_attr_get_type(elem), NFTA_LIST_ELEM);
		mnl_attr_for_each_nested(e, elem) {
			switch (mnl_attr_get_type(e)) {
			case NFTA_SET_ELEM_KEY:
				ck_assert_int_eq(value_of(e, out[n].key, &out[n].key_len), 0);
				break;
			case NFTA_SET_ELEM_DATA:
				ck_assert_int_eq(value_of(e, out[n].data, &out[n].data_len), 0);
				break;
			case NFTA_SET_ELEM_TIMEOUT:
				out[n].timeout_ms = be64toh(mnl_attr_get_u64(e));
				break;
			}
		}
		n++;
	}
	ck_assert(mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_type == NFNL_MSG_BATCH_END);
	return n;
}

START_TEST(test_element_batch)
{
	uint8_t buf[KPATH_NL_BATCH_MAX];
	struct elem_msg m[4];
	uint32_t mark = 0x46470835;
	size_t len;
	struct kpath_spec sp = {
		.initiator = A("198.51.100.2"), .announced = A("203.0.113.2:50123"),
		.target = A("203.0.113.2:40001"), .snat = A("203.0.113.1"),
	};
	/* nftables' concatenations: each part in 4-byte registers, ports in
	 * network order and padded, marks in host order. */
	static const uint8_t ann_key[12] = { 198, 51, 100, 2, 203, 0, 113, 2, 0xc3, 0xcb, 0, 0 };
	uint8_t tgt_key[16] = { 198, 51, 100, 2, 203, 0, 113, 2, 0x9c, 0x41, 0, 0 };
	static const uint8_t dnat_val[8] = { 203, 0, 113, 2, 0x9c, 0x41, 0, 0 };
	static const uint8_t snat_val[4] = { 203, 0, 113, 1 };

	/* The SNAT key ends in the worker's mark: two workers' elements for
	 * one server port (given to each in turn) are two elements. */
	memcpy(tgt_key + 12, &mark, 4);
	len = kpath_nl_batch(buf, sizeof(buf), 100, "ftpgw", &sp, true, KPATH_NL_ALL, mark, 60000);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_eq(walk_batch(buf, len, m, 4), 3);
	ck_assert_str_eq(m[0].set, "mark4");
	ck_assert_str_eq(m[1].set, "dnat4");
	ck_assert_str_eq(m[2].set, "snatm4");
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(m[i].type, NFT_MSG_NEWSETELEM);
		ck_assert_uint_eq(m[i].seq, 101 + (unsigned)i);
		ck_assert_uint_eq(m[i].timeout_ms, 60000);
		ck_assert_uint_eq(m[i].key_len, i == 2 ? 16 : 12);
	}
	ck_assert_mem_eq(m[0].key, ann_key, 12);
	ck_assert_mem_eq(m[1].key, ann_key, 12);
	ck_assert_mem_eq(m[2].key, tgt_key, 16);
	ck_assert_uint_eq(m[0].data_len, 4);
	ck_assert_mem_eq(m[0].data, &mark, 4);
	ck_assert_uint_eq(m[1].data_len, 8);
	ck_assert_mem_eq(m[1].data, dnat_val, 8);
	ck_assert_uint_eq(m[2].data_len, 4);
	ck_assert_mem_eq(m[2].data, snat_val, 4);

	/* Deletion: keys only; one map alone (after a timeout took one). */
	len = kpath_nl_batch(buf, sizeof(buf), 7, "ftpgw", &sp, false, KPATH_NL_ALL, 0, 0);
	ck_assert_uint_eq(walk_batch(buf, len, m, 4), 3);
	ck_assert_uint_eq(m[2].type, NFT_MSG_DELSETELEM);
	ck_assert_uint_eq(m[2].data_len, 0);
	ck_assert_uint_eq(m[2].timeout_ms, 0);
	ck_assert_mem_eq(m[2].key, tgt_key, 12);
	len = kpath_nl_batch(buf, sizeof(buf), 7, "ftpgw", &sp, false, KPATH_NL_DNAT, 0, 0);
	ck_assert_uint_eq(walk_batch(buf, len, m, 4), 1);
	ck_assert_str_eq(m[0].set, "dnat4");
	ck_assert_uint_eq(kpath_nl_count(KPATH_NL_MARK | KPATH_NL_SNAT), 2);

	sp = (struct kpath_spec){
		.initiator = A("2001:db8:2::2"), .announced = A("[2001:db8:2::1]:50999"),
		.target = A("[2001:db8:1::2]:41000"), .snat = A("2001:db8:1::1"),
	};
	len = kpath_nl_batch(buf, sizeof(buf), 1, "ftpgw", &sp, true, KPATH_NL_ALL, mark, 5000);
	ck_assert_uint_eq(walk_batch(buf, len, m, 4), 3);
	ck_assert_str_eq(m[1].set, "dnat6");
	ck_assert_uint_eq(m[1].key_len, 36);
	ck_assert_uint_eq(m[1].data_len, 20);
	ck_assert_uint_eq(m[2].data_len, 16);
	ck_assert_uint_eq(m[1].key[34], 0);             /* the port's padding */
	ck_assert_uint_eq(m[1].key[32] << 8 | m[1].key[33], 50999);
	/* One family for all four, a buffer big enough, a known map, or nothing. */
	sp.snat = A("203.0.113.1");
	ck_assert_uint_eq(kpath_nl_batch(buf, sizeof(buf), 1, "ftpgw", &sp, true, KPATH_NL_ALL, mark, 5000), 0);
	sp.snat = A("2001:db8:1::1");
	ck_assert_uint_eq(kpath_nl_batch(buf, 200, 1, "ftpgw", &sp, true, KPATH_NL_ALL, mark, 5000), 0);
	ck_assert_uint_eq(kpath_nl_batch(buf, sizeof(buf), 1, "ftpgw", &sp, true, 0, mark, 5000), 0);
	ck_assert_uint_eq(kpath_nl_batch(buf, sizeof(buf), 1, "ftpgw", &sp, true, 8, mark, 5000), 0);
}
END_TEST

/* Several mappings in one transaction: the deletions of two ended flows
 * (IPv4 and IPv6) and the addition of a new one, numbered in order. */
START_TEST(test_element_batch_many)
{
	uint8_t buf[4 * KPATH_NL_BATCH_MAX];
	struct elem_msg m[8];
	size_t len;
	struct kpath_spec a = {
		.initiator = A("198.51.100.2"), .announced = A("203.0.113.2:50123"),
		.target = A("203.0.113.2:40001"), .snat = A("203.0.113.1"),
	}, b = {
		.initiator = A("2001:db8:2::2"), .announced = A("[2001:db8:2::1]:50999"),
		.target = A("[2001:db8:1::2]:41000"), .snat = A("2001:db8:1::1"),
	}, c = a, bad = a;
	struct kpath_nl_item items[3] = {
		{ .spec = &a, .which = KPATH_NL_SNAT, .add = false },
		{ .spec = &b, .which = KPATH_NL_SNAT, .add = false },
		{ .spec = &c, .which = KPATH_NL_ALL, .add = true },
	};

	c.announced = A("203.0.113.2:50124");
	len = kpath_nl_batch_many(buf, sizeof(buf), 500, "ftpgw", items, 3, 7, 9000);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_eq(walk_batch(buf, len, m, 8), 5);
	ck_assert_uint_eq(m[0].type, NFT_MSG_DELSETELEM);
	ck_assert_str_eq(m[0].set, "snatm4");
	ck_assert_uint_eq(m[0].data_len, 0);
	ck_assert_uint_eq(m[1].type, NFT_MSG_DELSETELEM);
	ck_assert_str_eq(m[1].set, "snatm6");
	ck_assert_uint_eq(m[1].key_len, 40);
	ck_assert_uint_eq(m[1].key[36] | m[1].key[37] << 8 | m[1].key[38] << 16 |
	    (uint32_t)m[1].key[39] << 24, 7);               /* the batch's mark, host order */
	for (int i = 2; i < 5; i++) {
		ck_assert_uint_eq(m[i].type, NFT_MSG_NEWSETELEM);
		ck_assert_uint_eq(m[i].timeout_ms, 9000);
	}
	ck_assert_str_eq(m[2].set, "mark4");
	ck_assert_str_eq(m[4].set, "snatm4");
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(m[i].seq, 501 + (unsigned)i);
	/* One bad item spoils the batch; so does no room or no item. */
	bad.snat = A("2001:db8:1::1");
	items[1].spec = &bad;
	ck_assert_uint_eq(kpath_nl_batch_many(buf, sizeof(buf), 500, "ftpgw", items, 3, 7, 9000), 0);
	items[1].spec = &b;
	ck_assert_uint_eq(kpath_nl_batch_many(buf, 300, 500, "ftpgw", items, 3, 7, 9000), 0);
	ck_assert_uint_eq(kpath_nl_batch_many(buf, sizeof(buf), 500, "ftpgw", items, 0, 7, 9000), 0);
}
END_TEST

/* A kernel answer: NLMSG_ERROR for SEQ with ERROR (0: an acknowledgement). */
static size_t
answer(uint8_t *p, uint32_t seq, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(p);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	return nlh->nlmsg_len;
}

START_TEST(test_batch_answers)
{
	uint8_t buf[512];
	size_t len = 0;
	int error = 0;

	/* As this kernel answers a batch whose second message failed: that
	 * error unasked, then the last message's acknowledgement (the batch
	 * was not applied all the same). */
	memset(buf, 0, sizeof(buf));
	len += answer(buf + len, 40, -ENOENT);     /* an earlier batch's: skipped */
	len += answer(buf + len, 102, -ENOENT);
	ck_assert_int_eq(kpath_nl_answers(buf, len, 101, 103, &error), 0);
	ck_assert_int_eq(error, -ENOENT);
	len = answer(buf, 103, 0);
	ck_assert_int_eq(kpath_nl_answers(buf, len, 101, 103, &error), 1);
	ck_assert_int_eq(error, -ENOENT);
	/* All well: the last one's acknowledgement alone. */
	error = 0;
	ck_assert_int_eq(kpath_nl_answers(buf, len, 101, 103, &error), 1);
	ck_assert_int_eq(error, 0);
	ck_assert_int_eq(kpath_nl_answers(buf, 3, 101, 103, &error), -1);
}
END_TEST

/* An IPv4 packet: TOTAL bytes in all, a TCP header of TCP_LEN bytes. */
static size_t
ipv4_tcp(uint8_t *p, unsigned total, unsigned tcp_len, uint8_t flags, uint32_t seq)
{
	memset(p, 0, 20 + tcp_len);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[6] = 0x40;                      /* DF, offset 0 */
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, "\xc6\x33\x64\x02", 4);       /* 198.51.100.2 */
	memcpy(p + 16, "\xcb\x00\x71\x02", 4);       /* 203.0.113.2 */
	p[20] = 0xa0; p[21] = 0x81;                  /* 41089 */
	p[22] = 0x9c; p[23] = 0x41;                  /* 40001 */
	p[24] = (uint8_t)(seq >> 24); p[25] = (uint8_t)(seq >> 16);
	p[26] = (uint8_t)(seq >> 8); p[27] = (uint8_t)seq;
	p[32] = (uint8_t)((tcp_len / 4) << 4);
	p[33] = flags;
	return 20 + tcp_len;
}

START_TEST(test_parse_packet)
{
	uint8_t p[128];
	struct kpath_packet pk;
	struct kpath_seq sq;
	char a[ADDR_STRLEN];
	size_t n;

	n = ipv4_tcp(p, 60, 40, KPATH_TCP_SYN, 1000);
	ck_assert_int_eq(kpath_parse_packet(p, n, &pk), 0);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&pk.src, a, sizeof(a)), "198.51.100.2:41089");
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&pk.dst, a, sizeof(a)), "203.0.113.2:40001");
	ck_assert_uint_eq(pk.flags, KPATH_TCP_SYN);
	ck_assert_uint_eq(pk.seq, 1000);
	ck_assert_uint_eq(pk.end_seq, 1000);
	/* A FIN merged by GRO with 60000 bytes before it: the header is the
	 * first segment's, the length the whole packet's. */
	n = ipv4_tcp(p, 20 + 32 + 60000, 32, KPATH_TCP_FIN | KPATH_TCP_ACK, 5001);
	ck_assert_int_eq(kpath_parse_packet(p, n, &pk), 0);
	ck_assert_uint_eq(pk.end_seq, 65001);
	kpath_seq_start(&sq, 1000);
	ck_assert_uint_eq(kpath_seq_at(&sq, pk.end_seq), 64000);
	/* Not parsed: a later fragment, UDP, a cut header, a length shorter
	 * than the headers, an IP version that is neither. */
	n = ipv4_tcp(p, 60, 40, KPATH_TCP_FIN, 1);
	p[7] = 0x10;
	ck_assert_int_eq(kpath_parse_packet(p, n, &pk), -1);
	n = ipv4_tcp(p, 60, 40, KPATH_TCP_FIN, 1);
	p[9] = IPPROTO_UDP;
	ck_assert_int_eq(kpath_parse_packet(p, n, &pk), -1);
	n = ipv4_tcp(p, 60, 40, KPATH_TCP_FIN, 1);
	ck_assert_int_eq(kpath_parse_packet(p, 30, &pk), -1);
	n = ipv4_tcp(p, 50, 40, KPATH_TCP_FIN, 1);
	ck_assert_int_eq(kpath_parse_packet(p, n, &pk), -1);
	p[0] = 0x55;
	ck_assert_int_eq(kpath_parse_packet(p, n, &pk), -1);

	/* IPv6: 40 bytes of header, payload length 20 + 5. */
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[5] = 25;
	p[6] = IPPROTO_TCP;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:2::2", p + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1::2", p + 24), 1);
	p[40] = 0x00; p[41] = 0x14;              /* 20 */
	p[42] = 0xc3; p[43] = 0x50;              /* 50000 */
	p[44] = 0xff; p[45] = 0xff; p[46] = 0xff; p[47] = 0xfe;
	p[52] = 0x50;
	p[53] = KPATH_TCP_FIN | KPATH_TCP_ACK;
	ck_assert_int_eq(kpath_parse_packet(p, 60, &pk), 0);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&pk.src, a, sizeof(a)), "[2001:db8:2::2]:20");
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&pk.dst, a, sizeof(a)), "[2001:db8:1::2]:50000");
	/* The sequence wraps: 0xfffffffe + 5 = 3. */
	ck_assert_uint_eq(pk.end_seq, 3);
	kpath_seq_start(&sq, 0xfffffff0u);
	ck_assert_uint_eq(kpath_seq_at(&sq, pk.end_seq), 18);
	ck_assert_int_eq(kpath_parse_packet(p, 59, &pk), -1);
}
END_TEST

/* A side that sends 10 GiB + 12345 bytes: the samples the table logs
 * (a segment starting in the first KPATH_SAMPLE_WINDOW bytes of each
 * KPATH_SAMPLE_EVERY of sequence space), one retransmitted, then the FIN. */
START_TEST(test_seq_past_4gib)
{
	const uint64_t total = (10ull << 30) + 12345;
	const uint32_t isn = 0xfff00000u - 7;   /* wraps within the first MiB */
	struct kpath_seq t;
	uint64_t off, last = 0;
	uint32_t seq;

	kpath_seq_start(&t, isn);
	ck_assert_uint_eq(kpath_seq_at(&t, isn + 1), 0);
	ck_assert_uint_eq(kpath_seq_at(&t, isn), 0);        /* the SYN's own: none */
	for (off = 1; off < total; off += 1448) {
		seq = (uint32_t)(isn + 1 + off);
		if ((seq & (KPATH_SAMPLE_EVERY - 1)) >= KPATH_SAMPLE_WINDOW)
			continue;
		/* One segment of 1448 bytes from OFF: its end_seq. */
		ck_assert_uint_eq(kpath_seq_at(&t, seq + 1448), off + 1448);
		/* A retransmission of an earlier one moves nothing back. */
		ck_assert_uint_eq(kpath_seq_at(&t, seq), off);
		last = off;
		off += KPATH_SAMPLE_EVERY - KPATH_SAMPLE_WINDOW - 4 * 1448;
	}
	ck_assert_uint_gt(last, 9ull << 30);
	/* The FIN's own number: the bytes before it. */
	ck_assert_uint_eq(kpath_seq_at(&t, (uint32_t)(isn + 1 + total)), total);
}
END_TEST

START_TEST(test_data_path_refusal)
{
	struct data_path_facts ok = {
		.client_listens = true, .client_family = AF_INET, .server_family = AF_INET,
	}, f;

	ck_assert_ptr_null(data_path_refusal(&ok));
	f = ok;
	f.client_listens = false;
	f.server_listens = true;             /* PORT -> PORT */
	ck_assert_ptr_null(data_path_refusal(&f));
	f = ok;
	f.kernel_unavailable = "NFLOG group 2100: Operation not permitted";
	ck_assert_str_eq(data_path_refusal(&f), "NFLOG group 2100: Operation not permitted");
	f = ok;
	f.client_tls = true;
	ck_assert_str_eq(data_path_refusal(&f), "TLS on the client's data connection");
	f = ok;
	f.server_tls = true;
	ck_assert_str_eq(data_path_refusal(&f), "TLS on the server's data connection");
	f = ok;
	f.server_listens = true;
	ck_assert_str_eq(data_path_refusal(&f), "passive with the client, active with the server");
	f = ok;
	f.client_listens = false;
	ck_assert_str_eq(data_path_refusal(&f), "active with the client, passive with the server");
	f = ok;
	f.server_family = AF_INET6;
	ck_assert_str_eq(data_path_refusal(&f), "the client and the server speak different IP versions");
	f = ok;
	f.rate_limited = true;
	ck_assert_str_eq(data_path_refusal(&f), "a bandwidth limit applies");
	f = ok;
	f.pasv_fixed = true;
	ck_assert_ptr_nonnull(strstr(data_path_refusal(&f), "passive-address is a fixed address"));
	f.client_listens = false;
	f.server_listens = true;             /* PORT: the 227's address plays no part */
	ck_assert_ptr_null(data_path_refusal(&f));
	ck_assert(!data_path_wanted(DATA_PATH_RELAY));
	ck_assert(data_path_wanted(DATA_PATH_KERNEL) && data_path_wanted(DATA_PATH_AUTO));
}
END_TEST

Suite *
suite_kpath(void)
{
	Suite *s = suite_create("kpath");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_setup_text);
	tcase_add_test(tc, test_element_batch);
	tcase_add_test(tc, test_element_batch_many);
	tcase_add_test(tc, test_batch_answers);
	tcase_add_test(tc, test_parse_packet);
	tcase_add_test(tc, test_seq_past_4gib);
	tcase_add_test(tc, test_data_path_refusal);
	suite_add_tcase(s, tc);
	return s;
}
