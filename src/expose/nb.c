/* The northbound service: its state (signing keys, external-id key, AF registry, token cache,
 * audit queue) and its life cycle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "expose/nb_int.h"

int64_t nb_now(void)
{
    return (int64_t)time(NULL);
}

int64_t nb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *nb_service_audience(uint32_t service)
{
    switch (service) {
    case EXPOSE_SVC_MONITORING_EVENT:
        return "3gpp-monitoring-event";
    case EXPOSE_SVC_AS_SESSION_WITH_QOS:
        return "3gpp-as-session-with-qos";
    case EXPOSE_SVC_PIN:
        return "3gpp-pin";
    case EXPOSE_SVC_GROUP_MESSAGE:
        return "3gpp-mbs-group-msg";
    default:
        return NULL;
    }
}

void nb_services_scope(uint32_t services, char *out, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{EXPOSE_SVC_MONITORING_EVENT, "monitoring-event"},
                 {EXPOSE_SVC_AS_SESSION_WITH_QOS, "as-session-with-qos"},
                 {EXPOSE_SVC_PIN, "pin"},
                 {EXPOSE_SVC_GROUP_MESSAGE, "group-message"}};
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (services & names[i].bit) {
            int n = snprintf(out + used, cap - used, "%s%s", used ? " " : "", names[i].name);
            if (n < 0 || (size_t)n >= cap - used)
                return;
            used += (size_t)n;
        }
    }
}

bool nb_af_find(struct expose_nb *nb, const char *af_id, const char *cert_hex, struct nb_af *out)
{
    bool found = false;
    pthread_rwlock_rdlock(&nb->lock);
    for (size_t i = 0; i < nb->n_afs && !found; i++) {
        const struct nb_af *a = &nb->afs[i];
        if ((af_id == NULL || strcmp(a->af_id, af_id) == 0) &&
            (cert_hex == NULL || strcmp(a->cert_sha256_hex, cert_hex) == 0)) {
            *out = *a;
            found = true;
        }
    }
    pthread_rwlock_unlock(&nb->lock);
    return found;
}

int nb_afs_reload(struct expose_nb *nb)
{
    struct nb_af *afs = calloc(NB_AF_MAX, sizeof(*afs));
    struct store_conn *c;
    size_t n = 0;
    int rc = afs ? store_reader_get(nb->store, &c) : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = nb_store_afs_load(c, afs, NB_AF_MAX, &n);
    if (rc != IOTSEC_OK) {
        free(afs);
        return rc;
    }
    pthread_rwlock_wrlock(&nb->lock);
    struct nb_af *old = nb->afs;
    nb->afs = afs;
    nb->n_afs = n;
    pthread_rwlock_unlock(&nb->lock);
    free(old);
    return IOTSEC_OK;
}

struct topic_job {
    store_run_fn run;
    void *arg;
};

static int topic_run(struct store_conn *c, void *arg)
{
    struct topic_job *j = arg;
    int rc = j->run(c, j->arg);
    return rc == IOTSEC_OK ? store_topic_bump(c, NB_TOPIC) : rc;
}

int nb_write_sync(struct expose_nb *nb, store_run_fn run, void *arg)
{
    struct topic_job j = {run, arg};
    return store_write_sync(nb->store, topic_run, &j);
}

void expose_nb_tick(struct expose_nb *nb)
{
    int64_t seq;
    struct store_conn *c;
    size_t n;
    if (nb == NULL || store_topic_seq(nb->store, NB_TOPIC, &seq) != IOTSEC_OK ||
        seq == nb->topic_seq)
        return;
    nb->topic_seq = seq;
    /* The caches go after the registry and keys are current: a request racing the reload
     * then reads the store again, never an entry filled before the change. */
    if (nb_afs_reload(nb) != IOTSEC_OK || store_reader_get(nb->store, &c) != IOTSEC_OK ||
        nb_store_keys_load(nb, c, &n) != IOTSEC_OK)
        nb->topic_seq = 0; /* try again at the next tick */
    nb_dcache_invalidate(nb->dcache);
    nb_cache_clear(nb->cache);
}

struct init_job {
    struct expose_nb *nb;
    struct jwt_key *key; /* a fresh key to store, or NULL */
    uint8_t extid[32];
};

static int init_run(struct store_conn *c, void *arg)
{
    struct init_job *j = arg;
    int rc = IOTSEC_OK;
    if (j->key)
        rc = nb_store_key_insert(j->nb, c, j->key);
    if (rc == IOTSEC_OK)
        rc = nb_store_secret(j->nb, c, "extid-key", j->extid, sizeof(j->extid), true);
    return rc;
}

static int load_keys(struct expose_nb *nb)
{
    struct store_conn *c;
    size_t n = 0;
    int rc = store_reader_get(nb->store, &c);
    if (rc == IOTSEC_OK)
        rc = nb_store_keys_load(nb, c, &n);
    if (rc != IOTSEC_OK) {
        log_error("expose: cannot load the token signing keys: %s", iotsec_strerror(rc));
        return rc;
    }
    struct init_job j = {.nb = nb};
    if (n == 0 && (rc = jwt_key_generate(NULL, &j.key)) != IOTSEC_OK)
        return rc;
    rc = store_write_sync(nb->store, init_run, &j);
    if (rc == IOTSEC_OK && j.key) {
        rc = jwt_keyset_rotate(nb->keys, j.key);
        if (rc == IOTSEC_OK)
            j.key = NULL;
    }
    jwt_key_free(j.key);
    if (rc == IOTSEC_OK)
        hmac_sha256_init(&nb->extid_key, j.extid, sizeof(j.extid));
    secure_wipe(j.extid, sizeof(j.extid));
    if (rc != IOTSEC_OK)
        log_error("expose: cannot create or read the exposure keys: %s", iotsec_strerror(rc));
    return rc;
}

int expose_nb_new(const struct expose_nb_config *cfg, struct expose_nb **out)
{
    *out = NULL;
    if (cfg == NULL || cfg->store == NULL || cfg->kek == NULL || cfg->issuer == NULL ||
        strlen(cfg->issuer) >= 256)
        return IOTSEC_ERR_INVALID;
    struct expose_nb *nb = calloc(1, sizeof(*nb));
    if (nb == NULL)
        return IOTSEC_ERR_NOMEM;
    nb->store = cfg->store;
    nb->kek = cfg->kek;
    snprintf(nb->issuer, sizeof(nb->issuer), "%s", cfg->issuer);
    snprintf(nb->domain, sizeof(nb->domain), "%s",
             cfg->extid_domain ? cfg->extid_domain : NB_DEFAULT_DOMAIN);
    nb->lifetime = cfg->token_lifetime_s > 0 ? cfg->token_lifetime_s : EXPOSE_TOKEN_LIFETIME_S;
    pthread_rwlock_init(&nb->lock, NULL);
    nb_audit_init(&nb->audit, nb->store, cfg->audit_queue_max);
    nb->cache = nb_cache_new(cfg->token_cache_entries ? cfg->token_cache_entries : 16384);
    nb->dcache = nb_dcache_new(NB_DCACHE_ENTRIES);
    int rc = nb->cache && nb->dcache ? jwt_keyset_new(&nb->keys) : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = load_keys(nb);
    if (rc == IOTSEC_OK)
        rc = nb_afs_reload(nb);
    if (rc != IOTSEC_OK) {
        expose_nb_free(nb);
        return rc;
    }
    *out = nb;
    return IOTSEC_OK;
}

void expose_nb_free(struct expose_nb *nb)
{
    if (nb == NULL)
        return;
    nb_audit_fini(&nb->audit);
    jwt_keyset_free(nb->keys);
    hmac_sha256_wipe(&nb->extid_key);
    nb_cache_free(nb->cache);
    nb_dcache_free(nb->dcache);
    free(nb->afs);
    pthread_rwlock_destroy(&nb->lock);
    free(nb);
}

int expose_nb_route(struct expose_nb *nb, const char *method, const char *pattern,
                    http_handler_fn handler, void *user)
{
    if (nb->north == NULL)
        return IOTSEC_ERR_STATE;
    return http_server_route(nb->north, method, pattern, handler, user);
}

void expose_af_fix(struct expose_af *af)
{
    af->principal.id = af->af_id;
}
