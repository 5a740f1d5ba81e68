/* The NFProfile of the AUSF and of the UDM (TS 29.510 §6.1.6.2.2), each its own NF instance.
 * nfServiceList is the current form; nfServices (deprecated since Rel-16) carries the same
 * services for NRFs of earlier releases, which still read only it. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nrf/nrf.h"

/* The stage-3 documents the SBI is tested against (TS 29.509, TS 29.503 Rel-18). */
#define API_FULL_VERSION "1.3.0-alpha.4"

const char *nrf_nf_type(enum nrf_nf nf)
{
    return nf == NRF_NF_AUSF ? "AUSF" : "UDM";
}

const char *nrf_nf_service(enum nrf_nf nf)
{
    return nf == NRF_NF_AUSF ? "nausf-auth" : "nudm-ueau";
}

static const char *instance_id(const struct nrf_profile_config *c, enum nrf_nf nf)
{
    return nf == NRF_NF_AUSF ? c->ids.ausf : c->ids.udm;
}

/* "001" + "01" -> "set<id>.ausfset.5gc.mnc001.mcc001" (TS 23.003 §28.12: three MNC digits). */
static json_t *nf_set_id(const struct nrf_profile_config *c, enum nrf_nf nf)
{
    char s[256];
    snprintf(s, sizeof(s), "set%s.%sset.5gc.mnc%s%s.mcc%s", c->nf_set_id,
             nf == NRF_NF_AUSF ? "ausf" : "udm", strlen(c->mnc) == 2 ? "0" : "", c->mnc, c->mcc);
    return json_pack("[s]", s);
}

static json_t *endpoint(const struct nrf_profile_config *c)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, c->host, &a4) == 1)
        return json_pack("{s:s, s:s, s:i}", "ipv4Address", c->host, "transport", "TCP", "port",
                         c->port);
    if (inet_pton(AF_INET6, c->host, &a6) == 1)
        return json_pack("{s:s, s:s, s:i}", "ipv6Address", c->host, "transport", "TCP", "port",
                         c->port);
    return NULL; /* an FQDN: carried by the profile's fqdn, the port by the scheme's default */
}

static json_t *service(const struct nrf_profile_config *c, enum nrf_nf nf)
{
    json_t *s = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s, s:s, s:i, s:i}", "serviceInstanceId",
                          nrf_nf_service(nf), "serviceName", nrf_nf_service(nf), "versions",
                          "apiVersionInUri", "v1", "apiFullVersion", API_FULL_VERSION, "scheme",
                          c->scheme, "nfServiceStatus", "REGISTERED", "priority", (int)c->priority,
                          "capacity", (int)c->capacity);
    json_t *ep = endpoint(c);
    if (s != NULL && ep != NULL)
        json_object_set_new(s, "ipEndPoints", json_pack("[o]", ep));
    else if (s != NULL)
        json_object_set_new(s, "fqdn", json_string(c->host));
    return s;
}

/* supiRanges and routingIndicators, the same for the AUSF and the UDM: they serve the same
 * subscribers. */
static json_t *nf_info(const struct nrf_profile_config *c)
{
    json_t *info = json_object(), *ranges = json_array(), *ris = json_array();
    for (size_t i = 0; i < c->n_supi_ranges; i++) {
        const char *r = c->supi_ranges[i], *dash = strchr(r, '-');
        json_t *o;
        if (r[0] != '^' && dash != NULL) {
            char start[32] = "";
            snprintf(start, sizeof(start), "%.*s", (int)(dash - r), r);
            o = json_pack("{s:s, s:s}", "start", start, "end", dash + 1);
        } else {
            o = json_pack("{s:s}", "pattern", r);
        }
        json_array_append_new(ranges, o);
    }
    for (size_t i = 0; i < c->n_routing_indicators; i++)
        json_array_append_new(ris, json_string(c->routing_indicators[i]));
    if (json_array_size(ranges) > 0)
        json_object_set(info, "supiRanges", ranges);
    if (json_array_size(ris) > 0)
        json_object_set(info, "routingIndicators", ris);
    json_decref(ranges);
    json_decref(ris);
    return info;
}

char *nrf_profile_json(const struct nrf_profile_config *c, enum nrf_nf nf)
{
    json_t *p =
        json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}], s:i, s:i}", "nfInstanceId", instance_id(c, nf),
                  "nfType", nrf_nf_type(nf), "nfStatus", "REGISTERED", "plmnList", "mcc", c->mcc,
                  "mnc", c->mnc, "priority", (int)c->priority, "capacity", (int)c->capacity);
    if (p == NULL)
        return NULL;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, c->host, &a4) == 1)
        json_object_set_new(p, "ipv4Addresses", json_pack("[s]", c->host));
    else if (inet_pton(AF_INET6, c->host, &a6) == 1)
        json_object_set_new(p, "ipv6Addresses", json_pack("[s]", c->host));
    else
        json_object_set_new(p, "fqdn", json_string(c->host));
    if (c->heartbeat_s > 0)
        json_object_set_new(p, "heartBeatTimer", json_integer(c->heartbeat_s));
    if (c->nf_set_id[0])
        json_object_set_new(p, "nfSetIdList", nf_set_id(c, nf));
    json_t *info = nf_info(c);
    if (json_object_size(info) > 0)
        json_object_set(p, nf == NRF_NF_AUSF ? "ausfInfo" : "udmInfo", info);
    json_decref(info);
    json_t *svc = service(c, nf);
    json_object_set_new(p, "nfServiceList", json_pack("{s:O}", nrf_nf_service(nf), svc));
    json_object_set_new(p, "nfServices", json_pack("[o]", svc));
    char *s = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(p);
    return s;
}
