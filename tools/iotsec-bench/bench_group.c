/* Group messaging in process (docs/group.md): the LKH rekey on one leave in a group of one
 * million against the O(N) re-push of a new group key to every remaining member (MBMS-style,
 * measured in the same run), 1,000 leaves + 1,000 joins batched into one rekey, message
 * protection (sign + seal) against the signature alone, the device's verify + decrypt, and
 * the server's memory per member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "bench.h"
#include "group/group.h"
#include "group_member.h"

#define N_MEMBERS 1000000u

/* Thread CPU seconds: this machine is shared (load far above its 2 cores), so wall time
 * would measure the neighbours; every figure here is single-threaded CPU time. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Operations per CPU second of fn over about `seconds` of CPU. */
double bench_group_cpu_rate(bench_op fn, void *arg, double seconds)
{
    uint64_t n = 0;
    double t0 = cpu_now(), t;
    do {
        for (int k = 0; k < 64; k++, n++)
            if (fn(arg, n) != 0)
                return -1;
        t = cpu_now() - t0;
    } while (t < seconds);
    return (double)n / t;
}

struct ctx {
    struct group g;
    struct prov_sign_key *sk;
    uint8_t pub[GROUP_PUB_LEN];
    uint32_t *leaves;
    struct group_member dev;
    uint8_t *msg;
    size_t msg_len;
};

static int fill(struct ctx *c, uint8_t arity)
{
    if (group_tree_init(&c->g.tree, arity, group_tree_depth_for(arity, N_MEMBERS)) != IOTSEC_OK)
        return -1;
    for (uint32_t i = 0; i < N_MEMBERS; i++)
        if (group_tree_join(&c->g.tree, &c->leaves[i]) != IOTSEC_OK)
            return -1;
    uint8_t *m;
    size_t len;
    if (group_tree_rekey(&c->g.tree, c->g.ref, c->sk, &m, &len, NULL) != IOTSEC_OK)
        return -1;
    free(m);
    return 0;
}

/* Leaves of member i, one rekey each; reports the mean. */
static int leave_figures(struct ctx *c, uint8_t arity)
{
    const int rounds = 200;
    uint64_t entries = 0, bytes = 0;
    double t0 = cpu_now();
    for (int r = 0; r < rounds; r++) {
        uint32_t e;
        uint8_t *m;
        size_t len;
        if (group_tree_leave(&c->g.tree, c->leaves[(uint32_t)r * 4999u % N_MEMBERS]) != IOTSEC_OK ||
            group_tree_rekey(&c->g.tree, c->g.ref, c->sk, &m, &len, &e) != IOTSEC_OK)
            return -1;
        entries += e;
        bytes += len;
        free(m);
    }
    double us = (cpu_now() - t0) / rounds * 1e6;
    char name[64];
    snprintf(name, sizeof(name), "group_rekey_leave_1M_d%u_keys", arity);
    bench_report(name, (double)entries / rounds, "wrapped keys", 1);
    snprintf(name, sizeof(name), "group_rekey_leave_1M_d%u_bytes", arity);
    bench_report(name, (double)bytes / rounds, "bytes (signed)", 1);
    snprintf(name, sizeof(name), "group_rekey_leave_1M_d%u_time", arity);
    bench_report(name, us, "us", 1);
    return 0;
}

/* The baseline: a new traffic key wrapped for every remaining member under its own key. */
static int repush_baseline(struct ctx *c)
{
    uint8_t key[GROUP_KEY_LEN] = {1}, w[GROUP_WRAP_LEN];
    struct group_tree *t = &c->g.tree;
    double t0 = cpu_now();
    uint64_t n = 0;
    for (uint32_t leaf = t->first_leaf; leaf < t->nodes; leaf++) {
        if (t->count[leaf] == 0)
            continue;
        if (group_key_wrap(t->key[leaf], key, w) != IOTSEC_OK)
            return -1;
        n++;
    }
    double ms = (cpu_now() - t0) * 1e3;
    bench_report("group_repush_baseline_1M_keys", (double)n, "wrapped keys", 1);
    bench_report("group_repush_baseline_1M_bytes", (double)n * (4 + GROUP_WRAP_LEN),
                 "bytes (unsigned)", 1);
    bench_report("group_repush_baseline_1M_time", ms * 1e3, "us", 1);
    return 0;
}

static int batch_figures(struct ctx *c)
{
    for (uint32_t i = 0; i < 1000; i++)
        if (group_tree_leave(&c->g.tree, c->leaves[500000 + i * 211]) != IOTSEC_OK)
            return -1;
    uint32_t leaf;
    for (uint32_t i = 0; i < 1000; i++)
        if (group_tree_join(&c->g.tree, &leaf) != IOTSEC_OK)
            return -1;
    uint8_t *m;
    size_t len;
    uint32_t e;
    double t0 = cpu_now();
    if (group_tree_rekey(&c->g.tree, c->g.ref, c->sk, &m, &len, &e) != IOTSEC_OK)
        return -1;
    double us = (cpu_now() - t0) * 1e6;
    free(m);
    bench_report("group_rekey_batch_1000_leaves_1000_joins_keys", e, "wrapped keys", 1);
    bench_report("group_rekey_batch_1000_leaves_1000_joins_bytes", (double)len, "bytes", 1);
    bench_report("group_rekey_batch_1000_leaves_1000_joins_time", us, "us", 1);
    return 0;
}

static int op_protect(void *arg, uint64_t i)
{
    struct ctx *c = arg;
    uint8_t pt[100] = {(uint8_t)i}, out[GROUP_MSG_OVERHEAD + 100];
    size_t len;
    return group_protect(&c->g, c->sk, 1, pt, sizeof(pt), out, sizeof(out), &len);
}

static int op_sign(void *arg, uint64_t i)
{
    struct ctx *c = arg;
    uint8_t m[GROUP_MSG_HDR_LEN + 100 + GROUP_TAG_LEN] = {(uint8_t)i}, sig[GROUP_SIG_LEN];
    return prov_ed25519_sign(c->sk, m, sizeof(m), sig);
}

static int op_receive(void *arg, uint64_t i)
{
    (void)i;
    struct ctx *c = arg;
    uint8_t pt[GROUP_MAX_PAYLOAD];
    size_t n;
    uint32_t s;
    c->dev.nsenders = 0; /* the same message each time: forget it was seen */
    return group_member_receive(&c->dev, c->msg, c->msg_len, pt, sizeof(pt), &n, &s);
}

static int op_path(void *arg, uint64_t i)
{
    struct ctx *c = arg;
    struct group_path p;
    uint8_t kgm[GROUP_MKEY_LEN] = {(uint8_t)i}, out[1024];
    size_t len;
    int rc = group_tree_path(&c->g.tree, c->g.ref, c->leaves[i % 1000], &p);
    if (rc == IOTSEC_OK)
        rc = group_path_seal(kgm, &p, out, sizeof(out), &len);
    return rc;
}

static int message_figures(struct ctx *c, double seconds)
{
    c->g.confidential = true;
    double prot = bench_group_cpu_rate(op_protect, c, seconds);
    double sign = bench_group_cpu_rate(op_sign, c, seconds);
    if (prot <= 0 || sign <= 0)
        return -1;
    bench_report("group_protect_100B", prot, "msgs/s", 1);
    bench_report("group_protect_baseline_sign_only", sign, "sigs/s", 1);
    if (bench_group_batch(&c->g, c->sk, c->pub, seconds) != 0)
        return -1;
    /* one member of the 1M group, joined with its path keys */
    uint8_t kgm[GROUP_MKEY_LEN] = {7}, buf[1024];
    struct group_path p;
    size_t len;
    if (group_tree_path(&c->g.tree, c->g.ref, c->leaves[0], &p) != IOTSEC_OK)
        return -1;
    memcpy(p.sign_pub, c->pub, GROUP_PUB_LEN);
    group_member_init(&c->dev, c->g.ref, kgm);
    if (group_path_seal(kgm, &p, buf, sizeof(buf), &len) != IOTSEC_OK ||
        group_member_join(&c->dev, buf, len) != IOTSEC_OK)
        return -1;
    uint8_t pt[100] = {0};
    c->msg = malloc(group_msg_len(sizeof(pt)));
    if (group_protect(&c->g, c->sk, 1, pt, sizeof(pt), c->msg, group_msg_len(sizeof(pt)),
                      &c->msg_len) != IOTSEC_OK)
        return -1;
    double rx = bench_group_cpu_rate(op_receive, c, seconds);
    if (rx <= 0)
        return -1;
    bench_report("group_device_verify_decrypt_100B", 1e6 / rx, "us/msg", 1);
    double paths = bench_group_cpu_rate(op_path, c, seconds);
    bench_report("group_path_delivery_seal", paths, "members/s", 1);
    free(c->msg);
    group_member_wipe(&c->dev);
    return 0;
}

int bench_group(double seconds)
{
    struct ctx c = {.g = {.ref = 0x0102030405060708ull}};
    uint8_t seed[PROV_ED25519_SEED_LEN];
    c.leaves = malloc(N_MEMBERS * sizeof(uint32_t));
    if (c.leaves == NULL || prov_ed25519_keygen(seed, c.pub) != IOTSEC_OK ||
        prov_sign_key_new(seed, &c.sk) != IOTSEC_OK)
        return 1;
    int rc = 0;
    static const uint8_t arities[] = {2, 4};
    for (size_t a = 0; a < sizeof(arities) && rc == 0 && !getenv("IOTSEC_BENCH_FANOUT_ONLY"); a++) {
        double t0 = cpu_now();
        rc = fill(&c, arities[a]);
        fprintf(stderr, "group: 1M members at arity %u set up in %.1f s\n", arities[a],
                cpu_now() - t0);
        if (rc == 0)
            rc = leave_figures(&c, arities[a]);
        if (rc == 0 && arities[a] == 4) {
            struct group_tree *t = &c.g.tree;
            double bytes = (double)t->nodes * (GROUP_KEY_LEN + sizeof(uint32_t) + 1);
            bench_report("group_memory_per_member_1M_d4", bytes / N_MEMBERS, "bytes", 1);
            rc = repush_baseline(&c);
            if (rc == 0)
                rc = batch_figures(&c);
            if (rc == 0)
                rc = message_figures(&c, seconds);
        }
        group_tree_free(&c.g.tree);
    }
    prov_sign_key_free(c.sk);
    free(c.leaves);
    /* the 100,000 members; IOTSEC_BENCH_FANOUT=N for another count */
    const char *fo = getenv("IOTSEC_BENCH_FANOUT");
    if (rc == 0)
        rc = bench_group_fanout(fo ? (uint32_t)strtoul(fo, NULL, 10) : 100000);
    if (rc != 0)
        fprintf(stderr, "group: a step failed\n");
    return rc ? 1 : 0;
}
