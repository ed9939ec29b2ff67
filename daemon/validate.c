/* validate.c - pure checks on text from the inventory, the CA and the network */
#include "config.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "validate.h"

static int
is_alnum(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

int
valid_name(const char *s)
{
	size_t	i;

	if (s == NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == VALID_NAME_MAX)
			return 0;
		if (!is_alnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	}
	return i > 0;
}

/* Checks one label out[start..end) of a lower-cased name. */
static const char *
label_check(const char *out, size_t start, size_t end, size_t nlabel,
    size_t len)
{
	size_t		 lablen = end - start;
	unsigned char	 ch;

	if (lablen == 0)
		return "empty label";
	if (lablen > 63)
		return "label longer than 63 characters";
	if (lablen == 1 && out[start] == '*') {
		if (nlabel != 0)
			return "\"*\" is only allowed as the whole leftmost label";
		if (end == len)
			return "a wildcard needs a domain after \"*.\"";
		return NULL;
	}
	if (out[start] == '-' || out[end - 1] == '-')
		return "label starts or ends with a hyphen";
	for (; start < end; start++) {
		ch = (unsigned char)out[start];
		if (ch == '*')
			return "\"*\" is only allowed as the whole leftmost label";
		if (!is_alnum(ch) && ch != '-')
			return "invalid character (use letters, digits and "
			    "hyphens)";
	}
	return NULL;
}

const char *
valid_domain_norm(const char *in, char *out, size_t outsz)
{
	size_t		 len = strlen(in), i, start, nlabel = 0;
	const char	*why;
	unsigned char	 ch;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return "empty name";
	if (len > 253 || len >= outsz)
		return "longer than 253 characters";
	for (i = 0; i < len; i++) {
		ch = (unsigned char)in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (ch >= 0x80)
			return "not ASCII (write internationalised names in "
			    "their xn-- form)";
		out[i] = (char)ch;
	}
	out[len] = '\0';
	for (start = 0; start <= len; start = i + 1, nlabel++) {
		for (i = start; i < len && out[i] != '.'; i++)
			;
		if ((why = label_check(out, start, i, nlabel, len)) != NULL)
			return why;
	}
	return NULL;
}

int
valid_ip_literal(const char *s)
{
	unsigned char	buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

/* Parses a decimal port of 1..5 digits; returns it or -1. */
static long
parse_port(const char *p)
{
	long	pn = 0;
	size_t	n;

	for (n = 0; p[n] != '\0'; n++) {
		if (n == 5 || p[n] < '0' || p[n] > '9')
			return -1;
		pn = pn * 10 + (p[n] - '0');
	}
	return n == 0 || pn > 65535 ? -1 : pn;
}

const char *
valid_listen(const char *s, int allow_port0, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct sockaddr_storage	 tmp;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	char			 host[INET6_ADDRSTRLEN + 1];
	const char		*end, *port;
	size_t			 hl;
	long			 pn;
	int			 v6 = s[0] == '[';

	if (ss == NULL)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return "expected [address]:port";
		s++;
		hl = (size_t)(end - s);
		port = end + 2;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return "expected address:port";
		hl = (size_t)(end - s);
		port = end + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return "bad address";
	memcpy(host, s, hl);
	host[hl] = '\0';
	if ((pn = parse_port(port)) < 0 || (pn == 0 && !allow_port0))
		return "bad port (expected 1 to 65535)";
	sin = (struct sockaddr_in *)ss;
	sin6 = (struct sockaddr_in6 *)ss;
	if (v6 && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pn);
		if (sslen != NULL)
			*sslen = sizeof(*sin6);
	} else if (!v6 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pn);
		if (sslen != NULL)
			*sslen = sizeof(*sin);
	} else
		return v6 ? "not a numeric IPv6 address" :
		    "not a numeric IPv4 address";
	return NULL;
}

const char *
valid_hostport(const char *s)
{
	char		 host[256], norm[256];
	const char	*end;
	size_t		 hl;

	if (s[0] == '[')
		return valid_listen(s, 0, NULL, NULL);
	if ((end = strrchr(s, ':')) == NULL)
		return "expected host:port";
	if ((hl = (size_t)(end - s)) == 0 || hl >= sizeof(host))
		return "bad host";
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (parse_port(end + 1) <= 0)
		return "bad port (expected 1 to 65535)";
	if (strchr(host, ':') != NULL)
		return "write an IPv6 address as [address]:port";
	if (valid_ip_literal(host) || strchr(host, '*') != NULL)
		return valid_ip_literal(host) ? NULL : "a wildcard is no host";
	return valid_domain_norm(host, norm, sizeof(norm));
}

/* After the scheme: a host, then no spaces or controls. */
static int
url_rest(const char *s)
{
	size_t	i;

	if (s[0] == '\0' || s[0] == '/' || s[0] == '?' || s[0] == '#')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
valid_https_url(const char *s)
{
	return strncasecmp(s, "https://", 8) == 0 && url_rest(s + 8);
}

int
valid_http_url(const char *s)
{
	return valid_https_url(s) ||
	    (strncasecmp(s, "http://", 7) == 0 && url_rest(s + 7));
}

int
valid_base64url(const char *s, size_t maxlen, unsigned flags)
{
	size_t	i, pad = 0;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == maxlen)
			return 0;
		if (s[i] == '=' && (flags & VALID_B64_PAD)) {
			pad++;
			continue;
		}
		if (pad > 0)
			return 0;
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	}
	if ((flags & VALID_B64_WHOLE) && (i - pad) % 4 == 1)
		return 0;
	return i > pad && pad <= 2;
}

int
valid_duration(const char *s, long *out)
{
	long		 total = 0, v, mult;
	const char	*p = s;

	if (strcmp(s, "auto") == 0) {
		*out = 0;
		return 0;
	}
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			if (v > (LONG_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		switch (*p++) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return -1;
		}
		if (v == 0 || v > LONG_MAX / mult)
			return -1;
		v *= mult;
		if (total > LONG_MAX - v)
			return -1;
		total += v;
	}
	*out = total;
	return 0;
}

int
valid_octal_mode(const char *s, mode_t *out)
{
	unsigned long	m = 0;
	size_t		i;

	for (i = 0; s[i] >= '0' && s[i] <= '7' && m <= 07777; i++)
		m = m * 8 + (unsigned long)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || m > 07777)
		return -1;
	*out = (mode_t)m;
	return 0;
}

const char *
valid_quote(const char *s, size_t len, char *buf, size_t sz)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i, o = 0;
	unsigned char	  ch;

	buf[o++] = '"';
	for (i = 0; i < len; i++) {
		if (o + 8 >= sz) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 0xf];
		} else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Reads n digits at *s into *v, advancing *s. Returns 0, or -1. */
static int
digits(const char **s, int n, int *v)
{
	*v = 0;
	for (; n > 0; n--, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		*v = *v * 10 + (**s - '0');
	}
	return 0;
}

/* Reads digit count n and then the separator sep (0: none). */
static int
field(const char **s, int n, int *v, char sep)
{
	if (digits(s, n, v) == -1 || (sep != 0 && *(*s)++ != sep))
		return -1;
	return 0;
}

int
valid_rfc3339(const char *s, time_t *out)
{
	struct tm	 tm;
	int		 y, oh = 0, om = 0, sign = 0;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (field(&s, 4, &y, '-') == -1 || field(&s, 2, &tm.tm_mon, '-') == -1 ||
	    field(&s, 2, &tm.tm_mday, 0) == -1 || (*s != 'T' && *s != 't'))
		return -1;
	s++;
	if (field(&s, 2, &tm.tm_hour, ':') == -1 ||
	    field(&s, 2, &tm.tm_min, ':') == -1 ||
	    field(&s, 2, &tm.tm_sec, 0) == -1)
		return -1;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -1;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (field(&s, 2, &oh, ':') == -1 || field(&s, 2, &om, 0) == -1 ||
		    oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*s != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon--;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t - sign * (time_t)(oh * 3600 + om * 60);
	return 0;
}
