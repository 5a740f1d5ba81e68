/* The pseudonym key at rest: sealed under the instance KEK (crypto/seal.h) in a 0600 file,
 *   iotsec-analytics-key 1 <epoch> <created unix seconds> <hex envelope>
 * with the AAD "iotsec-analytics-pseudonym-key:<epoch>", so an envelope cannot be replayed
 * as another epoch's key. A rotation writes a new file and renames it over the old one. */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analytics/an_key.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/rand.h"
#include "crypto/seal.h"

static size_t aad_of(uint64_t epoch, char *buf, size_t len)
{
    int n = snprintf(buf, len, "iotsec-analytics-pseudonym-key:%llu", (unsigned long long)epoch);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

int an_key_write(const char *path, const struct seal_kek *kek, const struct an_key *k)
{
    uint8_t env[AN_KEY_LEN + SEAL_OVERHEAD];
    char aad[64], hex[2 * sizeof(env) + 1], tmp[600];
    size_t aad_len = aad_of(k->epoch, aad, sizeof(aad));
    int rc = seal(kek, aad, aad_len, k->key, AN_KEY_LEN, env);
    if (rc != IOTSEC_OK)
        return rc;
    hex_encode(env, sizeof(env), hex);
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
        return IOTSEC_ERR_INVALID;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return IOTSEC_ERR_IO;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return IOTSEC_ERR_IO;
    }
    fprintf(f, "iotsec-analytics-key 1 %llu %lld %s\n", (unsigned long long)k->epoch,
            (long long)k->created, hex);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return IOTSEC_ERR_IO;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return IOTSEC_ERR_IO;
    return IOTSEC_OK;
}

int an_key_load(const char *path, const struct seal_kek *kek, struct an_key *k)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return IOTSEC_ERR_NOTFOUND;
    if (st.st_mode & 077)
        return IOTSEC_ERR_STATE; /* like the KEK file: a readable key file is refused */
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return IOTSEC_ERR_IO;
    char line[512], hex[2 * (AN_KEY_LEN + SEAL_OVERHEAD) + 8]; /* %130s: one past the real length */
    unsigned long long epoch;
    long long created;
    int ok = fgets(line, sizeof(line), f) != NULL &&
             sscanf(line, "iotsec-analytics-key 1 %llu %lld %130s", &epoch, &created, hex) == 3;
    fclose(f);
    uint8_t env[AN_KEY_LEN + SEAL_OVERHEAD];
    if (!ok || strlen(hex) != 2 * sizeof(env) || hex_decode(hex, env, sizeof(env)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    char aad[64];
    k->epoch = epoch;
    k->created = created;
    int rc = unseal(kek, aad, aad_of(epoch, aad, sizeof(aad)), env, sizeof(env), k->key);
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}

int an_key_new(struct an_key *k, uint64_t epoch, int64_t now)
{
    k->epoch = epoch;
    k->created = now;
    return crypto_random(k->key, AN_KEY_LEN);
}

void an_key_wipe(struct an_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}
