#include "vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/hex.h"

json_t *vectors_load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", IOTSEC_VECTORS_DIR, name);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (root == NULL)
        fail_msg("cannot load %s: %s (line %d)", path, err.text, err.line);
    return root;
}

json_t *vectors_array(json_t *obj, const char *key)
{
    json_t *a = json_object_get(obj, key);
    if (!json_is_array(a) || json_array_size(a) == 0)
        fail_msg("vector key '%s' is not a non-empty array", key);
    return a;
}

const char *vectors_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL)
        fail_msg("vector key '%s' is missing or not a string", key);
    return s;
}

void vectors_hex(json_t *obj, const char *key, uint8_t *out, size_t len)
{
    if (hex_decode(vectors_str(obj, key), out, len) != 0)
        fail_msg("vector key '%s' is not %zu bytes of hex", key, len);
}

void vectors_expect_hex(json_t *obj, const char *key, const uint8_t *got, size_t len,
                        const char *case_name)
{
    char got_hex[2 * 256 + 1];
    assert_true(len <= 256);
    hex_encode(got, len, got_hex);
    const char *want = vectors_str(obj, key);
    if (strcmp(got_hex, want) != 0)
        fail_msg("%s: %s = %s, expected %s", case_name, key, got_hex, want);
}
