#!/usr/bin/env bash
# `iotsecctl --dir DIR group create|add|remove|show|list` against a live iotsecd: message groups
# (docs/group.md) beside consent groups, a rekey per batch, the epoch moving, members being
# subscriptions, usage errors (exit 2) and refusals (exit 1), and no node key in clear; the
# delivery settings: members' endpoints and a group's multicast address, set and read back.
# usage: test_group_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin group-cli "$1"

CLI_EXTRA_YAML=$'location:\n  notify_http_loopback: true' # http endpoints on loopback (lab)
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
# delivery endpoints (per subscription) and the group's multicast address
run "endpoint" 0 '.supi == "imsi-001010000000001" and .url == "http://127.0.0.1:9/push/1"' group endpoint --supi imsi-001010000000001 --url http://127.0.0.1:9/push/1
run "endpoint 2" 0 - group endpoint --supi imsi-001010000000004 --url http://127.0.0.1:9/push/4
run "endpoint replaced" 0 '.url == "http://127.0.0.1:9/push/one"' group endpoint --supi imsi-001010000000001 --url http://127.0.0.1:9/push/one
run "endpoint bad url" 2 - group endpoint --supi imsi-001010000000001 --url ftp://127.0.0.1/x
run "endpoint unknown subscription" 1 - group endpoint --supi imsi-001010000000009 --url http://127.0.0.1:9/x
run "endpoint bad supi" 2 - group endpoint --supi 'a/b' --url http://127.0.0.1:9/x
run "endpoint no url" 2 - group endpoint --supi imsi-001010000000001
run "endpoint-show" 0 '.url == "http://127.0.0.1:9/push/one"' group endpoint-show --supi imsi-001010000000001
run "endpoint-show none" 1 - group endpoint-show --supi imsi-001010000000002
run "endpoints" 0 '[.endpoints[].supi] == ["imsi-001010000000001","imsi-001010000000004"] and (has("next") | not)' group endpoints
run "endpoints page" 0 '(.endpoints | length) == 1 and .next == "imsi-001010000000001"' group endpoints --limit 1
run "endpoints next page" 0 '[.endpoints[].supi] == ["imsi-001010000000004"]' group endpoints --after imsi-001010000000001
run "endpoints bad limit" 2 - group endpoints --limit 0
run "multicast" 0 '.dest == "239.1.2.3:5000" and .iface == "127.0.0.1"' group multicast --group $G --dest 239.1.2.3:5000 --iface 127.0.0.1
run "multicast-show" 0 '.externalGroupId == "meters-b12@utility.example" and .dest == "239.1.2.3:5000" and .iface == "127.0.0.1"' group multicast-show --group $G
run "multicast not multicast" 2 - group multicast --group $G --dest 10.0.0.1:5000
run "multicast bad iface" 2 - group multicast --group $G --dest 239.1.2.3:5000 --iface eth0
run "multicast unknown group" 1 - group multicast --group nope@utility.example --dest 239.1.2.3:5000
run "multicast bad group" 2 - group multicast --group nope --dest 239.1.2.3:5000
run "multicast-show unset" 1 - group multicast-show --group tariffs@utility.example
run "multicast-show unknown" 1 - group multicast-show --group nope@utility.example
run "multicast-show still" 0 '.dest == "239.1.2.3:5000"' group multicast-show --group $G

# a consent group (no '@') still goes to the northbound face's model
run "consent group" 0 '.added == 1' group add --group fleet-1 --supi imsi-001010000000005

# node keys are sealed: no 16-byte key of the tree can be told from the envelopes; at least the
# table holds only envelopes of the sealed size (version, kek id, nonce, key, tag)
n=$(sqlite3 "$dir/inst/iotsec.db" "SELECT COUNT(*) FROM group_node_keys WHERE length(sealed) != 46" 2>/dev/null || echo x)
[ "$n" = "0" ] && ok || ko "group_node_keys rows not all sealed envelopes ($n)"

cli_end
