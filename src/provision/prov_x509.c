/* Factory certificates: which manufacturers' CAs a device certificate chains to, its names,
 * and signature checks with its key (the relayed proof). The device face accepts any
 * certificate in the TLS handshake; trust is decided here, against the CAs in the database. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "provision/prov_int.h"

static bool chains_to(X509 *ca, X509 *cert, STACK_OF(X509) *chain)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool ok = false;
    if (store && ctx && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(ctx, store, cert, chain) == 1)
        ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

int prov_x509_manufacturers(struct store_conn *c, X509 *cert, STACK_OF(X509) *chain,
                            int64_t *ids, size_t max, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st;
    int rc = store_stmt(c, "SELECT id, ca_pem FROM prov_manufacturers ORDER BY id", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        const void *pem = sqlite3_column_text(st, 1);
        BIO *bio = BIO_new_mem_buf(pem, sqlite3_column_bytes(st, 1));
        X509 *ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        if (ca && chains_to(ca, cert, chain))
            ids[(*n)++] = sqlite3_column_int64(st, 0);
        X509_free(ca);
        BIO_free(bio);
    }
    sqlite3_reset(st);
    return s == SQLITE_ROW || s == SQLITE_DONE ? IOTSEC_OK : store_error(c, s);
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
