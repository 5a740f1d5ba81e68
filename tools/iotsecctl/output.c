#include "output.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CELL_MAX 60 /* a table cell longer than this is cut (use json or csv for all of it) */
#define COLS_MAX 32

static enum output_mode mode = OUTPUT_AUTO;

int output_parse(const char *name)
{
    if (strcmp(name, "json") == 0)
        return OUTPUT_JSON;
    if (strcmp(name, "table") == 0)
        return OUTPUT_TABLE;
    if (strcmp(name, "csv") == 0)
        return OUTPUT_CSV;
    return -1;
}

void output_set(enum output_mode m)
{
    mode = m;
}

enum output_mode output_get(void)
{
    if (mode != OUTPUT_AUTO)
        return mode;
    return isatty(STDOUT_FILENO) ? OUTPUT_TABLE : OUTPUT_JSON;
}

/* A value as a cell: strings bare, null empty, the rest compact JSON. malloc'd. */
static char *cell(json_t *v)
{
    if (v == NULL || json_is_null(v))
        return strdup("");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

/* An older admin list sends its rows under "items" and again under its old name (deprecated,
 * one release): the rows are read from "items" and the copy is dropped, so it is neither a
 * second list nor printed beside the rows. */
static void drop_old_name(json_t *root)
{
    json_t *items = json_object_get(root, "items");
    if (!json_is_array(items))
        return;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (v != items && json_is_array(v) && json_equal(v, items)) {
            json_object_del(root, k);
            return;
        }
    }
}

/* The answer's list: the answer itself when it is an array, or its one array of objects when
 * everything else in it is a few scalars (a cursor, a count). An object with more to say (a
 * `show` with its recent events) is printed as key/value lines instead. */
static json_t *find_rows(json_t *root, const char **key)
{
    *key = NULL;
    if (json_is_array(root))
        return root;
    drop_old_name(root);
    const char *k;
    json_t *v, *rows = NULL;
    size_t others = 0;
    json_object_foreach(root, k, v)
    {
        if (rows == NULL && json_is_array(v) &&
            (json_array_size(v) == 0 || json_is_object(json_array_get(v, 0)))) {
            *key = k;
            rows = v;
        } else if (json_is_object(v) || json_is_array(v) || ++others > 3) {
            *key = NULL;
            return NULL;
        }
    }
    return rows;
}

static void csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* Column widths in characters (UTF-8 continuation bytes not counted), cut at CELL_MAX. */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n < CELL_MAX ? n : CELL_MAX;
}

static void table_cell(FILE *out, const char *s, size_t w, bool last)
{
    size_t shown = 0;
    for (const char *p = s; *p; p++) {
        bool lead = ((unsigned char)*p & 0xc0) != 0x80;
        if (lead && shown == CELL_MAX - 1 && width(s) >= CELL_MAX && strlen(p) > 1) {
            fputs("~", out); /* cut */
            shown++;
            break;
        }
        if (lead)
            shown++;
        fputc(*p == '\n' || *p == '\t' ? ' ' : *p, out);
    }
    if (!last)
        for (; shown < w + 2; shown++)
            fputc(' ', out);
}

static void print_rows(FILE *out, json_t *rows, bool csv)
{
    const char *cols[COLS_MAX];
    size_t ncols = 0, w[COLS_MAX];
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *k;
        json_t *v;
        json_object_foreach(row, k, v)
        {
            size_t c = 0;
            while (c < ncols && strcmp(cols[c], k) != 0)
                c++;
            if (c == ncols && ncols < COLS_MAX) {
                cols[ncols] = k;
                w[ncols++] = width(k);
            }
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        json_array_foreach(rows, i, row)
        {
            char *s = cell(json_object_get(row, cols[c]));
            if (s && width(s) > w[c])
                w[c] = width(s);
            free(s);
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        if (csv) {
            if (c)
                fputc(',', out);
            csv_field(out, cols[c]);
        } else {
            table_cell(out, cols[c], w[c], c + 1 == ncols);
        }
    }
    if (ncols)
        fputc('\n', out);
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            char *s = cell(json_object_get(row, cols[c]));
            if (csv) {
                if (c)
                    fputc(',', out);
                csv_field(out, s ? s : "");
            } else {
                table_cell(out, s ? s : "", w[c], c + 1 == ncols);
            }
            free(s);
        }
        fputc('\n', out);
    }
}

/* key/value lines for an object without a list (and the scalars beside a list). */
static void print_pairs(FILE *out, json_t *obj, const char *skip, bool csv)
{
    const char *k;
    json_t *v;
    size_t w = 0;
    json_object_foreach(obj, k, v)
    {
        if (skip == NULL || strcmp(k, skip) != 0)
            w = width(k) > w ? width(k) : w;
    }
    if (csv && skip == NULL)
        fputs("key,value\n", out);
    json_object_foreach(obj, k, v)
    {
        if (skip != NULL && strcmp(k, skip) == 0)
            continue;
        char *s = cell(v);
        if (csv) {
            csv_field(out, k);
            fputc(',', out);
            csv_field(out, s ? s : "");
        } else {
            table_cell(out, k, w, false);
            fputs(s ? s : "", out);
        }
        fputc('\n', out);
        free(s);
    }
}

void output_print(FILE *out, const char *text)
{
    enum output_mode m = output_get();
    json_t *root = m == OUTPUT_JSON ? NULL : json_loads(text, JSON_DECODE_ANY, NULL);
    if (root == NULL || !(json_is_object(root) || json_is_array(root))) {
        fprintf(out, "%s\n", text);
        json_decref(root);
        return;
    }
    bool csv = m == OUTPUT_CSV;
    const char *key;
    json_t *rows = find_rows(root, &key);
    if (rows == NULL) {
        print_pairs(out, root, NULL, csv);
    } else {
        print_rows(out, rows, csv);
        if (!csv) {
            /* counts, then what else the answer says (a cursor: next_after...) */
            fprintf(out, "(%zu %s)\n", json_array_size(rows), key ? key : "rows");
            if (json_is_object(root))
                print_pairs(out, root, key, false);
        }
    }
    json_decref(root);
}
