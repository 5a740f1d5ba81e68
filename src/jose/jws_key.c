/* Which algorithm a key is for, and loading a verification key from PEM. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "jose/jws.h"

enum jws_alg jws_key_alg(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[32];
        size_t n = 0;
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &n) &&
            (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
            return JWS_ES256;
        return JWS_ALG_NONE;
    }
    if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 2048)
        return JWS_RS256;
    return JWS_ALG_NONE;
}

const char *jws_alg_name(enum jws_alg alg)
{
    return alg == JWS_ES256 ? "ES256" : alg == JWS_RS256 ? "RS256" : "none";
}

int jws_key_load_pem(const char *path, EVP_PKEY **out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return IOTSEC_ERR_NOTFOUND;
    EVP_PKEY *pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (pkey == NULL) { /* perhaps a certificate */
        rewind(f);
        X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
        pkey = cert ? X509_get_pubkey(cert) : NULL;
        X509_free(cert);
    }
    fclose(f);
    if (pkey == NULL || jws_key_alg(pkey) == JWS_ALG_NONE) {
        EVP_PKEY_free(pkey);
        return IOTSEC_ERR_INVALID;
    }
    *out = pkey;
    return IOTSEC_OK;
}
