/* The development PKI that `iotsecd init` creates: an operator CA, the server certificate
 * (localhost, 127.0.0.1, ::1), an admin client certificate and an NF client certificate, all
 * ECDSA P-256. Production deployments replace these files with the operator's own. */
#ifndef IOTSEC_DAEMON_PKI_H
#define IOTSEC_DAEMON_PKI_H

#include <stdbool.h>

struct http_peer;

/* Writes DIR/pki/{ca,server,admin,nf}.{crt,key} (keys 0600). The server certificate names
 * localhost, 127.0.0.1 and ::1, and extra_san ("DNS:name,IP:addr,...", NULL or "" for none).
 * Returns IOTSEC_OK or an error; refuses to overwrite an existing pki directory
 * (IOTSEC_ERR_CONFLICT). */
int pki_create(const char *dir, const char *extra_san);

/* The SHA-256 fingerprint (hex) of the certificate in a PEM file. */
int pki_cert_fingerprint(const char *path, char hex[65]);

/* Certificate roles on the SBI face. The instance CA (or the operator's) issues NF, admin and
 * perhaps other client certificates; a certificate's role, not only its CA, decides where it
 * is taken. An NF certificate names its NF instance: a subjectAltName URI urn:uuid:<NF
 * instance ID>, as TS 33.310 asks of NF certificates and as `iotsecd init` issues nf.crt.
 * The admin certificate is never an NF certificate, whatever it carries. */
struct pki_sbi_role {
    char admin_cert_sha256[65]; /* hex */
    bool any_but_admin;         /* tls.sbi_client_role: not_admin (no instance ID needed) */
};
/* An http_peer_role_fn for the SBI listener; user is a struct pki_sbi_role. */
bool pki_peer_is_nf(const struct http_peer *peer, void *user);

#endif
