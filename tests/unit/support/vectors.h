/* Helpers for tests that read the 3GPP test vectors in tests/vectors/ (JSON). Failures are
 * cmocka failures: a vector file that cannot be read fails the test, it is never skipped. */
#ifndef IOTSEC_TEST_VECTORS_H
#define IOTSEC_TEST_VECTORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Loads tests/vectors/<name>; the caller json_decref()s it. */
json_t *vectors_load(const char *name);

/* The array at key (fails the test if missing or not a non-empty array). */
json_t *vectors_array(json_t *obj, const char *key);

/* The string at key (fails the test if missing). */
const char *vectors_str(json_t *obj, const char *key);

/* Decodes the hex string at key into exactly len bytes (fails the test otherwise). */
void vectors_hex(json_t *obj, const char *key, uint8_t *out, size_t len);

/* Asserts that len bytes equal the hex string at key, naming the key and the case on
 * failure. */
void vectors_expect_hex(json_t *obj, const char *key, const uint8_t *got, size_t len,
                        const char *case_name);

#endif
