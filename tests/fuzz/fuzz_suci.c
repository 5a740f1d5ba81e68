/* SUCI strings as an AMF or AUSF sends them (suci_peek, suci_deconceal with a keyring holding
 * the TS 33.501 Annex C.4 home-network keys) and SUPI strings (supi_parse). Invariants: peek
 * and de-concealment agree on what is malformed; a SUPI that parses formats to the same
 * string; a null-scheme SUCI that de-conceals re-conceals to the same string (hex case aside);
 * a SUPI recovered under a profile conceals again and de-conceals to itself. */
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/suci.h"
#include "crypto/supi.h"
#include "fuzz.h"

static struct suci_keyring *keyring;

static void add_key(enum suci_scheme scheme, uint8_t id, const char *hex)
{
    uint8_t priv[SUCI_PRIVATE_KEY_LEN];
    FUZZ_CHECK(hex_decode(hex, priv, sizeof(priv)) == 0);
    FUZZ_CHECK(suci_keyring_add(keyring, scheme, id, priv) == IOTSEC_OK);
}

static void init(void)
{
    if (keyring != NULL)
        return;
    keyring = suci_keyring_new();
    FUZZ_CHECK(keyring != NULL);
    static const char a[] = "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d";
    static const char b[] = "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda";
    add_key(SUCI_SCHEME_PROFILE_A, 1, a);
    add_key(SUCI_SCHEME_PROFILE_A, 27, a);
    add_key(SUCI_SCHEME_PROFILE_B, 1, b);
    add_key(SUCI_SCHEME_PROFILE_B, 2, b);
}

/* The n-th '-'-separated field from the right (0 = the scheme output), copied into out. */
static bool field_from_right(const char *s, unsigned n, char *out, size_t cap)
{
    const char *end = s + strlen(s);
    for (unsigned i = 0;; i++) {
        const char *start = end;
        while (start > s && start[-1] != '-')
            start--;
        if (i == n) {
            size_t len = (size_t)(end - start);
            if (len >= cap)
                return false;
            memcpy(out, start, len);
            out[len] = '\0';
            return true;
        }
        if (start == s)
            return false;
        end = start - 1;
    }
}

static void null_round_trip(const char *s, const struct supi *supi)
{
    char ri[8], mnc[8];
    FUZZ_CHECK(field_from_right(s, 3, ri, sizeof(ri)));
    struct suci_conceal_params p = {.scheme = SUCI_SCHEME_NULL, .routing_indicator = ri};
    if (supi->type == SUPI_IMSI) {
        FUZZ_CHECK(field_from_right(s, 4, mnc, sizeof(mnc)));
        p.mnc_length = (int)strlen(mnc);
    }
    char again[SUCI_STRING_MAX];
    FUZZ_CHECK(suci_conceal_with_ephemeral(supi, &p, NULL, 0, again, sizeof(again)) == IOTSEC_OK);
    FUZZ_CHECK(strcasecmp(again, s) == 0);
}

static void profile_round_trip(enum suci_scheme scheme, uint8_t key_id, const struct supi *supi)
{
    static const uint8_t eph[SUCI_PRIVATE_KEY_LEN] = {7, 1, 2, 3};
    static const char *privs[] = {
        [SUCI_SCHEME_PROFILE_A] =
            "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d",
        [SUCI_SCHEME_PROFILE_B] =
            "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda",
    };
    uint8_t priv[SUCI_PRIVATE_KEY_LEN], pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
    FUZZ_CHECK(hex_decode(privs[scheme], priv, sizeof(priv)) == 0);
    FUZZ_CHECK(suci_public_key(scheme, priv, pub, &pub_len) == IOTSEC_OK);
    struct suci_conceal_params p = {
        .scheme = scheme, .key_id = key_id, .hn_public_key = pub, .hn_public_key_len = pub_len};
    char again[SUCI_STRING_MAX];
    if (suci_conceal_with_ephemeral(supi, &p, eph, 0, again, sizeof(again)) != IOTSEC_OK)
        return; /* e.g. an IMSI whose MCC has another default MNC length than the input's */
    struct supi back;
    FUZZ_CHECK(suci_deconceal(keyring, again, &back) == IOTSEC_OK);
    FUZZ_CHECK(back.type == supi->type && strcmp(back.value, supi->value) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    char *s = fuzz_cstr(data, size);

    struct supi supi;
    if (supi_parse(s, &supi) == IOTSEC_OK) {
        char out[SUPI_STRING_MAX];
        FUZZ_CHECK(supi_format(&supi, out, sizeof(out)) == IOTSEC_OK);
        FUZZ_CHECK(strcmp(out, s) == 0);
    }

    enum suci_scheme scheme;
    uint8_t key_id;
    int peek = suci_peek(s, &scheme, &key_id);
    int rc = suci_deconceal(keyring, s, &supi);
    if (peek != IOTSEC_OK) /* malformed or unsupported before any key is looked up */
        FUZZ_CHECK(rc == peek);
    if (rc == IOTSEC_OK) {
        FUZZ_CHECK(peek == IOTSEC_OK);
        char out[SUPI_STRING_MAX];
        struct supi again;
        FUZZ_CHECK(supi_format(&supi, out, sizeof(out)) == IOTSEC_OK);
        FUZZ_CHECK(supi_parse(out, &again) == IOTSEC_OK);
        FUZZ_CHECK(again.type == supi.type && strcmp(again.value, supi.value) == 0);
        if (scheme == SUCI_SCHEME_NULL)
            null_round_trip(s, &supi);
        else
            profile_round_trip(scheme, key_id, &supi);
    }
    free(s);
    return 0;
}
