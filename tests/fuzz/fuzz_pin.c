/* The PIN message formats (docs/pin.md) read from outside: the daemon's policy and grant
 * parsers (src/pin/pin.c, from a PEMC's request), and what a PEGC reads from the network
 * (sdk/pin.c: the nonce answer, the signed authorisation decision). The first byte picks:
 *   0: a policy, then a grant against it (pin_policy_parse, pin_grant_parse);
 *   1: an answer to a PEGC: pin_parse_nonce and pin_pegc_accept as the PEGC calls them;
 *   2: a decision text the harness's "PIN CA" signs, wrapped as the daemon does, so the parser
 *      behind the signature is reached;
 *   3: an enrolment code and a join's code proof (the daemon's judge of an enrolment: a proof
 *      the fuzzer made up is never right, the right one is).
 * Invariants: a policy that parses re-encodes to one that parses to the same thing; a grant
 * lies within its policy; an answer the CA did not sign is never accepted; an accepted
 * decision leaves exactly one entry for a PINE id of at most 21 characters. */
#include <jansson.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/provision_crypto.h"
#include "fuzz.h"
#include "pin.h"
#include "pin/pin.h"

static struct prov_sign_key *ca;
static uint8_t ca_pub[PIN_PUB_LEN];
static const uint8_t nonce[PIN_NONCE_LEN] = {1, 2, 3};

static void init(void)
{
    if (ca != NULL)
        return;
    uint8_t seed[32];
    memset(seed, 0x33, sizeof(seed));
    FUZZ_CHECK(prov_sign_key_new(seed, &ca) == IOTSEC_OK);
    prov_sign_key_public(ca, ca_pub);
}

static void policy(const char *text)
{
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    struct pin_policy p, q;
    const char *bad;
    if (o && pin_policy_parse(json_object_get(o, "policy"), &p, &bad) == IOTSEC_OK) {
        json_t *again = pin_policy_json(&p);
        FUZZ_CHECK(pin_policy_parse(again, &q, &bad) == IOTSEC_OK);
        FUZZ_CHECK(q.n_dnns == p.n_dnns && q.n_qos == p.n_qos &&
                   q.max_lifetime_s == p.max_lifetime_s);
        json_decref(again);
        struct pin_grant g;
        if (pin_grant_parse(o, &p, &g, &bad) == IOTSEC_OK) {
            FUZZ_CHECK(pin_policy_has_qos(&p, g.qos_class));
            FUZZ_CHECK(g.lifetime_s <= p.max_lifetime_s);
            for (size_t i = 0; i < g.n_dnns; i++)
                FUZZ_CHECK(pin_policy_has_dnn(&p, g.dnns[i]));
        }
    }
    json_decref(o);
}

static void answer(const char *text, size_t len)
{
    uint8_t n[PIN_NONCE_LEN];
    (void)pin_parse_nonce(text, len, n);
    struct pin_pegc g;
    FUZZ_CHECK(pin_pegc_init(&g, "pin-1", "gw-1", ca_pub, 4) == IOTSEC_OK);
    /* unsigned by the CA (the fuzzer cannot forge Ed25519): never accepted */
    FUZZ_CHECK(pin_pegc_accept(&g, text, len, nonce, 0) != IOTSEC_OK);
    FUZZ_CHECK(g.n == 0);
    pin_pegc_free(&g);
}

static void signed_decision(const char *text, size_t len)
{
    uint8_t msg[PIN_REQUEST_MAX + 64], sig[PIN_SIG_LEN];
    size_t mlen;
    if (pin_msg_decision(text, len, msg, sizeof(msg), &mlen) != IOTSEC_OK)
        return;
    FUZZ_CHECK(prov_ed25519_sign(ca, msg, mlen, sig) == IOTSEC_OK);
    /* wrapped as the daemon's json_dumps would: a JSON string holding the text */
    json_t *o = json_object();
    json_object_set_new(o, "decision", json_stringn(text, len));
    char s64[128];
    b64url_encode(sig, sizeof(sig), s64);
    json_object_set_new(o, "signature", json_string(s64));
    char *wrapped = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (wrapped == NULL)
        return; /* not UTF-8: the daemon never signs such text */
    struct pin_pegc g;
    FUZZ_CHECK(pin_pegc_init(&g, "pin-1", "gw-1", ca_pub, 4) == IOTSEC_OK);
    if (pin_pegc_accept(&g, wrapped, strlen(wrapped), nonce, 0) == IOTSEC_OK) {
        FUZZ_CHECK(g.n == 1);
        FUZZ_CHECK(strlen(g.entries[0].pine_id) < sizeof(g.entries[0].pine_id));
        (void)pin_pegc_forward(&g, g.entries[0].pine_id, "iot", 0, NULL, NULL);
    }
    pin_pegc_free(&g);
    free(wrapped);
}

static void enrolment(const uint8_t *data, size_t size, const char *text)
{
    struct pin_enrol e = {.expires_at = 100};
    snprintf(e.name, sizeof(e.name), "lamp");
    uint8_t pub[PIN_PUB_LEN] = {7}, proof[PIN_MAC_LEN] = {0};
    memcpy(proof, data, size < sizeof(proof) ? size : sizeof(proof));
    if (pin_code_hash(text, "pin-1", "lamp", e.code_hash) != IOTSEC_OK) {
        FUZZ_CHECK(!pin_code_ok(text));
        return;
    }
    FUZZ_CHECK(pin_code_ok(text));
    uint8_t right[PIN_MAC_LEN];
    FUZZ_CHECK(pin_code_proof(e.code_hash, "pin-1", "lamp", pub, right) == IOTSEC_OK);
    FUZZ_CHECK(pin_enrol_judge(&e, "pin-1", pub, right, 99) == PIN_ENROL_OK);
    FUZZ_CHECK(pin_enrol_judge(&e, "pin-1", pub, right, 100) == PIN_ENROL_EXPIRED);
    if (memcmp(proof, right, sizeof(right)) != 0)
        FUZZ_CHECK(pin_enrol_judge(&e, "pin-1", pub, proof, 99) == PIN_ENROL_WRONG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1 || size > 16384)
        return 0;
    char *text = fuzz_cstr(data + 1, size - 1);
    size_t len = strlen(text);
    switch (data[0] % 4) {
    case 0:
        policy(text);
        break;
    case 1:
        answer(text, len);
        break;
    case 2:
        signed_decision(text, len);
        break;
    default:
        enrolment(data + 1, size - 1, text);
    }
    free(text);
    return 0;
}
