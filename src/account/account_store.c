/* Accounts' SQL. Reads on the calling thread's reader; writes as one store_write_sync job
 * each (account changes and logins are rare). */
#include <stdio.h>
#include <string.h>

#include "account/account.h"
#include "base/err.h"
#include "store/store.h"

const char ACCOUNT_MIGRATION_1[] =
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  pw_hash TEXT NOT NULL,"   /* scrypt, never the password */
    "  totp BLOB,"               /* seal(secret) under the KEK; NULL: no second factor */
    "  cert_sha256 TEXT UNIQUE," /* the operator's own admin-face client certificate */
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");";

#define COLUMNS                                                                                    \
    "SELECT id, name, role, disabled, pw_hash, totp, cert_sha256, failed_logins, locked_until,"    \
    " created_at, updated_at FROM accounts "

static void text(struct store_stmt *st, int col, char *dst, size_t cap)
{
    const char *t = store_col_text(st, col);
    snprintf(dst, cap, "%s", t ? t : "");
}

static void row(struct store_stmt *st, struct account *a)
{
    memset(a, 0, sizeof(*a));
    a->id = store_col_int64(st, 0);
    text(st, 1, a->name, sizeof(a->name));
    char role[16];
    text(st, 2, role, sizeof(role));
    if (account_role_parse(role, &a->role) != IOTSEC_OK)
        a->role = ACCOUNT_VIEWER;
    a->disabled = store_col_int(st, 3) != 0;
    text(st, 4, a->pw_hash, sizeof(a->pw_hash));
    if (!store_col_is_null(st, 5) && store_col_bytes(st, 5) == ACCOUNT_TOTP_SEALED) {
        memcpy(a->totp_sealed, store_col_blob(st, 5), ACCOUNT_TOTP_SEALED);
        a->has_totp = true;
    }
    text(st, 6, a->cert_sha256, sizeof(a->cert_sha256));
    a->failed_logins = store_col_int(st, 7);
    a->locked_until = store_col_int64(st, 8);
    a->created_at = store_col_int64(st, 9);
    a->updated_at = store_col_int64(st, 10);
}

static int get_one(struct store *s, const char *sql, const char *key, struct account *out)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, key, -1);
    int step = store_step(st);
    if (step == STORE_ROW)
        row(st, out);
    store_reset(st);
    return step == STORE_ROW    ? IOTSEC_OK
           : step == STORE_DONE ? IOTSEC_ERR_NOTFOUND
                                : store_error(conn, step);
}

int account_get(struct store *s, const char *name, struct account *out)
{
    return get_one(s, COLUMNS "WHERE name = ?", name, out);
}

int account_get_by_cert(struct store *s, const char *cert_sha256_hex, struct account *out)
{
    return get_one(s, COLUMNS "WHERE cert_sha256 = ?", cert_sha256_hex, out);
}

int account_list(struct store *s, int64_t after, size_t limit, account_list_fn fn, void *ctx,
                 int64_t *last)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, COLUMNS "WHERE id > ? ORDER BY id LIMIT ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    store_bind_int64(st, 2, (int64_t)limit);
    int step;
    *last = after;
    while ((step = store_step(st)) == STORE_ROW) {
        struct account a;
        row(st, &a);
        *last = a.id;
        fn(&a, ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

static void bind_fields(struct store_stmt *st, const struct account *a, int first)
{
    store_bind_text(st, first, account_role_name(a->role), -1);
    store_bind_int(st, first + 1, a->disabled ? 1 : 0);
    store_bind_text(st, first + 2, a->pw_hash, -1);
    if (a->has_totp)
        store_bind_blob(st, first + 3, a->totp_sealed, ACCOUNT_TOTP_SEALED);
    else
        store_bind_null(st, first + 3);
    if (a->cert_sha256[0])
        store_bind_text(st, first + 4, a->cert_sha256, -1);
    else
        store_bind_null(st, first + 4);
    store_bind_int(st, first + 5, a->failed_logins);
    store_bind_int64(st, first + 6, a->locked_until);
    store_bind_int64(st, first + 7, a->updated_at);
}

static int insert_run(struct store_conn *conn, void *arg)
{
    const struct account *a = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO accounts (role, disabled, pw_hash, totp, cert_sha256,"
                        " failed_logins, locked_until, updated_at, name, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    bind_fields(st, a, 1);
    store_bind_text(st, 9, a->name, -1);
    store_bind_int64(st, 10, a->created_at);
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int account_insert(struct store *s, const struct account *a)
{
    return store_write_sync(s, insert_run, (void *)a);
}

static int update_run(struct store_conn *conn, void *arg)
{
    const struct account *a = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "UPDATE accounts SET role = ?, disabled = ?, pw_hash = ?, totp = ?,"
                        " cert_sha256 = ?, failed_logins = ?, locked_until = ?, updated_at = ?"
                        " WHERE name = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    bind_fields(st, a, 1);
    store_bind_text(st, 9, a->name, -1);
    int step = store_step(st);
    store_reset(st);
    if (step != STORE_DONE)
        return store_error(conn, step);
    return store_changes(conn) == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

int account_update(struct store *s, const struct account *a)
{
    return store_write_sync(s, update_run, (void *)a);
}

struct login_result {
    const char *name;
    bool ok;
    int64_t now;
};

static int login_run(struct store_conn *conn, void *arg)
{
    const struct login_result *l = arg;
    struct store_stmt *st;
    /* One statement: concurrent failures on two instances both count. */
    int rc = store_stmt(conn,
                        l->ok ? "UPDATE accounts SET failed_logins = 0, locked_until = 0"
                                " WHERE name = ?"
                              : "UPDATE accounts SET failed_logins = failed_logins + 1,"
                                " locked_until = CASE WHEN failed_logins + 1 >= ? THEN ?"
                                " ELSE locked_until END WHERE name = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (l->ok) {
        store_bind_text(st, 1, l->name, -1);
    } else {
        store_bind_int(st, 1, ACCOUNT_LOCK_FAILURES);
        store_bind_int64(st, 2, l->now + ACCOUNT_LOCK_S);
        store_bind_text(st, 3, l->name, -1);
    }
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int account_login_result(struct store *s, const char *name, bool ok, int64_t now)
{
    struct login_result l = {name, ok, now};
    return store_write_sync(s, login_run, &l);
}
