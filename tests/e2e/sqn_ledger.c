#include "sqn_ledger.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/hex.h"
#include "crypto/milenage.h"

void sqn_ledger_init(struct sqn_ledger *l)
{
    l->seen = malloc(SQN_LEDGER_MAX * sizeof(uint64_t));
    assert_non_null(l->seen);
    l->n = 0;
}

void sqn_ledger_free(struct sqn_ledger *l)
{
    free(l->seen);
    l->seen = NULL;
}

uint64_t sqn_ledger_record(struct sqn_ledger *l, const char *answer, const char *who)
{
    json_t *o = json_loads(answer ? answer : "", 0, NULL);
    json_t *av = json_object_get(o, "authenticationVector");
    uint8_t rand_b[16], autn[16];
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "rand")), rand_b, 16), 0);
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "autn")), autn, 16), 0);
    json_decref(o);
    struct milenage_out m;
    assert_int_equal(milenage_compute(l->k, l->opc, rand_b, NULL, NULL, MILENAGE_F2_F5, &m), 0);
    uint64_t sqn = 0;
    for (int i = 0; i < 6; i++)
        sqn = (sqn << 8) | (uint8_t)(autn[i] ^ m.ak[i]);
    for (size_t i = 0; i < l->n; i++) {
        if (l->seen[i] == sqn)
            fail_msg("%s: SQN %012llx issued twice", who, (unsigned long long)sqn);
    }
    assert_true(l->n < SQN_LEDGER_MAX);
    l->seen[l->n++] = sqn;
    return sqn;
}
