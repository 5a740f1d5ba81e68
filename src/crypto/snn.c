#include "crypto/snn.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

static int all_digits(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int valid_nid(const char *nid)
{
    if (strlen(nid) != SNN_NID_LEN)
        return 0;
    for (size_t i = 0; i < SNN_NID_LEN; i++) {
        if (!isxdigit((unsigned char)nid[i]))
            return 0;
    }
    return 1;
}

int snn_build(const char *mcc, const char *mnc, const char *nid, char out[SNN_MAX])
{
    if (mcc == NULL || mnc == NULL || !all_digits(mcc, 3) ||
        !(all_digits(mnc, 2) || all_digits(mnc, 3)))
        return IOTSEC_ERR_INVALID;
    int has_nid = nid != NULL && nid[0] != '\0';
    if (has_nid && !valid_nid(nid))
        return IOTSEC_ERR_INVALID;
    snprintf(out, SNN_MAX, "5G:mnc%s%s.mcc%s.3gppnetwork.org%s%s", strlen(mnc) == 2 ? "0" : "",
             mnc, mcc, has_nid ? ":" : "", has_nid ? nid : "");
    return IOTSEC_OK;
}

int snn_parse(const char *name, struct snn *out)
{
    static const char prefix[] = "5G:mnc", mid[] = ".mcc", suffix[] = ".3gppnetwork.org";
    memset(out, 0, sizeof(*out));
    /* The fixed part is 32 characters; checking it first keeps every read in bounds. */
    size_t fixed = 6 + 3 + 4 + 3 + sizeof(suffix) - 1;
    if (name == NULL || strlen(name) < fixed || strlen(name) >= SNN_MAX ||
        strncmp(name, prefix, 6) != 0)
        return IOTSEC_ERR_INVALID;
    const char *p = name + 6;
    memcpy(out->mnc, p, 3);
    if (!all_digits(out->mnc, 3) || strncmp(p + 3, mid, 4) != 0)
        return IOTSEC_ERR_INVALID;
    p += 3 + 4;
    memcpy(out->mcc, p, 3);
    if (!all_digits(out->mcc, 3) || strncmp(p + 3, suffix, sizeof(suffix) - 1) != 0)
        return IOTSEC_ERR_INVALID;
    p += 3 + sizeof(suffix) - 1;
    if (*p == '\0')
        return IOTSEC_OK;
    if (*p != ':' || !valid_nid(p + 1))
        return IOTSEC_ERR_INVALID;
    memcpy(out->nid, p + 1, SNN_NID_LEN);
    return IOTSEC_OK;
}
