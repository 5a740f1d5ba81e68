/* The benign suite (benign_gen.h) through the evaluation with the default policy: what a
 * healthy network costs in findings. Figures: devices the default policy would quarantine
 * (target 0), the share of (device, window)s with any finding (target <= 2%), the fleet
 * conditions reported instead; and the same network with one plug turned bot: the windows
 * until it is flagged, and whether it would be quarantined. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "analytics/mud.h"
#include "bench.h"
#include "benign_gen.h"
#include "policy/policy.h"

static unsigned decide(void *arg, const struct an_finding *f)
{
    return policy_decide(arg, f->exc, f->level, f->confidence);
}

static json_t *run(unsigned windows, unsigned infect)
{
    static struct policy pol;
    static const char *names[POLICY_ACTION_COUNT];
    struct an_config c;
    an_config_default(&c);
    struct an_eval *ev = an_eval_new(&c);
    struct an_mud *m = malloc(sizeof(*m));
    FILE *tmp = tmpfile();
    char err[256];
    const char *doc = benign_mud_plugx();
    json_t *o = NULL;
    if (ev == NULL || m == NULL || tmp == NULL || benign_write(tmp, windows, 42, infect) != 0 ||
        an_mud_parse(doc, strlen(doc), m, err, sizeof(err)) != 0)
        goto out;
    rewind(tmp);
    unsigned n;
    const struct benign_device *d = benign_devices(&n);
    for (unsigned i = 0; i < n; i++) {
        struct an_addr a;
        an_addr_parse(d[i].addr, strlen(d[i].addr), &a);
        if (an_eval_add_device(ev, &a, d[i].group, d[i].mud ? m : NULL) != 0)
            goto out;
    }
    policy_default(&pol);
    for (int a = 0; a < POLICY_ACTION_COUNT; a++)
        names[a] = policy_action_name((enum policy_action)a);
    an_eval_set_policy(ev, decide, &pol, names, POLICY_ACTION_COUNT);
    if (an_eval_capture(ev, "benign", tmp, AN_FMT_JSONL) == 0) {
        char *s = an_eval_json(ev);
        o = s ? json_loads(s, 0, NULL) : NULL;
        free(s);
    }
out:
    if (tmp)
        fclose(tmp);
    free(m);
    an_eval_free(ev);
    return o;
}

int bench_analytics_benign(void)
{
    json_t *o = run(240, 0);
    if (o == NULL) {
        fprintf(stderr, "analytics benign: the suite did not run\n");
        return 1;
    }
    json_t *dev = json_object_get(o, "devices");
    json_t *q = json_object_get(json_object_get(dev, "policy_would"), "quarantine");
    bench_report("analytics.benign.devices",
                 (double)json_integer_value(json_object_get(dev, "devices")), "devices", 1);
    bench_report("analytics.benign.quarantine_devices",
                 (double)json_integer_value(json_object_get(q, "devices")), "devices", 1);
    bench_report("analytics.benign.flagged_devices",
                 (double)json_integer_value(json_object_get(dev, "flagged")), "devices", 1);
    bench_report("analytics.benign.flagged_windows",
                 (double)json_integer_value(json_object_get(dev, "flagged_windows")), "windows", 1);
    bench_report("analytics.benign.device_windows",
                 (double)json_integer_value(json_object_get(o, "windows")), "windows", 1);
    bench_report("analytics.benign.flagged_window_share_permille",
                 1000 * json_real_value(json_object_get(dev, "flagged_window_share")), "permille",
                 1);
    bench_report("analytics.benign.fleet_conditions",
                 (double)json_integer_value(json_object_get(dev, "fleet_conditions")), "windows",
                 1);
    char *s = json_dumps(json_object_get(dev, "per_exception"), JSON_COMPACT);
    fprintf(stderr, "analytics benign: findings per exception %s\n", s ? s : "");
    free(s);
    json_decref(o);
    /* one plug turned bot at window 80 */
    o = run(100, 80);
    json_t *bot = json_object_get(
        json_object_get(json_array_get(json_object_get(o, "captures"), 0), "per_device"),
        BENIGN_INFECTED);
    json_t *first = json_object_get(bot, "first_flagged_window");
    bench_report("analytics.benign_bot.windows_to_flag",
                 json_is_integer(first)
                     ? (double)(json_integer_value(first) - (json_int_t)(BENIGN_T0 / 60) - 80 + 1)
                     : -1.0,
                 "windows", 1);
    bench_report("analytics.benign_bot.quarantined",
                 json_integer_value(json_object_get(json_object_get(bot, "policy"), "quarantine")) >
                     0,
                 "bool", 1);
    json_decref(o);
    return 0;
}
