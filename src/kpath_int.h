/* kpath_int.h: the inside of the kernel data path, shared by kpath.c (the
 * table, the mappings, the log of packets) and kpath_sys.c (what the
 * kernel says of a connection, of forwarding and of routes), and by
 * nothing else. */
#ifndef FTPGW_KPATH_INT_H
#define FTPGW_KPATH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "kpath.h"
#include "kpath_nft.h"
#include "kpath_nl.h"

struct mnl_socket;
struct event;

#define KPATH_BUCKETS 1024
/* Route lookups remembered per event loop. */
#define KPATH_ROUTES 8
/* Deletions held for one batch (a connected flow's mark and DNAT
 * elements, an ended flow's rest; kpath.c, flow_unmap_later): with at
 * most KPATH_UNMAP_NOW_FLOWS flows open in the loop, those queued while
 * it runs the events of one wakeup share a transaction after them; with
 * more, they wait up to KPATH_UNMAP_DELAY_US for a bigger batch. Where
 * the kernel expedites its RCU grace periods they always wait (struct
 * kpath's unmap_now_flows is 0 then). */
#define KPATH_UNMAP_MAX 32
#define KPATH_UNMAP_NOW_FLOWS 4
#define KPATH_UNMAP_DELAY_US 10000

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
	struct event *ev;                /* NFLOG readable */
	struct event *read_ev;           /* ... read after the wakeup's other events */
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
	/* Flows whose elements wait for their batch (kpath.c). */
	struct kpath_spec unmap[KPATH_UNMAP_MAX];
	unsigned unmap_which[KPATH_UNMAP_MAX];
	unsigned n_unmap;
	unsigned n_flows;                /* kflow_add'ed, not yet freed */
	/* KPATH_UNMAP_NOW_FLOWS, or 0 with rcu_expedited (kpath.c,
	 * flow_unmap_later). */
	unsigned unmap_now_flows;
	struct event *unmap_ev;
	/* A batch: the waiting deletions and one flow's elements. */
	char batch[(KPATH_UNMAP_MAX + 1) * KPATH_NL_BATCH_MAX];
	struct kflow *buckets[KPATH_BUCKETS];
};

#endif
