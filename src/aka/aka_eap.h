/* EAP-AKA' (RFC 5448/9048 over RFC 4187) as the AUSF runs it for 5G (TS 33.501 6.1.3.1):
 * the AKA'-Challenge request, and the check of the peer's response. Packets travel
 * base64-encoded in the EapPayload of Nausf_UEAuthentication. */
#ifndef IOTSEC_AKA_EAP_H
#define IOTSEC_AKA_EAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aka/aka_cache.h"

#define EAP_CODE_REQUEST 1
#define EAP_CODE_RESPONSE 2
#define EAP_CODE_SUCCESS 3
#define EAP_CODE_FAILURE 4
#define EAP_TYPE_AKA_PRIME 50
#define EAP_SUBTYPE_CHALLENGE 1
#define EAP_SUBTYPE_AUTH_REJECT 2
#define EAP_SUBTYPE_SYNC_FAILURE 4
#define EAP_SUBTYPE_CLIENT_ERROR 14
#define EAP_AT_RAND 1
#define EAP_AT_AUTN 2
#define EAP_AT_RES 3
#define EAP_AT_AUTS 4
#define EAP_AT_MAC 11
#define EAP_AT_KDF_INPUT 23
#define EAP_AT_KDF 24

/* Derives the EAP-AKA' keys for supi (the SUPI value is the EAP identity), fills ctx (K_aut,
 * KAUSF = EMSK[0..31], XRES, identifier) and writes the base64 AKA'-Challenge into *payload
 * (malloc'd; the caller frees it). */
int aka_eap_challenge(struct auth_ctx *ctx, const char *supi, const uint8_t rand[16],
                      const uint8_t autn[16], const uint8_t xres[8], const uint8_t ck_prime[16],
                      const uint8_t ik_prime[16], char **payload);

/* Checks the peer's base64 EAP-Response against ctx: an AKA'-Challenge response with a valid
 * AT_MAC and AT_RES = XRES is a success. *reply gets the base64 EAP-Success or EAP-Failure
 * to send back (malloc'd). Returns IOTSEC_OK with *success set, or IOTSEC_ERR_INVALID for a
 * payload that is not a well-formed EAP-AKA' response to this challenge. */
int aka_eap_check_response(const struct auth_ctx *ctx, const char *payload, bool *success,
                           char **reply);

/* For peers (the device SDK and tests): the attribute of type at in an EAP-AKA' packet;
 * *value points past its 2-byte header, *value_len is the rest of the attribute. */
int aka_eap_find_attr(const uint8_t *pkt, size_t len, uint8_t at, const uint8_t **value,
                      size_t *value_len);

/* HMAC-SHA-256-128 AT_MAC over pkt (whose AT_MAC value must be zero) under k_aut. */
void aka_eap_mac(const uint8_t k_aut[32], const uint8_t *pkt, size_t len, uint8_t mac[16]);

/* base64 helpers (OpenSSL's encoding, no newlines). */
char *aka_base64_encode(const uint8_t *data, size_t len);
int aka_base64_decode(const char *b64, uint8_t *out, size_t cap, size_t *len);

#endif
