/* kpath_nft.c: the kernel data path's nftables text and packet parse; see
 * kpath_nft.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "addr.h"
#include "kpath_nft.h"

/* Appends to a fixed buffer; any overflow makes the whole result -1. */
struct text {
	char *buf;
	size_t size, len;
	bool full;
};

static void text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len)
		t->full = true;
	else
		t->len += (size_t)n;
}

static int
text_end(struct text *t)
{
	return t->full ? -1 : (int)t->len;
}

static const struct fam {
	int af;
	const char *suffix, *proto, *addr_type;
} fams[2] = {
	{ AF_INET, "4", "ip", "ipv4_addr" },
	{ AF_INET6, "6", "ip6", "ipv6_addr" },
};

/* The jump from a connection's ct mark to its log group's chain. */
static void
log_vmap(struct text *t, unsigned m0)
{
	text_add(t, " ct mark vmap {");
	for (unsigned i = 0; i < KPATH_SLOTS; i++)
		text_add(t, "%s 0x%08x : jump kp_log%u", i == 0 ? "" : ",", m0 + i, i);
	text_add(t, " }\n");
}

int
kpath_nft_setup(char *buf, size_t size, const char *table, unsigned group, bool flush)
{
	struct text t = { buf, size, 0, false };
	unsigned m0 = KPATH_MARK_MAGIC | group, m1 = m0 + KPATH_SLOTS - 1;

	if (size == 0 || group + KPATH_SLOTS - 1 > 0xffff)
		return -1;
	buf[0] = '\0';
	text_add(&t, "add table inet %s\n", table);
	for (int f = 0; f < 2; f++) {
		const struct fam *F = &fams[f];

		text_add(&t, "add map inet %s mark%s { type %s . %s . inet_service : mark; flags timeout; }\n",
		    table, F->suffix, F->addr_type, F->addr_type);
		text_add(&t, "add map inet %s dnat%s { type %s . %s . inet_service : %s . inet_service; flags timeout; }\n",
		    table, F->suffix, F->addr_type, F->addr_type, F->addr_type);
		/* With the ct mark (the worker's log group) in the key: the
		 * server may give two workers' sessions of one client the same
		 * port in turn, and one worker's late deletion must not take
		 * the other's element. */
		text_add(&t, "add map inet %s snatm%s { type %s . %s . inet_service . mark : %s; flags timeout; }\n",
		    table, F->suffix, F->addr_type, F->addr_type, F->addr_type);
		if (flush)
			text_add(&t, "flush map inet %s mark%s\nflush map inet %s dnat%s\n"
			    "flush map inet %s snatm%s\n", table, F->suffix, table, F->suffix,
			    table, F->suffix);
	}
	/* Before mangle (-150): TPROXY rules must see the mark. Before the
	 * operator's nat rules (-100, 100): the first NAT decision wins. */
	text_add(&t, "add chain inet %s kp_mark { type filter hook prerouting priority -160; policy accept; }\n", table);
	text_add(&t, "add chain inet %s kp_dnat { type nat hook prerouting priority -110; policy accept; }\n", table);
	text_add(&t, "add chain inet %s kp_snat { type nat hook postrouting priority 90; policy accept; }\n", table);
	text_add(&t, "add chain inet %s kp_log { type filter hook forward priority -10; policy accept; }\n", table);
	for (unsigned i = 0; i < KPATH_SLOTS; i++)
		text_add(&t, "add chain inet %s kp_log%u\n", table, i);
	text_add(&t, "flush chain inet %s kp_mark\nflush chain inet %s kp_dnat\n"
	    "flush chain inet %s kp_snat\nflush chain inet %s kp_log\n", table, table, table, table);
	for (unsigned i = 0; i < KPATH_SLOTS; i++)
		text_add(&t, "flush chain inet %s kp_log%u\n", table, i);
	for (int f = 0; f < 2; f++) {
		const struct fam *F = &fams[f];

		text_add(&t, "add rule inet %s kp_mark meta nfproto %s tcp flags & (syn|ack) == syn "
		    "ct state new ct mark set %s saddr . %s daddr . tcp dport map @mark%s\n",
		    table, F->af == AF_INET ? "ipv4" : "ipv6", F->proto, F->proto, F->suffix);
		text_add(&t, "add rule inet %s kp_dnat ct mark 0x%08x-0x%08x meta nfproto %s "
		    "dnat %s to %s saddr . %s daddr . tcp dport map @dnat%s\n",
		    table, m0, m1, F->af == AF_INET ? "ipv4" : "ipv6", F->proto, F->proto,
		    F->proto, F->suffix);
		text_add(&t, "add rule inet %s kp_snat ct mark 0x%08x-0x%08x meta nfproto %s "
		    "snat %s to %s saddr . %s daddr . tcp dport . ct mark map @snatm%s\n",
		    table, m0, m1, F->af == AF_INET ? "ipv4" : "ipv6", F->proto, F->proto,
		    F->proto, F->suffix);
	}
	text_add(&t, "add rule inet %s kp_log tcp flags & (syn|fin|rst) != 0", table);
	log_vmap(&t, m0);
	/* Samples for byte counts past 4 GiB: a segment with data (longer
	 * than any bare ACK) that starts in the first KPATH_SAMPLE_WINDOW
	 * bytes of each KPATH_SAMPLE_EVERY of sequence space (those bits of
	 * the sequence number's upper half zero): at least one per GiB a
	 * side sends. */
	text_add(&t, "add rule inet %s kp_log meta length > 100 @th,32,16 & 0x%x == 0", table,
	    ((KPATH_SAMPLE_EVERY - 1) & ~(KPATH_SAMPLE_WINDOW - 1)) >> 16);
	log_vmap(&t, m0);
	for (unsigned i = 0; i < KPATH_SLOTS; i++)
		text_add(&t, "add rule inet %s kp_log%u log group %u snaplen 96\n", table, i, group + i);
	return text_end(&t);
}

int
kpath_nft_teardown(char *buf, size_t size, const char *table)
{
	struct text t = { buf, size, 0, false };

	if (size == 0)
		return -1;
	/* "add" first: deleting a table that is not there is no error. */
	text_add(&t, "add table inet %s\ndelete table inet %s\n", table, table);
	return text_end(&t);
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
kpath_parse_packet(const uint8_t *p, size_t len, struct kpath_packet *out)
{
	size_t ip_len, total, tcp_len;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return -1;
	switch (p[0] >> 4) {
	case 4: {
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;

		if (len < 20 || (ip_len = (size_t)(p[0] & 0x0f) * 4) < 20 || p[9] != IPPROTO_TCP)
			return -1;
		/* A later fragment has no TCP header. */
		if ((be16(p + 6) & 0x1fff) != 0)
			return -1;
		total = be16(p + 2);
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, p + 12, 4);
		memcpy(&d->sin_addr, p + 16, 4);
		break;
	}
	case 6: {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;

		if (len < 40 || p[6] != IPPROTO_TCP)
			return -1;
		ip_len = 40;
		total = 40 + (size_t)be16(p + 4);
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, p + 8, 16);
		memcpy(&d->sin6_addr, p + 24, 16);
		break;
	}
	default:
		return -1;
	}
	if (len < ip_len + 20)
		return -1;
	p += ip_len;
	addr_set_port((struct sockaddr *)&out->src, be16(p));
	addr_set_port((struct sockaddr *)&out->dst, be16(p + 2));
	out->seq = be32(p + 4);
	out->flags = p[13];
	tcp_len = (size_t)(p[12] >> 4) * 4;
	if (tcp_len < 20 || total < ip_len + tcp_len)
		return -1;
	out->end_seq = out->seq + (uint32_t)(total - ip_len - tcp_len);
	return 0;
}

void
kpath_seq_start(struct kpath_seq *t, uint32_t isn)
{
	t->isn = isn;
	t->sent = 0;
}

uint64_t
kpath_seq_at(struct kpath_seq *t, uint32_t seq)
{
	uint32_t off = seq - t->isn - 1u;    /* the SYN takes one number */
	/* The value congruent to OFF nearest to the last one: samples come
	 * at most ~1 GiB apart, never 2 GiB. */
	int64_t step = (int32_t)(off - (uint32_t)t->sent);
	uint64_t v;

	if (step < 0 && (uint64_t)-step > t->sent)
		v = 0;                            /* before the first byte */
	else
		v = t->sent + (uint64_t)step;
	if (v > t->sent)
		t->sent = v;
	return v;
}
