/* An AF's view of a PIN (the answer to GET .../pins/{pinId}/elements), kept per instance.
 *
 * Built from one store read (pin_af_view: the grant, the PIN, its gateways, its elements) and
 * written as text. The copy is keyed by (PIN, AF) and stamped with the store's PIN topic as
 * read BEFORE the view: every PIN write bumps that topic in its own transaction, on whatever
 * instance makes it (pin_write_run), so a copy is served only while no PIN change has been
 * committed anywhere since it was read. Each request reads the topic (one point read) instead
 * of the view (a grant join and two ranges): a revoked grant, a removed PINE, a suspended
 * gateway or a deleted PIN are in the answer of the next request, on every instance.
 *
 * A filler that raced a write stamps its copy with the topic from before the write, so the
 * next request reads again; a refusal (no grant) is never kept. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "pin/pin_int.h"

#define VIEW_SLOTS    1024        /* (PIN, AF) pairs kept; direct-mapped, a collision refills */
#define VIEW_LOCKS    64          /* slot i is guarded by lock i % VIEW_LOCKS */
#define VIEW_BODY_MAX (64 * 1024) /* larger answers (PINs of ~1,000 elements) are not kept */
#define VIEW_ELEMENTS 10000       /* at most this many elements in an answer */

struct view_slot {
    char pin_id[PIN_ID_MAX + 1], af_id[PIN_ID_MAX + 1];
    int64_t seq; /* the PIN topic read before the view */
    char *body;  /* NULL: empty slot */
    size_t len;
};

struct pin_views {
    pthread_mutex_t locks[VIEW_LOCKS];
    struct view_slot slots[VIEW_SLOTS];
    _Atomic unsigned long long hits, reads;
};

int pin_views_new(struct pin_views **out)
{
    struct pin_views *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return IOTSEC_ERR_NOMEM;
    for (size_t i = 0; i < VIEW_LOCKS; i++)
        pthread_mutex_init(&v->locks[i], NULL);
    *out = v;
    return IOTSEC_OK;
}

void pin_views_free(struct pin_views *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < VIEW_SLOTS; i++)
        free(v->slots[i].body);
    for (size_t i = 0; i < VIEW_LOCKS; i++)
        pthread_mutex_destroy(&v->locks[i]);
    free(v);
}

void pin_views_counts(const struct pin *p, uint64_t *hits, uint64_t *reads)
{
    *hits = p->views->hits;
    *reads = p->views->reads;
}

static size_t slot_of(const char *pin_id, const char *af_id)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a over both ids and a separator */
    for (const char *s = pin_id; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *s = af_id; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)(h % VIEW_SLOTS);
}

/* ---- building the answer from the store's rows ---- */

struct build {
    struct strbuf head, els, gws;
    uint32_t services; /* of the grant row; 0: none */
    int rc;
};

static int member_json(struct strbuf *b, bool element, const char *id, const char *name,
                       const char *state)
{
    int rc = strbuf_append(b, b->len ? ",{" : "{", b->len ? 2 : 1);
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(b, "\"%s\":", element ? "pineId" : "gwId");
    if (rc == IOTSEC_OK)
        rc = strbuf_append_json_str(b, id);
    if (rc == IOTSEC_OK && element) {
        rc = strbuf_append(b, ",\"name\":", 8);
        if (rc == IOTSEC_OK)
            rc = strbuf_append_json_str(b, name);
    }
    return rc == IOTSEC_OK ? strbuf_appendf(b, ",\"state\":\"%s\"}", state) : rc;
}

static void build_row(enum pin_view_row row, const char *id, const char *name, int64_t v, void *ctx)
{
    struct build *w = ctx;
    int rc = IOTSEC_OK;
    if (row == PIN_VIEW_GRANT) {
        w->services = (uint32_t)v;
        rc = strbuf_append(&w->head, "{\"pinId\":", 9);
        if (rc == IOTSEC_OK)
            rc = strbuf_append_json_str(&w->head, id);
        if (rc == IOTSEC_OK)
            rc = strbuf_append(&w->head, ",\"name\":", 8);
        if (rc == IOTSEC_OK)
            rc = strbuf_append_json_str(&w->head, name);
    } else if (w->services & PIN_AF_ELEMENTS) /* nothing of a PIN without the grant */
        rc = member_json(row == PIN_VIEW_ELEMENT ? &w->els : &w->gws, row == PIN_VIEW_ELEMENT, id,
                         name,
                         row == PIN_VIEW_GATEWAY ? (v == GW_ACTIVE ? "active" : "suspended")
                         : v == PINE_APPROVED    ? "approved"
                         : v == PINE_REFUSED     ? "refused"
                                                 : "pending");
    if (rc != IOTSEC_OK)
        w->rc = rc;
}

/* The answer read from the store now: *body malloc'd, or NOTFOUND without the grant. */
static int build(struct pin *p, const char *pin_id, const char *af_id, char **body, size_t *len)
{
    struct build w = {.rc = IOTSEC_OK};
    int rc = pin_af_view(p->store, pin_id, af_id, VIEW_ELEMENTS, build_row, &w);
    if (rc == IOTSEC_OK)
        rc = w.rc;
    if (rc == IOTSEC_OK && (w.services & PIN_AF_ELEMENTS))
        rc = strbuf_appendf(&w.head, ",\"elements\":[%s],\"gateways\":[%s]}",
                            w.els.data ? w.els.data : "", w.gws.data ? w.gws.data : "");
    else if (rc == IOTSEC_OK)
        rc = IOTSEC_ERR_NOTFOUND;
    strbuf_free(&w.els);
    strbuf_free(&w.gws);
    if (rc != IOTSEC_OK) {
        strbuf_free(&w.head);
        return rc;
    }
    *body = w.head.data;
    *len = w.head.len;
    return IOTSEC_OK;
}

/* ---- the per-instance copies ---- */

/* A copy of the slot's answer when it is (pin_id, af_id)'s as of topic seq. */
static bool lookup(struct pin_views *v, size_t i, const char *pin_id, const char *af_id,
                   int64_t seq, char **body, size_t *len)
{
    bool hit = false;
    pthread_mutex_lock(&v->locks[i % VIEW_LOCKS]);
    struct view_slot *s = &v->slots[i];
    if (s->body && s->seq == seq && strcmp(s->pin_id, pin_id) == 0 &&
        strcmp(s->af_id, af_id) == 0 && (*body = malloc(s->len + 1)) != NULL) {
        memcpy(*body, s->body, s->len + 1);
        *len = s->len;
        hit = true;
    }
    pthread_mutex_unlock(&v->locks[i % VIEW_LOCKS]);
    return hit;
}

/* Keeps a copy of body for (pin_id, af_id) as of topic seq, unless the slot holds a newer one. */
static void keep(struct pin_views *v, size_t i, const char *pin_id, const char *af_id, int64_t seq,
                 const char *body, size_t len)
{
    char *copy = len <= VIEW_BODY_MAX ? malloc(len + 1) : NULL;
    if (copy == NULL)
        return;
    memcpy(copy, body, len + 1);
    pthread_mutex_lock(&v->locks[i % VIEW_LOCKS]);
    struct view_slot *s = &v->slots[i];
    if (s->body == NULL || seq >= s->seq) {
        free(s->body);
        snprintf(s->pin_id, sizeof(s->pin_id), "%s", pin_id);
        snprintf(s->af_id, sizeof(s->af_id), "%s", af_id);
        s->seq = seq;
        s->body = copy;
        s->len = len;
        copy = NULL;
    }
    pthread_mutex_unlock(&v->locks[i % VIEW_LOCKS]);
    free(copy);
}

int pin_view_get(struct pin *p, const char *pin_id, const char *af_id, char **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    if (!pin_id_ok(pin_id) || strlen(af_id) > PIN_ID_MAX)
        return IOTSEC_ERR_NOTFOUND;
    int64_t seq;
    int rc = store_topic_seq(p->store, PIN_TOPIC, &seq); /* before the view: see the top */
    if (rc != IOTSEC_OK)
        return rc;
    size_t i = slot_of(pin_id, af_id);
    if (lookup(p->views, i, pin_id, af_id, seq, body, len)) {
        p->views->hits++;
        return IOTSEC_OK;
    }
    p->views->reads++;
    rc = build(p, pin_id, af_id, body, len);
    if (rc == IOTSEC_OK)
        keep(p->views, i, pin_id, af_id, seq, *body, *len);
    return rc;
}
