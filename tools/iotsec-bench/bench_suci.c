/* SUCI de-concealment on one core, Profile A (X25519) and Profile B (P-256), each decode a
 * different SUCI from a pool concealed beforehand, as the UDM's SIDF sees them. The baseline
 * in the same run is OpenSSL's own raw ECDH rate (`openssl speed`), so the ratio says how
 * much the rest of the work (parsing, point decoding, KDF, AES-CTR, MAC) costs on top of the
 * one operation that cannot be avoided. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "bench.h"
#include "crypto/suci.h"

#define POOL      256
#define HN_KEY_ID 1

struct suci_fixture {
    struct suci_keyring *kr;
    char sucis[POOL][SUCI_STRING_MAX];
    unsigned sink; /* keeps results observable so the compiler cannot drop the work */
};

static int decode_op(void *arg, uint64_t i)
{
    struct suci_fixture *f = arg;
    struct supi s;
    if (suci_deconceal(f->kr, f->sucis[i % POOL], &s) != IOTSEC_OK)
        return 1;
    f->sink ^= (unsigned char)s.value[14];
    return 0;
}

/* A keyring with one fresh key for the profile, and POOL SUCIs of distinct IMSIs under it. */
static int make_fixture(struct suci_fixture *f, enum suci_scheme scheme)
{
    uint8_t priv[SUCI_PRIVATE_KEY_LEN], pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
    f->kr = suci_keyring_new();
    if (f->kr == NULL || suci_generate_key_pair(scheme, priv, pub, &pub_len) != IOTSEC_OK ||
        suci_keyring_add(f->kr, scheme, HN_KEY_ID, priv) != IOTSEC_OK)
        return -1;
    struct suci_conceal_params p = {.scheme = scheme,
                                    .key_id = HN_KEY_ID,
                                    .hn_public_key = pub,
                                    .hn_public_key_len = pub_len,
                                    .routing_indicator = "0",
                                    .mnc_length = 2};
    for (int i = 0; i < POOL; i++) {
        char imsi[24];
        struct supi s;
        snprintf(imsi, sizeof(imsi), "imsi-00101%010d", i * 7919);
        if (supi_parse(imsi, &s) != IOTSEC_OK ||
            suci_conceal(&s, &p, f->sucis[i], sizeof(f->sucis[i])) != IOTSEC_OK)
            return -1;
    }
    return 0;
}

/* Runs `openssl speed` for the two ECDH curves and reads its op/s column. Returns 0 when both
 * figures were found. */
static int openssl_ecdh_rates(double seconds, double *x25519, double *p256)
{
    char cmd[128];
    int secs = (int)seconds < 1 ? 1 : (int)(seconds + 0.5);
    snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdhx25519 ecdhp256 2>/dev/null", secs);
    FILE *pipe = popen(cmd, "r");
    if (pipe == NULL)
        return -1;
    *x25519 = *p256 = 0;
    char line[256];
    /* Result lines look like " 253 bits ecdh (X25519)   0.0000s  35013.0". */
    while (fgets(line, sizeof(line), pipe) != NULL) {
        double *dst = strstr(line, "ecdh (X25519)")     ? x25519
                      : strstr(line, "ecdh (nistp256)") ? p256
                                                        : NULL;
        char *last = strrchr(line, ' ');
        if (dst != NULL && last != NULL)
            *dst = strtod(last + 1, NULL);
    }
    int status = pclose(pipe);
    return status == 0 && *x25519 > 0 && *p256 > 0 ? 0 : -1;
}

/* The decode rate of one profile: a fixture of POOL SUCIs, then bench_rate over them. */
static double decode_rate(enum suci_scheme scheme, const char *name, double seconds)
{
    struct suci_fixture *f = calloc(1, sizeof(*f));
    double rate = -1;
    if (f != NULL && make_fixture(f, scheme) == 0)
        rate = bench_rate(name, decode_op, f, seconds);
    else
        fprintf(stderr, "bench: cannot set up %s\n", name);
    if (f != NULL)
        suci_keyring_free(f->kr);
    free(f);
    return rate;
}

static double max2(double a, double b)
{
    return a > b ? a : b;
}

/* Rounds alternate our decodes with `openssl speed`, and each figure keeps its best round:
 * on a shared machine, other load only ever slows a measurement down, and it should not
 * land on one side of the ratio alone. */
#define ROUNDS 2

int bench_suci(double seconds)
{
    fprintf(stderr, "suci: de-concealment, one core, %d distinct SUCIs per profile\n", POOL);
    double a = 0, b = 0, raw_x25519 = 0, raw_p256 = 0;
    int have_raw = 1;
    for (int round = 0; round < ROUNDS; round++) {
        double ra = decode_rate(SUCI_SCHEME_PROFILE_A, "suci.decode.profile_a", seconds / ROUNDS);
        double rb = decode_rate(SUCI_SCHEME_PROFILE_B, "suci.decode.profile_b", seconds / ROUNDS);
        if (ra < 0 || rb < 0)
            return 1;
        a = max2(a, ra);
        b = max2(b, rb);
        double x, p;
        if (have_raw && openssl_ecdh_rates(seconds / ROUNDS, &x, &p) == 0) {
            raw_x25519 = max2(raw_x25519, x);
            raw_p256 = max2(raw_p256, p);
        } else {
            have_raw = 0;
        }
    }
    bench_report("suci.decode.profile_a", a, "per_s", 1);
    bench_report("suci.decode.profile_b", b, "per_s", 1);
    if (!have_raw) {
        fprintf(stderr, "bench: `openssl speed` did not run or gave no ECDH figures; "
                        "skipping the raw ECDH baseline\n");
        return 0;
    }
    bench_report("suci.ecdh_raw.x25519", raw_x25519, "per_s", 1);
    bench_report("suci.ecdh_raw.p256", raw_p256, "per_s", 1);
    bench_report("suci.decode.profile_a.vs_raw_ecdh", 100.0 * a / raw_x25519, "percent", 1);
    bench_report("suci.decode.profile_b.vs_raw_ecdh", 100.0 * b / raw_p256, "percent", 1);
    return 0;
}
