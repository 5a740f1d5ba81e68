#!/usr/bin/env bash
# `iotsecctl analytics mud ...` and `policy observed` against a live iotsecd: a MUD file
# validated offline and refused with its JSON path, set on a group, shown, listed, replaced
# by a bad one (refused, the good one stays), deleted; the observe mode's counts.
# usage: test_mud_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin mud-cli "$1"
data="$(dirname "$0")/../data/mud"

run "validate good" 0 '.valid and .rules == 7 and .mud_url == "https://plugx.example/mud/p1"' \
    analytics mud validate "$data/plugx.json"
run "validate bad" 2 - analytics mud validate "$data/plugx-bad-port.json"
grep -q '/ietf-access-control-list:acls/acl/0/aces/ace/0/matches/tcp/destination-port/port: not a port' \
    "$dir/err" && ok || ko "validate bad: the JSON path is not named: $(cat "$dir/err")"
run "validate missing" 2 - analytics mud validate "$dir/nothing.json"

start_daemon

run "set" 0 '.group == "plug-x" and .rules == 7' analytics mud set plug-x "$data/plugx.json"
run "show" 0 '.group == "plug-x" and .rules == 7 and .mud["ietf-mud:mud"]["mud-version"] == 1' \
    analytics mud show plug-x
run "list" 0 '.muds | length == 1 and .[0].group == "plug-x"' analytics mud list
run "set bad" 2 - analytics mud set plug-x "$data/plugx-bad-port.json"
grep -q 'destination-port/port' "$dir/last" "$dir/err" && ok || ko "set bad: no JSON path in the answer"
run "the good one stays" 0 '.rules == 7' analytics mud show plug-x
run "bad group name" 2 - analytics mud set 'plug x' "$data/plugx.json"
run "policy observed" 0 '.mode == "enforce" and (.would_have | length) == 0' policy observed
run "delete" 0 - analytics mud delete plug-x
run "show deleted" 1 - analytics mud show plug-x
run "delete again" 1 - analytics mud delete plug-x

cli_end
