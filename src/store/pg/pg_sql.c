/* Reading SQL text the way PostgreSQL's lexer does, just enough for three jobs: refuse
 * transaction control inside a job, count $N placeholders, and map SQLite-flavoured DDL to
 * PostgreSQL's types. Quoted literals ('' doubled), quoted identifiers, dollar-quoted bodies
 * ($$...$$, $tag$...$tag$: plpgsql functions contain BEGIN/END) and comments are skipped. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/pg/pg_int.h"

static bool ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* The length of a dollar-quote tag starting at s ("$$" or "$tag$"), 0 if s starts none. */
static size_t dollar_tag(const char *s)
{
    if (s[0] != '$' || isdigit((unsigned char)s[1]))
        return 0;
    size_t n = 1;
    while (ident_char(s[n]))
        n++;
    return s[n] == '$' ? n + 1 : 0;
}

/* If sql[i] starts a literal, identifier, dollar-quoted body or comment, returns the index just
 * past it; otherwise returns i. */
static size_t skip_opaque(const char *sql, size_t i)
{
    char ch = sql[i];
    if (ch == '\'' || ch == '"') {
        i++;
        while (sql[i] != '\0') {
            if (sql[i] == ch && sql[i + 1] == ch)
                i += 2;
            else if (sql[i++] == ch)
                break;
        }
        return i;
    }
    if (ch == '-' && sql[i + 1] == '-') {
        while (sql[i] != '\0' && sql[i] != '\n')
            i++;
        return i;
    }
    if (ch == '/' && sql[i + 1] == '*') {
        int depth = 0;
        do {
            if (sql[i] == '/' && sql[i + 1] == '*') {
                depth++;
                i += 2;
            } else if (sql[i] == '*' && sql[i + 1] == '/') {
                depth--;
                i += 2;
            } else {
                i++;
            }
        } while (depth > 0 && sql[i] != '\0');
        return i;
    }
    size_t tag = (i == 0 || !ident_char(sql[i - 1])) ? dollar_tag(sql + i) : 0;
    if (tag > 0) {
        const char *end = NULL;
        for (const char *p = sql + i + tag; (p = strchr(p, '$')) != NULL; p++) {
            if (strncmp(p, sql + i, tag) == 0) {
                end = p;
                break;
            }
        }
        return end ? (size_t)(end - sql) + tag : strlen(sql);
    }
    return i;
}

/* Skips blanks and comments from i. */
static size_t skip_space(const char *sql, size_t i)
{
    for (;;) {
        while (isspace((unsigned char)sql[i]))
            i++;
        if ((sql[i] == '-' && sql[i + 1] == '-') || (sql[i] == '/' && sql[i + 1] == '*'))
            i = skip_opaque(sql, i);
        else
            return i;
    }
}

/* The word at i (letters, digits, _) copied upper-case into w; returns its end. */
static size_t read_word(const char *sql, size_t i, char *w, size_t cap)
{
    size_t n = 0;
    while (ident_char(sql[i])) {
        if (n + 1 < cap)
            w[n++] = (char)toupper((unsigned char)sql[i]);
        i++;
    }
    w[n] = '\0';
    return i;
}

/* Whether the statement starting at i begins with transaction control a job must not run. */
static bool stmt_is_txn_control(const char *sql, size_t i)
{
    char w[32], w2[32];
    i = read_word(sql, skip_space(sql, i), w, sizeof(w));
    if (strcmp(w, "BEGIN") == 0 || strcmp(w, "START") == 0 || strcmp(w, "COMMIT") == 0 ||
        strcmp(w, "END") == 0 || strcmp(w, "ABORT") == 0)
        return true;
    bool rollback = strcmp(w, "ROLLBACK") == 0;
    if (!rollback && strcmp(w, "SAVEPOINT") != 0 && strcmp(w, "RELEASE") != 0)
        return false;
    i = read_word(sql, skip_space(sql, i), w2, sizeof(w2));
    if (rollback) {
        if (strcmp(w2, "TO") != 0)
            return true; /* ROLLBACK [WORK|TRANSACTION|PREPARED...] */
        i = read_word(sql, skip_space(sql, i), w2, sizeof(w2));
    }
    if (strcmp(w, "SAVEPOINT") != 0 && strcmp(w2, "SAVEPOINT") == 0)
        i = read_word(sql, skip_space(sql, i), w2, sizeof(w2));
    return strcasecmp(w2, JOB_SAVEPOINT) == 0;
}

bool pg_sql_writes(const char *sql)
{
    char w[16];
    read_word(sql, skip_space(sql, 0), w, sizeof(w));
    return strcmp(w, "INSERT") == 0 || strcmp(w, "UPDATE") == 0 || strcmp(w, "DELETE") == 0 ||
           strcmp(w, "MERGE") == 0 || strcmp(w, "WITH") == 0;
}

bool pg_sql_returns(const char *sql)
{
    size_t i = 0;
    while (sql[i] != '\0') {
        size_t j = skip_opaque(sql, i);
        if (j != i) {
            i = j;
        } else if (ident_char(sql[i]) && (i == 0 || !ident_char(sql[i - 1]))) {
            char w[16];
            i = read_word(sql, i, w, sizeof(w));
            if (strcmp(w, "RETURNING") == 0)
                return true;
        } else {
            i++;
        }
    }
    return false;
}

bool pg_sql_is_blank(const char *sql)
{
    return sql[skip_space(sql, 0)] == '\0';
}

bool pg_sql_has_txn_control(const char *sql)
{
    size_t i = 0;
    bool at_start = true;
    while (sql[i] != '\0') {
        if (at_start) {
            if (stmt_is_txn_control(sql, i))
                return true;
            at_start = false;
        }
        size_t j = skip_opaque(sql, i);
        if (j != i) {
            i = j;
            continue;
        }
        at_start = sql[i++] == ';';
    }
    return false;
}

int pg_sql_max_param(const char *sql)
{
    int max = 0;
    size_t i = 0;
    while (sql[i] != '\0') {
        size_t j = skip_opaque(sql, i);
        if (j != i) {
            i = j;
            continue;
        }
        if (sql[i] == '$' && isdigit((unsigned char)sql[i + 1]) &&
            (i == 0 || !ident_char(sql[i - 1]))) {
            int n = atoi(sql + i + 1);
            if (n > max)
                max = n;
            i++;
            while (isdigit((unsigned char)sql[i]))
                i++;
            continue;
        }
        i++;
    }
    return max;
}

/* Appends n bytes to the output (sized by the caller to hold the worst case). */
static void put(char *out, size_t *o, const char *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
}

/* After INTEGER at i: whether PRIMARY KEY follows; *end gets the index past it and past an
 * AUTOINCREMENT after it. */
static bool primary_key_follows(const char *sql, size_t i, size_t *end)
{
    char w[32];
    i = read_word(sql, skip_space(sql, i), w, sizeof(w));
    if (strcmp(w, "PRIMARY") != 0)
        return false;
    i = read_word(sql, skip_space(sql, i), w, sizeof(w));
    if (strcmp(w, "KEY") != 0)
        return false;
    size_t k = skip_space(sql, i);
    char w2[32];
    size_t after = read_word(sql, k, w2, sizeof(w2));
    *end = strcmp(w2, "AUTOINCREMENT") == 0 ? after : i;
    return true;
}

#define IDENTITY_PK "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

/* SQLite's guard trigger, the one trigger form the capabilities use (append-only tables):
 *   CREATE TRIGGER n BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'msg'); END
 * PostgreSQL's equivalent is a plpgsql function and a row trigger calling it; the error is a
 * restrict_violation (23001), which the store maps to IOTSEC_ERR_CONFLICT as SQLite's
 * constraint error is. */
#define SP   "[[:space:]]+"
#define OSP  "[[:space:]]*"
#define NAME "([A-Za-z_][A-Za-z0-9_]*)"
static const char raise_trigger_re[] =
    "^CREATE" SP "TRIGGER" SP NAME SP "(BEFORE|AFTER)" SP "(UPDATE|DELETE|INSERT)" SP
    "ON" SP NAME SP "(FOR" SP "EACH" SP "ROW" SP ")?BEGIN" SP "SELECT" SP "RAISE" OSP "\\(" OSP
    "ABORT" OSP "," OSP "'([^']*)'" OSP "\\)" OSP ";" OSP "END";

/* If sql[i] starts such a trigger, writes its PostgreSQL form to out and returns the index past
 * it; otherwise returns i. */
static size_t map_raise_trigger(const char *sql, size_t i, char *out, size_t *o)
{
    static regex_t re;
    static int compiled; /* 1 ok, -1 failed; migrations run on one thread at open */
    if (compiled == 0)
        compiled = regcomp(&re, raise_trigger_re, REG_EXTENDED | REG_ICASE) == 0 ? 1 : -1;
    regmatch_t m[7];
    if (compiled != 1 || regexec(&re, sql + i, 7, m, 0) != 0)
        return i;
#define G(k) (int)(m[k].rm_eo - m[k].rm_so), sql + i + m[k].rm_so
    *o += (size_t)sprintf(out + *o,
                          "CREATE FUNCTION %.*s_fn() RETURNS trigger LANGUAGE plpgsql AS"
                          " $iotsec$BEGIN RAISE EXCEPTION USING ERRCODE = 'restrict_violation',"
                          " MESSAGE = '%.*s'; END$iotsec$;"
                          "CREATE TRIGGER %.*s %.*s %.*s ON %.*s FOR EACH ROW"
                          " EXECUTE FUNCTION %.*s_fn()",
                          G(1), G(6), G(1), G(2), G(3), G(4), G(1));
#undef G
    return i + (size_t)m[0].rm_eo;
}

char *pg_sql_map_ddl(const char *sql)
{
    size_t len = strlen(sql);
    /* The longest growth: INTEGER (7) -> IDENTITY_PK (51) per 7 input bytes: 8x is enough. */
    char *out = malloc(len * 8 + 1);
    if (out == NULL)
        return NULL;
    size_t i = 0, o = 0;
    while (sql[i] != '\0') {
        size_t j = skip_opaque(sql, i);
        if (j != i) {
            put(out, &o, sql + i, j - i);
            i = j;
            continue;
        }
        if (!ident_char(sql[i]) || (i > 0 && ident_char(sql[i - 1]))) {
            out[o++] = sql[i++];
            continue;
        }
        char w[32];
        size_t end = read_word(sql, i, w, sizeof(w));
        size_t pk_end;
        if (strcmp(w, "CREATE") == 0 && (pk_end = map_raise_trigger(sql, i, out, &o)) != i) {
            end = pk_end;
        } else if (strcmp(w, "INTEGER") == 0 && primary_key_follows(sql, end, &pk_end)) {
            put(out, &o, IDENTITY_PK, strlen(IDENTITY_PK));
            end = pk_end;
        } else if (strcmp(w, "INTEGER") == 0) {
            put(out, &o, "BIGINT", 6);
        } else if (strcmp(w, "BLOB") == 0) {
            put(out, &o, "BYTEA", 5);
        } else if (strcmp(w, "REAL") == 0) {
            put(out, &o, "DOUBLE PRECISION", 16);
        } else if (strcmp(w, "AUTOINCREMENT") == 0) {
            /* dropped: identity columns never reuse a value */
        } else if (strcmp(w, "WITHOUT") == 0) {
            char w2[32];
            size_t e2 = read_word(sql, skip_space(sql, end), w2, sizeof(w2));
            if (strcmp(w2, "ROWID") == 0)
                end = e2; /* a clustered table: PostgreSQL has none, the index does it */
            else
                put(out, &o, sql + i, end - i);
        } else {
            put(out, &o, sql + i, end - i);
        }
        i = end;
    }
    out[o] = '\0';
    return out;
}
