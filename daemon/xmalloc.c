/* xmalloc.c - allocation that cannot fail: it aborts the process instead */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

static void __attribute__((noreturn))
xmalloc_fail(size_t n, size_t size)
{
	/* log_msg formats into its own stack buffer: it allocates nothing */
	log_err("out of memory allocating %zu x %zu bytes; aborting", n, size);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		xmalloc_fail(1, n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xmalloc_fail(n, size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void	*q;

	if (n == 0 || size == 0)
		n = size = 1;
	if (size > SIZE_MAX / n)
		xmalloc_fail(n, size);
	if ((q = realloc(p, n * size)) == NULL)
		xmalloc_fail(n, size);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;
	size_t	 len;

	len = strnlen(s, n);
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	*p;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		log_err("xvasprintf: bad format \"%s\"; aborting", fmt);
		abort();
	}
	p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
xfree_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	/* unlike memset, explicit_bzero is never optimised away before free */
	explicit_bzero(p, n);
	free(p);
}

void
xfree_secret_str(char *s)
{
	if (s != NULL)
		xfree_secret(s, strlen(s));
}

void *
xmalloc_hook(size_t n)
{
	return xmalloc(n);
}

void *
xrealloc_hook(void *p, size_t n)
{
	/* realloc(p, 0) is a free in libevent's and curl's expectations */
	if (n == 0) {
		free(p);
		return NULL;
	}
	return xreallocarray(p, 1, n);
}

void *
xcalloc_hook(size_t n, size_t size)
{
	return xcalloc(n, size);
}

char *
xstrdup_hook(const char *s)
{
	return xstrdup(s);
}

void
xmalloc_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
