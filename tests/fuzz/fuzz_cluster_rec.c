/*
 * fuzz_cluster_rec.c - libFuzzer target: bytes as a cluster record that
 * etcd handed back opened, through cluster_rec.c's parsers.
 *
 * The first byte picks the record (certificate, account, order,
 * challenge); the rest is its JSON. A record that parses must encode to
 * text that parses again and encodes to the same text (the field sets of
 * encoder and parser agree); one that does not must say why in one line.
 * A certificate record also goes through cluster_cert_check, whose error
 * must be one line naming the certificate.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme_solver.h"
#include "cluster_rec.h"
#include "crypto.h"
#include "xmalloc.h"
#include "fuzz.h"

/* The text a record encodes to must parse to a record that encodes alike. */
#define ROUND_TRIP(kind, rec_t, encode_arg) do {			\
	rec_t	 r2;							\
	char	*t1 = cluster_##kind##_encode(encode_arg, &l1), *t2;	\
									\
	if (cluster_##kind##_parse((const unsigned char *)t1, l1, &r2,	\
	    &why) == -1)						\
		TRAP();							\
	t2 = cluster_##kind##_encode(&r2, &l2);				\
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)			\
		TRAP();							\
	cluster_##kind##_clear(&r2);					\
	xfree_secret_str(t1);						\
	xfree_secret_str(t2);						\
} while (0)

static void
fuzz_cert(const uint8_t *data, size_t size)
{
	static const char *const dom[] = { "www.example.org" };
	struct cluster_cert_rec r;
	const char	*why = NULL;
	char		 err[512];
	size_t		 l1, l2;

	if (cluster_cert_parse(data, size, &r, &why) == -1) {
		one_line(why);
		return;
	}
	ROUND_TRIP(cert, struct cluster_cert_rec, &r);
	if (cluster_cert_check(&r, "www", dom, 1, err, sizeof(err)) == -1) {
		one_line(err);
		if (strncmp(err, "certificate www: ", 17) != 0)
			TRAP();
	}
	cluster_cert_clear(&r);
}

static void
fuzz_account(const uint8_t *data, size_t size)
{
	struct cluster_account_rec r;
	const char	*why = NULL;
	size_t		 l1, l2;

	if (cluster_account_parse(data, size, &r, &why) == -1) {
		one_line(why);
		return;
	}
	ROUND_TRIP(account, struct cluster_account_rec, &r);
	cluster_account_clear(&r);
}

static void
fuzz_order(const uint8_t *data, size_t size)
{
	struct cluster_order_rec r;
	const char	*why = NULL;
	size_t		 l1, l2;

	if (cluster_order_parse(data, size, &r, &why) == -1) {
		one_line(why);
		return;
	}
	ROUND_TRIP(order, struct cluster_order_rec, &r);
	cluster_order_clear(&r);
}

static void
fuzz_chall(const uint8_t *data, size_t size)
{
	struct cluster_chall_rec r, r2;
	struct acme_challenge c;
	const char	*why = NULL;
	char		*t1, *t2;
	size_t		 l1, l2;

	if (cluster_chall_parse(data, size, &r, &why) == -1) {
		one_line(why);
		return;
	}
	cluster_chall_view(&r, &c);
	if (c.token == NULL || c.keyauth == NULL)
		TRAP();
	t1 = cluster_chall_encode(&c, &l1);
	if (cluster_chall_parse((const unsigned char *)t1, l1, &r2, &why) == -1)
		TRAP();
	cluster_chall_view(&r2, &c);
	t2 = cluster_chall_encode(&c, &l2);
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)
		TRAP();
	cluster_chall_clear(&r);
	cluster_chall_clear(&r2);
	free(t1);
	free(t2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 init;

	if (!init) {
		crypto_init();
		init = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_cert(data + 1, size - 1);
		break;
	case 1:
		fuzz_account(data + 1, size - 1);
		break;
	case 2:
		fuzz_order(data + 1, size - 1);
		break;
	default:
		fuzz_chall(data + 1, size - 1);
		break;
	}
	return 0;
}
