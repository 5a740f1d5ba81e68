/* Random bytes for RANDs, nonces and ephemeral keys. Each thread draws from OpenSSL's DRBG
 * in batches and serves small requests from its buffer, so a RAND costs a copy, not a DRBG
 * call. Bytes are wiped from the buffer as they are handed out, and a forked child never
 * reuses its parent's buffered bytes. */
#ifndef IOTSEC_CRYPTO_RAND_H
#define IOTSEC_CRYPTO_RAND_H

#include <stddef.h>

/* Fills buf with n random bytes. Returns IOTSEC_OK or IOTSEC_ERR_CRYPTO (DRBG failure; buf
 * is then zeroed). */
int crypto_random(void *buf, size_t n);

/* Wipes the calling thread's buffer. Call before a thread exits if it drew random bytes. */
void crypto_random_thread_cleanup(void);

#endif
