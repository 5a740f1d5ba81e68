/* config_load on files an operator may leave behind: an empty file or one of comments only
 * (found by the fuzz harness: libcyaml loads them as no document, which was dereferenced) is
 * refused with a message; a small valid file loads over the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "daemon/config.h"

static int load(const char *text, struct config *c, char *err, size_t err_len)
{
    char path[] = "/tmp/iotsec-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    config_defaults(c, "/var/lib/iotsec");
    int rc = config_load(path, c, err, err_len);
    unlink(path);
    return rc;
}

static void empty_files_are_refused(void **state)
{
    (void)state;
    /* no document at all: refused by name (these crashed) */
    static const char *const empty[] = {"", "\n", "# nothing here\n"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        struct config c;
        char err[256] = "";
        assert_int_equal(load(empty[i], &c, err, sizeof(err)), IOTSEC_ERR_INVALID);
        assert_non_null(strstr(err, "the file holds no configuration"));
    }
    /* an empty document or a stray end marker: libcyaml refuses them itself */
    static const char *const bare[] = {"---\n", "...\n"};
    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        struct config c;
        char err[256] = "";
        assert_int_equal(load(bare[i], &c, err, sizeof(err)), IOTSEC_ERR_INVALID);
        assert_true(err[0] != '\0');
    }
}

static void a_small_file_loads(void **state)
{
    (void)state;
    struct config c;
    char err[256] = "";
    assert_int_equal(
        load("plmn:\n  mcc: \"999\"\n  mnc: \"70\"\nworkers: 2\n", &c, err, sizeof(err)),
        IOTSEC_OK);
    assert_string_equal(c.mcc, "999");
    assert_string_equal(c.mnc, "70");
    assert_int_equal(c.workers, 2);
    assert_int_equal(c.expiry_sweep_s, 60); /* a default kept */
}

/* The cluster's northbound token issuer: kept as given, refused unless https:// by name. */
static void the_northbound_issuer(void **state)
{
    (void)state;
    struct config c;
    char err[256] = "";
    assert_int_equal(
        load("oauth2:\n  northbound_issuer: https://nef.example\n", &c, err, sizeof(err)),
        IOTSEC_OK);
    assert_string_equal(c.nrf.northbound_issuer, "https://nef.example");
    assert_int_equal(
        load("oauth2:\n  northbound_issuer: http://nef.example\n", &c, err, sizeof(err)),
        IOTSEC_ERR_INVALID);
    assert_non_null(strstr(err, "oauth2.northbound_issuer"));
}

/* storage.cache_kib: 0 (absent) keeps the store's default; else 64..4194304 KiB. */
static void the_store_cache(void **state)
{
    (void)state;
    struct config c;
    char err[256] = "";
    assert_int_equal(load("workers: 1\n", &c, err, sizeof(err)), IOTSEC_OK);
    assert_int_equal(c.store_cache_kib, 0);
    assert_int_equal(load("storage:\n  cache_kib: 1024\n", &c, err, sizeof(err)), IOTSEC_OK);
    assert_int_equal(c.store_cache_kib, 1024);
    assert_int_equal(load("storage:\n  cache_kib: 63\n", &c, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_non_null(strstr(err, "storage.cache_kib"));
    assert_int_equal(load("storage:\n  cache_kib: 4194305\n", &c, err, sizeof(err)),
                     IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_files_are_refused),
        cmocka_unit_test(a_small_file_loads),
        cmocka_unit_test(the_northbound_issuer),
        cmocka_unit_test(the_store_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
