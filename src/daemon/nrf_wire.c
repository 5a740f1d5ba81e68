#include "daemon/nrf_wire.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

/* Our two NF instance ids, made at the first start that needs them and kept. */
static int load_ids(const struct config *c, struct nrf_ids *ids)
{
    char path[CONFIG_PATH_MAX + 64];
    config_path(c, "nf-instance-ids.json", path, sizeof(path));
    int rc = nrf_ids_load_or_create(path, ids);
    if (rc != IOTSEC_OK)
        log_error("cannot read or create %s: %s", path, iotsec_strerror(rc));
    return rc;
}

int nrf_wire_gate(const struct config *c, struct http_server *sbi, struct nrf_auth **out)
{
    *out = NULL;
    if (!c->nrf.oauth2_sbi)
        return IOTSEC_OK;
    char keys[4][CONFIG_PATH_MAX + 64];
    struct nrf_auth_config ac = {.nrf_instance_id = c->nrf.instance_id,
                                 .cert_identity = c->nrf.oauth2_cert_identity != 0,
                                 .leeway_s = c->nrf.oauth2_leeway_s,
                                 .exempt = {"/healthz"},
                                 .n_exempt = 1};
    for (unsigned i = 0; i < c->nrf.n_token_keys && i < 4; i++) {
        config_path(c, c->nrf.token_keys[i], keys[i], sizeof(keys[i]));
        ac.key_files[ac.n_keys++] = keys[i];
    }
    int rc = load_ids(c, &ac.ids);
    if (rc == IOTSEC_OK && (rc = nrf_auth_new(&ac, out)) != IOTSEC_OK)
        log_error("oauth2.sbi: cannot load the NRF's token keys (nrf.token_keys): %s",
                  iotsec_strerror(rc));
    if (rc == IOTSEC_OK)
        rc = http_server_set_gate(sbi, nrf_auth_gate, *out);
    if (rc == IOTSEC_OK)
        log_info("oauth2: the SBI requires access tokens issued by NRF %s", c->nrf.instance_id);
    return rc;
}

/* "0.0.0.0:7777" -> "0.0.0.0"; "[::1]:7777" -> "::1". */
static void listen_host(const char *bind, char *out, size_t len)
{
    const char *colon = strrchr(bind, ':');
    int n = colon ? (int)(colon - bind) : (int)strlen(bind);
    if (n >= 2 && bind[0] == '[' && bind[n - 1] == ']')
        snprintf(out, len, "%.*s", n - 2, bind + 1);
    else
        snprintf(out, len, "%.*s", n, bind);
}

int nrf_wire_start(const struct config *c, uint16_t sbi_port, unsigned wait_ms,
                   struct nrf_client **out, enum nrf_state *state)
{
    *out = NULL;
    *state = NRF_STATE_OFF;
    if (!c->nrf.url[0])
        return IOTSEC_OK;
    char ca[CONFIG_PATH_MAX + 64] = "", cert[CONFIG_PATH_MAX + 64], key[CONFIG_PATH_MAX + 64];
    if (c->nrf.ca_file[0])
        config_path(c, c->nrf.ca_file, ca, sizeof(ca));
    config_path(c, c->nrf.client_cert[0] ? c->nrf.client_cert : c->tls_cert, cert, sizeof(cert));
    config_path(c, c->nrf.client_key[0] ? c->nrf.client_key : c->tls_key, key, sizeof(key));
    struct nrf_client_config nc = {.url = c->nrf.url,
                                   .ca_file = ca[0] ? ca : NULL,
                                   .cert_file = cert,
                                   .key_file = key,
                                   .heartbeat_s = c->nrf.heartbeat_s};
    struct nrf_profile_config *p = &nc.profile;
    int rc = load_ids(c, &p->ids);
    if (rc != IOTSEC_OK)
        return rc;
    snprintf(p->mcc, sizeof(p->mcc), "%s", c->mcc);
    snprintf(p->mnc, sizeof(p->mnc), "%s", c->mnc);
    strcpy(p->scheme, "https");
    if (c->nrf.advertise[0])
        snprintf(p->host, sizeof(p->host), "%s", c->nrf.advertise);
    else
        listen_host(c->sbi_listen, p->host, sizeof(p->host));
    p->port = sbi_port;
    p->capacity = c->nrf.capacity;
    p->priority = c->nrf.priority;
    p->heartbeat_s = c->nrf.heartbeat_s;
    snprintf(p->nf_set_id, sizeof(p->nf_set_id), "%s", c->nrf.nf_set_id);
    for (unsigned i = 0; i < c->nrf.n_supi_ranges; i++)
        p->supi_ranges[p->n_supi_ranges++] = c->nrf.supi_ranges[i];
    for (unsigned i = 0; i < c->nrf.n_routing_indicators; i++)
        p->routing_indicators[p->n_routing_indicators++] = c->nrf.routing_indicators[i];
    if ((rc = nrf_client_start(&nc, out)) != IOTSEC_OK) {
        log_error("cannot start the NRF client: %s", iotsec_strerror(rc));
        return rc;
    }
    *state = nrf_client_wait_first(*out, wait_ms);
    return IOTSEC_OK;
}
