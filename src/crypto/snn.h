/* Serving network names (TS 24.501 §9.12.1, TS 33.501 §6.1.1.4): "5G:mnc<MNC>.mcc<MCC>.
 * 3gppnetwork.org", with the MNC zero-padded to 3 digits, optionally followed by ":<NID>"
 * (11 hex digits) for a stand-alone non-public network. The name binds every 5G key to the
 * network that asked for it, so the SBI face checks it before deriving anything. */
#ifndef IOTSEC_CRYPTO_SNN_H
#define IOTSEC_CRYPTO_SNN_H

#include <stddef.h>

#define SNN_MAX 64 /* "5G:mnc123.mcc123.3gppnetwork.org:0123456789a" is 44 */
#define SNN_NID_LEN 11

struct snn {
    char mcc[4]; /* 3 digits */
    char mnc[4]; /* 2 or 3 digits as given to snn_build; 3 digits after snn_parse */
    char nid[SNN_NID_LEN + 1]; /* empty for a PLMN */
};

/* Builds the name for a PLMN (nid NULL or "") or an SNPN. mcc: 3 digits; mnc: 2 or 3
 * digits; nid: 11 hex digits. Returns IOTSEC_OK or IOTSEC_ERR_INVALID. */
int snn_build(const char *mcc, const char *mnc, const char *nid, char out[SNN_MAX]);

/* Parses and validates a serving network name in the exact form above. */
int snn_parse(const char *name, struct snn *out);

#endif
