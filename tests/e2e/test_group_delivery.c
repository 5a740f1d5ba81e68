/* Group messages end to end (docs/group.md), against the real daemon in a network namespace of
 * the test's own (so that multicast on its loopback reaches only us): an AF with the group
 * owner's consent sends one message (TS 29.522 MBSGroupMsgDelivery); the network protects it
 * once and delivers it by unicast to each member's endpoint and by one UDP multicast datagram;
 * real receivers (sdk/group_member.c) join with the path keys pushed to them under their own
 * member keys, verify and open it; a replayed or tampered datagram is refused; the AF reads
 * the counts and is notified. AFs without the owner's consent get 403 GROUP_NOT_AUTHORISED,
 * audited; a removed member cannot read the next message; a sleepy member that missed three
 * rekeys catches up with one fetch of its path keys on the device face, a removed one cannot. Every
 * northbound answer and notification goes through the leak scanner (SUPIs and local group ids).
 * With IOTSEC_GROUP_DUMP=DIR the bodies are kept for the OpenAPI validation (tests/openapi). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "fixture.h"
#include "group_fetch_http.h"
#include "group_member.h"
#include "northbound_client.h"
#include "test_t8_sink.h"

#define G     "valves-b7@utility.example"
#define OWNER "utility-a"
#define K_HEX "465b5ce8b199b49faa5f0a2ee238a6bc"
#define NMEM  3
#define MCAST "239.7.7.7"

static struct daemon_fixture fx;
static bool have_netns;
static struct sink sinks[NMEM], notify;
static struct group_member members[NMEM];
static int seen[NMEM]; /* bodies of each member's sink already processed */
static int mc_fd = -1;
static uint16_t mc_port;
static struct nb_identity af1, af2;
static char af1_id[80], af2_id[80], cert1[128], key1[128], cert2[128], key2[128];
static char *tok1, *tok2;
static char last_del_ref[64]; /* of the last 201's Location */

static const char *supi_of(int i)
{
    static char buf[NMEM][32];
    snprintf(buf[i], sizeof(buf[i]), "imsi-00101000000070%d", i);
    return buf[i];
}

static void dump(const char *schema, const char *body)
{
    static int seq;
    const char *dir = getenv("IOTSEC_GROUP_DUMP");
    if (dir == NULL || body == NULL || body[0] == '\0')
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%03d.json", dir, schema, seq++);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(body, f);
        fclose(f);
    }
}

static int up_loopback(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_MULTICAST;
    int rc = fd >= 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

static int open_multicast(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof(sa);
    struct ip_mreq mr;
    inet_pton(AF_INET, MCAST, &mr.imr_multiaddr);
    inet_pton(AF_INET, "127.0.0.1", &mr.imr_interface);
    struct timeval tv = {2, 0};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
        return -1;
    mc_port = ntohs(sa.sin_port);
    mc_fd = fd;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    have_netns = up_loopback() == 0;
    if (!have_netns) /* the multicast half needs a namespace of its own; unicast runs anyway */
        fprintf(stderr, "no network namespace: the multicast checks are skipped\n");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, "location:\n  notify_http_loopback: true\n") != 0 ||
        fixture_start(&fx) != 0)
        return -1;
    for (int i = 0; i < NMEM; i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"supi\":\"%s\",\"k\":\"" K_HEX "\","
                 "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}",
                 supi_of(i));
        if (fixture_add_subscriber(&fx, json) != 0 || sink_start(&sinks[i], false) != 0)
            return -1;
    }
    if (sink_start(&notify, false) != 0 || (have_netns && open_multicast() != 0))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    int report = fixture_sanitizer_report(&fx);
    for (int i = 0; i < NMEM; i++) {
        sink_stop(&sinks[i]);
        group_member_wipe(&members[i]);
    }
    sink_stop(&notify);
    if (mc_fd >= 0)
        close(mc_fd);
    free(tok1);
    free(tok2);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && !report ? 0 : -1;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void register_af(const char *name, char *af_id, struct nb_identity *id, char *cert,
                        char *key)
{
    assert_int_equal(nb_mint_client(fx.dir, name), 0);
    snprintf(cert, 128, "%s/%s.pem", fx.dir, name);
    snprintf(key, 128, "%s/%s.key", fx.dir, name);
    id->cert = cert;
    id->key = key;
    char *pem = nb_read_file(cert);
    json_t *o = nb_admin_json(
        &fx, "POST", "/admin/v1/afs",
        json_pack("{s:s, s:s, s:[s]}", "name", name, "cert_pem", pem, "services", "group-message"),
        201);
    free(pem);
    snprintf(af_id, 80, "%s", json_string_value(json_object_get(o, "af_id")));
    json_decref(o);
}

static char *token(const struct nb_identity *who, const char *scope)
{
    char url[128], form[128];
    snprintf(url, sizeof(url), "%s/oauth2/token", fx.north);
    snprintf(form, sizeof(form), "grant_type=client_credentials&scope=%s", scope);
    struct nb_response r;
    nb_call(&fx, who, "POST", url, NULL, "application/x-www-form-urlencoded", form, 1, &r);
    json_t *o = json_loads(r.body, 0, NULL);
    char *t =
        r.status == 200 ? strdup(json_string_value(json_object_get(o, "access_token"))) : NULL;
    json_decref(o);
    nb_response_free(&r);
    return t;
}

/* One northbound request (leak-scanned by nb_call); the answer's body parsed into *answer. */
static long nb(const struct nb_identity *who, const char *tok, const char *method, const char *path,
               const char *body, json_t **answer)
{
    char url[640];
    snprintf(url, sizeof(url), "%s%s", fx.north, path);
    struct nb_response r;
    nb_call(&fx, who, method, url, tok, body ? "application/json" : NULL, body, 1, &r);
    if (answer)
        *answer = json_loads(r.body, 0, NULL);
    long st = r.status;
    if (st == 201) {
        dump("MbsGroupMsgDel", body);
        dump("MbsGroupMsgDel", r.body);
        char loc[512];
        assert_int_equal(nb_header(&r, "Location", loc, sizeof(loc)), 0);
        const char *ref = strstr(loc, "/3gpp-mbs-group-msg/v1/deliveries/gmd-");
        assert_non_null(ref);
        snprintf(last_del_ref, sizeof(last_del_ref), "%s", strrchr(ref, '/') + 1);
    } else if (st == 200 && strcmp(method, "GET") == 0 && strstr(path, "/deliveries/")) {
        dump("MbsGroupMsgDel", r.body);
    } else if (st >= 400 && st != 401) {
        dump("ProblemDetails", r.body);
    }
    nb_response_free(&r);
    return st;
}

/* The MbsGroupMsgDel of one message (base64 payload). */
static char *delivery_body(const char *group, const char *payload_b64)
{
    json_t *o =
        json_pack("{s:s, s:s, s:{s:[{s:{s:s, s:s}, s:s}]}, s:s, s:s, s:s}", "externalGroupId",
                  group, "groupMsgDelPayload", payload_b64, "mbsServArea", "taiList", "plmnId",
                  "mcc", "001", "mnc", "01", "tac", "00b7", "startTime", "2026-12-07T20:00:00Z",
                  "stopTime", "2026-12-08T20:00:00Z", "notifUri", notify.url);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void b64(const char *text, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(text), o = 0;
    const uint8_t *p = (const uint8_t *)text;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = t[w >> 18 & 63];
        out[o++] = t[w >> 12 & 63];
        out[o++] = i + 1 < n ? t[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[w & 63] : '=';
    }
    out[o] = 0;
}

/* The next push member i's endpoint received: kind and wire bytes. false if none in time. */
static bool next_push(int i, char *kind, uint8_t *data, size_t cap, size_t *len)
{
    if (sink_wait(&sinks[i], seen[i], 5000) <= seen[i])
        return false;
    char *body = sink_body(&sinks[i], seen[i]++);
    nb_leak_check(&fx, "a member push", body, strlen(body)); /* not northbound; still clean */
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    const char *k = json_string_value(json_object_get(o, "kind"));
    const char *d = json_string_value(json_object_get(o, "data"));
    assert_non_null(k);
    assert_non_null(d);
    snprintf(kind, 16, "%s", k);
    assert_int_equal(b64url_decode(d, strlen(d), data, cap, len), IOTSEC_OK);
    json_decref(o);
    return true;
}

/* A member joins with the path keys pushed to it, under K_GM from its own K. */
static void join(int i)
{
    char kind[16];
    uint8_t data[2048], k[16], kgm[GROUP_MKEY_LEN];
    size_t len;
    assert_true(next_push(i, kind, data, sizeof(data), &len));
    assert_string_equal(kind, "path-keys");
    assert_int_equal(hex_decode(K_HEX, k, sizeof(k)), IOTSEC_OK);
    uint64_t ref = 0;
    for (int b = 0; b < 8; b++)
        ref = ref << 8 | data[2 + b];
    assert_int_equal(group_member_key(k, sizeof(k), ref, kgm), IOTSEC_OK);
    group_member_init(&members[i], ref, kgm);
    assert_int_equal(group_member_join(&members[i], data, len), IOTSEC_OK);
    /* a wrong member key (another device's) opens nothing */
    struct group_member other;
    kgm[0] ^= 1;
    group_member_init(&other, ref, kgm);
    assert_int_equal(group_member_join(&other, data, len), GROUP_ERR_FORGED);
    group_member_wipe(&other);
}

/* Member i receives the next message push and opens it: it must say want. */
static void receive(int i, const char *want)
{
    char kind[16];
    uint8_t data[8192], pt[GROUP_MAX_PAYLOAD];
    size_t len, pt_len;
    uint32_t sender;
    assert_true(next_push(i, kind, data, sizeof(data), &len));
    assert_string_equal(kind, "message");
    assert_int_equal(group_member_receive(&members[i], data, len, pt, sizeof(pt), &pt_len, &sender),
                     IOTSEC_OK);
    assert_int_equal(pt_len, strlen(want));
    assert_memory_equal(pt, want, pt_len);
    assert_int_not_equal(sender, 0); /* the AF's sender number, not the network's */
    /* the same bytes again: a replay */
    assert_int_equal(group_member_receive(&members[i], data, len, pt, sizeof(pt), &pt_len, &sender),
                     GROUP_ERR_REPLAYED);
}

static size_t recv_datagram(uint8_t *buf, size_t cap)
{
    ssize_t n = recv(mc_fd, buf, cap, 0);
    assert_true(n > 0);
    return (size_t)n;
}

/* Polls the delivery until no member is pending (the engine delivers in the background). */
static json_t *settled(const char *del_ref)
{
    char path[160];
    snprintf(path, sizeof(path), "/3gpp-mbs-group-msg/v1/deliveries/%s", del_ref);
    for (int k = 0; k < 100; k++) {
        json_t *o = NULL;
        assert_int_equal(nb(&af1, tok1, "GET", path, NULL, &o), 200);
        json_t *c = json_object_get(o, "deliveryCounts");
        if (json_integer_value(json_object_get(c, "pending")) == 0)
            return o;
        json_decref(o);
        usleep(50000);
    }
    fail_msg("the delivery did not settle");
    return NULL;
}

static long send_msg(const struct nb_identity *who, const char *tok, const char *group,
                     const char *text, char *del_ref)
{
    char p64[8192];
    b64(text, p64);
    char *body = delivery_body(group, p64);
    json_t *o = NULL;
    long st = nb(who, tok, "POST", "/3gpp-mbs-group-msg/v1/deliveries", body, &o);
    free(body);
    if (st == 201 && del_ref)
        snprintf(del_ref, 64, "%s", last_del_ref);
    if (st == 403)
        assert_string_equal(json_string_value(json_object_get(o, "cause")), "GROUP_NOT_AUTHORISED");
    json_decref(o);
    return st;
}

/* Refusals of group-message.send with reason in the audit log, once at least `want` are
 * committed (the audit's writer commits them in the background) or after a second. */
static long audit_count(const char *reason, long want)
{
    long n = 0;
    for (int k = 0; k < 100; k++) {
        n = fixture_db_int(&fx,
                           "SELECT COUNT(*) FROM expose_audit WHERE action = 'group-message.send'"
                           " AND allow = 0 AND reason LIKE ?",
                           reason);
        if (n >= want)
            break;
        usleep(10000);
    }
    return n;
}

/* ---- the tests --------------------------------------------------------------------------- */

static void test_authorised_af_reaches_every_member(void **state)
{
    (void)state;
    json_decref(nb_admin_json(&fx, "POST", "/admin/v1/message-groups",
                              json_pack("{s:s, s:s}", "externalGroupId", G, "owner", OWNER), 201));
    for (int i = 0; i < NMEM; i++) {
        char path[160];
        snprintf(path, sizeof(path), "/admin/v1/group-endpoints/%s", supi_of(i));
        json_decref(nb_admin_json(&fx, "PUT", path, json_pack("{s:s}", "url", sinks[i].url), 200));
        json_t *o = nb_admin_json(&fx, "GET", path, NULL, 200); /* read back */
        assert_string_equal(json_string_value(json_object_get(o, "url")), sinks[i].url);
        json_decref(o);
    }
    json_t *eps = nb_admin_json(&fx, "GET", "/admin/v1/group-endpoints?limit=2", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(eps, "endpoints")), 2);
    assert_string_equal(json_string_value(json_object_get(eps, "next")), supi_of(1));
    json_decref(eps);
    json_decref(
        nb_admin_json(&fx, "GET", "/admin/v1/group-endpoints/imsi-001010000000999", NULL, 404));
    json_decref(nb_admin_json(&fx, "GET", "/admin/v1/message-groups/" G "/multicast", NULL, 404));
    if (have_netns) {
        char dest[64];
        snprintf(dest, sizeof(dest), MCAST ":%u", mc_port);
        json_decref(nb_admin_json(&fx, "PUT", "/admin/v1/message-groups/" G "/multicast",
                                  json_pack("{s:s, s:s}", "dest", dest, "iface", "127.0.0.1"),
                                  200));
        json_t *o =
            nb_admin_json(&fx, "GET", "/admin/v1/message-groups/" G "/multicast", NULL, 200);
        assert_string_equal(json_string_value(json_object_get(o, "dest")), dest);
        json_decref(o);
    }
    json_decref(nb_admin_json(&fx, "POST", "/admin/v1/message-groups/" G "/members",
                              json_pack("{s:[s,s,s]}", "supis", supi_of(0), supi_of(1), supi_of(2)),
                              200));
    uint8_t dg[8192];
    if (have_netns)
        recv_datagram(dg, sizeof(dg)); /* the joining rekey: nobody holds the old epoch */
    for (int i = 0; i < NMEM; i++)
        join(i);
    assert_int_equal(members[0].epoch, members[2].epoch);

    register_af("gmaf1", af1_id, &af1, cert1, key1);
    json_decref(nb_admin_json(&fx, "POST", "/admin/v1/consents",
                              json_pack("{s:s, s:s, s:s, s:s}", "af_id", af1_id, "scope",
                                        "group-message", "group", G, "owner", OWNER),
                              201));
    tok1 = token(&af1, "group-message");
    assert_non_null(tok1);

    struct group_member mc; /* a receiver on the multicast group: member 0's keys */
    memcpy(&mc, &members[0], sizeof(mc));
    char del_ref[64];
    assert_int_equal(send_msg(&af1, tok1, G, "close the valve", del_ref), 201);
    assert_int_equal(strncmp(del_ref, "gmd-", 4), 0);
    for (int i = 0; i < NMEM; i++)
        receive(i, "close the valve");

    if (have_netns) {
        uint8_t pt[GROUP_MAX_PAYLOAD];
        size_t n = recv_datagram(dg, sizeof(dg)), pt_len;
        uint32_t sender;
        uint8_t bad[8192];
        memcpy(bad, dg, n);
        bad[GROUP_MSG_HDR_LEN] ^= 0x40; /* a tampered ciphertext byte: not the signed leaf */
        assert_int_equal(dg[2], GROUP_ALG_AES128GCM_ED25519_BATCH); /* the daemon batches */
        assert_int_equal(group_member_receive(&mc, bad, n, pt, sizeof(pt), &pt_len, &sender),
                         GROUP_ERR_BAD_PATH);
        assert_int_equal(group_member_receive(&mc, dg, n, pt, sizeof(pt), &pt_len, &sender),
                         IOTSEC_OK);
        assert_int_equal(pt_len, strlen("close the valve"));
        assert_memory_equal(pt, "close the valve", pt_len);
        assert_int_equal(group_member_receive(&mc, dg, n, pt, sizeof(pt), &pt_len, &sender),
                         GROUP_ERR_REPLAYED); /* the captured datagram, replayed */
        group_member_wipe(&mc);
    }

    json_t *o = settled(del_ref);
    json_t *c = json_object_get(o, "deliveryCounts");
    assert_int_equal(json_integer_value(json_object_get(c, "members")), NMEM);
    assert_int_equal(json_integer_value(json_object_get(c, "delivered")), NMEM);
    assert_int_equal(json_integer_value(json_object_get(c, "failed")), 0);
    assert_true(json_is_true(json_object_get(o, "delStatus")));
    assert_string_equal(json_string_value(json_object_get(o, "externalGroupId")), G);
    json_decref(o);
    assert_true(sink_wait(&notify, 0, 5000) >= 1);
    char *note = sink_body(&notify, 0);
    nb_leak_check(&fx, "the status notification", note, strlen(note));
    dump("MbsGroupMsgDelStatusNotif", note);
    json_t *n = json_loads(note, 0, NULL);
    assert_true(json_is_true(json_object_get(n, "delStatus")));
    json_decref(n);
    free(note);
    json_t *list = NULL;
    assert_int_equal(nb(&af1, tok1, "GET", "/3gpp-mbs-group-msg/v1/deliveries", NULL, &list), 200);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

static void test_unauthorised_afs_are_refused_and_audited(void **state)
{
    (void)state;
    register_af("gmaf2", af2_id, &af2, cert2, key2);
    tok2 = token(&af2, "group-message");
    assert_non_null(tok2);
    long before = audit_count("DENY_%", 0);
    /* no consent (af1's is not af2's): refused, and the same for a group that does not exist
     * (no probing) */
    assert_int_equal(send_msg(&af2, tok2, G, "open the valve", NULL), 403);
    assert_int_equal(send_msg(&af2, tok2, "nosuch@utility.example", "x", NULL), 403);
    assert_int_equal(audit_count("DENY_%", before + 2), before + 2);
    assert_int_equal(audit_count("DENY_OTHER_AF_CONSENT", 1), 1);
    assert_int_equal(audit_count("DENY_NO_CONSENT", 1), 1);
    /* a consent for another group does not do */
    json_decref(
        nb_admin_json(&fx, "POST", "/admin/v1/consents",
                      json_pack("{s:s, s:s, s:s, s:s}", "af_id", af2_id, "scope", "group-message",
                                "group", "other@utility.example", "owner", OWNER),
                      201));
    assert_int_equal(send_msg(&af2, tok2, G, "open the valve", NULL), 403);
    /* a consent given by someone who does not own the group lends nothing */
    json_decref(nb_admin_json(&fx, "POST", "/admin/v1/consents",
                              json_pack("{s:s, s:s, s:s, s:s}", "af_id", af2_id, "scope",
                                        "group-message", "group", G, "owner", "mallory"),
                              201));
    assert_int_equal(send_msg(&af2, tok2, G, "open the valve", NULL), 403);
    assert_int_equal(audit_count("DENY_CONSENT_NOT_GROUP_OWNER", 1), 1);
    /* nobody's member heard any of it */
    for (int i = 0; i < NMEM; i++)
        assert_int_equal(sink_wait(&sinks[i], seen[i], 200), seen[i]);
    /* another AF's delivery is not there for af2 */
    json_t *list = NULL;
    assert_int_equal(nb(&af2, tok2, "GET", "/3gpp-mbs-group-msg/v1/deliveries", NULL, &list), 200);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    /* the local group id is no address: not as such, not with a domain */
    char ref[32], ext[64];
    snprintf(ref, sizeof(ref), "%" PRIu64, members[0].ref);
    snprintf(ext, sizeof(ext), "%s@utility.example", ref);
    assert_int_equal(send_msg(&af1, tok1, ref, "x", NULL), 400);
    assert_int_equal(send_msg(&af1, tok1, ext, "x", NULL), 403);
    /* the leak scanner does see a local id where one would leak */
    char found[128];
    assert_int_equal(nb_leak_find(&fx, ref, strlen(ref), found, sizeof(found)), 1);
    /* bad input */
    char *big = malloc(5000);
    memset(big, 'v', 4999);
    big[4999] = 0;
    assert_int_equal(send_msg(&af1, tok1, G, big, NULL), 413);
    free(big);
    char *body = delivery_body(G, "not*base64");
    assert_int_equal(nb(&af1, tok1, "POST", "/3gpp-mbs-group-msg/v1/deliveries", body, NULL), 400);
    free(body);
    assert_int_equal(nb(&af1, tok1, "POST", "/3gpp-mbs-group-msg/v1/deliveries",
                        "{\"externalGroupId\":\"" G "\",\"groupMsgDelPayload\":\"eA==\"}", NULL),
                     400); /* mbsServArea, times, notifUri missing */
    assert_int_equal(nb(&af1, NULL, "POST", "/3gpp-mbs-group-msg/v1/deliveries", "{}", NULL), 401);
}

static void test_removed_member_cannot_read_the_next(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/message-groups/" G "/members/%s", supi_of(2));
    json_decref(nb_admin_json(&fx, "DELETE", path, NULL, 200));
    /* the stayers get the signed rekey, and apply it; the leaver gets nothing */
    uint8_t rk[8192], dg[8192];
    char kind[16];
    size_t len;
    for (int i = 0; i < 2; i++) {
        assert_true(next_push(i, kind, rk, sizeof(rk), &len));
        assert_string_equal(kind, "rekey");
        assert_int_equal(group_member_rekey(&members[i], rk, len), IOTSEC_OK);
        assert_int_equal(group_member_rekey(&members[i], rk, len), GROUP_ERR_STALE_EPOCH);
    }
    if (have_netns) {
        size_t n = recv_datagram(dg, sizeof(dg));
        assert_int_equal(n, len); /* the same signed rekey, once for everyone */
        /* the leaver holds the old path: the rekey's keys are wrapped under keys it never had */
        struct group_member copy;
        memcpy(&copy, &members[2], sizeof(copy));
        assert_int_not_equal(group_member_rekey(&copy, dg, n), IOTSEC_OK);
        group_member_wipe(&copy);
    }
    char del_ref[64];
    assert_int_equal(send_msg(&af1, tok1, G, "new tariff from midnight", del_ref), 201);
    receive(0, "new tariff from midnight");
    receive(1, "new tariff from midnight");
    json_t *o = settled(del_ref);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(o, "deliveryCounts"), "members")), 2);
    json_decref(o);
    assert_int_equal(sink_wait(&sinks[2], seen[2], 200), seen[2]); /* nothing for the leaver */
    if (have_netns) {
        uint8_t pt[GROUP_MAX_PAYLOAD];
        size_t pt_len, n = recv_datagram(dg, sizeof(dg));
        uint32_t sender;
        int rc = group_member_receive(&members[2], dg, n, pt, sizeof(pt), &pt_len, &sender);
        assert_int_equal(rc, GROUP_ERR_FUTURE_EPOCH); /* the leaver cannot read it */
    }
}

/* Member 1 sleeps through three rekeys (supi 2 joins, leaves, joins again: each a rekey it
 * never applies), then cannot open the next message (FUTURE_EPOCH); one fetch of its current
 * path keys on the device face and it opens it. Supi 2, removed again, is refused its keys;
 * a fetch under another device's key is refused as unauthenticated. */
static void test_sleepy_member_catches_up_with_one_fetch(void **state)
{
    (void)state;
    char path[160], kind[16];
    uint8_t rk[8192];
    size_t len;
    const char *ops[3] = {"POST", "DELETE", "POST"};
    for (int r = 0; r < 3; r++) {
        if (r == 1) {
            snprintf(path, sizeof(path), "/admin/v1/message-groups/" G "/members/%s", supi_of(2));
            json_decref(nb_admin_json(&fx, "DELETE", path, NULL, 200));
        } else {
            json_decref(nb_admin_json(&fx, ops[r], "/admin/v1/message-groups/" G "/members",
                                      json_pack("{s:[s]}", "supis", supi_of(2)), 200));
        }
        for (int i = 0; i < 2; i++) { /* member 0 is awake, member 1 drops its rekeys */
            assert_true(next_push(i, kind, rk, sizeof(rk), &len));
            assert_string_equal(kind, "rekey");
            if (i == 0)
                assert_int_equal(group_member_rekey(&members[0], rk, len), IOTSEC_OK);
        }
        if (have_netns)
            recv_datagram(rk, sizeof(rk)); /* the same rekey by multicast: not for the sleeper */
    }
    uint32_t sleeper_epoch = members[1].epoch;
    assert_int_equal(members[0].epoch, sleeper_epoch + 3);
    char del_ref[64];
    assert_int_equal(send_msg(&af1, tok1, G, "firmware 4.2 is ready", del_ref), 201);
    receive(0, "firmware 4.2 is ready");
    uint8_t msg[8192], pt[GROUP_MAX_PAYLOAD];
    size_t n, pt_len;
    uint32_t sender;
    assert_true(next_push(1, kind, msg, sizeof(msg), &n));
    assert_string_equal(kind, "message");
    assert_int_equal(group_member_receive(&members[1], msg, n, pt, sizeof(pt), &pt_len, &sender),
                     GROUP_ERR_FUTURE_EPOCH);
    /* one fetch */
    char ca[160];
    snprintf(ca, sizeof(ca), "%s/inst/pki/ca.crt", fx.dir);
    struct onboard_http_config hc = {.base_url = fx.device, .ca_file = ca};
    struct onboard_http *h;
    assert_int_equal(onboard_http_new(&hc, &h), IOTSEC_OK);
    long status = 0;
    assert_int_equal(group_member_fetch(&members[1], h, supi_of(1), time(NULL), &status),
                     IOTSEC_OK);
    assert_int_equal(status, 200);
    assert_int_equal(members[1].epoch, members[0].epoch);
    assert_int_equal(group_member_receive(&members[1], msg, n, pt, sizeof(pt), &pt_len, &sender),
                     IOTSEC_OK);
    assert_memory_equal(pt, "firmware 4.2 is ready", pt_len);
    /* supi 2 is removed again: authenticated, but not a member */
    snprintf(path, sizeof(path), "/admin/v1/message-groups/" G "/members/%s", supi_of(2));
    json_decref(nb_admin_json(&fx, "DELETE", path, NULL, 200));
    uint8_t k[16], kgm[GROUP_MKEY_LEN];
    assert_int_equal(hex_decode(K_HEX, k, sizeof(k)), IOTSEC_OK);
    assert_int_equal(group_member_key(k, sizeof(k), members[1].ref, kgm), IOTSEC_OK);
    struct group_member gone;
    group_member_init(&gone, members[1].ref, kgm);
    char body[256], *out = NULL, url[256];
    snprintf(url, sizeof(url), "%s/device/v1/group-keys", fx.device);
    assert_int_equal(group_member_fetch_request(&gone, supi_of(2), time(NULL), body, sizeof(body)),
                     IOTSEC_OK);
    assert_int_equal(
        fixture_request(&fx, AS_NOBODY, "POST", url, "application/json", body, strlen(body), &out),
        403);
    assert_non_null(strstr(out, "NOT_A_MEMBER"));
    free(out);
    assert_int_equal(group_member_fetch(&gone, h, supi_of(2), time(NULL), &status),
                     IOTSEC_ERR_AUTH);
    assert_int_equal(status, 403);
    assert_false(gone.joined);
    /* another device's key, a stale time, a malformed body */
    gone.kgm[0] ^= 1;
    assert_int_equal(group_member_fetch(&gone, h, supi_of(1), time(NULL), &status),
                     IOTSEC_ERR_AUTH);
    assert_int_equal(status, 403);
    gone.kgm[0] ^= 1;
    assert_int_equal(
        group_member_fetch_request(&gone, supi_of(1), time(NULL) - 3600, body, sizeof(body)),
        IOTSEC_OK);
    assert_int_equal(
        fixture_request(&fx, AS_NOBODY, "POST", url, "application/json", body, strlen(body), &out),
        403);
    assert_non_null(strstr(out, "DEVICE_AUTH_FAILED"));
    free(out);
    static const char *bad[] = {
        "{\"supi\":\"imsi-x\",\"group\":\"0102030405060708\",\"time\":1,\"mac\":\"AA\"}",
        "{\"supi\":\"imsi-001010000000001\",\"group\":\"12\",\"time\":1,\"mac\":\"AA\"}",
        "{\"supi\":\"imsi-001010000000001\",\"group\":\"0102030405060708\",\"time\":\"x\"}",
        "{\"supi\":\"imsi-001010000000001\",\"group\":\"0102030405060708\",\"time\":1,"
        "\"mac\":\"AA\"}",
        "[1,2]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fixture_request(&fx, AS_NOBODY, "POST", url, "application/json", bad[i],
                                         strlen(bad[i]), &out),
                         400);
        free(out);
    }
    group_member_wipe(&gone);
    onboard_http_free(h);
    secure_wipe(kgm, sizeof(kgm));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorised_af_reaches_every_member),
        cmocka_unit_test(test_unauthorised_afs_are_refused_and_audited),
        cmocka_unit_test(test_removed_member_cannot_read_the_next),
        cmocka_unit_test(test_sleepy_member_catches_up_with_one_fetch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
