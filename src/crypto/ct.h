/* Constant-time comparison and secure wiping: the two primitives every MAC check and every
 * secret buffer go through. */
#ifndef IOTSEC_CRYPTO_CT_H
#define IOTSEC_CRYPTO_CT_H

#include <stdbool.h>
#include <stddef.h>

/* True when the n bytes at a and b are equal; the time taken depends on n only. */
bool ct_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes with zeros in a way the compiler may not elide. */
void secure_wipe(void *p, size_t n);

#endif
