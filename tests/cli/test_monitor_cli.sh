#!/usr/bin/env bash
# `iotsecctl analytics ingest|map|findings`, `policy ...` and `device release` against a live
# iotsecd: a Zeek TSV file streamed in several batches (its header sent again with each),
# a flood that quarantines a meter, the audit, the release, and the exit codes of bad input.
# usage: test_monitor_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin monitor-cli "$1"

start_daemon

for i in 1 2; do
    run "add $i" 0 - subscriber add --supi imsi-00101000000900$i --k 465b5ce8b199b49faa5f0a2ee238a6bc \
        --op cdc202d5123e20f62b6d676ac72cb318 --amf 8000
    run "map $i" 0 '.mapped == 1' analytics map --supi imsi-00101000000900$i --ip 10.80.0.$i --group b
done
run "map unknown SUPI" 1 - analytics map --supi imsi-001019999999999 --ip 10.80.0.9
run "map bad address" 2 - analytics map --supi imsi-001010000009001 --ip 10.80.0.900
run "map missing flag" 2 - analytics map --supi imsi-001010000009001

# A Zeek conn.log: meter 1 floods 203.0.113.7 (250 UDP flows in each of two minutes), meter 2
# uploads three readings, and 11000 flows of addresses nobody mapped (counted, dropped) make
# it three batches of at most 5000 lines.
tsv="$dir/conn.log"
{
    printf '#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n'
    printf '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n'
    awk 'BEGIN { t0 = 1700000040
        for (i = 0; i < 3; i++) printf "%.2f\tM%d\t10.80.0.2\t%d\t198.51.100.10\t443\ttcp\t-\t0.1\t900\t2400\tSF\t-\t-\t0\tShADadFf\t8\t1200\t7\t2700\t-\n", t0 + i * 20, i, 40000 + i
        for (i = 0; i < 11000; i++) printf "%.2f\tC%d\t10.99.%d.%d\t%d\t198.51.100.10\t443\ttcp\t-\t0.1\t900\t2400\tSF\t-\t-\t0\tShADadFf\t8\t1200\t7\t2700\t-\n", t0 + i * 0.01, i, i % 200, 1 + i % 250, 40000 + i % 20000
        for (w = 3; w < 5; w++) for (k = 0; k < 250; k++) printf "%.2f\tF%d\t10.80.0.1\t%d\t203.0.113.7\t80\tudp\t-\t0.1\t512\t0\tS0\t-\t-\t0\tD\t1\t540\t0\t0\t-\n", t0 + 60 * w + k * 0.2, w * 1000 + k, 1024 + k
        printf "%.2f\tZ\t10.80.0.2\t40000\t198.51.100.10\t443\ttcp\t-\t0.1\t900\t2400\tSF\t-\t-\t0\tShADadFf\t8\t1200\t7\t2700\t-\n", t0 + 301
    }'
    printf '#close\t2023-11-14-22-30-00\n'
} >"$tsv"
run "ingest zeek" 0 '.records == 11504 and .unmapped == 11000 and .batches == 3 and .rejected == 0 and .findings >= 2 and (.warning | type) == "string"' \
    analytics ingest --allow-unmapped --format zeek "$tsv"
for _ in $(seq 50); do
    "$ctl" --dir "$dir/inst" subscriber show imsi-001010000009001 | grep -q quarantined && break
    sleep 0.1
done
run "meter 1 quarantined" 0 '.state == "quarantined"' subscriber show imsi-001010000009001
run "meter 2 untouched" 0 '.state == "active"' subscriber show imsi-001010000009002
run "findings" 0 '[.findings[] | select(.abnormalBehaviour.excep.excepId == "SUSPICION_OF_DDOS_ATTACK"
    and .abnormalBehaviour.addtMeasInfo.ddosAttack.ipv4Addrs[0] == "203.0.113.7")] | length == 2' \
    analytics findings
run "audit" 0 '[.actions[] | select(.action == "quarantine")] | length == 1' \
    policy actions --supi imsi-001010000009001
run "policy show" 0 '.rules[0].actions == ["quarantine","notify"]' policy show
run "why (device actions)" 0 '.state == "quarantined" and ([.actions[] | select(.action == "quarantine")][0]
    | .finding.fired.victim == "203.0.113.7" and .finding.exception == "SUSPICION_OF_DDOS_ATTACK" and .finding_id > 0)' \
    device actions imsi-001010000009001
run "findings by SUPI, paged" 0 '(.findings | length) == 1 and (.next | type) == "number"' \
    analytics findings --supi imsi-001010000009001 --exception SUSPICION_OF_DDOS_ATTACK --limit 1
run "findings next page" 0 "(.findings | length) == 1 and .findings[0].id > $(jq .next "$dir/last")" \
    analytics findings --supi imsi-001010000009001 --limit 1 --after "$(jq .next "$dir/last")"
run "findings bad exception" 2 - analytics findings --exception NOPE
run "release (subscriber route, with who and why)" 0 \
    '.state == "active" and .reason == "meter inspected" and (.principal | startswith("alice (admin-cert:"))' \
    subscriber release imsi-001010000009001 --reason "meter inspected" --by alice
run "release again" 2 - device release imsi-001010000009001
run "release bad SUPI" 2 - device release 'imsi-1/../x'
run "audit after release" 0 '.actions[-1].action == "release" and .actions[-1].actor == "admin"
    and .actions[-1].reason == "meter inspected" and (.actions[-1].principal | startswith("alice"))' \
    policy actions --supi imsi-001010000009001

# The same behaviour after the release: the policy acts again (its open action was closed).
tsv2="$dir/conn2.log"
{
    head -n 3 "$tsv"
    awk 'BEGIN { t0 = 1700000040
        for (w = 6; w < 8; w++) for (k = 0; k < 250; k++) printf "%.2f\tG%d\t10.80.0.1\t%d\t203.0.113.7\t80\tudp\t-\t0.1\t512\t0\tS0\t-\t-\t0\tD\t1\t540\t0\t0\t-\n", t0 + 60 * w + k * 0.2, w * 1000 + k, 1024 + k
        printf "%.2f\tY\t10.80.0.2\t40000\t198.51.100.10\t443\ttcp\t-\t0.1\t900\t2400\tSF\t-\t-\t0\tShADadFf\t8\t1200\t7\t2700\t-\n", t0 + 60 * 8 + 1
    }'
} >"$tsv2"
run "ingest the flood again" 0 '.findings >= 1 and .unmapped == 0 and (has("warning") | not)' \
    analytics ingest --format zeek "$tsv2"
for _ in $(seq 50); do
    "$ctl" --dir "$dir/inst" subscriber show imsi-001010000009001 | grep -q quarantined && break
    sleep 0.1
done
run "quarantined again" 0 '.state == "quarantined"' subscriber show imsi-001010000009001
run "audit: two quarantines around the release" 0 \
    '[.actions[] | select(.action == "quarantine" or .action == "release") | .action] == ["quarantine","release","quarantine"]' \
    policy actions --supi imsi-001010000009001

# By hand: quarantine needs a reason; audited like the policy's.
run "quarantine without reason" 2 - subscriber quarantine imsi-001010000009002
run "quarantine by hand" 0 '.state == "quarantined"' \
    device quarantine imsi-001010000009002 --reason "tamper alarm from the field" --by bob
run "manual quarantine audited" 0 '.actions[-1].action == "quarantine" and .actions[-1].actor == "admin"
    and .actions[-1].reason == "tamper alarm from the field" and (.actions[-1].principal | startswith("bob"))' \
    policy actions --supi imsi-001010000009002
run "release without a reason: defaulted, said" 0 '.reason == "no reason given"' \
    subscriber release imsi-001010000009002 --by bob

# Mostly unmapped: a warning and exit 1 unless --allow-unmapped.
{ head -n 3 "$tsv"; sed -n 7,1006p "$tsv"; } >"$dir/unmapped.log"
run "ingest mostly unmapped" 1 '.unmapped == 1000 and (.warning | type) == "string"' \
    analytics ingest --format zeek "$dir/unmapped.log"
grep -q "warning" "$dir/err" || ko "no warning on stderr: $(cat "$dir/err")"

# Bad input: a bad line in the second batch stops the stream and names the file's line.
{ head -n 3 "$tsv"; sed -n 4,5200p "$tsv"; printf 'garbage\tline\n'; } >"$dir/bad.log"
run "ingest bad line" 2 '.rejected > 0 and .batches == 1' analytics ingest --format zeek "$dir/bad.log"
grep -q "line 5201 " "$dir/err" || ko "the bad line's number: $(cat "$dir/err")"
run "ingest unknown format" 2 - analytics ingest --format pcap "$tsv"
run "ingest missing file" 2 - analytics ingest --format zeek "$dir/nope"
echo '{"rules":[{"exception":"NOPE","actions":[]}]}' >"$dir/policy.json"
run "policy set bad" 2 - policy set "$dir/policy.json"
echo '{"rules":[{"exception":"*","min_level":1,"actions":["throttle"]}],"throttle_kbps":32}' >"$dir/policy.json"
run "policy set" 0 '.throttle_kbps == 32' policy set "$dir/policy.json"
run "throttles" 0 '(.items | type == "array") and .throttles == .items' policy throttles

cli_end
