/* T8 MonitoringEvent (TS 29.122) against the real daemon: two AFs with their own client
 * certificates, tokens and consents; location reporting one-time and continuous, loss of
 * connectivity and reachability fed by network events on the SBI face, delivered to a local
 * notification sink; area counts suppressed below k and rate limited; every refusal the issue
 * lists (another AF's device or subscription, no consent, an IMSI, MSISDN, malformed bodies);
 * a consent revoked mid-subscription (notifications stop at once); a destination that hangs
 * (others still delivered); subscriptions surviving a restart; the outbound destination
 * policy (https to loopback refused unless allow-listed for that AF, then delivered over TLS
 * to the sink; refused again at delivery once the allow-list no longer covers it). Every response
 * and every notification goes through the SUPI leak scanner. With IOTSEC_T8_DUMP=DIR set, every
 * body is also written there, named by its schema, for the OpenAPI validation (tests/openapi). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixture.h"
#include "northbound_client.h"
#include "test_t8_sink.h"

#define NDEV 14
#define PLMN "{\"mcc\":\"001\",\"mnc\":\"01\"}"
#define API "/3gpp-monitoring-event/v1"

static struct daemon_fixture F;
static char dir[96];
static struct nb_identity A, B;
static char cert_a[128], key_a[128], cert_b[128], key_b[128];
static char af_a[80], af_b[80];
static char *tok_a, *tok_b;
static char supi[NDEV + 1][32];
static char ext_a[NDEV + 1][300], ext_b[NDEV + 1][300];
static char consent_a[NDEV + 1][80];
static struct sink sink1, sink2, hang, tls_sink;
static int dumped;

/* ---- helpers ---- */

static void dump(const char *schema, const char *body)
{
    const char *d = getenv("IOTSEC_T8_DUMP");
    if (d == NULL || body == NULL || body[0] == 0)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%03d.json", d, schema, dumped++);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(body, f);
        fclose(f);
    }
}


static void register_af(const char *name, const char *cert, char *af_id)
{
    char *pem = nb_read_file(cert);
    json_t *o = nb_admin_json(&F, "POST", "/admin/v1/afs",
                           json_pack("{s:s, s:s, s:[s]}", "name", name, "cert_pem", pem,
                                     "services", "monitoring-event"), 201);
    free(pem);
    snprintf(af_id, 80, "%s", json_string_value(json_object_get(o, "af_id")));
    json_decref(o);
}

static void grant(const char *af, int dev, char *consent_id, char *extid)
{
    json_t *o = nb_admin_json(&F, "POST", "/admin/v1/consents",
                           json_pack("{s:s, s:s, s:s}", "af_id", af, "scope", "monitoring-event",
                                     "supi", supi[dev]), 201);
    if (consent_id)
        snprintf(consent_id, 80, "%s", json_string_value(json_object_get(o, "consent_id")));
    snprintf(extid, 300, "%s",
             json_string_value(json_object_get(json_object_get(o, "external_ids"), supi[dev])));
    json_decref(o);
}

static char *token_for(const struct nb_identity *who)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/oauth2/token", F.north);
    struct nb_response r;
    nb_call(&F, who, "POST", url, NULL, "application/x-www-form-urlencoded",
            "grant_type=client_credentials&scope=monitoring-event", 1, &r);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    char *t = strdup(json_string_value(json_object_get(o, "access_token")));
    json_decref(o);
    nb_response_free(&r);
    return t;
}

/* A T8 request as AF `who` with its token; path after API. Returns the status; *out the JSON. */
static long t8(const struct nb_identity *who, const char *token, const char *method,
               const char *path, const char *body, json_t **out, char *location)
{
    char url[700];
    snprintf(url, sizeof(url), "%s" API "%s", F.north, path);
    struct nb_response r;
    nb_call(&F, who, method, url, token,
            body ? (strcmp(method, "PATCH") == 0 ? "application/json-patch+json"
                                                 : "application/json")
                 : NULL,
            body, 1, &r);
    if (location)
        nb_header(&r, "location", location, 300);
    long st = r.status;
    if (st >= 400)
        dump("ProblemDetails", r.body);
    if (out)
        *out = json_loads(r.body, 0, NULL);
    nb_response_free(&r);
    return st;
}

static long post_sub(const struct nb_identity *who, const char *token, const char *af,
                     const char *body, json_t **out, char *location)
{
    char path[128];
    snprintf(path, sizeof(path), "/%s/subscriptions", af);
    return t8(who, token, "POST", path, body, out, location);
}

/* The network reports an event for device dev. */
static void event(int dev, const char *type, const char *extra, int64_t t_ms)
{
    char body[1024], ts[40];
    time_t s = (time_t)(t_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof(body),
             "{\"reportList\":[{\"type\":\"%s\",\"supi\":\"%s\",\"timeStamp\":\"%s\"%s%s}]}",
             type, supi[dev], ts, extra ? "," : "", extra ? extra : "");
    char url[160];
    snprintf(url, sizeof(url), "%s/namf-evts-notify/v1/ue-events", F.sbi);
    assert_int_equal(fixture_request(&F, AS_NF, "POST", url, "application/json", body,
                                     strlen(body), NULL), 204);
}

static int64_t clock_ms = 0;

static int64_t next_time(void)
{
    if (clock_ms == 0)
        clock_ms = (int64_t)time(NULL) * 1000 - 600000;
    clock_ms += 1000;
    return clock_ms;
}

static void located(int dev, unsigned tac, unsigned cell)
{
    char loc[400];
    snprintf(loc, sizeof(loc),
             "\"location\":{\"nrLocation\":{\"tai\":{\"plmnId\":" PLMN ",\"tac\":\"%06X\"},"
             "\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"%09X\"}}}", tac, cell);
    event(dev, "LOCATION_REPORT", loc, next_time());
}

static json_t *sink_json(struct sink *s, int i)
{
    char *b = sink_body(s, i);
    assert_non_null(b);
    nb_leak_check(&F, "notification", b, strlen(b));
    dump("MonitoringNotification", b);
    json_t *o = json_loads(b, 0, NULL);
    free(b);
    assert_non_null(o);
    return o;
}

static json_t *first_report(json_t *note)
{
    return json_array_get(json_object_get(note, "monitoringEventReports"), 0);
}

static char *sub_body(const char *type, const char *ext, const char *dest, const char *more)
{
    char *b = malloc(2048);
    snprintf(b, 2048, "{\"monitoringType\":\"%s\",\"externalId\":\"%s\","
                      "\"notificationDestination\":\"%s\"%s%s}",
             type, ext, dest, more ? "," : "", more ? more : "");
    return b;
}

/* ---- setup ---- */

static void ident(struct nb_identity *id, char *cert, char *key, const char *name)
{
    snprintf(cert, 128, "%s/%s.pem", dir, name);
    snprintf(key, 128, "%s/%s.key", dir, name);
    id->cert = cert;
    id->key = key;
    assert_int_equal(nb_mint_client(dir, name), 0);
}

static int setup(void **state)
{
    (void)state;
    /* the lab switch for the http sinks; the instance CA for the https one */
    if (fixture_init(&F, "location:\n  notify_http_loopback: true\n  counts_per_minute: 5\n"
                         "  notify_ca: pki/ca.crt\n") != 0 ||
        fixture_start(&F) != 0)
        return -1;
    snprintf(dir, sizeof(dir), "%s", F.dir);
    ident(&A, cert_a, key_a, "afa");
    ident(&B, cert_b, key_b, "afb");
    for (int i = 1; i <= NDEV; i++) {
        snprintf(supi[i], sizeof(supi[i]), "imsi-0010100000000%02d", i);
        char j[300];
        snprintf(j, sizeof(j),
                 "{\"supi\":\"%s\",\"k\":\"000102030405060708090a0b0c0d0e0f\","
                 "\"opc\":\"000102030405060708090a0b0c0d0e0f\",\"amf\":\"8000\"}", supi[i]);
        if (fixture_add_subscriber(&F, j) != 0)
            return -1;
    }
    register_af("AF A", cert_a, af_a);
    register_af("AF B", cert_b, af_b);
    /* A: devices 1..11 and 13 (13 revoked below); B: device 12 and device 1 */
    for (int i = 1; i <= 11; i++)
        grant(af_a, i, consent_a[i], ext_a[i]);
    grant(af_a, 13, consent_a[13], ext_a[13]);
    grant(af_a, 14, consent_a[14], ext_a[14]);
    grant(af_b, 12, NULL, ext_b[12]);
    grant(af_b, 1, NULL, ext_b[1]);
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/consents/%s/revoke", consent_a[13]);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 200));
    tok_a = token_for(&A);
    tok_b = token_for(&B);
    char crt[160], key[160]; /* the daemon's own server certificate: IP:127.0.0.1, our CA */
    snprintf(crt, sizeof(crt), "%s/inst/pki/server.crt", F.dir);
    snprintf(key, sizeof(key), "%s/inst/pki/server.key", F.dir);
    if (sink_start(&sink1, false) || sink_start(&sink2, false) || sink_start(&hang, true) ||
        sink_start_tls(&tls_sink, crt, key))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&F, 15); /* a clean exit: no leak or error report (ASan) */
    fixture_cleanup(&F);
    sink_stop(&sink1);
    sink_stop(&sink2);
    sink_stop(&hang);
    sink_stop(&tls_sink);
    free(tok_a);
    free(tok_b);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void location_continuous_and_one_time(void **state)
{
    (void)state;
    json_t *o;
    char loc[300] = "";
    char *b = sub_body("LOCATION_REPORTING", ext_a[1], sink1.url,
                       "\"maximumNumberOfReports\":2,\"locationType\":\"CURRENT_LOCATION\","
                       "\"accuracy\":\"CGI_ECGI\"");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, loc), 201);
    free(b);
    char *s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventSubscription", s);
    free(s);
    const char *self = json_string_value(json_object_get(o, "self"));
    assert_non_null(self);
    assert_string_equal(self, loc);
    assert_non_null(strstr(self, af_a));
    json_decref(o);
    int have = sink1.n;
    located(1, 5, 0x101);
    assert_true(sink_wait(&sink1, have, 3000) > have);
    json_t *note = sink_json(&sink1, have);
    assert_string_equal(json_string_value(json_object_get(note, "subscription")), loc);
    json_t *rep = first_report(note);
    assert_string_equal(json_string_value(json_object_get(rep, "monitoringType")),
                        "LOCATION_REPORTING");
    assert_string_equal(json_string_value(json_object_get(rep, "externalId")), ext_a[1]);
    json_t *li = json_object_get(rep, "locationInfo");
    assert_string_equal(json_string_value(json_object_get(li, "cellId")), "000000101");
    assert_string_equal(json_string_value(json_object_get(li, "trackingAreaId")), "000005");
    json_decref(note);
    /* the second report is the last (maximumNumberOfReports 2); a third event sends nothing */
    located(1, 5, 0x102);
    assert_true(sink_wait(&sink1, have + 1, 3000) > have + 1);
    located(1, 5, 0x103);
    assert_int_equal(sink_wait(&sink1, have + 2, 500), have + 2);

    /* one-time, last known: answered at once with a report, no subscription */
    b = sub_body("LOCATION_REPORTING", ext_a[1], sink1.url,
                 "\"maximumNumberOfReports\":1,\"locationType\":\"LAST_KNOWN_LOCATION\"");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 200);
    free(b);
    s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventReport", s);
    free(s);
    li = json_object_get(o, "locationInfo");
    assert_string_equal(json_string_value(json_object_get(li, "cellId")), "000000103");
    assert_string_equal(json_string_value(json_object_get(o, "externalId")), ext_a[1]);
    json_decref(o);

    /* one-time, current: the next location report fulfils it */
    b = sub_body("LOCATION_REPORTING", ext_a[2], sink2.url, "\"maximumNumberOfReports\":1");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, loc), 201);
    free(b);
    json_decref(o);
    have = sink2.n;
    located(2, 5, 0x201);
    assert_true(sink_wait(&sink2, have, 3000) > have);
    located(2, 5, 0x202);
    assert_int_equal(sink_wait(&sink2, have + 1, 500), have + 1);
    /* fulfilled: gone for the AF */
    char path[400];
    snprintf(path, sizeof(path), "/%s/subscriptions/%s", af_a, strrchr(loc, '/') + 1);
    assert_int_equal(t8(&A, tok_a, "GET", path, NULL, NULL, NULL), 404);
}

static void loss_of_connectivity_and_reachability(void **state)
{
    (void)state;
    json_t *o;
    char *b = sub_body("LOSS_OF_CONNECTIVITY", ext_a[3], sink1.url,
                       "\"maximumNumberOfReports\":5");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    b = sub_body("UE_REACHABILITY", ext_a[3], sink2.url,
                 "\"maximumNumberOfReports\":5,\"reachabilityType\":\"DATA\"");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    int h1 = sink1.n, h2 = sink2.n;
    event(3, "LOSS_OF_CONNECTIVITY", NULL, next_time());
    assert_true(sink_wait(&sink1, h1, 3000) > h1);
    json_t *note = sink_json(&sink1, h1);
    assert_string_equal(json_string_value(json_object_get(first_report(note), "monitoringType")),
                        "LOSS_OF_CONNECTIVITY");
    json_decref(note);
    event(3, "REACHABILITY_REPORT", "\"reachability\":\"REACHABLE\"", next_time());
    assert_true(sink_wait(&sink2, h2, 3000) > h2);
    note = sink_json(&sink2, h2);
    json_t *rep = first_report(note);
    assert_string_equal(json_string_value(json_object_get(rep, "monitoringType")),
                        "UE_REACHABILITY");
    assert_string_equal(json_string_value(json_object_get(rep, "reachabilityType")), "DATA");
    json_decref(note);
}

static const char *area_ta(unsigned tac, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\",\"notificationDestination\":"
             "\"%s\",\"maximumNumberOfReports\":1,\"locationArea5G\":{\"nwAreaInfo\":{\"tais\":"
             "[{\"plmnId\":" PLMN ",\"tac\":\"%06X\"}]}}}", sink1.url, tac);
    return buf;
}

static void area_counts_k_anonymity(void **state)
{
    (void)state;
    for (int i = 1; i <= 12; i++)
        located(i, 0x77, 0x700 + (unsigned)i);
    char body[600];
    json_t *o;
    /* A consented for 1..11: 11 >= k = 10 */
    assert_int_equal(post_sub(&A, tok_a, af_a, area_ta(0x77, body, sizeof(body)), &o, NULL), 200);
    char *s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventReport", s);
    free(s);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "uePerLocationReport"),
                                                        "ueCount")), 11);
    json_decref(o);
    /* B consented for 1 and 12 only: 2 < k, withheld, and says nothing of who */
    assert_int_equal(post_sub(&B, tok_b, af_b, area_ta(0x77, body, sizeof(body)), &o, NULL), 200);
    s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventReport", s);
    free(s);
    assert_null(json_object_get(o, "uePerLocationReport"));
    assert_string_equal(json_string_value(json_object_get(o, "suppressed")),
                        "BELOW_K_ANONYMITY_THRESHOLD");
    json_decref(o);
    /* two of A's devices leave: 9 < 10 */
    located(4, 0x78, 0x800);
    located(5, 0x78, 0x801);
    assert_int_equal(post_sub(&A, tok_a, af_a, area_ta(0x77, body, sizeof(body)), &o, NULL), 200);
    assert_null(json_object_get(o, "uePerLocationReport"));
    json_decref(o);
    /* a circle of cell positions is an area too; bad areas are refused */
    const char *bad = "{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\",\"notificationDestination\":"
                      "\"https://af.example/n\",\"maximumNumberOfReports\":1}";
    assert_int_equal(post_sub(&A, tok_a, af_a, bad, NULL, NULL), 400);
    /* rate limit: 5 per minute per AF (configured); A used 2, then 3 more, then refused */
    assert_int_equal(post_sub(&A, tok_a, af_a, area_ta(0x77, body, sizeof(body)), NULL, NULL), 200);
    assert_int_equal(post_sub(&A, tok_a, af_a, area_ta(0x77, body, sizeof(body)), NULL, NULL), 200);
    assert_int_equal(post_sub(&A, tok_a, af_a, area_ta(0x77, body, sizeof(body)), NULL, NULL), 200);
    assert_int_equal(post_sub(&A, tok_a, af_a, area_ta(0x77, body, sizeof(body)), NULL, NULL), 429);
    /* B still has its own budget */
    assert_int_equal(post_sub(&B, tok_b, af_b, area_ta(0x77, body, sizeof(body)), NULL, NULL), 200);
}

static void refusals(void **state)
{
    (void)state;
    json_t *o;
    char *b;
    /* A names B's device (B's external id): unknown to A */
    b = sub_body("LOCATION_REPORTING", ext_b[12], sink1.url, "\"maximumNumberOfReports\":3");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 403);
    json_decref(o);
    /* A's token on B's path */
    assert_int_equal(post_sub(&A, tok_a, af_b, b, &o, NULL), 403);
    assert_string_equal(json_string_value(json_object_get(o, "cause")), "SCS_AS_ID_MISMATCH");
    json_decref(o);
    free(b);
    /* a device whose consent was revoked */
    b = sub_body("LOCATION_REPORTING", ext_a[13], sink1.url, "\"maximumNumberOfReports\":3");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 403);
    json_decref(o);
    free(b);
    /* a device whose owner opted out of monitoring: refused whatever the consent says */
    json_decref(nb_admin_json(&F, "POST", "/admin/v1/monitoring-opt-out",
                           json_pack("{s:s, s:b}", "supi", supi[5], "opt_out", 1), 200));
    b = sub_body("LOSS_OF_CONNECTIVITY", ext_a[5], sink1.url, "\"maximumNumberOfReports\":3");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 403);
    json_decref(o);
    free(b);
    /* permanent identities, however dressed */
    const char *imsis[] = {"imsi-001010000000001", "001010000000001@ext.example",
                           "IMSI-001010000000001", "nai-meter@utility.example"};
    for (size_t i = 0; i < sizeof(imsis) / sizeof(imsis[0]); i++) {
        b = sub_body("LOCATION_REPORTING", imsis[i], sink1.url, "\"maximumNumberOfReports\":3");
        assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 403);
        assert_string_equal(json_string_value(json_object_get(o, "cause")),
                            "PERMANENT_IDENTITY_NOT_ALLOWED");
        json_decref(o);
        free(b);
    }
    char msisdn[400];
    snprintf(msisdn, sizeof(msisdn), "{\"monitoringType\":\"LOCATION_REPORTING\",\"msisdn\":"
             "\"imsi-001010000000001\",\"notificationDestination\":\"%s\","
             "\"maximumNumberOfReports\":3}", sink1.url);
    assert_int_equal(post_sub(&A, tok_a, af_a, msisdn, &o, NULL), 403);
    json_decref(o);
    snprintf(msisdn, sizeof(msisdn), "{\"monitoringType\":\"LOCATION_REPORTING\",\"msisdn\":"
             "\"447700900001\",\"notificationDestination\":\"%s\","
             "\"maximumNumberOfReports\":3}", sink1.url);
    assert_int_equal(post_sub(&A, tok_a, af_a, msisdn, &o, NULL), 403);
    assert_string_equal(json_string_value(json_object_get(o, "cause")), "MSISDN_NOT_ALLOWED");
    json_decref(o);
    /* no token */
    b = sub_body("LOCATION_REPORTING", ext_a[1], sink1.url, "\"maximumNumberOfReports\":3");
    assert_int_equal(post_sub(&A, NULL, af_a, b, NULL, NULL), 401);
    /* B's token on A's connection (bound to B's certificate) */
    assert_int_equal(post_sub(&A, tok_b, af_b, b, NULL, NULL), 401);
    /* AF B cannot read, change or delete A's subscription */
    char loc[300];
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, loc), 201);
    json_decref(o);
    free(b);
    const char *id = strrchr(loc, '/') + 1;
    char path[400];
    snprintf(path, sizeof(path), "/%s/subscriptions/%s", af_b, id);
    assert_int_equal(t8(&B, tok_b, "GET", path, NULL, NULL, NULL), 404);
    assert_int_equal(t8(&B, tok_b, "DELETE", path, NULL, NULL, NULL), 404);
    snprintf(path, sizeof(path), "/%s/subscriptions/%s", af_a, id);
    assert_int_equal(t8(&B, tok_b, "GET", path, NULL, NULL, NULL), 403);
    assert_int_equal(t8(&B, tok_b, "DELETE", path, NULL, NULL, NULL), 403);
    snprintf(path, sizeof(path), "/%s/subscriptions", af_a);
    assert_int_equal(t8(&A, tok_a, "GET", path, NULL, &o, NULL), 200);
    assert_true(json_array_size(o) >= 1);
    char *s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventSubscriptionList", s);
    free(s);
    json_decref(o);
    snprintf(path, sizeof(path), "/%s/subscriptions", af_b);
    assert_int_equal(t8(&B, tok_b, "GET", path, NULL, &o, NULL), 200);
    for (size_t i = 0; i < json_array_size(o); i++)
        assert_null(strstr(json_string_value(json_object_get(json_array_get(o, i), "self")),
                           af_a));
    json_decref(o);
    snprintf(path, sizeof(path), "/%s/subscriptions/%s", af_a, id);
    assert_int_equal(t8(&A, tok_a, "DELETE", path, NULL, NULL, NULL), 204);
}

/* tmpl with its first "%s" replaced by a and the second by b. */
static void fill(char *out, size_t cap, const char *tmpl, const char *a, const char *b)
{
    const char *args[2] = {a, b};
    size_t o = 0;
    int k = 0;
    for (const char *p = tmpl; *p && o + 1 < cap; p++) {
        if (p[0] == '%' && p[1] == 's' && k < 2) {
            o += (size_t)snprintf(out + o, cap - o, "%s", args[k++]);
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o < cap ? o : cap - 1] = 0;
}

static void malformed(void **state)
{
    (void)state;
    char body[1024];
    const char *cases[] = {
        "not json",
        "[]",
        "{}",
        "{\"monitoringType\":\"LOCATION_REPORTING\"}",
        "{\"monitoringType\":\"CHANGE_OF_IMSI_IMEI_ASSOCIATION\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"maximumNumberOfReports\":1}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\"}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"maximumNumberOfReports\":0}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"maximumNumberOfReports\":\"3\"}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"monitorExpireTime\":\"2001-01-01T00:00:00Z\"}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"monitorExpireTime\":\"tomorrow\"}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"maximumNumberOfReports\":1,\"accuracy\":\"GEO_AREA\"}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"ftp://x/%s\",\"maximumNumberOfReports\":1}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"http://192.0.2.1/%s\",\"maximumNumberOfReports\":1}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalGroupId\":\"g@x\","
        "\"notificationDestination\":\"%s%s\",\"maximumNumberOfReports\":1}",
        "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
        "\"notificationDestination\":\"%s\",\"maximumNumberOfReports\":1,"
        "\"maximumNumberOfReports\":2}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fill(body, sizeof(body), cases[i], ext_a[1], sink1.url);
        json_t *o = NULL;
        long st = post_sub(&A, tok_a, af_a, body, &o, NULL);
        if (st != 400)
            fail_msg("case %zu: %ld, want 400", i, st);
        assert_int_equal(json_integer_value(json_object_get(o, "status")), 400);
        json_decref(o);
    }
    char path[200];
    snprintf(path, sizeof(path), "/%s/subscriptions/nope", af_a);
    assert_int_equal(t8(&A, tok_a, "GET", path, NULL, NULL, NULL), 404);

    /* One behaviour on every face (issue 12): not JSON is INVALID_MSG_FORMAT, a missing IE is
     * MANDATORY_IE_MISSING named by a JSON Pointer, another media type 415 (not 400). */
    json_t *o = NULL;
    assert_int_equal(post_sub(&A, tok_a, af_a, "not json", &o, NULL), 400);
    assert_string_equal(json_string_value(json_object_get(o, "cause")), "INVALID_MSG_FORMAT");
    json_decref(o);
    assert_int_equal(post_sub(&A, tok_a, af_a, "{}", &o, NULL), 400);
    assert_string_equal(json_string_value(json_object_get(o, "cause")), "MANDATORY_IE_MISSING");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "invalidParams"), 0), "param")),
                        "/monitoringType");
    json_decref(o);
    char url[700];
    snprintf(url, sizeof(url), "%s" API "/%s/subscriptions", F.north, af_a);
    fill(body, sizeof(body), cases[5], ext_a[1], sink1.url);
    struct nb_response r;
    for (int http2 = 0; http2 < 2; http2++) {
        nb_call(&F, &A, "POST", url, tok_a, "text/plain", body, http2, &r);
        assert_int_equal(r.status, 415);
        assert_non_null(strstr(r.body, "UNSUPPORTED_MEDIA_TYPE"));
        nb_response_free(&r);
    }
    /* HEAD wherever GET is: the GET's status and headers, no body */
    nb_call(&F, &A, "HEAD", url, tok_a, NULL, NULL, 1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    assert_non_null(strstr(r.headers, "content-type: application/json"));
    nb_response_free(&r);
}

static void modify_and_delete(void **state)
{
    (void)state;
    json_t *o;
    char loc[300], path[400];
    char *b = sub_body("LOCATION_REPORTING", ext_a[6], sink1.url,
                       "\"monitorExpireTime\":\"2099-01-01T00:00:00Z\",\"accuracy\":\"TA_RA\"");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, loc), 201);
    free(b);
    json_decref(o);
    snprintf(path, sizeof(path), "/%s/subscriptions/%s", af_a, strrchr(loc, '/') + 1);
    assert_int_equal(t8(&A, tok_a, "GET", path, NULL, &o, NULL), 200);
    char *s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventSubscription", s);
    free(s);
    json_decref(o);
    /* TA accuracy: no cell anywhere in the report */
    int have = sink1.n;
    located(6, 9, 0x901);
    assert_true(sink_wait(&sink1, have, 3000) > have);
    json_t *note = sink_json(&sink1, have);
    json_t *li = json_object_get(first_report(note), "locationInfo");
    assert_null(json_object_get(li, "cellId"));
    assert_null(json_object_get(li, "userLocation"));
    assert_string_equal(json_string_value(json_object_get(li, "trackingAreaId")), "000009");
    json_decref(note);
    /* PUT: to sink2, cell accuracy */
    b = sub_body("LOCATION_REPORTING", ext_a[6], sink2.url,
                 "\"monitorExpireTime\":\"2099-01-01T00:00:00Z\"");
    assert_int_equal(t8(&A, tok_a, "PUT", path, b, &o, NULL), 200);
    free(b);
    s = json_dumps(o, JSON_COMPACT);
    dump("MonitoringEventSubscription", s);
    free(s);
    json_decref(o);
    int h2 = sink2.n;
    located(6, 9, 0x902);
    assert_true(sink_wait(&sink2, h2, 3000) > h2);
    /* PATCH back to sink1 */
    char patch[300];
    snprintf(patch, sizeof(patch),
             "[{\"op\":\"replace\",\"path\":\"/notificationDestination\",\"value\":\"%s\"}]",
             sink1.url);
    assert_int_equal(t8(&A, tok_a, "PATCH", path, patch, NULL, NULL), 204);
    assert_int_equal(t8(&A, tok_a, "PATCH", path,
                          "[{\"op\":\"remove\",\"path\":\"/externalId\"}]", NULL, NULL), 400);
    have = sink1.n;
    located(6, 9, 0x903);
    assert_true(sink_wait(&sink1, have, 3000) > have);
    /* DELETE: nothing more */
    assert_int_equal(t8(&A, tok_a, "DELETE", path, NULL, NULL, NULL), 204);
    assert_int_equal(t8(&A, tok_a, "DELETE", path, NULL, NULL, NULL), 404);
    have = sink1.n;
    located(6, 9, 0x904);
    assert_int_equal(sink_wait(&sink1, have, 500), have);
}

static void consent_revoked_mid_subscription(void **state)
{
    (void)state;
    json_t *o;
    char *b = sub_body("LOCATION_REPORTING", ext_a[7], sink2.url, "\"maximumNumberOfReports\":50");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    int have = sink2.n;
    located(7, 5, 0x701);
    assert_true(sink_wait(&sink2, have, 3000) > have);
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/consents/%s/revoke", consent_a[7]);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 200));
    have = sink2.n;
    for (int i = 0; i < 3; i++)
        located(7, 5, 0x702 + (unsigned)i);
    assert_int_equal(sink_wait(&sink2, have, 1000), have);
}

static void hanging_destination_does_not_delay_others(void **state)
{
    (void)state;
    json_t *o;
    char *b = sub_body("LOCATION_REPORTING", ext_a[8], hang.url, "\"maximumNumberOfReports\":50");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    b = sub_body("LOCATION_REPORTING", ext_a[9], sink1.url, "\"maximumNumberOfReports\":50");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    for (int i = 0; i < 10; i++) /* more than the per-destination cap of transfers in flight */
        located(8, 5, 0x800 + (unsigned)i);
    int have = sink1.n;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    located(9, 5, 0x900);
    assert_true(sink_wait(&sink1, have, 3000) > have);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 1500);
}

static void subscriptions_survive_restart(void **state)
{
    (void)state;
    json_t *o;
    char *b = sub_body("LOSS_OF_CONNECTIVITY", ext_a[10], sink1.url,
                       "\"maximumNumberOfReports\":5");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    int status = fixture_stop(&F, 15);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(fixture_start(&F), 0);
    int have = sink1.n;
    event(10, "LOSS_OF_CONNECTIVITY", NULL, next_time());
    assert_true(sink_wait(&sink1, have, 3000) > have);
    json_t *note = sink_json(&sink1, have);
    assert_string_equal(json_string_value(json_object_get(first_report(note), "externalId")),
                        ext_a[10]);
    json_decref(note);
}

static void authorised_area_exception(void **state)
{
    (void)state;
    json_t *o;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/location/areas/%s", supi[11]);
    json_decref(nb_admin_json(&F, "PUT", path,
                           json_loads("{\"cells\":[{\"plmnId\":" PLMN
                                      ",\"nrCellId\":\"000001100\"}]}", 0, NULL), 200));
    char *b = sub_body("LOCATION_REPORTING", ext_a[11], sink2.url, "\"maximumNumberOfReports\":9");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    int have = sink2.n;
    located(11, 5, 0x1100); /* inside: a plain report */
    assert_true(sink_wait(&sink2, have, 3000) > have);
    json_t *note = sink_json(&sink2, have);
    assert_null(json_object_get(first_report(note), "excepId"));
    json_decref(note);
    located(11, 5, 0x1101); /* outside: the report says so */
    assert_true(sink_wait(&sink2, have + 1, 3000) > have + 1);
    note = sink_json(&sink2, have + 1);
    json_t *rep = first_report(note);
    assert_string_equal(json_string_value(json_object_get(rep, "excepId")),
                        "UNEXPECTED_UE_LOCATION");
    assert_string_equal(json_string_value(json_object_get(rep, "excepCause")),
                        "OUTSIDE_AUTHORISED_AREA");
    json_decref(note);
}

/* ---- outbound destinations ---- */

/* A subscription of who to dest is refused: 400 naming notificationDestination, the reason
 * containing word. */
static void refused_destination(const struct nb_identity *who, const char *tok, const char *af,
                                const char *ext, const char *dest, const char *word)
{
    json_t *o = NULL;
    char *b = sub_body("LOCATION_REPORTING", ext, dest, "\"maximumNumberOfReports\":5");
    long st = post_sub(who, tok, af, b, &o, NULL);
    free(b);
    json_t *ip = json_array_get(json_object_get(o, "invalidParams"), 0);
    const char *param = json_string_value(json_object_get(ip, "param"));
    const char *reason = json_string_value(json_object_get(ip, "reason"));
    if (st != 400 || param == NULL || strcmp(param, "/notificationDestination") != 0 ||
        reason == NULL || strstr(reason, word) == NULL)
        fail_msg("%s: %ld %s: %s", dest, st, param ? param : "-", reason ? reason : "-");
    json_decref(o);
}

static void set_allow(const char *af, json_t *list)
{
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/afs/%s", af);
    json_decref(
        nb_admin_json(&F, "PATCH", path, json_pack("{s:o}", "allow_destinations", list), 200));
}

static const char *metric(const char *text, const char *name, char *out, size_t cap)
{
    const char *at = strstr(text, name);
    snprintf(out, cap, "%s", at ? at + strlen(name) + 1 : "-1");
    out[strcspn(out, "\n")] = 0;
    return out;
}

static void destination_policy(void **state)
{
    (void)state;
    char dest[160], alt[160];
    /* https to this host's loopback: refused for an AF that has not been allow-listed ... */
    refused_destination(&A, tok_a, af_a, ext_a[14], tls_sink.url, "loopback");
    static const struct {
        const char *url, *word;
    } bad[] = {
        {"https://169.254.169.254/latest/meta-data", "link-local"},
        {"https://10.1.2.3/n", "private"},
        {"https://100.64.0.1/n", "CGNAT"},
        {"https://[::1]/n", "loopback"},
        {"https://[::ffff:127.0.0.1]/n", "loopback"},
        {"https://2130706433/n", "loopback"},
        {"https://0x7f.1/n", "loopback"},
        {"https://user:pass@127.0.0.1/n", "credentials"},
        {"http://127.attacker.example/n", "resolve"},
        {"http://10.0.0.1/n", "http"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused_destination(&A, tok_a, af_a, ext_a[14], bad[i].url, bad[i].word);
    /* ... allow-listed for A (this port only): accepted, and delivered over TLS */
    snprintf(dest, sizeof(dest), "127.0.0.1/32:%u", tls_sink.port);
    snprintf(alt, sizeof(alt), "[::1]:%u", tls_sink.port);
    set_allow(af_a, json_pack("[s, s]", dest, alt));
    json_t *list = nb_admin_json(&F, "GET", "/admin/v1/afs", NULL, 200), *af;
    size_t i;
    bool seen = false;
    json_array_foreach(json_object_get(list, "afs"), i, af)
    {
        if (strcmp(json_string_value(json_object_get(af, "af_id")), af_a) == 0)
            seen = strcmp(json_string_value(
                              json_array_get(json_object_get(af, "allow_destinations"), 0)),
                          dest) == 0;
    }
    json_decref(list);
    assert_true(seen);
    json_t *o;
    char *b =
        sub_body("LOCATION_REPORTING", ext_a[14], tls_sink.url, "\"maximumNumberOfReports\":50");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    /* another port of the same address is still refused; B has no allow-list at all */
    snprintf(alt, sizeof(alt), "https://127.0.0.1:%u/notify", sink1.port);
    refused_destination(&A, tok_a, af_a, ext_a[14], alt, "loopback");
    refused_destination(&B, tok_b, af_b, ext_b[12], tls_sink.url, "loopback");
    int have = tls_sink.n;
    located(14, 7, 0x1401);
    assert_true(sink_wait(&tls_sink, have, 3000) > have);
    json_t *note = sink_json(&tls_sink, have);
    assert_string_equal(json_string_value(json_object_get(first_report(note), "externalId")),
                        ext_a[14]);
    json_decref(note);
    /* A second subscription by name (localhost resolves to loopback): allowed while listed */
    snprintf(alt, sizeof(alt), "https://localhost:%u/by-name", tls_sink.port);
    b = sub_body("LOCATION_REPORTING", ext_a[14], alt, "\"maximumNumberOfReports\":50");
    assert_int_equal(post_sub(&A, tok_a, af_a, b, &o, NULL), 201);
    free(b);
    json_decref(o);
    have = tls_sink.n;
    located(14, 7, 0x1402);
    assert_true(sink_wait(&tls_sink, have + 1, 3000) > have + 1); /* both subscriptions */
    /* The operator withdraws the allow-list: both destinations are now refused AT DELIVERY
     * (the name is resolved and its address judged again), nothing reaches the sink. */
    char *m0 = NULL, *m1 = NULL, url[160], v0[32], v1[32];
    snprintf(url, sizeof(url), "%s/metrics", F.admin);
    assert_int_equal(fixture_request(&F, AS_ADMIN, "GET", url, NULL, NULL, 0, &m0), 200);
    set_allow(af_a, json_array());
    have = tls_sink.n;
    located(14, 7, 0x1403);
    assert_int_equal(sink_wait(&tls_sink, have, 1000), have);
    assert_int_equal(fixture_request(&F, AS_ADMIN, "GET", url, NULL, NULL, 0, &m1), 200);
    const char *name = "iotsec_t8_notifications_total{outcome=\"refused_destination\"}";
    assert_int_equal(atoll(metric(m1, name, v1, sizeof(v1))),
                     atoll(metric(m0, name, v0, sizeof(v0))) + 2);
    free(m0);
    free(m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(location_continuous_and_one_time),
        cmocka_unit_test(loss_of_connectivity_and_reachability),
        cmocka_unit_test(area_counts_k_anonymity),
        cmocka_unit_test(refusals),
        cmocka_unit_test(malformed),
        cmocka_unit_test(modify_and_delete),
        cmocka_unit_test(consent_revoked_mid_subscription),
        cmocka_unit_test(hanging_destination_does_not_delay_others),
        cmocka_unit_test(authorised_area_exception),
        cmocka_unit_test(destination_policy),
        cmocka_unit_test(subscriptions_survive_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
