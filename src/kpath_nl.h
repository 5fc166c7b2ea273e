/* kpath_nl.h: one data connection's mapping (the three elements of
 * kpath_nft.h) as an nf_tables netlink batch, built and its answer read
 * without I/O. kpath.c sends it on a netfilter socket it keeps open: the
 * text of kpath_nft_add through libnftables costs a parse and a cache
 * fetch per call, most of a session's time with data-path = kernel.
 *
 * The batch is one transaction: the kernel applies all of its elements or
 * none. The last element message asks for an answer (NLM_F_ACK), and a
 * failed one is answered anyway: the batch is done when the last has its
 * answer; a nonzero error in any means none was applied. */
#ifndef FTPGW_KPATH_NL_H
#define FTPGW_KPATH_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kpath_nft.h"

/* The three maps of a family, as bits of WHICH below. */
#define KPATH_NL_MARK 0x1u
#define KPATH_NL_DNAT 0x2u
#define KPATH_NL_SNAT 0x4u
#define KPATH_NL_ALL (KPATH_NL_MARK | KPATH_NL_DNAT | KPATH_NL_SNAT)

/* A batch's room: begin, three element messages (IPv6 keys), end. */
#define KPATH_NL_BATCH_MAX 1024

/* Build in BUF the batch that adds (ADD) or deletes SPEC's elements in the
 * maps WHICH of table TABLE, sequence numbers SEQ (the batch's begin) to
 * SEQ + 1 + the number of maps (its end). MARK is the ct mark the mark
 * map gives, TIMEOUT_MS the elements' life. Returns the batch's length, or
 * 0 when the addresses' families differ or BUF is too small. */
size_t kpath_nl_batch(void *buf, size_t size, uint32_t seq, const char *table,
    const struct kpath_spec *spec, bool add, unsigned which, uint32_t mark,
    uint64_t timeout_ms);

/* Several mappings' changes in one batch (one transaction): each item
 * adds (ADD) or deletes its SPEC's elements in the maps WHICH, in order.
 * The element messages are numbered SEQ + 1 onward in the items' order;
 * the end is SEQ + 1 + their number. 0 as kpath_nl_batch's. */
struct kpath_nl_item {
	const struct kpath_spec *spec;
	unsigned which;
	bool add;
};
size_t kpath_nl_batch_many(void *buf, size_t size, uint32_t seq, const char *table,
    const struct kpath_nl_item *items, size_t n, uint32_t mark, uint64_t timeout_ms);

/* The number of element messages in a batch for WHICH. */
unsigned kpath_nl_count(unsigned which);

/* Read the kernel's answers in BUF (LEN bytes) to the element messages
 * numbered FIRST..LAST, keeping the first error (a negative errno) in
 * *ERROR. Only the last message asks for an answer, and the kernel sends
 * a failed message's error whether asked or not, all in the batch's
 * order: the last one's answer ends them. Answers to other numbers (a
 * batch given up on) are skipped. 1 when the last one's answer was in
 * BUF, 0 when more are to come, -1 when BUF is no netlink message. */
int kpath_nl_answers(const void *buf, size_t len, uint32_t first, uint32_t last,
    int *error);

#endif
