/* cluster_rec.h - the records cluster mode keeps in etcd, as JSON: encoded
 * here, parsed strictly here (exact field sets), checked here; pure */
#ifndef RENEWD_CLUSTER_REC_H
#define RENEWD_CLUSTER_REC_H

#include <stddef.h>
#include <time.h>

struct acme_challenge;

/* P certs/<name>: an issued certificate, its key and chain. */
struct cluster_cert_rec {
	char	*name;		/* the certificate's inventory name */
	char	*serial;	/* hex, as store and status write it */
	time_t	 not_before;
	time_t	 not_after;
	char	*key_pem;	/* secret: freed with xfree_secret_str */
	char	*cert_pem;	/* the leaf */
	char	*chain_pem;	/* the rest */
	char	*node;		/* the node that ordered it */
};

/* P accounts/<ca>: the CA's account, shared by every node. */
struct cluster_account_rec {
	char	*ca;
	char	*key_pem;	/* secret */
	char	*url;
};

/* P orders/<name>: the order in flight, for a node that takes over. */
struct cluster_order_rec {
	char	*ca;
	char	*url;
	char	*key_pem;	/* secret: the CSR's key */
	char	*node;
};

/*
 * Each encoder returns malloc'd JSON text (its length in *len), never
 * NULL; free it with xfree_secret_str when it holds a key. Each parser
 * fills the zeroed *r and returns 0, or -1 with why (a static string naming
 * the field) and nothing allocated; *_clear frees (keys wiped) and zeroes.
 */
char	*cluster_cert_encode(const struct cluster_cert_rec *, size_t *len);
int	 cluster_cert_parse(const unsigned char *json, size_t len,
	    struct cluster_cert_rec *r, const char **why);
void	 cluster_cert_clear(struct cluster_cert_rec *);

char	*cluster_account_encode(const struct cluster_account_rec *, size_t *len);
int	 cluster_account_parse(const unsigned char *json, size_t len,
	    struct cluster_account_rec *r, const char **why);
void	 cluster_account_clear(struct cluster_account_rec *);

char	*cluster_order_encode(const struct cluster_order_rec *, size_t *len);
int	 cluster_order_parse(const unsigned char *json, size_t len,
	    struct cluster_order_rec *r, const char **why);
void	 cluster_order_clear(struct cluster_order_rec *);

/* P chall/<token>: a challenge answer (every field of acme_challenge). */
struct cluster_chall_rec {
	char	*type, *id_type, *id_value, *token, *keyauth, *digest, *cert;
};
char	*cluster_chall_encode(const struct acme_challenge *, size_t *len);
int	 cluster_chall_parse(const unsigned char *json, size_t len,
	    struct cluster_chall_rec *r, const char **why);
void	 cluster_chall_clear(struct cluster_chall_rec *);
/* Points c's fields at r's strings (valid while r is). */
void	 cluster_chall_view(const struct cluster_chall_rec *r,
	    struct acme_challenge *c);

/*
 * Judges a certificate record against the inventory entry it is for
 * before a node installs it: the key parses and is the leaf's, the leaf
 * parses and its names are exactly domains (crypto_cert_names_exact), the
 * chain parses, serial and validity are the leaf's own, name is name.
 * Returns 0, or -1 with why in err (naming the certificate).
 */
int	 cluster_cert_check(const struct cluster_cert_rec *, const char *name,
	    const char *const *domains, size_t ndomains, char *err,
	    size_t errlen);

#endif
