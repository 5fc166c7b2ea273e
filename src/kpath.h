/* kpath.h: the kernel data path (data-path = kernel | auto). A plaintext
 * data connection whose two legs NAT can join is forwarded by the kernel:
 * the gateway installs a short-lived nftables mapping for exactly that
 * connection (kpath_nft.h) and learns from NFLOG when it opens and ends and
 * how many bytes it carried; the bytes never reach user space.
 *
 * The table is set up once per gateway (kpath_setup, before the event loops
 * start); each event loop opens its own struct kpath (kpath_open), which
 * binds one NFLOG group and owns the flows it adds. */
#ifndef FTPGW_KPATH_H
#define FTPGW_KPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kpath_nft.h"

struct event_base;
struct kpath;
struct kflow;

/* Create (or, FLUSH false, keep the elements of) table TABLE with log
 * groups GROUP..GROUP+KPATH_SLOTS-1. 0, or -1 with why in ERR. */
int kpath_setup(const char *table, unsigned group, bool flush, char *err, size_t errsize);
/* Remove table TABLE (the gateway stops). Connections already forwarded
 * go on: conntrack holds their NAT. */
void kpath_teardown(const char *table);

/* Event loop INDEX of N_LOOPS: bind the first free log group of those
 * meant for it. NULL with why in ERR. */
struct kpath *kpath_open(struct event_base *base, const char *table, unsigned group,
    unsigned index, unsigned n_loops, char *err, size_t errsize);
void kpath_close(struct kpath *kp);
/* Read what the kernel logged already (the SYN or FIN of a connection
 * whose server reply came in the same loop turn). Callbacks may run. */
void kpath_poll(struct kpath *kp);

enum kflow_event {
	KF_EV_CONNECTED,        /* the initiator's SYN passed (again after an attempt it reset) */
	KF_EV_INITIATOR_DONE,   /* the initiator's FIN: its bytes are final */
	KF_EV_TARGET_DONE,      /* the target's FIN */
	KF_EV_FAILED,           /* reset: kflow_reset_by_initiator says by whom */
};
/* The flow may be freed from inside the callback. */
typedef void kflow_event_fn(struct kflow *kf, enum kflow_event ev, void *arg);

/* Install SPEC's mapping, alive for TIMEOUT seconds unless used. NULL with
 * why in ERR. */
struct kflow *kflow_add(struct kpath *kp, const struct kpath_spec *spec, unsigned timeout,
    kflow_event_fn *cb, void *arg, char *err, size_t errsize);
/* How long the connection has carried nothing (seconds; 0 while not
 * established or not known). 0, or -1 when conntrack has forgotten it. */
int kflow_idle(struct kflow *kf, unsigned *idle);
/* End a live connection: its conntrack entry (and NAT) goes, and each end
 * is reset at its next packet. One already closing (a FIN passed) is left
 * to end by itself. */
void kflow_cut(struct kflow *kf);
/* Forget the flow; what is left of its mapping is removed. */
void kflow_free(struct kflow *kf);
/* Whether a deletion waiting for its batch still holds INITIATOR's (host
 * only) mark and DNAT elements toward ANNOUNCED: a passive port drawn
 * again within the wait. Until that batch goes, such a connection would
 * still be forwarded to the old channel's target. */
bool kpath_announced_held(const struct kpath *kp, const struct sockaddr *initiator,
    const struct sockaddr *announced);
uint64_t kflow_bytes_from_initiator(const struct kflow *kf);
uint64_t kflow_bytes_from_target(const struct kflow *kf);
bool kflow_connected(const struct kflow *kf);
/* Both FINs passed: the connection is over (but for the last ACKs). */
bool kflow_finished(const struct kflow *kf);
/* After KF_EV_FAILED: whether the initiator (else the target) reset it. */
bool kflow_reset_by_initiator(const struct kflow *kf);

/* NULL when this host forwards FAMILY's packets (the kernel path's DNAT
 * needs it), else why not, e.g. "IPv4 forwarding is off
 * (net.ipv4.ip_forward = 0)". Read again at most once a second. */
const char *kpath_cannot_forward(struct kpath *kp, int family);

/* Whether the kernel runs its RCU grace periods expedited
 * (/sys/kernel/rcu_expedited = 1; false if unreadable): then each
 * nftables transaction that deletes elements ends in one that interrupts
 * every CPU, and kpath_open's loop always batches its deletions (up to
 * KPATH_UNMAP_DELAY_US). Distributions boot with 0; some VMs run with 1. */
bool kpath_rcu_expedited(void);

/* The source address the kernel picks toward TARGET (a route lookup; no
 * packet is sent), port 0; remembered for the second it was made in.
 * 0 or -1. */
int kpath_route_source(struct kpath *kp, const struct sockaddr *target,
    struct sockaddr_storage *out);

#endif
