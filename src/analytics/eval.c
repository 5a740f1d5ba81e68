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
#include "analytics/mud.h"
#include "base/err.h"
#include "crypto/rand.h"

#define MAX_LABELS   31
#define NAME_MAX_LEN 200
#define MAX_ACTIONS  8
#define MAX_DEVICES  4096 /* devices named by --devices FILE */

struct ev_rec {
    struct an_flow f;
    uint64_t seq; /* input order: ties in ts keep it */
    uint32_t dns; /* a DNS answer (index + 1 into dns[]) instead of a flow; 0: a flow */
    uint8_t mal, label;
};

struct ev_truth {
    int64_t window;
    bool open, mal;
    uint32_t labels;      /* bit per label slot */
    uint32_t mal_windows; /* malicious windows so far */
    uint32_t first;       /* 1-based malicious window of the first detection; 0 none */
    char addr[48];        /* the device's address, for the report only */
    /* what the detectors and the policy did with the device, whatever the labels */
    uint32_t windows, flagged;
    int64_t first_flagged; /* the window index; -1 none */
    uint32_t exc[AN_EXC_COUNT];
    uint32_t act[MAX_ACTIONS];
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
    json_t *report;      /* per device */
    uint64_t conditions; /* fleet conditions reported */
};

struct ev_device {
    struct an_addr addr;
    uint32_t group;
    struct an_mud *mud; /* owned; NULL: none */
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
    struct an_dns *dns;
    size_t ndns, cdns;
    struct an_engine *engine; /* the capture's, while it is replayed */
    bool restrict_devices;    /* only the listed devices and prefixes are devices */
    struct ev_device *devs;
    size_t ndevs;
    an_eval_decide_fn decide;
    void *decide_arg;
    const char *const *act_names;
    unsigned nact;
};

uint32_t an_group_number(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    uint32_t h = 2166136261u; /* FNV-1a, as the daemon numbers a group name */
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h ? h : 1;
}

void an_eval_set_devices(struct an_eval *ev, const struct an_prefixes *p)
{
    ev->cfg.local = *p;
    ev->restrict_devices = true;
}

int an_eval_add_device(struct an_eval *ev, const struct an_addr *a, const char *group,
                       const struct an_mud *mud)
{
    if (ev->ndevs == MAX_DEVICES)
        return IOTSEC_ERR_BUSY;
    if (!ev->restrict_devices) {
        ev->cfg.local.n = 0; /* only what is listed */
        ev->restrict_devices = true;
    }
    struct ev_device *d = realloc(ev->devs, (ev->ndevs + 1) * sizeof(*d));
    if (d == NULL)
        return IOTSEC_ERR_NOMEM;
    ev->devs = d;
    d = &ev->devs[ev->ndevs];
    d->addr = *a;
    d->group = an_group_number(group);
    d->mud = NULL;
    if (mud && d->group) {
        if ((d->mud = malloc(sizeof(*mud))) == NULL)
            return IOTSEC_ERR_NOMEM;
        *d->mud = *mud;
    }
    ev->ndevs++;
    return IOTSEC_OK;
}

void an_eval_set_policy(struct an_eval *ev, an_eval_decide_fn fn, void *arg,
                        const char *const *names, unsigned n)
{
    ev->decide = fn;
    ev->decide_arg = arg;
    ev->act_names = names;
    ev->nact = n > MAX_ACTIONS ? MAX_ACTIONS : n;
}

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
    for (unsigned i = 0; i < ev->ncaps; i++) {
        json_decref(ev->caps[i].first);
        json_decref(ev->caps[i].report);
    }
    for (size_t i = 0; i < ev->ndevs; i++)
        free(ev->devs[i].mud);
    free(ev->devs);
    free(ev->dns);
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
    r->dns = 0;
    r->mal = l->present && l->malicious;
    r->label = r->mal ? label_slot(ev, l->detail) : 0;
    return IOTSEC_OK;
}

static int buffer_dns(void *arg, const struct an_dns *d)
{
    struct an_eval *ev = arg;
    if (ev->ndns == ev->cdns) {
        size_t cap = ev->cdns ? ev->cdns * 2 : 256;
        struct an_dns *n = realloc(ev->dns, cap * sizeof(*n));
        if (n == NULL)
            return IOTSEC_ERR_NOMEM;
        ev->dns = n;
        ev->cdns = cap;
    }
    ev->dns[ev->ndns++] = *d;
    struct an_flow f;
    memset(&f, 0, sizeof(f));
    f.ts = d->ts;
    struct an_label none = {0};
    int rc = buffer_record(ev, &f, &none);
    if (rc == IOTSEC_OK)
        ev->recs[ev->nrecs - 1].dns = (uint32_t)ev->ndns;
    return rc;
}

static void on_finding(void *arg, const struct an_finding *f)
{
    struct an_eval *ev = arg;
    uint32_t idx = an_dev_find(ev->engine, f->device);
    if (idx >= ev->ntruth)
        return;
    struct ev_truth *t = &ev->truth[idx];
    t->exc[f->exc]++;
    unsigned acts = ev->decide ? ev->decide(ev->decide_arg, f) : 0;
    for (unsigned a = 0; a < ev->nact; a++)
        t->act[a] += acts >> a & 1;
}

static void on_condition(void *arg, const struct an_condition *c)
{
    if (!c->cleared) /* windows in an outage; a close is not one */
        ((struct an_eval *)arg)->cur->conditions++;
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
    t->windows++;
    if (flagged && t->flagged++ == 0)
        t->first_flagged = window;
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
    an_engine_set_callbacks(e, on_finding, on_window, ev);
    an_engine_set_condition_cb(e, on_condition);
    ev->engine = e;
    qsort(ev->recs, ev->nrecs, sizeof(*ev->recs), by_time);
    if (ev->truth)
        memset(ev->truth, 0, ev->ntruth * sizeof(*ev->truth));
    int rc = IOTSEC_OK;
    for (size_t i = 0; i < ev->ndevs && rc == IOTSEC_OK; i++) {
        const struct ev_device *d = &ev->devs[i];
        char id[64] = "ip:";
        an_addr_format(&d->addr, id + 3, sizeof(id) - 3);
        rc = an_engine_bind(e, &d->addr, id, d->group);
        if (rc == IOTSEC_OK && d->mud)
            rc = an_engine_set_mud(e, d->group, d->mud);
    }
    for (size_t i = 0; i < ev->nrecs && rc == IOTSEC_OK; i++) {
        struct an_placement p;
        if (ev->recs[i].dns) {
            const struct an_dns *d = &ev->dns[ev->recs[i].dns - 1];
            int r = an_engine_dns(e, &d->client, d->query, d->addr, d->ttl, d->n, d->ts);
            if (r == IOTSEC_ERR_NOMEM)
                rc = r;
            continue;
        }
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
    ev->engine = NULL;
    an_engine_free(e);
    return rc;
}

static json_t *device_report(const struct an_eval *ev, const struct ev_truth *t)
{
    json_t *exc = json_object(), *pol = json_object();
    for (int x = 0; x < AN_EXC_COUNT; x++)
        if (t->exc[x])
            json_object_set_new(exc, an_exception_name((enum an_exception)x),
                                json_integer(t->exc[x]));
    for (unsigned a = 0; a < ev->nact; a++)
        if (t->act[a])
            json_object_set_new(pol, ev->act_names[a], json_integer(t->act[a]));
    json_t *o = json_pack("{s:I,s:I,s:b,s:o,s:o}", "windows", (json_int_t)t->windows,
                          "flagged_windows", (json_int_t)t->flagged, "flagged", t->flagged > 0,
                          "exceptions", exc, "policy", pol);
    json_object_set_new(o, "first_flagged_window",
                        t->flagged ? json_integer((json_int_t)t->first_flagged) : json_null());
    if (t->mal_windows)
        json_object_set_new(o, "malicious_windows", json_integer(t->mal_windows));
    return o;
}

static void first_detections(struct an_eval *ev, struct ev_capture *cap)
{
    cap->first = json_object();
    cap->report = json_object();
    for (uint32_t i = 0; i < ev->ntruth; i++) {
        struct ev_truth *t = &ev->truth[i];
        if (t->windows && t->addr[0])
            json_object_set_new(cap->report, t->addr, device_report(ev, t));
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
    ev->ndns = 0;
    struct an_read_stats rs;
    int rc = an_read_stream_dns(in, fmt, buffer_record, buffer_dns, ev, &rs);
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

/* Adds n to o[key1][key2] (objects created on the way). */
static void bump(json_t *o, const char *k1, const char *k2, json_int_t n)
{
    json_t *a = json_object_get(o, k1);
    if (a == NULL) {
        a = json_object();
        json_object_set_new(o, k1, a);
    }
    json_t *v = json_object_get(a, k2);
    json_object_set_new(a, k2, json_integer((v ? json_integer_value(v) : 0) + n));
}

/* Judged per device, not per address: how many were flagged, and per exception type and per
 * policy action how many devices (and findings) it concerned. */
static json_t *summary(const struct an_eval *ev, const struct an_confusion *tot)
{
    json_int_t devices = 0, flagged = 0, flagged_windows = 0, conditions = 0;
    json_t *per_exc = json_object(), *per_act = json_object();
    for (unsigned i = 0; i < ev->ncaps; i++) {
        const char *addr;
        json_t *d;
        conditions += (json_int_t)ev->caps[i].conditions;
        json_object_foreach(ev->caps[i].report, addr, d)
        {
            devices++;
            flagged += json_is_true(json_object_get(d, "flagged"));
            flagged_windows += json_integer_value(json_object_get(d, "flagged_windows"));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(d, "exceptions"), k, v)
            {
                bump(per_exc, k, "findings", json_integer_value(v));
                bump(per_exc, k, "devices", 1);
            }
            json_object_foreach(json_object_get(d, "policy"), k, v)
            {
                bump(per_act, k, "findings", json_integer_value(v));
                bump(per_act, k, "devices", 1);
            }
        }
    }
    return json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:I}", "devices", devices, "flagged", flagged,
                     "flagged_windows", flagged_windows, "flagged_window_share",
                     rate((uint64_t)flagged_windows, tot->windows), "per_exception", per_exc,
                     "policy_would", per_act, "fleet_conditions", conditions);
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
        json_object_set(c, "per_device", cap->report);
        json_object_set_new(c, "fleet_conditions", json_integer((json_int_t)cap->conditions));
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
    json_object_set_new(o, "devices", summary(ev, &tot));
    json_object_set_new(o, "infected_devices", json_integer(infected));
    json_object_set_new(o, "flagged_within_3", json_integer(within3));
    json_object_set_new(o, "captures", caps);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
