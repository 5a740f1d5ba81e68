/* The development PKI that `iotsecd init` creates: an operator CA, the server certificate
 * (localhost, 127.0.0.1, ::1), an admin client certificate and an NF client certificate, all
 * ECDSA P-256. Production deployments replace these files with the operator's own. */
#ifndef IOTSEC_DAEMON_PKI_H
#define IOTSEC_DAEMON_PKI_H

/* Writes DIR/pki/{ca,server,admin,nf}.{crt,key} (keys 0600). Returns IOTSEC_OK or an error;
 * refuses to overwrite an existing pki directory (IOTSEC_ERR_CONFLICT). */
int pki_create(const char *dir);

/* The SHA-256 fingerprint (hex) of the certificate in a PEM file. */
int pki_cert_fingerprint(const char *path, char hex[65]);

#endif
