/* iotsecctl backup FILE: a consistent copy of the instance's SQLite database, taken online
 * (the daemon keeps serving) through a read-only connection of our own. The KEK is a file of
 * its own (kek.key) and never part of the copy: a stolen backup alone opens no credential. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin_client.h"
#include "args.h"
#include "base/err.h"
#include "daemon/config.h"
#include "iotsecctl.h"
#include "store/store.h"

int cmd_backup(int argc, char **argv)
{
    const char *cmd = "backup";
    if (argc != 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd, "usage: iotsecctl [--dir DIR] backup FILE");
    const char *dir = admin_get_dir();
    if (dir == NULL)
        return args_fail(EXIT_USAGE, cmd, "say which instance: --dir DIR or IOTSEC_DIR");
    struct config cfg;
    char target[CONFIG_PATH_MAX + 64], err[512];
    config_defaults(&cfg, dir);
    snprintf(target, sizeof(target), "%s/iotsec.yaml", dir);
    if (config_load(target, &cfg, err, sizeof(err)) != IOTSEC_OK)
        return args_fail(1, cmd, "%s", err);
    if (strcmp(cfg.store_backend, "postgresql") == 0)
        return args_fail(1, cmd,
                         "the instance's store is PostgreSQL: back it up with pg_basebackup "
                         "(and WAL archiving) or pg_dump (docs/operations.md)");
    struct store_options so;
    store_options_init(&so);
    so.read_only = true;
    struct store *store = NULL;
    if (config_store_target(&cfg, target, sizeof(target)) != IOTSEC_OK ||
        store_open(target, &so, &store) != IOTSEC_OK) {
        store_close(store);
        return args_fail(1, cmd, "cannot open the database: %s", store_errmsg());
    }
    int version = 0;
    int rc = store_schema_version(store, &version);
    if (rc == IOTSEC_OK)
        rc = store_backup(store, argv[0]);
    if (rc != IOTSEC_OK) {
        int code = rc == IOTSEC_ERR_CONFLICT ? EXIT_USAGE : 1;
        args_fail(code, cmd, "%s", store_errmsg());
        store_close(store);
        return code;
    }
    store_close(store);
    struct stat st;
    long long bytes = stat(argv[0], &st) == 0 ? (long long)st.st_size : -1;
    char kek[CONFIG_PATH_MAX + 64];
    config_path(&cfg, cfg.kek_file, kek, sizeof(kek));
    char note[CONFIG_PATH_MAX + 256];
    snprintf(note, sizeof(note),
             "not included: the credentials in the copy are sealed under %s; keep a copy of "
             "that file elsewhere, never beside this backup",
             kek);
    json_t *out = json_pack("{s:s, s:I, s:i, s:s, s:s}", "backup", argv[0], "bytes",
                            (json_int_t)bytes, "schema_version", version, "kek", note, "restore",
                            "iotsecd restore --dir DIR --from FILE (daemon stopped)");
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(out);
    return 0;
}
