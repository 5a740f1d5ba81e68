/* The relay a gateway UE runs for devices without their own 3GPP access (issue 4, indirect
 * mode). The gateway authenticates itself to the device face with its own registered
 * certificate (mTLS) and carries each device's request body and the answer VERBATIM: the
 * proof and the envelope are end to end between device and iotsecd, so the gateway can
 * neither read the credentials nor alter them unnoticed. Not thread-safe: one per thread. */
#ifndef IOTSEC_SDK_GATEWAY_H
#define IOTSEC_SDK_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "onboard.h"
#include "onboard_http.h"

struct gateway;

/* cfg names the device face and the gateway's certificate and key (required). */
int gateway_new(const struct onboard_http_config *cfg, struct gateway **out);
void gateway_free(struct gateway *g);

/* Relays one device message: nonce requests go to /device/v1/nonce, the others to
 * /device/v1/relay/{onboard,confirm,rotate}. Same contract as onboard_http_post. */
int gateway_relay(struct gateway *g, enum onboard_op op, const char *body, size_t len, long *status,
                  uint32_t *retry_after, char **answer, size_t *answer_len);

/* Sees every byte the gateway relays, both ways, and may change the answer in place (tests
 * use it to play a malicious gateway). dir: 0 for the device's request, 1 for the answer. */
typedef void (*gateway_tap_fn)(void *user, enum onboard_op op, int dir, char *data, size_t len);
void gateway_set_tap(struct gateway *g, gateway_tap_fn tap, void *user);

/* A transport for a device behind this gateway (the device-to-gateway link, in process).
 * Valid as long as g is. */
struct onboard_transport *gateway_transport(struct gateway *g);

#endif
