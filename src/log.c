/* log.c: syslog or stderr, one level filter, session-id prefixes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fmt.h"
#include "log.h"

const struct word log_level_words[] = {
	{ "error", LL_ERROR },
	{ "warn", LL_WARN },
	{ "info", LL_INFO },
	{ "debug", LL_DEBUG },
	{ NULL, 0 }
};

/* In the order of struct config's log_facility index. */
const struct word log_facility_words[] = {
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 }
};

/* Longer lines are cut (with "..."): within PIPE_BUF, a line written to
 * a pipe (the journal) arrives whole. */
#define LOG_LINE_MAX 4096

static bool log_to_stderr = true;
/* stderr is the journal's stream (systemd's JOURNAL_STREAM names its
 * device and inode): lines carry "<N>" priority prefixes, no time stamp
 * (the journal has its own), so that "journalctl -p err" can filter. */
static bool log_to_journal;
static int log_facility = LOG_DAEMON;
int log_level_max = LL_INFO;

static const int level_syslog[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* The word of the log-level key: one table for the file and the log. */
static const char *
log_level_name(int level)
{
	return word_name(log_level_words, level);
}

static bool
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, bool to_stderr, int level)
{
	log_to_stderr = to_stderr;
	log_to_journal = to_stderr && stderr_is_journal();
	log_level_max = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, log_facility);
}

void
log_set_facility(int index)
{
	for (int i = 0; index >= 0 && log_facility_words[i].name != NULL; i++)
		if (i == index) {
			log_facility = (int)log_facility_words[i].value;
			return;
		}
}

void
log_set_level(int level)
{
	log_level_max = level;
}

static void log_line(int level, const uint64_t *sid, const char *fmt, va_list ap);

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	log_line(level, NULL, fmt, ap);
}

/* "HH:MM:SS" of SEC, local time: one conversion per second, not per line
 * (two info lines per session). */
static const char *
stamp_of(time_t sec)
{
	static time_t last = (time_t)-1;
	static char stamp[16];
	struct tm tm;

	if (sec != last) {
		localtime_r(&sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		last = sec;
	}
	return stamp;
}

/* One line at LEVEL: the session's "#SID " (if SID) and FMT, formatted
 * once into the line that is written. */
static void
log_line(int level, const uint64_t *sid, const char *fmt, va_list ap)
{
	int saved_errno = errno;

	if (!log_enabled(level))
		return;
	if (log_to_stderr) {
		/* One write(2) per line: workers share stderr, and a line
		 * written in pieces would interleave with another's. */
		char line[LOG_LINE_MAX], *p = line;
		const char *name = log_level_name(level);
		struct timespec ts;
		int len, n;

		/* The prefix by hand ("<6>info: #12 " or "12:34:56.789 info:
		 * #12 "), well inside LINE: two lines per session. */
		if (log_to_journal) {
			*p++ = '<';
			p = fmt_uint(p, (unsigned)level_syslog[level]);
			*p++ = '>';
		} else {
			const char *stamp;
			long ms;

			clock_gettime(CLOCK_REALTIME, &ts);
			stamp = stamp_of(ts.tv_sec);
			ms = ts.tv_nsec / 1000000;
			memcpy(p, stamp, strlen(stamp));
			p += strlen(stamp);
			*p++ = '.';
			*p++ = (char)('0' + ms / 100);
			*p++ = (char)('0' + ms / 10 % 10);
			*p++ = (char)('0' + ms % 10);
			*p++ = ' ';
		}
		memcpy(p, name, strlen(name));
		p += strlen(name);
		*p++ = ':';
		*p++ = ' ';
		if (sid != NULL) {
			*p++ = '#';
			p = fmt_uint(p, *sid);
			*p++ = ' ';
		}
		len = (int)(p - line);
		n = vsnprintf(line + len, sizeof(line) - (size_t)len - 1, fmt, ap);
		if (n < 0)
			n = 0;
		if ((size_t)len + (size_t)n >= sizeof(line) - 1) {
			len = (int)sizeof(line) - 5;
			memcpy(line + len, "...", 3);
			len += 3;
		} else
			len += n;
		line[len++] = '\n';
		(void)!write(STDERR_FILENO, line, (size_t)len);
	} else if (sid != NULL) {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(level_syslog[level], "#%llu %s", (unsigned long long)*sid, line);
	} else
		vsyslog(level_syslog[level], fmt, ap);
	errno = saved_errno;
}

void
log_msg_at(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_sess_at(int level, uint64_t sid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(level, &sid, fmt, ap);
	va_end(ap);
}

const char *
log_escape(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0)
		return buf;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > size) {   /* room for "..." and NUL */
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1)
			buf[o++] = (char)c;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
