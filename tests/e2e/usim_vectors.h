/* The device's side of the SQN tests that run one subscriber against one instance: vectors
 * from the instance's UDM (HTTP/2 + TLS, the AMF's NF client) handed to the subscriber's USIM
 * (sdk/usim: MAC and freshness checked UE-side, TS 33.102 C.2.2). */
#ifndef IOTSEC_TEST_USIM_VECTORS_H
#define IOTSEC_TEST_USIM_VECTORS_H

#include <stdint.h>

#include "fixture.h"
#include "usim.h"

/* The SQN a subscriber added with `--sqn 000000000020` starts from: SEQ 1 in IND 0. */
#define USIM_VECTORS_SQN0 0x20

/* The subscriber of a test and how its instance is set up. */
struct usim_vectors_case {
    const char *ctl_path; /* iotsecctl, which adds the subscriber as an operator would */
    const char *supi, *k_hex, *opc_hex;
    const char *sqn_block; /* the instance's sqn_block (e.g. "10"), or NULL: the default */
};

/* A cmocka group setup: libcurl, the instance started, c's subscriber added through iotsecctl
 * with SQN USIM_VECTORS_SQN0, ue personalised to match and *last_sqn its SQN. 0, or -1 with
 * what failed printed. */
int usim_vectors_setup(struct daemon_fixture *f, const struct usim_vectors_case *c, struct usim *ue,
                       uint64_t *last_sqn);
/* The matching teardown: the instance removed, libcurl released. */
void usim_vectors_teardown(struct daemon_fixture *f);

/* One vector for supi handed to ue: fails the test when the UDM does not answer 200 (the
 * answer says why, e.g. 503: no SQN may be issued). Returns the USIM's verdict; on USIM_OK
 * the RES* it computed is asserted equal to the vector's XRES*. */
int usim_vectors_one(const struct daemon_fixture *f, const char *supi, struct usim *ue);

/* n vectors, each accepted by ue and each SQN above *last_sqn, which follows them: a stale
 * or repeated SQN fails the test. */
void usim_vectors_accepted(const struct daemon_fixture *f, const char *supi, struct usim *ue, int n,
                           uint64_t *last_sqn);

#endif
