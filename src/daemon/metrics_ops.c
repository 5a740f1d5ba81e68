/* /metrics for operators: when each certificate the instance presents or trusts expires (an
 * alert fires 14 days before: docs/iotsec-alerts.yml), and which build is running. Read from
 * the files at each scrape, so a replaced file shows at once. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <time.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "daemon/daemon.h"

#ifndef IOTSEC_VERSION
#define IOTSEC_VERSION "unknown"
#endif

/* The certificate's notAfter as unix time; -1 when the file cannot be read. */
static long long not_after(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    struct tm tm;
    long long t = -1;
    if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (long long)timegm(&tm);
    X509_free(x);
    return t;
}

int daemon_ops_metrics(const struct config *cfg, struct strbuf *out)
{
    const struct {
        const char *name, *file;
    } certs[] = {
        {"ca", cfg->tls_ca},
        {"server", cfg->tls_cert},
        {"admin", cfg->admin_cert},
        {"nrf_client", cfg->nrf.url[0] ? cfg->nrf.client_cert : ""},
    };
    int rc = strbuf_appendf(out,
                            "# HELP iotsec_build_info The running build.\n"
                            "# TYPE iotsec_build_info gauge\n"
                            "iotsec_build_info{version=\"%s\"} 1\n"
                            "# HELP iotsec_certificate_expiry_timestamp_seconds When each "
                            "certificate of the instance expires (notAfter, unix time).\n"
                            "# TYPE iotsec_certificate_expiry_timestamp_seconds gauge\n",
                            IOTSEC_VERSION);
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(certs) / sizeof(certs[0]); i++) {
        if (certs[i].file[0] == '\0')
            continue;
        char path[CONFIG_PATH_MAX + 64];
        config_path(cfg, certs[i].file, path, sizeof(path));
        long long t = not_after(path);
        if (t >= 0)
            rc = strbuf_appendf(out,
                                "iotsec_certificate_expiry_timestamp_seconds{cert=\"%s\"} %lld\n",
                                certs[i].name, t);
    }
    return rc;
}
