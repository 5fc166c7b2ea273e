/* shared_stats.c: "ftpgwctl stats" and the metrics: the numbers of
 * GW_STATS and the named counters of SHARED_TALLY_KINDS, written from the
 * shared mapping (shared.h). */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "shared.h"
#include "shared_int.h"

static const struct tally_kind {
	const char *kind, *name, *family, *key, *help;
	const char *columns[SHARED_TALLY_COUNTERS];
} tally_kinds[] = {
#define TALLY_KIND(kind, name, family, key, help, c0, c1, c2, c3) \
	{ kind, name, family, key, help, { c0, c1, c2, c3 } },
	SHARED_TALLY_KINDS(TALLY_KIND)
#undef TALLY_KIND
};

/* Every entry of every kind that is shown, in the order they were made. */
static void
tally_write(struct shared *sh, FILE *f, enum stats_format format)
{
	unsigned n = tally_count(sh);

	for (size_t k = 0; k < sizeof(tally_kinds) / sizeof(tally_kinds[0]); k++) {
		const struct tally_kind *tk = &tally_kinds[k];
		bool first = true;

		for (unsigned i = 0; i < n; i++) {
			if (strcmp(sh->tally[i].kind, tk->kind) != 0)
				continue;
			if (first && format == STATS_PROMETHEUS)
				fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", tk->family,
				    tk->help, tk->family);
			first = false;
			for (unsigned c = 0; c < SHARED_TALLY_COUNTERS; c++) {
				if (tk->columns[c] == NULL)
					continue;
				/* Names are checked where they are made (a
				 * rule's: no quote, no backslash). */
				fprintf(f, "%s{%s=\"%.*s\",%s} %llu\n",
				    format == STATS_TEXT ? tk->name : tk->family, tk->key,
				    SHARED_TALLY_NAME_MAX, sh->tally[i].name, tk->columns[c],
				    (unsigned long long)shared_tally_get(sh, (int)i, c));
			}
		}
	}
}

/* The values of GW_STATS, counters and gauges, in one place. */
struct report {
#define REPORT_FIELD(field, type, name, family, labels, help) uint64_t field;
	GW_STATS(REPORT_FIELD)
#undef REPORT_FIELD
};

static const struct stat_desc {
	const char *name, *type, *family, *labels, *help;
	size_t offset;                   /* in struct report */
} stat_descs[] = {
#define DESC(field, type, name, family, labels, help) \
	{ name, #type, family, labels, help, offsetof(struct report, field) },
	GW_STATS(DESC)
#undef DESC
};

void
shared_stats_write(struct shared *sh, FILE *f, enum stats_format format)
{
	struct gw_stats sum;
	struct report r;
	const char *family = "";

	shared_stats_sum(sh, &sum);
	memset(&r, 0, sizeof(r));
#define COPY_counter(field) r.field = sum.field;
#define COPY_gauge(field)
#define COPY(field, type, name, family, labels, help) COPY_##type(field)
	GW_STATS(COPY)
#undef COPY
#undef COPY_gauge
#undef COPY_counter
	r.sessions_active = shared_sessions_total(sh);
	r.workers = shared_workers(sh);
	r.build_info = 1;                /* the version is its label */
	r.start_time = (uint64_t)shared_start_time(sh);
	for (size_t i = 0; i < sizeof(stat_descs) / sizeof(stat_descs[0]); i++) {
		const struct stat_desc *d = &stat_descs[i];
		uint64_t v;

		memcpy(&v, (const char *)&r + d->offset, sizeof(v));
		if (format == STATS_TEXT) {
			fprintf(f, "%s %llu\n", d->name, (unsigned long long)v);
			continue;
		}
		/* A HELP and TYPE line per family, before its first sample. */
		if (strcmp(family, d->family) != 0)
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", d->family, d->help,
			    d->family, d->type);
		family = d->family;
		if (d->labels[0] != '\0')
			fprintf(f, "%s{%s} %llu\n", d->family, d->labels, (unsigned long long)v);
		else
			fprintf(f, "%s %llu\n", d->family, (unsigned long long)v);
	}
	tally_write(sh, f, format);
}
