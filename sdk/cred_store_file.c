/* The default credential store: one sealed file per slot, replaced atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "cred_store.h"
#include "crypto/ct.h"
#include "crypto/seal.h"

#define AAD_LABEL "iotsec-cred-store-v1 "

struct file_store {
    struct cred_store base;
    char *dir;
    struct seal_kek kek;
};

/* Slot names become file names: only [a-z0-9_-], so no path can escape dir. */
static bool slot_valid(const char *slot)
{
    size_t n = slot ? strlen(slot) : 0;
    if (n == 0 || n > CRED_SLOT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = slot[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static size_t slot_aad(const char *slot, char *aad, size_t max)
{
    int n = snprintf(aad, max, AAD_LABEL "%s", slot);
    return n > 0 && (size_t)n < max ? (size_t)n : 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return IOTSEC_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return IOTSEC_OK;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return IOTSEC_ERR_IO;
    int rc = fsync(fd) == 0 ? IOTSEC_OK : IOTSEC_ERR_IO;
    close(fd);
    return rc;
}

static int file_put(struct cred_store *s, const char *slot, const uint8_t *data, size_t len)
{
    struct file_store *fs = (struct file_store *)s;
    char aad[64], path[4096], tmp[4096 + 16];
    if (!slot_valid(slot) || !data || len == 0 || len > CRED_VALUE_MAX)
        return IOTSEC_ERR_INVALID;
    size_t aad_len = slot_aad(slot, aad, sizeof(aad));
    snprintf(path, sizeof(path), "%s/%s.cred", fs->dir, slot);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    uint8_t *env = malloc(len + SEAL_OVERHEAD);
    if (!env)
        return IOTSEC_ERR_NOMEM;
    int rc = seal(&fs->kek, aad, aad_len, data, len, env);
    if (rc != IOTSEC_OK) {
        free(env);
        return rc;
    }
    /* O_EXCL after unlinking a stale temp file: we never write through a link planted there. */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        free(env);
        return IOTSEC_ERR_IO;
    }
    rc = write_all(fd, env, len + SEAL_OVERHEAD);
    free(env);
    if (rc == IOTSEC_OK && fsync(fd) != 0)
        rc = IOTSEC_ERR_IO;
    if (close(fd) != 0 && rc == IOTSEC_OK)
        rc = IOTSEC_ERR_IO;
    if (rc == IOTSEC_OK && rename(tmp, path) != 0)
        rc = IOTSEC_ERR_IO;
    if (rc != IOTSEC_OK) {
        unlink(tmp);
        return rc;
    }
    return fsync_dir(fs->dir); /* the rename itself must survive a power cut */
}

static int file_get(struct cred_store *s, const char *slot, uint8_t *out, size_t out_max,
                    size_t *len)
{
    struct file_store *fs = (struct file_store *)s;
    char aad[64], path[4096];
    *len = 0;
    if (!slot_valid(slot))
        return IOTSEC_ERR_INVALID;
    size_t aad_len = slot_aad(slot, aad, sizeof(aad));
    snprintf(path, sizeof(path), "%s/%s.cred", fs->dir, slot);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return IOTSEC_ERR_IO;
    }
    size_t env_len = (size_t)st.st_size;
    if (env_len <= SEAL_OVERHEAD || env_len > CRED_VALUE_MAX + SEAL_OVERHEAD) {
        close(fd);
        return IOTSEC_ERR_AUTH; /* truncated or padded: not what we wrote */
    }
    if (env_len - SEAL_OVERHEAD > out_max) {
        close(fd);
        return IOTSEC_ERR_INVALID;
    }
    uint8_t *env = malloc(env_len);
    if (!env) {
        close(fd);
        return IOTSEC_ERR_NOMEM;
    }
    size_t got = 0;
    while (got < env_len) {
        ssize_t r = read(fd, env + got, env_len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    int rc = got == env_len ? unseal(&fs->kek, aad, aad_len, env, env_len, out) : IOTSEC_ERR_IO;
    free(env);
    if (rc == IOTSEC_ERR_INVALID || rc == IOTSEC_ERR_NOTFOUND)
        rc = IOTSEC_ERR_AUTH; /* a file we did not write, whatever the reason */
    if (rc == IOTSEC_OK)
        *len = env_len - SEAL_OVERHEAD;
    return rc;
}

static int file_erase(struct cred_store *s, const char *slot)
{
    struct file_store *fs = (struct file_store *)s;
    char path[4096];
    if (!slot_valid(slot))
        return IOTSEC_ERR_INVALID;
    snprintf(path, sizeof(path), "%s/%s.cred", fs->dir, slot);
    if (unlink(path) != 0)
        return errno == ENOENT ? IOTSEC_OK : IOTSEC_ERR_IO;
    return fsync_dir(fs->dir);
}

static void file_close(struct cred_store *s)
{
    struct file_store *fs = (struct file_store *)s;
    seal_kek_wipe(&fs->kek);
    free(fs->dir);
    free(fs);
}

static const struct cred_store_ops file_ops = {
    .put = file_put, .get = file_get, .erase = file_erase, .close = file_close};

int cred_store_file_open(const char *dir, const uint8_t key[32], struct cred_store **out)
{
    *out = NULL;
    struct stat st;
    if (!dir || !key || strlen(dir) > 3000)
        return IOTSEC_ERR_INVALID;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return IOTSEC_ERR_NOTFOUND;
    struct file_store *fs = calloc(1, sizeof(*fs));
    if (!fs || !(fs->dir = strdup(dir))) {
        free(fs);
        return IOTSEC_ERR_NOMEM;
    }
    fs->base.ops = &file_ops;
    fs->kek.id = 1;
    memcpy(fs->kek.key, key, SEAL_KEK_LEN);
    *out = &fs->base;
    return IOTSEC_OK;
}
