#!/usr/bin/env bash
# `iotsecctl --dir DIR location ...` against a live iotsecd: areas of each kind, the cell
# table from a CSV, the state after an event report, usage errors (exit 2), refusals.
# usage: test_location_cli.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin location-cli "$1"

start_daemon

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
run "history of no subscription (404)" 1 - device locations $S
run "add the subscription" 0 - subscriber add --supi $S --k 465b5ce8b199b49faa5f0a2ee238a6bc \
    --opc cd63cb71954a9f4e48a5994e37a02baf --amf 8000
run "history, none yet" 0 '.items == [] and (has("next") | not)' device locations $S --limit 5
run "history via location" 0 '.items == []' location history $S --since 2026-01-01T00:00:00Z
run "history bad since (daemon: 400)" 2 - device locations $S --since yesterday
run "history bad flag" 2 - device locations $S --colour red
run "history bad supi" 2 - device locations 'imsi-1/../x'
run "history no supi" 2 - device locations

cli_end
