# Scene (sourced by scripts/demo): an application server on the northbound face. The operator
# registers the AF with its own certificate (any CA), a device owner consents; the AF gets a
# certificate-bound token, addresses the device by its own external ID (never the IMSI), and
# loses access the moment the consent is revoked. Every decision is in the hash-chained log.
step "N1. The operator registers an application server (its own CA) and a consent"
north=$(jq -r .northbound "$dir/ready.json")
for n in af thief; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -keyout "$dir/$n.key" -out "$dir/$n.pem" -subj "/CN=$n.example" >/dev/null 2>&1
done
meter=imsi-001010000004343
"$ctl" --dir "$dir/inst" subscriber add --supi $meter --k "$(rand_hex 16)" --op "$(rand_hex 16)" \
    --amf 8000 --owner acme-utilities >/dev/null
af=$("$ctl" --dir "$dir/inst" af add --name "Acme metering" --cert "$dir/af.pem" --services monitoring-event)
af_id=$(field .af_id "$af")
show "af add" "$af"
grant=$("$ctl" --dir "$dir/inst" consent grant --af "$af_id" --scope monitoring-event --supi $meter)
ext=$(field ".external_ids[\"$meter\"]" "$grant")
show "consent grant" "$(field .consent_id "$grant")"
show "external ID for this AF" "$ext  (a keyed pseudonym: another AF gets another one)"

step "N2. The AF asks for a token (OAuth2 client credentials over mutual TLS)"
as_af=(-s --cacert "$dir/inst/pki/ca.crt" --cert "$dir/af.pem" --key "$dir/af.key")
tok=$(curl "${as_af[@]}" "$north/oauth2/token" -d grant_type=client_credentials -d scope=monitoring-event)
token=$(field .access_token "$tok")
show "POST /oauth2/token" "-> token_type $(field .token_type "$tok"), expires_in $(field .expires_in "$tok") s"
claims=$(cut -d. -f2 <<<"$token" | tr '_-' '/+' | base64 -d 2>/dev/null || true)
show "claims" "$(jq -c '{sub, aud, scope, cnf}' <<<"$claims" 2>/dev/null || echo "$claims")"
say "cnf.x5t#S256 binds the token to the AF's certificate (RFC 8705)."

step "N3. The AF checks it may monitor its device, by external ID"
dec=$(curl "${as_af[@]}" -H "Authorization: Bearer $token" "$north/iotsec-exposure/v1/$af_id/devices/$ext/authorisation")
show "GET .../authorisation" "$dec"
stolen=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/inst/pki/ca.crt" --cert "$dir/thief.pem" \
    --key "$dir/thief.key" -H "Authorization: Bearer $token" "$north/iotsec-exposure/v1/$af_id/whoami")
show "the token, stolen" "-> $stolen on another certificate's connection"
imsi=$(curl "${as_af[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "$north/iotsec-exposure/v1/$af_id/devices/$meter/authorisation")
show "asking by IMSI" "-> $imsi (only external IDs are understood here)"

step "N4. The owner revokes the consent: refused at once"
"$ctl" --dir "$dir/inst" consent revoke "$(field .consent_id "$grant")" >/dev/null
dec=$(curl "${as_af[@]}" -H "Authorization: Bearer $token" "$north/iotsec-exposure/v1/$af_id/devices/$ext/authorisation")
show "GET .../authorisation" "-> $(field .status "$dec") $(field .cause "$dec")"
sleep 0.2
show "audit verify" "$("$ctl" --dir "$dir/inst" audit verify)"
show "audit log (last)" "$("$ctl" --dir "$dir/inst" audit log --af "$af_id" | jq -c '.records[-1] | {seq, action, resource, allow, reason}')"
