/* log.h - leveled logging to stderr, journald-aware */
#ifndef RENEWD_LOG_H
#define RENEWD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

/* syslog priorities, as journald's "<N>" prefixes expect */
#define LOG_LVL_ERR	3
#define LOG_LVL_WARNING	4
#define LOG_LVL_NOTICE	5
#define LOG_LVL_INFO	6
#define LOG_LVL_DEBUG	7

/* Sets the threshold; picks "<N>" prefixes when JOURNAL_STREAM names stderr. */
void	log_init(int level);

/* Where messages go: log: auto | stderr | journal in the inventory. */
enum log_target {
	LOG_TARGET_AUTO = 0,	/* the journal if stderr is its stream, else stderr */
	LOG_TARGET_STDERR,	/* lines on stderr ("<N>" prefixes under journald) */
	LOG_TARGET_JOURNAL,	/* sd_journal_send with structured fields */
};

/*
 * Changes the threshold and the target after log_init (SIGHUP); worker
 * threads may be logging meanwhile, so both are stored atomically.
 */
void	log_set(int level, enum log_target target);
/* Returns the level a name ("error" ... "debug") stands for, or -1. */
int	log_level_parse(const char *name);
/* Returns the name of a level ("info"). */
const char *log_level_name(int level);

/*
 * The journal's MESSAGE_ID of an event (fixed, so that "journalctl
 * MESSAGE_ID=..." finds every one; renewd(8) lists them).
 */
#define LOG_MSGID_ISSUED	"5fce52b3d6e84f638ea256b333382c9a"
#define LOG_MSGID_FAILED	"e873345777ca482eb319cf2805d75074"
#define LOG_MSGID_DELIVERED	"14f76005c9b349f28b1f7c656eb3e39c"

/* What a message is about, as journal fields (each NULL when unknown). */
struct log_fields {
	const char	*cert;		/* CERT= (and "[name]" in the text) */
	const char	*ca;		/* CA= */
	const char	*domains;	/* DOMAINS=, space-separated */
	const char	*order_url;	/* ORDER_URL= */
	const char	*message_id;	/* MESSAGE_ID=, one of LOG_MSGID_* */
};

/* Logs one line about f's certificate; on the journal, with f's fields. */
void	log_fields(int prio, const struct log_fields *f, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Returns nonzero if messages at prio would be printed. */
int	log_enabled(int prio);
/* Logs one line; cert (may be NULL) is the certificate name shown in brackets. */
void	log_msg(int prio, const char *cert, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_vmsg(int prio, const char *cert, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));

/* Formats t as "2006-01-02T15:04:05Z" (UTC) into buf; returns buf. */
char	*log_fmt_time(time_t t, char *buf, size_t len);

#define log_err(...)	log_msg(LOG_LVL_ERR, NULL, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARNING, NULL, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_LVL_NOTICE, NULL, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, NULL, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, NULL, __VA_ARGS__)

#endif
