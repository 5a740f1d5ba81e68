/* Unpadded base64url (RFC 4648 §5), as JOSE and the device face use it. One implementation for
 * the daemon and the device SDK. Decoding is strict: only the URL alphabet, no padding, no
 * whitespace, length mod 4 != 1, and the unused low bits of the last character zero, so every
 * byte string has exactly one accepted spelling (a signature, a nonce, a key cannot be "the
 * same" under two encodings). Table lookups: for public data and for secrets alike, the
 * encoding of a key is not where its secrecy is at stake in this code (keys travel inside
 * AEAD envelopes, never base64-encoded in clear). */
#ifndef IOTSEC_BASE_B64URL_H
#define IOTSEC_BASE_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters of the encoding of n bytes (without the NUL). */
#define B64URL_LEN(n) (((n)*4 + 2) / 3)
size_t b64url_len(size_t n);

/* Writes b64url_len(len) characters and a NUL into out. */
void b64url_encode(const uint8_t *in, size_t len, char *out);

/* Decodes len characters into out (at most cap bytes); *out_len gets the byte count.
 * IOTSEC_ERR_INVALID for anything but the one canonical spelling, or too small a cap. */
int b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
