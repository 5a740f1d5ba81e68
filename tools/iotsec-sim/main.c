/* iotsec-sim fleet --dir DIR --devices N [--via-gateway K] [--derived-keys] [--ready FILE]
 *                  [--threads T] [--name NAME] [--requires-activation] [--rotate M]
 *                  [--trace I] [--transfer-to OWNER] [--timeout S]
 * Registers a test manufacturer and enrollment (and a gateway when K > 0) with the running
 * daemon of instance DIR, manufactures N devices, onboards them concurrently (K of them
 * through the gateway), authenticates each with 5G AKA over the SBI, and prints one JSON
 * object on stdout. Exit status 1 when any device failed, 2 for a usage or setup error.
 * --name: the fleet's name (registration ids NAME-dev-000000...), e.g. to bulk-activate them
 * first (with --requires-activation, devices wait for that activation); --rotate M: devices
 * 0..M-1 then rotate their credentials and authenticate again with the new ones; --trace I:
 * device I's messages on stderr; --transfer-to: the last device (a direct one) is then
 * transferred to a new owner OWNER (certificate fleets: the voucher chain starts at the test
 * manufacturer's root), loses its old credential and onboards again. --timeout S (30): a
 * daemon that does not answer for S seconds (not running, stopped, hung) ends the run with a
 * message and exit status 2.
 *
 * iotsec-sim pin --dir DIR --pines N [--ready FILE]
 * A household's Personal IoT Network (docs/pin.md) through the daemon: one PEMC, two PEGCs, N
 * PINEs (a rogue, a removed one, a tampered one), two PINs and two AFs; the last stdout line
 * is {"pines","approved","authenticated","rogue_refused","removed_refused","tamper_refused",
 * "af_own_pin_ok","af_other_pin_refused","p99_ms",...}. Exit 1 when an expectation failed.
 *
 * iotsec-sim group --dir DIR --devices N --leave K [--messages M] [--broadcast] [--ready FILE]
 * Message groups (docs/group.md): N members with their own endpoints join one group, an AF
 * sends M messages, K members leave, M more; a member forges one, a message is replayed
 * (sim_group.c). The last stdout line is {"devices","messages","delivered","leavers",
 * "leaver_decrypted","forged_rejected","replayed_rejected","rekey_bytes","p99_ms",...}. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/err.h"
#include "sim.h"

static void usage(void)
{
    fprintf(stderr, "usage: iotsec-sim fleet --dir DIR --devices N [--via-gateway K] "
                    "[--derived-keys] [--ready FILE] [--threads T] [--name NAME]\n"
                    "                  [--requires-activation] [--rotate M] [--trace I]\n"
                    "                  [--transfer-to OWNER] [--timeout S]\n");
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Says why the first few devices failed (a fleet that fails usually fails the same way). */
static void report_failures(const struct sim_device *d, uint32_t n)
{
    int shown = 0;
    for (uint32_t i = 0; i < n && shown < 5; i++) {
        if (d[i].onboard_rc != IOTSEC_OK) {
            fprintf(stderr, "iotsec-sim: %s: onboarding failed (%s, last HTTP status %ld%s%s)\n",
                    d[i].reg_id, iotsec_strerror(d[i].onboard_rc), d[i].last_status,
                    d[i].cause[0] ? ", " : "", d[i].cause);
            shown++;
        } else if (!d[i].authenticated) {
            fprintf(stderr, "iotsec-sim: %s: 5G AKA failed\n", d[i].reg_id);
            shown++;
        }
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *ready = NULL, *transfer_to = NULL;
    uint32_t n = 0, k = 0, threads = 32, rotate = 0, trace = UINT32_MAX, timeout = 30;
    struct sim_fleet_opts o = {0};
    /* Every scene talks to a daemon that may close first (and the group scene answers the
     * daemon's pushes on sockets it may have closed): an error, never a killed simulator. */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "pin") == 0) {
        uint32_t pines = 0;
        for (int i = 2; i < argc; i++) {
            const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (strcmp(a, "--dir") == 0 && v)
                dir = argv[++i];
            else if (strcmp(a, "--ready") == 0 && v)
                ready = argv[++i];
            else if (strcmp(a, "--pines") == 0 && parse_u32(v, 100000, &pines))
                i++;
            else {
                fprintf(stderr,
                        "usage: iotsec-sim pin --dir DIR --pines N (>= 4) [--ready FILE]\n");
                return 2;
            }
        }
        struct sim_instance in;
        if (dir == NULL || pines < 4 || sim_instance_load(&in, dir, ready) != 0) {
            fprintf(stderr, "usage: iotsec-sim pin --dir DIR --pines N (>= 4) [--ready FILE]\n");
            return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = sim_pin_run(&in, pines);
        curl_global_cleanup();
        return rc;
    }
    if (argc >= 2 && strcmp(argv[1], "group") == 0)
        return sim_group_main(argc, argv);
    if (argc < 2 || strcmp(argv[1], "fleet") != 0) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dir") == 0 && v)
            dir = argv[++i];
        else if (strcmp(a, "--ready") == 0 && v)
            ready = argv[++i];
        else if (strcmp(a, "--devices") == 0 && parse_u32(v, 1000000, &n))
            i++;
        else if (strcmp(a, "--via-gateway") == 0 && parse_u32(v, 1000000, &k))
            i++;
        else if (strcmp(a, "--threads") == 0 && parse_u32(v, 1024, &threads) && threads > 0)
            i++;
        else if (strcmp(a, "--rotate") == 0 && parse_u32(v, 1000000, &rotate))
            i++;
        else if (strcmp(a, "--trace") == 0 && parse_u32(v, 1000000, &trace))
            i++;
        else if (strcmp(a, "--timeout") == 0 && parse_u32(v, 3600, &timeout) && timeout > 0)
            i++;
        else if (strcmp(a, "--name") == 0 && v)
            o.name = argv[++i];
        else if (strcmp(a, "--transfer-to") == 0 && v)
            transfer_to = argv[++i];
        else if (strcmp(a, "--derived-keys") == 0)
            o.derived = true;
        else if (strcmp(a, "--requires-activation") == 0)
            o.requires_activation = true;
        else {
            fprintf(stderr, "iotsec-sim: bad or incomplete argument '%s'\n", a);
            usage();
            return 2;
        }
    }
    if (transfer_to && (o.derived || k == n)) {
        fprintf(stderr, "iotsec-sim: --transfer-to needs certificate devices and a direct one\n");
        return 2;
    }
    o.reprovision = transfer_to ? "reset" : NULL; /* the new owner gets a new subscription */
    if (!dir || n == 0 || k > n || rotate > n) {
        fprintf(stderr, "iotsec-sim: --dir and --devices N > 0 are required, --via-gateway K "
                        "and --rotate M at most N\n");
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sim_instance in;
    struct sim_setup s;
    struct sim_device *d = calloc(n, sizeof(*d));
    int rc = 2;
    sim_timeout_s = timeout;
    if (!d || sim_instance_load(&in, dir, ready) != 0 || sim_watchdog_start(in.admin) != 0 ||
        (o.gateway = k > 0, sim_setup_fleet(&in, &s, &o, n)) != 0)
        goto out_nosetup;
    /* Manufacturing happens at the factory: outside the timed part. */
    for (uint32_t i = 0; i < n; i++) {
        if (sim_manufacture(&s, i, o.derived, i < k, &d[i]) != IOTSEC_OK) {
            fprintf(stderr, "iotsec-sim: cannot manufacture device %u\n", i);
            goto out;
        }
    }
    struct sim_stats st = {0};
    sim_trace_device = trace;
    if (sim_onboard_all(&in, &s, d, n, threads, &st) != 0 ||
        sim_authenticate_all(&in, d, n, threads, &st) != 0) {
        fprintf(stderr, "iotsec-sim: cannot start worker threads\n");
        goto out;
    }
    if (rotate > 0) {
        /* rotated devices lose their authenticated flag until the new K passes 5G AKA */
        uint32_t rotated = sim_rotate(&in, &s, d, rotate);
        if (sim_authenticate_all(&in, d, rotate, threads, &st) != 0)
            goto out;
        st.authenticated = 0;
        for (uint32_t i = 0; i < n; i++)
            st.authenticated += d[i].authenticated;
        fprintf(stderr,
                "iotsec-sim: %u of %u rotations confirmed, then authenticated with "
                "the new credential\n",
                rotated, rotate);
    }
    if (transfer_to && d[n - 1].authenticated) {
        fprintf(stderr, "iotsec-sim: %s is transferred to %s\n", d[n - 1].reg_id, transfer_to);
        if (sim_transfer(&in, &s, &d[n - 1], transfer_to) != 0)
            d[n - 1].authenticated = false; /* counted as failed */
        st.authenticated = 0;
        for (uint32_t i = 0; i < n; i++)
            st.authenticated += d[i].authenticated;
    }
    for (uint32_t i = 0; i < n; i++)
        st.failed += d[i].onboard_rc != IOTSEC_OK || !d[i].authenticated;
    report_failures(d, n);
    fprintf(stderr, "iotsec-sim: %u onboardings in %.3f s (%.0f/s)\n", st.onboarded, st.seconds,
            st.seconds > 0 ? st.onboarded / st.seconds : 0.0);
    printf("{\"devices\":%u,\"onboarded\":%u,\"via_gateway\":%u,\"authenticated\":%u,"
           "\"failed\":%u,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
           st.devices, st.onboarded, st.via_gateway, st.authenticated, st.failed, st.p50_ms,
           st.p99_ms);
    rc = st.failed ? 1 : 0;
out:
    sim_setup_free(&s);
out_nosetup:
    if (d)
        for (uint32_t i = 0; i < n; i++)
            sim_device_free(&d[i]);
    free(d);
    curl_global_cleanup();
    return rc;
}
