#!/usr/bin/env bash
# iotsecctl's provisioning commands against a live iotsecd: manufacturer, enrollment (the
# generated group key printed once and never listed), gateway, activate (all or nothing),
# device, owner, audit, provisioning-key; usage errors exit 2.
# usage: test_provision_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin provisioning-cli "$1"

start_daemon

run "provisioning-key" 0 '.algorithm == "Ed25519" and (.public_key | length) == 43' provisioning-key
run "manufacturer add" 0 '.id == 1 and .name == "acme"' manufacturer add --name acme --ca "$dir/inst/pki/ca.crt"
run "manufacturer add again" 2 - manufacturer add --name acme --ca "$dir/inst/pki/ca.crt"
run "manufacturer add bad CA" 2 - manufacturer add --name evil --ca /etc/hostname
run "enrollment add derived" 0 '.id == 1 and (.group_key | length) == 43' \
    enrollment add --kind group --attestation derived-key --supi-first imsi-001010000000000 \
    --supi-last imsi-001010000000099 --owner tenant-a --service '{"apn":"meters"}'
run "enrollment add x509" 0 '.id == 2 and .manufacturer_id == 1 and (has("group_key") | not)' \
    enrollment add --kind group --attestation x509 --manufacturer acme \
    --supi-first imsi-001010000000100 --supi-last imsi-001010000000199 --reprovision reset
run "enrollment list never shows a key" 0 '(.enrollments | length) == 2 and ([.enrollments[] | has("group_key")] | any | not)' enrollment list
run "enrollment add bad range" 2 - enrollment add --kind group --attestation x509 --manufacturer acme \
    --supi-first imsi-0010100001 --supi-last imsi-001010000000199
run "enrollment add missing flag" 2 - enrollment add --kind group
run "enrollment disable" 0 '.enabled == false' enrollment disable 2
run "enrollment enable" 0 '.enabled == true' enrollment enable 2
run "enrollment disable unknown" 1 - enrollment disable 99
run "gateway add" 0 '.name == "gw1" and .enrollments == [1]' gateway add --name gw1 --cert "$dir/inst/pki/nf.crt" --enrollment 1
printf '{"registration_id":"m-1","account":"12B","service":{"tariff":"night"}}\n{"serial":"0abc","account":"9C"}\n' >"$dir/ok.jsonl"
printf '{"registration_id":"m-1","account":"12B"}\n{"registration_id":"m 2","account":"x"}\n' >"$dir/bad.jsonl"
printf '{"registration_id":"m-1","account":"12B"}\nnot json\n' >"$dir/notjson.jsonl"
run "activate bad line" 2 - activate "$dir/bad.jsonl"
grep -q "line 2" "$dir/err" || ko "activate bad line: the message names line 2"
run "activate not json" 2 - activate "$dir/notjson.jsonl"
run "activate" 0 '.pending == 2 and .results == "pp" and .lines[0].registration_id == "m-1"' activate "$dir/ok.jsonl"
run "activate missing file" 2 - activate "$dir/nope.jsonl"
run "device list" 0 '.devices == []' device list
run "device show unknown" 1 - device show m-1
run "device show bad id" 2 - device show 'a/b'
run "device rotate unknown" 1 - device rotate m-1
run "owner add" 0 '.name == "bob"' owner add --name bob --public-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
run "owner add bad key" 2 - owner add --name eve --public-key short
echo -n "AAAA" >"$dir/voucher"
run "device transfer unknown device" 1 - device transfer m-1 --to bob --voucher "$dir/voucher"
run "device accept unknown" 1 - device accept m-1 --owner bob
run "audit" 0 '.expiring_soon == [] and .expired == [] and .revoked_seen == [] and .shared == []' audit
run "audit unknown subcommand" 2 - audit bogus
run "audit credentials extra arg" 2 - audit credentials extra
# Rotation on a schedule: --max-credential-age DAYS, sent as seconds.
run "enrollment add max credential age" 0 '.max_credential_age_s == 7776000' \
    enrollment add --kind group --attestation derived-key --supi-first imsi-001010000000300 \
    --supi-last imsi-001010000000399 --max-credential-age 90
run "enrollment add max credential age 0" 2 - enrollment add --kind group --attestation derived-key \
    --supi-first imsi-001010000000400 --supi-last imsi-001010000000499 --max-credential-age 0
run "enrollment add max credential age not a number" 2 - enrollment add --kind group \
    --attestation derived-key --supi-first imsi-001010000000400 --supi-last imsi-001010000000499 \
    --max-credential-age 90d

# Read back (issue 16): lists with filters and paging, shows, update, delete; the daemon's
# refusal of a bad filter names it.
run "enrollment update" 0 '.name == "meters" and .quota == 10' enrollment update 1 --name meters --quota 10
run "enrollment show by name" 0 '.id == 1 and .quota == 10' enrollment show meters
run "enrollment list filtered" 0 '(.enrollments | length) == 1 and .enrollments[0].name == "meters"' \
    enrollment list --owner tenant-a
run "enrollment list page 1" 0 '(.enrollments | length) == 2 and .next == 2' enrollment list --limit 2
run "enrollment list page 2" 0 '(.enrollments | length) == 1 and (has("next") | not)' enrollment list --limit 2 --after 2
run "enrollment list bad filter" 2 - enrollment list --kind batch
grep -q "kind" "$dir/err" || ko "enrollment list bad filter: the message names kind"
run "enrollment list unknown flag" 2 - enrollment list --colour red
run "enrollment add overlapping" 2 - enrollment add --kind group --attestation derived-key \
    --supi-first imsi-001010000000050 --supi-last imsi-001010000000150
grep -q "enrollment 1" "$dir/err" || ko "enrollment add overlapping: the message names enrollment 1"
run "enrollment add named" 0 '.name == "spare"' enrollment add --kind group --attestation derived-key \
    --supi-first imsi-001010000000500 --supi-last imsi-001010000000599 --name spare
run "enrollment list by name" 0 '(.enrollments | length) == 1 and .enrollments[0].name == "spare"' enrollment list --name spare
run "enrollment delete" 0 - enrollment delete 3
run "enrollment show deleted" 1 - enrollment show 3
run "manufacturer show" 0 '.name == "acme" and (has("ca_pem") | not)' manufacturer show 1
run "gateway list" 0 '(.items | length) == 1 and .items[0].name == "gw1"' gateway list --enrollment 1
run "gateway show" 0 '.enrollments == [1]' gateway show 1
run "owner list" 0 '(.items | length) == 1 and .items[0].name == "bob"' owner list
run "owner show" 0 '.name == "bob" and (.public_key | length) == 43' owner show bob
run "activation list" 0 '(.items | length) == 2 and ([.items[].state] | unique) == ["pending"]' activation list --state pending
run "activation list by account" 0 '(.items | length) == 1 and .items[0].serial == "0abc"' activation list --account 9C
run "activation show" 0 '.account == "12B" and .service.tariff == "night"' activation show reg:m-1
run "device list filtered" 0 '.devices == []' device list --enrollment 1 --state onboarded
run "device list bad state" 2 - device list --state pending
grep -q "state" "$dir/err" || ko "device list bad state: the message names state"

cli_end
