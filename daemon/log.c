/* log.c - leveled logging to stderr, journald-aware */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/*
 * Process-wide because every module logs, worker threads included, and
 * threading a context through each call buys nothing. log_init() sets both
 * before any thread starts; afterwards they are only read, so no lock.
 * They are two of renewd's few mutable globals; the others are http.c's
 * curl_global_init once-flag and its result (docs/DESIGN.md lists them).
 */
static int log_level = LOG_LVL_INFO;
static int log_journal;		/* stderr is the journal: "<N>" prefixes, no time */

/* JOURNAL_STREAM is "dev:ino" of the journal's stream socket (systemd.exec(5)). */
static int
stderr_is_journal(void)
{
	const char	*e = getenv("JOURNAL_STREAM");
	struct stat	 st;
	unsigned long long dev, ino;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(fileno(stderr), &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int level)
{
	log_level = level;
	log_journal = stderr_is_journal();
}

int
log_enabled(int prio)
{
	return prio <= log_level;
}

void
log_vmsg(int prio, const char *cert, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
	};
	char		 line[4096];
	int		 saved = errno;
	size_t		 off = 0;

	if (!log_enabled(prio))
		return;
	if (prio < 0 || prio > 7)
		prio = LOG_LVL_ERR;
	if (log_journal) {
		off = (size_t)snprintf(line, sizeof(line), "<%d>", prio);
	} else {
		struct timespec ts;
		struct tm	tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		off += (size_t)snprintf(line + off, sizeof(line) - off,
		    ".%03ldZ %s: ", ts.tv_nsec / 1000000, names[prio]);
	}
	if (cert != NULL && off < sizeof(line))
		off += (size_t)snprintf(line + off, sizeof(line) - off, "[%s] ", cert);
	if (off < sizeof(line))
		vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	/* one write per line so concurrent writers never interleave mid-line */
	fprintf(stderr, "%s\n", line);
	errno = saved;
}

char *
log_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && len > 0)
		buf[0] = '\0';
	return buf;
}

void
log_msg(int prio, const char *cert, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, cert, fmt, ap);
	va_end(ap);
}
