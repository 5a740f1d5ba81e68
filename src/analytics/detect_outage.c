/* Fleet conditions: behaviour most of a fleet shows at once is not an anomaly of each device.
 * When a vendor's cloud is down, every plug of the enrollment retries it, unanswered; each
 * alone looks like a bot hunting its C&C, together they are an outage to report once
 * ("cloud endpoint unreachable for 93% of enrollment X"), not thirty devices to isolate.
 *
 * Per group and window: how many active members had failed openings, and (Misra-Gries, one
 * counter) the endpoint they failed on most: its DNS name when the members resolved one (a
 * cloud rotates over many addresses), else its address. With at least `peer_min` active
 * members and `outage_pct` of them failing, the group is in an outage for that window: its
 * members' failed openings are not evidence against them, and the condition is reported. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "analytics/an_int.h"

void an_outage_tally(struct an_group *g, const struct an_device *d, const struct an_cold *cold)
{
    const struct an_window *w = &d->win;
    if (w->tcp_failed == 0)
        return;
    g->fail_members++;
    if (g->fail_votes == 0 || g->fail_key == w->fail_key) {
        if (g->fail_votes == 0 || g->fail_key != w->fail_key) {
            g->fail_key = w->fail_key;
            g->fail_dst = cold->fail_dst;
            g->fail_port = w->fail_port;
        }
        g->fail_votes++;
    } else {
        g->fail_votes--;
    }
}

void an_outage_close(struct an_engine *e, struct an_group *g)
{
    const struct an_config *c = &e->cfg;
    /* After a start the engine cannot know whether an outage reported before it (a condition
     * still open in the store) lasted: the group's first window with active members closes it
     * unless the outage is still there. */
    bool was = g->outage || (!g->outage_known && g->active > 0);
    if (g->active > 0)
        g->outage_known = true;
    g->outage = g->id != 0 && g->active >= c->peer_min && g->fail_members > 0 &&
                100ull * g->fail_members >= (uint64_t)c->outage_pct * g->active;
    if (g->outage && e->on_condition) {
        struct an_condition cond = {.group = g->id,
                                    .window = e->base + e->cur,
                                    .window_s = c->window_s,
                                    .failing = g->fail_members,
                                    .active = g->active};
        /* The candidate names the endpoint only if it clearly dominated the failures. */
        if (4ull * g->fail_votes >= g->fail_members) {
            cond.has_addr = true;
            cond.addr = g->fail_dst;
            cond.port = g->fail_port;
        }
        e->on_condition(e->cb_arg, &cond);
    } else if (was && e->on_condition) {
        /* The first window without the outage closes the condition: the fleet recovered. */
        struct an_condition cond = {.group = g->id,
                                    .window = e->base + e->cur,
                                    .window_s = c->window_s,
                                    .failing = g->fail_members,
                                    .active = g->active,
                                    .cleared = true};
        e->on_condition(e->cb_arg, &cond);
    }
    g->fail_members = g->fail_votes = g->fail_key = 0;
    memset(&g->fail_dst, 0, sizeof(g->fail_dst));
    g->fail_port = 0;
}

char *an_condition_json(const struct an_condition *c)
{
    char start[32], addr[64] = "";
    time_t t = (time_t)(c->window * (int64_t)c->window_s);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(start, sizeof(start), "1970-01-01T00:00:00Z");
    if (c->has_addr)
        an_addr_format(&c->addr, addr, sizeof(addr));
    json_t *o =
        json_pack("{s:s,s:I,s:I,s:s,s:I,s:I,s:I}", "condition", "ENDPOINT_UNREACHABLE", "group",
                  (json_int_t)c->group, "window", (json_int_t)c->window, "start", start, "failing",
                  (json_int_t)c->failing, "active", (json_int_t)c->active, "share_pct",
                  (json_int_t)(c->active ? 100ull * c->failing / c->active : 0));
    if (o && c->has_addr) {
        json_object_set_new(o, "endpoint", json_string(addr));
        json_object_set_new(o, "port", json_integer(c->port));
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}
