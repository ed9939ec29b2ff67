/*
 * fuzz_headers.c - libFuzzer target: bytes as the header lines of a CA's
 * answer, through http.c's header callback (the one curl calls, reached by
 * including http.c, as tests/unit/test_renew.c includes renew.c), then
 * through what acme does with them: Retry-After (acme_retry_after), the
 * Location and Link URLs (acme_reply_urls_refused) and the error text of a
 * failed answer (acme_error_text).
 *
 * The first byte: bit 0 lets the CA name http:// URLs (allow_http), bits
 * 4-7 add to the status of the failed answer. The rest is cut into lines
 * after each '\n', as curl hands them over, up to the first NUL (curl
 * fails such a response before the callback sees the line).
 */
#include "http.c"

#include <ctype.h>
#include <limits.h>

#include "acme_int.h"
#include "validate.h"
#include "fuzz.h"


/* A stored header value: present means non-empty and trimmed. */
static void
check_value(const char *v)
{
	size_t n;

	if (v == NULL)
		return;
	if ((n = strlen(v)) == 0 || v[0] == ' ' || v[0] == '\t' ||
	    v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' ||
	    v[n - 1] == '\n')
		TRAP();
}

/* acme_retry_after against what RFC 9110 10.2.3 allows. */
static void
check_retry_after(const char *v)
{
	const char	*s, *e, *p;
	long		 ra = acme_retry_after(v);
	unsigned long long want = 0;
	int		 digits = 1;

	if (ra < -1)
		TRAP();
	if (v == NULL)
		return;
	for (s = v; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	for (p = s; p < e; p++)
		digits &= isdigit((unsigned char)*p) != 0;
	if (s < e && digits) {
		/* delta-seconds: the number, saturated */
		while (s + 1 < e && *s == '0')
			s++;
		if (e - s > 19)
			want = ULLONG_MAX;
		for (p = s; p < e && e - s <= 19; p++)
			want = want * 10 + (unsigned long long)(*p - '0');
		if (ra != (want > LONG_MAX ? LONG_MAX : (long)want))
			TRAP();
	} else if (ra >= 0) {
		/* else only an IMF-fixdate: 29 characters ending in GMT */
		if (e - s != 29 || strncmp(e - 3, "GMT", 3) != 0)
			TRAP();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req		 r;
	struct http_response	 resp;
	struct acme_ca		 ca;
	const uint8_t		*p, *nl, *end;
	char			*err, *line;
	size_t			 n, i;

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	memset(&ca, 0, sizeof(ca));
	ca.name = "fuzz";
	ca.directory = "https://ca.test/dir";
	ca.env.allow_http = data[0] & 1;

	for (p = data + 1, end = data + size; p < end; p += n) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* curl fails a response with a NUL in a header (test_http) */
		if (memchr(p, '\0', n) != NULL)
			break;
		/* curl's buffer is its own: a copy shows reads beyond it */
		line = xmalloc(n);
		memcpy(line, p, n);
		if (header_cb(line, 1, n, &r) != n && !r.hdr_overflow)
			TRAP();
		free(line);
		if (r.hdr_overflow)
			break;
	}
	check_value(r.location);
	check_value(r.replay_nonce);
	check_value(r.retry_after);
	check_value(r.content_type);
	for (i = 0; i < r.nlinks; i++)
		check_value(r.links[i]);

	memset(&resp, 0, sizeof(resp));
	resp.url = ca.directory;
	resp.status = 400 + (data[0] >> 4);
	resp.body = "";
	resp.location = r.location;
	resp.replay_nonce = r.replay_nonce;
	resp.retry_after = r.retry_after;
	resp.content_type = r.content_type;
	resp.links = (const char **)r.links;
	resp.nlinks = r.nlinks;

	check_retry_after(r.retry_after);
	if ((err = acme_reply_urls_refused(&ca, &resp)) != NULL)
		one_line(err);
	else if (r.location != NULL &&
	    (err = acme_url_refused(&ca, "Location", r.location)) != NULL)
		TRAP();	/* passed once, refused alone */
	free(err);
	err = acme_error_text(ca.directory, &resp, NULL);
	one_line(err);
	free(err);
	req_clear_headers(&r);
	return 0;
}
