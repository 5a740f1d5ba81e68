# Scene (sourced by scripts/demo): zero-touch provisioning of a building's smart meters
# (issue 4). 200 meters are bulk-activated to their apartments before they are switched on;
# they onboard by themselves (a third through the building's gateway, which relays opaque
# messages it can neither read nor change), authenticate with 5G AKA; one rotates its
# credentials, one is transferred to a new owner; a last meter's credential expires (the demo
# instance runs the expiry sweep every second: subscriber.expiry_sweep_s: 1). Uses $dir, $ctl,
# $build, $dir/ready.json and step/show/say/field.
sim="$build/tools/iotsec-sim/iotsec-sim"
if [ ! -x "$sim" ]; then
    say "(iotsec-sim is not built: the building scene is skipped)"
else
    step "8. A building of 200 smart meters is sold to its apartments (bulk activation)"
    bldg_lines="$dir/building.jsonl"
    bldg_flats=(A B C D E F G H)
    for i in $(seq 0 199); do
        printf '{"registration_id":"bldg12-dev-%06d","account":"apartment %d%s","service":{"tariff":"residential"}}\n' \
            "$i" $((i / 8 + 1)) "${bldg_flats[i % 8]}"
    done >"$bldg_lines"
    show "activation lines" "$(wc -l <"$bldg_lines"), e.g. $(head -1 "$bldg_lines")"
    bldg_report=$("$ctl" --dir "$dir/inst" activate "$bldg_lines")
    show "iotsecctl activate" "-> activated now $(field .activated "$bldg_report"), pending $(field .pending "$bldg_report") (one transaction, all or nothing)"
    say "No meter has onboarded yet: each line waits for its device."

    step "9. The meters switch on and onboard themselves (a third through the gateway)"
    say "One meter's exchange, as the gateway relays it (bodies cut):"
    bldg_out=$("$sim" fleet --dir "$dir/inst" --ready "$dir/ready.json" --name bldg12 \
                   --devices 200 --via-gateway 67 --requires-activation --rotate 1 --trace 0 \
                   --transfer-to tenant-7C --threads 16 2>"$dir/sim.log") || true
    grep -E '^  device' "$dir/sim.log" | head -6
    say "The proof binds the nonce, the registration id and the meter's fresh X25519 key; the"
    say "envelope is encrypted to that key and signed by the operator's Ed25519 key the meter pins:"
    say "the gateway sees neither K nor OPc, and any bit it flips is refused."
    show "fleet" "$bldg_out"
    grep -E 'onboardings in' "$dir/sim.log" | sed 's/^iotsec-sim: /  /'

    step "10. Meter 0 rotates its credentials"
    grep -E '^  device' "$dir/sim.log" | sed -n 7,12p
    say "The request is authenticated with the current K; the new bundle is stored, confirmed,"
    say "and only then replaces the old one, which stays valid until then: no lost answer locks it out."
    grep -E 'rotations' "$dir/sim.log" | sed 's/^iotsec-sim: /  /'
    bldg_dev=$("$ctl" --dir "$dir/inst" device show bldg12-dev-000000)
    show "device show" "$(jq -c '{registration_id, account, credential_version, subscription_state}' <<<"$bldg_dev")"

    step "11. Meter 199 changes hands (the flat is sold)"
    grep -E '^  (admin|amf  |device onboards)' "$dir/sim.log"
    say "The voucher chain starts at the manufacturer's root key; on acceptance the old"
    say "subscription is revoked and crypto-erased, and the meter onboards again for its new owner."
    bldg_dev=$("$ctl" --dir "$dir/inst" device show bldg12-dev-000199)
    show "device show" "$(jq -c '{owner, supi, subscription_state, history: [.history[].event]}' <<<"$bldg_dev")"
    show "iotsecctl audit" "$("$ctl" --dir "$dir/inst" audit | jq -c '{expiring_soon: (.expiring_soon|length), expired: (.expired|length), revoked_seen: (.revoked_seen|length), shared: (.shared|length)}')"
fi

step "12. A meter's credential expires"
exp_supi=imsi-001010000004399
exp_until=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
"$ctl" --dir "$dir/inst" subscriber add --supi $exp_supi --k "$(rand_hex 16)" --op "$(rand_hex 16)" \
    --amf 8000 --not-after "$exp_until" >/dev/null
show "subscription" "$exp_supi, not_after $exp_until (valid two more seconds)"
exp_sbi=$(jq -r .sbi "$dir/ready.json")
exp_nf=(--http2 -s -o /dev/null -w '%{http_code}' --cacert "$dir/inst/pki/ca.crt" --cert "$dir/inst/pki/nf.crt"
        --key "$dir/inst/pki/nf.key" -H content-type:application/json)
exp_auth() { curl "${exp_nf[@]}" "$exp_sbi/nausf-auth/v1/ue-authentications" \
                 -d "{\"supiOrSuci\":\"$exp_supi\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}"; }
show "POST ue-authentications" "-> $(exp_auth) (before not_after: an authentication vector)"
while [ "$(date -u +%s)" -le "$(date -u -d "$exp_until" +%s)" ]; do sleep 0.2; done
show "POST ue-authentications" "-> $(exp_auth) (after not_after: refused at once)"
for _ in $(seq 30); do
    exp_show=$("$ctl" --dir "$dir/inst" subscriber show $exp_supi)
    [ "$(field .state "$exp_show")" = expired ] && break
    sleep 0.2
done
show "subscriber show" "$(jq -c '{state, not_after, last_event: .events[-1]}' <<<"$exp_show")"
say "The sweep marked it expired and recorded the event; the operator's audit lists it:"
show "iotsecctl audit" "$("$ctl" --dir "$dir/inst" audit | jq -c '{expired: [.expired[].supi]}')"
