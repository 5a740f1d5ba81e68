/* iotsecctl crypto ...: the 3GPP algorithms offline, one JSON object on stdout per call.
 * The shapes printed here are an interface (docs/cli.md); scripts depend on them. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/autn.h"
#include "crypto/ct.h"
#include "crypto/eap_aka_prime.h"
#include "crypto/fiveg_aka.h"
#include "crypto/kdf.h"
#include "crypto/milenage.h"
#include "crypto/snn.h"
#include "crypto/suci.h"
#include "crypto/supi.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

static void put_hex(json_t *obj, const char *key, const uint8_t *bytes, size_t len)
{
    char hex[2 * 64 + 1];
    hex_encode(bytes, len, hex);
    json_object_set_new(obj, key, json_string(hex));
    secure_wipe(hex, sizeof(hex));
}

/* Prints obj compactly on one line and frees it. */
static int print_json(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (s == NULL)
        return args_fail(1, "crypto", "out of memory");
    puts(s);
    secure_wipe(s, strlen(s));
    free(s);
    return 0;
}

static int cmd_milenage(int argc, char **argv)
{
    const char *cmd = "crypto milenage";
    struct flag f[] = {{"k", 1, NULL},    {"op", 0, NULL},  {"opc", 0, NULL},
                       {"rand", 1, NULL}, {"sqn", 1, NULL}, {"amf", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    int has_op = args_get(f, NFLAGS(f), "op") != NULL;
    if (has_op == (args_get(f, NFLAGS(f), "opc") != NULL))
        return args_fail(EXIT_USAGE, cmd, "give exactly one of --op and --opc");
    uint8_t k[16], op_or_opc[16], opc[16], rand[16], sqn[6], amf[2];
    if ((rc = args_hex(cmd, f, NFLAGS(f), "k", k, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), has_op ? "op" : "opc", op_or_opc, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "rand", rand, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "sqn", sqn, 6)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "amf", amf, 2)))
        goto out;
    if (has_op) {
        if (milenage_opc(k, op_or_opc, opc) != IOTSEC_OK) {
            rc = args_fail(1, cmd, "AES failed");
            goto out;
        }
    } else {
        memcpy(opc, op_or_opc, 16);
    }
    struct milenage_out m;
    if (milenage_compute(k, opc, rand, sqn, amf, MILENAGE_ALL, &m) != IOTSEC_OK) {
        rc = args_fail(1, cmd, "AES failed");
        goto out;
    }
    json_t *o = json_object();
    put_hex(o, "opc", opc, 16);
    put_hex(o, "mac_a", m.mac_a, 8);
    put_hex(o, "mac_s", m.mac_s, 8);
    put_hex(o, "res", m.res, 8);
    put_hex(o, "ck", m.ck, 16);
    put_hex(o, "ik", m.ik, 16);
    put_hex(o, "ak", m.ak, 6);
    put_hex(o, "ak_star", m.ak_star, 6);
    secure_wipe(&m, sizeof(m));
    rc = print_json(o);
out:
    secure_wipe(k, sizeof(k));
    secure_wipe(op_or_opc, sizeof(op_or_opc));
    secure_wipe(opc, sizeof(opc));
    return rc;
}

static int check_snn(const char *cmd, const char *snn)
{
    size_t len = strlen(snn);
    if (len == 0 || len > KDF_MAX_PARAM)
        return args_fail(EXIT_USAGE, cmd, "--snn: must be 1 to %d bytes", KDF_MAX_PARAM);
    struct snn parsed;
    if (snn_parse(snn, &parsed) != IOTSEC_OK)
        fprintf(stderr, "iotsecctl %s: warning: --snn is not of the form "
                        "5G:mncXXX.mccYYY.3gppnetwork.org; deriving with it as given\n",
                cmd);
    return 0;
}

static int add_kamf(json_t *o, const char *cmd, const uint8_t kseaf[32], const char *supi_str)
{
    struct supi supi;
    if (supi_parse(supi_str, &supi) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd,
                         "--supi: expected imsi-<5 to 15 digits> or nai-<user>@<realm>");
    static const uint8_t abba[2] = {0x00, 0x00};
    uint8_t kamf[32];
    if (kdf_kamf(kseaf, supi.value, strlen(supi.value), abba, sizeof(abba), kamf) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd, "--supi: too long");
    put_hex(o, "kamf", kamf, 32);
    secure_wipe(kamf, sizeof(kamf));
    return 0;
}

static int cmd_he_av(int argc, char **argv)
{
    const char *cmd = "crypto he-av";
    struct flag f[] = {{"k", 1, NULL},   {"opc", 1, NULL}, {"rand", 1, NULL}, {"sqn", 1, NULL},
                       {"amf", 1, NULL}, {"snn", 1, NULL}, {"supi", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    uint8_t k[16], opc[16], rand[16], sqn[6], amf[2], hxres[16], kseaf[32];
    struct fiveg_he_av av;
    const char *snn = args_get(f, NFLAGS(f), "snn"), *supi = args_get(f, NFLAGS(f), "supi");
    if ((rc = args_hex(cmd, f, NFLAGS(f), "k", k, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "opc", opc, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "rand", rand, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "sqn", sqn, 6)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "amf", amf, 2)) || (rc = check_snn(cmd, snn)))
        goto out;
    if (!fiveg_amf_separation_bit(amf)) {
        rc = args_fail(EXIT_USAGE, cmd,
                       "--amf: the separation bit (the AMF's first bit) must be 1 for 5G");
        goto out;
    }
    if (fiveg_he_av_generate(k, opc, rand, sqn, amf, snn, strlen(snn), &av) != IOTSEC_OK ||
        kdf_kseaf(av.kausf, snn, strlen(snn), kseaf) != IOTSEC_OK) {
        rc = args_fail(1, cmd, "derivation failed");
        goto out;
    }
    kdf_hres_star(av.rand, av.xres_star, hxres);
    json_t *o = json_object();
    put_hex(o, "autn", av.autn, 16);
    put_hex(o, "xres_star", av.xres_star, 16);
    put_hex(o, "hxres_star", hxres, 16);
    put_hex(o, "kausf", av.kausf, 32);
    put_hex(o, "kseaf", kseaf, 32);
    if (supi != NULL && (rc = add_kamf(o, cmd, kseaf, supi)) != 0) {
        json_decref(o);
        goto out;
    }
    rc = print_json(o);
out:
    secure_wipe(k, sizeof(k));
    secure_wipe(opc, sizeof(opc));
    secure_wipe(&av, sizeof(av));
    secure_wipe(kseaf, sizeof(kseaf));
    return rc;
}

static int cmd_eap_aka_prime(int argc, char **argv)
{
    const char *cmd = "crypto eap-aka-prime";
    struct flag f[] = {{"ck", 1, NULL},
                       {"ik", 1, NULL},
                       {"identity", 1, NULL},
                       {"network-name", 1, NULL},
                       {"sqn-xor-ak", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    uint8_t ck[16], ik[16], sqn_xor_ak[6], ck_p[16], ik_p[16];
    struct eap_aka_prime_keys keys;
    const char *id = args_get(f, NFLAGS(f), "identity");
    const char *name = args_get(f, NFLAGS(f), "network-name");
    if ((rc = args_hex(cmd, f, NFLAGS(f), "ck", ck, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "ik", ik, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "sqn-xor-ak", sqn_xor_ak, 6)))
        goto out;
    if (strlen(name) == 0 || strlen(name) > KDF_MAX_PARAM) {
        rc = args_fail(EXIT_USAGE, cmd, "--network-name: must be 1 to %d bytes", KDF_MAX_PARAM);
        goto out;
    }
    if (eap_aka_prime_ck_ik_prime(ck, ik, name, strlen(name), sqn_xor_ak, ck_p, ik_p) ||
        eap_aka_prime_keys(ck_p, ik_p, id, strlen(id), &keys)) {
        rc = args_fail(EXIT_USAGE, cmd, "--identity: too long (at most 1024 bytes)");
        goto out;
    }
    json_t *o = json_object();
    put_hex(o, "ck_prime", ck_p, 16);
    put_hex(o, "ik_prime", ik_p, 16);
    put_hex(o, "k_encr", keys.k_encr, 16);
    put_hex(o, "k_aut", keys.k_aut, 32);
    put_hex(o, "k_re", keys.k_re, 32);
    put_hex(o, "msk", keys.msk, 64);
    put_hex(o, "emsk", keys.emsk, 64);
    rc = print_json(o);
out:
    secure_wipe(ck, sizeof(ck));
    secure_wipe(ik, sizeof(ik));
    secure_wipe(ck_p, sizeof(ck_p));
    secure_wipe(ik_p, sizeof(ik_p));
    secure_wipe(&keys, sizeof(keys));
    return rc;
}

static int cmd_auts(int argc, char **argv)
{
    const char *cmd = "crypto auts";
    struct flag f[] = {{"k", 1, NULL}, {"opc", 1, NULL}, {"rand", 1, NULL}, {"auts", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    uint8_t k[16], opc[16], rand[16], auts[AUTS_LEN], sqn_ms[6];
    if ((rc = args_hex(cmd, f, NFLAGS(f), "k", k, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "opc", opc, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "rand", rand, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "auts", auts, AUTS_LEN)))
        goto out;
    int v = auts_recover_sqn_ms(k, opc, rand, auts, sqn_ms);
    if (v == IOTSEC_ERR_AUTH) {
        rc = args_fail(EXIT_VERIFY, cmd, "MAC-S does not verify: AUTS was not made with this "
                                         "K/OPc and RAND, or was altered");
        goto out;
    }
    if (v != IOTSEC_OK) {
        rc = args_fail(1, cmd, "%s", iotsec_strerror(v));
        goto out;
    }
    json_t *o = json_object();
    put_hex(o, "sqn_ms", sqn_ms, 6);
    rc = print_json(o);
out:
    secure_wipe(k, sizeof(k));
    secure_wipe(opc, sizeof(opc));
    return rc;
}

static int cmd_suci_conceal(int argc, char **argv)
{
    const char *cmd = "crypto suci-conceal";
    struct flag f[] = {{"supi", 1, NULL},
                       {"profile", 1, NULL},
                       {"hn-public-key", 0, NULL},
                       {"hn-key-id", 0, NULL},
                       {"routing-indicator", 0, NULL},
                       {"mnc-length", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    struct supi supi;
    struct suci_conceal_params p = {0};
    if (supi_parse(args_get(f, NFLAGS(f), "supi"), &supi) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd,
                         "--supi: expected imsi-<5 to 15 digits> or nai-<user>@<realm>");
    if (suci_scheme_parse(args_get(f, NFLAGS(f), "profile"), &p.scheme) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd, "--profile: expected A, B or null");

    const char *key_hex = args_get(f, NFLAGS(f), "hn-public-key");
    const char *key_id = args_get(f, NFLAGS(f), "hn-key-id");
    const char *ri = args_get(f, NFLAGS(f), "routing-indicator");
    const char *mnc_len = args_get(f, NFLAGS(f), "mnc-length");
    uint8_t pub[SUCI_PUBLIC_KEY_MAX];
    long id = 0, mnc = 0;
    if (p.scheme == SUCI_SCHEME_NULL) {
        if (key_id != NULL && (rc = args_int(cmd, "hn-key-id", key_id, 0, 0, &id)))
            return rc;
    } else {
        if (key_hex == NULL || key_id == NULL)
            return args_fail(EXIT_USAGE, cmd, "profile %s needs --hn-public-key and --hn-key-id",
                             p.scheme == SUCI_SCHEME_PROFILE_A ? "A" : "B");
        if ((rc = args_int(cmd, "hn-key-id", key_id, 1, 255, &id)))
            return rc;
        size_t want = p.scheme == SUCI_SCHEME_PROFILE_A ? SUCI_PUBLIC_KEY_A_LEN : 0;
        if (hex_decode_var(key_hex, pub, sizeof(pub), &p.hn_public_key_len) != IOTSEC_OK ||
            (want && p.hn_public_key_len != want) ||
            (!want && p.hn_public_key_len != 33 && p.hn_public_key_len != 65))
            return args_fail(EXIT_USAGE, cmd,
                             "--hn-public-key: expected %s", want
                                 ? "64 hex digits (an X25519 public key)"
                                 : "66 or 130 hex digits (a compressed or uncompressed P-256 "
                                   "point)");
        p.hn_public_key = pub;
    }
    if (mnc_len != NULL && (rc = args_int(cmd, "mnc-length", mnc_len, 2, 3, &mnc)))
        return rc;
    p.key_id = (uint8_t)id;
    p.mnc_length = (int)mnc;
    p.routing_indicator = ri;
    char suci[SUCI_STRING_MAX];
    int v = suci_conceal(&supi, &p, suci, sizeof(suci));
    if (v == IOTSEC_ERR_INVALID)
        return args_fail(EXIT_USAGE, cmd, "invalid input (check --hn-public-key is a valid "
                                          "point, --routing-indicator is 1 to 4 digits)");
    if (v != IOTSEC_OK)
        return args_fail(1, cmd, "%s", iotsec_strerror(v));
    json_t *o = json_object();
    json_object_set_new(o, "suci", json_string(suci));
    return print_json(o);
}

static int cmd_suci_decode(int argc, char **argv)
{
    const char *cmd = "crypto suci-decode";
    struct flag f[] = {{"suci", 1, NULL}, {"hn-private-key", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *suci = args_get(f, NFLAGS(f), "suci");
    enum suci_scheme scheme;
    uint8_t key_id;
    int peek = suci_peek(suci, &scheme, &key_id);
    if (peek == IOTSEC_ERR_UNSUPPORTED)
        return args_fail(EXIT_USAGE, cmd, "--suci: unsupported protection scheme or SUPI type");
    if (peek != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd,
                         "--suci: malformed SUCI (expected suci-0-<mcc>-<mnc>-<ri>-<scheme>-<key id>-<output> "
                         "or suci-1-<realm>-<ri>-<scheme>-<key id>-<output>)");
    uint8_t priv[SUCI_PRIVATE_KEY_LEN];
    struct suci_keyring *kr = suci_keyring_new();
    if (kr == NULL)
        return args_fail(1, cmd, "out of memory");
    if (scheme != SUCI_SCHEME_NULL) {
        if (args_get(f, NFLAGS(f), "hn-private-key") == NULL) {
            rc = args_fail(EXIT_USAGE, cmd, "missing --hn-private-key");
            goto out;
        }
        if ((rc = args_hex(cmd, f, NFLAGS(f), "hn-private-key", priv, sizeof(priv))))
            goto out;
        if (suci_keyring_add(kr, scheme, key_id, priv) != IOTSEC_OK) {
            rc = args_fail(EXIT_USAGE, cmd, "--hn-private-key: not a valid private key for "
                                            "profile %s",
                           scheme == SUCI_SCHEME_PROFILE_A ? "A" : "B");
            goto out;
        }
    }
    struct supi supi;
    int v = suci_deconceal(kr, suci, &supi);
    switch (v) {
    case IOTSEC_OK: {
        char s[SUPI_STRING_MAX];
        supi_format(&supi, s, sizeof(s));
        json_t *o = json_object();
        json_object_set_new(o, "supi", json_string(s));
        rc = print_json(o);
        break;
    }
    case IOTSEC_ERR_AUTH:
        rc = args_fail(EXIT_VERIFY, cmd, "MAC tag does not verify: the SUCI was altered or was "
                                         "concealed for another home-network key");
        break;
    case IOTSEC_ERR_UNSUPPORTED:
        rc = args_fail(EXIT_USAGE, cmd, "--suci: unsupported protection scheme");
        break;
    default:
        rc = args_fail(EXIT_USAGE, cmd, "--suci: malformed SUCI (%s)", iotsec_strerror(v));
        break;
    }
out:
    secure_wipe(priv, sizeof(priv));
    suci_keyring_free(kr);
    return rc;
}

/* The USIM and ME answering a challenge: verify AUTN, then RES* and KAUSF; with --sqn-ms,
 * a challenge whose SQN is not above SQN_MS is answered with AUTS (synch failure). */
static int cmd_ue_respond(int argc, char **argv)
{
    const char *cmd = "crypto ue-respond";
    struct flag f[] = {{"k", 1, NULL},    {"opc", 1, NULL}, {"rand", 1, NULL},
                       {"autn", 1, NULL}, {"snn", 1, NULL}, {"sqn-ms", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    uint8_t k[16], opc[16], rand[16], autn[16], sqn_ms[6], auts[AUTS_LEN];
    struct fiveg_ue_response ue;
    const char *snn = args_get(f, NFLAGS(f), "snn");
    int check_fresh = args_get(f, NFLAGS(f), "sqn-ms") != NULL;
    if ((rc = args_hex(cmd, f, NFLAGS(f), "k", k, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "opc", opc, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "rand", rand, 16)) ||
        (rc = args_hex(cmd, f, NFLAGS(f), "autn", autn, 16)) || (rc = check_snn(cmd, snn)) ||
        (check_fresh && (rc = args_hex(cmd, f, NFLAGS(f), "sqn-ms", sqn_ms, 6))))
        goto out;
    int v = fiveg_ue_authenticate(k, opc, rand, autn, snn, strlen(snn), &ue);
    if (v == IOTSEC_ERR_AUTH) {
        rc = args_fail(EXIT_VERIFY, cmd, "MAC-A does not verify: the challenge was not made "
                                         "with this K/OPc, or was altered");
        goto out;
    }
    if (v == IOTSEC_ERR_UNSUPPORTED) {
        rc = args_fail(EXIT_VERIFY, cmd, "AMF separation bit is 0: non-5G authentication "
                                         "unacceptable");
        goto out;
    }
    if (v != IOTSEC_OK) {
        rc = args_fail(1, cmd, "%s", iotsec_strerror(v));
        goto out;
    }
    json_t *o = json_object();
    if (check_fresh && memcmp(ue.sqn, sqn_ms, 6) <= 0) {
        if (auts_build(k, opc, rand, sqn_ms, auts) != IOTSEC_OK) {
            json_decref(o);
            rc = args_fail(1, cmd, "AES failed");
            goto out;
        }
        put_hex(o, "sqn", ue.sqn, 6);
        put_hex(o, "auts", auts, AUTS_LEN);
    } else {
        put_hex(o, "sqn", ue.sqn, 6);
        put_hex(o, "res_star", ue.res_star, 16);
        put_hex(o, "kausf", ue.kausf, 32);
    }
    rc = print_json(o);
out:
    secure_wipe(k, sizeof(k));
    secure_wipe(opc, sizeof(opc));
    secure_wipe(&ue, sizeof(ue));
    return rc;
}

static int cmd_suci_keygen(int argc, char **argv)
{
    const char *cmd = "crypto suci-keygen";
    struct flag f[] = {{"profile", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    enum suci_scheme scheme;
    if (suci_scheme_parse(args_get(f, NFLAGS(f), "profile"), &scheme) != IOTSEC_OK ||
        scheme == SUCI_SCHEME_NULL)
        return args_fail(EXIT_USAGE, cmd, "--profile: expected A or B");
    uint8_t priv[SUCI_PRIVATE_KEY_LEN], pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
    if (suci_generate_key_pair(scheme, priv, pub, &pub_len) != IOTSEC_OK)
        return args_fail(1, cmd, "key generation failed");
    json_t *o = json_object();
    put_hex(o, "private_key", priv, sizeof(priv));
    put_hex(o, "public_key", pub, pub_len);
    secure_wipe(priv, sizeof(priv));
    return print_json(o);
}

static const struct command crypto_commands[] = {
    {"milenage", cmd_milenage,
     "--k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX --amf HEX"},
    {"he-av", cmd_he_av,
     "--k HEX --opc HEX --rand HEX --sqn HEX --amf HEX --snn STRING [--supi SUPI]"},
    {"eap-aka-prime", cmd_eap_aka_prime,
     "--ck HEX --ik HEX --identity STRING --network-name STRING --sqn-xor-ak HEX"},
    {"auts", cmd_auts, "--k HEX --opc HEX --rand HEX --auts HEX"},
    {"suci-conceal", cmd_suci_conceal,
     "--supi SUPI --profile A|B|null [--hn-public-key HEX --hn-key-id N] "
     "[--routing-indicator N] [--mnc-length 2|3]"},
    {"suci-decode", cmd_suci_decode, "--suci STRING [--hn-private-key HEX]"},
    {"suci-keygen", cmd_suci_keygen, "--profile A|B"},
    {"ue-respond", cmd_ue_respond,
     "--k HEX --opc HEX --rand HEX --autn HEX --snn STRING [--sqn-ms HEX]"},
};

int cmd_crypto(int argc, char **argv)
{
    return run_command("crypto", crypto_commands,
                       sizeof(crypto_commands) / sizeof(crypto_commands[0]), argc, argv);
}
