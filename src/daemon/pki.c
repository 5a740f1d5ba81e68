#include "daemon/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/hex.h"
#include "http/http.h"

#define DAYS_CA   (10 * 365)
#define DAYS_LEAF (2 * 365)

struct issued {
    EVP_PKEY *key;
    X509 *cert;
};

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Issues a certificate for cn. issuer NULL: self-signed CA. exts: {nid, value} pairs. */
static int issue(const char *cn, const struct issued *issuer, int days, const int *nids,
                 const char *const *values, int nexts, struct issued *out)
{
    out->key = EVP_EC_gen("P-256");
    out->cert = X509_new();
    if (out->key == NULL || out->cert == NULL)
        return IOTSEC_ERR_CRYPTO;
    X509 *c = out->cert;
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f; /* a positive serial */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int ok = bn && X509_set_version(c, 2) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) &&
             X509_gmtime_adj(X509_getm_notBefore(c), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(c), (long)days * 86400) &&
             X509_set_pubkey(c, out->key);
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(c);
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"iotsec", -1,
                                    -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *issuer_cert = issuer ? issuer->cert : c;
    ok = ok && X509_set_issuer_name(c, X509_get_subject_name(issuer_cert));
    for (int i = 0; ok && i < nexts; i++)
        ok = add_ext(c, issuer_cert, nids[i], values[i]);
    ok = ok && X509_sign(c, issuer ? issuer->key : out->key, EVP_sha256()) > 0;
    return ok ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

static void issued_free(struct issued *i)
{
    EVP_PKEY_free(i->key);
    X509_free(i->cert);
}

static int write_pem(const char *dir, const char *name, const struct issued *i)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pki/%s.crt", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return IOTSEC_ERR_IO;
    int ok = PEM_write_X509(f, i->cert);
    ok = fclose(f) == 0 && ok;
    snprintf(path, sizeof(path), "%s/pki/%s.key", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        return IOTSEC_ERR_IO;
    }
    ok = PEM_write_PrivateKey(f, i->key, NULL, NULL, 0, NULL, NULL) && ok;
    ok = fclose(f) == 0 && ok;
    return ok ? IOTSEC_OK : IOTSEC_ERR_IO;
}

int pki_create(const char *dir, const char *extra_san)
{
    if (extra_san == NULL)
        extra_san = "";
    char server_san[1200];
    if ((size_t)snprintf(server_san, sizeof(server_san), "DNS:localhost,IP:127.0.0.1,IP:::1%s%s",
                         extra_san[0] ? "," : "", extra_san) >= sizeof(server_san))
        return IOTSEC_ERR_INVALID;
    char pki[1024];
    snprintf(pki, sizeof(pki), "%s/pki", dir);
    if (mkdir(pki, 0755) != 0)
        return errno == EEXIST ? IOTSEC_ERR_CONFLICT : IOTSEC_ERR_IO;

    static const int ca_nids[] = {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier};
    static const char *const ca_vals[] = {"critical,CA:TRUE,pathlen:0",
                                          "critical,keyCertSign,cRLSign", "hash"};
    static const int leaf_nids[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
                                    NID_authority_key_identifier, NID_subject_alt_name};
    const char *const server_vals[] = {"critical,CA:FALSE", "critical,digitalSignature",
                                       "serverAuth", "keyid", server_san};
    static const char *const admin_vals[] = {"critical,CA:FALSE", "critical,digitalSignature",
                                             "clientAuth", "keyid", "DNS:iotsec-admin"};
    static const char *const nf_vals[] = {"critical,CA:FALSE", "critical,digitalSignature",
                                          "clientAuth,serverAuth", "keyid",
                                          "DNS:amf.5gc.lab,URI:urn:uuid:5e4f0f36-0d8e-4a65-9b1f-"
                                          "2f1c6a2d0a01"};
    struct issued ca = {0}, server = {0}, admin = {0}, nf = {0};
    int rc = issue("iotsec operator CA (development)", NULL, DAYS_CA, ca_nids, ca_vals, 3, &ca);
    if (rc == IOTSEC_OK)
        rc = issue("localhost", &ca, DAYS_LEAF, leaf_nids, server_vals, 5, &server);
    if (rc == IOTSEC_OK)
        rc = issue("iotsec-admin", &ca, DAYS_LEAF, leaf_nids, admin_vals, 5, &admin);
    if (rc == IOTSEC_OK)
        rc = issue("amf.5gc.lab", &ca, DAYS_LEAF, leaf_nids, nf_vals, 5, &nf);
    if (rc == IOTSEC_OK)
        rc = write_pem(dir, "ca", &ca);
    if (rc == IOTSEC_OK)
        rc = write_pem(dir, "server", &server);
    if (rc == IOTSEC_OK)
        rc = write_pem(dir, "admin", &admin);
    if (rc == IOTSEC_OK)
        rc = write_pem(dir, "nf", &nf);
    issued_free(&ca);
    issued_free(&server);
    issued_free(&admin);
    issued_free(&nf);
    return rc;
}

int pki_cert_fingerprint(const char *path, char hex[65])
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return IOTSEC_ERR_NOTFOUND;
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL)
        return IOTSEC_ERR_INVALID;
    unsigned char md[32];
    unsigned int len = 0;
    int ok = X509_digest(cert, EVP_sha256(), md, &len) && len == 32;
    X509_free(cert);
    if (!ok)
        return IOTSEC_ERR_CRYPTO;
    hex_encode(md, 32, hex);
    return IOTSEC_OK;
}

bool pki_peer_is_nf(const struct http_peer *peer, void *user)
{
    const struct pki_sbi_role *r = user;
    if (!peer->has_cert || strcmp(peer->cert_sha256_hex, r->admin_cert_sha256) == 0)
        return false;
    return r->any_but_admin || http_peer_has_san_uri(peer, "urn:uuid:");
}
