/* SUCI string forms, the scheme input of each SUPI type, the home-network keyring, and the
 * concealment and de-concealment that tie them to the ECIES profiles (suci_ecies.c). */
#include "crypto/suci.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "crypto/suci_ecies.h"

#define SUCI_PREFIX           "suci-"
#define MCC_DIGITS            3
#define RI_MAX_DIGITS         4
#define MSIN_MAX_DIGITS       10
#define TBCD_MAX              ((MSIN_MAX_DIGITS + 1) / 2)
#define KEY_ID_MAX            255
#define PROFILES              2
#define SCHEME_OUTPUT_HEX_MAX (2 * ECIES_OUTPUT_MAX + 1)

/* The fields of a SUCI string that de-concealment uses (the routing indicator is only
 * checked). Pointers go into the string parsed. */
struct suci_fields {
    char type;                /* '0'..'7' as written */
    char mcc[MCC_DIGITS + 1]; /* IMSI */
    char mnc[4];              /* IMSI: 2 or 3 digits */
    const char *realm;        /* NAI (and the other types): not NUL-terminated */
    size_t realm_len;
    unsigned scheme;    /* 0..15 */
    unsigned key_id;    /* 0..255 */
    const char *output; /* up to the end of the string */
    size_t output_len;
};

/* ---- Small validators ------------------------------------------------------------------- */

static bool digits_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static bool hex_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)(s[i] | 0x20);
        if (!((s[i] >= '0' && s[i] <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* An NAI username or realm: printable ASCII, no space, no '@' (supi_parse's rules). */
static bool nai_part_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '@')
            return false;
    }
    return true;
}

static int copy_field(char *dst, size_t dst_size, const char *src, size_t n)
{
    if (n >= dst_size)
        return IOTSEC_ERR_INVALID;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return IOTSEC_OK;
}

int suci_scheme_parse(const char *name, enum suci_scheme *out)
{
    if (name == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    if (strcasecmp(name, "null") == 0)
        *out = SUCI_SCHEME_NULL;
    else if (strcasecmp(name, "a") == 0)
        *out = SUCI_SCHEME_PROFILE_A;
    else if (strcasecmp(name, "b") == 0)
        *out = SUCI_SCHEME_PROFILE_B;
    else
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

/* ---- Keys ------------------------------------------------------------------------------- */

static bool is_profile(enum suci_scheme scheme)
{
    return scheme == SUCI_SCHEME_PROFILE_A || scheme == SUCI_SCHEME_PROFILE_B;
}

/* A random private key valid for the profile (Profile B rejects 0 and scalars >= n, which a
 * random draw hits with probability 2^-32: a few tries are plenty). */
static int random_private_key(enum suci_scheme scheme, uint8_t priv[SUCI_PRIVATE_KEY_LEN])
{
    for (int attempt = 0; attempt < 8; attempt++) {
        int rc = crypto_random(priv, SUCI_PRIVATE_KEY_LEN);
        if (rc != IOTSEC_OK)
            return rc;
        if (ecies_check_private_key(scheme, priv) == IOTSEC_OK)
            return IOTSEC_OK;
    }
    secure_wipe(priv, SUCI_PRIVATE_KEY_LEN);
    return IOTSEC_ERR_CRYPTO;
}

int suci_generate_key_pair(enum suci_scheme scheme, uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                           uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len)
{
    if (priv == NULL || pub == NULL || pub_len == NULL || !is_profile(scheme))
        return IOTSEC_ERR_INVALID;
    int rc = random_private_key(scheme, priv);
    if (rc == IOTSEC_OK)
        rc = ecies_public_key(scheme, priv, 0, pub, pub_len);
    if (rc != IOTSEC_OK)
        secure_wipe(priv, SUCI_PRIVATE_KEY_LEN);
    return rc;
}

int suci_public_key(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                    uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len)
{
    if (priv == NULL || pub == NULL || pub_len == NULL || !is_profile(scheme))
        return IOTSEC_ERR_INVALID;
    return ecies_public_key(scheme, priv, 0, pub, pub_len);
}

struct suci_keyring {
    /* Indexed by profile (A = 0, B = 1) and key id; key id 0 belongs to the null scheme and
     * stays empty. A full table makes lookups one load and the capacity every valid pair. */
    struct ecies_hn_key *keys[PROFILES][KEY_ID_MAX + 1];
};

struct suci_keyring *suci_keyring_new(void)
{
    return calloc(1, sizeof(struct suci_keyring));
}

void suci_keyring_free(struct suci_keyring *kr)
{
    if (kr == NULL)
        return;
    for (int p = 0; p < PROFILES; p++) {
        for (int id = 0; id <= KEY_ID_MAX; id++)
            ecies_hn_key_free(kr->keys[p][id]);
    }
    free(kr);
}

int suci_keyring_add(struct suci_keyring *kr, enum suci_scheme scheme, uint8_t key_id,
                     const uint8_t priv[SUCI_PRIVATE_KEY_LEN])
{
    if (kr == NULL || priv == NULL || !is_profile(scheme) || key_id == 0)
        return IOTSEC_ERR_INVALID;
    struct ecies_hn_key **slot = &kr->keys[scheme - 1][key_id];
    if (*slot != NULL)
        return IOTSEC_ERR_INVALID;
    return ecies_hn_key_new(scheme, priv, slot);
}

/* ---- Scheme input (TS 33.501 C.3.2, TS 24.501 §9.11.3.4) -------------------------------- */

/* TBCD: two digits per byte, the first in the low nibble; an odd count ends with 0xF. */
static size_t tbcd_encode(const char *digits, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i += 2) {
        uint8_t hi = i + 1 < n ? (uint8_t)(digits[i + 1] - '0') : 0xF;
        out[i / 2] = (uint8_t)((hi << 4) | (digits[i] - '0'));
    }
    return (n + 1) / 2;
}

/* The reverse; digits gets len*2 or len*2-1 characters and a NUL. */
static int tbcd_decode(const uint8_t *in, size_t len, char *digits, size_t digits_size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned lo = in[i] & 0xF, hi = in[i] >> 4;
        if (lo > 9 || n + 2 >= digits_size)
            return IOTSEC_ERR_INVALID;
        digits[n++] = (char)('0' + lo);
        if (hi == 0xF && i == len - 1)
            break;
        if (hi > 9)
            return IOTSEC_ERR_INVALID;
        digits[n++] = (char)('0' + hi);
    }
    digits[n] = '\0';
    return n > 0 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

/* ---- Concealment ------------------------------------------------------------------------ */

/* A SUPI split for concealment: the part shown in clear and the part protected. */
struct supi_split {
    char mcc[MCC_DIGITS + 1], mnc[4]; /* IMSI */
    const char *realm;                /* NAI: NUL-terminated, inside the supi */
    const char *secret;               /* MSIN digits, or the NAI username */
    size_t secret_len;
};

static int split_supi(const struct supi *supi, int mnc_length, struct supi_split *sp)
{
    memset(sp, 0, sizeof(*sp));
    if (supi->type == SUPI_NAI) {
        const char *at = strchr(supi->value, '@');
        sp->secret = supi->value;
        sp->secret_len = (size_t)(at - supi->value);
        sp->realm = at + 1;
        return IOTSEC_OK;
    }
    memcpy(sp->mcc, supi->value, MCC_DIGITS);
    if (mnc_length == 0)
        mnc_length = supi_default_mnc_length(sp->mcc);
    if (mnc_length != 2 && mnc_length != 3)
        return IOTSEC_ERR_INVALID;
    size_t len = strlen(supi->value), plmn_len = MCC_DIGITS + (size_t)mnc_length;
    if (len <= plmn_len) /* an IMSI with no MSIN cannot be concealed */
        return IOTSEC_ERR_INVALID;
    memcpy(sp->mnc, supi->value + MCC_DIGITS, (size_t)mnc_length);
    sp->secret = supi->value + plmn_len;
    sp->secret_len = len - plmn_len;
    return IOTSEC_OK;
}

/* A copy of the caller's SUPI that is known to be valid (it passes supi_parse again). */
static int checked_supi(const struct supi *in, struct supi *out)
{
    char s[SUPI_STRING_MAX];
    int rc = supi_format(in, s, sizeof(s));
    if (rc == IOTSEC_OK)
        rc = supi_parse(s, out);
    secure_wipe(s, sizeof(s));
    return rc;
}

static int check_conceal_params(const struct suci_conceal_params *p, const uint8_t *eph)
{
    const char *ri = p->routing_indicator;
    if (ri != NULL) {
        size_t n = strnlen(ri, RI_MAX_DIGITS + 1);
        if (n == 0 || n > RI_MAX_DIGITS || !digits_only(ri, n))
            return IOTSEC_ERR_INVALID;
    }
    if (p->scheme == SUCI_SCHEME_NULL)
        return p->key_id == 0 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    if (!is_profile(p->scheme) || p->key_id == 0 || p->hn_public_key == NULL || eph == NULL)
        return IOTSEC_ERR_INVALID;
    size_t n = p->hn_public_key_len;
    if (p->scheme == SUCI_SCHEME_PROFILE_A && n != SUCI_PUBLIC_KEY_A_LEN)
        return IOTSEC_ERR_INVALID;
    if (p->scheme == SUCI_SCHEME_PROFILE_B && n != SUCI_PUBLIC_KEY_B_LEN &&
        n != SUCI_PUBLIC_KEY_MAX)
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

/* The scheme output in hex: for the null scheme the MSIN digits or the username in hex, for
 * the profiles the ECIES output over the TBCD MSIN or the username. */
static int scheme_output(const struct supi *supi, const struct supi_split *sp,
                         const struct suci_conceal_params *p, const uint8_t *eph,
                         int eph_uncompressed, char hex[SCHEME_OUTPUT_HEX_MAX])
{
    if (p->scheme == SUCI_SCHEME_NULL) {
        if (supi->type == SUPI_IMSI)
            memcpy(hex, sp->secret, sp->secret_len + 1);
        else
            hex_encode((const uint8_t *)sp->secret, sp->secret_len, hex);
        return IOTSEC_OK;
    }
    uint8_t tbcd[TBCD_MAX], out[ECIES_OUTPUT_MAX];
    const uint8_t *pt = (const uint8_t *)sp->secret;
    size_t pt_len = sp->secret_len, out_len;
    if (supi->type == SUPI_IMSI) {
        pt_len = tbcd_encode(sp->secret, sp->secret_len, tbcd);
        pt = tbcd;
    }
    int rc = ecies_encrypt(p->scheme, p->hn_public_key, p->hn_public_key_len, eph, eph_uncompressed,
                           pt, pt_len, out, sizeof(out), &out_len);
    if (rc == IOTSEC_OK)
        hex_encode(out, out_len, hex);
    secure_wipe(tbcd, sizeof(tbcd));
    return rc;
}

int suci_conceal_with_ephemeral(const struct supi *supi, const struct suci_conceal_params *params,
                                const uint8_t eph_private_key[SUCI_PRIVATE_KEY_LEN],
                                int eph_uncompressed, char *out, size_t out_len)
{
    if (out != NULL && out_len > 0)
        out[0] = '\0';
    if (supi == NULL || params == NULL || out == NULL || out_len == 0)
        return IOTSEC_ERR_INVALID;
    int rc = check_conceal_params(params, eph_private_key);
    struct supi s;
    struct supi_split sp;
    if (rc == IOTSEC_OK)
        rc = checked_supi(supi, &s);
    if (rc == IOTSEC_OK)
        rc = split_supi(&s, params->mnc_length, &sp);
    char hex[SCHEME_OUTPUT_HEX_MAX];
    if (rc == IOTSEC_OK)
        rc = scheme_output(&s, &sp, params, eph_private_key, eph_uncompressed, hex);
    if (rc == IOTSEC_OK) {
        const char *ri = params->routing_indicator ? params->routing_indicator : "0";
        int n;
        if (s.type == SUPI_IMSI)
            n = snprintf(out, out_len, SUCI_PREFIX "0-%s-%s-%s-%d-%u-%s", sp.mcc, sp.mnc, ri,
                         (int)params->scheme, (unsigned)params->key_id, hex);
        else
            n = snprintf(out, out_len, SUCI_PREFIX "1-%s-%s-%d-%u-%s", sp.realm, ri,
                         (int)params->scheme, (unsigned)params->key_id, hex);
        if (n < 0 || (size_t)n >= out_len) {
            secure_wipe(out, out_len);
            out[0] = '\0';
            rc = IOTSEC_ERR_INVALID;
        }
    }
    secure_wipe(&s, sizeof(s));
    secure_wipe(hex, sizeof(hex));
    return rc;
}

int suci_conceal(const struct supi *supi, const struct suci_conceal_params *params, char *out,
                 size_t out_len)
{
    if (params == NULL || !is_profile(params->scheme))
        return suci_conceal_with_ephemeral(supi, params, NULL, 0, out, out_len);
    uint8_t eph[SUCI_PRIVATE_KEY_LEN];
    int rc = random_private_key(params->scheme, eph);
    if (rc == IOTSEC_OK)
        rc = suci_conceal_with_ephemeral(supi, params, eph, 0, out, out_len);
    secure_wipe(eph, sizeof(eph));
    return rc;
}

/* ---- Parsing ---------------------------------------------------------------------------- */

/* Takes the last '-'-separated field of [start, *end): sets *field and *len to it and moves
 * *end to its '-'. False when there is no '-' left. */
static bool take_last_field(const char *start, const char **end, const char **field, size_t *len)
{
    const char *p = *end;
    while (p > start && p[-1] != '-')
        p--;
    if (p == start)
        return false;
    *field = p;
    *len = (size_t)(*end - p);
    *end = p - 1;
    return true;
}

/* Key id: 0..255 in decimal without leading zeros (the SupiOrSuci pattern). */
static int parse_key_id(const char *s, size_t n, unsigned *out)
{
    if (n == 0 || n > 3 || !digits_only(s, n) || (n > 1 && s[0] == '0'))
        return IOTSEC_ERR_INVALID;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (v > KEY_ID_MAX)
        return IOTSEC_ERR_INVALID;
    *out = v;
    return IOTSEC_OK;
}

static int parse_scheme_id(const char *s, size_t n, unsigned *out)
{
    if (n != 1 || !hex_only(s, 1))
        return IOTSEC_ERR_INVALID;
    char c = (char)(s[0] | 0x20);
    *out = (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
    return IOTSEC_OK;
}

/* "<mcc>-<mnc>" exactly: 3 digits, then 2 or 3. */
static int parse_plmn(const char *s, size_t n, struct suci_fields *f)
{
    if (n < MCC_DIGITS + 3 || s[MCC_DIGITS] != '-')
        return IOTSEC_ERR_INVALID;
    size_t mnc_len = n - MCC_DIGITS - 1;
    if (mnc_len > 3 || !digits_only(s, MCC_DIGITS) || !digits_only(s + MCC_DIGITS + 1, mnc_len))
        return IOTSEC_ERR_INVALID;
    copy_field(f->mcc, sizeof(f->mcc), s, MCC_DIGITS);
    return copy_field(f->mnc, sizeof(f->mnc), s + MCC_DIGITS + 1, mnc_len);
}

/* Splits a SUCI string into its fields and checks their syntax (TS 29.571 SupiOrSuci). The
 * fixed fields are taken from the right, so a realm may contain '-'. */
static int parse_suci(const char *s, struct suci_fields *f)
{
    memset(f, 0, sizeof(*f));
    size_t len = strnlen(s, SUCI_STRING_MAX);
    const size_t head = strlen(SUCI_PREFIX) + 2; /* "suci-" type '-' */
    if (len == SUCI_STRING_MAX || len < head || strncmp(s, SUCI_PREFIX, head - 2) != 0 ||
        s[head - 2] < '0' || s[head - 2] > '7' || s[head - 1] != '-')
        return IOTSEC_ERR_INVALID;
    f->type = s[head - 2];
    const char *start = s + head, *end = s + len, *key_id, *scheme, *ri;
    size_t key_id_len, scheme_len, ri_len;
    if (!take_last_field(start, &end, &f->output, &f->output_len) ||
        !take_last_field(start, &end, &key_id, &key_id_len) ||
        !take_last_field(start, &end, &scheme, &scheme_len) ||
        !take_last_field(start, &end, &ri, &ri_len))
        return IOTSEC_ERR_INVALID;
    /* What is left, [start, end), is "<mcc>-<mnc>" or the realm. */
    if (ri_len == 0 || ri_len > RI_MAX_DIGITS || !digits_only(ri, ri_len) ||
        parse_scheme_id(scheme, scheme_len, &f->scheme) != IOTSEC_OK ||
        parse_key_id(key_id, key_id_len, &f->key_id) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    if ((f->scheme == SUCI_SCHEME_NULL) != (f->key_id == 0))
        return IOTSEC_ERR_INVALID;
    if (f->scheme != SUCI_SCHEME_NULL &&
        (f->output_len == 0 || f->output_len % 2 != 0 || !hex_only(f->output, f->output_len)))
        return IOTSEC_ERR_INVALID;
    if (f->type == '0')
        return parse_plmn(start, (size_t)(end - start), f);
    f->realm = start;
    f->realm_len = (size_t)(end - start);
    return f->realm_len > 0 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

/* ---- De-concealment --------------------------------------------------------------------- */

/* Builds the SUPI from the clear fields and the recovered secret (MSIN digits or username),
 * through supi_parse so that the result obeys the same rules as any SUPI. */
static int build_supi(const struct suci_fields *f, const char *secret, size_t secret_len,
                      struct supi *out)
{
    char s[SUPI_STRING_MAX + 1];
    int n;
    if (f->type == '0') {
        if (secret_len == 0 || secret_len > MSIN_MAX_DIGITS || !digits_only(secret, secret_len))
            return IOTSEC_ERR_INVALID;
        n = snprintf(s, sizeof(s), "imsi-%s%s%.*s", f->mcc, f->mnc, (int)secret_len, secret);
    } else {
        if (!nai_part_ok(secret, secret_len) || !nai_part_ok(f->realm, f->realm_len))
            return IOTSEC_ERR_INVALID;
        n = snprintf(s, sizeof(s), "nai-%.*s@%.*s", (int)secret_len, secret, (int)f->realm_len,
                     f->realm);
    }
    int rc = IOTSEC_ERR_INVALID;
    if (n > 0 && (size_t)n < sizeof(s))
        rc = supi_parse(s, out);
    secure_wipe(s, sizeof(s));
    return rc;
}

static int deconceal_null(const struct suci_fields *f, struct supi *out)
{
    if (f->type == '0')
        return build_supi(f, f->output, f->output_len, out);
    /* NAI: the username in hex. */
    uint8_t user[ECIES_PLAINTEXT_MAX + 1];
    size_t user_len;
    if (f->output_len > 2 * ECIES_PLAINTEXT_MAX || !hex_only(f->output, f->output_len))
        return IOTSEC_ERR_INVALID;
    char hex[2 * ECIES_PLAINTEXT_MAX + 1];
    memcpy(hex, f->output, f->output_len);
    hex[f->output_len] = '\0';
    int rc = hex_decode_var(hex, user, ECIES_PLAINTEXT_MAX, &user_len);
    if (rc == IOTSEC_OK)
        rc = build_supi(f, (const char *)user, user_len, out);
    secure_wipe(user, sizeof(user));
    return rc;
}

static int deconceal_profile(const struct suci_keyring *kr, const struct suci_fields *f,
                             struct supi *out)
{
    /* Syntax first, so that a malformed SUCI is INVALID whatever keys we hold. */
    if (f->output_len > 2 * ECIES_OUTPUT_MAX)
        return IOTSEC_ERR_INVALID;
    char hex[2 * ECIES_OUTPUT_MAX + 1];
    uint8_t in[ECIES_OUTPUT_MAX], pt[ECIES_PLAINTEXT_MAX];
    size_t in_len, pt_len;
    memcpy(hex, f->output, f->output_len);
    hex[f->output_len] = '\0';
    int rc = hex_decode_var(hex, in, sizeof(in), &in_len);
    if (rc == IOTSEC_OK)
        rc = ecies_check_output(f->scheme, in, in_len);
    if (rc != IOTSEC_OK)
        return rc;
    const struct ecies_hn_key *key = kr ? kr->keys[f->scheme - 1][f->key_id] : NULL;
    if (key == NULL)
        return IOTSEC_ERR_NOTFOUND;
    rc = ecies_decrypt(key, in, in_len, pt, sizeof(pt), &pt_len);
    if (rc == IOTSEC_OK && f->type == '0') {
        char msin[2 * TBCD_MAX + 1];
        rc = tbcd_decode(pt, pt_len, msin, sizeof(msin));
        if (rc == IOTSEC_OK)
            rc = build_supi(f, msin, strlen(msin), out);
        secure_wipe(msin, sizeof(msin));
    } else if (rc == IOTSEC_OK) {
        rc = build_supi(f, (const char *)pt, pt_len, out);
    }
    secure_wipe(pt, sizeof(pt));
    return rc;
}

int suci_peek(const char *suci, enum suci_scheme *scheme, uint8_t *key_id)
{
    struct suci_fields f;
    int rc = parse_suci(suci, &f);
    if (rc == IOTSEC_OK) {
        *scheme = (enum suci_scheme)f.scheme;
        *key_id = (uint8_t)f.key_id;
    }
    return rc;
}

int suci_deconceal(const struct suci_keyring *kr, const char *suci, struct supi *out)
{
    if (out == NULL)
        return IOTSEC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (suci == NULL)
        return IOTSEC_ERR_INVALID;
    struct suci_fields f;
    int rc = parse_suci(suci, &f);
    if (rc != IOTSEC_OK)
        return rc;
    if (f.type != '0' && f.type != '1')
        return IOTSEC_ERR_UNSUPPORTED; /* GCI, GLI and the other SUPI types */
    if (f.scheme == SUCI_SCHEME_NULL)
        rc = deconceal_null(&f, out);
    else if (f.scheme == SUCI_SCHEME_PROFILE_A || f.scheme == SUCI_SCHEME_PROFILE_B)
        rc = deconceal_profile(kr, &f, out);
    else
        rc = IOTSEC_ERR_UNSUPPORTED;
    if (rc != IOTSEC_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
