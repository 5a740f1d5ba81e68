/* /metrics: message groups and their members (docs/group.md). */
#include "base/err.h"
#include "group/group_store.h"
#include "store/count_metrics.h"

int group_store_metrics(struct store *s, struct strbuf *out)
{
    int rc = store_count_metrics(s, "SELECT count(*) FROM groups", "iotsec_message_groups", "gauge",
                                 "Message groups.", NULL, 0, out);
    if (rc == IOTSEC_OK)
        rc = store_count_metrics(s, "SELECT count(*) FROM group_members",
                                 "iotsec_message_group_members", "gauge",
                                 "Members of message groups.", NULL, 0, out);
    return rc;
}
