# Scene (sourced by scripts/demo): the operator console. An admin makes two accounts; the
# operator logs in (a Secure, HttpOnly, SameSite=Strict session cookie) and reads the fleet
# through the same admin API the CLI uses; the viewer's attempt to quarantine is refused, and
# an action by the operator is recorded under her name.
step "Console: named operators instead of one shared certificate"
co_url=$(jq -r .console "$dir/ready.json")
co_pw=$("$ctl" --dir "$dir/inst" user add olga --role operator | jq -r .password)
show "user add olga" "--role operator -> a generated password, printed once"
printf 'vera looks only\n' | "$ctl" --dir "$dir/inst" user add vera --role viewer --password-file - >/dev/null
show "user add vera" "--role viewer (password from stdin, never on the command line)"
co=(-s --http2 --cacert "$dir/inst/pki/ca.crt" -H content-type:application/json)
co_login=$(curl "${co[@]}" -D "$dir/co.h" -c "$dir/co.jar" "$co_url/console/v1/login" \
    -d "{\"name\":\"olga\",\"password\":\"$co_pw\"}")
show "POST /console/v1/login" "-> $(jq -c '{name, role}' <<<"$co_login")"
show "Set-Cookie" "$(grep -i '^set-cookie' "$dir/co.h" | sed 's/__Host-iotsec=[^;]*/__Host-iotsec=.../' | tr -d '\r' | cut -d' ' -f2-)"
show "CSP" "$(grep -i '^content-security-policy' "$dir/co.h" | cut -d' ' -f2- | cut -c1-60 | tr -d '\r')..."
show "GET subscribers/counts" "$(curl "${co[@]}" -b "$dir/co.jar" "$co_url/admin/v1/subscribers/counts" | jq -c .counts)"
co_csrf=$(jq -r .csrf <<<"$co_login")
co_v=$(curl "${co[@]}" -c "$dir/cv.jar" "$co_url/console/v1/login" -d '{"name":"vera","password":"vera looks only"}')
co_refused=$(curl "${co[@]}" -b "$dir/cv.jar" -H "X-CSRF-Token: $(jq -r .csrf <<<"$co_v")" \
    "$co_url/admin/v1/subscribers/$supi/suspend" -X POST -w ' %{http_code}')
show "vera suspends $supi" "-> ${co_refused##* } $(jq -r .detail <<<"${co_refused% *}")"
show "forged POST (no token)" "-> $(curl "${co[@]}" -b "$dir/co.jar" -o /dev/null -w '%{http_code}' -X POST "$co_url/admin/v1/subscribers/$supi/suspend")"
say "The page itself: $co_url/ (compiled into iotsecd; no script or style from elsewhere)."
unset co_pw co_csrf
