#include "crypto/supi.h"

#include <stdbool.h>
#include <string.h>

#include "base/err.h"

#define IMSI_PREFIX     "imsi-"
#define NAI_PREFIX      "nai-"
#define IMSI_MIN_DIGITS 5
#define IMSI_MAX_DIGITS 15

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* An NAI character as we accept it: printable ASCII without the space. RFC 7542 also allows
 * UTF-8; we keep to ASCII so the value is safe in every string form that carries it. */
static bool nai_char(char c)
{
    return c > ' ' && c <= '~';
}

static int parse_imsi(const char *digits, struct supi *out)
{
    size_t n = strnlen(digits, IMSI_MAX_DIGITS + 1);
    if (n < IMSI_MIN_DIGITS || n > IMSI_MAX_DIGITS || !all_digits(digits, n))
        return IOTSEC_ERR_INVALID;
    out->type = SUPI_IMSI;
    memcpy(out->value, digits, n + 1);
    return IOTSEC_OK;
}

static int parse_nai(const char *nai, struct supi *out)
{
    size_t n = strnlen(nai, SUPI_VALUE_MAX + 1);
    if (n == 0 || n > SUPI_VALUE_MAX)
        return IOTSEC_ERR_INVALID;
    size_t at = n, ats = 0;
    for (size_t i = 0; i < n; i++) {
        if (!nai_char(nai[i]))
            return IOTSEC_ERR_INVALID;
        if (nai[i] == '@') {
            at = i;
            ats++;
        }
    }
    /* Exactly one '@', with something on both sides. */
    if (ats != 1 || at == 0 || at == n - 1)
        return IOTSEC_ERR_INVALID;
    out->type = SUPI_NAI;
    memcpy(out->value, nai, n + 1);
    return IOTSEC_OK;
}

int supi_parse(const char *s, struct supi *out)
{
    if (out == NULL)
        return IOTSEC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return IOTSEC_ERR_INVALID;
    int rc = IOTSEC_ERR_INVALID;
    if (strncmp(s, IMSI_PREFIX, strlen(IMSI_PREFIX)) == 0)
        rc = parse_imsi(s + strlen(IMSI_PREFIX), out);
    else if (strncmp(s, NAI_PREFIX, strlen(NAI_PREFIX)) == 0)
        rc = parse_nai(s + strlen(NAI_PREFIX), out);
    if (rc != IOTSEC_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int supi_format(const struct supi *supi, char *buf, size_t buf_len)
{
    if (supi == NULL || buf == NULL || buf_len == 0)
        return IOTSEC_ERR_INVALID;
    const char *prefix;
    if (supi->type == SUPI_IMSI)
        prefix = IMSI_PREFIX;
    else if (supi->type == SUPI_NAI)
        prefix = NAI_PREFIX;
    else
        return IOTSEC_ERR_INVALID;
    size_t value_len = strnlen(supi->value, sizeof(supi->value));
    if (value_len == sizeof(supi->value)) /* not NUL-terminated */
        return IOTSEC_ERR_INVALID;
    size_t prefix_len = strlen(prefix); /* no snprintf: a bulk import formats every row's */
    if (prefix_len + value_len >= buf_len) {
        buf[0] = '\0';
        return IOTSEC_ERR_INVALID;
    }
    memcpy(buf, prefix, prefix_len);
    memcpy(buf + prefix_len, supi->value, value_len + 1);
    return IOTSEC_OK;
}

/* MCCs whose operators mostly use 3-digit MNCs (ITU-T E.212 assignments: North America, the
 * Caribbean, parts of Latin America, and India's 405). A default only: operators configure
 * the MNC length when theirs differs. */
/* clang-format off */
static const char mnc3_mccs[][4] = {
    /* Canada, United States */
    "302", "310", "311", "312", "313", "314", "315", "316",
    /* Puerto Rico, Mexico, the Caribbean */
    "330", "334", "338", "342", "344", "346", "348", "350", "352", "354", "356", "358", "360",
    "365", "366", "376",
    /* India (405), Honduras, Argentina, Colombia, Falkland Islands */
    "405", "708", "722", "732", "750",
};
/* clang-format on */

int supi_default_mnc_length(const char *mcc)
{
    if (mcc == NULL || strnlen(mcc, 4) != 3 || !all_digits(mcc, 3))
        return IOTSEC_ERR_INVALID;
    for (size_t i = 0; i < sizeof(mnc3_mccs) / sizeof(mnc3_mccs[0]); i++) {
        if (memcmp(mcc, mnc3_mccs[i], 3) == 0)
            return 3;
    }
    return 2;
}
