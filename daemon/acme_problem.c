/* acme_problem.c - what a CA says when it refuses: problem documents, Retry-After */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme_int.h"
#include "xmalloc.h"

#define PROBLEM_MAX_LEN		65536
#define PROBLEM_MAX_SUB		64

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void
problem_fill(json_t *obj, struct acme_problem *p, int sub)
{
	json_t	*v, *arr;
	size_t	 i, n;

	if ((v = json_object_get(obj, "detail")) != NULL && json_is_string(v))
		p->detail = xstrdup(json_string_value(v));
	v = json_object_get(obj, "status");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 999)
		p->status = (int)json_integer_value(v);
	v = json_object_get(obj, "identifier");
	if (json_is_object(v) && json_is_string(json_object_get(v, "value")))
		p->identifier = xstrdup(jstr(v, "value"));
	/* RFC 8555 6.7.1: subproblems are one level deep */
	if (sub)
		return;
	arr = json_object_get(obj, "subproblems");
	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0)
		return;
	if (n > PROBLEM_MAX_SUB)
		n = PROBLEM_MAX_SUB;
	p->sub = xcalloc(n, sizeof(*p->sub));
	for (i = 0; i < n; i++) {
		struct acme_problem *s = &p->sub[p->nsub];

		v = json_array_get(arr, i);
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "type")))
			continue;
		s->type = xstrdup(jstr(v, "type"));
		problem_fill(v, s, 1);
		p->nsub++;
	}
}

int
acme_problem_from_json(json_t *obj, struct acme_problem *p)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "type")))
		return -1;
	p->type = xstrdup(jstr(obj, "type"));
	problem_fill(obj, p, 0);
	return 0;
}

int
acme_problem_parse(const char *body, size_t len, struct acme_problem *p)
{
	json_t		*root;
	json_error_t	 jerr;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if (body == NULL || len == 0 || len > PROBLEM_MAX_LEN)
		return -1;
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return -1;
	rc = acme_problem_from_json(root, p);
	json_decref(root);
	return rc;
}

void
acme_problem_clear(struct acme_problem *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsub; i++)
		acme_problem_clear(&p->sub[i]);
	free(p->sub);
	free(p->type);
	free(p->detail);
	free(p->identifier);
	memset(p, 0, sizeof(*p));
}

/* Returns malloc'd "type: detail", a subproblem's with "identifier: " before. */
static char *
problem_text(const struct acme_problem *p, int sub)
{
	int	id = sub && p->identifier != NULL;
	int	detail = p->detail != NULL && p->detail[0] != '\0';

	return xasprintf("%s%s%s%s%s", id ? p->identifier : "", id ? ": " : "",
	    p->type != NULL ? p->type : "(no type)", detail ? ": " : "",
	    detail ? p->detail : "");
}

char *
acme_problem_str(const struct acme_problem *p)
{
	char	*s, *sub, *t;
	size_t	 i;

	s = problem_text(p, 0);
	for (i = 0; i < p->nsub; i++) {
		sub = problem_text(&p->sub[i], 1);
		t = xasprintf("%s%s%s%s", s, i == 0 ? " [" : "; ", sub,
		    i + 1 == p->nsub ? "]" : "");
		free(sub);
		free(s);
		s = t;
	}
	return acme_oneline(s);
}

char *
acme_oneline(char *s)
{
	char	*c;

	/*
	 * CA text goes into one-line logs and into errors quoted whole: a
	 * control character becomes a space, so nothing can forge a line.
	 */
	for (c = s; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c))
			*c = ' ';
	return s;
}

/* ----------------------------------------------------------- Retry-After */

static int
parse_2d(const char *s, int *v)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* IMF-fixdate (RFC 7231 7.1.1.1): "Sun, 06 Nov 1994 08:49:37 GMT". */
static int
parse_imf_fixdate(const char *s, size_t len, time_t *out)
{
	static const char *const days[] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;
	int		 i, ok = 0, yh, yl;
	time_t		 t;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    s[25] != ' ' || strncmp(s + 26, "GMT", 3) != 0)
		return -1;
	for (i = 0; i < 7; i++)
		if (strncmp(s, days[i], 3) == 0)
			ok = 1;
	if (!ok)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = -1;
	for (i = 0; i < 12; i++)
		if (strncmp(s + 8, months[i], 3) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon == -1 ||
	    parse_2d(s + 5, &tm.tm_mday) == -1 ||
	    parse_2d(s + 12, &yh) == -1 || parse_2d(s + 14, &yl) == -1 ||
	    parse_2d(s + 17, &tm.tm_hour) == -1 ||
	    parse_2d(s + 20, &tm.tm_min) == -1 ||
	    parse_2d(s + 23, &tm.tm_sec) == -1)
		return -1;
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year = yh * 100 + yl - 1900;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

long
acme_retry_after(const char *value)
{
	const char	*s, *e;
	long		 v = 0;
	time_t		 t, now;

	if (value == NULL)
		return -1;
	for (s = value; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	if (s == e)
		return -1;
	if (isdigit((unsigned char)*s)) {
		/* delta-seconds: 1*DIGIT; absurdly large values saturate */
		for (; s < e; s++) {
			if (!isdigit((unsigned char)*s))
				return -1;
			if (v > (LONG_MAX - (*s - '0')) / 10)
				v = LONG_MAX;
			else
				v = v * 10 + (*s - '0');
		}
		return v;
	}
	if (parse_imf_fixdate(s, (size_t)(e - s), &t) == -1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if ((unsigned long long)(t - now) > (unsigned long long)LONG_MAX)
		return LONG_MAX;
	return (long)(t - now);
}

/* ----------------------------------------------------------- error texts */

char *
acme_error_text(const char *url, const struct http_response *resp,
    const struct acme_problem *prob)
{
	char	*ps, *s;
	long	 ra = resp->retry_after != NULL ?
		    acme_retry_after(resp->retry_after) : -1;
	char	 rabuf[64] = "";

	if (resp->error != NULL)
		return xasprintf("acme: %s: %s", url, resp->error);
	if (ra >= 0)
		snprintf(rabuf, sizeof(rabuf), " (retry after %ld s)", ra);
	if (prob != NULL) {
		ps = acme_problem_str(prob);
		s = xasprintf("acme: %s: %s%s", url, ps, rabuf);
		free(ps);
		return s;
	}
	/* Content-Type is the CA's text too */
	return acme_oneline(xasprintf("acme: %s: HTTP %ld%s%s%s", url,
	    resp->status, resp->content_type != NULL ? " (" : "",
	    resp->content_type != NULL ? resp->content_type : "",
	    resp->content_type != NULL ? ")" : ""));
}
