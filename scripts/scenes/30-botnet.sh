# Scene (sourced by scripts/demo): a few meters of a building start behaving like Mirai bots;
# iotsec flags them (SUSPICION_OF_DDOS_ATTACK with the victim's address), quarantines them,
# their next authentication is refused, and the rest of the building is untouched.
# The flow records are replayed with their own timestamps (record time is the analytics
# clock: a window closes when a record of a later window arrives), so the scene does not
# wait for 60-second windows to pass on the wall clock.
step "Botnet: three meters of a building turn into Mirai bots"
bn_admin=$(jq -r .admin "$dir/ready.json")
bn_sbi=$(jq -r .sbi "$dir/ready.json")
bn_nf=(--http2 -s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/inst/pki/nf.crt" --key "$dir/inst/pki/nf.key")
bn_adm=(--http2 -s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/inst/pki/admin.crt" --key "$dir/inst/pki/admin.key")
bn_snn="5G:mnc001.mcc001.3gppnetwork.org"
bn_meters=12 bn_bots=3
bn_supi() { printf 'imsi-0010100000070%02d' "$1"; }
for i in $(seq 0 $((bn_meters - 1))); do
    printf '{"supi":"%s","k":"%s","op":"%s","amf":"8000"}\n' "$(bn_supi "$i")" "$(rand_hex 16)" "$(rand_hex 16)"
done | "$ctl" --dir "$dir/inst" subscriber import - >/dev/null
show "building 7" "$bn_meters meters imported: $(bn_supi 0) .. $(bn_supi $((bn_meters - 1)))"

bn_map=$(for i in $(seq 0 $((bn_meters - 1))); do
    printf '{"supi":"%s","ipv4":"10.70.0.%d","group":"building-7"}\n' "$(bn_supi "$i")" $((10 + i))
done | jq -sc .)
bn_out=$(curl "${bn_adm[@]}" -X PUT -H content-type:application/json "$bn_admin/admin/v1/analytics/ue-addresses" -d "$bn_map")
show "PUT ue-addresses" "$(jq -c '.[0]' <<<"$bn_map") ... -> $bn_out"
say "The UE address -> device mapping (from the SMF's sessions, or configured). Analytics state is"
say "keyed by HMAC(key, SUPI), the key sealed under the KEK; only this table links back to the SUPI."
show "policy" "$("$ctl" --dir "$dir/inst" policy show | jq -c '.rules[0]')"

# Three quiet windows (each meter uploads a reading or two), then two windows in which meters
# 0..2 flood 203.0.113.66 with UDP like Mirai's udpplain attack, then one record of the next
# window. Times are November 2023, replayed.
bn_flows="$dir/botnet.jsonl"
awk -v meters=$bn_meters -v bots=$bn_bots 'BEGIN {
    t0 = 1700000040
    for (w = 0; w < 5; w++) for (k = 0; k < 250; k++) for (m = 0; m < meters; m++) {
        ts = t0 + 60 * w + k * 0.2
        if (w >= 3 && m < bots)
            printf "{\"ts\":%.1f,\"src\":\"10.70.0.%d\",\"sport\":%d,\"dst\":\"203.0.113.66\",\"dport\":80,\"proto\":\"udp\",\"out_bytes\":512,\"in_bytes\":0,\"out_pkts\":1,\"in_pkts\":0,\"outcome\":\"noreply\"}\n", ts, 10 + m, 1024 + k
        else if (k % 120 == 0)
            printf "{\"ts\":%.1f,\"src\":\"10.70.0.%d\",\"sport\":%d,\"dst\":\"198.51.100.10\",\"dport\":443,\"proto\":\"tcp\",\"out_bytes\":900,\"in_bytes\":2400,\"out_pkts\":8,\"in_pkts\":7,\"outcome\":\"established\"}\n", ts, 10 + m, 40000 + k
    }
    printf "{\"ts\":%d,\"src\":\"10.70.0.20\",\"dst\":\"198.51.100.10\",\"dport\":443,\"proto\":\"tcp\",\"outcome\":\"established\"}\n", t0 + 301
}' >"$bn_flows"
show "flow records" "$(wc -l <"$bn_flows") lines of JSON, e.g."
say "$(grep -m1 '"10.70.0.10"' "$bn_flows")"
say "$(grep -m1 '203.0.113.66' "$bn_flows")"
bn_out=$(curl "${bn_nf[@]}" -H content-type:application/x-ndjson --data-binary @"$bn_flows" "$bn_sbi/nnwdaf-iotsec/v1/flow-records")
show "POST flow-records (SBI)" "-> $bn_out"

bn_find=$(curl "${bn_adm[@]}" "$bn_admin/admin/v1/analytics/findings")
jq -r '.findings[] | select(.abnormalBehaviour.excep.excepId == "SUSPICION_OF_DDOS_ATTACK")
       | "  \(.supi)  device \(.device[0:12])..  \(.abnormalBehaviour.excep.excepId) level \(.abnormalBehaviour.excep.excepLevel)  victim \(.abnormalBehaviour.addtMeasInfo.ddosAttack.ipv4Addrs[0])  at \(.start)"' <<<"$bn_find"
say "TS 29.520 AbnormalBehaviour, one per bot and flood window; the finding itself carries only"
say "the pseudonym (device); the admin face adds the SUPI the operator needs to act."

for _ in $(seq 50); do
    [ "$("$ctl" --dir "$dir/inst" subscriber list --state quarantined | jq '.items | length')" -ge $bn_bots ] && break
    sleep 0.1
done
"$ctl" --dir "$dir/inst" policy actions | jq -r '.actions[] | select(.action == "quarantine")
    | "  audit #\(.id)  \(.supi)  \(.action) (\(.exception), level \(.level))  by \(.actor): \(.outcome)"'

bn_auth() {
    curl "${bn_nf[@]}" -o /dev/null -w '%{http_code}' -H content-type:application/json \
        "$bn_sbi/nausf-auth/v1/ue-authentications" -d "{\"supiOrSuci\":\"$1\",\"servingNetworkName\":\"$bn_snn\"}"
}
for i in 0 1 2 3 11; do
    code=$(bn_auth "$(bn_supi "$i")")
    state=$("$ctl" --dir "$dir/inst" subscriber show "$(bn_supi "$i")" | jq -r .state)
    if [ "$code" = 403 ]; then col=$red; else col=$green; fi
    printf '  %s%-22s %-12s next 5G authentication -> %s%s\n' "$col" "$(bn_supi "$i")" "$state" "$code" "$off"
done
say "Quarantined meters are refused (403 AUTHENTICATION_REJECTED); the rest of the building is untouched."

"$ctl" --dir "$dir/inst" device release "$(bn_supi 0)" >/dev/null
show "device release $(bn_supi 0)" "by the operator -> $("$ctl" --dir "$dir/inst" subscriber show "$(bn_supi 0)" | jq -r .state), authentication -> $(bn_auth "$(bn_supi 0)")"
