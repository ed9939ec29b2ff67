/* validate.h - pure checks on text from the inventory, the CA and the network */
#ifndef RENEWD_VALIDATE_H
#define RENEWD_VALIDATE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <time.h>

/*
 * One copy of each check, used by conf, store, the challenge solvers, acme
 * and crypto alike, so that what the inventory accepts is exactly what the
 * lower layers expect. Nothing here allocates, logs or does I/O.
 */

/* Longest certificate or CA name: names become directory names. */
#define VALID_NAME_MAX		200

/* Returns 1 if s is 1..VALID_NAME_MAX of [A-Za-z0-9._-] and not "." or "..". */
int		 valid_name(const char *s);

/*
 * Normalises a DNS name into out (outsz >= 254 recommended): lower case,
 * one trailing dot dropped, "*." only as the whole leftmost label.
 * Returns NULL, or a constant string saying why the name is bad.
 */
const char	*valid_domain_norm(const char *in, char *out, size_t outsz);

/* Returns AF_INET or AF_INET6 if s is a numeric IP address, else 0. */
int		 valid_ip_literal(const char *s);

/*
 * Parses "a.b.c.d:port" or "[v6]:port" (numeric hosts only, port 1..65535;
 * port 0 too if allow_port0). ss and sslen may be NULL. Returns NULL, or a
 * constant string saying what is wrong.
 */
const char	*valid_listen(const char *s, int allow_port0,
		    struct sockaddr_storage *ss, socklen_t *sslen);

/*
 * Checks "host:port" or "[v6]:port" where host is a DNS name or an IP
 * address and port 1..65535. Returns NULL, or what is wrong.
 */
const char	*valid_hostport(const char *s);

/* Returns 1 if s is an https:// URL with a host and no spaces or controls. */
int		 valid_https_url(const char *s);
/* The same for an http:// or https:// URL (etcd endpoints). */
int		 valid_http_url(const char *s);

#define VALID_B64_PAD		0x1	/* up to two trailing "=" accepted */
#define VALID_B64_WHOLE		0x2	/* no lone trailing sextet (it encodes no byte) */
/* Returns 1 if s is 1..maxlen characters of base64url (RFC 4648 section 5). */
int		 valid_base64url(const char *s, size_t maxlen, unsigned flags);

/*
 * Parses a duration: "auto" is 0, otherwise a sum of <n>s|m|h|d|w terms,
 * each n > 0. Returns 0 and sets *out, or -1.
 */
int		 valid_duration(const char *s, long *out);

/*
 * Parses an RFC 3339 date-time ("2025-01-02T03:04:05Z", fractions of a
 * second ignored, "+hh:mm"/"-hh:mm" offsets applied). Returns 0 and sets
 * *out (UTC seconds), or -1.
 */
int		 valid_rfc3339(const char *s, time_t *out);

/* Parses an octal file mode "0000".."07777". Returns 0 and sets *out, or -1. */
int		 valid_octal_mode(const char *s, mode_t *out);

/*
 * Copies len bytes of untrusted text into buf (size sz >= 8) for one log or
 * error line: in double quotes, '"' and '\' escaped, bytes outside printable
 * ASCII as \xNN, cut with "..." when it does not fit. Returns buf.
 */
const char	*valid_quote(const char *s, size_t len, char *buf, size_t sz);

#endif
