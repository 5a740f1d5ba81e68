#!/usr/bin/env bash
# iotsecctl's provisioning commands against a live iotsecd: manufacturer, enrollment (the
# generated group key printed once and never listed), gateway, activate (all or nothing),
# device, owner, audit, provisioning-key; usage errors exit 2.
# usage: test_provision_cli.sh BUILD_DIR
set -u
build=$1
ctl="$build/tools/iotsecctl/iotsecctl"
iotsecd="$build/src/daemon/iotsecd"
dir=$(mktemp -d /tmp/iotsec-provcli-XXXXXX)
pass=0
fail=0
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; }
pick_port() { local p; while :; do p=$((20000 + RANDOM % 40000)); port_free $p && { echo $p; return; }; done; }

# run NAME WANT_EXIT JQ_CHECK|- CMD...
run() {
    local name=$1 want=$2 check=$3 out rc
    shift 3
    out=$("$ctl" --dir "$dir/inst" "$@" 2>"$dir/err")
    rc=$?
    echo "$out" >"$dir/last"
    if [ $rc -ne "$want" ]; then
        ko "$name: exit $rc, want $want ($(cat "$dir/err"))"
    elif [ "$check" != - ] && ! jq -e "$check" <<<"$out" >/dev/null 2>&1; then
        ko "$name: output '$out' fails $check"
    else
        ok
    fi
}

"$iotsecd" init --dir "$dir/inst" --sbi 127.0.0.1:$(pick_port) --admin 127.0.0.1:$(pick_port) \
    --northbound 127.0.0.1:0 --device 127.0.0.1:0 >/dev/null || { echo "init failed"; exit 1; }
"$iotsecd" run --dir "$dir/inst" >"$dir/ready" 2>"$dir/log" &
pid=$!
for _ in $(seq 300); do [ -s "$dir/ready" ] && break; sleep 0.05; done
grep -q '"event":"ready"' "$dir/ready" || { echo "daemon did not start"; cat "$dir/log"; exit 1; }

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

echo "provisioning cli: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "daemon log:"; tail -20 "$dir/log"; }
[ $fail -eq 0 ]
