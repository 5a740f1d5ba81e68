/* The policy side of the analytics benchmark: the bots' subscriptions in a real store
 * (SQLite, a temporary directory), findings handed to the policy capability in process
 * (policy_on_finding: one store job per finding, quarantine through the subscriber
 * capability), and after every window the count of quarantined bots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_quarantine.h"
#include "crypto/supi.h"
#include "policy/policy.h"
#include "subscriber/subscriber.h"

struct pseud_entry {
    uint8_t p[16];
    uint32_t dev;
};

struct bench_quarantine {
    char dir[64];
    struct store *store;
    struct policy_service *ps;
    struct pseud_entry *bots; /* sorted by pseudonym */
    uint32_t nbots;
    const char *(*identity)(uint32_t dev, char *buf, size_t len);
};

static const struct seal_kek kek = {.id = 1, .key = {7, 7, 7}};

static int cmp_pseud(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

struct create_all {
    struct bench_quarantine *q;
    uint32_t from, to;
};

static int create_bots(struct store_conn *conn, void *arg)
{
    struct create_all *c = arg;
    for (uint32_t d = c->from; d < c->to; d++) {
        char id[40];
        struct sub_input in;
        memset(&in, 0, sizeof(in));
        if (supi_parse(c->q->identity(d, id, sizeof(id)), &in.supi) != 0)
            return -1;
        in.amf[0] = 0x80;
        in.state = SUB_ACTIVE;
        struct sub_op op = {.kind = SUB_OP_CREATE,
                            .input = &in,
                            .kek = &kek,
                            .now = 1,
                            .actor = "bench",
                            .sqn_block = 1};
        int rc = sub_op_run(conn, &op);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct bench_quarantine *bench_quarantine_new(uint32_t bots_from, uint32_t devices, const void *key,
                                              size_t key_len,
                                              const char *(*identity)(uint32_t, char *, size_t))
{
    struct bench_quarantine *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->identity = identity;
    strcpy(q->dir, "/tmp/iotsec-bench-policy-XXXXXX");
    static const struct store_migration m[] = {
        {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
        {6, "policy", POLICY_MIGRATION_1, NULL},
        {10, "policy 2", POLICY_MIGRATION_2, NULL},
        {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG},
        {25, "subscriber: counts", SUBSCRIBER_MIGRATION_COUNTS, SUBSCRIBER_MIGRATION_COUNTS_PG}};
    struct store_options so;
    store_options_init(&so);
    so.migrations = m;
    so.migration_count = 4;
    char path[128];
    struct create_all c = {q, bots_from, devices};
    q->nbots = devices - bots_from;
    q->bots = calloc(q->nbots, sizeof(*q->bots));
    if (q->bots == NULL || mkdtemp(q->dir) == NULL ||
        snprintf(path, sizeof(path), "%s/db", q->dir) <= 0 ||
        store_open(path, &so, &q->store) != 0 ||
        store_transaction_sync(q->store, create_bots, &c) != 0) {
        bench_quarantine_free(q);
        return NULL;
    }
    for (uint32_t i = 0; i < q->nbots; i++) {
        char id[40];
        an_pseudonym(key, key_len, identity(bots_from + i, id, sizeof(id)), q->bots[i].p);
        q->bots[i].dev = bots_from + i;
    }
    qsort(q->bots, q->nbots, sizeof(*q->bots), cmp_pseud);
    struct policy_service_options po = {.store = q->store, .kek = &kek};
    if ((q->ps = policy_service_new(&po)) == NULL) {
        bench_quarantine_free(q);
        return NULL;
    }
    return q;
}

void bench_quarantine_finding(struct bench_quarantine *q, const struct an_finding *f)
{
    /* The daemon's analytics instance keeps pseudonym -> SUPI for mapped devices; here
     * only the bots have subscriptions, so only their findings can be acted on. */
    struct pseud_entry *e = bsearch(f->device, q->bots, q->nbots, sizeof(*q->bots), cmp_pseud);
    if (e == NULL)
        return;
    char id[40], *json = an_finding_json(f);
    if (json == NULL)
        return;
    policy_on_finding(q->ps, f, q->identity(e->dev, id, sizeof(id)), json);
    free(json);
}

uint64_t bench_quarantine_count(struct bench_quarantine *q)
{
    policy_service_sync(q->ps);
    uint64_t counts[SUB_STATE_COUNT] = {0};
    subscriber_count(q->store, counts);
    return counts[SUB_QUARANTINED];
}

void bench_quarantine_free(struct bench_quarantine *q)
{
    if (q == NULL)
        return;
    policy_service_free(q->ps);
    if (q->store)
        store_close(q->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", q->dir);
    if (q->dir[0] && system(cmd) != 0)
        fprintf(stderr, "analytics: could not remove %s\n", q->dir);
    free(q->bots);
    free(q);
}
