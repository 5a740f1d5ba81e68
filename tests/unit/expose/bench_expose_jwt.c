/* ES256 token sign and verify rates on one core (run by hand; not a ctest test):
 *   build-expose/tests/unit/expose/bench_expose_jwt [seconds]
 * Verification is the full jwt_verify(): parse, keyset lookup, ECDSA, claims, binding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "expose/expose.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    struct jwt_keyset *ks;
    struct jwt_key *key;
    if (jwt_keyset_new(&ks) != IOTSEC_OK || jwt_key_generate("bench", &key) != IOTSEC_OK ||
        jwt_keyset_rotate(ks, key) != IOTSEC_OK)
        return 1;
    const char cert[] = "certificate DER stand-in";
    int64_t t0 = (int64_t)time(NULL);
    struct jwt_claims c = {.iss = "https://iotsec.example",
                           .sub = "af-0001",
                           .aud = "3gpp-monitoring-event",
                           .scope = "monitoring-event",
                           .client_id = "af-0001",
                           .iat = t0,
                           .exp = t0 + 600};
    jwt_cert_thumbprint((const uint8_t *)cert, sizeof(cert) - 1, c.x5t_s256);

    char *token = NULL;
    long n = 0;
    double start = now_s(), el;
    do {
        for (int i = 0; i < 100; i++, n++) {
            free(token);
            if (jwt_sign(ks, &c, &token) != IOTSEC_OK)
                return 1;
        }
    } while ((el = now_s() - start) < secs);
    printf("{\"jwt_sign_per_s\": %.0f, ", (double)n / el);

    struct jwt_expect ex = {
        .iss = c.iss, .aud = c.aud, .x5t_s256 = c.x5t_s256, .now = t0, .leeway = 30};
    struct jwt_verified v;
    size_t len = strlen(token);
    n = 0;
    start = now_s();
    do {
        for (int i = 0; i < 100; i++, n++)
            if (jwt_verify(ks, token, len, &ex, &v, NULL) != IOTSEC_OK)
                return 1;
    } while ((el = now_s() - start) < secs);
    printf("\"jwt_verify_per_s\": %.0f, \"token_bytes\": %zu}\n", (double)n / el, len);
    free(token);
    jwt_keyset_free(ks);
    return 0;
}
