/* Console sessions in the store, so that every instance behind a load balancer serves a
 * logged-in operator and a logout or an expiry on one ends the session on all. A row is keyed
 * by the SHA-256 of the token (hex): the database never holds a usable cookie. The CSRF token
 * is stored as it is: it is useless without the cookie. Reads use the thread's read
 * connection; writes are writer jobs. last_seen is written at most every
 * CONSOLE_TOUCH_S seconds per session (not at every request), so the idle timeout is honoured
 * within that much. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/hex.h"
#include "console/console.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "store/store.h"

const char CONSOLE_MIGRATION_SESSIONS[] =
    "CREATE TABLE console_sessions ("
    " token_hash TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " csrf TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL);"
    "CREATE INDEX console_sessions_seen ON console_sessions(last_seen);";

struct console_sessions {
    struct store *store;
    unsigned idle_s, absolute_s;
};

struct console_sessions *console_sessions_new(struct store *store, unsigned idle_s,
                                              unsigned absolute_s)
{
    if (store == NULL)
        return NULL;
    struct console_sessions *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->store = store;
    s->idle_s = idle_s ? idle_s : 900;
    s->absolute_s = absolute_s ? absolute_s : 28800;
    return s;
}

void console_sessions_free(struct console_sessions *s)
{
    free(s);
}

static void token_key(const char *token, char hex[65])
{
    uint8_t key[32];
    unsigned len = 0;
    EVP_Digest(token, strlen(token), key, &len, EVP_sha256(), NULL);
    hex_encode(key, sizeof(key), hex);
}

static void random_token(char out[CONSOLE_TOKEN_LEN + 1])
{
    uint8_t r[32];
    crypto_random(r, sizeof(r));
    b64url_encode(r, sizeof(r), out);
    secure_wipe(r, sizeof(r));
}

/* ---- writer jobs ---- */

struct session_write {
    const struct console_sessions *s;
    char key[65];
    const struct console_session *row; /* open: the row to insert */
    int64_t now;
};

static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

/* Also sweeps the sessions that expired: logins are rare, so this keeps the table small. */
static int open_run(struct store_conn *conn, void *arg)
{
    struct session_write *w = arg;
    struct store_stmt *st;
    int rc =
        store_stmt(conn, "DELETE FROM console_sessions WHERE last_seen <= ? OR created <= ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, w->now - w->s->idle_s);
    store_bind_int64(st, 2, w->now - w->s->absolute_s);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    rc = store_stmt(conn,
                    "INSERT INTO console_sessions(token_hash, name, csrf, created, last_seen)"
                    " VALUES (?, ?, ?, ?, ?)",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->key, -1);
    store_bind_text(st, 2, w->row->name, -1);
    store_bind_text(st, 3, w->row->csrf, -1);
    store_bind_int64(st, 4, w->row->created);
    store_bind_int64(st, 5, w->row->last_seen);
    return step_done(conn, st);
}

static int touch_run(struct store_conn *conn, void *arg)
{
    struct session_write *w = arg;
    struct store_stmt *st;
    int rc = store_stmt(
        conn, "UPDATE console_sessions SET last_seen = ? WHERE token_hash = ? AND last_seen < ?",
        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, w->now);
    store_bind_text(st, 2, w->key, -1);
    store_bind_int64(st, 3, w->now);
    return step_done(conn, st);
}

static int close_run(struct store_conn *conn, void *arg)
{
    struct session_write *w = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn, "DELETE FROM console_sessions WHERE token_hash = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->key, -1);
    return step_done(conn, st);
}

/* ---- the API ---- */

int console_session_open(struct console_sessions *s, const char *name, int64_t now,
                         char token[CONSOLE_TOKEN_LEN + 1], struct console_session *out)
{
    memset(out, 0, sizeof(*out));
    random_token(token);
    snprintf(out->name, sizeof(out->name), "%s", name);
    random_token(out->csrf);
    out->created = out->last_seen = now;
    struct session_write w = {.s = s, .row = out, .now = now};
    token_key(token, w.key);
    return store_write_sync(s->store, open_run, &w);
}

int console_session_get(struct console_sessions *s, const char *token, int64_t now,
                        struct console_session *out)
{
    if (token == NULL || strlen(token) != CONSOLE_TOKEN_LEN)
        return IOTSEC_ERR_NOTFOUND;
    struct session_write w = {.s = s, .now = now};
    token_key(token, w.key);
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s->store, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT name, csrf, created, last_seen FROM console_sessions"
                        " WHERE token_hash = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w.key, -1);
    int step = store_step(st);
    if (step == STORE_ROW) {
        memset(out, 0, sizeof(*out));
        snprintf(out->name, sizeof(out->name), "%s", store_col_text(st, 0));
        snprintf(out->csrf, sizeof(out->csrf), "%s", store_col_text(st, 1));
        out->created = store_col_int64(st, 2);
        out->last_seen = store_col_int64(st, 3);
    }
    store_reset(st);
    if (step != STORE_ROW)
        return step == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(conn, step);
    if (now - out->last_seen >= s->idle_s || now - out->created >= s->absolute_s) {
        store_write_sync(s->store, close_run, &w); /* expired: gone for good */
        memset(out, 0, sizeof(*out));
        return IOTSEC_ERR_NOTFOUND;
    }
    if (now - out->last_seen >= CONSOLE_TOUCH_S) {
        rc = store_write_sync(s->store, touch_run, &w);
        if (rc != IOTSEC_OK)
            return rc; /* an idle deadline that cannot move is not extended silently */
        out->last_seen = now;
    }
    return IOTSEC_OK;
}

void console_session_close(struct console_sessions *s, const char *token)
{
    if (token == NULL || strlen(token) != CONSOLE_TOKEN_LEN)
        return;
    struct session_write w = {.s = s};
    token_key(token, w.key);
    store_write_sync(s->store, close_run, &w);
}
