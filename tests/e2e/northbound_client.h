/* Northbound e2e helpers: an HTTPS client that presents an AF's client certificate, and the
 * SUPI leak scanner.
 *
 * TO EVERY NORTHBOUND E2E TEST (T8 included): send every northbound request through
 * nb_call(), which passes each response's status line, headers and body through
 * nb_leak_check() and fails the test if any SUPI or IMSI digits of the store appear; pass
 * every notification body (and its headers) your test receives through nb_leak_check() too.
 * That is the "SUPI/IMSI never leave" test: it runs over the whole northbound suite. */
#ifndef IOTSEC_TEST_NORTHBOUND_CLIENT_H
#define IOTSEC_TEST_NORTHBOUND_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "fixture.h"

/* A client identity: PEM certificate and key files; both NULL = no client certificate. */
struct nb_identity {
    const char *cert, *key;
};

struct nb_response {
    long status;   /* -1: no answer (e.g. the TLS handshake was refused) */
    char *body;    /* NUL-terminated, malloc'd ("" when empty) */
    char *headers; /* every header line, NUL-terminated, malloc'd */
};

/* One request to the northbound face (url: full URL). bearer: the access token or NULL.
 * content_type/body may be NULL. http2: negotiate h2 (else HTTP/1.1). The response is scanned
 * for SUPIs (a leak fails the test). Free with nb_response_free. */
void nb_call(const struct daemon_fixture *f, const struct nb_identity *who, const char *method,
             const char *url, const char *bearer, const char *content_type, const char *body,
             int http2, struct nb_response *out);
void nb_response_free(struct nb_response *r);

/* The value of header name (case-insensitive) in r->headers, copied into out; 0 if found. */
int nb_header(const struct nb_response *r, const char *name, char *out, size_t cap);

/* Fails the test (cmocka fail_msg) when data contains the digits of any IMSI or the value of
 * any SUPI in the instance's database. what names the data in the message. */
void nb_leak_check(const struct daemon_fixture *f, const char *what, const char *data, size_t len);
/* The scan itself: 1 (found names the SUPI), 0 (clean) or -1 (database unreadable). */
int nb_leak_find(const struct daemon_fixture *f, const char *data, size_t len, char *found,
                 size_t cap);

/* Mints a CA and a leaf client certificate signed by it (P-256) into dir/<name>.pem and
 * dir/<name>.key (the CA into dir/<name>-ca.*). Returns 0. */
int nb_mint_client(const char *dir, const char *name);

/* An admin-face request with a JSON body (taken: decref'd here; NULL for none); fails the
 * test unless the status is want. Returns the parsed answer (NULL when not JSON). */
json_t *nb_admin_json(const struct daemon_fixture *f, const char *method, const char *path,
                      json_t *body, long want);

/* A small file's text (at most 64 KiB), NUL-terminated; the caller frees it. */
char *nb_read_file(const char *path);

#endif
