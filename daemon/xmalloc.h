/* xmalloc.h - allocation that cannot fail: it aborts the process instead */
#ifndef RENEWD_XMALLOC_H
#define RENEWD_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/*
 * renewd's state directory is crash-safe and systemd restarts the service,
 * so running out of memory is handled once, here: log one line, abort().
 * No caller checks these for NULL (docs/DESIGN.md, "Out of memory").
 */

/* malloc(n), never NULL (n == 0 allocates 1 byte). */
void	*xmalloc(size_t n);
/* calloc(n, size), never NULL; aborts on overflow too. */
void	*xcalloc(size_t n, size_t size);
/* reallocarray(p, n, size), never NULL; aborts on overflow too. */
void	*xreallocarray(void *p, size_t n, size_t size);
/* strdup(s), never NULL. */
char	*xstrdup(const char *s);
/* strndup(s, n), never NULL. */
char	*xstrndup(const char *s, size_t n);
/* Returns malloc'd formatted text, never NULL. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Overwrites n bytes of p with zeros in a way the compiler keeps, then frees. */
void	 xfree_secret(void *p, size_t n);
/* Same for a NUL-terminated string; NULL is a no-op. */
void	 xfree_secret_str(char *s);
/*
 * Gives memory freed in bulk (an old inventory, a parse's tree) back to
 * the system; glibc keeps it in its arenas otherwise. Cheap to call after
 * a start-up or a reload, not on every free.
 */
void	 xmalloc_trim(void);

/*
 * Allocators with the C library's signatures, for the libraries' hooks:
 * main.c points libevent and jansson at them, crypto_init() OpenSSL and
 * http_global_init() libcurl, so a NULL from a library is no longer a case
 * any caller handles.
 */
void	*xmalloc_hook(size_t n);
void	*xrealloc_hook(void *p, size_t n);
void	*xcalloc_hook(size_t n, size_t size);
char	*xstrdup_hook(const char *s);

#endif
