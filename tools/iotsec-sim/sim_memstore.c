/* A credential store in RAM: the sdk's cred_store interface, as a secure element would
 * implement it (no file per simulated device: thousands of fsyncs would measure the disk). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/err.h"
#include "sim.h"

#define SLOTS 2

struct mem_store {
    struct cred_store base;
    char name[SLOTS][CRED_SLOT_NAME_MAX + 1];
    uint8_t *val[SLOTS];
    size_t len[SLOTS];
};

static int find(struct mem_store *m, const char *slot, bool create)
{
    for (int i = 0; i < SLOTS; i++)
        if (m->val[i] && strcmp(m->name[i], slot) == 0)
            return i;
    if (create)
        for (int i = 0; i < SLOTS; i++)
            if (!m->val[i])
                return i;
    return -1;
}

static void drop(struct mem_store *m, int i)
{
    if (m->val[i]) {
        OPENSSL_cleanse(m->val[i], m->len[i]);
        free(m->val[i]);
    }
    m->val[i] = NULL;
    m->len[i] = 0;
}

static int mem_put(struct cred_store *s, const char *slot, const uint8_t *data, size_t len)
{
    struct mem_store *m = (struct mem_store *)s;
    if (!slot || strlen(slot) > CRED_SLOT_NAME_MAX || len == 0 || len > CRED_VALUE_MAX)
        return IOTSEC_ERR_INVALID;
    uint8_t *copy = malloc(len);
    if (!copy)
        return IOTSEC_ERR_NOMEM;
    memcpy(copy, data, len);
    int i = find(m, slot, true);
    if (i < 0) {
        free(copy);
        return IOTSEC_ERR_BUSY;
    }
    drop(m, i);
    strcpy(m->name[i], slot);
    m->val[i] = copy; /* the swap is the atomic step */
    m->len[i] = len;
    return IOTSEC_OK;
}

static int mem_get(struct cred_store *s, const char *slot, uint8_t *out, size_t max, size_t *len)
{
    struct mem_store *m = (struct mem_store *)s;
    *len = 0;
    int i = find(m, slot, false);
    if (i < 0)
        return IOTSEC_ERR_NOTFOUND;
    if (m->len[i] > max)
        return IOTSEC_ERR_INVALID;
    memcpy(out, m->val[i], m->len[i]);
    *len = m->len[i];
    return IOTSEC_OK;
}

static int mem_erase(struct cred_store *s, const char *slot)
{
    struct mem_store *m = (struct mem_store *)s;
    int i = find(m, slot, false);
    if (i >= 0)
        drop(m, i);
    return IOTSEC_OK;
}

static void mem_close(struct cred_store *s)
{
    struct mem_store *m = (struct mem_store *)s;
    for (int i = 0; i < SLOTS; i++)
        drop(m, i);
    free(m);
}

static const struct cred_store_ops mem_ops = {
    .put = mem_put, .get = mem_get, .erase = mem_erase, .close = mem_close};

int sim_memstore_new(struct cred_store **out)
{
    struct mem_store *m = calloc(1, sizeof(*m));
    *out = NULL;
    if (!m)
        return IOTSEC_ERR_NOMEM;
    m->base.ops = &mem_ops;
    *out = &m->base;
    return IOTSEC_OK;
}
