/* The factory: a test manufacturer CA and the devices it makes (P-256 IDevID certificates
 * whose subject CN is the registration id, or keys derived from the enrollment's group key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "sim.h"

struct sim_ca {
    EVP_PKEY *key;
    X509 *cert;
};

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for cn and pub, signed by signer (issuer NULL: self-signed). */
static X509 *make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *signer, bool ca)
{
    X509 *x = X509_new();
    uint8_t serial[16];
    if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    if (!ai || !X509_set_serialNumber(x, ai)) {
        ASN1_INTEGER_free(ai);
        goto fail;
    }
    ASN1_INTEGER_free(ai);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"iotsec-sim", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    bool ok = X509_set_version(x, 2) && X509_set_subject_name(x, name) &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
              X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) && X509_set_pubkey(x, pub);
    X509_NAME_free(name);
    if (!ok)
        goto fail;
    X509 *iss = issuer ? issuer : x;
    if (ca) {
        if (add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") ||
            add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") ||
            add_ext(x, iss, NID_subject_key_identifier, "hash"))
            goto fail;
    } else if (add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") ||
               add_ext(x, iss, NID_key_usage, "critical,digitalSignature") ||
               add_ext(x, iss, NID_ext_key_usage, "clientAuth") ||
               add_ext(x, iss, NID_authority_key_identifier, "keyid")) {
        goto fail;
    }
    if (!X509_sign(x, signer, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

int sim_ca_new(const char *cn, struct sim_ca **out)
{
    struct sim_ca *ca = calloc(1, sizeof(*ca));
    *out = NULL;
    if (!ca)
        return IOTSEC_ERR_NOMEM;
    ca->key = EVP_EC_gen("P-256");
    ca->cert = ca->key ? make_cert(cn, ca->key, NULL, ca->key, true) : NULL;
    if (!ca->cert) {
        sim_ca_free(ca);
        return IOTSEC_ERR_CRYPTO;
    }
    *out = ca;
    return IOTSEC_OK;
}

void sim_ca_free(struct sim_ca *ca)
{
    if (!ca)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

static char *bio_string(BIO *b, size_t *len)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return s;
}

char *sim_ca_pem(const struct sim_ca *ca)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = b && PEM_write_bio_X509(b, ca->cert) ? bio_string(b, NULL) : NULL;
    BIO_free(b);
    return s;
}

int sim_make_cert(const struct sim_ca *ca, const char *cn, struct sim_device *d)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? make_cert(cn, key, ca->cert, ca->key, false) : NULL;
    BIO *bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_mem());
    int rc = IOTSEC_ERR_CRYPTO;
    if (x && bc && bk && PEM_write_bio_X509(bc, x) &&
        PEM_write_bio_PrivateKey(bk, key, NULL, NULL, 0, NULL, NULL)) {
        d->cert_pem = bio_string(bc, &d->cert_pem_len);
        d->key_pem = bio_string(bk, &d->key_pem_len);
        int der_len = i2d_X509(x, NULL);
        d->cert_der = der_len > 0 ? malloc((size_t)der_len) : NULL;
        if (d->cert_der) {
            unsigned char *p = d->cert_der;
            d->cert_der_len = (size_t)i2d_X509(x, &p);
        }
        if (d->cert_pem && d->key_pem && d->cert_der) {
            d->pkey = key;
            d->x509 = x;
            key = NULL;
            x = NULL;
            rc = IOTSEC_OK;
        }
    }
    BIO_free(bc);
    BIO_free(bk); /* BIO_free does not wipe: a test key, never a production one */
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

void sim_device_free(struct sim_device *d)
{
    free(d->cert_pem);
    if (d->key_pem) {
        OPENSSL_cleanse(d->key_pem, d->key_pem_len);
        free(d->key_pem);
    }
    free(d->cert_der);
    EVP_PKEY_free(d->pkey);
    X509_free(d->x509);
    cred_close(d->store);
    OPENSSL_cleanse(d->device_key, sizeof(d->device_key));
    memset(d, 0, sizeof(*d));
}

int sim_device_sign(void *user, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_max,
                    size_t *sig_len)
{
    struct sim_device *d = user;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = sig_max;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, d->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &n, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    *sig_len = ok ? n : 0;
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int sim_manufacture(const struct sim_setup *s, uint32_t i, bool derived, bool via_gateway,
                    struct sim_device *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->reg_id, sizeof(d->reg_id), "%s-dev-%06u", s->name, i);
    d->derived = derived;
    d->via_gateway = via_gateway;
    int rc = derived ? prov_device_key(s->group_key, s->group_key_len, d->reg_id, strlen(d->reg_id),
                                       d->device_key)
                     : sim_make_cert(s->ca, d->reg_id, d);
    if (rc == IOTSEC_OK)
        rc = sim_memstore_new(&d->store);
    return rc;
}
