/* KEK files: one per KEK id beside the configured kek_file (kek.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "keys/kek.h"

int kek_file_path(const char *kek_path, uint8_t id, char *out, size_t cap)
{
    int n =
        id == 1 ? snprintf(out, cap, "%s", kek_path) : snprintf(out, cap, "%s.%u", kek_path, id);
    return n > 0 && (size_t)n < cap && id != 0 && id <= KEK_ID_MAX ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

int kek_files_load(const char *kek_path, struct seal_ring *r, uint8_t *ids, size_t *nids)
{
    *nids = 0;
    for (int id = 1; id <= KEK_ID_MAX; id++) {
        char path[4096];
        struct seal_kek k;
        int rc = kek_file_path(kek_path, (uint8_t)id, path, sizeof(path));
        if (rc == IOTSEC_OK)
            rc = seal_kek_load(path, (uint8_t)id, &k);
        if (rc == IOTSEC_ERR_NOTFOUND)
            continue;
        if (rc == IOTSEC_OK)
            rc = seal_ring_add(r, &k);
        seal_kek_wipe(&k);
        if (rc != IOTSEC_OK)
            return rc;
        ids[(*nids)++] = (uint8_t)id;
    }
    return *nids > 0 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

int kek_file_create(const char *kek_path, uint8_t id, struct seal_ring *r)
{
    char path[4096];
    struct seal_kek k;
    int rc = kek_file_path(kek_path, id, path, sizeof(path));
    if (rc == IOTSEC_OK)
        rc = seal_kek_create(path);
    if (rc != IOTSEC_OK)
        return rc;
    if ((rc = seal_kek_load(path, id, &k)) == IOTSEC_OK)
        rc = seal_ring_add(r, &k);
    seal_kek_wipe(&k);
    if (rc != IOTSEC_OK)
        unlink(path);
    return rc;
}

int kek_file_destroy(const char *kek_path, uint8_t id)
{
    char path[4096];
    int rc = kek_file_path(kek_path, id, path, sizeof(path));
    if (rc != IOTSEC_OK)
        return rc;
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_IO;
    /* Overwrite before unlinking: a file system that keeps the blocks keeps zeros. (Copies the
     * operator made elsewhere, backups of the key, are the operator's to destroy.) */
    struct stat st;
    static const char zeros[256];
    bool ok = fstat(fd, &st) == 0;
    for (off_t done = 0; ok && done < st.st_size; done += (off_t)sizeof(zeros))
        ok = write(fd, zeros, sizeof(zeros)) == (ssize_t)sizeof(zeros);
    ok = ok && fsync(fd) == 0;
    close(fd);
    if (!ok || unlink(path) != 0)
        return IOTSEC_ERR_IO;
    return IOTSEC_OK;
}
