/* The offline evaluation: replay labelled captures through the engine and score every
 * (device, window) that had flows. A window is malicious when any flow of that device in it
 * is labelled malicious; it is flagged when the device had an alarm up for it. Labels are
 * read here and nowhere else: the engine never sees them (struct an_flow has no label).
 *
 * A capture is buffered and replayed in time order (Zeek writes a connection when it ends,
 * so its log is not sorted by start time), each capture through a fresh engine: captures
 * are different networks at different times, and their private addresses collide. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/an_int.h"
#include "base/err.h"
#include "crypto/rand.h"

#define MAX_LABELS   31
#define NAME_MAX_LEN 200

struct ev_rec {
    struct an_flow f;
    uint64_t seq; /* input order: ties in ts keep it */
    uint8_t mal, label;
};

struct ev_truth {
    int64_t window;
    bool open, mal;
    uint32_t labels;      /* bit per label slot */
    uint32_t mal_windows; /* malicious windows so far */
    uint32_t first;       /* 1-based malicious window of the first detection; 0 none */
    char addr[48];        /* the device's address, for the report only */
};

struct ev_count {
    char name[40];
    uint64_t windows, flagged;
};

struct ev_capture {
    char name[NAME_MAX_LEN];
    struct an_confusion c;
    uint64_t records, bad_lines, no_device, late;
    uint32_t devices, infected, within3;
    json_t *first;
};

struct an_eval {
    struct an_config cfg;
    struct ev_count labels[MAX_LABELS + 1]; /* the last slot is "other" */
    unsigned nlabels;
    struct ev_count benign;
    struct ev_capture *caps;
    unsigned ncaps;
    struct ev_truth *truth; /* the capture being replayed */
    uint32_t ntruth;
    struct ev_capture *cur;
    struct ev_rec *recs;
    size_t nrecs, crecs;
};

struct an_eval *an_eval_new(const struct an_config *c)
{
    struct an_eval *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return NULL;
    ev->cfg = *c;
    ev->cfg.auto_bind = true; /* a capture has no session events: its LAN hosts are devices */
    return ev;
}

void an_eval_free(struct an_eval *ev)
{
    if (ev == NULL)
        return;
    for (unsigned i = 0; i < ev->ncaps; i++)
        json_decref(ev->caps[i].first);
    free(ev->caps);
    free(ev->truth);
    free(ev->recs);
    free(ev);
}

static uint8_t label_slot(struct an_eval *ev, const char *detail)
{
    const char *name = detail[0] ? detail : "unlabelled";
    for (unsigned i = 0; i < ev->nlabels; i++)
        if (strcmp(ev->labels[i].name, name) == 0)
            return (uint8_t)i;
    if (ev->nlabels == MAX_LABELS) {
        strcpy(ev->labels[MAX_LABELS].name, "other");
        return MAX_LABELS;
    }
    snprintf(ev->labels[ev->nlabels].name, sizeof(ev->labels[0].name), "%s", name);
    return (uint8_t)ev->nlabels++;
}

static int buffer_record(void *arg, const struct an_flow *f, const struct an_label *l)
{
    struct an_eval *ev = arg;
    if (ev->nrecs == ev->crecs) {
        size_t cap = ev->crecs ? ev->crecs * 2 : 4096;
        struct ev_rec *r = realloc(ev->recs, cap * sizeof(*r));
        if (r == NULL)
            return IOTSEC_ERR_NOMEM;
        ev->recs = r;
        ev->crecs = cap;
    }
    struct ev_rec *r = &ev->recs[ev->nrecs];
    r->f = *f;
    r->seq = ev->nrecs++;
    r->mal = l->present && l->malicious;
    r->label = r->mal ? label_slot(ev, l->detail) : 0;
    return IOTSEC_OK;
}

static int by_time(const void *a, const void *b)
{
    const struct ev_rec *x = a, *y = b;
    if (x->f.ts != y->f.ts)
        return x->f.ts < y->f.ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void on_window(void *arg, uint32_t idx, int64_t window, bool flagged)
{
    struct an_eval *ev = arg;
    struct an_confusion *c = &ev->cur->c;
    if (idx >= ev->ntruth)
        return;
    struct ev_truth *t = &ev->truth[idx];
    bool mal = t->open && t->window == window && t->mal;
    c->windows++;
    if (mal) {
        t->mal_windows++;
        if (flagged && t->first == 0)
            t->first = t->mal_windows;
        flagged ? c->tp++ : c->fn++;
        for (unsigned b = 0; b <= MAX_LABELS; b++)
            if (t->labels >> b & 1) {
                ev->labels[b].windows++;
                ev->labels[b].flagged += flagged;
            }
    } else {
        flagged ? c->fp++ : c->tn++;
        ev->benign.windows++;
        ev->benign.flagged += flagged;
    }
    t->open = false;
}

static int note_truth(struct an_eval *ev, const struct ev_rec *r, const struct an_placement *p)
{
    if (p->device >= ev->ntruth) {
        uint32_t n = p->device + 1024;
        struct ev_truth *t = realloc(ev->truth, n * sizeof(*t));
        if (t == NULL)
            return IOTSEC_ERR_NOMEM;
        memset(t + ev->ntruth, 0, (n - ev->ntruth) * sizeof(*t));
        ev->truth = t;
        ev->ntruth = n;
    }
    struct ev_truth *t = &ev->truth[p->device];
    if (t->addr[0] == '\0')
        an_addr_format(p->outbound ? &r->f.orig : &r->f.resp, t->addr, sizeof(t->addr));
    if (!t->open || t->window != p->window) {
        t->open = true;
        t->window = p->window;
        t->mal = false;
        t->labels = 0;
    }
    if (r->mal) {
        t->mal = true;
        t->labels |= 1u << r->label;
    }
    return IOTSEC_OK;
}

/* Replays the buffered records through a fresh engine. */
static int replay(struct an_eval *ev)
{
    uint8_t key[32];
    if (crypto_random(key, sizeof(key)) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    struct an_engine *e = an_engine_new(&ev->cfg, key, sizeof(key));
    if (e == NULL)
        return IOTSEC_ERR_NOMEM;
    an_engine_set_callbacks(e, NULL, on_window, ev);
    qsort(ev->recs, ev->nrecs, sizeof(*ev->recs), by_time);
    if (ev->truth)
        memset(ev->truth, 0, ev->ntruth * sizeof(*ev->truth));
    int rc = IOTSEC_OK;
    for (size_t i = 0; i < ev->nrecs && rc == IOTSEC_OK; i++) {
        struct an_placement p;
        int r = an_engine_ingest(e, &ev->recs[i].f, &p);
        if (r == IOTSEC_OK)
            rc = note_truth(ev, &ev->recs[i], &p);
        else if (r == IOTSEC_ERR_NOMEM)
            rc = r;
    }
    an_engine_flush(e);
    struct an_stats st;
    an_engine_stats(e, &st);
    ev->cur->no_device = st.no_device;
    ev->cur->late = st.late;
    ev->cur->devices = st.devices;
    an_engine_free(e);
    return rc;
}

static void first_detections(struct an_eval *ev, struct ev_capture *cap)
{
    cap->first = json_object();
    for (uint32_t i = 0; i < ev->ntruth; i++) {
        struct ev_truth *t = &ev->truth[i];
        if (t->mal_windows == 0)
            continue;
        cap->infected++;
        cap->within3 += t->first >= 1 && t->first <= 3;
        json_object_set_new(cap->first, t->addr, t->first ? json_integer(t->first) : json_null());
    }
}

int an_eval_capture(struct an_eval *ev, const char *name, FILE *in, enum an_format fmt)
{
    struct ev_capture *caps = realloc(ev->caps, (ev->ncaps + 1) * sizeof(*caps));
    if (caps == NULL)
        return IOTSEC_ERR_NOMEM;
    ev->caps = caps;
    struct ev_capture *cap = &caps[ev->ncaps];
    memset(cap, 0, sizeof(*cap));
    snprintf(cap->name, sizeof(cap->name), "%s", name);
    ev->cur = cap;
    ev->nrecs = 0;
    struct an_read_stats rs;
    int rc = an_read_stream(in, fmt, buffer_record, ev, &rs);
    cap->records = rs.records;
    cap->bad_lines = rs.bad_lines;
    if (rc == IOTSEC_OK && rs.records == 0)
        rc = IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK)
        rc = replay(ev);
    if (rc != IOTSEC_OK)
        return rc;
    first_detections(ev, cap);
    ev->ncaps++;
    return IOTSEC_OK;
}

void an_eval_totals(const struct an_eval *ev, struct an_confusion *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < ev->ncaps; i++) {
        out->windows += ev->caps[i].c.windows;
        out->tp += ev->caps[i].c.tp;
        out->fp += ev->caps[i].c.fp;
        out->tn += ev->caps[i].c.tn;
        out->fn += ev->caps[i].c.fn;
    }
}

static json_t *rate(uint64_t num, uint64_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

static void put_confusion(json_t *o, const struct an_confusion *c)
{
    json_object_set_new(o, "windows", json_integer((json_int_t)c->windows));
    json_object_set_new(o, "tp", json_integer((json_int_t)c->tp));
    json_object_set_new(o, "fp", json_integer((json_int_t)c->fp));
    json_object_set_new(o, "tn", json_integer((json_int_t)c->tn));
    json_object_set_new(o, "fn", json_integer((json_int_t)c->fn));
    json_object_set_new(o, "tpr", rate(c->tp, c->tp + c->fn));
    json_object_set_new(o, "fpr", rate(c->fp, c->fp + c->tn));
}

static json_t *per_label(const struct an_eval *ev)
{
    json_t *o = json_object();
    for (unsigned i = 0; i <= MAX_LABELS; i++) {
        const struct ev_count *l = &ev->labels[i];
        if (l->windows == 0)
            continue;
        json_object_set_new(o, l->name,
                            json_pack("{s:I,s:I,s:o}", "windows", (json_int_t)l->windows,
                                      "detected", (json_int_t)l->flagged, "tpr",
                                      rate(l->flagged, l->windows)));
    }
    json_object_set_new(o, "benign",
                        json_pack("{s:I,s:I,s:o}", "windows", (json_int_t)ev->benign.windows,
                                  "flagged", (json_int_t)ev->benign.flagged, "fpr",
                                  rate(ev->benign.flagged, ev->benign.windows)));
    return o;
}

char *an_eval_json(const struct an_eval *ev)
{
    struct an_confusion tot;
    an_eval_totals(ev, &tot);
    json_t *o = json_object(), *caps = json_array(), *first = json_object();
    uint32_t infected = 0, within3 = 0;
    json_object_set_new(o, "window_s", json_integer(ev->cfg.window_s));
    put_confusion(o, &tot);
    json_object_set_new(o, "per_label", per_label(ev));
    for (unsigned i = 0; i < ev->ncaps; i++) {
        const struct ev_capture *cap = &ev->caps[i];
        json_t *c = json_object();
        json_object_set_new(c, "name", json_string(cap->name));
        json_object_set_new(c, "records", json_integer((json_int_t)cap->records));
        json_object_set_new(c, "bad_lines", json_integer((json_int_t)cap->bad_lines));
        json_object_set_new(c, "devices", json_integer(cap->devices));
        put_confusion(c, &cap->c);
        json_object_set(c, "first_detection_window", cap->first);
        json_array_append_new(caps, c);
        const char *addr;
        json_t *v;
        json_object_foreach(cap->first, addr, v)
        {
            char key[NAME_MAX_LEN + 64];
            snprintf(key, sizeof(key), "%s:%s", cap->name, addr);
            json_object_set(first, key, v);
        }
        infected += cap->infected;
        within3 += cap->within3;
    }
    json_object_set_new(o, "first_detection_window", first);
    json_object_set_new(o, "infected_devices", json_integer(infected));
    json_object_set_new(o, "flagged_within_3", json_integer(within3));
    json_object_set_new(o, "captures", caps);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
