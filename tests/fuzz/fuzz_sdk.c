/* What the device SDK reads from the network (sdk/onboard.c): the server's answers to
 * /device/v1/nonce, /onboard and /rotate (its own small JSON scanner, base64url, the signed
 * envelope) and the credential bundle inside the envelope. The first input byte picks what the
 * rest is:
 *   0: an answer body: onboard_parse_nonce and onboard_open_answer as the SDK calls them;
 *   1: a bundle: prov_bundle_parse, and the same bytes sealed by the harness's "server" into an
 *      envelope and opened through onboard_open_answer, so the path behind the signature is
 *      reached too.
 * Invariants: a bundle that parses re-encodes to the same bytes (the format is canonical) and,
 * sealed, opens through the SDK to the same plaintext; a refused answer leaves no plaintext. */
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/provision_crypto.h"
#include "fuzz.h"
#include "onboard.h"

static struct prov_sign_key *server_key;
static struct onboard_device device;
static struct onboard_attempt attempt;

static void init(void)
{
    if (server_key != NULL)
        return;
    uint8_t seed[PROV_ED25519_SEED_LEN];
    memset(seed, 0x5e, sizeof(seed));
    FUZZ_CHECK(prov_sign_key_new(seed, &server_key) == IOTSEC_OK);
    snprintf(device.reg_id, sizeof(device.reg_id), "meter-0001");
    device.attest = ONBOARD_ATTEST_DERIVED_KEY;
    prov_sign_key_public(server_key, device.pinned_pub);
    memset(attempt.nonce, 0x11, sizeof(attempt.nonce));
    FUZZ_CHECK(prov_x25519_keygen(attempt.priv, attempt.pub) == IOTSEC_OK);
}

/* Opens an answer; on success *plain gets a copy of the plaintext (malloc'd) and the attempt
 * lets its own go, keeping its keys for the next input. */
static int open_answer(const char *body, size_t len, uint8_t **plain, size_t *plain_len)
{
    int rc = onboard_open_answer(&device, &attempt, body, len);
    if (rc != IOTSEC_OK) {
        FUZZ_CHECK(attempt.plain == NULL && attempt.plain_len == 0);
        return rc;
    }
    FUZZ_CHECK(attempt.plain != NULL);
    if (plain != NULL) {
        *plain = malloc(attempt.plain_len);
        FUZZ_CHECK(*plain != NULL);
        memcpy(*plain, attempt.plain, attempt.plain_len);
        *plain_len = attempt.plain_len;
    }
    free(attempt.plain);
    attempt.plain = NULL;
    attempt.plain_len = 0;
    prov_bundle_wipe(&attempt.bundle);
    return rc;
}

static void bundle(const uint8_t *in, size_t len)
{
    struct prov_bundle b;
    int direct = prov_bundle_parse(in, len, &b);
    if (direct == IOTSEC_OK) {
        uint8_t *again = malloc(len ? len : 1);
        size_t again_len = 0;
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(prov_bundle_encode(&b, again, len, &again_len) == IOTSEC_OK);
        FUZZ_CHECK(again_len == len && memcmp(again, in, len) == 0);
        free(again);
        prov_bundle_wipe(&b);
    }
    /* Sealing costs a signature: only bundles that parse take the sealed path (a refused one
     * is refused by the same prov_bundle_parse after opening). */
    if (direct != IOTSEC_OK || len > PROV_PLAINTEXT_MAX)
        return;
    /* The same bytes as the server would send them. */
    static const uint8_t eph[PROV_X25519_LEN] = {0x77, 1, 2, 3};
    struct prov_onboard_ctx ctx = {.reg_id = device.reg_id, .reg_id_len = strlen(device.reg_id)};
    memcpy(ctx.server_nonce, attempt.nonce, PROV_NONCE_LEN);
    memcpy(ctx.device_pub, attempt.pub, PROV_X25519_LEN);
    size_t env_max = prov_envelope_len(ctx.reg_id_len, len), env_len = 0;
    uint8_t *env = malloc(env_max);
    FUZZ_CHECK(env != NULL);
    FUZZ_CHECK(prov_envelope_seal_with(server_key, eph, &ctx, in, len, env, env_max, &env_len) ==
               IOTSEC_OK);
    size_t body_max = b64url_len(env_len) + 32;
    char *body = malloc(body_max);
    FUZZ_CHECK(body != NULL);
    int n = snprintf(body, body_max, "{\"envelope\":\"");
    b64url_encode(env, env_len, body + n);
    strcat(body, "\"}");
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int rc = open_answer(body, strlen(body), &plain, &plain_len);
    FUZZ_CHECK(rc == IOTSEC_OK);
    FUZZ_CHECK(plain_len == len && memcmp(plain, in, len) == 0);
    free(plain);
    free(body);
    free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init();
    const uint8_t *rest = data + 1;
    size_t len = size - 1;
    if (data[0] % 2 == 0) {
        uint8_t nonce[PROV_NONCE_LEN];
        onboard_parse_nonce((const char *)rest, len, nonce);
        open_answer((const char *)rest, len, NULL, NULL);
    } else {
        bundle(rest, len);
    }
    return 0;
}
