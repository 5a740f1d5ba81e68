/* iotsecd init: a ready instance in one command. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aka/aka.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/seal.h"
#include "daemon/daemon.h"
#include "daemon/pki.h"
#include "nrf/nrf.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "iotsecd init: %s: %s\n", what, iotsec_strerror(rc));
    return 1;
}

/* ADDR:PORT with a port in 0..65535 (0: any free port; [v6]:PORT too). */
static int valid_listen(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0' || strlen(addr) >= 120)
        return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && colon[1] >= '0' && colon[1] <= '9' && port >= 0 && port <= 65535;
}

/* --san "name,addr,...": each an IPv4/IPv6 address (IP:) or a DNS name (DNS:, "*." allowed
 * first), written as the subjectAltName list pki_create takes. 0 on bad input. */
static int san_list(const char *in, char *out, size_t cap)
{
    char copy[1024];
    if (strlen(in) >= sizeof(copy))
        return 0;
    snprintf(copy, sizeof(copy), "%s", in);
    size_t len = 0;
    out[0] = '\0';
    for (char *save = NULL, *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        unsigned char addr[16];
        const char *kind = "DNS";
        if (inet_pton(AF_INET, n, addr) == 1 || inet_pton(AF_INET6, n, addr) == 1) {
            kind = "IP";
        } else {
            const char *p = strncmp(n, "*.", 2) == 0 ? n + 2 : n;
            if (*p == '\0' || strlen(p) > 253 || p[0] == '.' || p[0] == '-')
                return 0;
            for (; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
                    return 0;
        }
        int w = snprintf(out + len, cap - len, "%s%s:%s", len ? "," : "", kind, n);
        if (w < 0 || (size_t)w >= cap - len)
            return 0;
        len += (size_t)w;
    }
    return len > 0;
}

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int daemon_init(const struct init_options *opt)
{
    struct config cfg;
    char path[CONFIG_PATH_MAX + 64];
    config_defaults(&cfg, opt->dir);
    if (opt->sbi_h2c) {
        if (!valid_listen(opt->sbi_h2c)) {
            fprintf(stderr, "iotsecd init: --sbi-h2c: expected ADDR:PORT (port 0..65535)\n");
            return 2;
        }
        snprintf(cfg.sbi_h2c_listen, sizeof(cfg.sbi_h2c_listen), "%s", opt->sbi_h2c);
    }
    const char *addrs[] = {opt->sbi, opt->admin, opt->northbound, opt->device};
    const char *flag[] = {"sbi", "admin", "northbound", "device"};
    char *targets[] = {cfg.sbi_listen, cfg.admin_listen, cfg.northbound_listen, cfg.device_listen};
    for (int i = 0; i < 4; i++) {
        if (addrs[i] == NULL)
            continue;
        if (!valid_listen(addrs[i])) {
            fprintf(stderr, "iotsecd init: --%s: expected ADDR:PORT (port 0..65535)\n", flag[i]);
            return 2;
        }
        snprintf(targets[i], sizeof(cfg.sbi_listen), "%s", addrs[i]);
    }
    char san[1100] = "";
    if (opt->san && !san_list(opt->san, san, sizeof(san))) {
        fprintf(stderr, "iotsecd init: --san: expected host names or IP addresses, "
                        "comma-separated\n");
        return 2;
    }
    /* TS 23.003 §2.2: the MCC is 3 digits, the MNC 2 or 3. */
    if (opt->mcc && !all_digits(opt->mcc, 3, 3)) {
        fprintf(stderr, "iotsecd init: --mcc: expected 3 digits (e.g. 001)\n");
        return 2;
    }
    if (opt->mnc && !all_digits(opt->mnc, 2, 3)) {
        fprintf(stderr, "iotsecd init: --mnc: expected 2 or 3 digits (e.g. 01)\n");
        return 2;
    }
    if (opt->mcc)
        snprintf(cfg.mcc, sizeof(cfg.mcc), "%s", opt->mcc);
    if (opt->mnc)
        snprintf(cfg.mnc, sizeof(cfg.mnc), "%s", opt->mnc);
    if (opt->postgresql) {
        /* Written into iotsec.yaml as a quoted string: no quote, backslash or line break. */
        const char *u = opt->postgresql;
        if ((strncmp(u, "postgresql://", 13) != 0 && strncmp(u, "postgres://", 11) != 0) ||
            strpbrk(u, "\"\\\r\n") != NULL || strlen(u) >= sizeof(cfg.store_url)) {
            fprintf(stderr, "iotsecd init: --postgresql: expected a postgresql:// URI\n");
            return 2;
        }
        snprintf(cfg.store_backend, sizeof(cfg.store_backend), "postgresql");
        snprintf(cfg.store_url, sizeof(cfg.store_url), "%s", u);
    }

    if (mkdir(opt->dir, 0700) != 0 && errno != EEXIST)
        return fail("cannot create the directory", IOTSEC_ERR_IO);
    snprintf(path, sizeof(path), "%s/iotsec.yaml", opt->dir);
    struct stat st;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "iotsecd init: %s exists: this directory holds an instance already\n",
                path);
        return 1;
    }
    config_path(&cfg, cfg.kek_file, path, sizeof(path));
    int rc = seal_kek_create(path);
    if (rc != IOTSEC_OK)
        return fail("cannot create the KEK file", rc);
    if ((rc = pki_create(opt->dir, san)) != IOTSEC_OK)
        return fail("cannot create the PKI", rc);
    /* Our AUSF and UDM NF instance ids (TS 29.510): made once, kept with the instance. */
    struct nrf_ids ids;
    char ids_path[CONFIG_PATH_MAX + 64];
    snprintf(ids_path, sizeof(ids_path), "%s/nf-instance-ids.json", opt->dir);
    if ((rc = nrf_ids_load_or_create(ids_path, &ids)) != IOTSEC_OK)
        return fail("cannot create the NF instance ids", rc);

    struct seal_kek kek;
    if ((rc = seal_kek_load(path, 1, &kek)) != IOTSEC_OK)
        return fail("cannot read the KEK back", rc);
    struct store_options so;
    store_options_init(&so);
    so.migrations = daemon_migrations(&so.migration_count);
    struct store *store;
    char target[sizeof(cfg.store_url) + CONFIG_PATH_MAX];
    config_store_target(&cfg, target, sizeof(target));
    if ((rc = store_open(target, &so, &store)) != IOTSEC_OK) {
        seal_kek_wipe(&kek);
        return fail("cannot create the database", rc);
    }
    json_t *keys = json_array();
    static const struct {
        enum suci_scheme scheme;
        uint8_t id;
        const char *name;
    } hn[] = {{SUCI_SCHEME_PROFILE_A, 1, "A"}, {SUCI_SCHEME_PROFILE_B, 2, "B"}};
    for (size_t i = 0; rc == IOTSEC_OK && i < 2; i++) {
        uint8_t pub[SUCI_PUBLIC_KEY_MAX];
        size_t pub_len;
        char hex[2 * SUCI_PUBLIC_KEY_MAX + 1];
        rc = aka_hn_key_create(store, &kek, hn[i].scheme, hn[i].id, pub, &pub_len);
        if (rc == IOTSEC_OK) {
            hex_encode(pub, pub_len, hex);
            json_array_append_new(keys, json_pack("{s:s, s:i, s:s}", "profile", hn[i].name,
                                                  "key_id", hn[i].id, "public_key", hex));
        }
    }
    store_close(store);
    seal_kek_wipe(&kek);
    if (rc != IOTSEC_OK) {
        json_decref(keys);
        return fail("cannot create the home network keys", rc);
    }
    snprintf(path, sizeof(path), "%s/iotsec.yaml", opt->dir);
    if ((rc = config_write(&cfg, path)) != IOTSEC_OK) {
        json_decref(keys);
        return fail("cannot write the configuration", rc);
    }
    json_t *out = json_pack("{s:s, s:s, s:o}", "dir", opt->dir, "config", path, "hn_keys", keys);
    char *s = json_dumps(out, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(out);
    return 0;
}
