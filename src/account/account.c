/* Accounts' pure logic: names, roles, password hashing, the role each admin request needs. */
#include "account/account.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

static const char *const role_names[] = {"viewer", "operator", "admin"};

const char *account_role_name(enum account_role r)
{
    return (unsigned)r <= ACCOUNT_ADMIN ? role_names[r] : "viewer";
}

int account_role_parse(const char *s, enum account_role *out)
{
    for (int i = 0; s && i <= ACCOUNT_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum account_role)i;
            return IOTSEC_OK;
        }
    return IOTSEC_ERR_INVALID;
}

bool account_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= ACCOUNT_NAME_MAX || strcmp(name, "admin") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr("._-", c)))
            return false;
    }
    return true;
}

bool account_password_acceptable(const char *pw)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < ACCOUNT_PASSWORD_MIN || n > ACCOUNT_PASSWORD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)pw[i] < 0x20 || (unsigned char)pw[i] > 0x7e)
            return false;
    return true;
}

/* ---- scrypt ---- */

#define SALT_LEN       16
#define DK_LEN         32
#define LOG2_N_DEFAULT 15

static int scrypt(const char *pw, const uint8_t *salt, size_t salt_len, unsigned log2_n,
                  uint8_t out[DK_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (ctx == NULL)
        return IOTSEC_ERR_CRYPTO;
    uint64_t n = (uint64_t)1 << log2_n;
    uint32_t r = 8, p = 1;
    uint64_t maxmem = (uint64_t)130 * r * n + (1u << 20); /* 128 r N, with room */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, strlen(pw)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end()};
    int ok = EVP_KDF_derive(ctx, out, DK_LEN, params);
    EVP_KDF_CTX_free(ctx);
    return ok == 1 ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
}

int account_password_hash(const char *pw, unsigned log2_n, char out[ACCOUNT_HASH_MAX])
{
    if (pw == NULL || log2_n > 20)
        return IOTSEC_ERR_INVALID;
    if (log2_n == 0)
        log2_n = LOG2_N_DEFAULT;
    uint8_t salt[SALT_LEN], dk[DK_LEN];
    crypto_random(salt, sizeof(salt));
    int rc = scrypt(pw, salt, sizeof(salt), log2_n, dk);
    if (rc == IOTSEC_OK) {
        char s64[32], d64[48];
        b64url_encode(salt, sizeof(salt), s64);
        b64url_encode(dk, sizeof(dk), d64);
        snprintf(out, ACCOUNT_HASH_MAX, "$scrypt$ln=%u,r=8,p=1$%s$%s", log2_n, s64, d64);
    }
    secure_wipe(dk, sizeof(dk));
    return rc;
}

int account_password_verify(const char *pw, const char *hash)
{
    unsigned log2_n;
    char s64[33], d64[49];
    int end = 0;
    if (pw == NULL || hash == NULL ||
        sscanf(hash, "$scrypt$ln=%2u,r=8,p=1$%32[A-Za-z0-9_-]$%48[A-Za-z0-9_-]%n", &log2_n, s64,
               d64, &end) != 3 ||
        hash[end] != '\0' || log2_n < 1 || log2_n > 20)
        return IOTSEC_ERR_INVALID;
    uint8_t salt[SALT_LEN + 4], want[DK_LEN + 4], got[DK_LEN];
    size_t salt_len, want_len;
    if (b64url_decode(s64, strlen(s64), salt, sizeof(salt), &salt_len) != IOTSEC_OK ||
        b64url_decode(d64, strlen(d64), want, sizeof(want), &want_len) != IOTSEC_OK ||
        want_len != DK_LEN || salt_len < 8)
        return IOTSEC_ERR_INVALID;
    int rc = scrypt(pw, salt, salt_len, log2_n, got);
    if (rc == IOTSEC_OK)
        rc = CRYPTO_memcmp(got, want, DK_LEN) == 0 ? IOTSEC_OK : IOTSEC_ERR_AUTH;
    secure_wipe(got, sizeof(got));
    return rc;
}

/* ---- roles ---- */

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

enum account_role account_role_required(const char *method, const char *route, const char *action)
{
    if (route == NULL || method == NULL)
        return ACCOUNT_ADMIN;
    if (strncmp(route, "/admin/v1/users", 15) == 0)
        return ACCOUNT_ADMIN; /* accounts, even reading them */
    if (is(method, "GET") || is(method, "HEAD"))
        return ACCOUNT_VIEWER; /* nothing the admin API answers holds key material */
    if (is(method, "POST") && is(route, "/admin/v1/subscribers/{supi}/{action}") && action &&
        (is(action, "suspend") || is(action, "resume") || is(action, "quarantine") ||
         is(action, "release") || is(action, "activate")))
        return ACCOUNT_OPERATOR;
    static const char *const operator_posts[] = {"/admin/v1/devices/{supi}/release",
                                                 "/admin/v1/devices/{supi}/quarantine",
                                                 "/admin/v1/activations",
                                                 "/admin/v1/consents",
                                                 "/admin/v1/consents/{consentId}/revoke",
                                                 "/admin/v1/monitoring-opt-out",
                                                 "/admin/v1/afs",
                                                 "/admin/v1/afs/{afId}/{action}"};
    for (size_t i = 0; is(method, "POST") && i < sizeof(operator_posts) / sizeof(*operator_posts);
         i++)
        if (is(route, operator_posts[i]))
            return ACCOUNT_OPERATOR;
    if (is(method, "PATCH") && is(route, "/admin/v1/afs/{afId}"))
        return ACCOUNT_OPERATOR;
    return ACCOUNT_ADMIN;
}

/* ---- TOTP secrets at rest ---- */

static size_t totp_aad(const char *name, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "account-totp:%s", name);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t account_totp_aad(const char *name, int64_t unused, char *buf, size_t cap)
{
    (void)unused;
    return totp_aad(name, buf, cap);
}

int account_totp_seal(const struct seal_kek *kek, const char *name, const uint8_t *secret,
                      uint8_t out[ACCOUNT_TOTP_SEALED])
{
    char aad[64];
    size_t n = totp_aad(name, aad, sizeof(aad));
    return n ? seal(kek, aad, n, secret, ACCOUNT_TOTP_LEN, out) : IOTSEC_ERR_INVALID;
}

int account_totp_open(const struct seal_kek *kek, const struct account *a,
                      uint8_t secret[ACCOUNT_TOTP_LEN])
{
    char aad[64];
    size_t n = totp_aad(a->name, aad, sizeof(aad));
    if (!a->has_totp || n == 0)
        return IOTSEC_ERR_INVALID;
    return unseal(kek, aad, n, a->totp_sealed, ACCOUNT_TOTP_SEALED, secret);
}
