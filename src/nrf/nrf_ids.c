/* Our NF instance ids: made once per instance directory and kept, because an NRF, and every
 * consumer that cached a discovery result, knows us by them (TS 29.510 §5.2.2.2: the
 * nfInstanceId identifies the instance across restarts). */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/err.h"
#include "crypto/rand.h"
#include "nrf/nrf.h"

bool nrf_uuid_valid(const char *s)
{
    if (s == NULL || strnlen(s, NRF_UUID_LEN + 1) != NRF_UUID_LEN)
        return false;
    for (int i = 0; i < NRF_UUID_LEN; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* RFC 9562 version 4. */
static int uuid_v4(char out[NRF_UUID_LEN + 1])
{
    uint8_t b[16];
    int rc = crypto_random(b, sizeof(b));
    if (rc != IOTSEC_OK)
        return rc;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, NRF_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return IOTSEC_OK;
}

static int load(const char *path, struct nrf_ids *out)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    const char *ausf = json_string_value(json_object_get(j, "ausf"));
    const char *udm = json_string_value(json_object_get(j, "udm"));
    int rc = IOTSEC_ERR_INVALID;
    if (nrf_uuid_valid(ausf) && nrf_uuid_valid(udm) && strcasecmp(ausf, udm) != 0) {
        memcpy(out->ausf, ausf, NRF_UUID_LEN + 1);
        memcpy(out->udm, udm, NRF_UUID_LEN + 1);
        rc = IOTSEC_OK;
    }
    json_decref(j);
    return rc;
}

int nrf_ids_load_or_create(const char *path, struct nrf_ids *out)
{
    if (access(path, F_OK) == 0)
        return load(path, out);
    int rc = uuid_v4(out->ausf);
    if (rc == IOTSEC_OK)
        rc = uuid_v4(out->udm);
    if (rc != IOTSEC_OK)
        return rc;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return IOTSEC_ERR_IO;
    fprintf(f, "{\"ausf\": \"%s\", \"udm\": \"%s\"}\n", out->ausf, out->udm);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    /* rename, so two starts racing on a fresh directory cannot leave half a file */
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return IOTSEC_ERR_IO;
    }
    return load(path, out);
}
