/* Internals of group delivery (group_deliver.c, group_nb.c, group_deliver_admin.c). */
#ifndef IOTSEC_GROUP_DELIVER_INT_H
#define IOTSEC_GROUP_DELIVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "group/group_deliver.h"

struct send_op;

/* One AF delivery in flight: counted by the engine's done hook; kept in the live list until
 * its last member answered, its counts were saved and the AF was told. */
struct dlv {
    struct dlv *next;
    unsigned refs; /* the live list's + one per member request not yet answered */
    char del_ref[GROUP_DEL_REF_MAX];
    char af_id[65];
    char notif_uri[OUTBOUND_URL_MAX + 1];
    int64_t total, delivered, failed;
};

struct group_delivery {
    struct group_service *gs;
    struct group_delivery_config cfg;
    struct store *store;
    const struct seal_kek *kek;
    char api_root[256];
    struct outbound *out;
    pthread_mutex_t mu; /* live, refs, counts */
    struct dlv *live;
    atomic_bool stopping;
    atomic_uint_fast64_t pushed_ok, pushed_failed;
    /* AF requests waiting for the store job that protects them together (group_nb.c) */
    struct send_op *sendq, *sendq_tail;
    bool sendq_job; /* a job is submitted and has not taken the queue yet */
};

/* The body a member's endpoint receives. malloc'd; *out_len its length. */
char *group_push_body(const char *kind, const uint8_t *data, size_t len, size_t *out_len);
void group_owner_of(uint64_t ref, uint32_t leaf, char out[OUTBOUND_OWNER_MAX]);

/* The last member of v answered (or none was to be reached): its counts are saved, the AF is
 * notified, v leaves the live list. Takes over one reference. */
void group_delivery_settle(struct group_delivery *d, struct dlv *v);
void group_dlv_put(struct group_delivery *d, struct dlv *v);
/* One member request of v ended (delivered or not): counts it, drops its reference. */
void group_dlv_answered(struct group_delivery *d, struct dlv *v, bool ok);
/* The live counts of del_ref, when it is still in flight. */
bool group_dlv_counts(struct group_delivery *d, const char *del_ref, int64_t *delivered,
                      int64_t *failed);

/* group_nb.c: the AF's API. */
int group_nb_routes(struct group_delivery *d);
/* Posts MbsGroupMsgDelStatusNotif {delStatus} to the AF's notifUri (owner "af:<id>"). */
void group_delivery_notify(struct group_delivery *d, const struct dlv *v, bool ok);

/* group_deliver_admin.c: PUT /admin/v1/group-endpoints/{supi},
 * PUT /admin/v1/message-groups/{ext}/multicast. */
int group_delivery_admin_routes(struct group_delivery *d, struct http_server *adm);

/* group_fetch.c: POST /device/v1/group-keys (a sleepy member's catch-up). */
int group_fetch_routes(struct group_delivery *d, struct http_server *dev);

#endif
