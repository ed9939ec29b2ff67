/* log.c - leveled logging to stderr, journald-aware */
#include "config.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CODE_FILE= etc. would name journal_send, not the caller: left out */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

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
static int log_native;		/* sd_journal_send (log: journal, or auto there) */

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

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

void
log_set(int level, enum log_target target)
{
	int	native = target == LOG_TARGET_JOURNAL ||
	    (target == LOG_TARGET_AUTO && log_journal);

	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
	__atomic_store_n(&log_native, native, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *name)
{
	int	i;

	/* the ones a daemon's operator sets: error and up to debug */
	for (i = LOG_LVL_ERR; i <= LOG_LVL_DEBUG; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	return level >= 0 && level <= LOG_LVL_DEBUG ? level_names[level] : "?";
}

int
log_enabled(int prio)
{
	return prio <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

/* Adds "NAME=value" to iov (value NULL: nothing); returns the new count. */
static int
field(struct iovec *iov, int n, char *buf, size_t len, const char *name,
    const char *value)
{
	int	w;

	if (value == NULL)
		return n;
	w = snprintf(buf, len, "%s=%s", name, value);
	iov[n].iov_base = buf;
	iov[n].iov_len = w < 0 ? 0 : (size_t)w >= len ? len - 1 : (size_t)w;
	return n + 1;
}

/* Sends one message natively; returns 0, or -1 (then stderr has it). */
static int
journal_send(int prio, const struct log_fields *f, const char *msg)
{
	struct iovec	 iov[8];
	char		 b[7][1024], m[4100], p[4];
	int		 n = 0;

	snprintf(p, sizeof(p), "%d", prio);
	n = field(iov, n, m, sizeof(m), "MESSAGE", msg);
	n = field(iov, n, b[0], sizeof(b[0]), "PRIORITY", p);
	n = field(iov, n, b[1], sizeof(b[1]), "SYSLOG_IDENTIFIER", "renewd");
	n = field(iov, n, b[2], sizeof(b[2]), "CERT", f->cert);
	n = field(iov, n, b[3], sizeof(b[3]), "CA", f->ca);
	n = field(iov, n, b[4], sizeof(b[4]), "DOMAINS", f->domains);
	n = field(iov, n, b[5], sizeof(b[5]), "ORDER_URL", f->order_url);
	n = field(iov, n, b[6], sizeof(b[6]), "MESSAGE_ID", f->message_id);
	return sd_journal_sendv(iov, n) < 0 ? -1 : 0;
}

static void	log_vfields(int, const struct log_fields *, const char *,
		    va_list) __attribute__((format(printf, 3, 0)));

void
log_vmsg(int prio, const char *cert, const char *fmt, va_list ap)
{
	struct log_fields f = { cert, NULL, NULL, NULL, NULL };

	log_vfields(prio, &f, fmt, ap);
}

void
log_fields(int prio, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vfields(prio, f, fmt, ap);
	va_end(ap);
}

static void
log_vfields(int prio, const struct log_fields *f, const char *fmt, va_list ap)
{
	char		 msg[4000], pre[64];
	int		 saved = errno;
	size_t		 off = 0;

	if (!log_enabled(prio))
		return;
	if (prio < 0 || prio > 7)
		prio = LOG_LVL_ERR;
	if (f->cert != NULL)
		off = (size_t)snprintf(msg, sizeof(msg), "[%s] ", f->cert);
	if (off < sizeof(msg))
		vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
	/* the journal stamps the time and keeps the priority itself */
	if (__atomic_load_n(&log_native, __ATOMIC_RELAXED) &&
	    journal_send(prio, f, msg) == 0)
		goto out;
	if (log_journal)
		snprintf(pre, sizeof(pre), "<%d>", prio);
	else {
		struct timespec ts;
		struct tm	tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(pre, sizeof(pre), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(pre + off, sizeof(pre) - off, ".%03ldZ %s: ",
		    ts.tv_nsec / 1000000, level_names[prio]);
	}
	/* one write per line so concurrent writers never interleave mid-line */
	fprintf(stderr, "%s%s\n", pre, msg);
out:
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
