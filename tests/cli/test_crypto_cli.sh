#!/usr/bin/env bash
# Drives `iotsecctl crypto` as a script would: every vector of tests/vectors through the
# command line, exact JSON shapes, and bad input (exit 2 with a message, exit 1 when a MAC
# does not verify; never a crash, never a secret echoed back).
# usage: test_crypto_cli.sh IOTSECCTL VECTORS_DIR
set -u
ctl=$1
vec=$2
pass=0
fail=0

ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_json NAME EXPECTED_JSON CMD...: stdout must equal EXPECTED_JSON (compared by jq -S).
expect_json() {
    local name=$1 want=$2 got rc
    shift 2
    got=$("$ctl" crypto "$@" 2>/tmp/iotsec-cli-err.$$)
    rc=$?
    cat /tmp/iotsec-cli-err.$$ >>/tmp/iotsec-cli-allerr.$$
    if [ $rc -ne 0 ]; then
        ko "$name: exit $rc: $(cat /tmp/iotsec-cli-err.$$)"
    elif [ "$(jq -cS . <<<"$got")" != "$(jq -cS . <<<"$want")" ]; then
        ko "$name: got $got, want $want"
    else
        ok
    fi
}

# expect_exit NAME CODE STDERR_PATTERN CMD...: exit code, an explanatory message, no stdout.
expect_exit() {
    local name=$1 code=$2 pattern=$3 out rc
    shift 3
    out=$("$ctl" crypto "$@" 2>/tmp/iotsec-cli-err.$$)
    rc=$?
    local err
    err=$(cat /tmp/iotsec-cli-err.$$)
    echo "$err" >>/tmp/iotsec-cli-allerr.$$
    if [ $rc -ne "$code" ]; then
        ko "$name: exit $rc, want $code (stderr: $err)"
    elif [ -n "$out" ]; then
        ko "$name: printed on stdout on failure: $out"
    elif ! grep -qE -- "$pattern" <<<"$err"; then
        ko "$name: stderr '$err' does not match '$pattern'"
    else
        ok
    fi
}

# --- Milenage: every TS 35.207 and TS 35.208 set, from OP and from OPc -------------------
while read -r s; do
    name="milenage $(jq -r '.set' <<<"$s")"
    want=$(jq -c '{opc, mac_a: .f1_mac_a, mac_s: .f1star_mac_s, res: .f2_res, ck: .f3_ck,
                   ik: .f4_ik, ak: .f5_ak, ak_star: .f5star_ak_star}' <<<"$s")
    args=(--k "$(jq -r .k <<<"$s")" --rand "$(jq -r .rand <<<"$s")"
          --sqn "$(jq -r .sqn <<<"$s")" --amf "$(jq -r .amf <<<"$s")")
    expect_json "$name (op)" "$want" milenage "${args[@]}" --op "$(jq -r .op <<<"$s")"
    expect_json "$name (opc)" "$want" milenage "${args[@]}" --opc "$(jq -r .opc <<<"$s")"
done < <(jq -c '.ts35207_implementors_sets[], .ts35208_conformance_sets[]' "$vec/milenage.json")

# --- AUTS resynchronisation ----------------------------------------------------------------
while read -r c; do
    expect_json "auts $(jq -r .id <<<"$c")" "$(jq -c '{sqn_ms: .expected_sqn_ms}' <<<"$c")" \
        auts --k "$(jq -r .k <<<"$c")" --opc "$(jq -r .opc <<<"$c")" \
        --rand "$(jq -r .rand <<<"$c")" --auts "$(jq -r .auts <<<"$c")"
done < <(jq -c '.resync_auts_vectors[]' "$vec/milenage.json")

# --- 5G HE AV chains, with and without KAMF; EAP-AKA' for 5G ------------------------------
while read -r c; do
    id=$(jq -r .id <<<"$c")
    args=(--k "$(jq -r .inputs.k <<<"$c")" --opc "$(jq -r .inputs.opc <<<"$c")"
          --rand "$(jq -r .inputs.rand <<<"$c")" --sqn "$(jq -r .inputs.sqn <<<"$c")"
          --amf "$(jq -r .inputs.amf <<<"$c")" --snn "$(jq -r .inputs.serving_network_name <<<"$c")")
    want=$(jq -c '{autn: .milenage.autn} + (.fiveg_aka | {xres_star, hxres_star, kausf, kseaf})' <<<"$c")
    expect_json "he-av $id" "$want" he-av "${args[@]}"
    want=$(jq -c '{autn: .milenage.autn} + .fiveg_aka' <<<"$c")
    expect_json "he-av $id --supi" "$want" he-av "${args[@]}" --supi "$(jq -r .inputs.supi <<<"$c")"
    want=$(jq -c '.eap_aka_prime_5g | {ck_prime, ik_prime, k_encr, k_aut, k_re, msk, emsk}' <<<"$c")
    expect_json "eap-aka-prime 5G $id" "$want" eap-aka-prime \
        --ck "$(jq -r .milenage.ck <<<"$c")" --ik "$(jq -r .milenage.ik <<<"$c")" \
        --identity "$(jq -r .eap_aka_prime_5g.identity <<<"$c")" \
        --network-name "$(jq -r .eap_aka_prime_5g.network_name <<<"$c")" \
        --sqn-xor-ak "$(jq -r .milenage.sqn_xor_ak <<<"$c")"
done < <(jq -c '.cases[]' "$vec/5g_aka.json")

# --- The UE side: answering the network's challenge, and resynchronising ----------------------
c=$(jq -c '.cases[1]' "$vec/5g_aka.json")
ck=$(jq -r .inputs.k <<<"$c"); copc=$(jq -r .inputs.opc <<<"$c"); crand=$(jq -r .inputs.rand <<<"$c")
csnn=$(jq -r .inputs.serving_network_name <<<"$c"); cautn=$(jq -r .milenage.autn <<<"$c")
want=$(jq -c '{sqn: .inputs.sqn, res_star: .fiveg_aka.xres_star, kausf: .fiveg_aka.kausf}' <<<"$c")
expect_json "ue-respond" "$want" ue-respond --k "$ck" --opc "$copc" --rand "$crand" --autn "$cautn" --snn "$csnn"
expect_json "ue-respond fresh SQN" "$want" ue-respond --k "$ck" --opc "$copc" --rand "$crand" --autn "$cautn" --snn "$csnn" --sqn-ms 000000000001
# A USIM that has already seen a higher SQN answers with AUTS; the network recovers SQN_MS.
auts=$("$ctl" crypto ue-respond --k "$ck" --opc "$copc" --rand "$crand" --autn "$cautn" --snn "$csnn" --sqn-ms 16f3b3f71000 | jq -r .auts)
expect_json "auts from ue-respond" '{"sqn_ms":"16f3b3f71000"}' auts --k "$ck" --opc "$copc" --rand "$crand" --auts "$auts"
expect_exit "ue-respond tampered AUTN" 1 'MAC-A does not verify' ue-respond --k "$ck" --opc "$copc" --rand "$crand" --autn "${cautn%?}0" --snn "$csnn"
expect_exit "ue-respond wrong K" 1 'MAC-A does not verify' ue-respond --k "$(tr 0-9a-f 1-9a-f0 <<<"$ck")" --opc "$copc" --rand "$crand" --autn "$cautn" --snn "$csnn"

# --- EAP-AKA' (RFC 5448 Appendix C) -----------------------------------------------------------
while read -r c; do
    want=$(jq -c '{ck_prime, ik_prime, k_encr, k_aut, k_re, msk, emsk}' <<<"$c")
    expect_json "eap-aka-prime case $(jq -r .case <<<"$c")" "$want" eap-aka-prime \
        --ck "$(jq -r .ck <<<"$c")" --ik "$(jq -r .ik <<<"$c")" \
        --identity "$(jq -r .identity <<<"$c")" --network-name "$(jq -r .network_name <<<"$c")" \
        --sqn-xor-ak "$(jq -r '.autn[0:12]' <<<"$c")"
done < <(jq -c '.cases[]' "$vec/eap_aka_prime.json")

# --- SUCI: TS 33.501 C.4 vectors decoded, then round trips ------------------------------------
a=$(jq -c '.vectors[] | select(.profile == "A")' "$vec/suci.json")
b=$(jq -c '.vectors[] | select(.profile == "B")' "$vec/suci.json")
a_priv=$(jq -r .hn_private_key <<<"$a")
a_pub=$(jq -r .hn_public_key <<<"$a")
b_priv=$(jq -r .hn_private_key <<<"$b")
b_pub=$(jq -r .hn_public_key_compressed <<<"$b")
b_pub_unc=$(jq -r .hn_public_key_uncompressed <<<"$b")
imsi='{"supi":"imsi-274012001002086"}'
suci_a="suci-0-274-012-0-1-7-$(jq -r .scheme_output <<<"$a")"
suci_b="suci-0-274-012-0-2-9-$(jq -r .scheme_output <<<"$b")"
suci_b_unc="suci-0-274-012-0-2-9-$(jq -r '.eph_public_key_uncompressed + .ciphertext + .mac_tag' <<<"$b")"
expect_json "suci-decode C.4.3.1 profile A" "$imsi" suci-decode --suci "$suci_a" --hn-private-key "$a_priv"
expect_json "suci-decode C.4.4.1 profile B" "$imsi" suci-decode --suci "$suci_b" --hn-private-key "$b_priv"
expect_json "suci-decode profile B, uncompressed ephemeral key" "$imsi" \
    suci-decode --suci "$suci_b_unc" --hn-private-key "$b_priv"
expect_json "suci-decode C.4.2.1 null IMSI" "$imsi" suci-decode --suci "suci-0-274-012-0-0-0-001002086"
nai_hex=$(printf 'verylongusername1' | od -An -tx1 | tr -d ' \n')
expect_json "suci-decode C.4.2.2 null NAI" '{"supi":"nai-verylongusername1@3gpp.com"}' \
    suci-decode --suci "suci-1-3gpp.com-0-0-0-$nai_hex"

for supi in imsi-274012001002086 imsi-20893000000001 nai-meter-42@utility.example-op.net; do
    for p in A B; do
        if [ $p = A ]; then pub=$a_pub priv=$a_priv; else pub=$b_pub priv=$b_priv; fi
        suci=$("$ctl" crypto suci-conceal --supi "$supi" --profile $p --hn-public-key "$pub" \
               --hn-key-id 3 --routing-indicator 17 --mnc-length 3 | jq -r .suci)
        case "$supi" in
            imsi-*) re='^suci-0-[0-9]{3}-[0-9]{3}-17-[12]-3-[0-9a-f]+$' ;;
            *) re='^suci-1-utility\.example-op\.net-17-[12]-3-[0-9a-f]+$' ;;
        esac
        if grep -qE "$re" <<<"$suci"; then ok; else ko "suci-conceal $supi $p: form '$suci'"; fi
        if grep -q "${supi#*-}" <<<"$suci" || grep -q "meter-42" <<<"$suci"; then
            ko "suci-conceal $supi $p: SUCI contains the SUPI in clear"
        else ok; fi
        expect_json "round trip $supi profile $p" "{\"supi\":\"$supi\"}" \
            suci-decode --suci "$suci" --hn-private-key "$priv"
    done
done
for p in A B; do
    kp=$("$ctl" crypto suci-keygen --profile $p)
    suci=$("$ctl" crypto suci-conceal --supi imsi-001010000000042 --profile $p --hn-public-key "$(jq -r .public_key <<<"$kp")" --hn-key-id 200 | jq -r .suci)
    expect_json "suci-keygen $p round trip" '{"supi":"imsi-001010000000042"}' suci-decode --suci "$suci" --hn-private-key "$(jq -r .private_key <<<"$kp")"
done
expect_exit "suci-keygen null" 2 '--profile: expected A or B' suci-keygen --profile null
# Profile B accepts the home-network key in uncompressed form too.
suci=$("$ctl" crypto suci-conceal --supi imsi-274012001002086 --profile B --hn-public-key "$b_pub_unc" --hn-key-id 1 --mnc-length 3 | jq -r .suci)
expect_json "round trip with uncompressed HN key" "$imsi" suci-decode --suci "$suci" --hn-private-key "$b_priv"
expect_json "suci-conceal null IMSI" '{"suci":"suci-0-274-012-0-0-0-001002086"}' \
    suci-conceal --supi imsi-274012001002086 --profile null --mnc-length 3
expect_json "suci-conceal null IMSI, 2-digit MNC default" '{"suci":"suci-0-208-93-0-0-0-0000000001"}' \
    suci-conceal --supi imsi-208930000000001 --profile null

# --- Bad input -------------------------------------------------------------------------------
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
R=23553cbe9637a89d218ae64dae47bf35
expect_exit "short K" 2 '--k: wrong length: expected 32 hex digits' milenage --k 465b5ce8b199b49faa5f0a2ee238a6 --opc $OPC --rand $R --sqn ff9bb4d0b607 --amf b9b9
expect_exit "odd hex" 2 '--rand: odd number of hex digits' milenage --k $K --opc $OPC --rand ${R}0 --sqn ff9bb4d0b607 --amf b9b9
expect_exit "non-hex" 2 '--sqn: not hex' milenage --k $K --opc $OPC --rand $R --sqn ff9bb4d0b6zz --amf b9b9
expect_exit "missing flag" 2 'missing --amf' milenage --k $K --opc $OPC --rand $R --sqn ff9bb4d0b607
expect_exit "op and opc" 2 'exactly one of --op and --opc' milenage --k $K --op $OPC --opc $OPC --rand $R --sqn ff9bb4d0b607 --amf b9b9
expect_exit "neither op nor opc" 2 'exactly one of --op and --opc' milenage --k $K --rand $R --sqn ff9bb4d0b607 --amf b9b9
expect_exit "unknown flag" 2 'unknown option --kk' milenage --kk $K
expect_exit "repeated flag" 2 '--k given twice' milenage --k $K --k $K
expect_exit "flag without value" 2 '--amf needs a value' milenage --k $K --opc $OPC --rand $R --sqn ff9bb4d0b607 --amf
expect_exit "stray argument" 2 'unexpected argument' milenage $K
expect_exit "unknown command" 2 "unknown command 'milenage-x'" milenage-x
expect_exit "he-av without separation bit" 2 'separation bit' he-av --k $K --opc $OPC --rand $R --sqn ff9bb4d0b607 --amf 0000 --snn 5G:mnc001.mcc001.3gppnetwork.org
expect_exit "he-av empty snn" 2 '--snn' he-av --k $K --opc $OPC --rand $R --sqn ff9bb4d0b607 --amf 8000 --snn ""
expect_exit "he-av bad supi" 2 '--supi' he-av --k $K --opc $OPC --rand $R --sqn ff9bb4d0b607 --amf 8000 --snn 5G:mnc001.mcc001.3gppnetwork.org --supi 208930000000001
expect_exit "auts short" 2 '--auts: wrong length' auts --k $K --opc $OPC --rand $R --auts 4f2039392ddd4bb4316ed4a146
expect_exit "auts tampered" 1 'MAC-S does not verify' auts --k 90dca4eda45b53cf0f12d7c9c3bc6a89 --opc cb9cccc4b9258e6dca4760379fb82581 --rand 9fddc72092c6ad036b6e464789315b78 --auts 4f2039392ddd4bb4316ed4a14689
expect_exit "eap identity too long" 2 'identity' eap-aka-prime --ck $K --ik $K --identity "$(head -c 2000 /dev/zero | tr '\0' a)" --network-name WLAN --sqn-xor-ak bb52e91c747a
tampered_mac="${suci_a%?}$(printf '%x' $(( (0x${suci_a: -1} + 1) % 16 )))"
expect_exit "suci tampered MAC" 1 'MAC tag does not verify' suci-decode --suci "$tampered_mac" --hn-private-key "$a_priv"
tampered_ct=$(sed -E 's/cb02352410/cb02352411/' <<<"$suci_a")
expect_exit "suci tampered ciphertext" 1 'MAC tag does not verify' suci-decode --suci "$tampered_ct" --hn-private-key "$a_priv"
expect_exit "suci wrong private key" 1 'MAC tag does not verify' suci-decode --suci "$suci_a" --hn-private-key "$(tr 0-9a-f 1-9a-f0 <<<"$a_priv")"
expect_exit "suci profile B with A's key" 1 'does not verify|not a valid private key' suci-decode --suci "$suci_b" --hn-private-key "$(tr 0-9a-f 1-9a-f0 <<<"$b_priv")"
expect_exit "suci not a suci" 2 'malformed SUCI' suci-decode --suci imsi-274012001002086 --hn-private-key "$a_priv"
expect_exit "suci truncated output" 2 'malformed' suci-decode --suci "suci-0-274-012-0-1-7-b2e92f83" --hn-private-key "$a_priv"
expect_exit "suci non-hex output" 2 'malformed' suci-decode --suci "${suci_a%??}zz" --hn-private-key "$a_priv"
expect_exit "suci missing private key" 2 'missing --hn-private-key' suci-decode --suci "$suci_a"
expect_exit "suci short private key" 2 '--hn-private-key: wrong length' suci-decode --suci "$suci_a" --hn-private-key "${a_priv:2}"
expect_exit "conceal profile A key id 0" 2 '--hn-key-id: expected an integer from 1 to 255' suci-conceal --supi imsi-274012001002086 --profile A --hn-public-key "$a_pub" --hn-key-id 0
expect_exit "conceal key id 256" 2 '--hn-key-id' suci-conceal --supi imsi-274012001002086 --profile A --hn-public-key "$a_pub" --hn-key-id 256
expect_exit "conceal bad profile" 2 '--profile: expected A, B or null' suci-conceal --supi imsi-274012001002086 --profile C --hn-public-key "$a_pub" --hn-key-id 1
expect_exit "conceal profile B with 32-byte key" 2 '--hn-public-key' suci-conceal --supi imsi-274012001002086 --profile B --hn-public-key "$a_pub" --hn-key-id 1
expect_exit "conceal profile B, point not on curve" 2 'invalid input' suci-conceal --supi imsi-274012001002086 --profile B --hn-public-key "02$(printf 'ff%.0s' $(seq 32))" --hn-key-id 1
expect_exit "conceal bad supi" 2 '--supi' suci-conceal --supi imsi-27401200100208612 --profile null
expect_exit "conceal bad routing indicator" 2 'routing' suci-conceal --supi imsi-274012001002086 --profile null --routing-indicator 12345

# No message above may have echoed a key back.
if grep -qiE "$K|$OPC|$a_priv|$b_priv" /tmp/iotsec-cli-allerr.$$; then
    ko "a secret was echoed on stderr"
else ok; fi
rm -f /tmp/iotsec-cli-err.$$ /tmp/iotsec-cli-allerr.$$

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
