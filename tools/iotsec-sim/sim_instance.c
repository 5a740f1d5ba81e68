/* Where the daemon of an instance listens: its iotsec.yaml (as iotsecd init wrote it) or the
 * ready line it printed, which also carries ports chosen at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sim.h"

double sim_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of "  key: value" (quotes and trailing comment removed) into out. */
static bool yaml_value(const char *line, const char *key, char *out, size_t max)
{
    const char *p = line;
    while (*p == ' ')
        p++;
    size_t kl = strlen(key);
    if (strncmp(p, key, kl) != 0 || p[kl] != ':')
        return false;
    p += kl + 1;
    while (*p == ' ')
        p++;
    char quote = (*p == '"' || *p == '\'') ? *p++ : 0;
    size_t n = 0;
    while (p[n] && p[n] != '\n' && (quote ? p[n] != quote : (p[n] != ' ' && p[n] != '#')))
        n++;
    if (n >= max)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static void https_url(const char *hostport, char *out, size_t max)
{
    snprintf(out, max, "https://%s", hostport);
}

static int load_ready(struct sim_instance *in, const char *ready_file)
{
    json_error_t err;
    json_t *o = json_load_file(ready_file, 0, &err);
    const char *sbi = json_string_value(json_object_get(o, "sbi"));
    const char *adm = json_string_value(json_object_get(o, "admin"));
    const char *dev = json_string_value(json_object_get(o, "device"));
    if (!sbi || !adm || !dev) {
        fprintf(stderr, "iotsec-sim: %s is not a ready line with sbi, admin and device URLs\n",
                ready_file);
        json_decref(o);
        return -1;
    }
    snprintf(in->sbi, sizeof(in->sbi), "%s", sbi);
    snprintf(in->admin, sizeof(in->admin), "%s", adm);
    snprintf(in->device, sizeof(in->device), "%s", dev);
    const char *north = json_string_value(json_object_get(o, "northbound"));
    if (north)
        snprintf(in->north, sizeof(in->north), "%s", north);
    json_decref(o);
    return 0;
}

int sim_instance_load(struct sim_instance *in, const char *dir, const char *ready_file)
{
    memset(in, 0, sizeof(*in));
    snprintf(in->dir, sizeof(in->dir), "%s", dir);
    char path[600], line[512], v[128];
    snprintf(path, sizeof(path), "%s/iotsec.yaml", dir);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "iotsec-sim: cannot read %s (an instance made by iotsecd init)\n", path);
        return -1;
    }
    bool in_listen = false;
    strcpy(in->mcc, "001");
    strcpy(in->mnc, "01");
    snprintf(in->device, sizeof(in->device), "https://127.0.0.1:8444");
    snprintf(in->north, sizeof(in->north), "https://127.0.0.1:8443");
    while (fgets(line, sizeof(line), fp)) {
        if (line[0] != ' ' && line[0] != '#')
            in_listen = strncmp(line, "listen:", 7) == 0;
        if (yaml_value(line, "mcc", v, sizeof(v)) && strlen(v) == 3)
            strcpy(in->mcc, v);
        else if (yaml_value(line, "mnc", v, sizeof(v)) && strlen(v) >= 2 && strlen(v) <= 3)
            strcpy(in->mnc, v);
        else if (in_listen && yaml_value(line, "sbi", v, sizeof(v)) && v[0])
            https_url(v, in->sbi, sizeof(in->sbi));
        else if (in_listen && yaml_value(line, "admin", v, sizeof(v)) && v[0])
            https_url(v, in->admin, sizeof(in->admin));
        else if (in_listen && yaml_value(line, "device", v, sizeof(v)) && v[0])
            https_url(v, in->device, sizeof(in->device));
        else if (in_listen && yaml_value(line, "northbound", v, sizeof(v)) && v[0])
            https_url(v, in->north, sizeof(in->north));
    }
    fclose(fp);
    if (ready_file && load_ready(in, ready_file) != 0)
        return -1;
    if (!in->sbi[0] || !in->admin[0]) {
        fprintf(stderr, "iotsec-sim: %s names no sbi or admin listener\n", path);
        return -1;
    }
    snprintf(in->ca, sizeof(in->ca), "%s/pki/ca.crt", dir);
    snprintf(in->admin_crt, sizeof(in->admin_crt), "%s/pki/admin.crt", dir);
    snprintf(in->admin_key, sizeof(in->admin_key), "%s/pki/admin.key", dir);
    snprintf(in->nf_crt, sizeof(in->nf_crt), "%s/pki/nf.crt", dir);
    snprintf(in->nf_key, sizeof(in->nf_key), "%s/pki/nf.key", dir);
    snprintf(in->snn, sizeof(in->snn), "5G:mnc%s%s.mcc%s.3gppnetwork.org",
             strlen(in->mnc) == 2 ? "0" : "", in->mnc, in->mcc);
    return 0;
}
