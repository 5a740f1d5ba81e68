/* Hex encoding. Output is lower case; input may be either case. Decoding runs in time
 * independent of the digit values (secrets such as K pass through it), and only depends on
 * the length. */
#ifndef IOTSEC_BASE_HEX_H
#define IOTSEC_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decodes exactly out_len bytes: hex must be exactly 2*out_len digits long, NUL-terminated.
 * Returns IOTSEC_OK or IOTSEC_ERR_INVALID (wrong length, odd length, non-hex digit); on
 * error out is zeroed. */
int hex_decode(const char *hex, uint8_t *out, size_t out_len);

/* Decodes a hex string of any even length up to max bytes into out; *out_len gets the byte
 * count. Returns IOTSEC_OK or IOTSEC_ERR_INVALID. */
int hex_decode_var(const char *hex, uint8_t *out, size_t max, size_t *out_len);

/* Writes 2*len lower-case digits and a NUL into out (which must hold 2*len+1 chars). */
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
