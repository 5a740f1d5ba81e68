/* A burst of authentication-vector requests (av_burst.h). */
#include "av_burst.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

struct call {
    CURL *easy;
    int subscriber, instance;
    struct fixture_buf answer;
};

struct run {
    const struct av_burst *b;
    struct curl_slist *headers;
    char pki[3][160]; /* the AMF's view: CA, NF certificate and key */
};

static const char body[] = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\","
                           "\"ausfInstanceId\":\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}";

static void launch(struct run *r, CURLM *multi, struct call *c, int instance)
{
    char url[192];
    c->subscriber = rand() % r->b->subscribers;
    c->instance = instance;
    snprintf(url, sizeof(url), "%s/nudm-ueau/v1/%s%d/security-information/generate-auth-data",
             r->b->fx[instance].sbi, r->b->supi_prefix, c->subscriber);
    free(c->answer.data);
    c->answer = (struct fixture_buf){0};
    curl_easy_reset(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c->easy, CURLOPT_CAINFO, r->pki[0]);
    curl_easy_setopt(c->easy, CURLOPT_SSLCERT, r->pki[1]);
    curl_easy_setopt(c->easy, CURLOPT_SSLKEY, r->pki[2]);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->answer);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_multi_add_handle(multi, c->easy);
}

/* The instance after `instance`, round-robin, passing over the one to avoid. */
static int next_instance(const struct av_burst *b, int instance)
{
    int next = (instance + 1) % b->instances;
    if (next == b->avoid)
        next = (next + 1) % b->instances;
    return next;
}

/* Takes one finished request; returns 1 for a vector received. */
static size_t finished(struct run *r, struct call *c, CURLcode result)
{
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (result == CURLE_OK && status == 200) {
        char who[48];
        snprintf(who, sizeof(who), "subscriber %d (instance %d)", c->subscriber, c->instance);
        sqn_ledger_record(&r->b->ledger[c->subscriber], c->answer.data, who);
        return 1;
    }
    if (result == CURLE_OK && r->b->refused)
        r->b->refused(r->b->ctx, c->instance, status, c->answer.data ? c->answer.data : "");
    return 0;
}

size_t av_burst_run(const struct av_burst *b, long deadline_ms)
{
    struct run r = {.b = b};
    r.headers = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(r.pki[0], sizeof(r.pki[0]), "%s/inst/pki/ca.crt", b->fx[0].dir);
    snprintf(r.pki[1], sizeof(r.pki[1]), "%s/inst/pki/nf.crt", b->fx[0].dir);
    snprintf(r.pki[2], sizeof(r.pki[2]), "%s/inst/pki/nf.key", b->fx[0].dir);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    struct call *calls = calloc((size_t)b->in_flight, sizeof(*calls));
    assert_non_null(calls);
    for (int i = 0; i < b->in_flight; i++) {
        calls[i].easy = curl_easy_init();
        launch(&r, multi, &calls[i], i % b->instances);
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t got = 0;
    bool done = false;
    int running = 1;
    while (running || !done) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 20, NULL);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            struct call *c;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            CURLcode result = msg->data.result;
            curl_multi_remove_handle(multi, c->easy);
            got += finished(&r, c, result);
            if (!done)
                launch(&r, multi, c, next_instance(b, c->instance));
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        long elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (!done && elapsed >= deadline_ms) {
            b->at_deadline(b->ctx);
            done = true;
        }
    }
    for (int i = 0; i < b->in_flight; i++) {
        curl_multi_remove_handle(multi, calls[i].easy);
        curl_easy_cleanup(calls[i].easy);
        free(calls[i].answer.data);
    }
    free(calls);
    curl_multi_cleanup(multi);
    curl_slist_free_all(r.headers);
    return got;
}
