/* Factory certificates: which manufacturers' CAs a device certificate chains to, its names,
 * and signature checks with its key (the relayed proof). The device face accepts any
 * certificate in the TLS handshake; trust is decided here, against the CAs in the database. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "provision/prov_int.h"

/* The manufacturers' CAs, parsed once into one trust store each. Manufacturers are only ever
 * added, so the cache is current while the table's largest id is the one it was built at. */
#define CA_CACHE_MAX 256

struct ca_entry {
    int64_t id;
    unsigned long subject; /* X509_subject_name_hash of the CA */
    X509_STORE *store;
};

struct prov_ca_cache {
    pthread_rwlock_t lock;
    int64_t max_id;
    size_t n;
    struct ca_entry e[CA_CACHE_MAX];
};

struct prov_ca_cache *prov_ca_cache_new(void)
{
    struct prov_ca_cache *c = calloc(1, sizeof(*c));
    if (c)
        pthread_rwlock_init(&c->lock, NULL);
    return c;
}

static void drop(struct prov_ca_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        X509_STORE_free(c->e[i].store);
    c->n = 0;
    c->max_id = 0;
}

void prov_ca_cache_free(struct prov_ca_cache *c)
{
    if (c == NULL)
        return;
    drop(c);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

static int64_t max_id(struct store_conn *conn)
{
    struct store_stmt *st;
    int64_t id = -1;
    if (store_stmt(conn, "SELECT coalesce(MAX(id), 0) FROM prov_manufacturers", &st) == IOTSEC_OK) {
        if (store_step(st) == STORE_ROW)
            id = store_col_int64(st, 0);
        store_reset(st);
    }
    return id;
}

/* Rebuilds the cache under the write lock (another thread may have done it meanwhile). */
static int reload(struct prov_ca_cache *c, struct store_conn *conn, int64_t want)
{
    pthread_rwlock_wrlock(&c->lock);
    int rc = IOTSEC_OK;
    if (c->max_id != want) {
        drop(c);
        struct store_stmt *st;
        rc = store_stmt(conn, "SELECT id, ca_pem FROM prov_manufacturers ORDER BY id", &st);
        int s = STORE_DONE;
        while (rc == IOTSEC_OK && (s = store_step(st)) == STORE_ROW && c->n < CA_CACHE_MAX) {
            BIO *bio = BIO_new_mem_buf(store_col_text(st, 1), store_col_bytes(st, 1));
            X509 *ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
            X509_STORE *store = ca ? X509_STORE_new() : NULL;
            if (store && X509_STORE_add_cert(store, ca) == 1)
                c->e[c->n++] = (struct ca_entry){store_col_int64(st, 0),
                                                 X509_subject_name_hash(ca), store};
            else
                X509_STORE_free(store);
            X509_free(ca);
            BIO_free(bio);
        }
        if (rc == IOTSEC_OK) {
            store_reset(st);
            c->max_id = want;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static bool chains_to(X509_STORE *store, X509 *cert, STACK_OF(X509) *chain)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool ok = ctx && X509_STORE_CTX_init(ctx, store, cert, chain) == 1 &&
              X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    return ok;
}

int prov_x509_manufacturers(struct prov_ca_cache *cache, struct store_conn *conn, X509 *cert,
                            STACK_OF(X509) *chain, int64_t *ids, size_t max, size_t *n)
{
    *n = 0;
    int64_t want = max_id(conn);
    if (want < 0)
        return IOTSEC_ERR_IO;
    pthread_rwlock_rdlock(&cache->lock);
    bool stale = cache->max_id != want;
    pthread_rwlock_unlock(&cache->lock);
    if (stale && reload(cache, conn, want) != IOTSEC_OK)
        return IOTSEC_ERR_IO;
    /* Only CAs that issued the certificate or one of its intermediates are worth a
     * verification: with many manufacturers, one or two are tried, not all. */
    unsigned long issuers[1 + 8];
    size_t n_iss = 0;
    issuers[n_iss++] = X509_issuer_name_hash(cert);
    for (int i = 0; chain && i < sk_X509_num(chain) && n_iss < 9; i++)
        issuers[n_iss++] = X509_issuer_name_hash(sk_X509_value(chain, i));
    pthread_rwlock_rdlock(&cache->lock);
    for (size_t i = 0; i < cache->n && *n < max; i++) {
        bool candidate = false;
        for (size_t k = 0; k < n_iss && !candidate; k++)
            candidate = cache->e[i].subject == issuers[k];
        if (candidate && chains_to(cache->e[i].store, cert, chain))
            ids[(*n)++] = cache->e[i].id;
    }
    pthread_rwlock_unlock(&cache->lock);
    return IOTSEC_OK;
}

int prov_x509_names(X509 *cert, char *cn, size_t cn_len, char *serial, size_t serial_len,
                    char sha256[65])
{
    cn[0] = serial[0] = '\0';
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                        (int)cn_len);
    if (len <= 0 || !prov_id_valid(cn, (size_t)len))
        return IOTSEC_ERR_INVALID;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = IOTSEC_ERR_INVALID;
    if (hex && strlen(hex) < serial_len) {
        for (size_t i = 0; hex[i]; i++)
            serial[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
        serial[strlen(hex)] = '\0';
        rc = IOTSEC_OK;
    }
    OPENSSL_free(hex);
    BN_free(bn);
    unsigned char md[32];
    unsigned md_len = 0;
    if (rc == IOTSEC_OK && X509_digest(cert, EVP_sha256(), md, &md_len) == 1 && md_len == 32)
        hex_encode(md, 32, sha256);
    else
        rc = IOTSEC_ERR_INVALID;
    return rc;
}

int prov_x509_verify_sig(X509 *cert, const uint8_t *msg, size_t len, const uint8_t *sig,
                         size_t sig_len)
{
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    if (pk == NULL)
        return IOTSEC_ERR_INVALID;
    int type = EVP_PKEY_get_base_id(pk);
    const EVP_MD *md = type == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
    if (type != EVP_PKEY_ED25519 && type != EVP_PKEY_EC)
        return IOTSEC_ERR_INVALID;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? IOTSEC_OK : IOTSEC_ERR_AUTH;
}
