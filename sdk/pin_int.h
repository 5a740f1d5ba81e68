/* Shared by sdk/pin.c and sdk/pin_sym.c: reading the daemon's PIN answers without a JSON
 * library. */
#ifndef IOTSEC_SDK_PIN_INT_H
#define IOTSEC_SDK_PIN_INT_H

#include <stddef.h>
#include <stdint.h>

/* The string member key of body, base64url, decoded to exactly want bytes. */
int pin_member_b64(const char *body, size_t len, const char *key, uint8_t *out, size_t want);
/* A decision's text as the daemon escapes it in a JSON string (only \" \\ \/). */
int pin_unescape(const char *v, size_t vl, char *out, size_t cap, size_t *n);

#endif
