/* Optional real enforcement of a quarantine: the UE addresses of quarantined devices in an
 * nftables set, and rules that drop what they send (table inet iotsec: chains on the forward
 * hook, for a UPF or gateway host that routes UE traffic, and on the input hook, for traffic
 * to this host). libnftables, one context behind a mutex. The table is recreated empty at
 * start; quarantined devices are added as their quarantine is committed. */
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/policy.h"

struct policy_nft {
    struct nft_ctx *ctx;
    pthread_mutex_t mu;
};

static const char table_def[] =
    "add table inet iotsec\n"
    "delete table inet iotsec\n"
    "table inet iotsec {\n"
    "  set quarantine4 { type ipv4_addr; }\n"
    "  set quarantine6 { type ipv6_addr; }\n"
    "  chain forward { type filter hook forward priority -10; policy accept;\n"
    "    ip saddr @quarantine4 drop\n"
    "    ip6 saddr @quarantine6 drop\n"
    "  }\n"
    "  chain input { type filter hook input priority -10; policy accept;\n"
    "    ip saddr @quarantine4 drop\n"
    "    ip6 saddr @quarantine6 drop\n"
    "  }\n"
    "}\n";

static int run(struct policy_nft *n, const char *cmd, char *err, size_t err_len)
{
    int rc = nft_run_cmd_from_buffer(n->ctx, cmd);
    if (rc != 0 && err != NULL) {
        const char *e = nft_ctx_get_error_buffer(n->ctx);
        snprintf(err, err_len, "nftables: %.200s", e ? e : "error");
    }
    return rc == 0 ? IOTSEC_OK : IOTSEC_ERR_IO;
}

struct policy_nft *policy_nft_open(char *err, size_t err_len)
{
    struct policy_nft *n = calloc(1, sizeof(*n));
    if (n == NULL || (n->ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
        free(n);
        snprintf(err, err_len, "nftables: no memory");
        return NULL;
    }
    nft_ctx_buffer_output(n->ctx);
    nft_ctx_buffer_error(n->ctx);
    pthread_mutex_init(&n->mu, NULL);
    if (run(n, table_def, err, err_len) != IOTSEC_OK) {
        policy_nft_close(n);
        return NULL;
    }
    return n;
}

void policy_nft_close(struct policy_nft *n)
{
    if (n == NULL)
        return;
    nft_ctx_free(n->ctx);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

int policy_nft_set(struct policy_nft *n, const struct an_addr *a, bool quarantined)
{
    char text[64], cmd[160];
    an_addr_format(a, text, sizeof(text));
    snprintf(cmd, sizeof(cmd), "%s element inet iotsec quarantine%c { %s }",
             quarantined ? "add" : "delete", an_addr_is_v4(a) ? '4' : '6', text);
    pthread_mutex_lock(&n->mu);
    int rc = run(n, cmd, NULL, 0);
    pthread_mutex_unlock(&n->mu);
    /* Deleting an address that is not in the set fails: it is not quarantined, as wanted. */
    return quarantined ? rc : IOTSEC_OK;
}

int policy_nft_list(struct policy_nft *n, char *out, size_t len)
{
    pthread_mutex_lock(&n->mu);
    int rc = run(n, "list table inet iotsec", NULL, 0);
    const char *o = nft_ctx_get_output_buffer(n->ctx);
    snprintf(out, len, "%s", rc == IOTSEC_OK && o ? o : "");
    pthread_mutex_unlock(&n->mu);
    return rc;
}
