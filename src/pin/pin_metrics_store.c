/* /metrics: Personal IoT Networks and their elements (docs/pin.md). */
#include "base/err.h"
#include "pin/pin.h"
#include "store/count_metrics.h"

int pin_store_metrics(struct store *s, struct strbuf *out)
{
    int rc = store_count_metrics(s, "SELECT count(*) FROM pin_networks", "iotsec_pins", "gauge",
                                 "Personal IoT Networks.", NULL, 0, out);
    if (rc == IOTSEC_OK)
        rc = store_count_metrics(s, "SELECT count(*) FROM pin_elements", "iotsec_pin_elements",
                                 "gauge", "Elements of Personal IoT Networks.", NULL, 0, out);
    return rc;
}
