# Scene (sourced by scripts/demo): a household's Personal IoT Network (docs/pin.md). The
# operator gives a phone the PIN manager role and two routers the gateway role; the phone
# creates the PIN, approves the lamps and sensors that join through the routers (a rogue one
# stays refused); every element authenticates end to end through its router, which can neither
# read nor forge it (a flipped bit is refused); a removed element is cut off at once; an
# application server sees only the PIN its owner granted, by PIN-local ids.
sim="$build/tools/iotsec-sim/iotsec-sim"
if [ ! -x "$sim" ]; then
    say "(iotsec-sim is not built: the PIN scene is skipped)"
else
    step "P1. A household's Personal IoT Network: 1 manager, 2 gateways, 12 elements, 2 AFs"
    pin=$("$sim" pin --dir "$dir/inst" --ready "$dir/ready.json" --pines 12 2>"$dir/pin.log" | tail -1)
    show "iotsec-sim pin" "$pin"
    say "approved 11 of 12 (the rogue never); the tampered and the removed element refused;"
    say "a doorbell joined with the one-time code it showed (a wrong code refused)."
    pin_id=$(jq -r .pin_id <<<"$pin")
    step "P2. The operator's view: roles and the PIN (gateways by PIN-local id, elements)"
    "$ctl" --dir "$dir/inst" pin show "$pin_id" | jq -c '{name, owner, policy,
        gateways: [.gateways[] | {gw_id, state}], elements: (.elements | length)}' | sed 's/^/  /'
    show "audit (AF decisions)" "$("$ctl" --dir "$dir/inst" audit log --limit 1000 2>/dev/null |
        jq '[.records[] | select(.reason | test("PIN"))] | length') PIN decisions in the hash-chained log"
fi
