# Scene (sourced by scripts/demo): where a low-mobility device is, and who may know it. The
# operator restricts a meter to its cell; the core network reports where it is (SBI); an
# application server asks by its own external ID and gets the cell, never the IMSI; a move
# outside the area is a finding; counts of devices below the privacy threshold say nothing.
step "L1. The operator restricts a meter to its cell (authorised area)"
north=$(jq -r .northbound "$dir/ready.json")
sbi=$(jq -r .sbi "$dir/ready.json")
lmeter=imsi-001010000005151
"$ctl" --dir "$dir/inst" subscriber add --supi $lmeter --k "$(rand_hex 16)" --op "$(rand_hex 16)" \
    --amf 8000 --owner acme-utilities >/dev/null
show "location set-area" "$("$ctl" --dir "$dir/inst" location set-area $lmeter --cells 00101:000000a1 | jq -c .)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$dir/laf.key" -out "$dir/laf.pem" -subj "/CN=grid.example" >/dev/null 2>&1
laf=$(field .af_id "$("$ctl" --dir "$dir/inst" af add --name "Grid operations" --cert "$dir/laf.pem" --services monitoring-event)")
lgrant=$("$ctl" --dir "$dir/inst" consent grant --af "$laf" --scope monitoring-event --supi $lmeter)
lext=$(field ".external_ids[\"$lmeter\"]" "$lgrant")
show "AF, external ID" "$laf, $lext"

step "L2. The AMF reports the meter's location (SBI, Namf_EventExposure-like)"
nfc=(-s --http2 --cacert "$dir/inst/pki/ca.crt" --cert "$dir/inst/pki/nf.crt" --key "$dir/inst/pki/nf.key" -H content-type:application/json)
report() {
    printf '{"reportList":[{"type":"LOCATION_REPORT","supi":"%s","timeStamp":"%s","location":{"nrLocation":{"tai":{"plmnId":{"mcc":"001","mnc":"01"},"tac":"000001"},"ncgi":{"plmnId":{"mcc":"001","mnc":"01"},"nrCellId":"%s"}}}}]}' \
        "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2"
}
code=$(curl "${nfc[@]}" -o /dev/null -w '%{http_code}' "$sbi/namf-evts-notify/v1/ue-events" -d "$(report $lmeter 0000000A1)")
show "POST ue-events (cell A1)" "-> $code"

step "L3. The AF asks where its device is (T8 MonitoringEvent, by external ID)"
laf_c=(-s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/laf.pem" --key "$dir/laf.key")
ltok=$(field .access_token "$(curl "${laf_c[@]}" "$north/oauth2/token" -d grant_type=client_credentials -d scope=monitoring-event)")
t8=(-H "Authorization: Bearer $ltok" -H content-type:application/json)
ask=$(printf '{"monitoringType":"LOCATION_REPORTING","externalId":"%s","notificationDestination":"https://grid.example/notify","maximumNumberOfReports":1,"locationType":"LAST_KNOWN_LOCATION"}' "$lext")
show "POST .../subscriptions" "$(curl "${laf_c[@]}" "${t8[@]}" "$north/3gpp-monitoring-event/v1/$laf/subscriptions" -d "$ask" | jq -c '{monitoringType, externalId, locationInfo: {cellId: .locationInfo.cellId, trackingAreaId: .locationInfo.trackingAreaId}}')"
byimsi=$(curl "${laf_c[@]}" "${t8[@]}" "$north/3gpp-monitoring-event/v1/$laf/subscriptions" -d "${ask/$lext/$lmeter}")
show "the same, by IMSI" "-> $(field .status "$byimsi") $(field .cause "$byimsi")"

step "L4. The meter moves: outside its area (UNEXPECTED_UE_LOCATION)"
curl "${nfc[@]}" -o /dev/null "$sbi/namf-evts-notify/v1/ue-events" -d "$(report $lmeter 0000000B7)"
show "location show" "$("$ctl" --dir "$dir/inst" location show $lmeter | jq -c '{ncgi: .ncgi.nrCellId, outsideAuthorisedArea}')"
say "The finding goes to the AF's location subscriptions (excepId in the report) and to policy."

step "L5. How many devices in the area? Not when fewer than k = 10 consented ones are there"
count=$(printf '{"monitoringType":"NUMBER_OF_UES_IN_AN_AREA","notificationDestination":"https://grid.example/n","maximumNumberOfReports":1,"locationArea5G":{"nwAreaInfo":{"tais":[{"plmnId":{"mcc":"001","mnc":"01"},"tac":"000001"}]}}}')
show "area count" "$(curl "${laf_c[@]}" "${t8[@]}" "$north/3gpp-monitoring-event/v1/$laf/subscriptions" -d "$count" | jq -c .)"
