/* Import parsing: CSV with a header, JSON lines, OP -> OPc, timestamps; every bad field is
 * named, never echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"
#include "subscriber/subscriber.h"

#define K1 "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OP1 "cdc202d5123e20f62b6d676ac72cb318"
#define OPC1 "cd63cb71954a9f4e48a5994e37a02baf" /* TS 35.207 set 1: OPc of K1, OP1 */

static void test_csv_with_opc_and_op(void **state)
{
    (void)state;
    struct sub_csv_columns cols;
    char err[128];
    assert_int_equal(sub_csv_header("supi,k,opc,op,amf,sqn,gpsi,not_after\n", &cols, err,
                                    sizeof(err)),
                     IOTSEC_OK);
    struct sub_input in;
    assert_int_equal(sub_csv_row("imsi-001010000000001," K1 "," OPC1 ",,8000,000000000020,"
                                 "msisdn-447700900001,2030-01-01T00:00:00Z\r\n",
                                 &cols, &in, err, sizeof(err)),
                     IOTSEC_OK);
    assert_string_equal(in.supi.value, "001010000000001");
    assert_int_equal(in.sqn, 0x20);
    assert_string_equal(in.gpsi, "msisdn-447700900001");
    assert_int_equal(in.not_after, 1893456000);
    assert_int_equal(in.state, SUB_ACTIVE);
    uint8_t opc[16];
    hex_decode(OPC1, opc, 16);
    assert_memory_equal(in.keys.opc, opc, 16);

    /* OP in the row: OPc is computed at import, and equals the vector's. */
    assert_int_equal(sub_csv_row("imsi-001010000000002," K1 ",," OP1 ",8000,,,", &cols, &in,
                                 err, sizeof(err)),
                     IOTSEC_OK);
    assert_memory_equal(in.keys.opc, opc, 16);
    assert_int_equal(in.sqn, 0);
}

static void expect_row_error(const char *header, const char *line, const char *field)
{
    struct sub_csv_columns cols;
    struct sub_input in;
    char err[128] = "";
    assert_int_equal(sub_csv_header(header, &cols, err, sizeof(err)), IOTSEC_OK);
    if (sub_csv_row(line, &cols, &in, err, sizeof(err)) != IOTSEC_ERR_INVALID)
        fail_msg("accepted '%s'", line);
    if (strstr(err, field) == NULL)
        fail_msg("error '%s' does not name '%s'", err, field);
    assert_null(strstr(err, K1)); /* never the value */
}

static void test_csv_errors(void **state)
{
    (void)state;
    const char *h = "supi,k,opc,amf";
    expect_row_error(h, "imsi-0010100,00," OPC1 ",8000", "k");
    expect_row_error(h, "imsi-001010000000001," K1 ",zz,8000", "opc");
    expect_row_error(h, "001010000000001," K1 "," OPC1 ",8000", "supi");
    expect_row_error(h, "imsi-001010000000001," K1 "," OPC1 ",0000", "separation bit");
    expect_row_error(h, "imsi-001010000000001," K1 "," OPC1 ",8000,extra", "fields");
    expect_row_error(h, "imsi-001010000000001," K1 "," OPC1, "fields");
    expect_row_error("supi,k,opc,op,amf", "imsi-001010000000001," K1 "," OPC1 "," OP1 ",8000",
                     "exactly one");
    expect_row_error("supi,k,opc,amf,gpsi", "imsi-001010000000001," K1 "," OPC1 ",8000,12345",
                     "gpsi");
    expect_row_error("supi,k,opc,amf,not_after",
                     "imsi-001010000000001," K1 "," OPC1 ",8000,2030-02-31T00:00:00Z",
                     "not_after");

    struct sub_csv_columns cols;
    char err[128];
    assert_int_equal(sub_csv_header("supi,k,amf", &cols, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_int_equal(sub_csv_header("supi,k,opc,amf,colour", &cols, err, sizeof(err)),
                     IOTSEC_ERR_INVALID);
    assert_non_null(strstr(err, "colour"));
    assert_int_equal(sub_csv_header("supi,k,k,opc,amf", &cols, err, sizeof(err)),
                     IOTSEC_ERR_INVALID);
}

static void test_json_rows(void **state)
{
    (void)state;
    struct sub_input in;
    char err[128];
    assert_int_equal(sub_json_row("{\"supi\":\"nai-meter7@utility.example\",\"k\":\"" K1
                                  "\",\"op\":\"" OP1 "\",\"amf\":\"8000\",\"owner\":\"acme\"}",
                                  &in, err, sizeof(err)),
                     IOTSEC_OK);
    assert_int_equal(in.supi.type, SUPI_NAI);
    assert_string_equal(in.owner, "acme");
    static const char *bad[] = {
        "", "[]", "{\"supi\":1}", "{\"supi\":\"imsi-001010000000001\"}",
        "{\"supi\":\"imsi-001010000000001\",\"k\":\"" K1 "\",\"opc\":\"" OPC1
        "\",\"amf\":\"8000\",\"pin\":\"1234\"}",
        "{\"supi\":\"imsi-001010000000001\",\"supi\":\"imsi-001010000000002\"}",
        "{\"supi\":\"imsi-001010000000001\",\"k\":\"" K1 "\",\"opc\":\"" OPC1 "\",\"amf\":\"8000\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sub_json_row(bad[i], &in, err, sizeof(err)) != IOTSEC_ERR_INVALID)
            fail_msg("accepted JSON row %zu", i);
    }
}

static void test_time_parsing(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(sub_parse_time("1970-01-01T00:00:00Z", &t), IOTSEC_OK);
    assert_int_equal(t, 0);
    assert_int_equal(sub_parse_time("2030-01-01T01:00:00+01:00", &t), IOTSEC_OK);
    assert_int_equal(t, 1893456000);
    assert_int_equal(sub_parse_time("2029-12-31T23:00:00.250-01:00", &t), IOTSEC_OK);
    assert_int_equal(t, 1893456000);
    char buf[32];
    sub_format_time(1893456000, buf, sizeof(buf));
    assert_string_equal(buf, "2030-01-01T00:00:00Z");
    static const char *bad[] = {"2030-01-01", "2030-01-01T00:00:00", "2030-13-01T00:00:00Z",
                                "2030-01-01T24:00:00Z", "2030-01-01T00:00:00Zjunk",
                                "2030-01-01T00:00:00+1:00", "yesterday", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sub_parse_time(bad[i], &t) != IOTSEC_ERR_INVALID)
            fail_msg("accepted time '%s'", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_with_opc_and_op),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_json_rows),
        cmocka_unit_test(test_time_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
