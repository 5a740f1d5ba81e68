/* The daemon's accounts and console wiring (src/account, src/console): the admin face's gate
 * and /admin/v1/users, and, with console.listen set, the console face serving the page and a
 * copy of every admin API route under browser sessions. */
#ifndef IOTSEC_DAEMON_CONSOLE_WIRE_H
#define IOTSEC_DAEMON_CONSOLE_WIRE_H

#include "account/account.h"
#include "console/console.h"
#include "daemon/config.h"
#include "http/http.h"

struct console_wire {
    struct account_service accounts;
    struct http_server *srv; /* NULL: console.listen is off */
    struct console *console;
    int listener;
};

/* After every admin route is registered on adm (before start): the gate and the users API
 * on adm, then the console face. */
int console_wire_build(const struct config *c, struct http_server *adm, struct console_wire *w);
/* "https://127.0.0.1:9443" once started; "" when off. */
void console_wire_url(const struct config *c, const struct console_wire *w, char *out, size_t cap);
void console_wire_free(struct console_wire *w); /* after the servers stopped */

#endif
