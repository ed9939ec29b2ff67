/* fuzz.h - what the libFuzzer targets share: the entry point, failing an invariant */
#ifndef RENEWD_FUZZ_H
#define RENEWD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broke: say which, then crash so libFuzzer keeps the input. */
#define TRAP() do {							\
	fprintf(stderr, "%s:%d: invariant broken\n", __FILE__, __LINE__); \
	__builtin_trap();						\
} while (0)

/* Traps unless s is one non-empty line of text (no control character). */
static inline void
one_line(const char *s)
{
	const char	*p;
	char		 q[512];

	if (s == NULL || *s == '\0')
		TRAP();
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "not one line: %s\n",
			    valid_quote(s, strlen(s), q, sizeof(q)));
			TRAP();
		}
}

#endif
