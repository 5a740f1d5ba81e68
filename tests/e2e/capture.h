/* Recording of the e2e suite's HTTP exchanges for the OpenAPI tests (tests/openapi):
 *   IOTSEC_HTTP_CAPTURE=DIR  every exchange with any face of the daemon, one JSON line each, in
 *                            DIR/<program>-<pid>.jsonl (openapi_iotsec checks them against
 *                            docs/openapi and the 3GPP documents);
 *   IOTSEC_SBI_DUMP=DIR      the Nausf and Nudm exchanges, one file each (openapi_sbi).
 * Every HTTP client of the e2e tests calls capture_exchange after curl_easy_perform. */
#ifndef IOTSEC_TEST_CAPTURE_H
#define IOTSEC_TEST_CAPTURE_H

#include <curl/curl.h>
#include <stddef.h>

#include "fixture.h"

/* c: the handle after curl_easy_perform (URL, status and content type are read from it);
 * status: the status the caller saw (-1: no answer). request_ctype, request_body, location
 * may be NULL. */
void capture_exchange(const struct daemon_fixture *f, CURL *c, long status, const char *method,
                      const char *request_ctype, const char *request_body, size_t request_len,
                      const char *body, size_t body_len, const char *location);

#endif
