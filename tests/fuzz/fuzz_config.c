/* The daemon's YAML configuration (config_load over libcyaml, with its own range checks): an
 * operator's hand-edited file, or one a deployment tool templated. The input is written to an
 * in-memory file and loaded over the defaults. Invariants: a refusal says why; an accepted
 * configuration holds terminated strings and values inside the documented ranges. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/err.h"
#include "daemon/config.h"
#include "fuzz.h"

static int fd = -1;
static char path[64];

static bool terminated(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("iotsec-fuzz-config", 0);
        FUZZ_CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    struct config c;
    config_defaults(&c, "/var/lib/iotsec");
    char err[256] = "";
    int rc = config_load(path, &c, err, sizeof(err));
    if (rc != IOTSEC_OK) {
        FUZZ_CHECK(rc == IOTSEC_ERR_INVALID && err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(terminated(c.mcc, sizeof(c.mcc)) && terminated(c.mnc, sizeof(c.mnc)));
    FUZZ_CHECK(strspn(c.mcc, "0123456789") == strlen(c.mcc));
    FUZZ_CHECK(terminated(c.database, sizeof(c.database)) &&
               terminated(c.sbi_listen, sizeof(c.sbi_listen)) &&
               terminated(c.log_level, sizeof(c.log_level)) &&
               terminated(c.notify_ca, sizeof(c.notify_ca)));
    FUZZ_CHECK(strcmp(c.loc_granularity, "cell") == 0 || strcmp(c.loc_granularity, "ta") == 0);
    FUZZ_CHECK(c.workers <= 256 && c.sqn_block <= 1000000 && c.an_window_s <= 86400);
    FUZZ_CHECK(c.expiry_sweep_s >= 1 && c.expiry_sweep_s <= 86400);
    return 0;
}
