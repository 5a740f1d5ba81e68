/* iotsec-sim group: N simulated members of one message group against a running iotsecd
 * (docs/group.md), each a real receiver (sdk/group_member.c) behind its own delivery endpoint
 * (a small HTTP server of the sim's on loopback: the daemon's lab switch
 * location.notify_http_loopback must be on), and a real AF (mTLS + OAuth2) with the group
 * owner's consent sending through the northbound API (TS 29.522 MBSGroupMsgDelivery). The
 * devices join with the path keys pushed to them under their own member keys; the AF sends M
 * messages; K members are removed (a signed rekey each); M more messages; a member forges one
 * message with the group key it holds; a captured message is replayed to everyone. With
 * --broadcast the messages also come as one UDP datagram to a multicast group on loopback;
 * with --quarantine the K leavers are quarantined (the policy evicts them) instead of removed.
 * The last stdout line is the JSON object. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/b64url.h"
#include "base/err.h"
#include "group_member.h"
#include "sim.h"

#define OWNER   "sim-utility"
#define PENDING 8 /* pushes a device keeps while a rekey it needs has not arrived */

struct held {
    char kind;
    uint8_t *data;
    size_t len;
};

struct dev {
    pthread_mutex_t mu;
    char supi[32];
    uint8_t k[16];
    struct group_member m;
    bool joined, left;
    unsigned got; /* messages verified */
    struct held pending[PENDING];
    unsigned npending;
};

#define CONNS_MAX 256

struct run {
    const struct sim_instance *in;
    struct dev *d;
    uint32_t n;
    int lfd;
    uint16_t port;
    pthread_t accept_thread, mc_thread;
    bool mc_running;
    int mc_fd;
    int conns[CONNS_MAX]; /* open endpoint connections (-1: free slot), to end them */
    unsigned nthreads;    /* endpoint threads running */
    pthread_cond_t idle;
    pthread_mutex_t mu;
    double *lat; /* (device, message) latencies */
    size_t nlat, cap;
    double sent_at[64]; /* by message number (payload "m<i>") */
    uint8_t *captured;  /* the last message a stayer verified (for the replay) */
    size_t captured_len;
    unsigned rejected_other;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- a device's pushes ----------------------------------------------------------------- */

static void verified(struct run *r, const uint8_t *pt, size_t len, const uint8_t *msg,
                     size_t msg_len)
{
    unsigned i;
    char text[16];
    snprintf(text, sizeof(text), "%.*s", (int)(len < 15 ? len : 15), (const char *)pt);
    pthread_mutex_lock(&r->mu);
    if (sscanf(text, "m%u", &i) == 1 && i < 64 && r->sent_at[i] > 0) {
        if (r->nlat == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 1024;
            double *n = realloc(r->lat, cap * sizeof(double));
            if (n) {
                r->lat = n;
                r->cap = cap;
            }
        }
        if (r->nlat < r->cap)
            r->lat[r->nlat++] = now_ms() - r->sent_at[i];
    }
    if (r->captured == NULL || r->captured_len < msg_len) {
        free(r->captured);
        r->captured = malloc(msg_len);
    }
    if (r->captured) {
        memcpy(r->captured, msg, msg_len);
        r->captured_len = msg_len;
    }
    pthread_mutex_unlock(&r->mu);
}

/* One push to device d (its lock held): 0 applied, 1 held for later, -1 refused. */
static int apply(struct run *r, struct dev *d, char kind, const uint8_t *data, size_t len)
{
    int rc;
    if (kind == 'p') {
        uint64_t ref = 0;
        uint8_t kgm[GROUP_MKEY_LEN];
        if (len < 10)
            return -1;
        for (int b = 0; b < 8; b++)
            ref = ref << 8 | data[2 + b];
        if (!d->joined) {
            group_member_key(d->k, sizeof(d->k), ref, kgm);
            group_member_init(&d->m, ref, kgm);
            OPENSSL_cleanse(kgm, sizeof(kgm));
        }
        rc = group_member_join(&d->m, data, len);
        d->joined = d->joined || rc == IOTSEC_OK;
    } else if (!d->joined) {
        return 1; /* the path keys are on their way */
    } else if (kind == 'r') {
        rc = group_member_rekey(&d->m, data, len);
    } else {
        uint8_t pt[GROUP_MAX_PAYLOAD];
        size_t pt_len;
        uint32_t sender;
        rc = group_member_receive(&d->m, data, len, pt, sizeof(pt), &pt_len, &sender);
        if (rc == IOTSEC_OK) {
            d->got++;
            verified(r, pt, pt_len, data, len);
        }
    }
    if (rc == GROUP_ERR_FUTURE_EPOCH)
        return 1; /* a rekey overtaken on another connection: wait for it */
    if (rc == GROUP_ERR_STALE_EPOCH && kind == 'r')
        return 0; /* the same rekey by multicast and unicast */
    if (rc == GROUP_ERR_REPLAYED && kind == 'm')
        return 0; /* the same message by multicast and unicast */
    if (rc != IOTSEC_OK) {
        pthread_mutex_lock(&r->mu);
        r->rejected_other++;
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    return 0;
}

static void deliver(struct run *r, struct dev *d, char kind, const uint8_t *data, size_t len)
{
    pthread_mutex_lock(&d->mu);
    if (apply(r, d, kind, data, len) == 1 && d->npending < PENDING) {
        struct held *h = &d->pending[d->npending];
        if ((h->data = malloc(len)) != NULL) {
            memcpy(h->data, data, len);
            h->len = len;
            h->kind = kind;
            d->npending++;
        }
    }
    /* what waited may go now */
    for (bool progress = true; progress;) {
        progress = false;
        for (unsigned i = 0; i < d->npending; i++) {
            struct held h = d->pending[i];
            if (apply(r, d, h.kind, h.data, h.len) == 1)
                continue;
            free(h.data);
            d->pending[i] = d->pending[--d->npending];
            progress = true;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

/* ---- the endpoints: one HTTP/1.1 server, POST /m/<device> ----------------------------- */

static void handle_body(struct run *r, uint32_t i, const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    const char *k = json_string_value(json_object_get(o, "kind"));
    const char *s = json_string_value(json_object_get(o, "data"));
    uint8_t buf[65536];
    size_t len;
    if (k && s && i < r->n && b64url_decode(s, strlen(s), buf, sizeof(buf), &len) == IOTSEC_OK)
        deliver(r, &r->d[i], k[0], buf, len);
    json_decref(o);
}

struct conn {
    struct run *r;
    int fd, slot;
};

static void *serve(void *arg)
{
    struct conn c = *(struct conn *)arg;
    free(arg);
    size_t cap = 1 << 17, have = 0;
    char *b = malloc(cap + 1);
    while (b != NULL) {
        char *end = NULL;
        while ((end = memmem(b, have, "\r\n\r\n", 4)) == NULL) {
            ssize_t n = have < cap ? read(c.fd, b + have, cap - have) : -1;
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        b[have] = 0;
        size_t hdr = (size_t)(end - b) + 4, clen = 0;
        uint32_t dev = UINT32_MAX;
        sscanf(b, "POST /m/%u", &dev);
        for (char *p = b; p && p < end; p = strstr(p + 1, "\r\n"))
            if (strncasecmp(p, "\r\nContent-Length:", 17) == 0)
                clen = strtoul(p + 17, NULL, 10);
        if (hdr + clen > cap)
            break;
        while (have < hdr + clen) {
            ssize_t n = read(c.fd, b + have, cap - have);
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        char save = b[hdr + clen];
        b[hdr + clen] = 0;
        handle_body(c.r, dev, b + hdr);
        b[hdr + clen] = save;
        static const char ok[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        if (write(c.fd, ok, sizeof(ok) - 1) < 0)
            break;
        memmove(b, b + hdr + clen, have - hdr - clen);
        have -= hdr + clen;
    }
out:
    free(b);
    /* The thread is detached and the run ends as soon as it reports itself done: free
     * OpenSSL's per-thread state (its error queue: a rejected forgery fills it) now, not in a
     * thread-exit destructor the process may not wait for (LeakSanitizer saw that race). */
    OPENSSL_thread_stop();
    pthread_mutex_lock(&c.r->mu);
    c.r->conns[c.slot] = -1;
    close(c.fd);
    if (--c.r->nthreads == 0)
        pthread_cond_broadcast(&c.r->idle);
    pthread_mutex_unlock(&c.r->mu);
    return NULL;
}

static void *accepter(void *arg)
{
    struct run *r = arg;
    for (;;) {
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            return NULL; /* the listener was shut down: the run is over */
        struct conn *c = malloc(sizeof(*c));
        pthread_t t;
        int slot = -1;
        pthread_mutex_lock(&r->mu);
        for (int i = 0; i < CONNS_MAX && slot < 0; i++)
            if (r->conns[i] < 0)
                slot = i;
        if (c != NULL && slot >= 0) {
            *c = (struct conn){r, fd, slot};
            r->conns[slot] = fd;
            r->nthreads++;
            if (pthread_create(&t, NULL, serve, c) == 0) {
                pthread_detach(t);
                c = NULL;
                fd = -1;
            } else {
                r->conns[slot] = -1;
                r->nthreads--;
            }
        }
        pthread_mutex_unlock(&r->mu);
        free(c);
        if (fd >= 0)
            close(fd);
    }
}

static int listen_local(struct run *r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int one = 1;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->lfd < 0 || setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(r->lfd, 256) != 0 ||
        getsockname(r->lfd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    r->port = ntohs(sa.sin_port);
    for (int i = 0; i < CONNS_MAX; i++)
        r->conns[i] = -1;
    return pthread_create(&r->accept_thread, NULL, accepter, r) == 0 ? 0 : -1;
}

/* Ends the endpoints and the multicast receiver, waits for their threads. */
static void stop_local(struct run *r)
{
    shutdown(r->lfd, SHUT_RDWR);
    pthread_join(r->accept_thread, NULL);
    close(r->lfd);
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < CONNS_MAX; i++)
        if (r->conns[i] >= 0)
            shutdown(r->conns[i], SHUT_RDWR);
    while (r->nthreads > 0)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (r->mc_running) {
        shutdown(r->mc_fd, SHUT_RDWR);
        pthread_join(r->mc_thread, NULL);
        close(r->mc_fd);
    }
}

/* ---- multicast (--broadcast) ------------------------------------------------------------ */

struct mc {
    struct run *r;
    int fd;
};

static void *mc_loop(void *arg)
{
    struct mc *m = arg;
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(m->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return NULL;
        char kind = n > 2 && buf[1] == 2 ? 'r' : 'm';
        for (uint32_t i = 0; i < m->r->n; i++) /* one ciphertext, every receiver */
            if (!m->r->d[i].left)
                deliver(m->r, &m->r->d[i], kind, buf, (size_t)n);
    }
}

static int mc_open(struct run *r, uint16_t *port)
{
    static struct mc m; /* lives as long as the run */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof(sa);
    struct ip_mreq mr;
    inet_pton(AF_INET, "239.77.0.1", &mr.imr_multiaddr);
    inet_pton(AF_INET, "127.0.0.1", &mr.imr_interface);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
        return -1;
    *port = ntohs(sa.sin_port);
    m = (struct mc){r, fd};
    if (pthread_create(&r->mc_thread, NULL, mc_loop, &m) != 0)
        return -1;
    r->mc_fd = fd;
    r->mc_running = true;
    return 0;
}

/* ---- the AF ------------------------------------------------------------------------------- */

static int af_new(const struct sim_instance *in, struct sim_ca *ca, struct sim_af *a)
{
    if (sim_af_register(in, ca, "sim-group-af", "group-message", a) != 0)
        return -1;
    return sim_af_token(in, a, "group-message");
}

static long af_send(struct run *r, const struct sim_af *a, const char *group, unsigned i)
{
    char text[16], b64[32], body[1024];
    int n = snprintf(text, sizeof(text), "m%u", i);
    /* base64 of a short ASCII text (RFC 4648, padded) */
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (int k = 0; k < n; k += 3) {
        uint32_t w = (uint32_t)(uint8_t)text[k] << 16 |
                     (k + 1 < n ? (uint32_t)(uint8_t)text[k + 1] << 8 : 0) |
                     (k + 2 < n ? (uint8_t)text[k + 2] : 0);
        b64[o++] = t[w >> 18 & 63];
        b64[o++] = t[w >> 12 & 63];
        b64[o++] = k + 1 < n ? t[w >> 6 & 63] : '=';
        b64[o++] = k + 2 < n ? t[w & 63] : '=';
    }
    b64[o] = 0;
    snprintf(body, sizeof(body),
             "{\"externalGroupId\":\"%s\",\"groupMsgDelPayload\":\"%s\",\"mbsServArea\":"
             "{\"taiList\":[{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},\"tac\":\"000001\"}]},"
             "\"startTime\":\"2026-01-01T00:00:00Z\",\"stopTime\":\"2036-01-01T00:00:00Z\","
             "\"notifUri\":\"http://127.0.0.1:%u/af\"}",
             group, b64, r->in->mcc, r->in->mnc, r->port);
    pthread_mutex_lock(&r->mu);
    r->sent_at[i] = now_ms();
    pthread_mutex_unlock(&r->mu);
    return sim_af_call(r->in, a, "POST", "/3gpp-mbs-group-msg/v1/deliveries", "application/json",
                       body, NULL);
}

/* ---- the run ------------------------------------------------------------------------------ */

static long admin_json(const struct sim_instance *in, const char *method, const char *path,
                       const char *body, json_t **answer)
{
    char *out = NULL;
    long st = sim_admin(in, method, path, body, body ? strlen(body) : 0, &out);
    if (answer)
        *answer = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return st;
}

/* Waits until every device not left has `want` verified messages and epoch >= epoch. */
static bool wait_for(struct run *r, unsigned want, uint32_t epoch, double ms)
{
    double end = now_ms() + ms;
    while (now_ms() < end) {
        bool all = true;
        for (uint32_t i = 0; i < r->n && all; i++) {
            struct dev *d = &r->d[i];
            pthread_mutex_lock(&d->mu);
            all = d->left || (d->joined && d->got >= want && d->m.epoch >= epoch);
            pthread_mutex_unlock(&d->mu);
        }
        if (all)
            return true;
        usleep(20000);
    }
    return false;
}

/* The group's epoch as the operator sees it, once it reached at least want (a quarantine's
 * eviction rekeys in the background), or after 10 s. */
static uint32_t group_epoch(const struct sim_instance *in, const char *group, uint32_t want)
{
    char path[256];
    uint32_t e = 0;
    snprintf(path, sizeof(path), "/admin/v1/message-groups/%s", group);
    for (int k = 0; k < 500 && e < want; k++) {
        json_t *o = NULL;
        if (admin_json(in, "GET", path, NULL, &o) == 200)
            e = (uint32_t)json_integer_value(json_object_get(o, "epoch"));
        json_decref(o);
        if (e < want)
            usleep(20000);
    }
    return e;
}

/* The run itself (r set up: endpoints listening, devices zeroed); its exit status. */
static int scenario(struct run *rp, uint32_t leave, uint32_t messages, bool broadcast,
                    bool quarantine)
{
    struct run *r = rp;
    uint32_t n = r->n;
    const struct sim_instance *in = r->in;
    uint16_t mc_port = 0;
    if (broadcast && mc_open(r, &mc_port) != 0) {
        fprintf(stderr, "iotsec-sim group: no multicast on loopback here: unicast only\n");
        broadcast = false;
    }
    uint8_t tag[4];
    RAND_bytes(tag, sizeof(tag));
    char group[96], path[256], body[512];
    snprintf(group, sizeof(group), "sim-%02x%02x%02x%02x@meters.example", tag[0], tag[1], tag[2],
             tag[3]);
    json_t *ans = NULL;
    snprintf(body, sizeof(body), "{\"externalGroupId\":\"%s\",\"owner\":\"" OWNER "\"}", group);
    if (admin_json(in, "POST", "/admin/v1/message-groups", body, NULL) != 201) {
        fprintf(stderr, "iotsec-sim group: the group could not be created\n");
        return 2;
    }
    if (broadcast) {
        snprintf(path, sizeof(path), "/admin/v1/message-groups/%s/multicast", group);
        snprintf(body, sizeof(body), "{\"dest\":\"239.77.0.1:%u\",\"iface\":\"127.0.0.1\"}",
                 mc_port);
        admin_json(in, "PUT", path, body, NULL);
    }
    /* the subscriptions, their endpoints, then one batch: one rekey, n path-key pushes */
    json_t *supis = json_array();
    for (uint32_t i = 0; i < n; i++) {
        struct dev *d = &r->d[i];
        pthread_mutex_init(&d->mu, NULL);
        RAND_bytes(d->k, sizeof(d->k));
        snprintf(d->supi, sizeof(d->supi), "imsi-%s%s%0*u", in->mcc, in->mnc,
                 15 - 3 - (int)strlen(in->mnc), 770000 + tag[0] * 1000 + i);
        char khex[33];
        for (int b = 0; b < 16; b++)
            sprintf(khex + 2 * b, "%02x", d->k[b]);
        snprintf(body, sizeof(body),
                 "{\"supi\":\"%s\",\"k\":\"%s\",\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\","
                 "\"amf\":\"8000\",\"owner\":\"" OWNER "\"}",
                 d->supi, khex);
        long st = admin_json(in, "POST", "/admin/v1/subscribers", body, NULL);
        snprintf(path, sizeof(path), "/admin/v1/group-endpoints/%s", d->supi);
        snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%u/m/%u\"}", r->port, i);
        if (st != 201 || admin_json(in, "PUT", path, body, NULL) != 200) {
            fprintf(stderr,
                    "iotsec-sim group: member %u could not be set up (is "
                    "location.notify_http_loopback on?)\n",
                    i);
            return 2;
        }
        json_array_append_new(supis, json_string(d->supi));
    }
    json_t *req = json_pack("{s:o}", "supis", supis);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    snprintf(path, sizeof(path), "/admin/v1/message-groups/%s/members", group);
    long st = admin_json(in, "POST", path, text, &ans);
    free(text);
    uint32_t epoch = (uint32_t)json_integer_value(json_object_get(ans, "epoch"));
    json_int_t rekey_bytes = json_integer_value(json_object_get(ans, "rekeyBytes"));
    json_decref(ans);
    if (st != 200 || !wait_for(r, 0, epoch, 30000)) {
        fprintf(stderr, "iotsec-sim group: the members did not all join\n");
        return 1;
    }
    /* the AF, with the group owner's consent */
    struct sim_ca *ca = NULL;
    struct sim_af af;
    if (sim_ca_new("iotsec-sim group AF CA", &ca) != IOTSEC_OK || af_new(in, ca, &af) != 0) {
        fprintf(stderr, "iotsec-sim group: cannot register the AF\n");
        return 2;
    }
    snprintf(body, sizeof(body),
             "{\"af_id\":\"%s\",\"scope\":\"group-message\",\"group\":\"%s\",\"owner\":"
             "\"" OWNER "\"}",
             af.af_id, group);
    admin_json(in, "POST", "/admin/v1/consents", body, NULL);
    unsigned sent = 0, refused = 0;
    for (unsigned i = 0; i < messages; i++) {
        long s = af_send(r, &af, group, sent);
        sent += s == 201;
        refused += s != 201;
    }
    bool ok = wait_for(r, sent, epoch, 30000);
    /* K members leave (removed, or quarantined: evicted by the policy): a signed rekey each,
     * pushed to the stayers */
    for (uint32_t i = 0; i < leave; i++) {
        struct dev *d = &r->d[n - 1 - i];
        if (quarantine) {
            snprintf(path, sizeof(path), "/admin/v1/devices/%s/quarantine", d->supi);
            if (admin_json(in, "POST", path, "{\"reason\":\"iotsec-sim group\"}", NULL) == 200)
                epoch = group_epoch(in, group, epoch + 1);
        } else {
            snprintf(path, sizeof(path), "/admin/v1/message-groups/%s/members/%s", group, d->supi);
            if (admin_json(in, "DELETE", path, NULL, &ans) == 200) {
                epoch = (uint32_t)json_integer_value(json_object_get(ans, "epoch"));
                rekey_bytes += json_integer_value(json_object_get(ans, "rekeyBytes"));
            }
            json_decref(ans);
        }
        pthread_mutex_lock(&d->mu);
        d->left = true;
        pthread_mutex_unlock(&d->mu);
    }
    ok = wait_for(r, sent, epoch, 30000) && ok;
    for (unsigned i = 0; i < messages; i++) {
        long s = af_send(r, &af, group, sent);
        sent += s == 201;
        refused += s != 201;
    }
    ok = wait_for(r, sent, epoch, 30000) && ok;
    /* the leavers try the last message a stayer verified; a member forges; a replay */
    unsigned leaver_decrypted = 0, forged_rejected = 0, replayed_rejected = 0;
    pthread_mutex_lock(&r->mu);
    size_t clen = r->captured_len;
    uint8_t *cap = clen ? malloc(clen) : NULL;
    if (cap)
        memcpy(cap, r->captured, clen);
    pthread_mutex_unlock(&r->mu);
    if (cap != NULL) {
        uint8_t pt[GROUP_MAX_PAYLOAD];
        size_t pt_len;
        uint32_t sender;
        for (uint32_t i = n - leave; i < n; i++) {
            pthread_mutex_lock(&r->d[i].mu);
            leaver_decrypted += group_member_receive(&r->d[i].m, cap, clen, pt, sizeof(pt), &pt_len,
                                                     &sender) == IOTSEC_OK;
            pthread_mutex_unlock(&r->d[i].mu);
        }
        /* device 0 holds the traffic key (its root): it seals a message of its own, with a
         * sequence not yet used, and signs it with a key of its own */
        struct group_msg_view v;
        uint8_t seed[32], pub[32], *forged = malloc(group_msg_len(8));
        struct prov_sign_key *sk = NULL;
        size_t flen = 0;
        if (forged && group_msg_parse(cap, clen, &v) == IOTSEC_OK &&
            prov_ed25519_keygen(seed, pub) == IOTSEC_OK &&
            prov_sign_key_new(seed, &sk) == IOTSEC_OK) {
            struct group_msg_hdr h = v.h;
            h.alg = GROUP_ALG_AES128GCM_ED25519; /* one signature of its own (not a batch) */
            h.seq += 1000;
            pthread_mutex_lock(&r->d[0].mu);
            group_msg_protect(&h, r->d[0].m.keys[r->d[0].m.depth], sk, (const uint8_t *)"open all",
                              8, forged, group_msg_len(8), &flen);
            pthread_mutex_unlock(&r->d[0].mu);
        }
        prov_sign_key_free(sk);
        OPENSSL_cleanse(seed, sizeof(seed));
        for (uint32_t i = 1; i < n - leave && flen; i++) {
            pthread_mutex_lock(&r->d[i].mu);
            forged_rejected += group_member_receive(&r->d[i].m, forged, flen, pt, sizeof(pt),
                                                    &pt_len, &sender) == GROUP_ERR_FORGED;
            pthread_mutex_unlock(&r->d[i].mu);
        }
        for (uint32_t i = 0; i < n - leave; i++) {
            pthread_mutex_lock(&r->d[i].mu);
            replayed_rejected += group_member_receive(&r->d[i].m, cap, clen, pt, sizeof(pt),
                                                      &pt_len, &sender) == GROUP_ERR_REPLAYED;
            pthread_mutex_unlock(&r->d[i].mu);
        }
        free(forged);
        free(cap);
    }
    unsigned delivered = 0;
    for (uint32_t i = 0; i < n; i++)
        delivered += r->d[i].got;
    pthread_mutex_lock(&r->mu);
    qsort(r->lat, r->nlat, sizeof(double), cmp_double);
    double p99 = r->nlat ? r->lat[(size_t)((r->nlat - 1) * 0.99)] : 0;
    pthread_mutex_unlock(&r->mu);
    printf("{\"devices\":%u,\"messages\":%u,\"delivered\":%u,\"leavers\":%u,"
           "\"leaver_decrypted\":%u,\"forged_rejected\":%u,\"replayed_rejected\":%u,"
           "\"rekey_bytes\":%lld,\"p99_ms\":%.2f,\"refused_sends\":%u,\"broadcast\":%s,"
           "\"group\":\"%s\"}\n",
           n, sent, delivered, leave, leaver_decrypted, forged_rejected, replayed_rejected,
           (long long)rekey_bytes, p99, refused, broadcast ? "true" : "false", group);
    fflush(stdout);
    unsigned want = n * messages + (n - leave) * messages;
    if (!ok)
        fprintf(stderr, "iotsec-sim group: not every member verified every message in time\n");
    if (refused || delivered != want || leaver_decrypted || forged_rejected != n - leave - 1 ||
        replayed_rejected != n - leave)
        fprintf(stderr,
                "iotsec-sim group: expected %u verified, 0 refused sends, 0 read by leavers, %u "
                "forgeries and %u replays refused (%u pushes refused otherwise)\n",
                want, n - leave - 1, n - leave, r->rejected_other);
    ok = ok && refused == 0 && delivered == want && leaver_decrypted == 0 &&
         forged_rejected == n - leave - 1 && replayed_rejected == n - leave;
    sim_af_free(&af);
    sim_ca_free(ca);
    return ok ? 0 : 1;
}

int sim_group_run(const struct sim_instance *in, uint32_t n, uint32_t leave, uint32_t messages,
                  bool broadcast, bool quarantine)
{
    if (messages == 0 || 2 * messages >= 64 || leave >= n)
        return 2;
    struct run r = {.in = in, .n = n};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.idle, NULL);
    r.d = calloc(n, sizeof(*r.d));
    for (uint32_t i = 0; r.d != NULL && i < n; i++)
        pthread_mutex_init(&r.d[i].mu, NULL);
    int rc = 2;
    if (r.d == NULL || listen_local(&r) != 0)
        fprintf(stderr, "iotsec-sim group: cannot set up\n");
    else {
        rc = scenario(&r, leave, messages, broadcast, quarantine);
        stop_local(&r); /* late pushes (the AF's notifications) are refused from here */
    }
    for (uint32_t i = 0; r.d != NULL && i < n; i++) {
        for (unsigned h = 0; h < r.d[i].npending; h++)
            free(r.d[i].pending[h].data);
        group_member_wipe(&r.d[i].m);
        OPENSSL_cleanse(r.d[i].k, sizeof(r.d[i].k));
        pthread_mutex_destroy(&r.d[i].mu);
    }
    free(r.d);
    free(r.lat);
    free(r.captured);
    pthread_cond_destroy(&r.idle);
    pthread_mutex_destroy(&r.mu);
    return rc;
}

static bool u32_arg(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

int sim_group_main(int argc, char **argv)
{
    static const char use[] = "usage: iotsec-sim group --dir DIR --devices N (2..10000) --leave K "
                              "(< N) [--messages M (1..31)] [--broadcast] [--quarantine]\n"
                              "                        [--ready FILE]\n";
    const char *dir = NULL, *ready = NULL;
    uint32_t n = 0, leave = UINT32_MAX, messages = 1;
    bool broadcast = false, quarantine = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dir") == 0 && v)
            dir = argv[++i];
        else if (strcmp(a, "--ready") == 0 && v)
            ready = argv[++i];
        else if (strcmp(a, "--devices") == 0 && u32_arg(v, 10000, &n))
            i++;
        else if (strcmp(a, "--leave") == 0 && u32_arg(v, 10000, &leave))
            i++;
        else if (strcmp(a, "--messages") == 0 && u32_arg(v, 31, &messages))
            i++;
        else if (strcmp(a, "--broadcast") == 0)
            broadcast = true;
        else if (strcmp(a, "--quarantine") == 0)
            quarantine = true;
        else {
            fputs(use, stderr);
            return 2;
        }
    }
    struct sim_instance in;
    if (dir == NULL || n < 2 || leave >= n || messages < 1 ||
        sim_instance_load(&in, dir, ready) != 0) {
        fputs(use, stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = sim_group_run(&in, n, leave, messages, broadcast, quarantine);
    curl_global_cleanup();
    return rc;
}
