/* Delivering group messages (docs/group.md): the AF's northbound API (TS 29.522
 * MBSGroupMsgDelivery), the network's protection of each message once, and its two delivery
 * paths: unicast fan-out to each member's registered delivery endpoint through the one
 * outbound engine (src/http/outbound.h: SSRF-guarded, retried), and one UDP datagram to the
 * group's multicast address. Membership changes go out the same ways: each joiner's path keys
 * (under its own member key), the signed rekey to the others.
 *
 * What a member's endpoint receives (POST, JSON): {"kind": "path-keys" | "rekey" | "message",
 * "data": base64url of the wire bytes (crypto/group_wire.h)}. A multicast datagram is the wire
 * bytes alone. */
#ifndef IOTSEC_GROUP_DELIVER_H
#define IOTSEC_GROUP_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "group/group_service.h"
#include "http/http.h"
#include "http/outbound.h"

struct expose_nb;

extern const char GROUP_MIGRATION_2[];

#define GROUP_DEL_REF_MAX 40

/* ---- SQL (group_deliver_store.c) ---------------------------------------------------------- */

/* A member's delivery endpoint (per subscription: an https URL the operator registered). */
int group_store_endpoint_set(struct store_conn *c, const char *supi, const char *url);
int group_store_endpoint_get(struct store_conn *c, const char *supi, char *url, size_t cap);
/* Endpoints in SUPI order after `after` ("" or NULL: from the first), at most limit. */
typedef void (*group_endpoint_fn)(const char *supi, const char *url, void *ctx);
int group_store_endpoints(struct store_conn *c, const char *after, size_t limit,
                          group_endpoint_fn fn, void *ctx);

/* A group's multicast destination ("239.1.2.3:5000") and the local address of the interface
 * it leaves by ("" for the default route). IOTSEC_ERR_NOTFOUND when it has none. */
int group_store_multicast_set(struct store_conn *c, uint64_t ref, const char *dest,
                              const char *iface);
int group_store_multicast_get(struct store_conn *c, uint64_t ref, char *dest, size_t dcap,
                              char *iface, size_t icap);

/* Members with their endpoints (url "" when none), leaves, and whether the subscription is
 * active. */
typedef int (*group_target_fn)(const char *supi, const char *url, uint32_t leaf, bool active,
                               void *ctx);
int group_store_targets(struct store_conn *c, uint64_t ref, group_target_fn fn, void *ctx);

/* Does leaf of ref still hold a member with an active subscription (the re-check before each
 * unicast attempt)? */
int group_store_leaf_active(struct store_conn *c, uint64_t ref, uint32_t leaf, bool *yes);

/* The owner named in a consent (expose_consents): the group's owner must have given it. */
int group_store_consent_owner(struct store_conn *c, const char *consent_id, char *owner,
                              size_t cap);

struct group_delivery_row {
    char del_ref[GROUP_DEL_REF_MAX];
    char af_id[65];
    char external_id[GROUP_EXT_ID_MAX + 1];
    char notif_uri[OUTBOUND_URL_MAX + 1];
    char start_time[40], stop_time[40];
    char serv_area[1024]; /* the AF's mbsServArea as it sent it (JSON) */
    uint32_t epoch;
    int64_t created_at;
    int64_t total, delivered, failed; /* unicast members; pending = total - delivered - failed */
    bool multicast;                   /* one datagram went to the group's multicast address */
};

int group_store_delivery_insert(struct store_conn *c, const struct group_delivery_row *d);
int group_store_delivery_counts(struct store_conn *c, const char *del_ref, int64_t delivered,
                                int64_t failed);
int group_store_delivery_get(struct store_conn *c, const char *del_ref,
                             struct group_delivery_row *out);
int group_store_delivery_delete(struct store_conn *c, const char *del_ref, const char *af_id);
typedef void (*group_delivery_fn)(const struct group_delivery_row *d, void *ctx);
int group_store_deliveries_of(struct store_conn *c, const char *af_id, group_delivery_fn fn,
                              void *ctx);

/* ---- the delivery module (group_deliver.c) ------------------------------------------------ */

struct group_delivery_config {
    struct expose_nb *nb;        /* the AF side: decisions, allow-lists, audit */
    struct outbound_rules rules; /* the lab switch (http to loopback) for endpoints, AFs */
    const char *ca_file;         /* NULL: the system store */
    const char *api_root;        /* "https://host:port" of the northbound face (Location) */
    struct http_server *dev;     /* the device face (path-key fetch), or NULL */
};

struct group_delivery;

/* Starts the outbound engine, hooks membership changes, registers the northbound routes
 * (/3gpp-mbs-group-msg/v1/deliveries..., through cfg->nb) and the admin routes for endpoints
 * and multicast (adm). Call before the servers start. */
int group_delivery_new(struct group_service *gs, const struct group_delivery_config *cfg,
                       struct http_server *adm, struct group_delivery **out);
/* Stops the engine (what is queued is abandoned). After the servers stopped, before the store
 * closes and before group_service_free. NULL is a no-op. */
void group_delivery_free(struct group_delivery *d);

/* "a.b.c.d:port" with a multicast (224/4) address. */
bool group_multicast_dest_valid(const char *dest);

/* One UDP datagram to dest ("a.b.c.d:port"), leaving by the interface with local address
 * iface ("" or NULL: the routing table's). Multicast TTL 1 unless dest is not multicast. */
int group_multicast_send(const char *dest, const char *iface, const uint8_t *msg, size_t len);

#endif
