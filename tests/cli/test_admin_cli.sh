#!/usr/bin/env bash
# `iotsecctl --dir DIR subscriber ...` against a live iotsecd: every command, the JSON it
# prints, the exit codes of failures, and no key ever printed back.
# usage: test_admin_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin admin-cli "$1"

K=465b5ce8b199b49faa5f0a2ee238a6bc
OP=cdc202d5123e20f62b6d676ac72cb318

start_daemon

run "add" 0 '.supi == "imsi-001010000000001" and .state == "active" and .credential_version == 1' \
    subscriber add --supi imsi-001010000000001 --k $K --op $OP --amf 8000 --gpsi msisdn-447700900001
run "add EAP-AKA'" 0 '.auth_method == "EAP_AKA_PRIME" and .not_after == "2030-01-01T00:00:00Z"' \
    subscriber add --supi nai-meter9@utility.example --k $K --opc $OP --amf 8000 --auth-method EAP_AKA_PRIME --not-after 2030-01-01T00:00:00Z
run "add duplicate" 2 - subscriber add --supi imsi-001010000000001 --k $K --op $OP --amf 8000
run "add without separation bit" 2 - subscriber add --supi imsi-001010000000009 --k $K --op $OP --amf 0000
run "add missing --amf" 2 - subscriber add --supi imsi-001010000000009 --k $K --op $OP
run "add op and opc" 2 - subscriber add --supi imsi-001010000000009 --k $K --op $OP --opc $OP --amf 8000
run "show" 0 '.gpsi == "msisdn-447700900001" and (has("k") | not) and (has("opc") | not) and (.recent_auth_events | length) == 0' subscriber show imsi-001010000000001
run "show unknown" 1 - subscriber show imsi-001010000000999
run "show bad supi" 2 - subscriber show 'imsi-0010/../x'

printf 'supi,k,op,amf,sqn\nimsi-001010000000101,%s,%s,8000,000000000020\nimsi-001010000000102,%s,%s,8000,\n' $K $OP $K $OP >"$dir/subs.csv"
run "import csv" 0 '.imported == 2' subscriber import "$dir/subs.csv"
run "import csv again (all or nothing)" 2 - subscriber import "$dir/subs.csv"
printf '{"supi":"imsi-001010000000201","k":"%s","opc":"%s","amf":"8000"}\n{"supi":"imsi-001010000000202","k":"%s","opc":"%s","amf":"8000"}\n' $K $OP $K $OP >"$dir/subs.jsonl"
run "import jsonl" 0 '.imported == 2' subscriber import "$dir/subs.jsonl"
printf 'supi,k,op,amf\nimsi-001010000000301,%s,zz,8000\n' $K >"$dir/bad.csv"
run "import bad row" 2 - subscriber import "$dir/bad.csv"
grep -q 'line 2' "$dir/err" && ok || ko "import bad row: the error does not name line 2: $(cat "$dir/err")"
run "import missing file" 2 - subscriber import "$dir/none.csv"

run "list" 0 '(.items | length) == 6' subscriber list
run "list page" 0 '(.items | length) == 2 and has("next")' subscriber list --limit 2
run "list bad state" 2 - subscriber list --state sleeping

# Rotation of a SIM added by hand (no over-the-air channel): refused without keys, nothing
# changed; with the operator's keys from a file or stdin, said so; keys never printed back.
run "rotate without a channel" 2 - subscriber rotate imsi-001010000000001
grep -q -- '--keys-file' "$dir/err" && ok || ko "rotate refusal does not say what to do: $(cat "$dir/err")"
run "rotate refused: unchanged" 0 '.credential_version == 1' subscriber show imsi-001010000000001
K2=00112233445566778899aabbccddeeff
OPC2=0f0e0d0c0b0a09080706050403020100
printf '# new keys\nK=%s\nOPC=%s\n' $K2 $OPC2 >"$dir/keys"
run "rotate with a keys file" 0 '.credential_version == 2 and .rotation == "operator_supplied"' \
    subscriber rotate imsi-001010000000001 --keys-file "$dir/keys"
if grep -qi "$K2\|$OPC2" "$dir/last" "$dir/err"; then ko "rotate printed a key"; else ok; fi
printf '{"k":"%s","op":"%s"}' $K2 $OP >"$dir/keys.json"
run "rotate with keys on stdin" 0 '.credential_version == 3 and .rotation == "operator_supplied"' \
    subscriber rotate imsi-001010000000001 --keys-file - <"$dir/keys.json"
if grep -qi "$K2\|$OP" "$dir/last" "$dir/err"; then ko "rotate printed a key"; else ok; fi
printf 'K=%s\n' $K2 >"$dir/half"
run "rotate with half the keys" 2 - subscriber rotate imsi-001010000000001 --keys-file "$dir/half"
if grep -qi "$K2" "$dir/err"; then ko "the refusal echoed a key"; else ok; fi
run "rotate: no keys on the command line" 2 - subscriber rotate imsi-001010000000001 --k $K2
run "rotate unknown" 1 - subscriber rotate imsi-001010000000999
run "suspend" 0 '.state == "suspended"' subscriber suspend imsi-001010000000001
run "list suspended" 0 '(.items | length) == 1' subscriber list --state suspended
run "resume" 0 '.state == "active"' subscriber resume imsi-001010000000001
run "revoke" 0 '.state == "revoked"' subscriber revoke imsi-001010000000001
run "resume revoked" 2 - subscriber resume imsi-001010000000001
grep -q '409 .*resume: not allowed while the subscription is revoked' "$dir/err" && ok ||
    ko "the 409 does not say the state: $(cat "$dir/err")"
run "delete" 0 - subscriber delete imsi-001010000000001
run "show deleted" 1 - subscriber show imsi-001010000000001
run "hn-keys" 0 '(.items | length) == 2 and .items[0].profile == "A" and .hn_keys == .items' hn-keys

if grep -qi "$K\|$OP" "$dir/all-stdout" "$dir/all-stderr"; then ko "a key was printed back"; else ok; fi

# Without an instance, or with the daemon gone.
out=$(env -u IOTSEC_DIR "$ctl" subscriber list 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q -- '--dir' <<<"$out" && ok || ko "no --dir: exit $rc: $out"
kill $pid; wait $pid; pid=""
run "daemon stopped" 1 - subscriber list
grep -q 'cannot reach' "$dir/err" && ok || ko "daemon stopped: message: $(cat "$dir/err")"

cli_end
