/* Parsing of subscriber imports (CSV with a header line, or JSON lines) and of timestamps.
 * Errors name the column or key, never its value: the values are keys. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/milenage.h"
#include "subscriber/subscriber.h"

#define MAX_COLUMNS 16
#define FIELD_MAX 512

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return IOTSEC_ERR_INVALID;
}

int sub_parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        y < 1970 || y > 9999)
        return IOTSEC_ERR_INVALID;
    const char *p = s + n;
    if (*p == '.') { /* fractional seconds: accepted, ignored */
        p++;
        if (!isdigit((unsigned char)*p))
            return IOTSEC_ERR_INVALID;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
            return IOTSEC_ERR_INVALID;
        offset = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return IOTSEC_ERR_INVALID;
    }
    if (*p != '\0')
        return IOTSEC_ERR_INVALID;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* 31 February and friends were normalised by timegm */
        return IOTSEC_ERR_INVALID;
    *out = (int64_t)t - offset;
    return IOTSEC_OK;
}

void sub_format_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fields common to both formats, given as strings (NULL = absent). */
struct row_fields {
    const char *supi, *k, *opc, *op, *amf, *sqn, *gpsi, *owner, *not_after, *auth_method;
};

static int copy_string(const char *src, char *dst, size_t cap)
{
    if (strlen(src) >= cap)
        return IOTSEC_ERR_INVALID;
    strcpy(dst, src);
    return IOTSEC_OK;
}

static int fill_input(const struct row_fields *f, struct sub_input *in, char *err, size_t len)
{
    memset(in, 0, sizeof(*in));
    in->state = SUB_ACTIVE;
    if (f->supi == NULL || supi_parse(f->supi, &in->supi) != IOTSEC_OK)
        return fail(err, len, "supi: expected imsi-<5 to 15 digits> or nai-<user>@<realm>");
    if (f->k == NULL || hex_decode(f->k, in->keys.k, 16) != IOTSEC_OK)
        return fail(err, len, "k: expected 32 hex digits");
    if ((f->opc != NULL) == (f->op != NULL))
        return fail(err, len, "give exactly one of opc and op");
    uint8_t op[16];
    if (f->opc != NULL && hex_decode(f->opc, in->keys.opc, 16) != IOTSEC_OK)
        return fail(err, len, "opc: expected 32 hex digits");
    if (f->op != NULL) {
        if (hex_decode(f->op, op, 16) != IOTSEC_OK)
            return fail(err, len, "op: expected 32 hex digits");
        int rc = milenage_opc(in->keys.k, op, in->keys.opc);
        secure_wipe(op, sizeof(op));
        if (rc != IOTSEC_OK)
            return fail(err, len, "op: OPc computation failed");
    }
    if (f->amf == NULL || hex_decode(f->amf, in->amf, 2) != IOTSEC_OK)
        return fail(err, len, "amf: expected 4 hex digits");
    if (!(in->amf[0] & 0x80))
        return fail(err, len, "amf: the separation bit (first bit) must be 1 for 5G");
    if (f->sqn != NULL) {
        uint8_t sqn[6];
        if (hex_decode(f->sqn, sqn, 6) != IOTSEC_OK)
            return fail(err, len, "sqn: expected 12 hex digits");
        for (int i = 0; i < 6; i++)
            in->sqn = (in->sqn << 8) | sqn[i];
    }
    if (f->gpsi != NULL && f->gpsi[0] != '\0' &&
        (!sub_gpsi_valid(f->gpsi) || copy_string(f->gpsi, in->gpsi, sizeof(in->gpsi))))
        return fail(err, len, "gpsi: expected msisdn-<digits> or extid-<id>@<domain>");
    if (f->owner != NULL && copy_string(f->owner, in->owner, sizeof(in->owner)))
        return fail(err, len, "owner: at most %d characters", SUB_OWNER_MAX - 1);
    if (f->not_after != NULL && f->not_after[0] != '\0' &&
        sub_parse_time(f->not_after, &in->not_after) != IOTSEC_OK)
        return fail(err, len, "not_after: expected an RFC 3339 time, e.g. 2030-01-01T00:00:00Z");
    if (f->auth_method != NULL && sub_auth_method_parse(f->auth_method, &in->auth_method))
        return fail(err, len, "auth_method: expected 5G_AKA or EAP_AKA_PRIME");
    return IOTSEC_OK;
}

static const char *const column_names[] = {"supi", "k",    "opc",   "op",        "amf",
                                           "sqn",  "gpsi", "owner", "not_after", "auth_method"};
#define NCOLUMN_NAMES (sizeof(column_names) / sizeof(column_names[0]))

static int *column_slot(struct sub_csv_columns *c, size_t i)
{
    int *slots[] = {&c->supi, &c->k,    &c->opc,   &c->op,        &c->amf,
                    &c->sqn,  &c->gpsi, &c->owner, &c->not_after, &c->auth_method};
    return slots[i];
}

/* Splits a CSV line on commas in place (no quoting: no field of ours contains a comma). */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line;; p++) {
        if (n == max)
            return -1;
        fields[n++] = p;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        *p = '\0';
    }
    return n;
}

int sub_csv_header(const char *line, struct sub_csv_columns *cols, char *err, size_t err_len)
{
    char buf[FIELD_MAX], *fields[MAX_COLUMNS];
    if (strlen(line) >= sizeof(buf))
        return fail(err, err_len, "header line too long");
    strcpy(buf, line);
    int n = split_csv(buf, fields, MAX_COLUMNS);
    if (n < 0)
        return fail(err, err_len, "too many columns");
    for (size_t i = 0; i < NCOLUMN_NAMES; i++)
        *column_slot(cols, i) = -1;
    for (int f = 0; f < n; f++) {
        size_t i = 0;
        while (i < NCOLUMN_NAMES && strcmp(fields[f], column_names[i]) != 0)
            i++;
        if (i == NCOLUMN_NAMES)
            return fail(err, err_len, "unknown column '%.32s'", fields[f]);
        if (*column_slot(cols, i) != -1)
            return fail(err, err_len, "column '%s' repeated", column_names[i]);
        *column_slot(cols, i) = f;
    }
    if (cols->supi < 0 || cols->k < 0 || cols->amf < 0 || (cols->opc < 0 && cols->op < 0))
        return fail(err, err_len, "header needs supi, k, opc or op, and amf");
    return IOTSEC_OK;
}

int sub_csv_row(const char *line, const struct sub_csv_columns *cols, struct sub_input *in,
                char *err, size_t err_len)
{
    char buf[FIELD_MAX], *fields[MAX_COLUMNS];
    if (strlen(line) >= sizeof(buf))
        return fail(err, err_len, "line too long");
    strcpy(buf, line);
    int n = split_csv(buf, fields, MAX_COLUMNS);
    int expected = 0;
    for (size_t i = 0; i < NCOLUMN_NAMES; i++) {
        int c = *column_slot((struct sub_csv_columns *)cols, i);
        if (c >= expected)
            expected = c + 1;
    }
    if (n != expected) {
        secure_wipe(buf, sizeof(buf));
        return fail(err, err_len, "expected %d fields, found %d", expected, n < 0 ? 0 : n);
    }
    /* An empty field is an absent one: "a,,b" leaves the middle column unset. */
#define COL(c) ((c) >= 0 && fields[c][0] != '\0' ? fields[c] : NULL)
    struct row_fields f = {COL(cols->supi),      COL(cols->k),     COL(cols->opc),
                           COL(cols->op),        COL(cols->amf),   COL(cols->sqn),
                           COL(cols->gpsi),      COL(cols->owner), COL(cols->not_after),
                           COL(cols->auth_method)};
#undef COL
    int rc = fill_input(&f, in, err, err_len);
    secure_wipe(buf, sizeof(buf));
    if (rc != IOTSEC_OK)
        secure_wipe(in, sizeof(*in));
    return rc;
}

int sub_json_row(const char *line, struct sub_input *in, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(err, err_len, "not a JSON object (column %d)", jerr.column);
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        size_t i = 0;
        while (i < NCOLUMN_NAMES && strcmp(key, column_names[i]) != 0)
            i++;
        if (i == NCOLUMN_NAMES || !json_is_string(v)) {
            fail(err, err_len, "key '%.32s': unknown, or not a string", key); /* key is o's */
            json_decref(o);
            return IOTSEC_ERR_INVALID;
        }
    }
#define STR(k) json_string_value(json_object_get(o, k))
    struct row_fields f = {STR("supi"), STR("k"),    STR("opc"),   STR("op"),
                           STR("amf"),  STR("sqn"),  STR("gpsi"), STR("owner"),
                           STR("not_after"), STR("auth_method")};
#undef STR
    int rc = fill_input(&f, in, err, err_len);
    json_decref(o); /* jansson does not wipe: the line itself is the caller's to wipe too */
    if (rc != IOTSEC_OK)
        secure_wipe(in, sizeof(*in));
    return rc;
}
