#!/usr/bin/env bash
# `iotsecctl --dir DIR af|consent|group|expose|audit ...` against a live iotsecd: the outputs
# the operator relies on (af_id, consent_id, external_ids per SUPI), usage errors (exit 2),
# refusals, and `audit verify` before and after a row is altered in the database.
# usage: test_expose_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin expose-cli "$1"

start_daemon

for n in a b c; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$dir/$n.key" -out "$dir/$n.pem" -subj "/CN=af $n" >/dev/null 2>&1
done
K=000102030405060708090a0b0c0d0e0f
for i in 1 2 3; do
    "$ctl" --dir "$dir/inst" subscriber add --supi imsi-00101000000000$i --k $K --opc $K \
        --amf 8000 >/dev/null || ko "subscriber $i"
done

run "af add" 0 '.af_id | startswith("af-")' af add --name "AF A" --cert "$dir/a.pem" --services monitoring-event
A=$(jq -r .af_id <<<"$out")
run "af add b" 0 '.af_id' af add --name "AF B" --cert "$dir/b.pem" --services monitoring-event,as-session-with-qos
B=$(jq -r .af_id <<<"$out")
run "af add same cert" 2 - af add --name again --cert "$dir/a.pem" --services monitoring-event
run "af add private key" 2 - af add --name k --cert "$dir/a.key" --services monitoring-event
run "af add bad service" 2 - af add --name x --cert "$dir/b.pem" --services teleport
run "af add no name" 2 - af add --cert "$dir/b.pem" --services monitoring-event
run "af list" 0 "(.afs | length) == 2 and (.afs[] | select(.af_id == \"$B\") | .services) == \"monitoring-event as-session-with-qos\"" af list
# the allow-list of notification destinations (otherwise refused: loopback, private...)
run "af update dest" 0 '.allow_destinations == ["127.0.0.1/32:8443", "[fd00::]/8"]' \
    af update "$A" --allow-destination 127.0.0.1:8443,fd00::/8
run "af update none" 0 '.allow_destinations == []' af update "$A" --allow-destination none
run "af update bad cidr" 2 - af update "$A" --allow-destination 10.0.0.0/33
run "af update hostname" 2 - af update "$A" --allow-destination intranet.example
run "af update unknown" 1 - af update af-nope --allow-destination 10.0.0.0/8
run "af update no flag" 2 - af update "$A"
run "af add dest" 0 '.af_id' af add --name "AF C" --cert "$dir/c.pem" --services monitoring-event \
    --allow-destination 10.20.0.0/16:443
run "af list dest" 0 '[.afs[] | select(.name == "AF C") | .allow_destinations[0]] == ["10.20.0.0/16:443"]' af list

run "consent supi" 0 '.consent_id and (.external_ids["imsi-001010000000001"] | test("^[a-z2-7]{32}@"))' \
    consent grant --af "$A" --scope monitoring-event --supi imsi-001010000000001 --expires 2099-01-01T00:00:00Z
C1=$(jq -r .consent_id <<<"$out")
XA=$(jq -r '.external_ids["imsi-001010000000001"]' <<<"$out")
run "consent b" 0 '.consent_id' consent grant --af "$B" --scope monitoring-event --supi imsi-001010000000001
XB=$(jq -r '.external_ids["imsi-001010000000001"]' <<<"$out")
[ "$XA" != "$XB" ] && ok || ko "two AFs got the same external id"
run "group add" 0 '.added == 2' group add --group fleet-1 --supi imsi-001010000000002,imsi-001010000000003
run "group consent" 0 '(.external_ids | length) == 2' consent grant --af "$A" --scope monitoring-event --group fleet-1
run "group add later" 0 - group add --group fleet-1 --supi imsi-001010000000001
run "group unknown supi" 2 - group add --group fleet-1 --supi imsi-001010000000009
run "consent both" 2 - consent grant --af "$A" --scope monitoring-event --supi imsi-001010000000001 --group fleet-1
run "consent neither" 2 - consent grant --af "$A" --scope monitoring-event
run "consent past" 2 - consent grant --af "$A" --scope monitoring-event --supi imsi-001010000000001 --expires 2000-01-01T00:00:00Z
run "consent unknown af" 2 - consent grant --af af-nope --scope monitoring-event --supi imsi-001010000000001
run "consent unregistered scope" 2 - consent grant --af "$A" --scope as-session-with-qos --supi imsi-001010000000001
run "consent unknown supi" 2 - consent grant --af "$A" --scope monitoring-event --supi imsi-001010000000009
run "consent revoke" 0 '.revoked == true' consent revoke "$C1"
run "consent revoke twice" 1 - consent revoke "$C1"
run "consent revoke bad id" 2 - consent revoke 'x/../y'
run "opt-out" 0 '.opt_out == true' consent opt-out --supi imsi-001010000000002
run "opt-in" 0 '.opt_out == false' consent opt-in --supi imsi-001010000000002
run "opt-out unknown" 2 - consent opt-out --supi imsi-001010000000009
# Read back (issue 16): the external IDs printed once at grant time, and the filters.
run "consent show" 0 ".supi == \"imsi-001010000000001\" and .state == \"revoked\" and .external_ids[\"imsi-001010000000001\"] == \"$XA\"" consent show "$C1"
run "consent list by af" 0 '(.items | length) == 2 and ([.items[].af_id] | unique | length) == 1' consent list --af "$A"
run "consent list page" 0 '(.items | length) == 1 and .next' consent list --limit 1
run "consent list revoked" 0 "(.items | length) == 1 and .items[0].consent_id == \"$C1\"" consent list --state revoked
run "consent list group" 0 '(.items | length) == 1 and .items[0].group == "fleet-1"' consent list --group fleet-1
GC=$(jq -r '.items[0].consent_id' <<<"$out")
run "consent show group" 0 '(.external_ids | length) == 3' consent show "$GC"
run "consent list bad supi" 2 - consent list --supi alice
grep -q supi "$dir/err" || ko "consent list bad supi: the message names supi"
run "consent show unknown" 1 - consent show consent-0000000000000000
run "af show" 0 ".name == \"AF A\"" af show "$A"
run "af list disabled" 0 '.afs == []' af list --state disabled

run "rotate" 0 '.kid' expose rotate-signing-key
KID=$(jq -r .kid <<<"$out")
run "retire current" 2 - expose retire-signing-key "$KID"
run "retire unknown" 1 - expose retire-signing-key nosuchkid

run "af disable" 0 '.state == "disabled"' af disable "$B"
run "af enable" 0 '.state == "active"' af enable "$B"
run "af disable unknown" 1 - af disable af-0000

run "audit log" 0 '.records | type == "array"' audit log --af "$A"
run "audit log bad af" 2 - audit log --af 'a b'
run "audit verify" 0 '.ok == true' audit verify
# a token request puts records in the log; then one is altered behind the schema's back
curl -s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/a.pem" --key "$dir/a.key" \
    -d grant_type=client_credentials "$(jq -r .northbound "$dir/ready")/oauth2/token" >/dev/null
curl -s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/a.pem" --key "$dir/a.key" \
    -d grant_type=password "$(jq -r .northbound "$dir/ready")/oauth2/token" >/dev/null
# records reach the database in the writer's next group commit: wait for both
for _ in $(seq 100); do
    "$ctl" --dir "$dir/inst" audit log --af "$A" 2>/dev/null |
        jq -e '[.records[].reason] | index("ISSUED") and index("UNSUPPORTED_GRANT_TYPE")' \
            >/dev/null && break
    sleep 0.05
done
run "operator actions audited" 0 '[.records[] | select(.principal == "admin") | .action] | index("consent.revoke") and index("af.register") and index("key.rotate")' audit log
run "no supi in the audit" 0 '[.records[] | .resource | test("0010100000")] | any | not' audit log
run "audit log has them" 0 '([.records[].reason] | index("ISSUED")) and ([.records[].reason] | index("UNSUPPORTED_GRANT_TYPE"))' audit log --af "$A"
sqlite3 -cmd ".timeout 5000" "$dir/inst/iotsec.db" "UPDATE expose_audit SET allow = 1 WHERE seq = 1" 2>/dev/null \
    && ko "the audit table accepted an UPDATE" || ok
sqlite3 -cmd ".timeout 5000" "$dir/inst/iotsec.db" "DROP TRIGGER expose_audit_no_update; UPDATE expose_audit SET allow = 1 - allow WHERE seq = 1"
run "audit verify tampered" 1 '.ok == false and .first_bad_seq == 1 and .record.seq == 1' audit verify

cli_end
