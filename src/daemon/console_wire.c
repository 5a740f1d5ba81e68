#include "daemon/console_wire.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

static void http_log(void *user, enum http_log_level level, const char *request_id, const char *msg)
{
    (void)user;
    static const enum log_level map[] = {LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG};
    log_msg(map[level], request_id, "http (console face): %s", msg);
}

static int build_console(const struct config *c, struct http_server *adm, struct console_wire *w)
{
    /* Two workers: a login's scrypt (~0.1 s) must not stall the other operators' pages. */
    struct http_server_config sc = {
        .workers = 2, .max_body_bytes = 4u << 20, .log = http_log, .log_user = NULL};
    struct console_config cc = {
        .accounts = &w->accounts, .idle_s = c->console_idle_s, .absolute_s = c->console_absolute_s};
    w->srv = http_server_new(&sc);
    w->console = console_new(&cc);
    if (w->srv == NULL || w->console == NULL)
        return IOTSEC_ERR_NOMEM;
    char cert[CONFIG_PATH_MAX + 64], key[CONFIG_PATH_MAX + 64];
    config_path(c, c->tls_cert, cert, sizeof(cert));
    config_path(c, c->tls_key, key, sizeof(key));
    /* A browser has no client certificate: the session cookie is the credential. */
    struct http_listener_config lc = {
        .bind = c->console_listen, .tls = true, .cert_file = cert, .key_file = key};
    w->listener = http_server_listen(w->srv, &lc);
    if (w->listener < 0) {
        log_error("console.listen %s: cannot configure the listener", c->console_listen);
        return w->listener;
    }
    int rc = console_routes(w->console, w->srv);
    if (rc == IOTSEC_OK) /* the same handlers as the admin face: no second logic path */
        rc = http_server_route_copy(w->srv, adm, "/admin/v1/");
    return rc;
}

int console_wire_build(const struct config *c, struct http_server *adm, struct console_wire *w)
{
    w->listener = -1;
    int rc = account_admin_routes(adm, &w->accounts);
    if (rc == IOTSEC_OK)
        rc = http_server_set_gate(adm, account_admin_gate, &w->accounts);
    if (rc == IOTSEC_OK && c->console_listen[0])
        rc = build_console(c, adm, w);
    if (rc != IOTSEC_OK)
        log_error("cannot set up the accounts or the console: %s", iotsec_strerror(rc));
    return rc;
}

void console_wire_url(const struct config *c, const struct console_wire *w, char *out, size_t cap)
{
    out[0] = '\0';
    if (w->srv == NULL)
        return;
    const char *colon = strrchr(c->console_listen, ':');
    int host_len = colon ? (int)(colon - c->console_listen) : (int)strlen(c->console_listen);
    snprintf(out, cap, "https://%.*s:%u", host_len, c->console_listen,
             http_server_port(w->srv, w->listener));
}

void console_wire_free(struct console_wire *w)
{
    http_server_free(w->srv);
    w->srv = NULL;
    console_free(w->console);
    w->console = NULL;
}
