/* What a device or gateway sends to the device face (src/provision), decoded as the handlers
 * decode it before anything touches the store: the onboarding request (fields, then for an
 * x509_signature attestation the certificate, its chain and the signature over the request),
 * the confirmation and rotation requests, and, on the owner face, an ownership voucher chain.
 * The first input byte picks what the rest is: 0 onboarding, 1 confirmation, 2 rotation (JSON
 * bodies on a connection-less request), 3 a voucher chain for device "meter-0001" under the
 * harness's manufacturer root. Invariants: a decoder that refuses has answered exactly once
 * with 400 or 401, one that accepts has not answered; what it accepted is what the store code
 * relies on (a valid registration id, a version from 1); a voucher chain that verifies has
 * entries and a current owner. */
#include <openssl/x509.h>
#include <string.h>

#include "base/err.h"
#include "fuzz.h"
#include "fuzz_req.h"
#include "provision/prov_device.h"

static uint8_t root_pub[PROV_ED25519_PUB_LEN];

static void init(void)
{
    static bool done;
    if (done)
        return;
    uint8_t seed[PROV_ED25519_SEED_LEN];
    struct prov_sign_key *root;
    memset(seed, 0x52, sizeof(seed)); /* the seeds' chains are signed with this root */
    FUZZ_CHECK(prov_sign_key_new(seed, &root) == IOTSEC_OK);
    prov_sign_key_public(root, root_pub);
    prov_sign_key_free(root);
    done = true;
}

static void check_answer(struct http_request *req, bool accepted)
{
    int status = fuzz_req_status(req);
    if (accepted)
        FUZZ_CHECK(status == 0);
    else
        FUZZ_CHECK(status == 400 || status == 401);
}

static void onboard(struct http_request *req, json_t *o)
{
    struct onboard_req r;
    memset(&r, 0, sizeof(r));
    const char *att = NULL;
    bool ok = prov_dev_decode_onboard(req, o, &r, &att);
    if (ok) {
        FUZZ_CHECK(prov_id_valid(r.reg_id, strlen(r.reg_id)));
        FUZZ_CHECK(r.octx.reg_id == r.reg_id && r.octx.reg_id_len == strlen(r.reg_id));
        if (!r.derived) {
            ok = prov_dev_cert_proof(req, o, att, false, &r);
            if (ok)
                FUZZ_CHECK(strcmp(r.cn, r.reg_id) == 0 && strlen(r.sha256) == 64);
        }
    }
    if (r.own_cert) {
        X509_free(r.cert);
        sk_X509_pop_free(r.chain, X509_free);
    }
    check_answer(req, ok);
}

static void cred(struct http_request *req, json_t *o, bool rotate)
{
    struct cred_req r;
    memset(&r, 0, sizeof(r));
    const char *cred_id = NULL;
    bool ok = prov_dev_decode_cred(req, o, rotate, &r, &cred_id);
    if (ok)
        FUZZ_CHECK(prov_id_valid(r.reg_id, strlen(r.reg_id)) && cred_id != NULL && r.version >= 1);
    check_answer(req, ok);
}

static void body(int kind, const uint8_t *data, size_t size)
{
    struct http_request *req = fuzz_req_new(data, size, "application/json");
    struct dev_body b = {0};
    if (!dev_parse_body(req, &b)) {
        FUZZ_CHECK(fuzz_req_status(req) == 400 && b.o == NULL);
    } else if (kind == 0) {
        onboard(req, b.o);
    } else {
        cred(req, b.o, kind == 2);
    }
    json_decref(b.o);
    fuzz_req_free(req);
}

static void voucher(const uint8_t *chain, size_t len)
{
    uint8_t owner[PROV_ED25519_PUB_LEN];
    size_t entries = 0;
    int rc = prov_voucher_verify(root_pub, "meter-0001", 10, chain, len, owner, &entries);
    FUZZ_CHECK(rc == IOTSEC_OK || rc == IOTSEC_ERR_INVALID || rc == IOTSEC_ERR_AUTH);
    if (rc == IOTSEC_OK)
        FUZZ_CHECK(entries >= 1 && entries <= PROV_VOUCHER_MAX_ENTRIES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init();
    if (data[0] % 4 == 3)
        voucher(data + 1, size - 1);
    else
        body(data[0] % 4, data + 1, size - 1);
    return 0;
}
