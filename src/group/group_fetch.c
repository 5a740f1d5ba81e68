/* A sleepy (PSM/eDRX) member's catch-up on the device face (docs/group.md):
 *   POST /device/v1/group-keys {"supi", "group": local group id (16 hex), "time": unix
 *   seconds, "mac": base64url HMAC-SHA-256(K_GM, "iotsec group fetch" || ref || time)}
 * answers 200 {"data": base64url of the path-key delivery of the current epoch}, wrapped under
 * the member's own K_GM: one request, whatever the number of rekeys missed, and no history.
 * The MAC authenticates the device (only it and the network derive K_GM), checked on the
 * worker's read connection; only then does a writer job read the keys. The time bounds a
 * replay to GROUP_FETCH_SKEW, and a replayed request only gets what its author can't open.
 * Refusals: 403 DEVICE_AUTH_FAILED for an unknown group or SUPI, a MAC or time that does not
 * verify (one cause: no probing of groups or members), 403 NOT_A_MEMBER once authenticated
 * (removed, or the subscription not active). */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/supi.h"
#include "group/group_deliver_int.h"
#include "subscriber/subscriber.h"

#define PATH_MAX_LEN                                                                               \
    (GROUP_PATH_HDR_LEN + GROUP_PUB_LEN + (GROUP_MAX_DEPTH + 1) * GROUP_KEY_LEN + GROUP_TAG_LEN)

struct fetch_job {
    struct group_delivery *d;
    const char *supi;
    uint64_t ref;
    int64_t when;
    uint8_t mac[32];
    bool authenticated;
    struct group_row row;
    uint32_t leaf;
    uint8_t kgm[GROUP_MKEY_LEN];
    uint8_t out[PATH_MAX_LEN];
    size_t out_len;
};

/* On the worker's read connection: the device's MAC, its subscription and membership. An
 * unauthenticated request never reaches the store's writer. */
static int fetch_check(struct fetch_job *j, uint8_t kgm[GROUP_MKEY_LEN])
{
    struct store_conn *c;
    struct subscription sub;
    struct sub_keys keys;
    uint8_t want[32];
    int rc = store_reader_get(j->d->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_find_ref(c, j->ref, &j->row);
    if (rc == IOTSEC_OK)
        rc = subscriber_get_keys_on(c, j->d->kek, j->supi, &sub, &keys);
    if (rc == IOTSEC_ERR_NOTFOUND)
        return IOTSEC_ERR_AUTH;
    if (rc != IOTSEC_OK)
        return rc;
    rc = group_member_key(keys.k, sizeof(keys.k), j->ref, kgm);
    secure_wipe(&keys, sizeof(keys));
    if (rc == IOTSEC_OK)
        rc = group_fetch_mac(kgm, j->ref, j->when, want);
    if (rc == IOTSEC_OK && !ct_equal(want, j->mac, sizeof(want)))
        rc = IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    j->authenticated = rc == IOTSEC_OK;
    if (rc == IOTSEC_OK && sub.state != SUB_ACTIVE)
        rc = IOTSEC_ERR_NOTFOUND; /* quarantined, suspended...: no keys */
    if (rc == IOTSEC_OK)
        rc = group_store_member_leaf(c, j->ref, j->supi, &j->leaf);
    return rc;
}

/* In a writer job, serialised with membership changes: the keys of the current epoch (the
 * member is checked again: it may have left since the read). */
static int fetch_run(struct store_conn *c, void *arg)
{
    struct fetch_job *j = arg;
    uint32_t leaf;
    int rc = group_store_member_leaf(c, j->ref, j->supi, &leaf);
    if (rc == IOTSEC_OK)
        rc = group_service_path_keys(j->d->gs, c, &j->row, leaf, j->kgm, j->out, sizeof(j->out),
                                     &j->out_len);
    return rc;
}

static void refuse(struct http_request *req, const char *cause, const char *detail)
{
    http_respond_problem(req, 403, NULL, detail, cause, NULL, 0);
}

static bool parse_ref(const char *s, uint64_t *ref)
{
    if (s == NULL || strlen(s) != 16)
        return false;
    for (int i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    *ref = strtoull(s, NULL, 16);
    return *ref != 0;
}

static void post_keys(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    struct fetch_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        json_decref(o);
        http_respond_error(req, IOTSEC_ERR_NOMEM, "out of memory");
        return;
    }
    j->d = d;
    j->supi = json_string_value(json_object_get(o, "supi"));
    const char *group = json_string_value(json_object_get(o, "group"));
    const char *mac = json_string_value(json_object_get(o, "mac"));
    json_t *when = json_object_get(o, "time");
    struct supi s;
    size_t mac_len = 0;
    if (j->supi == NULL || strlen(j->supi) >= 64 || supi_parse(j->supi, &s) != IOTSEC_OK) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/supi", "a SUPI");
    } else if (!parse_ref(group, &j->ref)) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/group",
                             "the local group id: 16 hexadecimal digits");
    } else if (!json_is_integer(when)) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/time", "unix seconds");
    } else if (mac == NULL ||
               b64url_decode(mac, strlen(mac), j->mac, sizeof(j->mac), &mac_len) != IOTSEC_OK ||
               mac_len != sizeof(j->mac)) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/mac", "base64url of 32 bytes");
    } else if ((j->when = json_integer_value(when)) > (int64_t)time(NULL) + GROUP_FETCH_SKEW ||
               j->when < (int64_t)time(NULL) - GROUP_FETCH_SKEW) {
        refuse(req, "DEVICE_AUTH_FAILED", "the request is not fresh: check the device's clock");
    } else {
        int rc = fetch_check(j, j->kgm);
        if (rc == IOTSEC_OK)
            rc = store_write_sync(d->store, fetch_run, j);
        if (rc == IOTSEC_OK) {
            char *data = malloc(b64url_len(j->out_len) + 1);
            if (data == NULL) {
                http_respond_error(req, IOTSEC_ERR_NOMEM, "out of memory");
            } else {
                b64url_encode(j->out, j->out_len, data);
                http_respond_json(req, 200, json_pack("{s:s}", "data", data));
                free(data);
            }
        } else if (rc == IOTSEC_ERR_AUTH) {
            refuse(req, "DEVICE_AUTH_FAILED", "the device could not be authenticated");
        } else if (rc == IOTSEC_ERR_NOTFOUND && j->authenticated) {
            refuse(req, "NOT_A_MEMBER", "not a member of this group");
        } else {
            http_respond_error(req, rc, "the path keys could not be read");
        }
    }
    secure_wipe(j, sizeof(*j));
    free(j);
    json_decref(o);
}

int group_fetch_routes(struct group_delivery *d, struct http_server *dev)
{
    return http_server_route(dev, "POST", "/device/v1/group-keys", post_keys, d);
}
