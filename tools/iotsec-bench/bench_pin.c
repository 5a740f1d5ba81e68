/* iotsec-bench pin (issue 14): PINE authentications through a PEGC against a real iotsecd
 * (the SDK's code, HTTP/1.1 keep-alive on the device face), against the ceiling the server's
 * crypto for one authentication sets on one core in the same run (the subscription's proof:
 * its K-derived key and MAC; the PINE's Ed25519 signature; the PIN CA's key opened and its
 * Ed25519 signature over the decision). Also the revocation latency and the state a PEGC
 * keeps per PINE. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "bench.h"
#include "bench_sbi.h"
#include "crypto/provision_crypto.h"
#include "pin.h"
#include "pin/pin.h"
#include "sim.h"

struct ceiling {
    uint8_t k[16], nonce[32], mac[32], ca_seed[32], pine_pub[32], sig[64];
    struct prov_sign_key *pine;
};

/* What the daemon computes per authentication, minus I/O and SQL. */
static int auth_crypto(void *arg, uint64_t i)
{
    (void)i;
    struct ceiling *c = arg;
    uint8_t uk[32], msg[PIN_MSG_MAX], dsig[64], dmsg[600];
    size_t mlen, dlen;
    struct prov_sign_key *ca = NULL;
    char *text = NULL;
    size_t tlen;
    struct pin_grant g = {.n_dnns = 1, .qos_class = 9, .lifetime_s = 600};
    strcpy(g.dnns[0], "iot");
    int rc = pin_ue_key(c->k, 16, "imsi-001010000000001", 1, uk);
    if (rc == IOTSEC_OK)
        rc = pin_request_verify(uk, "auth", c->nonce, "{\"pin_id\":\"pin-1\"}", 18, c->mac);
    if (rc == IOTSEC_OK)
        rc = pin_msg_auth("pin-1", "pine-1", "gw-1", c->nonce, msg, &mlen);
    if (rc == IOTSEC_OK)
        rc = prov_ed25519_verify(c->pine_pub, msg, mlen, c->sig);
    if (rc == IOTSEC_OK)
        rc = prov_sign_key_new(c->ca_seed, &ca);
    if (rc == IOTSEC_OK)
        rc = pin_decision_text("pin-1", "pine-1", "gw-1", &g, 0, c->nonce, &text, &tlen);
    if (rc == IOTSEC_OK)
        rc = pin_msg_decision(text, tlen, dmsg, sizeof(dmsg), &dlen);
    if (rc == IOTSEC_OK)
        rc = prov_ed25519_sign(ca, dmsg, dlen, dsig);
    free(text);
    prov_sign_key_free(ca);
    return rc == IOTSEC_OK ? 0 : -1;
}

static double ceiling(double seconds)
{
    struct ceiling c = {0};
    uint8_t seed[32], uk[32], msg[PIN_MSG_MAX];
    size_t mlen;
    memset(c.k, 7, 16);
    memset(seed, 9, 32);
    prov_ed25519_keygen(c.ca_seed, seed);
    prov_ed25519_keygen(seed, c.pine_pub);
    prov_sign_key_new(seed, &c.pine);
    pin_ue_key(c.k, 16, "imsi-001010000000001", 1, uk);
    pin_request_mac(uk, "auth", c.nonce, "{\"pin_id\":\"pin-1\"}", 18, c.mac);
    pin_msg_auth("pin-1", "pine-1", "gw-1", c.nonce, msg, &mlen);
    prov_ed25519_sign(c.pine, msg, mlen, c.sig);
    double r = bench_rate("pin auth crypto", auth_crypto, &c, seconds);
    prov_sign_key_free(c.pine);
    return r;
}

int bench_pin(double seconds)
{
    signal(SIGPIPE, SIG_IGN);
    double ceil1 = ceiling(seconds > 0 ? seconds : 2);
    bench_report("pin_auth_crypto_ceiling", ceil1, "authentications/s per core", 1);
    bench_report("pin_pegc_state_per_pine", (double)sizeof(struct pin_pegc_entry), "bytes", 1);
    struct sbi_daemon dm;
    struct sim_instance in;
    char ready[160];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sbi_daemon_start(&dm) != 0) {
        curl_global_cleanup();
        return -1;
    }
    snprintf(ready, sizeof(ready), "%s/ready.json", dm.dir);
    int rc = sim_instance_load(&in, dm.inst, ready);
    double rate = 0, p99 = 0, revoke = 0;
    if (rc == 0)
        rc = sim_pin_load(&in, seconds > 0 ? seconds : 10, 16, &rate, &p99, &revoke);
    if (rc == 0) {
        bench_report("pin_auth_through_pegc", rate, "authentications/s", 2);
        bench_report("pin_auth_through_pegc_p99", p99, "ms", 2);
        bench_report("pin_revocation_latency", revoke, "ms (removal to refused check)", 2);
    } else
        sbi_daemon_log_tail(&dm, 20);
    sbi_daemon_stop(&dm);
    sbi_daemon_cleanup(&dm, 0);
    curl_global_cleanup();
    return rc;
}
