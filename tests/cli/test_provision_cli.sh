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

cli_end
