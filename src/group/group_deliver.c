/* The network's delivery of group traffic: see group_deliver.h. One outbound engine for every
 * unicast push (member messages, path keys, rekeys, the AF's status notifications), its check
 * hook re-deciding before each attempt (a member removed or quarantined mid-delivery gets
 * nothing; an AF's notification goes only where its allow-list says), and one UDP datagram per
 * message or rekey to the group's multicast address. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "expose/northbound.h"
#include "group/group_deliver_int.h"
#include "subscriber/subscriber.h"

/* ---- multicast ------------------------------------------------------------------------- */

static int parse_dest(const char *dest, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(dest, ':');
    if (colon == NULL || (size_t)(colon - dest) >= sizeof(host))
        return IOTSEC_ERR_INVALID;
    memcpy(host, dest, (size_t)(colon - dest));
    host[colon - dest] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return IOTSEC_ERR_INVALID;
    sa->sin_port = htons((uint16_t)port);
    return IOTSEC_OK;
}

bool group_multicast_dest_valid(const char *dest)
{
    struct sockaddr_in sa;
    return parse_dest(dest, &sa) == IOTSEC_OK && IN_MULTICAST(ntohl(sa.sin_addr.s_addr));
}

int group_multicast_send(const char *dest, const char *iface, const uint8_t *msg, size_t len)
{
    struct sockaddr_in sa;
    if (parse_dest(dest, &sa) != IOTSEC_OK || len > 65000)
        return IOTSEC_ERR_INVALID;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return IOTSEC_ERR_IO;
    unsigned char ttl = 1, loop = 1;
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
    int rc = IOTSEC_OK;
    if (iface != NULL && iface[0]) {
        struct in_addr ifa;
        if (inet_pton(AF_INET, iface, &ifa) != 1 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)) != 0)
            rc = IOTSEC_ERR_INVALID;
    }
    if (rc == IOTSEC_OK &&
        sendto(fd, msg, len, 0, (const struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)len)
        rc = IOTSEC_ERR_IO;
    close(fd);
    return rc;
}

/* ---- the engine's hooks ---------------------------------------------------------------- */

/* Owners: "gm:<ref hex>:<leaf>" for a member (the SUPI never goes into the engine, whose
 * refusals are logged), "af:<af id>" for an AF's notification. */
static bool check(void *ctx, const char *owner, struct outbound_rules *rules)
{
    struct group_delivery *d = ctx;
    if (strncmp(owner, "af:", 3) == 0)
        return expose_nb_af_destinations(d->cfg.nb, owner + 3, rules) == IOTSEC_OK;
    uint64_t ref;
    uint32_t leaf;
    if (sscanf(owner, "gm:%" SCNx64 ":%" SCNu32, &ref, &leaf) != 2)
        return false;
    struct store_conn *c;
    bool yes = false;
    return store_reader_get(d->store, &c) == IOTSEC_OK &&
           group_store_leaf_active(c, ref, leaf, &yes) == IOTSEC_OK && yes;
}

void group_dlv_put(struct group_delivery *d, struct dlv *v)
{
    pthread_mutex_lock(&d->mu);
    bool last = --v->refs == 0;
    pthread_mutex_unlock(&d->mu);
    if (last)
        free(v);
}

bool group_dlv_counts(struct group_delivery *d, const char *del_ref, int64_t *delivered,
                      int64_t *failed)
{
    bool found = false;
    pthread_mutex_lock(&d->mu);
    for (struct dlv *v = d->live; v != NULL && !found; v = v->next) {
        if (strcmp(v->del_ref, del_ref) == 0) {
            *delivered = v->delivered;
            *failed = v->failed;
            found = true;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return found;
}

/* Takes v out of the live list and drops the list's reference. */
static void unlist(struct group_delivery *d, struct dlv *v)
{
    pthread_mutex_lock(&d->mu);
    for (struct dlv **pp = &d->live; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == v) {
            *pp = v->next;
            v->refs--;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

/* The delivery's last member answered: counts persisted, then the AF told. */
struct final_job {
    struct group_delivery *d;
    struct dlv *v;
    int64_t delivered, failed;
};

static int final_run(struct store_conn *c, void *arg)
{
    struct final_job *j = arg;
    int rc = group_store_delivery_counts(c, j->v->del_ref, j->delivered, j->failed);
    return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_OK : rc; /* withdrawn meanwhile */
}

static void final_done(void *arg, int rc)
{
    struct final_job *j = arg;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "groups: a delivery's final counts were not saved: %s",
                iotsec_strerror(rc));
    if (!atomic_load(&j->d->stopping))
        group_delivery_notify(j->d, j->v, j->failed == 0);
    unlist(j->d, j->v);
    group_dlv_put(j->d, j->v);
    free(j);
}

void group_delivery_settle(struct group_delivery *d, struct dlv *v)
{
    struct final_job *j = calloc(1, sizeof(*j));
    if (j == NULL || atomic_load(&d->stopping)) {
        free(j);
        group_dlv_put(d, v);
        return;
    }
    pthread_mutex_lock(&d->mu);
    *j = (struct final_job){d, v, v->delivered, v->failed};
    pthread_mutex_unlock(&d->mu);
    struct store_job job = {final_run, final_done, j};
    if (store_submit(d->store, &job) != IOTSEC_OK)
        final_done(j, IOTSEC_ERR_BUSY);
}

static void done(void *ctx, void *tag, enum outbound_result r)
{
    struct group_delivery *d = ctx;
    if (r == OUTBOUND_DELIVERED)
        atomic_fetch_add(&d->pushed_ok, 1);
    else
        atomic_fetch_add(&d->pushed_failed, 1);
    if (tag != NULL) /* a rekey, path keys or a notification: nothing counts them */
        group_dlv_answered(d, tag, r == OUTBOUND_DELIVERED);
}

void group_dlv_answered(struct group_delivery *d, struct dlv *v, bool ok)
{
    pthread_mutex_lock(&d->mu);
    if (ok)
        v->delivered++;
    else
        v->failed++;
    bool last = v->delivered + v->failed == v->total;
    pthread_mutex_unlock(&d->mu);
    if (last)
        group_delivery_settle(d, v); /* keeps the member's reference for the final job */
    else
        group_dlv_put(d, v);
}

/* ---- pushes ---------------------------------------------------------------------------- */

char *group_push_body(const char *kind, const uint8_t *data, size_t len, size_t *out_len)
{
    static const char pre[] = "{\"kind\":\"", mid[] = "\",\"data\":\"", post[] = "\"}";
    size_t n = strlen(pre) + strlen(kind) + strlen(mid) + b64url_len(len) + strlen(post);
    char *b = malloc(n + 1);
    if (b == NULL)
        return NULL;
    char *p = b + sprintf(b, "%s%s%s", pre, kind, mid);
    b64url_encode(data, len, p);
    strcpy(p + b64url_len(len), post);
    *out_len = n;
    return b;
}

void group_owner_of(uint64_t ref, uint32_t leaf, char out[OUTBOUND_OWNER_MAX])
{
    snprintf(out, OUTBOUND_OWNER_MAX, "gm:%016" PRIx64 ":%" PRIu32, ref, leaf);
}

struct push_item {
    char *url;
    char owner[OUTBOUND_OWNER_MAX];
    char *body; /* NULL: the shared rekey body */
    size_t len;
};

struct push {
    struct push_item *items;
    size_t n, cap;
    char *rekey_body;
    size_t rekey_body_len;
    uint8_t *rekey; /* for multicast */
    size_t rekey_len;
    char mc_dest[64], mc_iface[64];
    struct push *next; /* an eviction's several groups */
};

static void push_free(struct push *p)
{
    while (p != NULL) {
        struct push *next = p->next;
        for (size_t i = 0; i < p->n; i++) {
            free(p->items[i].url);
            free(p->items[i].body);
        }
        free(p->items);
        free(p->rekey_body);
        free(p->rekey);
        free(p);
        p = next;
    }
}

static int push_add(struct push *p, const char *url, uint64_t ref, uint32_t leaf, char *body,
                    size_t len)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        void *n = realloc(p->items, cap * sizeof(*p->items));
        if (n == NULL)
            return IOTSEC_ERR_NOMEM;
        p->items = n;
        p->cap = cap;
    }
    struct push_item *it = &p->items[p->n];
    if ((it->url = strdup(url)) == NULL)
        return IOTSEC_ERR_NOMEM;
    group_owner_of(ref, leaf, it->owner);
    it->body = body;
    it->len = len;
    p->n++;
    return IOTSEC_OK;
}

struct collect_ctx {
    struct group_delivery *d;
    struct store_conn *c;
    const struct group *g;
    const struct group_change *ch;
    struct push *p;
};

static bool is_joiner(const struct group_change *ch, const char *supi)
{
    for (size_t i = 0; i < ch->nadd; i++)
        if (strcmp(ch->add[i], supi) == 0)
            return true;
    return false;
}

/* A joiner's path keys under its own member key: K_GM from its subscription's long-term key
 * (its provisioning credential, which its USIM holds; docs/group.md). */
static int path_body(struct collect_ctx *x, const char *supi, uint32_t leaf, char **body,
                     size_t *len)
{
    struct subscription sub;
    struct sub_keys keys;
    struct group_path path;
    uint8_t kgm[GROUP_MKEY_LEN], out[GROUP_PATH_HDR_LEN + GROUP_PUB_LEN +
                                     (GROUP_MAX_DEPTH + 1) * GROUP_KEY_LEN + GROUP_TAG_LEN];
    size_t n;
    int rc = subscriber_get_keys_on(x->c, x->d->kek, supi, &sub, &keys);
    if (rc == IOTSEC_OK)
        rc = group_member_key(keys.k, sizeof(keys.k), x->g->ref, kgm);
    secure_wipe(&keys, sizeof(keys));
    if (rc == IOTSEC_OK)
        rc = group_tree_path(&x->g->tree, x->g->ref, leaf, &path);
    if (rc == IOTSEC_OK) {
        group_service_sign_pub(x->d->gs, path.sign_pub);
        rc = group_path_seal(kgm, &path, out, sizeof(out), &n);
    }
    secure_wipe(&path, sizeof(path));
    secure_wipe(kgm, sizeof(kgm));
    if (rc == IOTSEC_OK && (*body = group_push_body("path-keys", out, n, len)) == NULL)
        rc = IOTSEC_ERR_NOMEM;
    return rc;
}

static int collect_one(const char *supi, const char *url, uint32_t leaf, bool active, void *ctx)
{
    struct collect_ctx *x = ctx;
    if (url[0] == 0 || !active)
        return IOTSEC_OK;
    char *body = NULL;
    size_t len = 0;
    if (is_joiner(x->ch, supi)) {
        int rc = path_body(x, supi, leaf, &body, &len);
        if (rc != IOTSEC_OK)
            return rc;
    }
    int rc = push_add(x->p, url, x->g->ref, leaf, body, len);
    if (rc != IOTSEC_OK)
        free(body);
    return rc;
}

static int collect(void *ctx, struct store_conn *c, const struct group *g,
                   const struct group_change *ch, const uint8_t *rekey, size_t rekey_len,
                   void **pushp)
{
    struct group_delivery *d = ctx;
    struct push *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return IOTSEC_ERR_NOMEM;
    p->next = *pushp; /* an eviction's earlier groups */
    *pushp = p;
    p->rekey = malloc(rekey_len);
    p->rekey_body = group_push_body("rekey", rekey, rekey_len, &p->rekey_body_len);
    if (p->rekey == NULL || p->rekey_body == NULL)
        return IOTSEC_ERR_NOMEM;
    memcpy(p->rekey, rekey, rekey_len);
    p->rekey_len = rekey_len;
    int rc = group_store_multicast_get(c, g->ref, p->mc_dest, sizeof(p->mc_dest), p->mc_iface,
                                       sizeof(p->mc_iface));
    if (rc == IOTSEC_ERR_NOTFOUND)
        p->mc_dest[0] = 0;
    else if (rc != IOTSEC_OK)
        return rc;
    struct collect_ctx x = {d, c, g, ch, p};
    return group_store_targets(c, g->ref, collect_one, &x);
}

static void finish(void *ctx, void *pushp, int rc)
{
    struct group_delivery *d = ctx;
    bool send = rc == IOTSEC_OK && !atomic_load(&d->stopping);
    for (struct push *p = pushp; send && p != NULL; p = p->next) {
        /* the rekey first on multicast: the members there need it before the next message */
        if (p->mc_dest[0] &&
            group_multicast_send(p->mc_dest, p->mc_iface, p->rekey, p->rekey_len) != IOTSEC_OK)
            log_msg(LOG_WARN, NULL, "groups: a rekey could not be multicast");
        for (size_t i = 0; i < p->n; i++) {
            const struct push_item *it = &p->items[i];
            const char *body = it->body ? it->body : p->rekey_body;
            size_t len = it->body ? it->len : p->rekey_body_len;
            outbound_post(d->out, it->url, it->owner, body, len, NULL);
        }
    }
    push_free(pushp);
}

/* ---- start, stop ----------------------------------------------------------------------- */

int group_delivery_new(struct group_service *gs, const struct group_delivery_config *cfg,
                       struct http_server *adm, struct group_delivery **out)
{
    *out = NULL;
    struct group_delivery *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return IOTSEC_ERR_NOMEM;
    d->gs = gs;
    d->cfg = *cfg;
    d->store = group_service_options(gs)->store;
    d->kek = group_service_options(gs)->kek;
    snprintf(d->api_root, sizeof(d->api_root), "%s", cfg->api_root ? cfg->api_root : "");
    d->cfg.api_root = d->api_root;
    pthread_mutex_init(&d->mu, NULL);
    struct outbound_config oc = {.rules = cfg->rules,
                                 .ca_file = cfg->ca_file,
                                 .check = check,
                                 .check_ctx = d,
                                 .done = done,
                                 .done_ctx = d,
                                 .queue_max = 200000,
                                 .max_inflight = 128};
    int rc = outbound_new(&oc, &d->out);
    if (rc == IOTSEC_OK)
        rc = group_nb_routes(d);
    if (rc == IOTSEC_OK && adm != NULL)
        rc = group_delivery_admin_routes(d, adm);
    if (rc == IOTSEC_OK && cfg->dev != NULL)
        rc = group_fetch_routes(d, cfg->dev);
    if (rc != IOTSEC_OK) {
        group_delivery_free(d);
        return rc;
    }
    struct group_push_hooks h = {collect, finish, d};
    group_service_set_push(gs, &h);
    *out = d;
    return IOTSEC_OK;
}

static int noop_run(struct store_conn *c, void *arg)
{
    (void)c;
    (void)arg;
    return IOTSEC_OK;
}

void group_delivery_free(struct group_delivery *d)
{
    if (d == NULL)
        return;
    atomic_store(&d->stopping, true);
    struct group_push_hooks none = {0};
    group_service_set_push(d->gs, &none); /* no job collects for us any more */
    outbound_free(d->out); /* abandons what is queued: each done() drops its reference */
    /* every job queued before (a change that collected, a delivery's final job) has run its
     * done callback, with us still here, once this no-op is through */
    store_write_sync(d->store, noop_run, NULL);
    while (d->live != NULL) {
        struct dlv *v = d->live;
        d->live = v->next;
        free(v);
    }
    pthread_mutex_destroy(&d->mu);
    free(d);
}
