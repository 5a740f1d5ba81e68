/* AES-128 block encryption for Milenage, which re-keys for every subscriber (a different K
 * each call). Each thread keeps one EVP cipher context, created on first use with the
 * algorithm fetched once, and re-keys it in place: AES-NI key expansion plus a few blocks,
 * with no allocation per call. */
#ifndef IOTSEC_CRYPTO_AES128_H
#define IOTSEC_CRYPTO_AES128_H

#include <stddef.h>
#include <stdint.h>

#define AES128_BLOCK 16

/* Encrypts nblocks independent 16-byte blocks under key (ECB: this is the raw block cipher
 * that Milenage is built on, not a mode for data). in and out may be the same buffer.
 * Returns IOTSEC_OK or IOTSEC_ERR_CRYPTO / IOTSEC_ERR_NOMEM. */
int aes128_encrypt_blocks(const uint8_t key[16], const uint8_t *in, uint8_t *out, size_t nblocks);

/* Same, reusing the key set by the previous call on this thread (no key expansion). */
int aes128_encrypt_blocks_same_key(const uint8_t *in, uint8_t *out, size_t nblocks);

/* Overwrites this thread's key schedule (re-keys with zeros). Call when done with a K. */
void aes128_forget_key(void);

/* Frees this thread's context now (it is freed at thread exit anyway). */
void aes128_thread_cleanup(void);

#endif
