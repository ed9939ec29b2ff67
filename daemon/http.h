/* http.h - asynchronous HTTP client: libcurl multi driven by libevent */
#ifndef RENEWD_HTTP_H
#define RENEWD_HTTP_H

#include <stddef.h>

struct event_base;
struct http_client;
struct http_req;

#define HTTP_DEFAULT_TIMEOUT_MS	30000
#define HTTP_DEFAULT_MAX_BODY	(1024 * 1024)

struct http_opts {
	const char	*ca_bundle;	/* PEM file of trusted roots; NULL = system store */
	long		 timeout_ms;	/* whole request; 0 = HTTP_DEFAULT_TIMEOUT_MS */
	size_t		 max_body;	/* 0 = HTTP_DEFAULT_MAX_BODY; more is an error */
	const char	*content_type;	/* request body type, e.g. "application/jose+json" */
	int		 https_only;	/* libcurl refuses any other scheme (no redirects anyway) */
	const char	*client_cert;	/* PEM client certificate for TLS; NULL = none */
	const char	*client_key;	/* its PEM private key; NULL = in client_cert */
	long		 connect_timeout_ms; /* 0 = curl's default */
	/*
	 * Streams the body instead of collecting it (a long poll, etcd's
	 * watch): called from inside curl with each piece as it arrives, so it
	 * must neither cancel this request nor free the client; it returns 0,
	 * or -1 to abort the transfer. With it, timeout_ms 0 means no limit on
	 * the whole transfer, and the response's body is empty. arg is the
	 * request's callback argument.
	 */
	int		(*on_data)(const char *data, size_t len, void *arg);
};

struct http_response {
	const char	*url;		/* what was requested */
	long		 status;	/* HTTP status; 0 if the transfer failed */
	const char	*error;		/* NULL on transport success, else why it failed
					   ("timed out after 30000 ms", "response body exceeds
					   1048576 bytes", curl's message) */
	const char	*body;		/* NUL-terminated, body_len bytes; never NULL */
	size_t		 body_len;
	/* Headers, NULL if absent or empty. Values are trimmed. */
	const char	*location;
	const char	*replay_nonce;
	const char	*retry_after;
	const char	*content_type;
	const char	**links;	/* every Link header value, raw */
	size_t		 nlinks;
	int		 not_sent;	/* the transfer failed before a connection
					   was made: the server saw nothing */
};

/* Called exactly once per request, on the loop; resp lives until it returns. */
typedef void (*http_cb)(const struct http_response *resp, void *arg);

/*
 * Returns a client whose transfers run on base, or NULL. user_agent is copied.
 * The first call runs curl_global_init: make it from main before any thread
 * starts.
 */
struct http_client *http_client_new(struct event_base *base, const char *user_agent);
/* Cancels every pending request (without callbacks) and frees; NULL is a no-op. */
void		 http_client_free(struct http_client *);
/*
 * Starts method ("GET", "HEAD", "POST") on url; body may be NULL.
 * Returns a handle usable with http_cancel until cb has run, or NULL if the
 * request could not even be started (cb is then not called).
 */
struct http_req	*http_request(struct http_client *, const char *method,
		    const char *url, const char *body, size_t body_len,
		    const struct http_opts *opts, http_cb cb, void *arg);
/* Aborts a pending request; its callback is not called. */
void		 http_cancel(struct http_req *);
/* Returns the number of requests in flight. */
size_t		 http_pending(const struct http_client *);

#endif
