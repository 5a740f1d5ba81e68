/* iotsecctl analytics ingest|map|findings: the running daemon's analytics (admin face).
 *   ingest --format zeek|iot23|jsonl FILE|-   streams the file in batches of at most
 *       BATCH_LINES lines (each batch is all or nothing on the daemon; a TSV/CSV header is
 *       sent again with every batch) and prints {"records","counted","unmapped","late",
 *       "rejected","findings","batches"[,"warning"]}. A refused batch stops the stream: the
 *       message names the line of the file. More than half of a batch unmapped: a warning,
 *       and exit 1 unless --allow-unmapped.
 *   map --supi S --ip A [--group G]           binds a UE address to a subscription.
 *   findings [--supi S] [--exception X] [--since T] [--group G] [--enrollment E]
 *            [--limit N] [--after CURSOR]
 *                                             the persisted findings, a page at a time. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "analytics/analytics.h"
#include "args.h"
#include "base/err.h"
#include "base/strbuf.h"
#include "iotsecctl.h"
#include "list_cmd.h"

#define BATCH_LINES 5000
#define BATCH_BYTES (3u << 20)
#define MAX_LINE    (64u << 10)
#define NFLAGS(f)   (sizeof(f) / sizeof((f)[0]))

struct totals {
    json_int_t records, counted, unmapped, late, rejected, findings, batches;
    json_int_t mostly_unmapped; /* batches the daemon warned about */
};

struct stream {
    const char *cmd;
    const char *media;
    struct strbuf header; /* lines sent again with each batch */
    size_t header_lines;
    struct strbuf batch;
    size_t batch_lines, first_line; /* data lines in batch; file line of its first */
    struct totals t;
};

static int send_batch(struct stream *s)
{
    if (s->batch_lines == 0)
        return 0;
    struct strbuf body = {0};
    if (strbuf_append(&body, s->header.data ? s->header.data : "", s->header.len) != IOTSEC_OK ||
        strbuf_append(&body, s->batch.data, s->batch.len) != IOTSEC_OK) {
        strbuf_free(&body);
        return args_fail(1, s->cmd, "out of memory");
    }
    long status = 0;
    char *answer = NULL;
    int rc = admin_request(s->cmd, "POST", "/admin/v1/analytics/flow-records", s->media, body.data,
                           body.len, &status, &answer);
    strbuf_free(&body);
    if (rc != 0)
        return rc;
    json_t *o = answer ? json_loads(answer, 0, NULL) : NULL;
    if (status == 200 && o) {
        s->t.records += json_integer_value(json_object_get(o, "records"));
        s->t.counted += json_integer_value(json_object_get(o, "counted"));
        s->t.unmapped += json_integer_value(json_object_get(o, "unmapped"));
        s->t.findings += json_integer_value(json_object_get(o, "findings"));
        s->t.late += json_integer_value(json_object_get(o, "late"));
        s->t.mostly_unmapped += json_object_get(o, "warning") != NULL;
        s->t.batches++;
    } else {
        s->t.rejected += (json_int_t)s->batch_lines;
        json_int_t l = json_integer_value(json_object_get(o, "line"));
        if (status == 400 && l > 0) {
            size_t line = (size_t)l <= s->header_lines
                              ? (size_t)l
                              : s->first_line + ((size_t)l - s->header_lines - 1);
            const char *detail = json_string_value(json_object_get(o, "detail"));
            (void)detail;
            rc = args_fail(EXIT_USAGE, s->cmd,
                           "line %zu of the input is not a valid record; "
                           "that batch (%zu lines) was not applied",
                           line, s->batch_lines);
        } else {
            rc = admin_print_answer(s->cmd, status, answer);
            if (rc == 0)
                rc = 1;
        }
    }
    json_decref(o);
    free(answer);
    s->batch.len = 0;
    s->batch_lines = 0;
    return rc;
}

/* Lines that belong to the header: Zeek TSV "#..." lines before the first data line, and
 * the IoT-23 CSV's first line. */
static bool is_header(enum an_format fmt, const char *line, size_t lineno, bool data_seen)
{
    if (data_seen)
        return false;
    if (fmt == AN_FMT_ZEEK)
        return line[0] == '#';
    return fmt == AN_FMT_IOT23 && lineno == 1;
}

int cmd_analytics_ingest(int argc, char **argv)
{
    const char *cmd = "analytics ingest";
    /* --allow-unmapped takes no value: taken out before the --name VALUE flags. */
    bool allow_unmapped = false;
    char *rest[32];
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--allow-unmapped") == 0)
            allow_unmapped = true;
        else if (nrest < 32)
            rest[nrest++] = argv[i];
        else
            return args_fail(EXIT_USAGE, cmd, "too many arguments");
    }
    argc = nrest;
    argv = rest;
    if (argc < 1 || strncmp(argv[argc - 1], "--", 2) == 0)
        return args_fail(EXIT_USAGE, cmd, "give a FILE (or - for stdin) after the flags");
    struct flag f[] = {{"format", 1, NULL}};
    int rc = args_parse(cmd, argc - 1, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    enum an_format fmt;
    if (an_format_parse(args_get(f, NFLAGS(f), "format"), &fmt) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd, "--format: one of zeek, iot23, jsonl");
    const char *path = argv[argc - 1];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read %s", path);
    struct stream s = {.cmd = cmd};
    s.media = fmt == AN_FMT_JSONL   ? "application/x-ndjson"
              : fmt == AN_FMT_IOT23 ? "text/csv"
                                    : "text/x-zeek-conn";
    char *line = malloc(MAX_LINE + 2);
    if (line == NULL)
        return args_fail(1, cmd, "out of memory");
    size_t lineno = 0;
    bool data_seen = false;
    while (rc == 0 && fgets(line, MAX_LINE + 2, in) != NULL) {
        lineno++;
        size_t n = strlen(line);
        if (n > MAX_LINE) {
            rc = args_fail(EXIT_USAGE, cmd, "line %zu is longer than 64 KiB", lineno);
            break;
        }
        if (n == 0 || (n == 1 && line[0] == '\n'))
            continue;
        bool tail = line[n - 1] != '\n';
        if (is_header(fmt, line, lineno, data_seen)) {
            rc = strbuf_append(&s.header, line, n) == IOTSEC_OK &&
                         (!tail || strbuf_append(&s.header, "\n", 1) == IOTSEC_OK)
                     ? 0
                     : args_fail(1, cmd, "out of memory");
            s.header_lines++;
            continue;
        }
        if (fmt == AN_FMT_ZEEK && line[0] == '#')
            continue; /* "#close" and the like after the data */
        data_seen = true;
        if (s.batch_lines == 0)
            s.first_line = lineno;
        if (strbuf_append(&s.batch, line, n) != IOTSEC_OK ||
            (tail && strbuf_append(&s.batch, "\n", 1) != IOTSEC_OK)) {
            rc = args_fail(1, cmd, "out of memory");
            break;
        }
        if (++s.batch_lines >= BATCH_LINES || s.batch.len >= BATCH_BYTES)
            rc = send_batch(&s);
    }
    if (rc == 0 && ferror(in))
        rc = args_fail(1, cmd, "cannot read %s", path);
    if (rc == 0)
        rc = send_batch(&s);
    if (in != stdin)
        fclose(in);
    free(line);
    strbuf_free(&s.header);
    strbuf_free(&s.batch);
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "records", s.t.records, "counted",
                          s.t.counted, "unmapped", s.t.unmapped, "late", s.t.late, "rejected",
                          s.t.rejected, "findings", s.t.findings, "batches", s.t.batches);
    /* Mostly unmapped: the detectors saw next to nothing. Loud, and a failure unless the
     * operator said it is expected (a capture of other networks' traffic, say). */
    bool mostly = s.t.mostly_unmapped > 0 || (s.t.records > 0 && 2 * s.t.unmapped > s.t.records);
    if (mostly && o) {
        char w[200];
        snprintf(w, sizeof(w),
                 "%lld of %lld records map to no device (%lld batches mostly "
                 "unmapped): map the UE addresses first",
                 (long long)s.t.unmapped, (long long)s.t.records, (long long)s.t.mostly_unmapped);
        json_object_set_new(o, "warning", json_string(w));
        if (!allow_unmapped) {
            fprintf(stderr, "iotsecctl %s: warning: %s (--allow-unmapped if expected)\n", cmd, w);
            if (rc == 0)
                rc = 1;
        }
    }
    char *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (out)
        puts(out);
    free(out);
    json_decref(o);
    return rc;
}

int cmd_analytics_map(int argc, char **argv)
{
    const char *cmd = "analytics map";
    struct flag f[] = {{"supi", 1, NULL}, {"ip", 1, NULL}, {"group", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *ip = args_get(f, NFLAGS(f), "ip"), *group = args_get(f, NFLAGS(f), "group");
    struct an_addr a;
    if (an_addr_parse(ip, strlen(ip), &a) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd, "--ip: an IPv4 or IPv6 address");
    json_t *e = json_pack("{s:s, s:s}", "supi", args_get(f, NFLAGS(f), "supi"),
                          an_addr_is_v4(&a) ? "ipv4" : "ipv6", ip);
    if (group)
        json_object_set_new(e, "group", json_string(group));
    json_t *list = json_pack("[o]", e);
    char *body = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (body == NULL)
        return args_fail(1, cmd, "out of memory");
    rc = admin_call(cmd, "PUT", "/admin/v1/analytics/ue-addresses", "application/json", body,
                    strlen(body));
    free(body);
    return rc;
}

/* A query value: [A-Za-z0-9_:.@+-] only (SUPIs, ExceptionIds, RFC 3339 times, numbers), so
 * nothing needs escaping. */
static bool query_safe(const char *v)
{
    if (v[0] == '\0' || strlen(v) > 200)
        return false;
    for (; *v; v++)
        if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
              strchr("_:.@+-", *v)))
            return false;
    return true;
}

int cmd_analytics_findings(int argc, char **argv)
{
    const char *cmd = "analytics findings";
    struct flag f[] = {{"supi", 0, NULL},  {"exception", 0, NULL},  {"since", 0, NULL},
                       {"group", 0, NULL}, {"enrollment", 0, NULL}, {"limit", 0, NULL},
                       {"after", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    char path[1024] = "/admin/v1/analytics/findings";
    char sep = '?';
    for (size_t i = 0; i < NFLAGS(f); i++) {
        if (f[i].value == NULL)
            continue;
        if (!query_safe(f[i].value))
            return args_fail(EXIT_USAGE, cmd, "--%s: unexpected character", f[i].name);
        size_t used = strlen(path);
        /* '+' of a time offset would read as a space in a query: escape it. */
        snprintf(path + used, sizeof(path) - used, "%c%s=", sep, f[i].name);
        for (const char *v = f[i].value; *v && strlen(path) + 4 < sizeof(path); v++) {
            used = strlen(path);
            snprintf(path + used, sizeof(path) - used, *v == '+' ? "%%2B" : "%c", *v);
        }
        sep = '&';
    }
    return admin_call(cmd, "GET", path, NULL, NULL, 0);
}

/* --open / --closed (the only value-less flags: a state, said as the daemon's ?state=) and
 * --enrollment (an enrollment's fleet is the group its devices are mapped in) are rewritten
 * to the list parameters; everything else is checked by list_call and the daemon. */
int cmd_analytics_conditions(int argc, char **argv)
{
    const char *cmd = "analytics conditions";
    char **av = calloc((size_t)argc + 3, sizeof(*av));
    if (av == NULL)
        return args_fail(1, cmd, "out of memory");
    int n = 0;
    const char *state = NULL;
    for (int i = 0; i < argc; i++) {
        bool open = strcmp(argv[i], "--open") == 0, closed = strcmp(argv[i], "--closed") == 0;
        if (open || closed) {
            if (state) {
                free(av);
                return args_fail(EXIT_USAGE, cmd, "one of --open or --closed");
            }
            state = open ? "open" : "closed";
        } else {
            av[n++] = strcmp(argv[i], "--enrollment") == 0 ? "--group" : argv[i];
        }
    }
    if (state) {
        av[n++] = "--state";
        av[n++] = (char *)state;
    }
    static const char *const filters[] = {"state", "group", "since", NULL};
    int rc = list_call(cmd, "/admin/v1/analytics/conditions", filters, n, av);
    free(av);
    return rc;
}
