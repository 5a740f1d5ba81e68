/* The offline evaluation: on the shipped excerpts, its window counts are checked against an
 * independent count made here from the raw CSV (a different parser, a plain table), and its
 * detections against the figures documented in docs/analytics.md; on the team's full subset
 * (when the clone has ../shared beside it), the targets. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "analytics/analytics.h"
#include "base/err.h"

#define MAXW 8192

/* ---- the independent count ----------------------------------------------------------- */

struct wkey {
    char dev[48];
    long window;
    int mal;
};

struct tally {
    struct wkey w[MAXW];
    int n;
    char devices[16][48];
    int ndev;
};

static bool local(const char *ip)
{
    return strncmp(ip, "192.168.", 8) == 0 || strncmp(ip, "10.", 3) == 0;
}

static bool known(struct tally *t, const char *ip)
{
    for (int i = 0; i < t->ndev; i++)
        if (strcmp(t->devices[i], ip) == 0)
            return true;
    return false;
}

/* A flow lands on a device already known at its responder end if its originator is not one;
 * else on its originator if local; else on its responder if local. */
static void count_csv(const char *path, struct tally *t)
{
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char line[4096];
    memset(t, 0, sizeof(*t));
    assert_non_null(fgets(line, sizeof(line), in)); /* header */
    while (fgets(line, sizeof(line), in)) {
        char *col[32];
        int n = 0;
        for (char *p = line, *s; n < 32 && (s = strsep(&p, ",\n")) != NULL;)
            col[n++] = s;
        assert_true(n >= 23);
        const char *orig = col[2], *resp = col[4], *dev = NULL;
        if (!known(t, orig) && known(t, resp))
            dev = resp;
        else if (local(orig))
            dev = orig;
        else if (local(resp))
            dev = resp;
        if (dev == NULL)
            continue;
        if (!known(t, dev) && t->ndev < 16)
            strcpy(t->devices[t->ndev++], dev);
        long w = (long)floor(strtod(col[0], NULL) / 60);
        int mal = strcasecmp(col[21], "malicious") == 0, i;
        for (i = 0; i < t->n; i++)
            if (t->w[i].window == w && strcmp(t->w[i].dev, dev) == 0)
                break;
        if (i == t->n) {
            assert_true(t->n < MAXW);
            snprintf(t->w[t->n].dev, sizeof(t->w[0].dev), "%s", dev);
            t->w[t->n++].window = w;
        }
        t->w[i].mal |= mal;
    }
    fclose(in);
}

/* ---- the evaluation under test ------------------------------------------------------- */

static json_t *run_eval(const char *const *paths, int n)
{
    struct an_config c;
    an_config_default(&c);
    struct an_eval *ev = an_eval_new(&c);
    assert_non_null(ev);
    for (int i = 0; i < n; i++) {
        FILE *in = fopen(paths[i], "r");
        assert_non_null(in);
        const char *slash = strrchr(paths[i], '/');
        assert_int_equal(an_eval_capture(ev, slash ? slash + 1 : paths[i], in, AN_FMT_IOT23),
                         IOTSEC_OK);
        fclose(in);
    }
    char *s = an_eval_json(ev);
    assert_non_null(s);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    free(s);
    an_eval_free(ev);
    return o;
}

static long num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return (long)json_integer_value(v);
}

static void check_against_count(json_t *cap, const char *path, long want_tp, long want_fp)
{
    struct tally *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    count_csv(path, t);
    long mal = 0;
    for (int i = 0; i < t->n; i++)
        mal += t->w[i].mal;
    assert_int_equal(num(cap, "windows"), t->n);
    assert_int_equal(num(cap, "tp") + num(cap, "fn"), mal);
    assert_int_equal(num(cap, "fp") + num(cap, "tn"), t->n - mal);
    assert_int_equal(num(cap, "tp"), want_tp);
    assert_int_equal(num(cap, "fp"), want_fp);
    free(t);
}

static void test_shipped_excerpts(void **state)
{
    (void)state;
    const char *paths[] = {AN_TEST_DATA "/honeypot-4-1.csv",
                           AN_TEST_DATA "/malware-8-1-head1500.csv"};
    json_t *o = run_eval(paths, 2);
    json_t *caps = json_object_get(o, "captures");
    assert_int_equal(json_array_size(caps), 2);
    check_against_count(json_array_get(caps, 0), paths[0], 0, 0);   /* a benign HUE */
    check_against_count(json_array_get(caps, 1), paths[1], 193, 0); /* Hakai's C&C */
    assert_int_equal(num(o, "windows"), 197 + 259);
    assert_int_equal(num(o, "infected_devices"), 1);
    assert_int_equal(num(o, "flagged_within_3"), 1);
    json_t *first = json_object_get(o, "first_detection_window");
    assert_int_equal(
        json_integer_value(json_object_get(first, "malware-8-1-head1500.csv:192.168.100.113")), 1);
    json_t *cc = json_object_get(json_object_get(o, "per_label"), "C&C");
    assert_int_equal(num(cc, "windows"), 193);
    json_decref(o);
}

static void test_bad_capture(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    struct an_eval *ev = an_eval_new(&c);
    char junk[] = "not,a,capture\n\xff\xfe\n";
    FILE *in = fmemopen(junk, strlen(junk), "r");
    assert_non_null(in);
    assert_int_equal(an_eval_capture(ev, "junk", in, AN_FMT_IOT23), IOTSEC_ERR_INVALID);
    fclose(in);
    an_eval_free(ev);
}

/* The targets on every capture of the team's subset, together. */
static void test_shared_subset_targets(void **state)
{
    (void)state;
    struct stat st;
    if (stat(AN_SHARED_DATA, &st) != 0) {
        printf("skipped: %s is absent (the CI clone has ../shared beside the repo)\n",
               AN_SHARED_DATA);
        skip();
    }
    const char *names[] = {
        "CTU-Honeypot-Capture-4-1-labeled.csv", "CTU-Honeypot-Capture-5-1-labeled.csv",
        "CTU-Malware-Capture-8-1-labeled.csv", "CTU-Malware-Capture-20-1-labeled.csv",
        "CTU-Malware-Capture-34-1-labeled.csv"};
    char paths[5][512];
    const char *p[5];
    for (int i = 0; i < 5; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", AN_SHARED_DATA, names[i]);
        p[i] = paths[i];
    }
    json_t *o = run_eval(p, 5);
    double tpr = json_real_value(json_object_get(o, "tpr"));
    double fpr = json_real_value(json_object_get(o, "fpr"));
    printf("shared subset: tpr %.4f fpr %.4f\n", tpr, fpr);
    assert_true(tpr >= 0.95);
    assert_true(fpr <= 0.02);
    assert_int_equal(num(o, "infected_devices"), 3);
    assert_int_equal(num(o, "flagged_within_3"), 3);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_excerpts),
        cmocka_unit_test(test_bad_capture),
        cmocka_unit_test(test_shared_subset_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
