/* crypto.c - keys, signatures, CSRs, certificates; OpenSSL stays here */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "crypto_der.h"
#include "crypto_int.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

/* How a key signs a JWS (RFC 7518 section 3). */
struct sig_kind {
	const char	*alg;
	const char	*md;
	const char	*crv;		/* JWK "crv"; NULL for RSA */
	size_t		 ec_len;	/* r and s length; 0 for RSA */
};

static const struct sig_kind sig_es256 = { "ES256", "SHA256", "P-256", 32 };
static const struct sig_kind sig_es384 = { "ES384", "SHA384", "P-384", 48 };
static const struct sig_kind sig_rs256 = { "RS256", "SHA256", NULL, 0 };

struct crypto_key {
	EVP_PKEY		*pkey;
	int			 type;	/* enum key_type, or -1 */
	const struct sig_kind	*sig;	/* NULL: no JWS algorithm */
};

struct crypto_cert {
	X509		*x;
};

/* The last issuer crypto_chain_check parsed, with the PEM block it came from. */
struct crypto_chain_cache {
	char		*block;
	size_t		 len;
	X509		*x;
};

/*
 * OpenSSL's allocator hooks (they take the caller's file and line too).
 * OpenSSL allocates on every call: the common case goes straight to the
 * C library, and only a failure takes the x-family's path, which logs and
 * aborts.
 */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	void	*p;

	(void)file; (void)line;
	/* OpenSSL's own CRYPTO_malloc answers 0 bytes with NULL: so do we */
	if (n == 0)
		return NULL;
	if ((p = malloc(n)) == NULL)
		p = xmalloc(n);
	return p;
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	void	*q;

	(void)file; (void)line;
	if (n == 0) {
		free(p);
		return NULL;
	}
	/* a failed realloc leaves p intact for the retry that aborts */
	if ((q = realloc(p, n)) == NULL)
		q = xreallocarray(p, 1, n);
	return q;
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file; (void)line;
	free(p);
}

void
crypto_init(void)
{
	CRYPTO_malloc_fn	 m;
	CRYPTO_realloc_fn	 r;
	CRYPTO_free_fn		 f;

	CRYPTO_get_mem_functions(&m, &r, &f);
	if (m == ossl_malloc)
		return;
	/* refused once OpenSSL has allocated: its NULLs then stay possible */
	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
		log_warn("crypto: OpenSSL allocated before crypto_init; its "
		    "allocations do not abort on exhaustion");
}

/* Logs "crypto: what failed: <OpenSSL's first reason>"; empties the queue. */
static void
ssl_log(const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e == 0)
		log_err("crypto: %s failed", what);
	else {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_err("crypto: %s failed: %s", what, buf);
	}
	ERR_clear_error();
}

/* Same, into a caller's buffer instead of the log. */
static void
ssl_errbuf(char *err, size_t errlen, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (err == NULL || errlen == 0) {
		ERR_clear_error();
		return;
	}
	if (e == 0)
		snprintf(err, errlen, "%s failed", what);
	else {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s failed: %s", what, buf);
	}
	ERR_clear_error();
}

/* A read-only memory BIO over pem; NULL if len does not fit an int. */
static BIO *
mem_bio(const char *pem, size_t len)
{
	if (pem == NULL || len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(pem, (int)len);
}

/* Copies a memory BIO's contents into a malloc'd NUL-terminated string. */
static char *
bio_to_str(BIO *bio, size_t *len)
{
	char		*data, *s;
	long		 n;

	n = BIO_get_mem_data(bio, &data);
	s = xmalloc((size_t)n + 1);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

/* Never prompt on a terminal for a passphrase: renewd's keys have none. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return 0;
}

/* Returns the enum key_type of pkey, or -1 if it is none renewd makes. */
static int
pkey_type(EVP_PKEY *pkey)
{
	int		 nid, bits;

	if (EVP_PKEY_is_a(pkey, "EC")) {
		nid = crypto_der_curve_nid(pkey);
		if (nid == NID_X9_62_prime256v1)
			return KEY_EC_P256;
		if (nid == NID_secp384r1)
			return KEY_EC_P384;
		return -1;
	}
	/* RSA-PSS keys are deliberately not "RSA": JWS RS256 needs v1.5 */
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits == 2048)
			return KEY_RSA_2048;
		if (bits == 3072)
			return KEY_RSA_3072;
		if (bits == 4096)
			return KEY_RSA_4096;
	}
	return -1;
}

/*
 * Wraps pkey, working out its type and JWS algorithm once; a NULL pkey
 * logs what failed and returns NULL.
 */
static struct crypto_key *
key_wrap(EVP_PKEY *pkey, const char *what)
{
	struct crypto_key *k;

	if (pkey == NULL) {
		ssl_log(what);
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->type = pkey_type(pkey);
	if (k->type == KEY_EC_P256)
		k->sig = &sig_es256;
	else if (k->type == KEY_EC_P384)
		k->sig = &sig_es384;
	/* any RSA key of at least 2048 bits signs, not only those renewd makes */
	else if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 2048)
		k->sig = &sig_rs256;
	return k;
}

struct crypto_key *
crypto_key_generate(enum key_type type)
{
	EVP_PKEY	*pkey;

	switch (type) {
	case KEY_EC_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case KEY_EC_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case KEY_RSA_2048:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case KEY_RSA_3072:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case KEY_RSA_4096:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		log_err("crypto: key generation: unknown key type %d", (int)type);
		return NULL;
	}
	return key_wrap(pkey, "EVP_PKEY_Q_keygen");
}

/* Parses a PEM private key, or a public one if public; NULL (logged) if not. */
static struct crypto_key *
key_read(const char *pem, size_t len, int public)
{
	BIO		*bio;
	EVP_PKEY	*pkey;

	if ((bio = mem_bio(pem, len)) == NULL)
		return NULL;
	if (public)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	else
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return key_wrap(pkey, public ? "PEM_read_bio_PUBKEY" :
	    "PEM_read_bio_PrivateKey");
}

struct crypto_key *
crypto_key_from_pem(const char *pem, size_t len)
{
	return key_read(pem, len, 0);
}

/* BIGNUM of base64url s pushed onto bld as name. Returns 1, or 0 if s is bad. */
static int
jwk_bn(OSSL_PARAM_BLD *bld, const char *name, const char *s, BIGNUM **bn)
{
	unsigned char	*raw;
	size_t		 len;

	if (s == NULL || (raw = b64url_decode(s, &len)) == NULL)
		return 0;
	/* 2048 bytes: a 16384-bit modulus, beyond any key in use */
	if (len > 0 && len <= 2048)
		*bn = BN_bin2bn(raw, (int)len, NULL);
	xfree_secret(raw, len);
	return *bn != NULL && OSSL_PARAM_BLD_push_BN(bld, name, *bn);
}

struct crypto_key *
crypto_key_from_jwk_rsa(const struct crypto_jwk_rsa *j)
{
	static const char *const names[] = { OSSL_PKEY_PARAM_RSA_N,
	    OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
	    OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	const char	*vals[] = { j->n, j->e, j->d, j->p, j->q, j->dp, j->dq,
	    j->qi };
	BIGNUM		*bn[sizeof(names) / sizeof(names[0])] = { NULL };
	OSSL_PARAM_BLD	*bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL, *chk = NULL;
	EVP_PKEY	*pkey = NULL;
	struct crypto_key *k = NULL;
	size_t		 i;
	int		 good = bld != NULL;

	for (i = 0; i < sizeof(bn) / sizeof(bn[0]) && good; i++)
		good = jwk_bn(bld, names[i], vals[i], &bn[i]);
	if (good && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) > 0 &&
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
	    EVP_PKEY_check(chk) > 0 && EVP_PKEY_get_bits(pkey) >= 2048) {
		k = key_wrap(pkey, "EVP_PKEY_fromdata");
		pkey = NULL;
	}
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < sizeof(bn) / sizeof(bn[0]); i++)
		BN_clear_free(bn[i]);
	return k;
}

struct crypto_key *
crypto_key_from_public_pem(const char *pem, size_t len)
{
	return key_read(pem, len, 1);
}

EVP_PKEY *
crypto_key_evp(const struct crypto_key *key)
{
	return key == NULL ? NULL : key->pkey;
}

char *
crypto_key_to_pem(const struct crypto_key *key, size_t *len)
{
	BIO		*bio;
	char		*s = NULL;

	if (key == NULL)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	/* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"). */
	if (crypto_der_ec_pkcs8(bio, key->pkey) ||
	    PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL))
		s = bio_to_str(bio, len);
	else
		ssl_log("PEM_write_bio_PrivateKey");
	/* a memory BIO's buffer is freed with OPENSSL_clear_free */
	BIO_free(bio);
	return s;
}

int
crypto_key_type(const struct crypto_key *key)
{
	return key == NULL ? -1 : key->type;
}

void
crypto_key_free(struct crypto_key *key)
{
	if (key == NULL)
		return;
	/* EVP_PKEY_free clears the private components it owns */
	EVP_PKEY_free(key->pkey);
	xfree_secret(key, sizeof(*key));
}

/* Signatures */

const char *
crypto_sign_alg(const struct crypto_key *key)
{
	return key == NULL || key->sig == NULL ? NULL : key->sig->alg;
}

/*
 * Rewrites the DER ECDSA-Sig-Value in sig[0..*len) as JWS wants it, in
 * place: r || s, each left-padded to n bytes (RFC 7518 3.4). sig holds at
 * least 2 * n bytes. Returns 0 or -1.
 */
static int
ecdsa_to_jose(unsigned char *sig, size_t *len, size_t n)
{
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	const unsigned char *p = sig;
	int		 rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)*len)) == NULL)
		return -1;
	/* parsed: the DER bytes are free to be overwritten */
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, (int)n) == (int)n &&
	    BN_bn2binpad(s, sig + n, (int)n) == (int)n) {
		*len = 2 * n;
		rc = 0;
	}
	ECDSA_SIG_free(es);
	return rc;
}

unsigned char *
crypto_sign(const struct crypto_key *key, const void *data, size_t len,
    size_t *siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*sig = NULL;
	size_t		 n = 0;
	int		 max, ok = 0;

	if (key == NULL || key->sig == NULL) {
		log_err("crypto: sign: unsupported key");
		return NULL;
	}
	/* the key's maximum size spares a second, sizing EVP_DigestSign */
	if ((max = EVP_PKEY_get_size(key->pkey)) <= 0 ||
	    (size_t)max < 2 * key->sig->ec_len) {
		ssl_log("EVP_PKEY_get_size");
		return NULL;
	}
	sig = xmalloc((size_t)max);
	n = (size_t)max;
	ctx = EVP_MD_CTX_new();
	/* signed once: OpenSSL need not copy the context to finalise */
	EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
	/* RSA defaults to PKCS#1 v1.5 padding, which RS256 is */
	if (EVP_DigestSignInit_ex(ctx, NULL, key->sig->md, NULL, NULL,
	    key->pkey, NULL) != 1)
		ssl_log("EVP_DigestSignInit_ex");
	else if (EVP_DigestSign(ctx, sig, &n, data, len) != 1)
		ssl_log("EVP_DigestSign");
	else if (key->sig->ec_len > 0 &&
	    ecdsa_to_jose(sig, &n, key->sig->ec_len) == -1)
		ssl_log("ECDSA signature conversion");
	else
		ok = 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(sig);
		return NULL;
	}
	*siglen = n;
	return sig;
}

/* Returns base64url of bn, zero-padded to at least pad bytes (0: minimal). */
static char *
bn_b64url(const BIGNUM *bn, size_t pad)
{
	unsigned char	*buf;
	char		*s;
	size_t		 len;

	len = (size_t)BN_num_bytes(bn);
	if (len < pad)
		len = pad;
	if (len == 0)
		len = 1;	/* zero is one 0x00 octet */
	buf = xmalloc(len);
	BN_bn2binpad(bn, buf, (int)len);	/* cannot fail: len fits bn */
	s = b64url_encode(buf, len);
	free(buf);
	return s;
}

int
crypto_jwk_params(const struct crypto_key *key, struct crypto_jwk *jwk)
{
	BIGNUM		*a = NULL, *b = NULL;
	int		 ec, rc = -1;

	memset(jwk, 0, sizeof(*jwk));
	if (key == NULL || key->sig == NULL) {
		log_err("crypto: JWK: unsupported key type");
		return -1;
	}
	ec = key->sig->ec_len > 0;
	if (!EVP_PKEY_get_bn_param(key->pkey, ec ? OSSL_PKEY_PARAM_EC_PUB_X :
	    OSSL_PKEY_PARAM_RSA_N, &a) ||
	    !EVP_PKEY_get_bn_param(key->pkey, ec ? OSSL_PKEY_PARAM_EC_PUB_Y :
	    OSSL_PKEY_PARAM_RSA_E, &b)) {
		ssl_log(ec ? "JWK: EVP_PKEY_get_bn_param(x, y)" :
		    "JWK: EVP_PKEY_get_bn_param(n, e)");
		goto out;
	}
	if (ec) {
		/* x and y are fixed-length field elements (RFC 7518 6.2.1.2) */
		jwk->kty = "EC";
		jwk->crv = key->sig->crv;
		jwk->x = bn_b64url(a, key->sig->ec_len);
		jwk->y = bn_b64url(b, key->sig->ec_len);
	} else {
		/* n and e are minimal big-endian (RFC 7518 6.3.1) */
		jwk->kty = "RSA";
		jwk->n = bn_b64url(a, 0);
		jwk->e = bn_b64url(b, 0);
	}
	rc = 0;
out:
	BN_free(a);
	BN_free(b);
	return rc;
}

void
crypto_jwk_clear(struct crypto_jwk *jwk)
{
	if (jwk == NULL)
		return;
	free(jwk->x);
	free(jwk->y);
	free(jwk->n);
	free(jwk->e);
	memset(jwk, 0, sizeof(*jwk));
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char mac[CRYPTO_HMAC_SHA256_LEN])
{
	size_t		 maclen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data,
	    len, mac, CRYPTO_HMAC_SHA256_LEN, &maclen) == NULL ||
	    maclen != CRYPTO_HMAC_SHA256_LEN) {
		ssl_log("EVP_Q_mac(HMAC-SHA256)");
		return -1;
	}
	return 0;
}

/* AES-256-GCM seal and open (cluster mode's values in etcd) */

static const unsigned char seal_magic[3] = { 'R', 'S', '1' };

/* Runs one GCM pass over in into out; tag is read (dec) or written (enc). */
static int
seal_gcm(int enc, const unsigned char *key, const unsigned char *iv,
    const void *ad, size_t adlen, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX	*c;
	int		 n, ok;

	if (len > INT_MAX || adlen > INT_MAX || (c = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
	    (adlen == 0 || EVP_CipherUpdate(c, NULL, &n, ad, (int)adlen) == 1) &&
	    (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1) &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
	    EVP_CipherFinal_ex(c, out + len, &n) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

unsigned char *
crypto_seal(const unsigned char key[CRYPTO_SEAL_KEY_LEN], const void *ad,
    size_t adlen, const void *pt, size_t ptlen, size_t *outlen)
{
	unsigned char	*out;

	if (ptlen > INT_MAX - CRYPTO_SEAL_OVERHEAD)
		abort();	/* values are kilobytes; this is a bug */
	out = xmalloc(ptlen + CRYPTO_SEAL_OVERHEAD);
	memcpy(out, seal_magic, 3);
	if (RAND_bytes(out + 3, 12) != 1 ||
	    seal_gcm(1, key, out + 3, ad, adlen, pt, ptlen, out + 15,
	    out + 15 + ptlen) == -1) {
		ssl_log("AES-256-GCM seal");
		abort();	/* no randomness or no AES: nothing is safe */
	}
	*outlen = ptlen + CRYPTO_SEAL_OVERHEAD;
	return out;
}

unsigned char *
crypto_unseal(const unsigned char key[CRYPTO_SEAL_KEY_LEN], const void *ad,
    size_t adlen, const void *sealed, size_t len, size_t *outlen)
{
	const unsigned char *s = sealed;
	unsigned char	 tag[16], *out;
	size_t		 n;

	if (len < CRYPTO_SEAL_OVERHEAD || memcmp(s, seal_magic, 3) != 0)
		return NULL;
	n = len - CRYPTO_SEAL_OVERHEAD;
	memcpy(tag, s + 15 + n, 16);
	out = xmalloc(n + 1);
	if (seal_gcm(0, key, s + 3, ad, adlen, s + 15, n, out, tag) == -1) {
		ERR_clear_error();
		xfree_secret(out, n + 1);
		return NULL;
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* base64url (RFC 4648 section 5), no padding */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
b64url_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char		*s, *o;
	size_t		 i;
	unsigned long	 v;

	/* 4 characters per 3 bytes, and the NUL: overflow aborts */
	o = s = xreallocarray(NULL, len / 3 + 2, 4);
	for (i = 0; i + 3 <= len; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		*o++ = b64url_alphabet[(v >> 18) & 63];
		*o++ = b64url_alphabet[(v >> 12) & 63];
		*o++ = b64url_alphabet[(v >> 6) & 63];
		*o++ = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned long)p[i] << 16;
		*o++ = b64url_alphabet[(v >> 18) & 63];
		*o++ = b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		*o++ = b64url_alphabet[(v >> 18) & 63];
		*o++ = b64url_alphabet[(v >> 12) & 63];
		*o++ = b64url_alphabet[(v >> 6) & 63];
	}
	*o = '\0';
	return s;
}

/* Returns the 6-bit value of a character valid_base64url has accepted. */
static unsigned long
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned long)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (unsigned long)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (unsigned long)(c - '0' + 52);
	return c == '-' ? 62 : 63;
}

/*
 * Strict on the alphabet (no '=', '+', '/', whitespace) and on a lone
 * trailing character (it carries no byte), lenient on unused trailing
 * bits, as most JOSE implementations are.
 */
unsigned char *
b64url_decode(const char *s, size_t *outlen)
{
	unsigned char	*out, *o;
	unsigned long	 v = 0;
	size_t		 len, i;
	int		 nbits = 0;

	if (s == NULL || (*s != '\0' &&
	    !valid_base64url(s, SIZE_MAX, VALID_B64_WHOLE)))
		return NULL;
	len = strlen(s);
	o = out = xmalloc(len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		v = (v << 6 | b64url_value((unsigned char)s[i])) & 0xffffff;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			*o++ = (unsigned char)(v >> nbits);
		}
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(o - out);
	return out;
}

char *
crypto_sha256_b64url(const void *data, size_t len)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL)) {
		ssl_log("EVP_Digest(SHA-256)");
		return NULL;
	}
	return b64url_encode(md, mdlen);
}

/* CSR */

/* Parses s as an IPv4 or IPv6 address into buf; returns its length, or 0. */
static int
ip_bytes(const char *s, unsigned char buf[16])
{
	int	af;

	if ((af = valid_ip_literal(s)) == 0 || inet_pton(af, s, buf) != 1)
		return 0;
	return af == AF_INET ? 4 : 16;
}

/* Appends one SAN to gens: iPAddress if name is an address, else dNSName. */
static void
san_add(GENERAL_NAMES *gens, const char *name)
{
	GENERAL_NAME	*gn;
	ASN1_STRING	*str;
	unsigned char	 ip[16];
	int		 iplen;

	gn = GENERAL_NAME_new();
	if ((iplen = ip_bytes(name, ip)) > 0) {
		str = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(str, ip, iplen);
		GENERAL_NAME_set0_value(gn, GEN_IPADD, str);
	} else {
		str = ASN1_IA5STRING_new();
		ASN1_STRING_set(str, name, -1);
		GENERAL_NAME_set0_value(gn, GEN_DNS, str);
	}
	sk_GENERAL_NAME_push(gens, gn);
}

/*
 * Sets req's subject: a CN of the first name, which is optional and capped
 * at 64 characters (RFC 5280 ub-common-name), CAs read the SANs; an IP
 * address has no business in a CN. Returns 0 or -1 (logged).
 */
static int
csr_subject(X509_REQ *req, const char *first)
{
	X509_NAME	*subj;
	int		 rc = -1;

	subj = X509_NAME_new();
	if (strlen(first) <= 64 && valid_ip_literal(first) == 0 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)first, -1, -1, 0))
		ssl_log("CSR: X509_NAME_add_entry_by_txt");
	else if (!X509_REQ_set_subject_name(req, subj))
		ssl_log("CSR: X509_REQ_set_subject_name");
	else
		rc = 0;
	X509_NAME_free(subj);
	return rc;
}

/* Adds the subjectAltName of domains[0..n) to req. Returns 0 or -1 (logged). */
static int
csr_sans(X509_REQ *req, char *const *domains, size_t n)
{
	GENERAL_NAMES	*gens;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	size_t		 i;
	int		 rc = -1;

	gens = sk_GENERAL_NAME_new_null();
	for (i = 0; i < n; i++)
		san_add(gens, domains[i]);
	if (!X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) || !X509_REQ_add_extensions(req, exts))
		ssl_log("CSR: X509_REQ_add_extensions");
	else
		rc = 0;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return rc;
}

char *
crypto_csr(const struct crypto_key *key, char *const *domains, size_t n)
{
	X509_REQ	*req;
	unsigned char	*der = NULL;
	char		*s = NULL;
	int		 derlen;

	if (key == NULL || domains == NULL || n == 0) {
		log_err("crypto: CSR: no key or no domains");
		return NULL;
	}
	req = X509_REQ_new();
	X509_REQ_set_version(req, 0);
	if (csr_subject(req, domains[0]) == -1)
		goto out;
	if (!crypto_der_ec_spki(X509_REQ_get_X509_PUBKEY(req), key->pkey) &&
	    !X509_REQ_set_pubkey(req, key->pkey)) {
		ssl_log("CSR: X509_REQ_set_pubkey");
		goto out;
	}
	if (csr_sans(req, domains, n) == -1)
		goto out;
	if (X509_REQ_sign(req, key->pkey, EVP_sha256()) <= 0) {
		ssl_log("CSR: X509_REQ_sign");
		goto out;
	}
	if ((derlen = i2d_X509_REQ(req, &der)) <= 0) {
		ssl_log("CSR: i2d_X509_REQ");
		goto out;
	}
	s = b64url_encode(der, (size_t)derlen);
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	return s;
}

/* tls-alpn-01 (RFC 8737) */

#define ACME_IDENTIFIER_OID	"1.3.6.1.5.5.7.1.31"

/*
 * Adds the critical acmeIdentifier extension (RFC 8737 section 3): its
 * value is the DER of an OCTET STRING holding SHA-256(keyauth). Returns
 * 0 or -1 (logged).
 */
static int
alpn_ext(X509 *x, const char *keyauth)
{
	unsigned char	 der[2 + 32];
	ASN1_OBJECT	*obj;
	ASN1_OCTET_STRING *val;
	X509_EXTENSION	*ext = NULL;
	int		 rc = -1;

	der[0] = 0x04;		/* OCTET STRING, 32 bytes */
	der[1] = 32;
	if (!EVP_Digest(keyauth, strlen(keyauth), der + 2, NULL, EVP_sha256(),
	    NULL)) {
		ssl_log("tls-alpn-01: EVP_Digest");
		return -1;
	}
	obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
	val = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(val, der, sizeof(der));
	if (obj == NULL ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, val)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		ssl_log("tls-alpn-01: acmeIdentifier extension");
	else
		rc = 0;
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(obj);
	return rc;
}

/* Serial, validity, subject and issuer of a throwaway self-signed certificate. */
static int
alpn_frame(X509 *x, const char *name)
{
	unsigned char	 rnd[8];
	BIGNUM		*bn;
	X509_NAME	*subj = X509_get_subject_name(x);
	int		 ok;

	rnd[0] = 0;
	if (RAND_bytes(rnd + 1, sizeof(rnd) - 1) != 1)
		memset(rnd + 1, 0x5a, sizeof(rnd) - 1);
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	ok = X509_set_version(x, 2) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400) != NULL &&
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)(strlen(name) <= 64 ? name : "tls-alpn-01"),
	    -1, -1, 0) && X509_set_issuer_name(x, subj);
	BN_free(bn);
	if (!ok)
		ssl_log("tls-alpn-01: certificate fields");
	return ok ? 0 : -1;
}

char *
crypto_alpn_cert(const struct crypto_key *key, const char *name,
    const char *keyauth)
{
	X509		*x;
	GENERAL_NAMES	*gens;
	BIO		*bio = NULL;
	char		*pem = NULL;

	if (key == NULL || name == NULL || keyauth == NULL)
		return NULL;
	x = X509_new();
	gens = sk_GENERAL_NAME_new_null();
	san_add(gens, name);
	if (alpn_frame(x, name) == -1 || alpn_ext(x, keyauth) == -1)
		goto out;
	if (!X509_set_pubkey(x, key->pkey) ||
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) || X509_sign(x, key->pkey, EVP_sha256()) <= 0) {
		ssl_log("tls-alpn-01: X509_sign");
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (PEM_write_bio_X509(bio, x))
		pem = bio_to_str(bio, NULL);
	else
		ssl_log("tls-alpn-01: PEM_write_bio_X509");
out:
	BIO_free(bio);
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return pem;
}

/* Certificates */

static int
asn1_time_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* Returns gn as SANs are compared (DNS lower case, IP as text); NULL: skip. */
static char *
san_text(const GENERAL_NAME *gn)
{
	const unsigned char *d;
	char		*s, buf[INET6_ADDRSTRLEN];
	int		 i, len;

	if (gn->type == GEN_DNS) {
		d = ASN1_STRING_get0_data(gn->d.dNSName);
		len = ASN1_STRING_length(gn->d.dNSName);
		/* an embedded NUL would truncate the name: skip it */
		if (len <= 0 || memchr(d, '\0', (size_t)len) != NULL)
			return NULL;
		s = xstrndup((const char *)d, (size_t)len);
		for (i = 0; i < len; i++)
			s[i] = (char)tolower((unsigned char)s[i]);
		return s;
	}
	if (gn->type == GEN_IPADD) {
		d = ASN1_STRING_get0_data(gn->d.iPAddress);
		len = ASN1_STRING_length(gn->d.iPAddress);
		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET :
		    AF_INET6, d, buf, sizeof(buf)) == NULL)
			return NULL;
		return xstrdup(buf);
	}
	return NULL;
}

/* Collects DNS and IP SANs into out; skips other kinds. */
static void
cert_sans(X509 *x, struct crypto_cert_info *out)
{
	GENERAL_NAMES	*gens;
	char		*s;
	int		 i;

	/* no SAN extension: nothing to collect */
	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) ==
	    NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if ((s = san_text(sk_GENERAL_NAME_value(gens, i))) == NULL)
			continue;
		out->sans = xreallocarray(out->sans, out->nsans + 1,
		    sizeof(*out->sans));
		out->sans[out->nsans++] = s;
	}
	GENERAL_NAMES_free(gens);
}

static char	*serial_hex(const ASN1_INTEGER *);

static char *
cert_serial(X509 *x)
{
	return serial_hex(X509_get0_serialNumber(x));
}

/* An INTEGER as crypto_cert_info's serial: lower-case hex, no leading zeros. */
static char *
serial_hex(const ASN1_INTEGER *ai)
{
	BIGNUM		*bn;
	char		*hex, *s, *p, *q;

	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL)
		return NULL;
	/* BN_bn2hex: upper case, whole bytes ("01"), "-" if negative */
	hex = BN_bn2hex(bn);
	s = xstrdup(hex);
	p = q = s + (s[0] == '-');
	while (p[0] == '0' && p[1] != '\0')
		p++;
	memmove(q, p, strlen(p) + 1);
	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

/*
 * The RFC 9773 certID, or NULL if x has no Authority Key Identifier with a
 * keyIdentifier (ARI cannot name such a certificate).
 */
static char *
cert_ari_id(X509 *x)
{
	const ASN1_OCTET_STRING	*kid = X509_get0_authority_key_id(x);
	unsigned char		*der = NULL;
	const unsigned char	*p;
	char			*a = NULL, *b = NULL, *id = NULL;
	long			 len;
	int			 n, tag, class;

	if (kid == NULL || ASN1_STRING_length(kid) <= 0)
		goto out;
	/* the serial's DER content octets: the INTEGER without tag and length */
	if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der)) <= 0)
		goto out;
	p = der;
	if (ASN1_get_object(&p, &len, &tag, &class, n) & 0x80 || len <= 0)
		goto out;
	a = b64url_encode(ASN1_STRING_get0_data(kid), ASN1_STRING_length(kid));
	b = b64url_encode(p, (size_t)len);
	id = xasprintf("%s.%s", a, b);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	free(a);
	free(b);
	return id;
}

static char *
cert_issuer(X509 *x)
{
	BIO		*bio;
	char		*s = NULL;

	bio = BIO_new(BIO_s_mem());
	if (X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0,
	    XN_FLAG_RFC2253) >= 0)
		s = bio_to_str(bio, NULL);
	BIO_free(bio);
	return s;
}

struct crypto_cert *
crypto_cert_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
	struct crypto_cert *cert;
	BIO		*bio;
	X509		*x = NULL;

	if ((bio = mem_bio(pem, len)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if (x == NULL) {
		ssl_errbuf(err, errlen, "certificate: PEM_read_bio_X509");
		return NULL;
	}
	cert = xcalloc(1, sizeof(*cert));
	cert->x = x;
	return cert;
}

/*
 * Steps into the DER SEQUENCE at *p (of *left bytes): *p and *left then
 * cover its contents. Returns 0, or -1 if it is no SEQUENCE.
 */
static int
der_enter(const unsigned char **p, long *left)
{
	const unsigned char *q = *p;
	long		 len;
	int		 tag, cls;

	if ((ASN1_get_object(&q, &len, &tag, &cls, *left) & 0x80) != 0 ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL)
		return -1;
	*left = len;
	*p = q;
	return 0;
}

char *
crypto_pem_der_b64url(const char *pem, size_t len)
{
	unsigned char	*der = NULL;
	char		*name = NULL, *s = NULL;
	BIO		*bio;
	long		 n;

	if ((bio = mem_bio(pem, len)) == NULL)
		return NULL;
	if (PEM_bytes_read_bio(&der, &n, &name, PEM_STRING_X509, bio,
	    no_passphrase, NULL) == 1 && n > 0)
		s = b64url_encode(der, (size_t)n);
	ERR_clear_error();
	OPENSSL_free(der);
	OPENSSL_free(name);
	BIO_free(bio);
	return s;
}

int
crypto_pem_serial(const char *pem, size_t len, char *out, size_t outlen)
{
	const unsigned char *p, *start;
	unsigned char	*der = NULL;
	char		*name = NULL, *hex = NULL;
	ASN1_INTEGER	*ai = NULL;
	BIO		*bio;
	long		 left, n, l;
	int		 tag, cls, rc = -1;

	if ((bio = mem_bio(pem, len)) == NULL)
		return -1;
	/* the DER only: X509 parsing would decode the public key too */
	if (PEM_bytes_read_bio(&der, &n, &name, PEM_STRING_X509, bio,
	    no_passphrase, NULL) != 1)
		goto out;
	p = der;
	left = n;
	if (der_enter(&p, &left) == -1 || der_enter(&p, &left) == -1)
		goto out;
	/* [0] EXPLICIT version, when it is there */
	start = p;
	if ((ASN1_get_object(&p, &l, &tag, &cls, left) & 0x80) != 0)
		goto out;
	if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
		p += l;
		left -= (long)(p - start);
	} else
		p = start;
	if ((ai = d2i_ASN1_INTEGER(NULL, &p, left)) != NULL &&
	    (hex = serial_hex(ai)) != NULL &&
	    snprintf(out, outlen, "%s", hex) < (int)outlen)
		rc = 0;
out:
	ERR_clear_error();
	free(hex);
	ASN1_INTEGER_free(ai);
	OPENSSL_free(der);
	OPENSSL_free(name);
	BIO_free(bio);
	return rc;
}

void
crypto_cert_free(struct crypto_cert *cert)
{
	if (cert == NULL)
		return;
	X509_free(cert->x);
	free(cert);
}

int
crypto_cert_get_info(const struct crypto_cert *cert,
    struct crypto_cert_info *out, char *err, size_t errlen)
{
	X509		*x;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	if (cert == NULL || (x = cert->x) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "certificate: none given");
		goto out;
	}
	if (asn1_time_to_time(X509_get0_notBefore(x), &out->not_before) ||
	    asn1_time_to_time(X509_get0_notAfter(x), &out->not_after)) {
		ssl_errbuf(err, errlen, "certificate: validity");
		goto out;
	}
	cert_sans(x, out);
	if ((out->serial = cert_serial(x)) == NULL) {
		ssl_errbuf(err, errlen, "certificate: serial number");
		goto out;
	}
	if ((out->issuer = cert_issuer(x)) == NULL) {
		ssl_errbuf(err, errlen, "certificate: issuer name");
		goto out;
	}
	out->ari_id = cert_ari_id(x);
	rc = 0;
out:
	if (rc == -1)
		crypto_cert_info_clear(out);
	return rc;
}

void
crypto_cert_info_clear(struct crypto_cert_info *info)
{
	size_t		 i;

	if (info == NULL)
		return;
	for (i = 0; i < info->nsans; i++)
		free(info->sans[i]);
	free(info->sans);
	free(info->serial);
	free(info->issuer);
	free(info->ari_id);
	memset(info, 0, sizeof(*info));
}

int
crypto_cert_has_key(const struct crypto_cert *cert,
    const struct crypto_key *key)
{
	EVP_PKEY	*pub;
	int		 match = 0;

	if (cert == NULL || key == NULL)
		return 0;
	if ((pub = X509_get0_pubkey(cert->x)) != NULL)
		match = EVP_PKEY_eq(pub, key->pkey) == 1;
	ERR_clear_error();
	return match;
}

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/* Returns the end of the line holding the marker at p, past its newline. */
static const char *
line_end(const char *p, const char *end)
{
	const char	*nl;

	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return end;
	return nl + 1;
}

/*
 * Returns a malloc'd copy of the chain after the leaf that ends at e: up to
 * the end of the last END line, or "".
 */
static char *
chain_after(const char *e, const char *end)
{
	const char	*cb, *ce = NULL, *p;

	cb = memmem(e, (size_t)(end - e), pem_begin, sizeof(pem_begin) - 1);
	for (p = cb; p != NULL; p += sizeof(pem_end) - 1) {
		if ((p = memmem(p, (size_t)(end - p), pem_end,
		    sizeof(pem_end) - 1)) == NULL)
			break;
		ce = p;
	}
	if (cb == NULL || ce == NULL)
		return xstrdup("");
	ce = line_end(ce, end);
	return xstrndup(cb, (size_t)(ce - cb));
}

int
crypto_chain_split(const char *pem, size_t len, char **leaf, char **chain,
    struct crypto_cert **certp)
{
	struct crypto_cert *cert;
	const char	*end = pem + len, *b, *e;

	*leaf = *chain = NULL;
	if (certp != NULL)
		*certp = NULL;
	if (pem == NULL ||
	    (b = memmem(pem, len, pem_begin, sizeof(pem_begin) - 1)) == NULL ||
	    (e = memmem(b, (size_t)(end - b), pem_end,
	    sizeof(pem_end) - 1)) == NULL)
		return -1;
	e = line_end(e, end);
	/* the leaf must really be a certificate, not just look like one */
	if ((cert = crypto_cert_from_pem(b, (size_t)(e - b), NULL, 0)) == NULL)
		return -1;
	*leaf = xstrndup(b, (size_t)(e - b));
	*chain = chain_after(e, end);
	if (certp != NULL)
		*certp = cert;
	else
		crypto_cert_free(cert);
	return 0;
}

/* Returns 1 if one SAN covers name. */
static int
san_covers(const char *san, const char *name)
{
	unsigned char	 a[16], b[16];
	const char	*dot;
	int		 alen, blen;

	if ((blen = ip_bytes(name, b)) > 0) {
		/* compare addresses, not spellings: "::1" == "0::1" */
		alen = ip_bytes(san, a);
		return alen == blen && memcmp(a, b, (size_t)alen) == 0;
	}
	if (strcasecmp(san, name) == 0)
		return 1;
	/* "*.example.com" covers exactly one extra leftmost label */
	if (san[0] == '*' && san[1] == '.' && name[0] != '*' &&
	    (dot = strchr(name, '.')) != NULL && dot != name &&
	    strcasecmp(dot + 1, san + 2) == 0)
		return 1;
	return 0;
}

int
crypto_cert_covers(const struct crypto_cert_info *info, char *const *domains,
    size_t n)
{
	size_t		 i, j;

	if (info == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < info->nsans; j++)
			if (san_covers(info->sans[j], domains[i]))
				break;
		if (j == info->nsans)
			return 0;
	}
	return 1;
}

/* Returns 1 if a SAN and a name are the same identifier (not a match). */
static int
san_equal(const char *san, const char *name)
{
	unsigned char	 a[16], b[16];
	int		 alen, blen;

	if ((blen = ip_bytes(name, b)) > 0) {
		alen = ip_bytes(san, a);
		return alen == blen && memcmp(a, b, (size_t)alen) == 0;
	}
	return strcasecmp(san, name) == 0;
}

int
crypto_cert_names_exact(const struct crypto_cert_info *info,
    char *const *domains, size_t n)
{
	size_t		 i, j;

	if (info == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < info->nsans; j++)
			if (san_equal(info->sans[j], domains[i]))
				break;
		if (j == info->nsans)
			return 0;
	}
	for (j = 0; j < info->nsans; j++) {
		for (i = 0; i < n; i++)
			if (san_equal(info->sans[j], domains[i]))
				break;
		if (i == n)
			return 0;
	}
	return 1;
}

/* Returns p past spaces, tabs, CRs and newlines. */
static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Returns the certificate in pem[0..len), or NULL; the error queue emptied. */
static X509 *
cert_parse(const char *pem, size_t len)
{
	BIO		*bio;
	X509		*x = NULL;

	if ((bio = mem_bio(pem, len)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return x;
}

/*
 * Parses PEM certificate blocks into a new stack of at most max. With
 * strict, only whitespace may come between blocks (RFC 8555 section 9.1);
 * otherwise other text is skipped (comments in a file of roots). Returns
 * the stack, or NULL with why in err; what names the text ("chain").
 */
/*
 * Block n of a chain: the caller's parsed leaf for block 1, the cached
 * issuer when block 2 is the same text as last time, else a fresh parse
 * (which block 2 then leaves in the cache). NULL if it does not parse.
 */
static X509 *
chain_cert(const char *b, size_t blen, size_t n, X509 *first,
    struct crypto_chain_cache *cache)
{
	X509	*x;

	if (n == 1 && first != NULL) {
		X509_up_ref(first);
		return first;
	}
	if (n == 2 && cache != NULL && cache->x != NULL && cache->len == blen &&
	    memcmp(cache->block, b, blen) == 0) {
		X509_up_ref(cache->x);
		return cache->x;
	}
	if ((x = cert_parse(b, blen)) != NULL && n == 2 && cache != NULL) {
		X509_free(cache->x);
		free(cache->block);
		cache->block = xmalloc(blen);
		memcpy(cache->block, b, blen);
		cache->len = blen;
		X509_up_ref(x);
		cache->x = x;
	}
	return x;
}

static STACK_OF(X509) *
pem_certs(const char *pem, size_t len, size_t max, int strict,
    const char *what, X509 *first, struct crypto_chain_cache *cache,
    char *err, size_t errlen)
{
	STACK_OF(X509)	*sk = sk_X509_new_null();
	const char	*p = pem, *end = pem + len, *b, *e = NULL;
	X509		*x;
	size_t		 n = 0;

	while ((p = skip_space(p, end)) < end) {
		b = memmem(p, (size_t)(end - p), pem_begin, sizeof(pem_begin) - 1);
		if (b == NULL && !strict)
			break;
		if (b == NULL || (strict && b != p) || (e = memmem(b,
		    (size_t)(end - b), pem_end, sizeof(pem_end) - 1)) == NULL) {
			snprintf(err, errlen, "%s: text that is no certificate "
			    "block after certificate %zu", what, n);
			goto fail;
		}
		e = line_end(e, end);
		if (++n > max) {
			snprintf(err, errlen, "%s: more than %zu certificates",
			    what, max);
			goto fail;
		}
		if ((x = chain_cert(b, (size_t)(e - b), n, first, cache)) == NULL) {
			snprintf(err, errlen, "%s: block %zu is no certificate",
			    what, n);
			goto fail;
		}
		sk_X509_push(sk, x);
		p = e;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no certificate", what);
		goto fail;
	}
	return sk;
fail:
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

/* Returns 1 if issuer's name and key identifier match x's and its key signed x. */
static int
signed_by(X509 *x, X509 *issuer)
{
	int		 ok;

	ok = X509_check_issued(issuer, x) == X509_V_OK &&
	    X509_verify(x, X509_get0_pubkey(issuer)) == 1;
	ERR_clear_error();
	return ok;
}

/* The checks that need no trust anchor. Returns 0, or -1 with err. */
static int
chain_links(STACK_OF(X509) *sk, time_t now, char *err, size_t errlen)
{
	X509		*leaf = sk_X509_value(sk, 0);
	time_t		 later = now + CRYPTO_CHAIN_SKEW;
	int		 i;

	if (signed_by(leaf, leaf)) {
		snprintf(err, errlen, "the leaf is self-signed");
		return -1;
	}
	if (X509_cmp_time(X509_get0_notBefore(leaf), &later) > 0) {
		snprintf(err, errlen, "the leaf is not valid yet");
		return -1;
	}
	if (X509_cmp_time(X509_get0_notAfter(leaf), &now) < 0) {
		snprintf(err, errlen, "the leaf has expired");
		return -1;
	}
	if (sk_X509_num(sk) < 2) {
		snprintf(err, errlen, "no chain: the leaf's issuer is missing");
		return -1;
	}
	for (i = 0; i + 1 < sk_X509_num(sk); i++)
		if (!signed_by(sk_X509_value(sk, i), sk_X509_value(sk, i + 1))) {
			snprintf(err, errlen, "certificate %d of the chain is "
			    "not signed by certificate %d", i + 1, i + 2);
			return -1;
		}
	return 0;
}

/* Verifies sk (leaf first) to one of roots at now. Returns 0, or -1 with err. */
static int
chain_verify(STACK_OF(X509) *sk, STACK_OF(X509) *roots, time_t now,
    char *err, size_t errlen)
{
	X509_STORE	*store = X509_STORE_new();
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	int		 i, rc = -1;

	for (i = 0; i < sk_X509_num(roots); i++)
		X509_STORE_add_cert(store, sk_X509_value(roots, i));
	if (store == NULL || ctx == NULL ||
	    !X509_STORE_CTX_init(ctx, store, sk_X509_value(sk, 0), sk)) {
		ssl_errbuf(err, errlen, "X509_STORE_CTX_init");
		goto out;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "the chain does not verify to "
		    "issuer_roots: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int
crypto_chain_check(const char *pem, size_t len, const struct crypto_cert *leaf,
    struct crypto_chain_cache *cache, const char *roots_pem, size_t roots_len,
    time_t now, char *err, size_t errlen)
{
	STACK_OF(X509)	*sk = NULL, *roots = NULL;
	int		 rc = -1;

	if (pem == NULL || len > CRYPTO_CHAIN_MAX_BYTES) {
		snprintf(err, errlen, "chain: %zu bytes, more than %d", len,
		    CRYPTO_CHAIN_MAX_BYTES);
		goto out;
	}
	if ((sk = pem_certs(pem, len, CRYPTO_CHAIN_MAX_CERTS, 1, "chain",
	    leaf != NULL ? leaf->x : NULL, cache, err, errlen)) == NULL || chain_links(sk, now, err, errlen) == -1)
		goto out;
	if (roots_pem != NULL && ((roots = pem_certs(roots_pem, roots_len,
	    SIZE_MAX, 0, "issuer_roots", NULL, NULL, err, errlen)) == NULL ||
	    chain_verify(sk, roots, now, err, errlen) == -1))
		goto out;
	rc = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	sk_X509_pop_free(roots, X509_free);
	return rc;
}

char *
crypto_chain_top_issuer(const char *pem, size_t len)
{
	STACK_OF(X509)	*sk;
	X509_NAME	*iss;
	char		*cn = NULL, buf[256];
	char		 err[128];
	int		 n;

	if ((sk = pem_certs(pem, len, CRYPTO_CHAIN_MAX_CERTS, 0, "chain", NULL,
	    NULL, err, sizeof(err))) == NULL)
		return NULL;
	iss = X509_get_issuer_name(sk_X509_value(sk, sk_X509_num(sk) - 1));
	/* a CN with a NUL in it names nothing we could compare with */
	if ((n = X509_NAME_get_text_by_NID(iss, NID_commonName, buf,
	    sizeof(buf))) > 0 && (size_t)n == strlen(buf))
		cn = xstrdup(buf);
	ERR_clear_error();
	sk_X509_pop_free(sk, X509_free);
	return cn;
}

int
crypto_certs_check(const char *pem, size_t len, const char *what, char *err,
    size_t errlen)
{
	STACK_OF(X509)	*sk;

	if ((sk = pem_certs(pem, len, SIZE_MAX, 0, what, NULL, NULL,
	    err, errlen)) == NULL)
		return -1;
	sk_X509_pop_free(sk, X509_free);
	return 0;
}

int
crypto_roots_check(const char *pem, size_t len, char *err, size_t errlen)
{
	return crypto_certs_check(pem, len, "issuer_roots", err, errlen);
}

struct crypto_chain_cache *
crypto_chain_cache_new(void)
{
	return xcalloc(1, sizeof(struct crypto_chain_cache));
}

void
crypto_chain_cache_free(struct crypto_chain_cache *c)
{
	if (c == NULL)
		return;
	X509_free(c->x);
	free(c->block);
	free(c);
}
