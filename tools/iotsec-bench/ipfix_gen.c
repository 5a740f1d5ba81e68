/* IPFIX from libfixbuf (see ipfix_gen.h). The records are packed structs laid out as the
 * internal templates say: libfixbuf copies them field by field into its messages. */
#include <fixbuf/public.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipfix_gen.h"

#define T_V4  256
#define T_V6  257
#define T_OPT 258
#define T_YAF 259

struct __attribute__((packed)) rec_v4 {
    uint64_t start_ms, end_ms, octets, roctets;
    uint32_t pkts, rpkts;
    fbVarfield_t ifname;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto, flags, rflags, init_flags;
};

struct __attribute__((packed)) rec_v6 {
    uint32_t start_s, end_s;
    uint64_t octets, pkts;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t proto;
};

struct __attribute__((packed)) rec_yaf {
    uint64_t start_ms, end_ms, octets, roctets;
    uint32_t pkts, rpkts;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto, iflags, uflags, riflags, ruflags;
};

struct __attribute__((packed)) rec_opt {
    uint32_t domain;
    uint64_t exported;
};

static fbInfoElementSpec_t spec_v4[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"octetTotalCount", 8, 0},
    {"reverseOctetTotalCount", 8, 0},
    {"packetTotalCount", 4, 0}, /* reduced-size encoding */
    {"reversePacketTotalCount", 4, 0},
    {"interfaceName", FB_IE_VARLEN, 0},
    {"sourceIPv4Address", 4, 0},
    {"destinationIPv4Address", 4, 0},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"tcpControlBits", 1, 0},
    {"reverseTcpControlBits", 1, 0},
    {"initialTCPFlags", 1, 0}, /* CERT's (PEN 6871), here the same as tcpControlBits */
    FB_IESPEC_NULL,
};

/* As yaf exports a biflow: no tcpControlBits, CERT's flags of the first packet and the union
 * of the others, each way (the reverse ones numbered by libfixbuf itself). */
static fbInfoElementSpec_t spec_yaf[] = {
    {"flowStartMilliseconds", 8, 0}, {"flowEndMilliseconds", 8, 0},
    {"octetTotalCount", 8, 0},       {"reverseOctetTotalCount", 8, 0},
    {"packetTotalCount", 4, 0},      {"reversePacketTotalCount", 4, 0},
    {"sourceIPv4Address", 4, 0},     {"destinationIPv4Address", 4, 0},
    {"sourceTransportPort", 2, 0},   {"destinationTransportPort", 2, 0},
    {"protocolIdentifier", 1, 0},    {"initialTCPFlags", 1, 0},
    {"unionTCPFlags", 1, 0},         {"reverseInitialTCPFlags", 1, 0},
    {"reverseUnionTCPFlags", 1, 0},  FB_IESPEC_NULL,
};

static fbInfoElementSpec_t spec_v6[] = {
    {"flowStartSeconds", 4, 0},    {"flowEndSeconds", 4, 0},
    {"octetDeltaCount", 8, 0},     {"packetDeltaCount", 8, 0},
    {"sourceIPv6Address", 16, 0},  {"destinationIPv6Address", 16, 0},
    {"sourceTransportPort", 2, 0}, {"destinationTransportPort", 2, 0},
    {"protocolIdentifier", 1, 0},  FB_IESPEC_NULL,
};

static fbInfoElementSpec_t spec_opt[] = {
    {"observationDomainId", 4, 0},
    {"exportedFlowRecordTotalCount", 8, 0},
    FB_IESPEC_NULL,
};

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

void ipfix_gen_random(struct ipfix_gen_flow *out, size_t n, uint32_t seed, double v6_share)
{
    uint32_t s = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        struct ipfix_gen_flow *f = &out[i];
        memset(f, 0, sizeof(*f));
        f->v6 = (double)(rnd(&s) % 1000) < v6_share * 1000;
        if (f->v6) {
            f->src[0] = 0xfd, f->src[15] = (uint8_t)(rnd(&s) % 250 + 1);
            f->dst[0] = 0x20, f->dst[1] = 0x01, f->dst[2] = 0x0d, f->dst[3] = 0xb8;
            f->dst[15] = (uint8_t)rnd(&s);
        } else {
            uint32_t src = 0x0a000000u | (rnd(&s) & 0xffff), dst = 0xc6336400u | (rnd(&s) & 0xff);
            for (int b = 0; b < 4; b++) {
                f->src[b] = (uint8_t)(src >> (24 - 8 * b));
                f->dst[b] = (uint8_t)(dst >> (24 - 8 * b));
            }
        }
        unsigned kind = rnd(&s) % 4;
        f->proto = kind == 3 ? 17 : 6;
        f->sport = (uint16_t)(32768 + rnd(&s) % 28000);
        f->dport = kind == 3 ? 53 : (uint16_t)(rnd(&s) % 2 ? 443 : 8443);
        f->start_ms = 1700000000000ull + (uint64_t)i * 7 + rnd(&s) % 1000;
        if (f->v6)
            f->start_ms -= f->start_ms % 1000;
        f->end_ms = f->start_ms + (f->v6 ? 1000 * (rnd(&s) % 30) : rnd(&s) % 30000);
        f->pkts = 1 + rnd(&s) % 40;
        f->octets = 40 * f->pkts + rnd(&s) % 5000;
        if (!f->v6 && kind != 2 && !(kind == 3 && rnd(&s) % 3 == 0)) { /* answered */
            f->rpkts = 1 + rnd(&s) % 40;
            f->roctets = 40 * f->rpkts + rnd(&s) % 50000;
        }
        if (!f->v6 && f->proto == 6) {
            f->flags = kind == 1 ? 0x18 : 0x1b; /* kind 1: began mid-connection (no SYN) */
            f->rflags = kind == 2 ? 0 : 0x1a;   /* kind 2: never answered */
        }
        snprintf(f->ifname, sizeof(f->ifname), "%s", rnd(&s) % 2 ? "n3" : "n6-upf-ethernet0");
    }
}

void ipfix_gen_expect(const struct ipfix_gen_flow *f, struct an_flow *o)
{
    memset(o, 0, sizeof(*o));
    if (f->v6) {
        memcpy(o->orig.b, f->src, 16);
        memcpy(o->resp.b, f->dst, 16);
        o->ts = (double)(f->start_ms / 1000);
        o->duration = (double)(f->end_ms / 1000) - o->ts;
    } else {
        o->orig.b[10] = o->orig.b[11] = o->resp.b[10] = o->resp.b[11] = 0xff;
        memcpy(o->orig.b + 12, f->src, 4);
        memcpy(o->resp.b + 12, f->dst, 4);
        o->ts = (double)f->start_ms / 1000.0;
        o->duration = f->end_ms > f->start_ms ? (double)f->end_ms / 1000.0 - o->ts : 0;
    }
    o->orig_port = f->sport;
    o->resp_port = f->dport;
    o->proto = f->proto;
    o->orig_bytes = f->octets;
    o->orig_pkts = f->pkts;
    o->resp_bytes = f->roctets;
    o->resp_pkts = f->rpkts;
    if (f->v6)
        o->outcome = AN_OUT_UNKNOWN; /* one direction, no flags: nothing said of the opening */
    else if (f->proto == 6) {
        /* yaf's: the flags of the first packet and of the others, together */
        uint8_t fl = f->flags | f->iflags, rfl = f->rflags | f->riflags;
        o->outcome = !(fl & 0x02)                       ? AN_OUT_MIDSTREAM
                     : (rfl & 0x12) == 0x12             ? AN_OUT_ESTABLISHED
                     : f->rpkts == 0 && f->roctets == 0 ? AN_OUT_FAILED
                     : (rfl & 0x04)                     ? AN_OUT_FAILED
                                                        : AN_OUT_UNKNOWN;
    } else
        o->outcome = f->rpkts ? AN_OUT_ESTABLISHED : AN_OUT_NOREPLY;
}

static GError *gerr;

static gboolean failed(void)
{
    if (gerr && getenv("IPFIX_GEN_DEBUG"))
        fprintf(stderr, "libfixbuf: %s\n", gerr->message);
    g_clear_error(&gerr);
    return FALSE;
}

static fbTemplate_t *tmpl(fbInfoModel_t *m, fbInfoElementSpec_t *spec, int scope)
{
    fbTemplate_t *t = fbTemplateAlloc(m);
    if (!fbTemplateAppendSpecArray(t, spec, 0, &gerr)) {
        failed();
        fbTemplateFreeUnused(t);
        return NULL;
    }
    if (scope)
        fbTemplateSetOptionsScope(t, (uint16_t)scope);
    return t;
}

static int emit(fbExporter_t *ex, const struct ipfix_gen_flow *f, size_t n, uint32_t domain,
                uint32_t export_time)
{
    fbInfoModel_t *m = fbInfoModelAlloc();
    /* CERT's elements (as yaf exports them; /usr/share/libfixbuf/cert_ipfix.xml): not in
     * libfixbuf's default model. Reversible: libfixbuf adds reverseInitialTCPFlags and
     * reverseUnionTCPFlags under the same PEN with the 0x4000 bit (RFC 5103 6.2). */
    static fbInfoElement_t cert[] = {
        FB_IE_INIT("initialTCPFlags", 6871, 14, 1, FB_IE_F_ENDIAN | FB_IE_F_REVERSIBLE),
        FB_IE_INIT("unionTCPFlags", 6871, 15, 1, FB_IE_F_ENDIAN | FB_IE_F_REVERSIBLE), FB_IE_NULL};
    fbInfoModelAddElementArray(m, cert);
    fbSession_t *s = fbSessionAlloc(m);
    fbSessionSetDomain(s, domain);
    fbTemplate_t *t4 = tmpl(m, spec_v4, 0), *t6 = tmpl(m, spec_v6, 0), *to = tmpl(m, spec_opt, 1),
                 *ty = tmpl(m, spec_yaf, 0);
    int rc = -1;
    fBuf_t *b = NULL;
    if (!t4 || !t6 || !to || !ty)
        goto out;
    /* The same template internal and external: both added to the session. */
    if (!fbSessionAddTemplate(s, TRUE, T_V4, t4, &gerr) ||
        !fbSessionAddTemplate(s, FALSE, T_V4, t4, &gerr) ||
        !fbSessionAddTemplate(s, TRUE, T_V6, t6, &gerr) ||
        !fbSessionAddTemplate(s, FALSE, T_V6, t6, &gerr) ||
        !fbSessionAddTemplate(s, TRUE, T_OPT, to, &gerr) ||
        !fbSessionAddTemplate(s, FALSE, T_OPT, to, &gerr) ||
        !fbSessionAddTemplate(s, TRUE, T_YAF, ty, &gerr) ||
        !fbSessionAddTemplate(s, FALSE, T_YAF, ty, &gerr))
        goto out;
    b = fBufAllocForExport(s, ex);
    if (export_time)
        fBufSetExportTime(b, export_time);
    if (!fbSessionExportTemplates(s, &gerr))
        goto out;
    struct rec_opt ro = {domain, n};
    if (!fBufSetInternalTemplate(b, T_OPT, &gerr) || !fBufSetExportTemplate(b, T_OPT, &gerr) ||
        !fBufAppend(b, (uint8_t *)&ro, sizeof(ro), &gerr))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct ipfix_gen_flow *x = &f[i];
        uint16_t tid = x->v6 ? T_V6 : x->yaf ? T_YAF : T_V4;
        if (!fBufSetInternalTemplate(b, tid, &gerr) || !fBufSetExportTemplate(b, tid, &gerr))
            goto out;
        gboolean ok;
        if (x->v6) {
            struct rec_v6 r = {(uint32_t)(x->start_ms / 1000),
                               (uint32_t)(x->end_ms / 1000),
                               x->octets,
                               x->pkts,
                               {0},
                               {0},
                               x->sport,
                               x->dport,
                               x->proto};
            memcpy(r.src, x->src, 16);
            memcpy(r.dst, x->dst, 16);
            ok = fBufAppend(b, (uint8_t *)&r, sizeof(r), &gerr);
        } else if (x->yaf) {
            struct rec_yaf r = {x->start_ms,
                                x->end_ms,
                                x->octets,
                                x->roctets,
                                (uint32_t)x->pkts,
                                (uint32_t)x->rpkts,
                                (uint32_t)x->src[0] << 24 | (uint32_t)x->src[1] << 16 |
                                    (uint32_t)x->src[2] << 8 | x->src[3],
                                (uint32_t)x->dst[0] << 24 | (uint32_t)x->dst[1] << 16 |
                                    (uint32_t)x->dst[2] << 8 | x->dst[3],
                                x->sport,
                                x->dport,
                                x->proto,
                                x->iflags,
                                x->flags,
                                x->riflags,
                                x->rflags};
            ok = fBufAppend(b, (uint8_t *)&r, sizeof(r), &gerr);
        } else {
            struct rec_v4 r = {x->start_ms,
                               x->end_ms,
                               x->octets,
                               x->roctets,
                               (uint32_t)x->pkts,
                               (uint32_t)x->rpkts,
                               {strlen(x->ifname), (uint8_t *)x->ifname},
                               (uint32_t)x->src[0] << 24 | (uint32_t)x->src[1] << 16 |
                                   (uint32_t)x->src[2] << 8 | x->src[3],
                               (uint32_t)x->dst[0] << 24 | (uint32_t)x->dst[1] << 16 |
                                   (uint32_t)x->dst[2] << 8 | x->dst[3],
                               x->sport,
                               x->dport,
                               x->proto,
                               x->flags,
                               x->rflags,
                               x->flags};
            ok = fBufAppend(b, (uint8_t *)&r, sizeof(r), &gerr);
        }
        if (!ok)
            goto out;
    }
    if (fBufEmit(b, &gerr))
        rc = 0;
out:
    if (rc != 0)
        failed();
    if (b)
        fBufFree(b); /* frees the session and closes the exporter too */
    else {
        if (ex)
            fbExporterClose(ex);
        fbSessionFree(s);
    }
    fbInfoModelFree(m);
    return rc;
}

int ipfix_gen_stream(const struct ipfix_gen_flow *f, size_t n, uint32_t domain,
                     uint32_t export_time, uint8_t **out, size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *fp = open_memstream(&buf, &blen);
    if (fp == NULL)
        return -1;
    fbExporter_t *ex = fbExporterAllocFP(fp);
    int rc = emit(ex, f, n, domain, export_time);
    fclose(fp);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = (uint8_t *)buf;
    *len = blen;
    return 0;
}

int ipfix_gen_send(const char *host, const char *port, bool tcp, const struct ipfix_gen_flow *f,
                   size_t n, uint32_t domain)
{
    fbConnSpec_t spec = FB_CONNSPEC_INIT;
    spec.transport = tcp ? FB_TCP : FB_UDP;
    spec.host = (char *)host;
    spec.svc = (char *)port;
    fbExporter_t *ex = fbExporterAllocNet(&spec);
    if (ex == NULL)
        return -1;
    return emit(ex, f, n, domain, 0);
}
