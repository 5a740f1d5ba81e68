/* The console face: the page and its assets, login/logout/session, and the gate in front of
 * the admin API routes copied onto this face.
 *   GET  /, /console/{asset}        the page (assets compiled into the daemon: no CDN)
 *   POST /console/v1/login          {name, password, totp?} -> 200 {name, role, csrf} and the
 *                                   session cookie (Secure, HttpOnly, SameSite=Strict)
 *   GET  /console/v1/session        {name, role, csrf} of the cookie's session, or 401
 *   POST /console/v1/logout         (CSRF) ends the session
 *   *    /admin/v1/...              the admin API itself, under the session: the gate names the
 *                                   account (audits record it), checks X-CSRF-Token on every
 *                                   state change and the account's role. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "console/console.h"
#include "crypto/ct.h"
#include "http/http.h"

#define COOKIE "__Host-iotsec"

struct console {
    struct console_config cfg;
    struct console_sessions *sessions;
    struct console_limiter *limiter;
    char dummy_hash[ACCOUNT_HASH_MAX]; /* verified against for unknown names: same cost */
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

struct console *console_new(const struct console_config *cfg)
{
    struct console *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cfg = *cfg;
    c->sessions = console_sessions_new(cfg->accounts ? cfg->accounts->store : NULL, cfg->idle_s,
                                       cfg->absolute_s);
    c->limiter = console_limiter_new(cfg->login_burst, cfg->login_per_s);
    if (c->sessions == NULL || c->limiter == NULL ||
        account_password_hash("not a password of anyone", 0, c->dummy_hash) != IOTSEC_OK) {
        console_free(c);
        return NULL;
    }
    return c;
}

void console_free(struct console *c)
{
    if (c) {
        console_sessions_free(c->sessions);
        console_limiter_free(c->limiter);
        free(c);
    }
}

/* The session cookie's value (HTTP/2 may split cookies over several fields). */
static bool cookie_token(const struct http_request *req, char out[CONSOLE_TOKEN_LEN + 1])
{
    unsigned n = http_request_header_count(req);
    for (unsigned i = 0; i < n; i++) {
        const char *name, *value;
        http_request_header_at(req, i, &name, &value);
        if (strcmp(name, "cookie") != 0)
            continue;
        for (const char *p = value; (p = strstr(p, COOKIE "=")) != NULL; p++) {
            if (p != value && p[-1] != ' ' && p[-1] != ';')
                continue;
            p += strlen(COOKIE "=");
            size_t len = strcspn(p, "; ");
            if (len != CONSOLE_TOKEN_LEN)
                return false;
            memcpy(out, p, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

static void set_cookie(struct http_request *req, const char *token, unsigned max_age)
{
    char v[200];
    snprintf(v, sizeof(v), COOKIE "=%s; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=%u",
             token, max_age);
    http_response_header(req, "set-cookie", v);
}

static bool is_read(const struct http_request *req)
{
    const char *m = http_request_method(req);
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* A state change from another site: its Origin (sent by browsers on every cross-origin
 * request and on same-origin POSTs) names another host than the one asked. */
static bool foreign_origin(const struct http_request *req)
{
    const char *origin = http_request_header(req, "origin");
    const char *host = http_request_header(req, "host"); /* HTTP/2: :authority */
    if (origin == NULL)
        return false; /* not a browser's cross-site request; the CSRF token still decides */
    return host == NULL || strncmp(origin, "https://", 8) != 0 || strcmp(origin + 8, host) != 0;
}

static bool session_of(struct console *c, struct http_request *req, struct console_session *s,
                       struct account *a)
{
    char token[CONSOLE_TOKEN_LEN + 1];
    if (!cookie_token(req, token) ||
        console_session_get(c->sessions, token, now_s(), s) != IOTSEC_OK) {
        http_respond_problem(req, 401, NULL, "log in first (no session, or it expired)", "SESSION",
                             NULL, 0);
        return false;
    }
    /* The account as it is now: disabled or removed ends its sessions at once. */
    if (account_get(c->cfg.accounts->store, s->name, a) != IOTSEC_OK || a->disabled) {
        console_session_close(c->sessions, token);
        http_respond_problem(req, 401, NULL, "the account is disabled", "SESSION", NULL, 0);
        return false;
    }
    return true;
}

static bool csrf_ok(struct http_request *req, const struct console_session *s)
{
    const char *t = http_request_header(req, "x-csrf-token");
    if (!foreign_origin(req) && t && strlen(t) == CONSOLE_TOKEN_LEN &&
        CRYPTO_memcmp(t, s->csrf, CONSOLE_TOKEN_LEN) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "a state change needs the session's X-CSRF-Token", "CSRF",
                         NULL, 0);
    return false;
}

static bool gate(struct http_request *req, void *user)
{
    struct console *c = user;
    /* Every answer of this face: no inline script or style, nothing from elsewhere, never
     * framed. */
    http_response_header(req, "content-security-policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'"
                         "; connect-src 'self'; base-uri 'none'; form-action 'self'; "
                         "frame-ancestors 'none'");
    http_response_header(req, "x-content-type-options", "nosniff");
    http_response_header(req, "referrer-policy", "no-referrer");
    http_response_header(req, "x-frame-options", "DENY");
    http_response_header(req, "strict-transport-security", "max-age=31536000");
    const char *route = http_request_route(req);
    if (strncmp(route, "/admin/", 7) != 0)
        return true; /* the page, its assets, login: their handlers decide */
    http_response_header(req, "cache-control", "no-store");
    struct console_session s;
    struct account a;
    if (!session_of(c, req, &s, &a) || (!is_read(req) && !csrf_ok(req, &s)))
        return false;
    http_request_set_principal(req, a.name);
    return account_authorize(req, a.role);
}

/* ---- the page ---- */

static void handle_asset(struct http_request *req, void *user)
{
    (void)user;
    const char *path = http_request_path(req);
    if (strcmp(path, "/") == 0)
        path = "/console/index.html";
    for (size_t i = 0; i < console_asset_count; i++)
        if (strcmp(console_assets[i].path, path) == 0) {
            http_response_header(req, "cache-control", "no-cache");
            http_respond(req, 200, console_assets[i].content_type, console_assets[i].data,
                         console_assets[i].len);
            return;
        }
    http_respond_problem(req, 404, NULL, "no such page", NULL, NULL, 0);
}

/* ---- login, session, logout ---- */

static json_t *session_json(const struct console_session *s, const struct account *a,
                            const struct console *c)
{
    return json_pack("{s:s, s:s, s:s, s:i}", "name", a->name, "role", account_role_name(a->role),
                     "csrf", s->csrf, "idle_s", (int)(c->cfg.idle_s ? c->cfg.idle_s : 900));
}

static void refuse_login(struct http_request *req)
{
    http_respond_problem(req, 401, NULL, "wrong name, password or code", "LOGIN", NULL, 0);
}

static void handle_login(struct http_request *req, void *user)
{
    struct console *c = user;
    int64_t now = now_s();
    if (foreign_origin(req)) {
        http_respond_problem(req, 403, NULL, "login from another site", "CSRF", NULL, 0);
        return;
    }
    if (!console_limiter_take(c->limiter, http_request_peer(req)->address, now)) {
        http_response_header(req, "retry-after", "10");
        http_respond_problem(req, 429, NULL, "too many login attempts from this address", NULL,
                             NULL, 0);
        return;
    }
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *pw = json_string_value(json_object_get(body, "password"));
    const char *code = json_string_value(json_object_get(body, "totp"));
    struct account a;
    bool known = account_name_valid(name) && pw &&
                 account_get(c->cfg.accounts->store, name, &a) == IOTSEC_OK && !a.disabled;
    if (known && a.locked_until > now) {
        http_respond_problem(req, 403, NULL,
                             "the account is locked after too many failed logins; "
                             "try later or ask an admin to unlock it",
                             "LOCKED", NULL, 0);
        json_decref(body);
        return;
    }
    /* the same scrypt cost whether the name exists or not */
    bool ok =
        account_password_verify(pw ? pw : "", known ? a.pw_hash : c->dummy_hash) == IOTSEC_OK &&
        known;
    if (ok && a.has_totp) {
        uint8_t secret[ACCOUNT_TOTP_LEN];
        ok = account_totp_open(c->cfg.accounts->kek, &a, secret) == IOTSEC_OK &&
             account_totp_check(secret, sizeof(secret), now, code);
        secure_wipe(secret, sizeof(secret));
    }
    json_decref(body); /* jansson's copy of the password: freed, see docs/console.md */
    if (!ok) {
        if (known)
            account_login_result(c->cfg.accounts->store, a.name, false, now);
        log_msg(LOG_INFO, http_request_id(req), "console: failed login%s%s from %s",
                known ? " for " : "", known ? a.name : "", http_request_peer(req)->address);
        refuse_login(req);
        return;
    }
    if (a.failed_logins > 0)
        account_login_result(c->cfg.accounts->store, a.name, true, now);
    char token[CONSOLE_TOKEN_LEN + 1];
    struct console_session s;
    if (console_session_open(c->sessions, a.name, now, token, &s) != IOTSEC_OK) {
        secure_wipe(token, sizeof(token));
        http_respond_problem(req, 503, NULL, "the session could not be stored; try again",
                             "SESSION_STORE", NULL, 0);
        return;
    }
    set_cookie(req, token, c->cfg.absolute_s ? c->cfg.absolute_s : 28800);
    secure_wipe(token, sizeof(token));
    http_response_header(req, "cache-control", "no-store");
    log_msg(LOG_INFO, http_request_id(req), "console: %s logged in", a.name);
    http_respond_json(req, 200, session_json(&s, &a, c));
}

static void handle_session(struct http_request *req, void *user)
{
    struct console *c = user;
    struct console_session s;
    struct account a;
    http_response_header(req, "cache-control", "no-store");
    if (session_of(c, req, &s, &a))
        http_respond_json(req, 200, session_json(&s, &a, c));
}

static void handle_logout(struct http_request *req, void *user)
{
    struct console *c = user;
    struct console_session s;
    struct account a;
    char token[CONSOLE_TOKEN_LEN + 1];
    if (!session_of(c, req, &s, &a) || !csrf_ok(req, &s))
        return;
    if (cookie_token(req, token))
        console_session_close(c->sessions, token);
    set_cookie(req, "", 0);
    http_respond(req, 204, NULL, NULL, 0);
}

int console_routes(struct console *c, struct http_server *srv)
{
    int rc = http_server_route(srv, "GET", "/", handle_asset, c);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/console/{asset}", handle_asset, c);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/console/v1/login", handle_login, c);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/console/v1/session", handle_session, c);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/console/v1/logout", handle_logout, c);
    if (rc == IOTSEC_OK)
        rc = http_server_set_gate(srv, gate, c);
    return rc;
}
