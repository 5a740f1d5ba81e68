/* /metrics: the findings kept as evidence, by TS 29.520 exception (all instances: the table is
 * shared; retention prunes it, so a gauge). */
#include "analytics/analytics.h"
#include "store/count_metrics.h"

int analytics_store_metrics(struct store *s, struct strbuf *out)
{
    static const char *const labels[] = {"exception"};
    return store_count_metrics(s, "SELECT exception, count(*) FROM an_findings GROUP BY exception",
                               "iotsec_findings_stored", "gauge",
                               "Findings kept as evidence, by exception.", labels, 1, out);
}
