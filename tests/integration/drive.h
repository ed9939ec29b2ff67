/* drive.h - the integration drivers' TAP-ish output: "ok: ..." lines and
 * "FAIL: ..." then exit 1 (etcd_drive, cluster_drive) */
#ifndef RENEWD_TESTS_DRIVE_H
#define RENEWD_TESTS_DRIVE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void	fail(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn, unused));
static void	say(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), unused));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ok: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

#endif
