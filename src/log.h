/* log.h: one logger for the daemon: syslog in the background, stderr in the
 * foreground, a level filter, and a session id prefix for per-session lines. */
#ifndef FTPGW_LOG_H
#define FTPGW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "words.h"

enum log_level { LL_ERROR = 0, LL_WARN, LL_INFO, LL_DEBUG };

void log_init(const char *ident, bool to_stderr, int level);
/* The words of log-level (enum log_level) and log-facility (syslog's
 * LOG_*, in the order of struct config's log_facility index). */
extern const struct word log_level_words[];
extern const struct word log_facility_words[];

/* Index into log_facility_words (the log-facility key: daemon, user,
 * local0 ... local7); takes effect at the next log_init() to syslog. */
void log_set_facility(int index);

void log_set_level(int level);

/* The level filter (log_set_level), read inline: log_msg and log_sess
 * test it before the call, so a line filtered out costs nothing, not even
 * its arguments (addr_fmt() and the like, on every session's hot path at
 * debug). */
extern int log_level_max;

static inline bool
log_enabled(int level)
{
	return level <= log_level_max;
}

#define log_msg(level, ...) do { \
	if (log_enabled(level)) \
		log_msg_at((level), __VA_ARGS__); \
} while (0)
/* A line about session SID: prefixed "#SID ". */
#define log_sess(level, sid, ...) do { \
	if (log_enabled(level)) \
		log_sess_at((level), (sid), __VA_ARGS__); \
} while (0)

void log_msg_at(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void log_sess_at(int level, uint64_t sid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copy untrusted protocol text into BUF so it is safe to log: printable ASCII
 * kept, everything else as \xHH, cut at SIZE-1 with "..." when too long. */
const char *log_escape(const char *s, size_t len, char *buf, size_t size);

/* Before the event loop only: print and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
