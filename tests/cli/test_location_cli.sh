#!/usr/bin/env bash
# `iotsecctl --dir DIR location ...` against a live iotsecd: areas of each kind, the cell
# table from a CSV, the state after an event report, usage errors (exit 2), refusals.
# usage: test_location_cli.sh BUILD_DIR
set -u
build=$1
ctl="$build/tools/iotsecctl/iotsecctl"
iotsecd="$build/src/daemon/iotsecd"
dir=$(mktemp -d /tmp/iotsec-loccli-XXXXXX)
pass=0
fail=0
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

run() {
    local name=$1 want=$2 check=$3 out rc
    shift 3
    out=$("$ctl" --dir "$dir/inst" "$@" 2>"$dir/err")
    rc=$?
    if [ $rc -ne "$want" ]; then
        ko "$name: exit $rc, want $want ($(cat "$dir/err"))"
    elif [ "$check" != - ] && ! jq -e "$check" <<<"$out" >/dev/null 2>&1; then
        ko "$name: output '$out' fails $check"
    else
        ok
    fi
}

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; }
pick_port() { local p; while :; do p=$((20000 + RANDOM % 40000)); port_free $p && { echo $p; return; }; done; }
# iotsecctl finds the admin face through the configuration: it needs a real port
"$iotsecd" init --dir "$dir/inst" --sbi 127.0.0.1:$(pick_port) --admin 127.0.0.1:$(pick_port) \
    --northbound 127.0.0.1:0 --device 127.0.0.1:0 >/dev/null || { echo "init failed"; exit 1; }
"$iotsecd" run --dir "$dir/inst" >"$dir/ready" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/ready" ] && break; sleep 0.05; done
grep -q '"event":"ready"' "$dir/ready" || { echo "daemon did not start"; cat "$dir/log"; exit 1; }

S=imsi-001010000000001
run "cells" 0 '.cells[0].nrCellId == "000000010" and .cells[1].plmnId.mnc == "01"' \
    location set-area $S --cells 00101:10,00101:1a
run "tas" 0 '.tais[0].tac == "0000AB" or .tais[0].tac == "0000ab"' location set-area $S --tas 00101:ab
run "circle stationary" 0 '.circle.radius == 500 and .stationary == true' \
    location set-area $S --circle 45.0,7.0,500 --stationary
run "polygon" 0 '(.polygon | length) == 3' location set-area $S --polygon '45,7;45,7.1;45.1,7'
run "stationary only" 0 '.stationary == true' location set-area $S --stationary
run "no kind" 2 - location set-area $S
run "two kinds" 2 - location set-area $S --cells 00101:1 --tas 00101:1
run "bad cell" 2 - location set-area $S --cells 00101:XYZ
run "bad plmn" 2 - location set-area $S --cells 0010:1
run "bad circle" 2 - location set-area $S --circle 45,7
run "radius refused by the daemon" 2 - location set-area $S --circle 45,7,-5
run "bad polygon (daemon: 400)" 2 - location set-area $S --polygon '45,7;45,8'
run "bad supi" 2 - location set-area 'imsi-1/../x' --stationary
printf 'plmn,nr_cell_id,lat,lon\n00101,20,45.0,7.0\n00101,21,45.02,7.0\n' >"$dir/cells.csv"
run "cells csv" 0 '.cells == 2' location set-cells "$dir/cells.csv"
printf '00101,20,45.0\n' >"$dir/bad.csv"
run "bad csv" 2 - location set-cells "$dir/bad.csv"
run "show unseen" 1 - location show $S
run "clear" 0 - location clear-area $S

echo "location cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
