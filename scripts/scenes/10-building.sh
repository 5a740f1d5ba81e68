# Scene (sourced by scripts/demo): zero-touch provisioning of a building's smart meters
# (issue 4). 200 meters are bulk-activated to their apartments before they are even
# switched on; they onboard by themselves (a third through the building's gateway, which
# relays opaque messages it can neither read nor change), authenticate with 5G AKA, and one
# rotates its credentials. Uses $dir, $ctl, $build, $dir/ready.json and step/show/say/field.
sim="$build/tools/iotsec-sim/iotsec-sim"
if [ ! -x "$sim" ]; then
    say "(iotsec-sim is not built: the building scene is skipped)"
else
    bldg_admin=$(jq -r .admin "$dir/ready.json")
    bldg_adm=(curl -s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/inst/pki/admin.crt"
              --key "$dir/inst/pki/admin.key" -H 'Content-Type: application/json')

    step "8. A building of 200 smart meters is sold to its apartments (bulk activation)"
    bldg_lines="$dir/building.jsonl"
    bldg_flats=(A B C D E F G H)
    for i in $(seq 0 199); do
        printf '{"registration_id":"bldg12-dev-%06d","account":"apartment %d%s","service":{"tariff":"residential"}}\n' \
            "$i" $((i / 8 + 1)) "${bldg_flats[i % 8]}"
    done >"$bldg_lines"
    show "activation lines" "$(wc -l <"$bldg_lines") ($(head -1 "$bldg_lines"))"
    if "$ctl" help 2>&1 | grep -q '\bactivate\b.*FILE\|activate FILE'; then
        bldg_report=$("$ctl" --dir "$dir/inst" activate "$bldg_lines")
    else
        bldg_report=$(jq -sc '{items: .}' "$bldg_lines" |
                      "${bldg_adm[@]}" -X POST "$bldg_admin/admin/v1/activations" --data-binary @-)
    fi
    show "POST activations" "-> activated now $(field .activated "$bldg_report"), pending $(field .pending "$bldg_report") (one transaction)"
    say "The meters are not onboarded yet: each line waits for its device."

    step "9. The meters switch on and onboard themselves (a third through the gateway)"
    say "One meter's exchange, as the gateway relays it (bodies cut):"
    bldg_out=$("$sim" fleet --dir "$dir/inst" --ready "$dir/ready.json" --name bldg12 \
                   --devices 200 --via-gateway 67 --requires-activation --rotate 1 --trace 0 \
                   --threads 16 2>"$dir/sim.log") || true
    grep -E '^  device' "$dir/sim.log" | head -6
    say "Later, the same meter rotates its credentials (the request is authenticated with its current K):"
    grep -E '^  device' "$dir/sim.log" | sed -n 7,12p
    say "The proof binds nonce, registration id and the device's fresh X25519 key; the envelope is"
    say "encrypted to that key and signed by the operator's pinned Ed25519 key: the relay sees neither K nor OPc."
    show "fleet" "$bldg_out"
    grep -E 'rotations|onboardings' "$dir/sim.log" | sed 's/^iotsec-sim: /  /'

    step "10. One meter, as the operator sees it"
    bldg_dev=$("${bldg_adm[@]}" "$bldg_admin/admin/v1/devices/bldg12-dev-000000")
    show "registration" "$(jq -c '{registration_id, state, account, credential_version, supi}' <<<"$bldg_dev" 2>/dev/null || echo "$bldg_dev")"
    say "Device 0 rotated: its new K was fetched authenticated with the old one, stored, confirmed,"
    say "and only then replaced the old one (which stays valid for a grace period)."
fi
