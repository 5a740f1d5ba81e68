/* Access tokens as an AF presents them on the northbound face, and JWKS documents as a client
 * reads them. The first input byte picks what the rest is:
 *   0: a compact token, verified as is (jwt_verify: framing, base64url, JSON, header, sig);
 *   1: "header JSON \n claims JSON", signed with the harness's key and then verified, so that
 *      the claims decoding (behind the signature check) is reached too;
 *   2: a JWKS document (jwt_keyset_from_jwks), exported and imported again when it loads.
 * Invariants: verification answers one of its documented results with a reason; an accepted
 * token's claims are sane for the expectations (times, lifetime, terminated strings); out is
 * zeroed on refusal; a JWKS that loads survives its own export. */
#include <string.h>

#include "base/err.h"
#include "expose/expose.h"
#include "expose/expose_int.h"
#include "fuzz.h"

#define NOW      1763881200
#define LEEWAY   60
#define LIFETIME 3600

static struct jwt_keyset *keyset;
static struct jwt_key *signer;
static uint8_t x5t[JWT_X5T_LEN];

static void init(void)
{
    if (keyset != NULL)
        return;
    uint8_t d[JWT_P256_LEN];
    memset(d, 0x42, sizeof(d));
    FUZZ_CHECK(jwt_key_from_private("fuzz-key", d, &signer) == IOTSEC_OK);
    struct jwt_key *k;
    FUZZ_CHECK(jwt_key_from_private("fuzz-key", d, &k) == IOTSEC_OK);
    FUZZ_CHECK(jwt_keyset_new(&keyset) == IOTSEC_OK);
    FUZZ_CHECK(jwt_keyset_add(keyset, k) == IOTSEC_OK);
    jwt_cert_thumbprint((const uint8_t *)"fuzz", 4, x5t); /* cnf.x5t#S256 of the seeds */
}

static bool terminated(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

static void verify(const char *token, size_t len)
{
    struct jwt_expect ex = {.iss = "https://iotsec.example",
                            .aud = "3gpp-monitoring-event",
                            .x5t_s256 = x5t,
                            .now = NOW,
                            .leeway = LEEWAY,
                            .max_lifetime = LIFETIME};
    struct jwt_verified v;
    enum jwt_reason why = JWT_R_INTERNAL;
    int rc = jwt_verify(keyset, token, len, &ex, &v, &why);
    FUZZ_CHECK(jwt_reason_str(why) != NULL);
    if (rc != IOTSEC_OK) {
        FUZZ_CHECK(rc == IOTSEC_ERR_INVALID || rc == IOTSEC_ERR_AUTH);
        FUZZ_CHECK(why != JWT_R_OK);
        static const struct jwt_verified zero;
        FUZZ_CHECK(memcmp(&v, &zero, sizeof(v)) == 0);
        return;
    }
    FUZZ_CHECK(why == JWT_R_OK);
    FUZZ_CHECK(strcmp(v.kid, "fuzz-key") == 0);
    FUZZ_CHECK(terminated(v.sub, sizeof(v.sub)) && terminated(v.client_id, sizeof(v.client_id)) &&
               terminated(v.jti, sizeof(v.jti)) && terminated(v.scope, sizeof(v.scope)));
    FUZZ_CHECK(v.sub[0] != '\0' && v.client_id[0] != '\0');
    FUZZ_CHECK(v.exp > NOW - LEEWAY && v.iat <= NOW + LEEWAY && v.nbf <= NOW + LEEWAY);
    FUZZ_CHECK(v.exp > v.iat && v.exp - v.iat <= LIFETIME);
}

static void jwks(const char *text, size_t len)
{
    struct jwt_keyset *ks = NULL;
    if (jwt_keyset_from_jwks(text, len, &ks) != IOTSEC_OK) {
        FUZZ_CHECK(ks == NULL);
        return;
    }
    char *out = NULL;
    struct jwt_keyset *again = NULL;
    FUZZ_CHECK(jwt_keyset_jwks(ks, &out) == IOTSEC_OK);
    FUZZ_CHECK(jwt_keyset_from_jwks(out, strlen(out), &again) == IOTSEC_OK);
    free(out);
    jwt_keyset_free(again);
    jwt_keyset_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init();
    const char *rest = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        verify(rest, len);
        break;
    case 1: {
        const char *nl = memchr(rest, '\n', len);
        size_t hlen = nl ? (size_t)(nl - rest) : len;
        const char *payload = nl ? nl + 1 : "";
        size_t plen = nl ? len - hlen - 1 : 0;
        char *token = NULL;
        if (jwt_sign_compact(signer, rest, hlen, payload, plen, &token) == IOTSEC_OK) {
            verify(token, strlen(token));
            free(token);
        }
        break;
    }
    default:
        jwks(rest, len);
    }
    return 0;
}
