/* iotsecctl location ...: authorised areas and the cell-position table on the admin face.
 *   location set-area SUPI (--cells PLMN:CELL[,...] | --tas PLMN:TAC[,...] |
 *                           --circle LAT,LON,RADIUS_M | --polygon LAT,LON;LAT,LON;...)
 *                          [--stationary]
 *   location set-area SUPI --stationary          (its first cell seen becomes its area)
 *   location clear-area SUPI
 *   location set-cells FILE.csv                  (plmn,nr_cell_id,lat,lon per line)
 *   location show SUPI                           (last known state)
 *   device locations SUPI [--since T] [--until T] [--after C] [--limit N]
 *                                                (the history, newest first; also
 *                                                 `location history`)
 * PLMN: MCC+MNC digits ("00101"); CELL: up to 9 hex digits (36-bit NR cell id); TAC: up to
 * 6 hex digits. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "list_cmd.h"
#include "args.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

static int supi_arg(const char *cmd, const char *s)
{
    if (s == NULL || s[0] == '-' || strlen(s) > 100)
        return args_fail(EXIT_USAGE, cmd, "expected one SUPI (imsi-<digits> or nai-<user>@<realm>)");
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("@.-_", *p)))
            return args_fail(EXIT_USAGE, cmd, "the SUPI has a character it may not have");
    return 0;
}

static json_t *plmn_json(const char *p, size_t n)
{
    if ((n != 5 && n != 6) || strspn(p, "0123456789") < n)
        return NULL;
    return json_pack("{s:s%, s:s%}", "mcc", p, (size_t)3, "mnc", p + 3, n - 3);
}

/* "PLMN:HEX" -> {"plmnId":..., member: HEX padded to width}. */
static json_t *plmn_hex(const char *item, size_t len, const char *member, size_t width)
{
    const char *colon = memchr(item, ':', len);
    if (colon == NULL)
        return NULL;
    size_t hl = len - (size_t)(colon + 1 - item);
    const char *hex = colon + 1;
    if (hl == 0 || hl > width || strspn(hex, "0123456789abcdefABCDEF") < hl)
        return NULL;
    char padded[16];
    memset(padded, '0', width - hl); /* left-pad with zeros to the fixed width */
    memcpy(padded + width - hl, hex, hl);
    padded[width] = 0;
    json_t *plmn = plmn_json(item, (size_t)(colon - item));
    if (plmn == NULL)
        return NULL;
    return json_pack("{s:o, s:s}", "plmnId", plmn, member, padded);
}

static json_t *list(const char *v, const char *member, size_t width)
{
    json_t *arr = json_array();
    for (const char *p = v; arr && *p;) {
        size_t n = strcspn(p, ",");
        json_t *e = plmn_hex(p, n, member, width);
        if (e == NULL) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, e);
        p += n + (p[n] == ',');
    }
    return arr;
}

static int parse_doubles(const char *s, double *out, int n, char sep_last)
{
    char *end;
    for (int i = 0; i < n; i++) {
        errno = 0;
        out[i] = strtod(s, &end);
        if (end == s || errno)
            return -1;
        char want = i + 1 < n ? ',' : sep_last;
        if (*end != want)
            return -1;
        s = end + (want != 0);
    }
    return 0;
}

static int cmd_set_area(int argc, char **argv)
{
    const char *cmd = "location set-area";
    if (argc < 1 || supi_arg(cmd, argv[0]))
        return argc < 1 ? args_fail(EXIT_USAGE, cmd, "expected a SUPI") : EXIT_USAGE;
    const char *supi = argv[0];
    /* --stationary takes no value: take it out before the VALUE flags are parsed */
    char *rest[16];
    int nrest = 0, stationary = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stationary") == 0)
            stationary = 1;
        else if (nrest < 16)
            rest[nrest++] = argv[i];
        else
            return args_fail(EXIT_USAGE, cmd, "too many arguments");
    }
    struct flag f[] = {{"cells", 0, NULL}, {"tas", 0, NULL}, {"circle", 0, NULL},
                       {"polygon", 0, NULL}};
    int rc = args_parse(cmd, nrest, rest, f, NFLAGS(f));
    if (rc)
        return rc;
    int given = !!f[0].value + !!f[1].value + !!f[2].value + !!f[3].value;
    if (given > 1 || (given == 0 && !stationary))
        return args_fail(EXIT_USAGE, cmd, "give one of --cells, --tas, --circle, --polygon, "
                                          "and/or --stationary");
    json_t *o = json_object();
    json_object_set_new(o, "stationary", json_boolean(stationary));
    if (f[0].value || f[1].value) {
        json_t *arr = f[0].value ? list(f[0].value, "nrCellId", 9) : list(f[1].value, "tac", 6);
        if (arr == NULL) {
            json_decref(o);
            return args_fail(EXIT_USAGE, cmd, "%s: expected PLMN:HEX[,PLMN:HEX...] (PLMN = "
                             "MCC+MNC digits)", f[0].value ? "--cells" : "--tas");
        }
        json_object_set_new(o, f[0].value ? "cells" : "tais", arr);
    } else if (f[2].value) {
        double v[3];
        if (parse_doubles(f[2].value, v, 3, 0) != 0) {
            json_decref(o);
            return args_fail(EXIT_USAGE, cmd, "--circle: expected LAT,LON,RADIUS_M");
        }
        json_object_set_new(o, "circle", json_pack("{s:f, s:f, s:f}", "lat", v[0], "lon", v[1],
                                                   "radius", v[2]));
    } else if (f[3].value) {
        json_t *arr = json_array();
        for (const char *p = f[3].value; *p;) {
            double v[2];
            size_t n = strcspn(p, ";");
            char one[64];
            if (n >= sizeof(one) || (snprintf(one, sizeof(one), "%.*s", (int)n, p),
                                     parse_doubles(one, v, 2, 0)) != 0) {
                json_decref(arr);
                json_decref(o);
                return args_fail(EXIT_USAGE, cmd, "--polygon: expected LAT,LON;LAT,LON;...");
            }
            json_array_append_new(arr, json_pack("{s:f, s:f}", "lat", v[0], "lon", v[1]));
            p += n + (p[n] == ';');
        }
        json_object_set_new(o, "polygon", arr);
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/location/areas/%s", supi);
    rc = admin_call(cmd, "PUT", path, "application/json", body, strlen(body));
    free(body);
    return rc;
}

static int cmd_clear_area(int argc, char **argv)
{
    const char *cmd = "location clear-area";
    if (argc != 1 || supi_arg(cmd, argv[0]))
        return argc != 1 ? args_fail(EXIT_USAGE, cmd, "expected one SUPI") : EXIT_USAGE;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/location/areas/%s", argv[0]);
    return admin_call(cmd, "DELETE", path, NULL, NULL, 0);
}

static int cmd_show(int argc, char **argv)
{
    const char *cmd = "location show";
    if (argc != 1 || supi_arg(cmd, argv[0]))
        return argc != 1 ? args_fail(EXIT_USAGE, cmd, "expected one SUPI") : EXIT_USAGE;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/location/devices/%s", argv[0]);
    return admin_call(cmd, "GET", path, NULL, NULL, 0);
}

/* The device's fixes with their area check (GET /admin/v1/devices/{supi}/locations). */
int cmd_device_locations(int argc, char **argv)
{
    const char *cmd = "device locations";
    if (argc < 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd,
                         "expected SUPI [--since T] [--until T] [--after C] [--limit N]");
    if (supi_arg(cmd, argv[0]))
        return EXIT_USAGE;
    static const char *const filters[] = {"since", "until", NULL};
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/locations", argv[0]);
    return list_call(cmd, path, filters, argc - 1, argv + 1);
}

/* plmn,nr_cell_id(hex),lat,lon per line; '#' lines and a header line are skipped. */
static int cmd_set_cells(int argc, char **argv)
{
    const char *cmd = "location set-cells";
    if (argc != 1)
        return args_fail(EXIT_USAGE, cmd, "expected one FILE (plmn,nr_cell_id,lat,lon lines)");
    FILE *in = strcmp(argv[0], "-") == 0 ? stdin : fopen(argv[0], "r");
    if (in == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot open %s", argv[0]);
    json_t *arr = json_array();
    char line[256];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), in)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == 0 || line[0] == '#' || strncmp(line, "plmn", 4) == 0)
            continue;
        size_t n1 = strcspn(line, ","), n2 = line[n1] ? strcspn(line + n1 + 1, ",") : 0;
        char item[64];
        double v[2];
        json_t *e = NULL;
        if (line[n1] && line[n1 + 1 + n2] && n1 + n2 + 1 < sizeof(item)) {
            snprintf(item, sizeof(item), "%.*s:%.*s", (int)n1, line, (int)n2, line + n1 + 1);
            e = plmn_hex(item, strlen(item), "nrCellId", 9);
        }
        if (e == NULL || parse_doubles(line + n1 + n2 + 2, v, 2, 0) != 0) {
            json_decref(e);
            rc = args_fail(EXIT_USAGE, cmd, "line %d: expected plmn,nr_cell_id,lat,lon", lineno);
            break;
        }
        json_object_set_new(e, "lat", json_real(v[0]));
        json_object_set_new(e, "lon", json_real(v[1]));
        json_array_append_new(arr, e);
    }
    if (in != stdin)
        fclose(in);
    if (rc == 0 && json_array_size(arr) == 0)
        rc = args_fail(EXIT_USAGE, cmd, "no cell in the file");
    if (rc) {
        json_decref(arr);
        return rc;
    }
    json_t *o = json_pack("{s:o}", "cells", arr);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rc = admin_call(cmd, "PUT", "/admin/v1/location/cells", "application/json", body,
                    strlen(body));
    free(body);
    return rc;
}

static const struct command location_commands[] = {
    {"set-area", cmd_set_area,
     "SUPI (--cells PLMN:CELL[,..] | --tas PLMN:TAC[,..] | --circle LAT,LON,RADIUS_M | "
     "--polygon LAT,LON;LAT,LON;...) [--stationary]"},
    {"clear-area", cmd_clear_area, "SUPI"},
    {"set-cells", cmd_set_cells, "FILE|-   (CSV: plmn,nr_cell_id,lat,lon)"},
    {"show", cmd_show, "SUPI   (last known location and state)"},
    {"history", cmd_device_locations,
     "SUPI [--since T] [--until T] [--after C] [--limit N]   (fixes, newest first)"},
};

int cmd_location(int argc, char **argv)
{
    return run_command("location", location_commands,
                       sizeof(location_commands) / sizeof(location_commands[0]), argc, argv);
}
