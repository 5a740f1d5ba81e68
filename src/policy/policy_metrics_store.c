/* /metrics: the policy's actions by action and outcome, from its append-only audit (every
 * instance's), and the devices quarantined now. */
#include "base/err.h"
#include "policy/policy.h"
#include "store/count_metrics.h"

int policy_store_metrics(struct store *s, struct strbuf *out)
{
    static const char *const labels[] = {"action", "outcome"};
    int rc = store_count_metrics(
        s, "SELECT action, outcome, count(*) FROM policy_actions GROUP BY action, outcome",
        "iotsec_policy_actions_total", "counter",
        "Policy actions taken (and operator releases/quarantines), by action and outcome.", labels,
        2, out);
    if (rc == IOTSEC_OK)
        rc = store_count_metrics(
            s, "SELECT count(*) FROM subscriptions WHERE state = 'quarantined'",
            "iotsec_devices_quarantined", "gauge", "Devices quarantined now.", NULL, 0, out);
    return rc;
}
