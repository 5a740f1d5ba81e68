/* The home network's SUCI private keys, sealed under the KEK in the database. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aka/aka.h"
#include "base/err.h"
#include "crypto/ct.h"

const char AKA_MIGRATION_1[] =
    "CREATE TABLE hn_keys ("
    "  scheme INTEGER NOT NULL CHECK (scheme IN (1, 2)),"
    "  key_id INTEGER NOT NULL CHECK (key_id BETWEEN 1 AND 255),"
    "  public_key BLOB NOT NULL,"
    "  private_key BLOB NOT NULL," /* seal(private key), AAD: scheme + key id */
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (scheme, key_id)"
    ");";

#define SEALED_LEN (SUCI_PRIVATE_KEY_LEN + SEAL_OVERHEAD)

static size_t key_aad(enum suci_scheme scheme, uint8_t key_id, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "iotsec/hn_key/%d/%u", (int)scheme, key_id);
}

size_t aka_hn_key_aad(const char *unused, int64_t scheme_key, char *aad, size_t cap)
{
    (void)unused;
    if (scheme_key < 0 || scheme_key > 0xffff)
        return 0;
    size_t n = key_aad((enum suci_scheme)(scheme_key >> 8), (uint8_t)scheme_key, aad, cap);
    return n < cap ? n : 0;
}

struct create_job {
    enum suci_scheme scheme;
    uint8_t key_id;
    const uint8_t *pub;
    size_t pub_len;
    uint8_t sealed[SEALED_LEN];
};

static int run_create(struct store_conn *conn, void *arg)
{
    struct create_job *job = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO hn_keys(scheme, key_id, public_key, private_key, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int(st, 1, job->scheme);
    store_bind_int(st, 2, job->key_id);
    store_bind_blob(st, 3, job->pub, (int)job->pub_len);
    store_bind_blob(st, 4, job->sealed, SEALED_LEN);
    store_bind_int64(st, 5, (int64_t)time(NULL));
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int aka_hn_key_create(struct store *s, const struct seal_kek *kek, enum suci_scheme scheme,
                      uint8_t key_id, uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len)
{
    if (scheme == SUCI_SCHEME_NULL || key_id == 0)
        return IOTSEC_ERR_INVALID;
    uint8_t priv[SUCI_PRIVATE_KEY_LEN];
    struct create_job job = {.scheme = scheme, .key_id = key_id, .pub = pub};
    char aad[64];
    int rc = suci_generate_key_pair(scheme, priv, pub, pub_len);
    if (rc == IOTSEC_OK)
        rc = seal(kek, aad, key_aad(scheme, key_id, aad, sizeof(aad)), priv, sizeof(priv),
                  job.sealed);
    secure_wipe(priv, sizeof(priv));
    if (rc != IOTSEC_OK)
        return rc;
    job.pub_len = *pub_len;
    return store_write_sync(s, run_create, &job);
}

int aka_hn_keys_load(struct store *s, const struct seal_kek *kek, struct suci_keyring *kr,
                     size_t *count)
{
    struct store_conn *conn;
    struct store_stmt *st;
    *count = 0;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT scheme, key_id, private_key FROM hn_keys", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step;
    while (rc == IOTSEC_OK && (step = store_step(st)) == STORE_ROW) {
        enum suci_scheme scheme = (enum suci_scheme)store_col_int(st, 0);
        uint8_t key_id = (uint8_t)store_col_int(st, 1), priv[SUCI_PRIVATE_KEY_LEN];
        char aad[64];
        if (store_col_bytes(st, 2) != SEALED_LEN) {
            rc = IOTSEC_ERR_IO;
            break;
        }
        rc = unseal(kek, aad, key_aad(scheme, key_id, aad, sizeof(aad)), store_col_blob(st, 2),
                    SEALED_LEN, priv);
        if (rc == IOTSEC_OK)
            rc = suci_keyring_add(kr, scheme, key_id, priv);
        secure_wipe(priv, sizeof(priv));
        if (rc == IOTSEC_OK)
            (*count)++;
    }
    store_reset(st);
    return rc;
}

int aka_hn_keys_list(struct store *s, aka_hn_key_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT scheme, key_id, public_key FROM hn_keys"
                        " ORDER BY scheme, key_id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step;
    while ((step = store_step(st)) == STORE_ROW)
        fn((enum suci_scheme)store_col_int(st, 0), (uint8_t)store_col_int(st, 1),
           store_col_blob(st, 2), (size_t)store_col_bytes(st, 2), ctx);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
