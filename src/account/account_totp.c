/* TOTP (RFC 6238): HOTP (RFC 4226) over the 30-second step counter. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "account/account.h"
#include "crypto/ct.h"

uint32_t account_totp_at(const uint8_t *secret, size_t len, enum account_totp_md md, int64_t t,
                         unsigned digits)
{
    const EVP_MD *m = md == ACCOUNT_TOTP_SHA512   ? EVP_sha512()
                      : md == ACCOUNT_TOTP_SHA256 ? EVP_sha256()
                                                  : EVP_sha1();
    uint64_t counter = t < 0 ? 0 : (uint64_t)t / 30;
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t)counter;
    if (HMAC(m, secret, (int)len, msg, sizeof(msg), mac, &mac_len) == NULL || mac_len < 20)
        return UINT32_MAX; /* never a valid code */
    unsigned off = mac[mac_len - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    secure_wipe(mac, sizeof(mac));
    uint32_t mod = 1;
    for (unsigned i = 0; i < digits && i < 9; i++)
        mod *= 10;
    return bin % mod;
}

bool account_totp_check(const uint8_t *secret, size_t len, int64_t now, const char *code)
{
    if (code == NULL || strlen(code) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    bool ok = false;
    for (int d = -1; d <= 1; d++) { /* one step of clock drift either way */
        char want[8];
        snprintf(want, sizeof(want), "%06u",
                 account_totp_at(secret, len, ACCOUNT_TOTP_SHA1, now + d * 30, 6));
        ok |= CRYPTO_memcmp(want, code, 6) == 0;
    }
    return ok;
}

void account_base32(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    uint32_t buf = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5 && o + 1 < cap) {
            out[o++] = alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0 && o + 1 < cap)
        out[o++] = alphabet[(buf << (5 - bits)) & 31];
    if (cap)
        out[o] = '\0';
}
