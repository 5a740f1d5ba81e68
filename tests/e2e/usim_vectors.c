/* Vectors handed to a USIM (usim_vectors.h). */
#include "usim_vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/hex.h"

int usim_vectors_setup(struct daemon_fixture *f, const struct usim_vectors_case *c, struct usim *ue,
                       uint64_t *last_sqn)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char block[64];
    snprintf(block, sizeof(block), "sqn_block: %s", c->sqn_block ? c->sqn_block : "");
    if (fixture_init(f, NULL) != 0 ||
        (c->sqn_block && fixture_config_replace(f, "sqn_block: 1000", block) != 0) ||
        fixture_start(f) != 0)
        return -1;
    char args[256], out[4096];
    snprintf(args, sizeof(args), "subscriber add --supi %s --k %s --opc %s --amf 8000 --sqn %012x",
             c->supi, c->k_hex, c->opc_hex, USIM_VECTORS_SQN0);
    if (fixture_tool(f, c->ctl_path, NULL, args, out, sizeof(out)) != 0) {
        fprintf(stderr, "subscriber add: %s\n", out);
        return -1;
    }
    uint8_t k[16], opc[16];
    if (hex_decode(c->k_hex, k, 16) != 0 || hex_decode(c->opc_hex, opc, 16) != 0)
        return -1;
    usim_init(ue, k, opc);
    ue->seq_ms[0] = USIM_VECTORS_SQN0 >> USIM_IND_BITS; /* SEQ 1 in IND 0 */
    *last_sqn = USIM_VECTORS_SQN0;
    return 0;
}

void usim_vectors_teardown(struct daemon_fixture *f)
{
    fixture_cleanup(f);
    curl_global_cleanup();
}

int usim_vectors_one(const struct daemon_fixture *f, const char *supi, struct usim *ue)
{
    char url[192], body[160];
    snprintf(url, sizeof(url), "%s/nudm-ueau/v1/%s/security-information/generate-auth-data", f->sbi,
             supi);
    snprintf(body, sizeof(body),
             "{\"servingNetworkName\":\"%s\",\"ausfInstanceId\":"
             "\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}",
             f->snn);
    char *answer = NULL;
    long st =
        fixture_request(f, AS_NF, "POST", url, "application/json", body, strlen(body), &answer);
    if (st != 200) {
        char why[256];
        snprintf(why, sizeof(why), "%s", answer ? answer : "");
        free(answer);
        fail_msg("HTTP %ld %s", st, why);
    }
    json_t *o = json_loads(answer, 0, NULL);
    free(answer);
    json_t *av = json_object_get(o, "authenticationVector");
    uint8_t rand_b[16], autn[16], xres_star[16];
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "rand")), rand_b, 16), 0);
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "autn")), autn, 16), 0);
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "xresStar")), xres_star, 16),
                     0);
    json_decref(o);
    struct usim_response r;
    int result = usim_authenticate(ue, rand_b, autn, f->snn, strlen(f->snn), &r);
    if (result == USIM_OK)
        assert_memory_equal(r.res_star, xres_star, 16);
    return result;
}

void usim_vectors_accepted(const struct daemon_fixture *f, const char *supi, struct usim *ue, int n,
                           uint64_t *last_sqn)
{
    for (int i = 0; i < n; i++) {
        int result = usim_vectors_one(f, supi, ue);
        if (result != USIM_OK)
            fail_msg("vector %d of %d: the USIM says %d (1: stale SQN, resynchronisation)", i, n,
                     result);
        uint64_t sqn = usim_sqn_ms(ue); /* the SQN just accepted: the highest so far */
        if (sqn <= *last_sqn)
            fail_msg("vector %d of %d: SQN %012llx after %012llx", i, n, (unsigned long long)sqn,
                     (unsigned long long)*last_sqn);
        *last_sqn = sqn;
    }
}
