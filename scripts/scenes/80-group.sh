# Scene (sourced by scripts/demo): group messages (docs/group.md). A building's 12 meters form
# one message group; each is a real receiver (sdk/group_member.c) behind its own endpoint. An
# application server with the owner's consent sends "close the valve" once: the network signs
# and encrypts it once and every meter verifies it. One meter is quarantined: the network
# rekeys (about 2·log N wrapped keys, signed) and the next message reaches every meter but
# that one, which cannot read it; a meter that forges with the group key and a replayed
# message are refused by all.
sim="$build/tools/iotsec-sim/iotsec-sim"
if [ ! -x "$sim" ]; then
    say "(iotsec-sim is not built: the group scene is skipped)"
else
    step "G1. A building's 12 meters in one group; an AF sends, a meter is quarantined, it sends again"
    grp=$("$sim" group --dir "$dir/inst" --ready "$dir/ready.json" --devices 12 --leave 1 \
        --messages 1 --quarantine 2>"$dir/group.log" | tail -1) || { cat "$dir/group.log"; exit 1; }
    show "iotsec-sim group" "$grp"
    say "$(jq -r '"\(.delivered) (meter, message) pairs verified and decrypted: 12 of the first, 11 of the next;"' <<<"$grp")"
    say "$(jq -r '"the quarantined meter read \(.leaver_decrypted) of them; \(.forged_rejected) meters refused a forgery, \(.replayed_rejected) a replay."' <<<"$grp")"
    g=$(jq -r .group <<<"$grp")
    step "G2. The operator's view: the group, its epoch (one per rekey), its members"
    "$ctl" --dir "$dir/inst" group show --group "$g" | jq -c '{externalGroupId, epoch, members, arity, depth, confidential}' | sed 's/^/  /'
    show "audit (AF decisions)" "$("$ctl" --dir "$dir/inst" audit log --limit 1000 2>/dev/null |
        jq '[.records[] | select(.action | test("group-message"))] | length') group-message decisions in the hash-chained log"
fi
