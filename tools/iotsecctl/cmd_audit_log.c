/* iotsecctl audit log | audit verify: the northbound decisions' audit log (issue 5).
 *   audit log [--af AF_ID] [--after SEQ] [--limit N]   through the admin face
 *   audit verify                                       reads DIR's database file itself
 *     (read-only, no daemon needed, no daemon trusted): exit 0 and {"ok": true, "records",
 *     "head_hash"}, or exit 1 and {"ok": false, "first_bad_seq", "record"}.
 * Another branch adds a credential `iotsecctl audit`: these are exported as cmd_audit_log()
 * and cmd_audit_verify() so that one "audit" dispatch can hold both. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "base/err.h"
#include "base/hex.h"
#include "daemon/config.h"
#include "expose/northbound.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

int cmd_audit_log(int argc, char **argv)
{
    const char *cmd = "audit log";
    struct flag f[] = {{"af", 0, NULL}, {"after", 0, NULL}, {"limit", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    long after = -1, limit = 1000;
    if (f[1].value && (rc = args_int(cmd, "after", f[1].value, -1, 1L << 62, &after)) != 0)
        return rc;
    if (f[2].value && (rc = args_int(cmd, "limit", f[2].value, 1, 1000, &limit)) != 0)
        return rc;
    if (f[0].value) {
        for (const char *p = f[0].value; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr("._-", *p)))
                return args_fail(EXIT_USAGE, cmd, "--af is an AF id ([A-Za-z0-9._-])");
    }
    char path[256];
    snprintf(path, sizeof(path), "/admin/v1/audit?after=%ld&limit=%ld%s%s", after, limit,
             f[0].value ? "&af=" : "", f[0].value ? f[0].value : "");
    return admin_call(cmd, "GET", path, NULL, NULL, 0);
}

static json_t *bad_record(struct store_conn *db, int64_t seq)
{
    struct store_stmt *st;
    json_t *o = NULL;
    if (store_prepare(db, "SELECT seq, principal, action, resource, reason, allow FROM"
                          " expose_audit WHERE seq >= ? ORDER BY seq LIMIT 1",
                      &st) != IOTSEC_OK)
        return NULL;
    store_bind_int64(st, 1, seq);
    if (store_step(st) == STORE_ROW)
        o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "seq",
                      (json_int_t)store_col_int64(st, 0), "principal",
                      store_col_text(st, 1), "action",
                      store_col_text(st, 2), "resource",
                      store_col_text(st, 3), "reason",
                      store_col_text(st, 4), "allow",
                      store_col_int(st, 5));
    store_finalize(st);
    return o;
}

int cmd_audit_verify(int argc, char **argv)
{
    const char *cmd = "audit verify";
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, cmd, "takes no arguments");
    const char *dir = admin_get_dir();
    if (dir == NULL)
        return args_fail(EXIT_USAGE, cmd, "say which instance: iotsecctl --dir DIR %s", cmd);
    struct config cfg;
    char path[CONFIG_PATH_MAX + 64], err[512];
    config_defaults(&cfg, dir);
    snprintf(path, sizeof(path), "%s/iotsec.yaml", dir);
    if (config_load(path, &cfg, err, sizeof(err)) != IOTSEC_OK)
        return args_fail(1, cmd, "%s", err);
    struct store_options so;
    store_options_init(&so);
    so.read_only = true;
    struct store *store = NULL;
    struct store_conn *db = NULL;
    if (config_store_target(&cfg, path, sizeof(path)) != IOTSEC_OK ||
        store_open(path, &so, &store) != IOTSEC_OK || store_reader_get(store, &db) != IOTSEC_OK) {
        store_close(store);
        return args_fail(1, cmd, "cannot open the database: %s", store_errmsg());
    }
    uint64_t count = 0;
    int64_t bad = -1;
    struct audit_anchor head;
    int rc = expose_audit_verify_db(db, &count, &bad, &head);
    json_t *out;
    int exit_code = 0;
    if (rc == IOTSEC_OK) {
        char hex[2 * AUDIT_HASH_LEN + 1];
        hex_encode(head.hash, AUDIT_HASH_LEN, hex);
        out = json_pack("{s:b, s:I, s:s}", "ok", 1, "records", (json_int_t)count, "head_hash", hex);
    } else if (rc == IOTSEC_ERR_AUTH || rc == IOTSEC_ERR_INVALID) {
        out = json_pack("{s:b, s:I, s:s}", "ok", 0, "first_bad_seq", (json_int_t)bad, "detail",
                        "the record is altered, out of place or missing");
        json_t *r = bad_record(db, bad);
        if (r)
            json_object_set_new(out, "record", r);
        exit_code = EXIT_VERIFY;
    } else {
        store_close(store);
        return args_fail(1, cmd, "cannot read the audit log: %s", iotsec_strerror(rc));
    }
    store_close(store);
    char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    printf("%s\n", s ? s : "{}");
    free(s);
    if (exit_code)
        fprintf(stderr, "iotsecctl %s: the audit chain is broken at record %lld\n", cmd,
                (long long)bad);
    return exit_code;
}

static const struct command audit_commands[] = {
    {"credentials", cmd_audit_credentials, "  expiring soon, expired, revoked but seen, shared"},
    {"log", cmd_audit_log, "[--af AF_ID] [--after SEQ] [--limit N]   northbound decisions"},
    {"verify", cmd_audit_verify, "  checks the audit hash chain in the database file"},
};

/* `iotsecctl audit` alone is the credential audit (issue 4's report); `audit log` and
 * `audit verify` are the northbound decisions (issue 5). */
int cmd_audit(int argc, char **argv)
{
    if (argc == 0)
        return cmd_audit_credentials(argc, argv);
    return run_command("audit", audit_commands, NFLAGS(audit_commands), argc, argv);
}
