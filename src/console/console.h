/* The operator console: a web page served by iotsecd on its own HTTPS face. The browser logs
 * in with an operator account and then calls the very admin API handlers (copied onto this
 * face with http_server_route_copy) under a session cookie; this face's gate checks the
 * session, the CSRF token of every state change and the account's role. docs/console.md. */
#ifndef IOTSEC_CONSOLE_CONSOLE_H
#define IOTSEC_CONSOLE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account/account.h"

struct http_server;
struct http_request;

/* ---- sessions (console_session_store.c: in the store, shared by every instance) ---- */

#define CONSOLE_TOKEN_LEN 43 /* b64url of 32 random bytes */
#define CONSOLE_TOUCH_S   5  /* last_seen is written at most this often per session */

extern const char CONSOLE_MIGRATION_SESSIONS[];

struct store;
struct console_sessions;
struct console_session {
    char name[ACCOUNT_NAME_MAX];
    char csrf[CONSOLE_TOKEN_LEN + 1];
    int64_t created, last_seen; /* unix seconds */
};

struct console_sessions *console_sessions_new(struct store *store, unsigned idle_s,
                                              unsigned absolute_s);
void console_sessions_free(struct console_sessions *s);
/* A new session for name: token (the cookie's value) and out->csrf are fresh random values;
 * the store keeps only SHA-256(token). Sessions past their timeouts are swept meanwhile. */
int console_session_open(struct console_sessions *s, const char *name, int64_t now,
                         char token[CONSOLE_TOKEN_LEN + 1], struct console_session *out);
/* The live session of token, on any instance, its last_seen moved to now when older than
 * CONSOLE_TOUCH_S (idle timeout); IOTSEC_ERR_NOTFOUND when unknown, idle too long or past its
 * absolute lifetime (it is then deleted). */
int console_session_get(struct console_sessions *s, const char *token, int64_t now,
                        struct console_session *out);
void console_session_close(struct console_sessions *s, const char *token);

/* Login attempts per client address: a token bucket of `burst` refilled at one per
 * `per_s` seconds. False: too many, answer 429. */
struct console_limiter;
struct console_limiter *console_limiter_new(unsigned burst, unsigned per_s);
void console_limiter_free(struct console_limiter *l);
bool console_limiter_take(struct console_limiter *l, const char *address, int64_t now);

/* ---- the face (console_http.c) ---- */

struct console_config {
    struct account_service *accounts;
    unsigned idle_s, absolute_s;       /* session timeouts */
    unsigned login_burst, login_per_s; /* per client address */
};
struct console;
struct console *console_new(const struct console_config *cfg);
void console_free(struct console *c);
/* The page, its assets and /console/v1/{login,logout,session} on srv, and the gate. The admin
 * API routes are copied onto srv by the caller (http_server_route_copy). */
int console_routes(struct console *c, struct http_server *srv);

/* ---- the assets (generated from web/ at build time: console_assets.c) ---- */
struct console_asset {
    const char *path; /* "/console/app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};
extern const struct console_asset console_assets[];
extern const size_t console_asset_count;

#endif
