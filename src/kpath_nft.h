/* kpath_nft.h: the kernel data path's words to nftables and what it reads
 * back, as pure code: the text of the gateway's table (kpath_nft_setup)
 * and the parse of a logged packet's IP and TCP headers
 * (kpath_parse_packet). One data connection's mapping is a netlink batch
 * (kpath_nl.h).
 *
 * The table, "inet NAME", holds per family three maps with one element each
 * per data connection the kernel forwards, keyed by who may connect
 * (initiator host), where (announced host and port, what the 227/229 or
 * PORT/EPRT said):
 *   markF  -> the connection's ct mark: KPATH_MARK_MAGIC | log group,
 *             set on the first SYN (priority -160, before TPROXY's mangle
 *             rules, which skip marked connections);
 *   dnatF  -> the real target (host and port): DNAT, priority -110, ahead of
 *             the operator's REDIRECT rules;
 *   snatmF (initiator, target host, target port, ct mark) -> the source
 *             the relay would have used toward the target. The mark (the
 *             worker's log group) keeps two workers' elements apart: the
 *             target port is the server's, and it may give the same one to
 *             sessions of one client on two workers in turn.
 * Elements carry the data timeout: a gateway that dies leaves nothing that
 * admits a connection for longer. A forward-hook chain sends each marked
 * connection's SYN, FIN and RST to the log group of the event loop that owns
 * it (NFLOG): the gateway learns there when the connection opens and ends,
 * and its byte counts from the sequence numbers. */
#ifndef FTPGW_KPATH_NFT_H
#define FTPGW_KPATH_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Log groups one table serves: event loops, and their successors during
 * an upgrade (ftpgw -U), each bind one. */
#define KPATH_SLOTS 16
/* ct mark of a kernel-forwarded connection: this | its log group. */
#define KPATH_MARK_MAGIC 0x46470000u
#define KPATH_MARK_MASK 0xffff0000u

/* One data connection the kernel is to forward. Hosts carry port 0. */
struct kpath_spec {
	struct sockaddr_storage initiator;   /* the one peer let in (host) */
	struct sockaddr_storage announced;   /* host:port it connects to */
	struct sockaddr_storage target;      /* host:port it reaches instead */
	struct sockaddr_storage snat;        /* the source toward the target (host) */
};

/* The table NAME with log groups GROUP..GROUP+KPATH_SLOTS-1. FLUSH also
 * empties its maps (a fresh start); without it, elements of a gateway
 * being taken over stay. Returns the length written (< SIZE), or -1. */
int kpath_nft_setup(char *buf, size_t size, const char *table, unsigned group,
    bool flush);
/* The deletion of table NAME. */
int kpath_nft_teardown(char *buf, size_t size, const char *table);
/* A logged packet: its addresses (with ports), TCP flags and sequence. */
#define KPATH_TCP_FIN 0x01
#define KPATH_TCP_SYN 0x02
#define KPATH_TCP_RST 0x04
#define KPATH_TCP_ACK 0x10
struct kpath_packet {
	struct sockaddr_storage src, dst;
	uint8_t flags;
	uint32_t seq;
	/* The sequence number after its payload: a FIN's own number. GRO
	 * hands a forwarded FIN over merged with the segments before it,
	 * under the first one's header (and the total length). */
	uint32_t end_seq;
};
/* Parse P (LEN bytes from the IP header on): 0, or -1 when it is not an
 * IPv4 or IPv6 packet with a whole TCP header right after the IP header. */
int kpath_parse_packet(const uint8_t *p, size_t len, struct kpath_packet *out);

/* Bytes one side of a TCP connection sent, past 4 GiB: sequence numbers
 * wrap, so the table logs a sample of each side's data segments, one at
 * least every KPATH_SAMPLE_EVERY bytes (see kpath_nft_setup), and each
 * sample moves the count on. kpath_seq_start takes the side's ISN (its
 * SYN's sequence number); kpath_seq_at a sample's end_seq, or its FIN's or
 * RST's, and returns the bytes sent before that number. */
#define KPATH_SAMPLE_EVERY (1u << 30)
#define KPATH_SAMPLE_WINDOW (1u << 20)
struct kpath_seq {
	uint32_t isn;
	uint64_t sent;                   /* the furthest seen so far */
};
void kpath_seq_start(struct kpath_seq *t, uint32_t isn);
uint64_t kpath_seq_at(struct kpath_seq *t, uint32_t seq);

#endif
