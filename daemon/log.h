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
