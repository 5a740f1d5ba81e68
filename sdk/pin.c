/* libiotsec-device, Personal IoT Networks (sdk/pin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/rand.h"
#include "onboard.h"
#include "pin.h"
#include "pin_int.h"

int pin_ue_init(struct pin_ue *u, const char *supi, const uint8_t *k, size_t k_len,
                uint32_t cred_version)
{
    memset(u, 0, sizeof(*u));
    if (supi == NULL || strlen(supi) > PIN_SUPI_MAX)
        return IOTSEC_ERR_INVALID;
    snprintf(u->supi, sizeof(u->supi), "%s", supi);
    return pin_ue_key(k, k_len, supi, cred_version, u->uk);
}

void pin_ue_wipe(struct pin_ue *u)
{
    secure_wipe(u, sizeof(*u));
}

int pin_ue_envelope(const struct pin_ue *u, const char *op, const uint8_t nonce[PIN_NONCE_LEN],
                    const char *request, size_t request_len, char **out, size_t *out_len)
{
    uint8_t mac[PIN_MAC_LEN];
    int rc = pin_request_mac(u->uk, op, nonce, request, request_len, mac);
    if (rc != IOTSEC_OK)
        return rc;
    char n64[64], m64[64];
    b64url_encode(nonce, PIN_NONCE_LEN, n64);
    b64url_encode(mac, PIN_MAC_LEN, m64);
    size_t cap = b64url_len(request_len) + strlen(u->supi) + 256;
    char *req64 = malloc(b64url_len(request_len) + 1), *o = malloc(cap);
    if (req64 == NULL || o == NULL) {
        free(req64);
        free(o);
        return IOTSEC_ERR_NOMEM;
    }
    b64url_encode((const uint8_t *)request, request_len, req64);
    int n = snprintf(o, cap, "{\"supi\":\"%s\",\"nonce\":\"%s\",\"request\":\"%s\",\"mac\":\"%s\"}",
                     u->supi, n64, req64, m64);
    free(req64);
    *out = o;
    *out_len = (size_t)n;
    return IOTSEC_OK;
}

int pin_member_b64(const char *body, size_t len, const char *key, uint8_t *out, size_t want)
{
    const char *v;
    size_t vl, n = 0;
    bool str;
    if (json_member(body, len, key, &v, &vl, &str) != IOTSEC_OK || !str)
        return IOTSEC_ERR_INVALID;
    uint8_t buf[128];
    if (b64url_decode(v, vl, buf, sizeof(buf), &n) != IOTSEC_OK || n != want)
        return IOTSEC_ERR_INVALID;
    memcpy(out, buf, want);
    return IOTSEC_OK;
}

int pin_parse_nonce(const char *body, size_t len, uint8_t nonce[PIN_NONCE_LEN])
{
    return pin_member_b64(body, len, "nonce", nonce, PIN_NONCE_LEN);
}

int pin_pine_keygen(struct pin_pine_key *k)
{
    k->sk = NULL;
    return prov_ed25519_keygen(k->seed, k->pub);
}

int pin_pine_open(struct pin_pine_key *k)
{
    if (k->sk != NULL)
        return IOTSEC_OK;
    return prov_sign_key_new(k->seed, &k->sk);
}

void pin_pine_wipe(struct pin_pine_key *k)
{
    prov_sign_key_free(k->sk);
    secure_wipe(k, sizeof(*k));
}

static int pine_sign(const struct pin_pine_key *k, const uint8_t *msg, size_t len,
                     uint8_t sig[PIN_SIG_LEN])
{
    if (k->sk != NULL)
        return prov_ed25519_sign(k->sk, msg, len, sig);
    struct prov_sign_key *sk = NULL;
    int rc = prov_sign_key_new(k->seed, &sk);
    if (rc == IOTSEC_OK)
        rc = prov_ed25519_sign(sk, msg, len, sig);
    prov_sign_key_free(sk);
    return rc;
}

int pin_pine_join_request(const struct pin_pine_key *k, const char *pin_id, const char *name,
                          char *out, size_t cap)
{
    uint8_t msg[PIN_MSG_MAX], sig[PIN_SIG_LEN];
    size_t mlen;
    int rc = pin_msg_join(pin_id, name, k->pub, msg, &mlen);
    if (rc == IOTSEC_OK)
        rc = pine_sign(k, msg, mlen, sig);
    if (rc != IOTSEC_OK)
        return rc;
    /* ids and names are visible ASCII (pin_id_ok); only a quote or backslash needs care */
    if (strpbrk(pin_id, "\"\\") || strpbrk(name, "\"\\"))
        return IOTSEC_ERR_INVALID;
    char p64[64], s64[128];
    b64url_encode(k->pub, PIN_PUB_LEN, p64);
    b64url_encode(sig, PIN_SIG_LEN, s64);
    int n = snprintf(
        out, cap, "{\"pin_id\":\"%s\",\"name\":\"%s\",\"public_key\":\"%s\",\"signature\":\"%s\"}",
        pin_id, name, p64, s64);
    return n > 0 && (size_t)n < cap ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

int pin_pine_code_new(char code[13])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t r[12];
    if (crypto_random(r, sizeof(r)) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    for (size_t i = 0; i < sizeof(r); i++)
        code[i] = alphabet[r[i] & 31];
    code[12] = 0;
    secure_wipe(r, sizeof(r));
    return IOTSEC_OK;
}

int pin_pine_join_code_request(const struct pin_pine_key *k, const char *pin_id, const char *name,
                               const char *code, char *out, size_t cap)
{
    uint8_t h[PIN_MAC_LEN], proof[PIN_MAC_LEN];
    int rc = pin_code_hash(code, pin_id, name, h);
    if (rc == IOTSEC_OK)
        rc = pin_code_proof(h, pin_id, name, k->pub, proof);
    secure_wipe(h, sizeof(h));
    if (rc == IOTSEC_OK)
        rc = pin_pine_join_request(k, pin_id, name, out, cap);
    if (rc != IOTSEC_OK)
        return rc;
    /* the plain join's object, with one more member before its closing brace */
    char p64[64];
    b64url_encode(proof, sizeof(proof), p64);
    size_t n = strlen(out);
    int m = snprintf(out + n - 1, cap - n + 1, ",\"code_proof\":\"%s\"}", p64);
    return m > 0 && (size_t)m < cap - n + 1 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

int pin_pine_auth_sig(const struct pin_pine_key *k, const char *pin_id, const char *pine_id,
                      const char *gw_id, const uint8_t nonce[PIN_NONCE_LEN],
                      uint8_t sig[PIN_SIG_LEN])
{
    uint8_t msg[PIN_MSG_MAX];
    size_t mlen;
    int rc = pin_msg_auth(pin_id, pine_id, gw_id, nonce, msg, &mlen);
    return rc == IOTSEC_OK ? pine_sign(k, msg, mlen, sig) : rc;
}

int pin_decision_verify(const uint8_t ca_pub[PIN_PUB_LEN], const char *decision, size_t len,
                        const uint8_t sig[PIN_SIG_LEN])
{
    uint8_t *msg = malloc(len + 64);
    size_t mlen;
    if (msg == NULL)
        return IOTSEC_ERR_NOMEM;
    int rc = pin_msg_decision(decision, len, msg, len + 64, &mlen);
    if (rc == IOTSEC_OK)
        rc = prov_ed25519_verify(ca_pub, msg, mlen, sig);
    free(msg);
    return rc;
}

/* ---- PEGC ---- */

int pin_pegc_init(struct pin_pegc *g, const char *pin_id, const char *gw_id,
                  const uint8_t ca_pub[PIN_PUB_LEN], size_t cap)
{
    memset(g, 0, sizeof(*g));
    if (!pin_id_ok(pin_id) || !pin_id_ok(gw_id) || cap == 0)
        return IOTSEC_ERR_INVALID;
    snprintf(g->pin_id, sizeof(g->pin_id), "%s", pin_id);
    snprintf(g->gw_id, sizeof(g->gw_id), "%s", gw_id);
    memcpy(g->ca_pub, ca_pub, PIN_PUB_LEN);
    g->recheck_ms = 1000;
    g->entries = calloc(cap, sizeof(*g->entries));
    g->cap = cap;
    return g->entries ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
}

void pin_pegc_free(struct pin_pegc *g)
{
    free(g->entries);
    memset(g, 0, sizeof(*g));
}

static struct pin_pegc_entry *find(struct pin_pegc *g, const char *pine_id)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->entries[i].pine_id, pine_id) == 0)
            return &g->entries[i];
    return NULL;
}

/* A string member equal to want. */
static bool member_is(const char *body, size_t len, const char *key, const char *want)
{
    const char *v;
    size_t vl;
    bool str;
    return json_member(body, len, key, &v, &vl, &str) == IOTSEC_OK && str && vl == strlen(want) &&
           memcmp(v, want, vl) == 0;
}

static bool member_int(const char *body, size_t len, const char *key, int64_t *out)
{
    const char *v;
    size_t vl;
    bool str;
    char buf[24];
    if (json_member(body, len, key, &v, &vl, &str) != IOTSEC_OK || str || vl == 0 ||
        vl >= sizeof(buf))
        return false;
    memcpy(buf, v, vl);
    buf[vl] = 0;
    char *end;
    long long x = strtoll(buf, &end, 10);
    *out = x;
    return *end == 0;
}

/* The decision's text, unescaped: the daemon writes it as a JSON string holding JSON. */
int pin_unescape(const char *v, size_t vl, char *out, size_t cap, size_t *n)
{
    size_t j = 0;
    for (size_t i = 0; i < vl; i++) {
        char c = v[i];
        if (c == '\\') {
            if (++i >= vl)
                return IOTSEC_ERR_INVALID;
            c = v[i];
            if (c != '"' && c != '\\' && c != '/')
                return IOTSEC_ERR_INVALID; /* the daemon's decisions need no other escape */
        }
        if (j + 1 >= cap)
            return IOTSEC_ERR_INVALID;
        out[j++] = c;
    }
    out[j] = 0;
    *n = j;
    return IOTSEC_OK;
}

int pin_pegc_accept(struct pin_pegc *g, const char *answer, size_t len,
                    const uint8_t nonce[PIN_NONCE_LEN], int64_t now_ms)
{
    const char *v;
    size_t vl, dl;
    bool str;
    uint8_t sig[PIN_SIG_LEN];
    char d[2048], nhex[2 * PIN_NONCE_LEN + 1];
    if (json_member(answer, len, "decision", &v, &vl, &str) != IOTSEC_OK || !str ||
        pin_unescape(v, vl, d, sizeof(d), &dl) != IOTSEC_OK ||
        pin_member_b64(answer, len, "signature", sig, PIN_SIG_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    if (pin_decision_verify(g->ca_pub, d, dl, sig) != IOTSEC_OK)
        return IOTSEC_ERR_AUTH;
    hex_encode(nonce, PIN_NONCE_LEN, nhex);
    if (!member_is(d, dl, "pin_id", g->pin_id) || !member_is(d, dl, "gw_id", g->gw_id) ||
        !member_is(d, dl, "nonce", nhex))
        return IOTSEC_ERR_AUTH;
    struct pin_pegc_entry e = {0};
    int64_t qos = 0;
    if (json_member(d, dl, "pine_id", &v, &vl, &str) != IOTSEC_OK || !str ||
        vl >= sizeof(e.pine_id) || !member_int(d, dl, "expires_at", &e.expires_at) ||
        !member_int(d, dl, "qos_class", &qos) ||
        json_member(d, dl, "dnns", &v, &vl, &str) != IOTSEC_OK || str)
        return IOTSEC_ERR_INVALID;
    char pine[sizeof(e.pine_id)];
    const char *pv;
    size_t pl;
    json_member(d, dl, "pine_id", &pv, &pl, &str);
    memcpy(pine, pv, pl);
    pine[pl] = 0;
    snprintf(e.pine_id, sizeof(e.pine_id), "%s", pine);
    e.qos_class = (uint16_t)qos;
    /* dnns: ["a","b"]: hash each string between quotes (DNNs hold no quote) */
    size_t k = 0;
    for (size_t i = 0; i < vl && k < PIN_PEGC_DNNS; i++) {
        if (v[i] != '"')
            continue;
        size_t j = i + 1;
        while (j < vl && v[j] != '"')
            j++;
        if (j - i - 1 < PIN_PEGC_DNN_LEN)
            memcpy(e.dnns[k++], v + i + 1, j - i - 1);
        i = j;
    }
    e.checked_ms = now_ms;
    struct pin_pegc_entry *slot = find(g, e.pine_id);
    if (slot == NULL) {
        if (g->n == g->cap)
            return IOTSEC_ERR_BUSY;
        slot = &g->entries[g->n++];
    }
    *slot = e;
    return IOTSEC_OK;
}

void pin_pegc_drop(struct pin_pegc *g, const char *pine_id)
{
    struct pin_pegc_entry *e = find(g, pine_id);
    if (e) {
        *e = g->entries[--g->n];
        memset(&g->entries[g->n], 0, sizeof(*e));
    }
}

bool pin_pegc_forward(struct pin_pegc *g, const char *pine_id, const char *dnn, int64_t now_ms,
                      pin_check_fn check, void *ctx)
{
    struct pin_pegc_entry *e = find(g, pine_id);
    if (e == NULL)
        return false;
    if (e->expires_at * 1000 <= now_ms) {
        pin_pegc_drop(g, pine_id);
        return false;
    }
    bool dnn_ok = false;
    for (size_t i = 0; dnn[0] && i < PIN_PEGC_DNNS; i++)
        dnn_ok |= strncmp(e->dnns[i], dnn, PIN_PEGC_DNN_LEN) == 0;
    if (!dnn_ok)
        return false;
    if (now_ms - e->checked_ms >= g->recheck_ms) {
        if (check == NULL || !check(ctx, pine_id)) {
            pin_pegc_drop(g, pine_id);
            return false;
        }
        e->checked_ms = now_ms;
    }
    return true;
}
