/* SUPI (TS 23.003 §2.2A, TS 29.571 Supi): an IMSI ("imsi-<5..15 digits>") or a network access
 * identifier ("nai-<user>@<realm>"). The SUPI is the permanent identity: it never leaves the
 * operator's side (see DESIGN.md, "Identities"). */
#ifndef IOTSEC_CRYPTO_SUPI_H
#define IOTSEC_CRYPTO_SUPI_H

#include <stddef.h>

#define SUPI_VALUE_MAX  253                      /* an NAI is at most 253 octets (RFC 7542) */
#define SUPI_STRING_MAX (4 + SUPI_VALUE_MAX + 1) /* "nai-" + value + NUL */

enum supi_type { SUPI_IMSI = 0, SUPI_NAI = 1 };

struct supi {
    enum supi_type type;
    char value[SUPI_VALUE_MAX + 1]; /* IMSI digits, or "user@realm"; NUL-terminated */
};

/* Parses "imsi-<5..15 digits>" or "nai-<user>@<realm>" (printable ASCII, no spaces, exactly
 * one '@', non-empty user and realm). Returns IOTSEC_OK or IOTSEC_ERR_INVALID. */
int supi_parse(const char *s, struct supi *out);

/* Writes the SBI string form ("imsi-..." / "nai-...") into buf. Returns IOTSEC_OK or
 * IOTSEC_ERR_INVALID when buf is too small. */
int supi_format(const struct supi *supi, char *buf, size_t buf_len);

/* The usual MNC length for an MCC (3 for the countries that allocate 3-digit MNCs, such as
 * 302, 310-316, 334, 405, 7xx in the Americas; otherwise 2). Operators with a non-default
 * MNC length configure it explicitly. mcc is 3 digits; anything else gives
 * IOTSEC_ERR_INVALID (negative). */
int supi_default_mnc_length(const char *mcc);

#endif
