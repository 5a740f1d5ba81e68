#!/usr/bin/env bash
# `iotsecctl --dir DIR group create|add|remove|show|list` against a live iotsecd: message groups
# (docs/group.md) beside consent groups, a rekey per batch, the epoch moving, members being
# subscriptions, usage errors (exit 2) and refusals (exit 1), and no node key in clear.
# usage: test_group_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin group-cli "$1"

start_daemon

K=000102030405060708090a0b0c0d0e0f
for i in 1 2 3 4 5; do
    "$ctl" --dir "$dir/inst" subscriber add --supi imsi-00101000000000$i --k $K --opc $K \
        --amf 8000 >/dev/null || ko "subscriber $i"
done
G=meters-b12@utility.example

run "create" 0 '.externalGroupId == "meters-b12@utility.example" and .confidential == true and .epoch == 0 and .depth == 2' \
    group create --group $G --owner utility --capacity 16
run "create twice" 2 - group create --group $G --owner utility
run "create no @" 2 - group create --group meters --owner utility
run "create bad arity" 2 - group create --group x@y.z --owner utility --arity 1
run "create bad confidential" 2 - group create --group x@y.z --owner utility --confidential maybe
run "create integrity-only" 0 '.confidential == false' group create --group tariffs@utility.example --owner utility --confidential no
run "add batch" 0 '.epoch == 1 and .rekeyWrappedKeys > 0' group add --group $G --supi imsi-001010000000001,imsi-001010000000002,imsi-001010000000003,imsi-001010000000004
run "add again" 2 - group add --group $G --supi imsi-001010000000001
run "add unknown subscription" 1 - group add --group $G --supi imsi-001010000000009
run "add bad supi" 2 - group add --group $G --supi 'imsi-1/../x'
run "add unknown group" 1 - group add --group nope@utility.example --supi imsi-001010000000005
run "remove" 0 '.epoch == 2 and .rekeyWrappedKeys > 0' group remove --group $G --supi imsi-001010000000002
run "remove again" 1 - group remove --group $G --supi imsi-001010000000002
run "show" 0 '.members == 3 and .epoch == 2 and ([.memberList[].supi] | index("imsi-001010000000002") == null)' group show --group $G
run "show unknown" 1 - group show --group nope@utility.example
run "list" 0 '(.groups | length) == 2' group list
# a quarantined member leaves every group it is in, with a rekey (forward secrecy)
run "quarantine" 0 - subscriber quarantine imsi-001010000000003 --reason "tampered" --by alice
for _ in $(seq 100); do
    "$ctl" --dir "$dir/inst" group show --group $G | jq -e '.members == 2' >/dev/null && break
    sleep 0.05
done
run "quarantined member gone" 0 '.members == 2 and .epoch == 3 and ([.memberList[].supi] | index("imsi-001010000000003") == null)' group show --group $G
run "release does not re-add" 0 - subscriber release imsi-001010000000003 --reason ok --by alice
run "still gone" 0 '.members == 2 and .epoch == 3' group show --group $G
# a consent group (no '@') still goes to the northbound face's model
run "consent group" 0 '.added == 1' group add --group fleet-1 --supi imsi-001010000000005

# node keys are sealed: no 16-byte key of the tree can be told from the envelopes; at least the
# table holds only envelopes of the sealed size (version, kek id, nonce, key, tag)
n=$(sqlite3 "$dir/inst/iotsec.db" "SELECT COUNT(*) FROM group_node_keys WHERE length(sealed) != 46" 2>/dev/null || echo x)
[ "$n" = "0" ] && ok || ko "group_node_keys rows not all sealed envelopes ($n)"

cli_end
