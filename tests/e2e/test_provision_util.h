/* Device-side helpers for the provisioning e2e tests: test PKI (a manufacturer CA and
 * factory certificates, minted with OpenSSL), HTTP with any client certificate, the
 * device's half of the protocol (with crypto/provision_crypto.h), and row counts. */
#ifndef IOTSEC_TEST_PROVISION_UTIL_H
#define IOTSEC_TEST_PROVISION_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/provision_crypto.h"
#include "fixture.h"

/* A key pair and certificate written to <dir>/<name>.crt/.key (PEM). */
struct tcert {
    char crt[160], key[160];
    char sha256[65];
    void *x509, *pkey; /* X509 *, EVP_PKEY * */
};

/* A self-signed CA (issuer NULL) or a leaf signed by issuer, P-256, subject CN cn. */
void tcert_make(struct tcert *c, const char *dir, const char *name, const char *cn,
                const struct tcert *issuer);
void tcert_free(struct tcert *c);
char *tcert_pem(const struct tcert *c); /* malloc'd PEM of the certificate */
char *tcert_der_b64(const struct tcert *c); /* malloc'd base64url DER */

/* One request to the device face (or any URL) with an optional client certificate;
 * *retry_after gets the Retry-After header's value (0 if none) when not NULL. */
long treq(const struct daemon_fixture *f, const struct tcert *client, const char *url,
          const char *body, char **out, unsigned *retry_after);

/* Admin POST/GET returning the parsed JSON (NULL if not JSON). */
json_t *tadmin(const struct daemon_fixture *f, const char *method, const char *path,
               const char *body, long *status);

/* Rows in a table of the instance's database. */
long tcount(const struct daemon_fixture *f, const char *table);
/* The subscription's state for a SUPI ("" if none). */
void tsub_state(const struct daemon_fixture *f, const char *supi, char *out, size_t len);

/* The device's side of one onboarding/rotation attempt. */
struct tdevice {
    char reg_id[64];
    uint8_t nonce[PROV_NONCE_LEN];
    uint8_t priv[PROV_X25519_LEN], pub[PROV_X25519_LEN];
    uint8_t pinned[PROV_ED25519_PUB_LEN];
};

void tb64(const uint8_t *in, size_t n, char *out); /* base64url, out big enough */
/* Fresh nonce from the face and a fresh X25519 pair. */
void tdevice_begin(const struct daemon_fixture *f, struct tdevice *d);
/* Onboarding request body for a derived key (group_key) or a certificate proof (tls). */
char *tbody_derived(const struct tdevice *d, const uint8_t *group_key, size_t gk_len);
char *tbody_tls(const struct tdevice *d);
char *tbody_x509_sig(const struct tdevice *d, const struct tcert *c);
/* Opens the {"envelope"} answer; IOTSEC_OK and the bundle (plaintext in pt, 64 KiB). */
int topen(const struct tdevice *d, const char *answer, uint8_t *pt, size_t *pt_len,
          struct prov_bundle *b);
/* The envelope bytes of an answer (malloc'd). */
uint8_t *tenvelope(const char *answer, size_t *len);
char *tbody_confirm(const struct tdevice *d, const struct prov_bundle *b);
char *tbody_rotate(const struct tdevice *d, const struct prov_bundle *current);
/* Runs 5G AKA over the SBI with K/OPc for supi; true on AUTHENTICATION_SUCCESS. */
bool tauth(const struct daemon_fixture *f, const char *supi, const uint8_t *k,
           const uint8_t *opc);

#endif
