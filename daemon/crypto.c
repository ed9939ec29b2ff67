/* crypto.c - keys, CSRs, certificates and base64url; OpenSSL stays here */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "log.h"

struct crypto_key {
	EVP_PKEY	*pkey;
};

struct crypto_cert {
	X509		*x;
};

void
crypto_log_ssl(const char *module, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e == 0)
		log_err("%s: %s failed", module, what);
	else {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_err("%s: %s failed: %s", module, what, buf);
	}
	ERR_clear_error();
}

static void
ssl_log(const char *what)
{
	crypto_log_ssl("crypto", what);
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
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
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

static struct crypto_key *
key_wrap(EVP_PKEY *pkey)
{
	struct crypto_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	return k;
}

struct crypto_key *
crypto_key_generate(enum key_type type)
{
	EVP_PKEY	*pkey = NULL;

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
	if (pkey == NULL) {
		ssl_log("EVP_PKEY_Q_keygen");
		return NULL;
	}
	return key_wrap(pkey);
}

struct crypto_key *
crypto_key_from_pem(const char *pem, size_t len)
{
	BIO		*bio;
	EVP_PKEY	*pkey;

	if ((bio = mem_bio(pem, len)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ssl_log("PEM_read_bio_PrivateKey");
		return NULL;
	}
	return key_wrap(pkey);
}

struct crypto_key *
crypto_key_from_public_pem(const char *pem, size_t len)
{
	BIO		*bio;
	EVP_PKEY	*pkey;

	if ((bio = mem_bio(pem, len)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ssl_log("PEM_read_bio_PUBKEY");
		return NULL;
	}
	return key_wrap(pkey);
}

struct evp_pkey_st *
crypto_key_evp(const struct crypto_key *key)
{
	return key == NULL ? NULL : key->pkey;
}

/* Returns the NID of an EC key's named curve, or NID_undef. */
static int
ec_curve_nid(EVP_PKEY *pkey)
{
	char		 group[64];
	int		 nid;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL)) {
		ERR_clear_error();
		return NID_undef;
	}
	/* providers report "prime256v1"; accept the NIST names too */
	if ((nid = EC_curve_nist2nid(group)) == NID_undef)
		nid = OBJ_sn2nid(group);
	return nid;
}

/*
 * Returns the NID of the curve of an EC key of a type renewd makes, if the
 * key is encoded the default way (named curve, public key included) that
 * the shortcuts below reproduce; else NID_undef, for the generic path.
 */
static int
ec_plain_nid(EVP_PKEY *pkey)
{
	char		 enc[32];
	int		 nid, incl = 1;

	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "EC"))
		return NID_undef;
	nid = ec_curve_nid(pkey);
	if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
		return NID_undef;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING,
	    enc, sizeof(enc), NULL) &&
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
		nid = NID_undef;
	if (EVP_PKEY_get_int_param(pkey, OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC,
	    &incl) && incl == 0)
		nid = NID_undef;
	ERR_clear_error();
	return nid;
}

/* Writes a DER tag and length at p; returns how many bytes that took. */
static size_t
der_hdr(unsigned char *p, unsigned char tag, size_t len)
{
	p[0] = tag;
	if (len < 0x80) {
		p[1] = (unsigned char)len;
		return 2;
	}
	if (len < 0x100) {
		p[1] = 0x81;
		p[2] = (unsigned char)len;
		return 3;
	}
	p[1] = 0x82;
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return 4;
}

/* Returns how many bytes der_hdr takes for len. */
static size_t
der_hdr_len(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
}

/*
 * Returns a malloc'd DER RFC 5915 ECPrivateKey without parameters and with
 * the public key, as OpenSSL puts it inside PKCS#8; NULL on failure.
 */
static unsigned char *
ec_private_der(EVP_PKEY *pkey, size_t *outlen)
{
	BIGNUM		*priv = NULL;
	unsigned char	 pub[1 + 2 * 66];
	unsigned char	*der = NULL, *p;
	size_t		 publen = 0, privlen, bitlen, ctxlen, bodylen, len;
	int		 ok = 0;

	privlen = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	if (privlen == 0 || privlen > 66 ||
	    !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, sizeof(pub), &publen) || publen == 0 ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv))
		goto out;
	/* SEQUENCE { INTEGER 1, OCTET STRING d, [1] { BIT STRING Q } } */
	bitlen = 1 + publen;
	ctxlen = der_hdr_len(bitlen) + bitlen;
	bodylen = 3 + der_hdr_len(privlen) + privlen + der_hdr_len(ctxlen) +
	    ctxlen;
	len = der_hdr_len(bodylen) + bodylen;
	if ((der = OPENSSL_malloc(len)) == NULL)
		goto out;
	p = der;
	p += der_hdr(p, 0x30, bodylen);
	*p++ = 0x02;
	*p++ = 0x01;
	*p++ = 0x01;
	p += der_hdr(p, 0x04, privlen);
	if (BN_bn2binpad(priv, p, (int)privlen) != (int)privlen)
		goto out;
	p += privlen;
	p += der_hdr(p, 0xa1, ctxlen);
	p += der_hdr(p, 0x03, bitlen);
	*p++ = 0x00;	/* no unused bits */
	memcpy(p, pub, publen);
	p += publen;
	*outlen = len;
	ok = p == der + len;
 out:
	if (!ok) {
		OPENSSL_clear_free(der, der == NULL ? 0 : len);
		der = NULL;
		ERR_clear_error();
	}
	BN_clear_free(priv);
	return der;
}

/*
 * PKCS#8 for the EC keys renewd makes without OpenSSL 3.0's encoder, which
 * costs ~0.8 M instructions a call. Returns 1 if it wrote, 0 to take the
 * generic path.
 */
static int
ec_write_pkcs8(BIO *bio, EVP_PKEY *pkey)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char	*der = NULL;
	size_t		 derlen = 0;
	int		 nid, ok = 0;

	if ((nid = ec_plain_nid(pkey)) == NID_undef ||
	    (der = ec_private_der(pkey, &derlen)) == NULL)
		goto out;
	if ((p8 = PKCS8_PRIV_KEY_INFO_new()) == NULL)
		goto out;
	if (!PKCS8_pkey_set0(p8, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), 0,
	    V_ASN1_OBJECT, OBJ_nid2obj(nid), der, (int)derlen))
		goto out;
	der = NULL;	/* p8 owns it and cleanses it when freed */
	ok = PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio, p8) == 1;
 out:
	OPENSSL_clear_free(der, derlen);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!ok) {
		ERR_clear_error();
		(void)BIO_reset(bio);
	}
	return ok;
}

char *
crypto_key_to_pem(const struct crypto_key *key, size_t *len)
{
	BIO		*bio = NULL;
	char		*s = NULL;

	if (key == NULL)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		ssl_log("BIO_new");
		goto out;
	}
	/* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"). */
	if (!ec_write_pkcs8(bio, key->pkey) &&
	    !PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL,
	    NULL)) {
		ssl_log("PEM_write_bio_PrivateKey");
		goto out;
	}
	s = bio_to_str(bio, len);
 out:
	/* a memory BIO's buffer is freed with OPENSSL_clear_free */
	BIO_free(bio);
	return s;
}

int
crypto_key_type(const struct crypto_key *key)
{
	int		 nid, bits;

	if (key == NULL || key->pkey == NULL)
		return -1;
	if (EVP_PKEY_is_a(key->pkey, "EC")) {
		nid = ec_curve_nid(key->pkey);
		if (nid == NID_X9_62_prime256v1)
			return KEY_EC_P256;
		if (nid == NID_secp384r1)
			return KEY_EC_P384;
		return -1;
	}
	/* RSA-PSS keys are deliberately not "RSA": JWS RS256 needs v1.5 */
	if (EVP_PKEY_is_a(key->pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(key->pkey);
		if (bits == 2048)
			return KEY_RSA_2048;
		if (bits == 3072)
			return KEY_RSA_3072;
		if (bits == 4096)
			return KEY_RSA_4096;
	}
	return -1;
}

void
crypto_key_free(struct crypto_key *key)
{
	if (key == NULL)
		return;
	/* EVP_PKEY_free clears the private components it owns */
	EVP_PKEY_free(key->pkey);
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
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

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	if ((s = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	o = s;
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

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict on the alphabet (no '=', '+', '/', whitespace), lenient on unused
 * trailing bits, as most JOSE implementations are.
 */
unsigned char *
b64url_decode(const char *s, size_t *outlen)
{
	unsigned char	*out = NULL, *o;
	size_t		 len, i;
	unsigned long	 v = 0;
	int		 d, nbits = 0;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	/* one leftover character carries only 6 bits: never valid */
	if (len % 4 == 1)
		return NULL;
	if ((out = malloc(len / 4 * 3 + 3)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i < len; i++) {
		if ((d = b64url_value((unsigned char)s[i])) < 0) {
			free(out);
			return NULL;
		}
		v = (v << 6 | (unsigned long)d) & 0xffffff;
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

/* CSR */

/* Parses s as an IPv4 or IPv6 address; returns the byte length, or 0. */
static int
parse_ip(const char *s, unsigned char buf[16])
{
	if (inet_pton(AF_INET, s, buf) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return 16;
	return 0;
}

/* Appends one SAN to gens: iPAddress if name is an address, else dNSName. */
static int
san_add(GENERAL_NAMES *gens, const char *name)
{
	GENERAL_NAME	*gn = NULL;
	ASN1_STRING	*str = NULL;
	unsigned char	 ip[16];
	int		 iplen, rc = -1;

	if ((gn = GENERAL_NAME_new()) == NULL)
		goto out;
	if ((iplen = parse_ip(name, ip)) > 0) {
		if ((str = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(str, ip, iplen))
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_IPADD, str);
	} else {
		if ((str = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(str, name, -1))
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_DNS, str);
	}
	str = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto out;
	gn = NULL;
	rc = 0;
 out:
	ASN1_STRING_free(str);
	GENERAL_NAME_free(gn);
	return rc;
}

/*
 * Sets the SubjectPublicKeyInfo of an EC key renewd makes directly:
 * X509_REQ_set_pubkey goes through OpenSSL 3.0's encoder and decoder
 * (~2 M instructions). Returns 0, or -1 to take the generic path.
 */
static int
csr_set_ec_pubkey(X509_REQ *req, EVP_PKEY *pkey)
{
	unsigned char	 buf[1 + 2 * 66], *pub = NULL;
	size_t		 publen = 0;
	int		 nid, rc = -1;

	/* "pub" follows the key's point format, as the encoder does */
	if ((nid = ec_plain_nid(pkey)) == NID_undef ||
	    !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    buf, sizeof(buf), &publen) || publen == 0 ||
	    (pub = OPENSSL_memdup(buf, publen)) == NULL)
		goto out;
	if (!X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req),
	    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	    OBJ_nid2obj(nid), pub, (int)publen))
		goto out;
	pub = NULL;	/* the X509_PUBKEY owns it */
	rc = 0;
 out:
	if (rc == -1)
		ERR_clear_error();
	OPENSSL_free(pub);
	return rc;
}

char *
crypto_csr(const struct crypto_key *key, char *const *domains, size_t n)
{
	X509_REQ	*req = NULL;
	X509_NAME	*subj = NULL;
	GENERAL_NAMES	*gens = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	unsigned char	*der = NULL, ip[16];
	char		*s = NULL;
	size_t		 i;
	int		 derlen;

	if (key == NULL || domains == NULL || n == 0) {
		log_err("crypto: CSR: no key or no domains");
		goto out;
	}
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0)) {
		ssl_log("CSR: X509_REQ_new");
		goto out;
	}
	if ((subj = X509_NAME_new()) == NULL) {
		ssl_log("CSR: X509_NAME_new");
		goto out;
	}
	/*
	 * The CN is optional and capped at 64 characters (RFC 5280 ub-common-
	 * name); CAs read the SANs. An IP address has no business in a CN.
	 */
	if (strlen(domains[0]) <= 64 && parse_ip(domains[0], ip) == 0 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)domains[0], -1, -1, 0)) {
		ssl_log("CSR: X509_NAME_add_entry_by_txt");
		goto out;
	}
	if (!X509_REQ_set_subject_name(req, subj)) {
		ssl_log("CSR: X509_REQ_set_subject_name");
		goto out;
	}
	if (csr_set_ec_pubkey(req, key->pkey) == -1 &&
	    !X509_REQ_set_pubkey(req, key->pkey)) {
		ssl_log("CSR: X509_REQ_set_pubkey");
		goto out;
	}
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (san_add(gens, domains[i]) == -1) {
			ssl_log("CSR: subjectAltName");
			goto out;
		}
	}
	if (!X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) || !X509_REQ_add_extensions(req, exts)) {
		ssl_log("CSR: X509_REQ_add_extensions");
		goto out;
	}
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
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return s;
}

/* Certificates */

static X509 *
first_cert(const char *pem, size_t len)
{
	BIO		*bio;
	X509		*x;

	if ((bio = mem_bio(pem, len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return x;
}

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

static int
strv_push(char ***v, size_t *n, char *s)
{
	char		**nv;

	if ((nv = reallocarray(*v, *n + 1, sizeof(**v))) == NULL) {
		free(s);
		return -1;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	return 0;
}

/* Collects DNS (lower-cased) and IP SANs; skips other kinds. */
static int
cert_sans(X509 *x, struct crypto_cert_info *out)
{
	GENERAL_NAMES	*gens;
	const GENERAL_NAME *gn;
	const unsigned char *d;
	char		*s, buf[INET6_ADDRSTRLEN];
	int		 i, j, len, rc = -1;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return 0;	/* no SAN extension: nothing to collect */
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gn = sk_GENERAL_NAME_value(gens, i);
		if (gn->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(gn->d.dNSName);
			len = ASN1_STRING_length(gn->d.dNSName);
			/* an embedded NUL would truncate the name: skip it */
			if (len <= 0 || memchr(d, '\0', (size_t)len) != NULL)
				continue;
			if ((s = strndup((const char *)d, (size_t)len)) == NULL)
				goto out;
			for (j = 0; j < len; j++)
				s[j] = (char)tolower((unsigned char)s[j]);
		} else if (gn->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(gn->d.iPAddress);
			len = ASN1_STRING_length(gn->d.iPAddress);
			if ((len != 4 && len != 16) || inet_ntop(len == 4 ?
			    AF_INET : AF_INET6, d, buf, sizeof(buf)) == NULL)
				continue;
			if ((s = strdup(buf)) == NULL)
				goto out;
		} else
			continue;
		if (strv_push(&out->sans, &out->nsans, s) == -1)
			goto out;
	}
	rc = 0;
 out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static char *
cert_serial(X509 *x)
{
	BIGNUM		*bn;
	char		*hex = NULL, *s = NULL, *p, *q;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL)
		return NULL;
	/* BN_bn2hex: upper case, whole bytes ("01"), "-" if negative */
	if ((hex = BN_bn2hex(bn)) != NULL && (s = strdup(hex)) != NULL) {
		p = q = s + (s[0] == '-');
		while (p[0] == '0' && p[1] != '\0')
			p++;
		memmove(q, p, strlen(p) + 1);
		for (p = s; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

static char *
cert_issuer(X509 *x)
{
	BIO		*bio;
	char		*s = NULL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
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
	X509		*x;

	if ((x = first_cert(pem, len)) == NULL) {
		ssl_errbuf(err, errlen, "certificate: PEM_read_bio_X509");
		return NULL;
	}
	if ((cert = calloc(1, sizeof(*cert))) == NULL) {
		X509_free(x);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "certificate: out of memory");
		return NULL;
	}
	cert->x = x;
	return cert;
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
	if (cert_sans(x, out) == -1) {
		ssl_errbuf(err, errlen, "certificate: subjectAltName");
		goto out;
	}
	if ((out->serial = cert_serial(x)) == NULL) {
		ssl_errbuf(err, errlen, "certificate: serial number");
		goto out;
	}
	if ((out->issuer = cert_issuer(x)) == NULL) {
		ssl_errbuf(err, errlen, "certificate: issuer name");
		goto out;
	}
	rc = 0;
 out:
	if (rc == -1)
		crypto_cert_info_clear(out);
	return rc;
}

int
crypto_cert_parse(const char *pem, size_t len, struct crypto_cert_info *out,
    char *err, size_t errlen)
{
	struct crypto_cert *cert;
	int		 rc;

	if ((cert = crypto_cert_from_pem(pem, len, err, errlen)) == NULL) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	rc = crypto_cert_get_info(cert, out, err, errlen);
	crypto_cert_free(cert);
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

int
crypto_cert_matches_key(const char *pem, size_t len,
    const struct crypto_key *key)
{
	struct crypto_cert *cert;
	int		 match;

	if (key == NULL ||
	    (cert = crypto_cert_from_pem(pem, len, NULL, 0)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	match = crypto_cert_has_key(cert, key);
	crypto_cert_free(cert);
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

int
crypto_chain_split_cert(const char *pem, size_t len, char **leaf, char **chain,
    struct crypto_cert **cert)
{
	const char	*end = pem + len, *b, *e, *cb, *ce, *p;
	int		 rc = -1;

	*leaf = *chain = NULL;
	*cert = NULL;
	if (pem == NULL)
		goto out;
	if ((b = memmem(pem, len, pem_begin, sizeof(pem_begin) - 1)) == NULL ||
	    (e = memmem(b, (size_t)(end - b), pem_end,
	    sizeof(pem_end) - 1)) == NULL)
		goto out;
	e = line_end(e, end);
	/* the leaf must really be a certificate, not just look like one */
	if ((*cert = crypto_cert_from_pem(b, (size_t)(e - b), NULL, 0)) == NULL)
		goto out;
	cb = memmem(e, (size_t)(end - e), pem_begin, sizeof(pem_begin) - 1);
	ce = NULL;
	/* the chain runs to the end of the last END line */
	for (p = cb; p != NULL; p += sizeof(pem_end) - 1) {
		if ((p = memmem(p, (size_t)(end - p), pem_end,
		    sizeof(pem_end) - 1)) == NULL)
			break;
		ce = p;
	}
	if ((*leaf = strndup(b, (size_t)(e - b))) == NULL)
		goto out;
	if (cb != NULL && ce != NULL) {
		ce = line_end(ce, end);
		*chain = strndup(cb, (size_t)(ce - cb));
	} else
		*chain = strdup("");
	if (*chain == NULL)
		goto out;
	rc = 0;
 out:
	if (rc == -1) {
		free(*leaf);
		*leaf = NULL;
		crypto_cert_free(*cert);
		*cert = NULL;
	}
	return rc;
}

int
crypto_chain_split(const char *pem, size_t len, char **leaf, char **chain)
{
	struct crypto_cert *cert;
	int		 rc;

	rc = crypto_chain_split_cert(pem, len, leaf, chain, &cert);
	crypto_cert_free(cert);
	return rc;
}

/* Returns 1 if one SAN covers name. */
static int
san_covers(const char *san, const char *name)
{
	unsigned char	 a[16], b[16];
	const char	*dot;
	int		 alen, blen;

	if ((blen = parse_ip(name, b)) > 0) {
		/* compare addresses, not spellings: "::1" == "0::1" */
		alen = parse_ip(san, a);
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
