#!/usr/bin/env bash
# The command line for people (issue 16): --version, -h on every command and subcommand,
# IOTSEC_DIR, --output json|table|csv, the server's invalidParams shown, config errors naming the
# key and the line, `init` refusing bad MCC/MNC and ports, and `iotsecctl backup`.
# usage: test_ops_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin ops-cli "$1"

K=465b5ce8b199b49faa5f0a2ee238a6bc
OP=cdc202d5123e20f62b6d676ac72cb318

# --version, -h: exit 0 on stdout
"$ctl" --version | grep -qE '^iotsecctl [0-9]+\.[0-9]+' && ok || ko "iotsecctl --version"
"$iotsecd" --version | grep -qE '^iotsecd [0-9]+\.[0-9]+' && ok || ko "iotsecd --version"
"$ctl" -h | grep -q '^  backup ' && ok || ko "iotsecctl -h does not list backup"
for cmd in restore init run; do
    "$iotsecd" $cmd -h | grep -q 'iotsecd restore --dir DIR --from FILE' && ok || ko "iotsecd $cmd -h"
done
# every group lists its subcommands, every subcommand prints its usage, all exit 0
groups=$("$ctl" -h | awk '/^commands:/{c=1; next} c && /^  [a-z]/{print $1}')
[ "$(wc -w <<<"$groups")" -ge 15 ] && ok || ko "iotsecctl -h lists too few commands: $groups"
for g in $groups; do
    help=$("$ctl" $g -h 2>&1) || { ko "$g -h: exit $?"; continue; }
    subs=$(awk '/^commands:/{c=1; next} c && /^  [a-z]/{print $1}' <<<"$help")
    for s in $subs; do
        "$ctl" $g $s -h 2>&1 | grep -q "^usage: iotsecctl $g $s" && ok || ko "$g $s -h"
    done
done
"$ctl" subscriber -h | grep -q '^  add ' && ok || ko "subscriber -h does not list add"
"$ctl" subscriber add --help | grep -q -- '--supi' && ok || ko "subscriber add --help"

# init validates its arguments, before creating anything
for bad in "--mcc 1a1" "--mcc 0011" "--mnc 1" "--mnc 01x" "--sbi 127.0.0.1:70000" "--admin 127.0.0.1:x" "--sbi nohost"; do
    "$iotsecd" init --dir "$dir/bad" $bad >/dev/null 2>"$dir/err"
    rc=$?
    [ $rc -eq 2 ] && [ ! -e "$dir/bad/iotsec.yaml" ] && grep -q -- "${bad%% *}" "$dir/err" && ok ||
        ko "init $bad: exit $rc, $(cat "$dir/err")"
done

# --san: the server certificate names the operator's hosts and addresses too
"$iotsecd" init --dir "$dir/san" --san 'udm.5gc.example,*.iot.example,10.1.2.3,2001:db8::5' >/dev/null &&
    sans=$(openssl x509 -in "$dir/san/pki/server.crt" -noout -ext subjectAltName) &&
    for n in DNS:localhost DNS:udm.5gc.example 'DNS:\*.iot.example' 'IP Address:10.1.2.3' 'IP Address:2001:DB8:0:0:0:0:0:5'; do
        grep -q "$n" <<<"$sans" || { ko "--san: $n not in: $sans"; break; }
    done && ok || ko "init --san"
"$iotsecd" init --dir "$dir/san2" --san 'bad host' >/dev/null 2>"$dir/err"
[ $? -eq 2 ] && [ ! -e "$dir/san2/pki" ] && grep -q -- --san "$dir/err" && ok || ko "--san 'bad host' accepted"

start_daemon

# IOTSEC_DIR stands for --dir
IOTSEC_DIR="$dir/inst" "$ctl" subscriber list >"$dir/o" 2>"$dir/err" && jq -e '.items' "$dir/o" >/dev/null &&
    ok || ko "IOTSEC_DIR: $(cat "$dir/err")"

run "add 1" 0 '.state == "active"' subscriber add --supi imsi-001010000000001 --k $K --op $OP --amf 8000
run "add 2" 0 '.state == "active"' subscriber add --supi imsi-001010000000002 --k $K --op $OP --amf 8000 --owner 'acme, "north"'
# not a terminal: JSON by default
run "list json by default" 0 '(.items | length) == 2' subscriber list
csv=$("$ctl" --dir "$dir/inst" --output csv subscriber list)
[ "$(wc -l <<<"$csv")" -eq 3 ] && head -1 <<<"$csv" | grep -q 'supi' && ok || ko "csv: $csv"
csv=$("$ctl" --dir "$dir/inst" --output csv subscriber show imsi-001010000000002)
grep -qx 'owner,"acme, ""north"""' <<<"$csv" && head -1 <<<"$csv" | grep -qx 'key,value' && ok ||
    ko "csv quoting: $csv"
table=$("$ctl" --dir "$dir/inst" subscriber list --output table)
grep -q '^(2 items)$' <<<"$table" && grep -qE '^supi +' <<<"$table" |
    true && [ "$(grep -c 'imsi-00101000000000' <<<"$table")" -eq 2 ] && ok || ko "table: $table"
show=$("$ctl" --dir "$dir/inst" --output table subscriber show imsi-001010000000001)
grep -qE '^state +active$' <<<"$show" && ok || ko "table show: $show"
"$ctl" --dir "$dir/inst" --output yaml subscriber list >/dev/null 2>&1
[ $? -eq 2 ] && ok || ko "--output yaml accepted"
# script mode unchanged: --output json is the answer as sent
run "output json" 0 '.items | length == 2' --output json subscriber list
# an older list (enrollments) answers under "items" and, deprecated, its old name: the table
# reads "items" and shows the rows once
run "enrollment add" 0 '.id > 0' enrollment add --kind group --attestation derived-key \
    --supi-first imsi-001019000000000 --supi-last imsi-001019000000099 --name cli-group
run "old list: items and the old name" 0 '(.items | length == 1) and .items == .enrollments' \
    --output json enrollment list
table=$("$ctl" --dir "$dir/inst" --output table enrollment list)
grep -q '^(1 items)$' <<<"$table" && [ "$(grep -c 'cli-group' <<<"$table")" -eq 1 ] && ok ||
    ko "old list as a table: $table"

# the server's invalidParams reach the user
"$ctl" --dir "$dir/inst" consent grant --af nope --scope monitoring-event --supi imsi-001010000000001 \
    >/dev/null 2>"$dir/err"
rc=$?
[ $rc -eq 2 ] && grep -q 'af_id: not a registered AF' "$dir/err" && ok || ko "invalidParams: exit $rc $(cat "$dir/err")"

# backup beside the running daemon
run "backup" 0 '.bytes > 0 and (.kek | test("not included"))' backup "$dir/copy.db"
[ "$(stat -c %a "$dir/copy.db")" = 600 ] && ok || ko "backup mode $(stat -c %a "$dir/copy.db")"
run "backup exists" 2 - backup "$dir/copy.db"
sqlite3 "$dir/copy.db" 'SELECT count(*) FROM subscriptions' | grep -qx 2 && ok || ko "backup content"

# /metrics passes promtool's parser and linter, and says when the certificates expire
curl -sf --cacert "$dir/inst/pki/ca.crt" --cert "$dir/inst/pki/admin.crt" --key "$dir/inst/pki/admin.key" \
    "https://$(sed -n 's/.*admin: "\(.*\)".*/\1/p' "$dir/inst/iotsec.yaml" | head -1)/metrics" >"$dir/metrics"
if ! command -v promtool >/dev/null; then
    ko "promtool not installed (make setup installs it)"
elif promtool check metrics <"$dir/metrics" >"$dir/err" 2>&1; then ok; else ko "promtool: $(cat "$dir/err")"; fi
now=$(date +%s)
for c in ca server admin; do
    t=$(sed -n "s/^iotsec_certificate_expiry_timestamp_seconds{cert=\"$c\"} //p" "$dir/metrics")
    [ -n "$t" ] && [ "$t" -gt "$now" ] && ok || ko "certificate expiry of $c: '$t'"
done
grep -q '^iotsec_build_info{version="[0-9]' "$dir/metrics" && ok || ko "build info"
# the alert rules load, and every metric they name is one the daemon exports
src=$(cd "$(dirname "$0")/../.." && pwd)
if command -v promtool >/dev/null; then
    promtool check rules "$src/docs/iotsec-alerts.yml" >"$dir/err" 2>&1 && ok || ko "rules: $(cat "$dir/err")"
fi
for m in $(grep -o 'iotsec_[a-z0-9_]*' "$src/docs/iotsec-alerts.yml" "$src/docs/iotsec-grafana.json" | cut -d: -f2 | sort -u); do
    base=${m%_bucket}
    # in this instance's /metrics, or (NRF, T8: off here) declared by the daemon's source
    if grep -q "^# TYPE $base " "$dir/metrics" || grep -rqF "# TYPE $base " "$src/src"; then ok; else
        ko "$m is in the alerts or dashboard but no metric of the daemon"
    fi
done
jq -e '.panels | length > 5' "$src/docs/iotsec-grafana.json" >/dev/null && ok || ko "dashboard JSON"

# config errors name the key and the line
cp "$dir/inst/iotsec.yaml" "$dir/good.yaml"
sed -i 's/^workers: 0/wrokers: 0/' "$dir/inst/iotsec.yaml"
line=$(grep -n '^wrokers' "$dir/inst/iotsec.yaml" | cut -d: -f1)
"$ctl" --dir "$dir/inst" subscriber list >/dev/null 2>"$dir/err"
grep -q "line $line: unknown key 'wrokers'" "$dir/err" && ok || ko "unknown key: $(cat "$dir/err")"
cp "$dir/good.yaml" "$dir/inst/iotsec.yaml"
sed -i 's/sqn_block: 1000/sqn_block: many/' "$dir/inst/iotsec.yaml"
line=$(grep -n 'sqn_block: many' "$dir/inst/iotsec.yaml" | cut -d: -f1)
"$ctl" --dir "$dir/inst" subscriber list >/dev/null 2>"$dir/err"
grep -q "line $line: aka.sqn_block: " "$dir/err" && ok || ko "bad value: $(cat "$dir/err")"
cp "$dir/good.yaml" "$dir/inst/iotsec.yaml"

cli_end
