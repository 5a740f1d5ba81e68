/* The flow parsers: good records of each format, and every kind of bad input the issue
 * names (truncated lines, wrong field counts, huge numbers, non-UTF-8, empty files). A bad
 * line is an error code, never a crash; a stream counts it and goes on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/analytics.h"
#include "base/err.h"

static const char *iot23_header =
    "ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration,orig_bytes,"
    "resp_bytes,conn_state,local_orig,local_resp,missed_bytes,history,orig_pkts,orig_ip_bytes,"
    "resp_pkts,resp_ip_bytes,tunnel_parents,label,detailed-label";

static int parse(struct an_parser *p, const char *line, struct an_flow *f, struct an_label *l)
{
    return an_parse_line(p, line, strlen(line), f, l);
}

static void test_iot23_good(void **state)
{
    (void)state;
    struct an_parser p;
    struct an_flow f;
    struct an_label l;
    an_parser_init(&p, AN_FMT_IOT23);
    assert_int_equal(parse(&p, iot23_header, &f, &l), AN_LINE_SKIP);
    assert_int_equal(parse(&p,
                           "1545403816.962094,CrDn,192.168.1.195,41040,185.244.25.235,80,"
                           "tcp,,3.139211,0,0,S0,,,0,S,3,180,0,0,,Malicious,C&C",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_true(f.ts > 1545403816.96 && f.ts < 1545403816.97);
    assert_int_equal(f.proto, AN_PROTO_TCP);
    assert_int_equal(f.outcome, AN_OUT_FAILED); /* SYN, no SYN-ACK */
    assert_int_equal(f.orig_port, 41040);
    assert_int_equal(f.resp_port, 80);
    assert_int_equal(f.orig_pkts, 3);
    assert_true(l.present && l.malicious);
    assert_string_equal(l.detail, "C&C");
    char text[64];
    an_addr_format(&f.resp, text, sizeof(text));
    assert_string_equal(text, "185.244.25.235");
    /* Missing values are empty; a benign UDP reply is "established". */
    assert_int_equal(parse(&p,
                           "1537522897.7,C,192.168.2.1,5353,224.0.0.251,5353,udp,dns,,,,S0,"
                           ",,0,D,1,391,0,0,,benign,-",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_NOREPLY);
    assert_false(l.malicious);
    assert_string_equal(l.detail, "");
    /* A history without the SYN began mid-connection: says nothing of the opening. */
    assert_int_equal(parse(&p,
                           "1.0,C,192.168.2.3,1,52.1.1.1,80,tcp,,,,,SH,,,0,F,1,40,0,0,,"
                           "benign,-",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_MIDSTREAM);
    /* Windows line ends are tolerated. */
    assert_int_equal(parse(&p,
                           "2.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,1,1,1,SF,,,0,ShAD,1,1,1,1,,"
                           "benign,-\r",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_ESTABLISHED);
}

static void test_iot23_malformed(void **state)
{
    (void)state;
    struct an_parser p;
    struct an_flow f;
    struct an_label l;
    an_parser_init(&p, AN_FMT_IOT23);
    /* A data line before any header. */
    assert_int_equal(
        parse(&p, "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-", &f, &l),
        IOTSEC_ERR_INVALID);
    assert_int_equal(parse(&p, iot23_header, &f, &l), AN_LINE_SKIP);
    const char *bad[] = {
        "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp",                                    /* truncated */
        "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-,x",   /* one too many */
        "1.0,C,10.0.0.1,99999,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-", /* port */
        "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,99999999999999999999999,,S0,,,0,S,1,1,0,0,,benign,-",
        "1e300,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-", /* ts out of range */
        "nan,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-",
        "-5,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-",
        "1.0,C,10.0.0.\xff,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-", /* non-UTF-8 */
        "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S\xc3\x28,1,1,0,0,,benign,-",
        "1.0,C,10.0.0.1,1,not-an-ip,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-",
        ",C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-",        /* no ts */
        "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,maybe,-",      /* label */
        "1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,0x10,,,S0,,,0,S,1,1,0,0,,benign,-", /* hex float */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&p, bad[i], &f, &l), IOTSEC_ERR_INVALID);
    assert_int_equal(parse(&p, "", &f, &l), AN_LINE_SKIP);
}

static void test_zeek_tsv(void **state)
{
    (void)state;
    struct an_parser p;
    struct an_flow f;
    struct an_label l;
    an_parser_init(&p, AN_FMT_ZEEK);
    assert_int_equal(parse(&p, "#separator \\x09", &f, &l), AN_LINE_SKIP);
    /* The labelled IoT-23 logs: label columns appended to the last one with spaces. */
    assert_int_equal(parse(&p,
                           "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
                           "proto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\t"
                           "history\torig_pkts\tresp_pkts\ttunnel_parents   label   "
                           "detailed-label",
                           &f, &l),
                     AN_LINE_SKIP);
    assert_int_equal(parse(&p, "#types\ttime\tstring", &f, &l), AN_LINE_SKIP);
    assert_int_equal(parse(&p,
                           "1533042911.474174\tC5J\t192.168.100.113\t123\t81.2.254.224\t123"
                           "\tudp\t-\t0.005490\t48\t48\tSF\tDd\t1\t1\t(empty)   Benign   -",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.proto, AN_PROTO_UDP);
    assert_int_equal(f.outcome, AN_OUT_ESTABLISHED);
    assert_true(l.present && !l.malicious);
    assert_int_equal(parse(&p,
                           "1533042911.5\tC\t192.168.100.113\t1\t1.2.3.4\t50\ttcp\t-\t-\t-"
                           "\t-\tS0\tS\t1\t0\t-   Malicious   C&C",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_FAILED);
    assert_true(l.malicious);
    assert_string_equal(l.detail, "C&C");
    /* Wrong field count, a truncated line, a bad number. */
    assert_int_equal(parse(&p, "1.0\tC\t10.0.0.1", &f, &l), IOTSEC_ERR_INVALID);
    assert_int_equal(parse(&p,
                           "1.0\tC\t10.0.0.1\t1\t1.2.3.4\t50\ttcp\t-\t-\t-\t-\tS0\tS\t1\t"
                           "184467440737095516160\t-   Benign   -",
                           &f, &l),
                     IOTSEC_ERR_INVALID);
    /* Without a #fields header, data is refused. */
    an_parser_init(&p, AN_FMT_ZEEK);
    assert_int_equal(parse(&p, "1.0\tC\t10.0.0.1\t1\t1.2.3.4\t50\ttcp", &f, &l),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(parse(&p, "#fields\tuid\tproto", &f, &l), IOTSEC_ERR_INVALID); /* no ts */
}

static void test_zeek_json(void **state)
{
    (void)state;
    struct an_parser p;
    struct an_flow f;
    struct an_label l;
    an_parser_init(&p, AN_FMT_ZEEK);
    assert_int_equal(parse(&p,
                           "{\"ts\":1591367999.305988,\"uid\":\"C\",\"id.orig_h\":"
                           "\"192.168.4.76\",\"id.orig_p\":36844,\"id.resp_h\":"
                           "\"192.168.4.1\",\"id.resp_p\":53,\"proto\":\"udp\","
                           "\"duration\":0.066,\"orig_bytes\":62,\"resp_bytes\":141,"
                           "\"conn_state\":\"SF\",\"orig_pkts\":2,\"resp_pkts\":2}",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.resp_port, 53);
    assert_int_equal(f.resp_bytes, 141);
    assert_false(l.present);
    assert_int_equal(parse(&p,
                           "{\"ts\":\"2020-06-05T14:39:59.305988Z\",\"id.orig_h\":\"fd00::1\","
                           "\"id.resp_h\":\"2001:db8::1\",\"proto\":\"tcp\",\"history\":\"Sr\"}",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_true(f.ts > 1591367999.3 && f.ts < 1591367999.31);
    assert_int_equal(f.outcome, AN_OUT_FAILED); /* refused: REJ */
    assert_false(an_addr_is_v4(&f.orig));
    const char *bad[] = {
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\"",                         /* truncated */
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"\xff\"}", /* non-UTF-8 */
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\",\"orig_bytes\":-1}",
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\",\"orig_bytes\":1e300}",
        "{\"ts\":\"yesterday\",\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\"}",
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\"}", /* no responder */
        "[1,2,3]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&p, bad[i], &f, &l), IOTSEC_ERR_INVALID);
}

static void test_jsonl(void **state)
{
    (void)state;
    struct an_parser p;
    struct an_flow f;
    struct an_label l;
    an_parser_init(&p, AN_FMT_JSONL);
    assert_int_equal(parse(&p,
                           "{\"ts\":1700000000.25,\"duration\":0.5,\"src\":\"10.1.2.3\","
                           "\"sport\":40000,\"dst\":\"198.51.100.7\",\"dport\":443,"
                           "\"proto\":\"tcp\",\"out_bytes\":120,\"in_bytes\":4000,"
                           "\"out_pkts\":3,\"in_pkts\":4,\"outcome\":\"failed\","
                           "\"future_field\":{\"x\":1}}",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_FAILED);
    assert_int_equal(f.resp_port, 443);
    assert_int_equal(f.resp_bytes, 4000);
    assert_int_equal(parse(&p,
                           "{\"ts\":1,\"src\":\"10.1.2.3\",\"dst\":\"1.2.3.4\",\"proto\":17,"
                           "\"label\":\"malicious\",\"detail\":\"DDoS\"}",
                           &f, &l),
                     AN_LINE_RECORD);
    assert_int_equal(f.proto, AN_PROTO_UDP);
    assert_true(l.malicious);
    assert_string_equal(l.detail, "DDoS");
    assert_int_equal(parse(&p, "   ", &f, &l), AN_LINE_SKIP);
    const char *bad[] = {
        "{\"ts\":1,\"src\":\"10.1.2.3\"}",
        "{\"ts\":1,\"src\":\"10.1.2.3\",\"dst\":\"1.2.3.4\",\"dport\":70000}",
        "{\"ts\":1,\"src\":\"10.1.2.3\",\"dst\":\"1.2.3.4\",\"out_bytes\":99999999999999999999999}",
        "{\"ts\":1,\"src\":\"10.1.2.3\",\"dst\":\"1.2.3.4\",\"outcome\":\"maybe\"}",
        "{\"ts\":1,\"src\":\"10.1.2.3\",\"dst\":\"1.2.3.4\",\"ts\":2}", /* duplicate key */
        "{\"ts\":-1,\"src\":\"10.1.2.3\",\"dst\":\"1.2.3.4\"}",
        "{\"ts\":1,\"src\":\"10.1.2.3\xc0\",\"dst\":\"1.2.3.4\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&p, bad[i], &f, &l), IOTSEC_ERR_INVALID);
}

static int count_record(void *arg, const struct an_flow *f, const struct an_label *l)
{
    (void)f, (void)l;
    (*(int *)arg)++;
    return 0;
}

/* A stream goes on past bad lines, counts them, and survives a 100 KB line and an empty
 * input. */
static void test_stream_counts_bad_lines(void **state)
{
    (void)state;
    size_t big = 100000;
    char *text = malloc(big + 1024);
    assert_non_null(text);
    int n = snprintf(text, 1024,
                     "%s\n1.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,"
                     "benign,-\ngarbage\n",
                     iot23_header);
    memset(text + n, 'x', big);
    strcpy(text + n + big, "\n2.0,C,10.0.0.1,1,10.0.0.2,80,tcp,,,,,S0,,,0,S,1,1,0,0,,benign,-");
    FILE *in = fmemopen(text, strlen(text), "r");
    assert_non_null(in);
    struct an_read_stats st;
    int records = 0;
    assert_int_equal(an_read_stream(in, AN_FMT_IOT23, count_record, &records, &st), IOTSEC_OK);
    fclose(in);
    assert_int_equal(records, 2);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.bad_lines, 2); /* "garbage" and the long line */
    assert_int_equal(st.first_bad_line, 3);
    assert_int_equal(st.lines, 5);
    free(text);

    in = fmemopen((void *)"", 0, "r");
    if (in == NULL) /* glibc refuses a zero-length buffer on some versions */
        in = tmpfile();
    assert_non_null(in);
    records = 0;
    assert_int_equal(an_read_stream(in, AN_FMT_ZEEK, count_record, &records, &st), IOTSEC_OK);
    assert_int_equal(st.records, 0);
    assert_int_equal(records, 0);
    fclose(in);
}

static void test_prefixes_and_formats(void **state)
{
    (void)state;
    struct an_prefixes p;
    struct an_addr a;
    assert_int_equal(an_prefixes_parse("10.0.0.0/8,fd00::/8", &p), IOTSEC_OK);
    assert_int_equal(an_addr_parse("10.200.1.1", 10, &a), IOTSEC_OK);
    assert_true(an_prefixes_contain(&p, &a));
    assert_int_equal(an_addr_parse("11.0.0.1", 8, &a), IOTSEC_OK);
    assert_false(an_prefixes_contain(&p, &a));
    assert_int_equal(an_addr_parse("fd12::5", 7, &a), IOTSEC_OK);
    assert_true(an_prefixes_contain(&p, &a));
    assert_int_equal(an_prefixes_parse("10.0.0.0/33", &p), IOTSEC_ERR_INVALID);
    assert_int_equal(an_prefixes_parse("10.0.0.0/", &p), IOTSEC_ERR_INVALID);
    assert_int_equal(an_prefixes_parse("", &p), IOTSEC_ERR_INVALID);
    an_prefixes_private(&p);
    assert_int_equal(an_addr_parse("172.20.0.1", 10, &a), IOTSEC_OK);
    assert_true(an_prefixes_contain(&p, &a));
    assert_int_equal(an_addr_parse("172.32.0.1", 10, &a), IOTSEC_OK);
    assert_false(an_prefixes_contain(&p, &a));
    enum an_format fmt;
    assert_int_equal(an_format_parse("iot23", &fmt), IOTSEC_OK);
    assert_int_equal(fmt, AN_FMT_IOT23);
    assert_int_equal(an_format_parse("pcap", &fmt), IOTSEC_ERR_INVALID);
}

/* DNS answers: Zeek's dns.log (TSV and JSON) and our line; CNAMEs skipped, TTLs kept, bad
 * answers refused; an_parse_line (flows only) skips them without calling them bad. */
static void test_dns_answers(void **state)
{
    (void)state;
    struct an_parser p;
    struct an_flow f;
    struct an_dns d;
    char a[64];
    an_parser_init(&p, AN_FMT_ZEEK);
    const char *hdr = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
                      "trans_id\tquery\tqtype_name\trcode_name\tanswers\tTTLs\trejected";
    assert_int_equal(an_parse_record(&p, hdr, strlen(hdr), &f, NULL, &d), AN_LINE_SKIP);
    const char *line = "1700000000.5\tC1\t10.20.0.10\t5353\t10.20.0.1\t53\tudp\t7\t"
                       "Cloud.PlugX.example\tA\tNOERROR\tedge.plugx.example,198.51.100.10,"
                       "198.51.100.11\t300.000000,60.000000,120.000000\tF";
    assert_int_equal(an_parse_record(&p, line, strlen(line), &f, NULL, &d), AN_LINE_DNS);
    assert_string_equal(d.query, "cloud.plugx.example");
    assert_int_equal(d.n, 2); /* the CNAME is skipped with its TTL */
    an_addr_format(&d.addr[1], a, sizeof(a));
    assert_string_equal(a, "198.51.100.11");
    assert_int_equal(d.ttl[0], 60);
    assert_int_equal(d.ttl[1], 120);
    an_addr_format(&d.client, a, sizeof(a));
    assert_string_equal(a, "10.20.0.10");
    assert_true(d.ts > 1700000000.4 && d.ts < 1700000000.6);
    /* flows only: a DNS line is skipped, not bad */
    assert_int_equal(an_parse_line(&p, line, strlen(line), &f, NULL), AN_LINE_SKIP);
    const char *nx = "1700000001\tC2\t10.20.0.10\t5353\t10.20.0.1\t53\tudp\t8\tnx.example\t"
                     "A\tNXDOMAIN\t-\t-\tF";
    assert_int_equal(an_parse_record(&p, nx, strlen(nx), &f, NULL, &d), AN_LINE_DNS);
    assert_int_equal(d.n, 0);
    const char *bad = "1700000001\tC2\t10.20.0.10\t5353\t10.20.0.1\t53\tudp\t8\tno..name\t"
                      "A\tNOERROR\t-\t-\tF";
    assert_int_equal(an_parse_record(&p, bad, strlen(bad), &f, NULL, &d), IOTSEC_ERR_INVALID);
    /* Zeek JSON */
    an_parser_init(&p, AN_FMT_ZEEK);
    const char *zj = "{\"ts\":1700000002.0,\"id.orig_h\":\"10.20.0.11\",\"query\":\"a.example\","
                     "\"answers\":[\"192.0.2.1\"],\"TTLs\":[30.0]}";
    assert_int_equal(an_parse_record(&p, zj, strlen(zj), &f, NULL, &d), AN_LINE_DNS);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ttl[0], 30);
    /* ours */
    an_parser_init(&p, AN_FMT_JSONL);
    const char *oj = "{\"ts\":1700000003,\"src\":\"fd00::5\",\"dns\":{\"query\":\"b.example.\","
                     "\"answers\":[\"2001:db8::1\",\"198.51.100.9\"],\"ttls\":[10,20]}}";
    assert_int_equal(an_parse_record(&p, oj, strlen(oj), &f, NULL, &d), AN_LINE_DNS);
    assert_string_equal(d.query, "b.example");
    assert_int_equal(d.n, 2);
    static const char *const bads[] = {
        "{\"ts\":1,\"src\":\"10.0.0.1\",\"dns\":{\"answers\":[]}}", /* no query */
        "{\"ts\":1,\"src\":\"10.0.0.1\",\"dns\":{\"query\":\"x.example\",\"answers\":\"1.2.3.4\"}}",
        "{\"ts\":1,\"src\":\"10.0.0.1\",\"dns\":{\"query\":\"x.example\",\"answers\":[\"1.2.3.4\"],"
        "\"ttls\":[-1]}}",
        "{\"ts\":1,\"src\":\"nope\",\"dns\":{\"query\":\"x.example\"}}",
        "{\"ts\":1,\"src\":\"10.0.0.1\",\"dns\":7}",
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
        assert_int_equal(an_parse_record(&p, bads[i], strlen(bads[i]), &f, NULL, &d),
                         IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iot23_good),
        cmocka_unit_test(test_iot23_malformed),
        cmocka_unit_test(test_zeek_tsv),
        cmocka_unit_test(test_zeek_json),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_stream_counts_bad_lines),
        cmocka_unit_test(test_prefixes_and_formats),
        cmocka_unit_test(test_dns_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
