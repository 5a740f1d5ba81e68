/* What a device belongs to, read from the capabilities that own it (groups, PINs), for the
 * console's device page and for iotsecctl: GET /admin/v1/subscribers/{supi}/memberships on
 * the admin face. Read-only: it calls each capability's own store reads and decides nothing. */
#ifndef IOTSEC_DAEMON_DEVICE_VIEW_H
#define IOTSEC_DAEMON_DEVICE_VIEW_H

struct http_server;
struct store;

/* store must outlive adm. */
int device_view_routes(struct http_server *adm, struct store *store);

#endif
