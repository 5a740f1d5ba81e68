/* The sealed-file credential store: round trip, atomic replacement (mode 0600, no temp file
 * left, a stale temp file from a crash ignored), tampered/truncated/swapped files and a wrong
 * device key refused, slot names that could escape the directory refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "cred_store.h"

struct fx {
    char dir[64];
    uint8_t key[32];
    struct cred_store *s;
};

static int setup(void **state)
{
    static struct fx f;
    strcpy(f.dir, "/tmp/iotsec-credXXXXXX");
    if (!mkdtemp(f.dir))
        return -1;
    memset(f.key, 0x5a, sizeof(f.key));
    if (cred_store_file_open(f.dir, f.key, &f.s) != IOTSEC_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cred_close(f->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(const struct fx *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    uint8_t v1[100], v2[3000], out[4096];
    size_t n;
    memset(v1, 0x11, sizeof(v1));
    memset(v2, 0x22, sizeof(v2));
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v1, sizeof(v1)), IOTSEC_OK);
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_OK);
    assert_int_equal(n, sizeof(v1));
    assert_memory_equal(out, v1, n);
    /* replacement: the new value, whole */
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v2, sizeof(v2)), IOTSEC_OK);
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_OK);
    assert_int_equal(n, sizeof(v2));
    assert_memory_equal(out, v2, n);
    /* too small a buffer is the caller's error, not tampering */
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, 10, &n), IOTSEC_ERR_INVALID);
    /* the plaintext is not in the file */
    char p[128];
    path_of(f, "current.cred", p, sizeof(p));
    FILE *fp = fopen(p, "rb");
    uint8_t raw[4096];
    size_t rn = fread(raw, 1, sizeof(raw), fp);
    fclose(fp);
    uint8_t run[32];
    memset(run, 0x22, sizeof(run));
    assert_null(memmem(raw, rn, run, sizeof(run)));
    assert_int_equal(cred_erase(f->s, CRED_SLOT_CURRENT), IOTSEC_OK);
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(cred_erase(f->s, CRED_SLOT_CURRENT), IOTSEC_OK);
}

static void test_atomic_write(void **state)
{
    struct fx *f = *state;
    uint8_t v[64], out[128];
    size_t n;
    memset(v, 0x33, sizeof(v));
    char p[128], tmp[160];
    path_of(f, "current.cred", p, sizeof(p));
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    /* A crash mid-write leaves a temp file: it is never read, and the next put replaces it. */
    FILE *fp = fopen(tmp, "wb");
    fputs("half-written garbage", fp);
    fclose(fp);
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v, sizeof(v)), IOTSEC_OK);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a symlink planted at the temp path is not written through */
    char victim[160];
    path_of(f, "victim", victim, sizeof(victim));
    fp = fopen(victim, "wb");
    fputs("keep", fp);
    fclose(fp);
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v, sizeof(v)), IOTSEC_OK);
    fp = fopen(victim, "rb");
    char buf[16] = {0};
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, "keep");
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_OK);
    assert_memory_equal(out, v, sizeof(v));
}

static void flip_byte(const char *path, long at)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, at, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, at, SEEK_SET);
    fputc(c ^ 0x01, fp);
    fclose(fp);
}

static void test_tampered_refused(void **state)
{
    struct fx *f = *state;
    uint8_t v[80], out[128];
    size_t n;
    memset(v, 0x44, sizeof(v));
    char p[128];
    path_of(f, "current.cred", p, sizeof(p));
    long size = (long)(sizeof(v) + 30);
    for (long at = 0; at < size; at += 7) { /* header, nonce, ciphertext, tag */
        assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v, sizeof(v)), IOTSEC_OK);
        flip_byte(p, at);
        memset(out, 0xee, sizeof(out));
        assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_AUTH);
        assert_int_equal(n, 0);
    }
    /* truncated */
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v, sizeof(v)), IOTSEC_OK);
    assert_int_equal(truncate(p, size - 1), 0);
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_AUTH);
    assert_int_equal(truncate(p, 5), 0);
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_AUTH);
}

static void test_swapped_slot_refused(void **state)
{
    struct fx *f = *state;
    uint8_t old[40], neu[40], out[64];
    size_t n;
    memset(old, 0x01, sizeof(old));
    memset(neu, 0x02, sizeof(neu));
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, old, sizeof(old)), IOTSEC_OK);
    assert_int_equal(cred_put(f->s, CRED_SLOT_NEXT, neu, sizeof(neu)), IOTSEC_OK);
    char cur[128], next[128];
    path_of(f, "current.cred", cur, sizeof(cur));
    path_of(f, "next.cred", next, sizeof(next));
    assert_int_equal(rename(next, cur), 0); /* an attacker moves one slot's file over another */
    assert_int_equal(cred_get(f->s, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_AUTH);
}

static void test_wrong_device_key(void **state)
{
    struct fx *f = *state;
    uint8_t v[40], out[64], other[32];
    size_t n;
    memset(v, 0x07, sizeof(v));
    memset(other, 0x5b, sizeof(other));
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v, sizeof(v)), IOTSEC_OK);
    struct cred_store *s2;
    assert_int_equal(cred_store_file_open(f->dir, other, &s2), IOTSEC_OK);
    assert_int_equal(cred_get(s2, CRED_SLOT_CURRENT, out, sizeof(out), &n), IOTSEC_ERR_AUTH);
    cred_close(s2);
}

static void test_bad_slots(void **state)
{
    struct fx *f = *state;
    uint8_t v[4] = {1, 2, 3, 4}, out[8];
    size_t n;
    const char *bad[] = {"",      "../escape", "a/b",
                         "UPPER", "dot.dot",   "a-very-long-slot-name-beyond-32-characters"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cred_put(f->s, bad[i], v, sizeof(v)), IOTSEC_ERR_INVALID);
        assert_int_equal(cred_get(f->s, bad[i], out, sizeof(out), &n), IOTSEC_ERR_INVALID);
        assert_int_equal(cred_erase(f->s, bad[i]), IOTSEC_ERR_INVALID);
    }
    assert_int_equal(cred_put(f->s, CRED_SLOT_CURRENT, v, 0), IOTSEC_ERR_INVALID);
    struct cred_store *s2;
    assert_int_equal(cred_store_file_open("/nonexistent/dir", f->key, &s2), IOTSEC_ERR_NOTFOUND);
    assert_null(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_tampered_refused), cmocka_unit_test(test_swapped_slot_refused),
        cmocka_unit_test(test_wrong_device_key), cmocka_unit_test(test_bad_slots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
