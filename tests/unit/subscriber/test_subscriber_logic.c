/* States and SQN generation of the subscriber capability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "subscriber/subscriber.h"

static void test_transition_matrix(void **state)
{
    (void)state;
    /* Every (state, event) pair: the allowed ones and where they lead; all others refused. */
    struct {
        enum sub_state from;
        enum sub_event ev;
        enum sub_state to;
    } allowed[] = {
        {SUB_PENDING_ACTIVATION, SUB_EV_ACTIVATE, SUB_ACTIVE},
        {SUB_PENDING_ACTIVATION, SUB_EV_EXPIRE, SUB_EXPIRED},
        {SUB_PENDING_ACTIVATION, SUB_EV_REVOKE, SUB_REVOKED},
        {SUB_ACTIVE, SUB_EV_SUSPEND, SUB_SUSPENDED},
        {SUB_ACTIVE, SUB_EV_QUARANTINE, SUB_QUARANTINED},
        {SUB_ACTIVE, SUB_EV_EXPIRE, SUB_EXPIRED},
        {SUB_ACTIVE, SUB_EV_REVOKE, SUB_REVOKED},
        {SUB_SUSPENDED, SUB_EV_RESUME, SUB_ACTIVE},
        {SUB_SUSPENDED, SUB_EV_QUARANTINE, SUB_QUARANTINED},
        {SUB_SUSPENDED, SUB_EV_EXPIRE, SUB_EXPIRED},
        {SUB_SUSPENDED, SUB_EV_REVOKE, SUB_REVOKED},
        {SUB_QUARANTINED, SUB_EV_RELEASE, SUB_ACTIVE},
        {SUB_QUARANTINED, SUB_EV_EXPIRE, SUB_EXPIRED},
        {SUB_QUARANTINED, SUB_EV_REVOKE, SUB_REVOKED},
        {SUB_EXPIRED, SUB_EV_REVOKE, SUB_REVOKED},
    };
    size_t n_allowed = sizeof(allowed) / sizeof(allowed[0]), seen = 0;
    for (int s = 0; s < SUB_STATE_COUNT; s++) {
        for (int e = 0; e < SUB_EVENT_COUNT; e++) {
            enum sub_state to = SUB_STATE_COUNT;
            int rc = sub_transition((enum sub_state)s, (enum sub_event)e, &to);
            int expect = -1;
            for (size_t i = 0; i < n_allowed; i++) {
                if (allowed[i].from == (enum sub_state)s && allowed[i].ev == (enum sub_event)e)
                    expect = (int)allowed[i].to;
            }
            if (expect < 0) {
                if (rc != IOTSEC_ERR_STATE)
                    fail_msg("%s --%s--> allowed", sub_state_name(s), sub_event_name(e));
            } else {
                assert_int_equal(rc, IOTSEC_OK);
                assert_int_equal(to, expect);
                seen++;
            }
        }
    }
    assert_int_equal(seen, n_allowed);
    /* Revoked is final. */
    enum sub_state to;
    for (int e = 0; e < SUB_EVENT_COUNT; e++)
        assert_int_equal(sub_transition(SUB_REVOKED, (enum sub_event)e, &to), IOTSEC_ERR_STATE);
    assert_int_equal(sub_transition(SUB_STATE_COUNT, SUB_EV_REVOKE, &to), IOTSEC_ERR_INVALID);
}

static void test_state_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < SUB_STATE_COUNT; s++) {
        enum sub_state back;
        assert_int_equal(sub_state_parse(sub_state_name((enum sub_state)s), &back), 0);
        assert_int_equal(back, s);
    }
    enum sub_state x;
    assert_int_equal(sub_state_parse("Active", &x), IOTSEC_ERR_INVALID);
    assert_int_equal(sub_state_parse(NULL, &x), IOTSEC_ERR_INVALID);
}

/* The database's side of a reservation: max(mark, floor) + block (subscriber_store.c). */
static uint64_t db_reserve(uint64_t *mark, uint64_t floor, uint64_t block)
{
    *mark = (*mark > floor ? *mark : floor) + block;
    return *mark;
}

static void test_sqn_block_reservation(void **state)
{
    (void)state;
    struct sqn_gen g = {0, 0}; /* a generator starts empty */
    uint64_t mark = 1;         /* the SIM's SEQ was 0: the first issued must be >= 1 */
    uint64_t sqn, floor;
    assert_int_equal(sqn_take(&g, 3, &sqn), IOTSEC_ERR_BUSY); /* nothing reserved yet */
    assert_int_equal(sqn_reserve_floor(&g, 100, &floor), IOTSEC_OK);
    assert_int_equal(floor, 0);
    assert_int_equal(sqn_block_granted(&g, db_reserve(&mark, floor, 100), 100), IOTSEC_OK);
    assert_int_equal(g.next, 1);
    assert_int_equal(g.reserved, 101);
    uint64_t last = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(sqn_take(&g, 3, &sqn), IOTSEC_OK);
        assert_int_equal(sqn & 31, 3);
        assert_true(sqn > last);
        last = sqn;
    }
    assert_int_equal(last >> SQN_IND_BITS, 100);
    assert_int_equal(sqn_take(&g, 3, &sqn), IOTSEC_ERR_BUSY);
    assert_int_equal(sqn_take(&g, 32, &sqn), IOTSEC_ERR_INVALID);

    /* A second instance (or this one after a crash) starts empty and gets the next block:
     * disjoint from everything issued, whatever the first one still holds in memory. */
    struct sqn_gen other = {0, 0};
    assert_int_equal(sqn_reserve_floor(&other, 100, &floor), IOTSEC_OK);
    assert_int_equal(sqn_block_granted(&other, db_reserve(&mark, floor, 100), 100), IOTSEC_OK);
    assert_int_equal(sqn_take(&other, 0, &sqn), IOTSEC_OK);
    assert_true((sqn >> SQN_IND_BITS) > (last >> SQN_IND_BITS));
    assert_int_equal(other.next, 102);
}

/* Two reservations of one instance in flight at once: the older block, completing last, must
 * not replace the newer one (nor move next back). */
static void test_sqn_blocks_out_of_order(void **state)
{
    (void)state;
    struct sqn_gen g = {0, 0};
    uint64_t mark = 1, sqn;
    uint64_t first = db_reserve(&mark, 0, 10), second = db_reserve(&mark, 0, 10);
    assert_int_equal(sqn_block_granted(&g, second, 10), IOTSEC_OK);
    assert_int_equal(sqn_take(&g, 0, &sqn), IOTSEC_OK);
    assert_int_equal(sqn >> SQN_IND_BITS, 11);
    assert_int_equal(sqn_block_granted(&g, first, 10), IOTSEC_OK);
    assert_int_equal(g.next, 12);
    assert_int_equal(g.reserved, 21);
    /* A resynchronisation beyond the block asks for one above SEQ_MS. */
    sqn_resync(&g, 500ull << SQN_IND_BITS);
    assert_int_equal(sqn_take(&g, 0, &sqn), IOTSEC_ERR_BUSY);
    uint64_t floor;
    assert_int_equal(sqn_reserve_floor(&g, 10, &floor), IOTSEC_OK);
    assert_int_equal(floor, 501);
    assert_int_equal(sqn_block_granted(&g, db_reserve(&mark, floor, 10), 10), IOTSEC_OK);
    assert_int_equal(sqn_take(&g, 0, &sqn), IOTSEC_OK);
    assert_int_equal(sqn >> SQN_IND_BITS, 501);
    assert_int_equal(sqn_block_granted(&g, 0, 10), IOTSEC_ERR_INVALID);
    assert_int_equal(sqn_block_granted(&g, 100, 0), IOTSEC_ERR_INVALID);
}

static void test_sqn_limits(void **state)
{
    (void)state;
    struct sqn_gen g = {.next = SQN_SEQ_MAX - 10, .reserved = SQN_SEQ_MAX - 10};
    uint64_t f;
    assert_int_equal(sqn_reserve_floor(&g, 11, &f), IOTSEC_OK);
    assert_int_equal(f, SQN_SEQ_MAX - 10);
    assert_int_equal(sqn_reserve_floor(&g, 12, &f), IOTSEC_ERR_INVALID); /* 43-bit overflow */
    assert_int_equal(sqn_reserve_floor(&g, 0, &f), IOTSEC_ERR_INVALID);
    assert_int_equal(sqn_block_granted(&g, SQN_SEQ_MAX + 2, 1), IOTSEC_ERR_INVALID);
}

/* Each slot's INDs are its own, every serving network lands in the slot's range, and the
 * lease stops being usable before it ends. */
static void test_sqn_slots(void **state)
{
    (void)state;
    static const char *const snn[] = {"5G:mnc001.mcc001.3gppnetwork.org",
                                      "5G:mnc002.mcc208.3gppnetwork.org", "internet", "x"};
    for (int slot = 0; slot < SQN_SLOTS; slot++) {
        for (size_t i = 0; i < sizeof(snn) / sizeof(snn[0]); i++) {
            unsigned ind = sqn_ind_in_slot(slot, snn[i], strlen(snn[i]));
            assert_true(ind >= (unsigned)slot * SQN_IND_PER_SLOT);
            assert_true(ind < (unsigned)(slot + 1) * SQN_IND_PER_SLOT);
        }
    }
    assert_int_equal(SQN_SLOTS * SQN_IND_PER_SLOT, SQN_IND_SLOTS);
    assert_true(sqn_lease_usable(10000, 4000, 5000));
    assert_false(sqn_lease_usable(10000, 5000, 5000));
    assert_false(sqn_lease_usable(0, 1, 0)); /* no lease */
}

static void test_sqn_resync(void **state)
{
    (void)state;
    struct sqn_gen g = {.next = 50, .reserved = 100};
    sqn_resync(&g, (70ull << SQN_IND_BITS) | 9); /* the USIM has seen SEQ 70 */
    assert_int_equal(g.next, 71);
    sqn_resync(&g, 10ull << SQN_IND_BITS); /* never moves back */
    assert_int_equal(g.next, 71);
    sqn_resync(&g, (200ull << SQN_IND_BITS)); /* beyond the reservation: must reserve first */
    uint64_t sqn;
    assert_int_equal(sqn_take(&g, 0, &sqn), IOTSEC_ERR_BUSY);
    uint64_t floor;
    assert_int_equal(sqn_reserve_floor(&g, 10, &floor), IOTSEC_OK);
    assert_int_equal(floor, 201);
}

static void test_ind_is_stable_and_spread(void **state)
{
    (void)state;
    const char *a = "5G:mnc001.mcc001.3gppnetwork.org";
    assert_int_equal(sqn_ind_for(a, strlen(a)), sqn_ind_for(a, strlen(a)));
    int used[SQN_IND_SLOTS] = {0}, distinct = 0;
    char name[64];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "5G:mnc%03d.mcc001.3gppnetwork.org", i);
        unsigned ind = sqn_ind_for(name, strlen(name));
        assert_true(ind < SQN_IND_SLOTS);
        distinct += !used[ind]++;
    }
    assert_true(distinct > 16); /* 100 networks land in more than half of the slots */
}

static void test_may_authenticate(void **state)
{
    (void)state;
    struct subscription s = {.state = SUB_ACTIVE};
    assert_int_equal(sub_may_authenticate(&s, 1000), IOTSEC_OK);
    s.not_after = 1000;
    assert_int_equal(sub_may_authenticate(&s, 999), IOTSEC_OK);
    assert_int_equal(sub_may_authenticate(&s, 1000), IOTSEC_ERR_STATE);
    s.not_after = 0;
    s.not_before = 500;
    assert_int_equal(sub_may_authenticate(&s, 499), IOTSEC_ERR_STATE);
    for (int st = 0; st < SUB_STATE_COUNT; st++) {
        s.state = (enum sub_state)st;
        assert_int_equal(sub_may_authenticate(&s, 600) == IOTSEC_OK, st == SUB_ACTIVE);
    }
}

static void test_gpsi_and_aad(void **state)
{
    (void)state;
    assert_true(sub_gpsi_valid("msisdn-447700900123"));
    assert_true(sub_gpsi_valid("extid-meter42@utility.example"));
    assert_false(sub_gpsi_valid("msisdn-12"));
    assert_false(sub_gpsi_valid("msisdn-4477009001x3"));
    assert_false(sub_gpsi_valid("extid-@x"));
    assert_false(sub_gpsi_valid("extid-a@"));
    assert_false(sub_gpsi_valid("extid-a@b@c"));
    assert_false(sub_gpsi_valid("imsi-001010000000001"));
    struct supi supi;
    assert_int_equal(supi_parse("imsi-001010000000001", &supi), 0);
    char a1[128], a2[128];
    sub_keys_aad(&supi, 1, a1, sizeof(a1));
    sub_keys_aad(&supi, 2, a2, sizeof(a2));
    assert_string_not_equal(a1, a2);
    assert_non_null(strstr(a1, "001010000000001"));
    /* The AADs are part of the format at rest: every stored credential (and DEK) was sealed
     * with exactly these bytes, so they may never change. */
    assert_int_equal(sub_keys_aad(&supi, 1, a1, sizeof(a1)), 49);
    assert_string_equal(a1, "iotsec/subscription/imsi-001010000000001/k_opc/v1");
    assert_int_equal(sub_aad(&supi, "dek", 4294967295u, a1, sizeof(a1)), 56);
    assert_string_equal(a1, "iotsec/subscription/imsi-001010000000001/dek/v4294967295");
    assert_int_equal(supi_parse("nai-dev7@iot.example", &supi), 0);
    sub_keys_aad(&supi, 10, a1, sizeof(a1));
    assert_string_equal(a1, "iotsec/subscription/nai-dev7@iot.example/k_opc/v10");
    /* too small a buffer: truncated and terminated, as snprintf would */
    assert_int_equal(sub_keys_aad(&supi, 10, a2, 12), 11);
    assert_string_equal(a2, "iotsec/subs");
    char one[1] = {'x'};
    assert_int_equal(sub_keys_aad(&supi, 10, one, 1), 0);
    assert_int_equal(one[0], '\0');
    char formatted[32];
    assert_int_equal(supi_format(&supi, formatted, sizeof(formatted)), 0);
    assert_string_equal(formatted, "nai-dev7@iot.example");
    assert_int_equal(supi_format(&supi, formatted, 20), IOTSEC_ERR_INVALID); /* 20 + NUL */
    assert_string_equal(formatted, "");
    assert_int_equal(supi_format(&supi, formatted, 21), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_matrix),
        cmocka_unit_test(test_state_names_round_trip),
        cmocka_unit_test(test_sqn_block_reservation),
        cmocka_unit_test(test_sqn_limits),
        cmocka_unit_test(test_sqn_blocks_out_of_order),
        cmocka_unit_test(test_sqn_slots),
        cmocka_unit_test(test_sqn_resync),
        cmocka_unit_test(test_ind_is_stable_and_spread),
        cmocka_unit_test(test_may_authenticate),
        cmocka_unit_test(test_gpsi_and_aad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
