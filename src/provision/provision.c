/* The capability's state: the provisioning key, the nonce table and the rate limiter. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "provision/prov_int.h"

#define LIMITER_SLOTS 4096

int provision_new(const struct provision_config *cfg, struct provision **out)
{
    *out = NULL;
    struct provision *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return IOTSEC_ERR_NOMEM;
    p->store = cfg->store;
    p->kek = cfg->kek;
    p->aka = cfg->aka;
    memcpy(p->admin_cert_sha256, cfg->admin_cert_sha256, sizeof(p->admin_cert_sha256));
    p->nonces = prov_nonces_new(PROV_NONCES_MAX);
    p->limiter = prov_limiter_new(LIMITER_SLOTS);
    p->cas = prov_ca_cache_new();
    int rc = p->nonces && p->limiter && p->cas ? prov_key_load_or_create(p->store, p->kek, &p->sign_key,
                                                               p->sign_pub)
                                     : IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        provision_free(p);
        return rc;
    }
    *out = p;
    return IOTSEC_OK;
}

void provision_free(struct provision *p)
{
    if (p == NULL)
        return;
    prov_sign_key_free(p->sign_key);
    prov_nonces_free(p->nonces);
    prov_limiter_free(p->limiter);
    prov_ca_cache_free(p->cas);
    free(p);
}

void provision_tick(struct provision *p, int64_t now)
{
    prov_nonces_expire(p->nonces, now);
}
