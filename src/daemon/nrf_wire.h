/* The daemon's NRF wiring (src/nrf): the SBI face's token gate and the registration client,
 * built from the configuration's nrf: and oauth2: sections. */
#ifndef IOTSEC_DAEMON_NRF_WIRE_H
#define IOTSEC_DAEMON_NRF_WIRE_H

#include <stdint.h>

#include "daemon/config.h"
#include "http/http.h"
#include "nrf/nrf.h"

/* oauth2.sbi on: loads the NRF's keys and sets the gate on sbi (before start). *out stays
 * NULL when off. */
int nrf_wire_gate(const struct config *c, struct http_server *sbi, struct nrf_auth **out);

/* nrf.url set: starts registration of the AUSF and UDM served on sbi_port, and waits up to
 * wait_ms for the first round. *out stays NULL when off. */
int nrf_wire_start(const struct config *c, uint16_t sbi_port, unsigned wait_ms,
                   struct nrf_client **out, enum nrf_state *state);

#endif
