/* ftpload_sessions.c: ftpload's session modes (rate, rawrate, idle, noop).
 * Not compiled alone: ftpload.c includes it, so that both are one
 * translation unit and share its statics (options, the control-connection
 * and data helpers, fail()).  Split off to keep each file under 800 lines. */
/* ------------------------------------------------------------ rate */

struct lat {
	double *v;
	size_t n, cap;
	/* Rate mode: summed time in each phase of a session (phase_name). */
	double phase[4];
};

/* The phases of a rate-mode session, printed as mean microseconds
 * (open_us= ... quit_us=):
 * connect to 230, PASV to the data connection's connect, RETR to 226,
 * QUIT to the server's close. */
static const char *const phase_name[] = { "open", "pasv", "xfer", "quit" };

static double rate_deadline;

static void
lat_add(struct lat *l, double x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = realloc(l->v, l->cap * sizeof(double));
		if (l->v == NULL)
			fail("out of memory");
	}
	l->v[l->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
	size_t i = (size_t)ceil(p * (double)n);

	if (n == 0)
		return 0;
	return v[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

/* 0, or -1 when its PASV data connection was refused (-R). */
static int
one_session(unsigned long long size, struct lat *l)
{
	struct ctl c;
	double t[5];

	t[0] = now();
	ctl_open(&c);
	t[1] = now();
	struct data d = data_prepare(&c, "pasv");
	if (d.fd < 0) {
		close(c.fd);
		__atomic_fetch_add(&refused_n, 1, __ATOMIC_RELAXED);
		return -1;
	}
	t[2] = now();
	transfer(&c, &d, 1, size);
	t[3] = now();
	ctl_quit(&c);
	t[4] = now();
	for (int i = 0; i < 4; i++)
		l->phase[i] += t[i + 1] - t[i];
	return 0;
}

/* rawrate: one connection to the raw port, "R SIZE", SIZE bytes to EOF
 * (the server closes first), close: what connection setup and teardown
 * cost through a relay that knows nothing of FTP. */
static void
one_raw(unsigned long long size)
{
	int fd = connect_sa((struct sockaddr *)&server, server_len, "raw");
	char line[64];
	int k = snprintf(line, sizeof(line), "R %llu\n", size);
	unsigned long long got;

	if (send(fd, line, (size_t)k, MSG_NOSIGNAL) != k)
		fail("raw: send: %s", strerror(errno));
	if ((got = sink_all(fd, "raw retr")) != size)
		fail("short raw retr: %llu of %llu bytes", got, size);
	close(fd);
}

static int rate_raw;

static void *
rate_main(void *arg)
{
	struct lat *l = arg;

	pthread_barrier_wait(&barrier);
	while (now() < rate_deadline) {
		double t0 = now();

		if (rate_raw)
			one_raw(opt_size);
		else if (one_session(opt_size, l) == -1)
			continue;
		lat_add(l, now() - t0);
	}
	return NULL;
}

static void
run_rate(void)
{
	pthread_t t[1024];
	struct lat *l = calloc((size_t)opt_conc, sizeof(*l)), all = { 0 };
	pthread_attr_t attr;
	double t0, t1;

	if (opt_conc < 1 || opt_conc > 1024)
		fail("1 to 1024 concurrent clients");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_barrier_init(&barrier, NULL, (unsigned)opt_conc + 1);
	for (int i = 0; i < opt_conc; i++)
		if (pthread_create(&t[i], &attr, rate_main, &l[i]) != 0)
			fail("pthread_create");
	t0 = now();
	rate_deadline = t0 + opt_secs;
	pthread_barrier_wait(&barrier);
	t0 = now();
	rate_deadline = t0 + opt_secs;
	for (int i = 0; i < opt_conc; i++)
		pthread_join(t[i], NULL);
	t1 = now();
	for (int i = 0; i < opt_conc; i++) {
		for (size_t j = 0; j < l[i].n; j++)
			lat_add(&all, l[i].v[j]);
		for (int k = 0; k < 4; k++)
			all.phase[k] += l[i].phase[k];
	}
	qsort(all.v, all.n, sizeof(double), cmp_double);
	printf("sessions=%zu secs=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f refused=%d", all.n, t1 - t0,
	    (double)all.n / (t1 - t0), pct(all.v, all.n, 0.50) * 1e3, pct(all.v, all.n, 0.99) * 1e3,
	    all.n ? all.v[all.n - 1] * 1e3 : 0, refused_n);
	if (!rate_raw && all.n > 0)
		for (int k = 0; k < 4; k++)
			printf(" %s_us=%.1f", phase_name[k], all.phase[k] / (double)all.n * 1e6);
	printf("\n");
}

/* ------------------------------------------------------------ idle */

static struct ctl *idle_c;
static int idle_next, idle_ok;
static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;

enum idle_op { IDLE_OPEN, IDLE_CHECK, IDLE_QUIT };
static const char *const idle_phase[] = { "opening", "PASV + RETR 1024 on every session", "QUIT" };

/* Takes the sessions not yet taken, one at a time, and opens them, checks
 * them (PASV + RETR 1024: a 227, a data connection, 150, exactly 1024 bytes
 * to EOF, 226) or QUITs them; so a thread has at most one data connection. */
static void *
idle_main(void *arg)
{
	enum idle_op op = *(enum idle_op *)arg;

	for (;;) {
		int i;

		pthread_mutex_lock(&idle_mu);
		i = idle_next++;
		pthread_mutex_unlock(&idle_mu);
		if (i >= opt_sessions)
			return NULL;
		cur_session = i;
		if (op == IDLE_OPEN) {
			ctl_open(&idle_c[i]);
		} else if (op == IDLE_CHECK) {
			struct data d = data_prepare(&idle_c[i], "pasv");

			transfer(&idle_c[i], &d, 1, 1024);
			pthread_mutex_lock(&idle_mu);
			idle_ok++;
			pthread_mutex_unlock(&idle_mu);
		} else {
			ctl_quit(&idle_c[i]);
		}
		cur_session = -1;
	}
}

/* OP on every session with THREADS threads; the seconds it took. */
static double
idle_all(enum idle_op op, int threads)
{
	pthread_t t[64];
	pthread_attr_t attr;
	double t0 = now();

	if (threads > opt_sessions)
		threads = opt_sessions;
	cur_phase = idle_phase[op];
	idle_next = 0;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], &attr, idle_main, &op) != 0)
			fail("pthread_create");
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return now() - t0;
}

/* VmRSS summed over the PIDs, in KiB. */
static long
rss_kib(void)
{
	char list[1024], *save = NULL;
	long total = 0;

	snprintf(list, sizeof(list), "%s", opt_pids);
	for (char *p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		char path[64], line[256];
		FILE *f;
		long kib = -1;

		snprintf(path, sizeof(path), "/proc/%s/status", p);
		if ((f = fopen(path, "r")) == NULL)
			fail("%s: %s (is the gateway still running?)", path, strerror(errno));
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "VmRSS: %ld", &kib) == 1)
				break;
		fclose(f);
		if (kib < 0)
			fail("no VmRSS in %s", path);
		total += kib;
	}
	return total;
}

static void
run_idle(void)
{
	long before, after;
	double open_secs, check_secs, quit_secs;

	if (opt_sessions < 1)
		fail("-N: at least 1 session");
	if (opt_check_threads < 1 || opt_check_threads > 64)
		fail("-j: 1 to 64 threads");
	idle_c = calloc((size_t)opt_sessions, sizeof(*idle_c));
	if (idle_c == NULL)
		fail("out of memory");
	before = rss_kib();
	open_secs = idle_all(IDLE_OPEN, 16);
	sleep(1);
	after = rss_kib();
	/* Every session, while all are still open, must still work: PASV and
	 * a checked 1 KiB RETR, THREADS data connections at a time at most. */
	check_secs = idle_all(IDLE_CHECK, opt_check_threads);
	if (idle_ok != opt_sessions)
		fail("PASV + RETR 1024 succeeded on %d of %d sessions", idle_ok, opt_sessions);
	/* Every session must still answer QUIT with 221. And QUIT, not close:
	 * the server closes first, so neither the client nor the gateway keeps
	 * 2N connections in TIME_WAIT on its ephemeral ports, which would make
	 * connect() crawl in the next run (a near-full port range is searched
	 * linearly). */
	quit_secs = idle_all(IDLE_QUIT, 16);
	printf("sessions=%d open_secs=%.2f rss_before_kib=%ld rss_after_kib=%ld kib_per_session=%.2f "
	    "all_ok=%d check_threads=%d check_secs=%.2f quit_ok=%d quit_secs=%.2f\n", opt_sessions,
	    open_secs, before, after, (double)(after - before) / opt_sessions, idle_ok,
	    opt_check_threads < opt_sessions ? opt_check_threads : opt_sessions, check_secs,
	    opt_sessions, quit_secs);
}

/* ------------------------------------------------------------ noop */

static void
run_noop(void)
{
	struct ctl c;
	double *v = calloc((size_t)opt_n, sizeof(double)), sum = 0;

	ctl_open(&c);
	for (int i = 0; i < 100; i++) {
		ctl_send(&c, "NOOP");
		ctl_reply(&c, 200, "NOOP");
	}
	for (int i = 0; i < opt_n; i++) {
		double t0 = now();

		ctl_send(&c, "NOOP");
		ctl_reply(&c, 200, "NOOP");
		v[i] = now() - t0;
		sum += v[i];
	}
	ctl_quit(&c);
	qsort(v, (size_t)opt_n, sizeof(double), cmp_double);
	printf("n=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", opt_n, pct(v, (size_t)opt_n, 0.5) * 1e6,
	    pct(v, (size_t)opt_n, 0.99) * 1e6, sum / opt_n * 1e6);
}
