/* Operator accounts: named people with a role, a password (scrypt), an optional TOTP second
 * factor (RFC 6238) and an optional client certificate of their own for the admin face.
 * Every admin request is made by a principal: the instance's admin certificate ("admin"), an
 * operator's registered certificate, or a console session; the role decides what it may do
 * (account_role_required), the same on every face. docs/console.md. */
#ifndef IOTSEC_ACCOUNT_ACCOUNT_H
#define IOTSEC_ACCOUNT_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"

struct store;
struct store_conn;

/* Ordered: each role may do what the ones below it may. */
enum account_role { ACCOUNT_VIEWER = 0, ACCOUNT_OPERATOR = 1, ACCOUNT_ADMIN = 2 };
const char *account_role_name(enum account_role r); /* "viewer", "operator", "admin" */
int account_role_parse(const char *s, enum account_role *out);

#define ACCOUNT_NAME_MAX      33  /* 1..32 of [a-z0-9._-], starting with a letter or digit */
#define ACCOUNT_HASH_MAX      160 /* "$scrypt$ln=15,r=8,p=1$<salt b64url>$<hash b64url>" */
#define ACCOUNT_PASSWORD_MIN  12
#define ACCOUNT_PASSWORD_MAX  128
#define ACCOUNT_TOTP_LEN      20 /* secret bytes (RFC 4226's recommended 160 bits) */
#define ACCOUNT_TOTP_SEALED   (ACCOUNT_TOTP_LEN + SEAL_OVERHEAD)
#define ACCOUNT_LOCK_FAILURES 5   /* consecutive bad logins that lock an account */
#define ACCOUNT_LOCK_S        900 /* for this long */

/* "admin" names the instance's admin certificate in audits: no account may take it. */
bool account_name_valid(const char *name);
/* Printable ASCII, ACCOUNT_PASSWORD_MIN..MAX bytes. */
bool account_password_acceptable(const char *pw);

struct account {
    int64_t id;
    char name[ACCOUNT_NAME_MAX];
    enum account_role role;
    bool disabled;
    char pw_hash[ACCOUNT_HASH_MAX];
    uint8_t totp_sealed[ACCOUNT_TOTP_SEALED]; /* seal(secret), AAD "account-totp:" name */
    bool has_totp;
    char cert_sha256[65]; /* hex of the registered client certificate, or "" */
    int failed_logins;
    int64_t locked_until, created_at, updated_at; /* unix seconds */
};

/* ---- passwords (account.c) ---- */

/* scrypt (OpenSSL 3 EVP_KDF "SCRYPT"), N = 2^log2_n, r = 8, p = 1, 16-byte random salt, 32-byte
 * output, in a self-describing string. log2_n 0: the default (15: 32 MiB, ~0.1 s). */
int account_password_hash(const char *pw, unsigned log2_n, char out[ACCOUNT_HASH_MAX]);
/* IOTSEC_OK when pw matches (compared in constant time), IOTSEC_ERR_AUTH when not,
 * IOTSEC_ERR_INVALID for a malformed hash string. */
int account_password_verify(const char *pw, const char *hash);

/* ---- TOTP (account_totp.c, RFC 6238 / RFC 4226) ---- */

enum account_totp_md { ACCOUNT_TOTP_SHA1, ACCOUNT_TOTP_SHA256, ACCOUNT_TOTP_SHA512 };
/* The code for unix time t (step 30 s, T0 = 0) with `digits` digits (6..8). */
uint32_t account_totp_at(const uint8_t *secret, size_t len, enum account_totp_md md, int64_t t,
                         unsigned digits);
/* Whether code (6 decimal digits, SHA-1) is the one for now, or for one step either side. */
bool account_totp_check(const uint8_t *secret, size_t len, int64_t now, const char *code);
/* RFC 4648 base32 without padding (authenticator apps' form); out holds 8*ceil(len/5)/5+1. */
void account_base32(const uint8_t *in, size_t len, char *out, size_t cap);

/* ---- roles over the admin API (account.c) ---- */

/* The least role that may make the request (method, route pattern as registered, and the
 * {action} path parameter or NULL). Reads are the viewer's; the operator's day-to-day actions
 * (suspend, resume, quarantine, release, activate, consents, AFs) the operator's; anything
 * else, the admin's: deny by default. */
enum account_role account_role_required(const char *method, const char *route, const char *action);

/* ---- the store (account_store.c) ---- */

extern const char ACCOUNT_MIGRATION_1[];

int account_get(struct store *s, const char *name, struct account *out);
int account_get_by_cert(struct store *s, const char *cert_sha256_hex, struct account *out);
typedef void (*account_list_fn)(const struct account *a, void *ctx);
/* Accounts with id > after, by id, at most limit; *last gets the last id passed to fn. */
int account_list(struct store *s, int64_t after, size_t limit, account_list_fn fn, void *ctx,
                 int64_t *last);

/* Writes (each one store_write_sync job). CONFLICT: the name or certificate is taken. */
int account_insert(struct store *s, const struct account *a);
/* Replaces role, disabled, pw_hash, totp, cert and the lock-out counters of the row named. */
int account_update(struct store *s, const struct account *a);
/* Records a login attempt: ok resets the failures; a failure counts, and locks the account
 * for ACCOUNT_LOCK_S at ACCOUNT_LOCK_FAILURES. */
int account_login_result(struct store *s, const char *name, bool ok, int64_t now);

/* ---- TOTP secrets under the KEK (account.c) ---- */
/* The AAD of accounts.totp for account name (KEK rotation re-wraps it). */
size_t account_totp_aad(const char *name, int64_t unused, char *buf, size_t cap);
int account_totp_seal(const struct seal_kek *kek, const char *name, const uint8_t *secret,
                      uint8_t out[ACCOUNT_TOTP_SEALED]);
int account_totp_open(const struct seal_kek *kek, const struct account *a,
                      uint8_t secret[ACCOUNT_TOTP_LEN]);

/* ---- the admin face (account_http.c) ---- */

struct http_server;
struct http_request;
struct account_service {
    struct store *store;
    const struct seal_kek *kek;
    char admin_cert_sha256[65]; /* the instance's admin certificate: principal "admin" */
};

/* /admin/v1/users (admin role). */
int account_admin_routes(struct http_server *adm, struct account_service *svc);
/* The admin face's gate: names the principal of a request from its client certificate (the
 * instance's admin certificate, or an enabled account's registered one) and refuses, 403, what
 * the account's role may not do. A request from no known certificate passes unnamed: the
 * handlers refuse it as they always did. */
bool account_admin_gate(struct http_request *req, void *svc);
/* Checks role against the request's route; answers 403 (cause ROLE) and returns false when
 * it is not enough. */
bool account_authorize(struct http_request *req, enum account_role role);

#endif
