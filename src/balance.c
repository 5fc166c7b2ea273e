/* balance.c: see balance.h. The program is written out instruction by
 * instruction for the number of workers (no compiler, no libbpf): it is
 * short, straight-line code the verifier accepts at once. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "addr.h"
#include "balance.h"
#include "conf.h"

struct balance_group {
	struct sockaddr_storage addr;
	int sockets;                     /* REUSEPORT_SOCKARRAY: worker -> its socket */
	int prog;
};

struct balance {
	unsigned n_workers;
	int loads_fd;                    /* ARRAY, one element: a uint32_t per worker */
	uint32_t *loads;                 /* that element, mapped shared */
	size_t loads_size;
	struct balance_group *g;
	size_t n;
};

static long
bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int
map_create(uint32_t type, uint32_t value_size, uint32_t entries, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = sizeof(uint32_t);
	a.value_size = value_size;
	a.max_entries = entries;
	a.map_flags = flags;
	return (int)bpf(BPF_MAP_CREATE, &a);
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), \
	.src_reg = (s), .off = (o), .imm = (i) })
#define MOV_REG(d, s)     INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)     INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i)     INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LOAD32(d, s, o)   INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define STORE32(d, o, s)  INSN(BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define STORE32_IMM(d, o, i) INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JMP_REG(op, d, s, o) INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define CALL(f)           INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()            INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* Two instructions: a map's fd, which the kernel turns into the map. */
#define LOAD_MAP(p, k, d, fd) do { \
	(p)[(k)++] = INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd); \
	(p)[(k)++] = INSN(0, 0, 0, 0, 0); \
} while (0)

/* The instructions for N workers, into P (room for program_size(N)):
 *
 *   loads = lookup(loads_map, 0); if none: pass (the hash picks)
 *   low = min(loads[0..N-1]) + BALANCE_SLACK
 *   pick = the first i with loads[i] <= low
 *   select_reuseport(ctx, sockets_map, pick); pass
 *
 * A pick whose socket is gone (its worker died) fails the selection, and
 * the hash picks among the sockets left. */
static size_t
program_size(unsigned n)
{
	return 24 + 6 * (size_t)n;
}

static size_t
program(struct bpf_insn *p, unsigned n, int loads_map, int sockets_map)
{
	size_t k = 0, skip;

	p[k++] = MOV_REG(BPF_REG_6, BPF_REG_1);            /* r6: the context */
	p[k++] = STORE32_IMM(BPF_REG_10, -4, 0);           /* key 0 */
	p[k++] = MOV_REG(BPF_REG_2, BPF_REG_10);
	p[k++] = ADD_IMM(BPF_REG_2, -4);
	LOAD_MAP(p, k, BPF_REG_1, loads_map);
	p[k++] = CALL(BPF_FUNC_map_lookup_elem);
	skip = k;
	p[k++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, 0);  /* to pass, below */
	p[k++] = LOAD32(BPF_REG_3, BPF_REG_0, 0);          /* r3: the least load */
	for (unsigned i = 1; i < n; i++) {
		p[k++] = LOAD32(BPF_REG_4, BPF_REG_0, (int16_t)(4 * i));
		p[k++] = JMP_REG(BPF_JGE, BPF_REG_4, BPF_REG_3, 1);
		p[k++] = MOV_REG(BPF_REG_3, BPF_REG_4);
	}
	p[k++] = ADD_IMM(BPF_REG_3, BALANCE_SLACK);
	p[k++] = MOV_IMM(BPF_REG_5, (int32_t)(n - 1));     /* r5: the pick */
	for (unsigned i = n - 1; i-- > 0;) {               /* downwards: the lowest wins */
		p[k++] = LOAD32(BPF_REG_4, BPF_REG_0, (int16_t)(4 * i));
		p[k++] = JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 1);
		p[k++] = MOV_IMM(BPF_REG_5, (int32_t)i);
	}
	p[k++] = STORE32(BPF_REG_10, -8, BPF_REG_5);
	p[k++] = MOV_REG(BPF_REG_1, BPF_REG_6);
	LOAD_MAP(p, k, BPF_REG_2, sockets_map);
	p[k++] = MOV_REG(BPF_REG_3, BPF_REG_10);
	p[k++] = ADD_IMM(BPF_REG_3, -8);
	p[k++] = MOV_IMM(BPF_REG_4, 0);
	p[k++] = CALL(BPF_FUNC_sk_select_reuseport);
	p[skip].off = (int16_t)(k - skip - 1);
	p[k++] = MOV_IMM(BPF_REG_0, SK_PASS);
	p[k++] = EXIT();
	return k;
}

static int
program_load(unsigned n, int loads_map, int sockets_map)
{
	struct bpf_insn *p = calloc(program_size(n), sizeof(*p));
	union bpf_attr a;
	int fd, saved;

	if (p == NULL)
		return -1;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
	a.expected_attach_type = BPF_SK_REUSEPORT_SELECT;
	a.insns = (uintptr_t)p;
	a.insn_cnt = (uint32_t)program(p, n, loads_map, sockets_map);
	a.license = (uintptr_t)"ftpgw";   /* uses no GPL-only helper */
	fd = (int)bpf(BPF_PROG_LOAD, &a);
	saved = errno;
	free(p);
	errno = saved;
	return fd;
}

struct balance *
balance_new(const struct config *cf, unsigned n_workers, char *err, size_t errsize)
{
	struct balance *b = calloc(1, sizeof(*b));
	long page = sysconf(_SC_PAGESIZE);
	const char *what;

	if (b == NULL || (b->g = calloc(cf->n_listens, sizeof(*b->g))) == NULL) {
		free(b);
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	b->n_workers = n_workers;
	b->loads_fd = -1;
	b->loads = MAP_FAILED;
	what = "creating the load map";
	if ((b->loads_fd = map_create(BPF_MAP_TYPE_ARRAY, 4 * n_workers, 1, BPF_F_MMAPABLE)) == -1)
		goto fail;
	what = "mapping the load map";
	b->loads_size = ((size_t)4 * n_workers + (size_t)page - 1) / (size_t)page * (size_t)page;
	b->loads = mmap(NULL, b->loads_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->loads_fd, 0);
	if (b->loads == MAP_FAILED)
		goto fail;
	for (size_t i = 0; i < cf->n_listens; i++) {
		struct balance_group *g = &b->g[b->n];

		g->addr = cf->listens[i].addr;
		g->prog = -1;
		what = "creating a socket map";
		g->sockets = map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, sizeof(uint64_t),
		    n_workers, 0);
		if (g->sockets == -1)
			goto fail;
		b->n++;
		what = "loading the eBPF program";
		if ((g->prog = program_load(n_workers, b->loads_fd, g->sockets)) == -1)
			goto fail;
	}
	return b;
fail:
	snprintf(err, errsize, "%s: %s", what, strerror(errno));
	balance_free(b);
	return NULL;
}

void
balance_free(struct balance *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->g[i].prog != -1)
			close(b->g[i].prog);
		close(b->g[i].sockets);
	}
	free(b->g);
	if (b->loads != MAP_FAILED)
		munmap(b->loads, b->loads_size);
	if (b->loads_fd != -1)
		close(b->loads_fd);
	free(b);
}

static void
leave_group(const struct balance_group *g, unsigned worker)
{
	union bpf_attr a;
	uint32_t key = worker;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)g->sockets;
	a.key = (uintptr_t)&key;
	(void)bpf(BPF_MAP_DELETE_ELEM, &a);   /* ENOENT: not in it */
}

int
balance_join(struct balance *b, const struct sockaddr *addr, unsigned worker, int fd)
{
	union bpf_attr a;
	uint32_t key = worker;
	uint64_t value = (uint64_t)fd;

	if (b == NULL || worker >= b->n_workers)
		return 0;
	for (size_t i = 0; i < b->n; i++) {
		if (!addr_equal((const struct sockaddr *)&b->g[i].addr, addr))
			continue;
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)b->g[i].sockets;
		a.key = (uintptr_t)&key;
		a.value = (uintptr_t)&value;
		a.flags = BPF_ANY;
		if (bpf(BPF_MAP_UPDATE_ELEM, &a) == -1) {
			/* A socket is in one place of one map at a time: this
			 * one may still be in it for our predecessor, killed
			 * while the supervisor kept the socket (-S). */
			if (errno != EBUSY)
				return -1;
			leave_group(&b->g[i], worker);
			if (bpf(BPF_MAP_UPDATE_ELEM, &a) == -1)
				return -1;
		}
		/* Every worker attaches the same program: the group has one,
		 * whichever worker bound first. */
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &b->g[i].prog,
		    sizeof(b->g[i].prog)) == -1)
			return -1;
		return 1;
	}
	return 0;
}

void
balance_leave(struct balance *b, unsigned worker)
{
	if (b == NULL || worker >= b->n_workers)
		return;
	for (size_t i = 0; i < b->n; i++)
		leave_group(&b->g[i], worker);
}

void
balance_count(struct balance *b, unsigned worker, int delta)
{
	if (b == NULL || worker >= b->n_workers)
		return;
	/* Only this worker writes its slot; the program reads it. */
	__atomic_fetch_add(&b->loads[worker], (uint32_t)delta, __ATOMIC_RELAXED);
}

void
balance_reset(struct balance *b, unsigned worker)
{
	if (b == NULL || worker >= b->n_workers)
		return;
	__atomic_store_n(&b->loads[worker], 0, __ATOMIC_RELAXED);
}
