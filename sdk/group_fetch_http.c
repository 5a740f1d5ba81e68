/* The path-key fetch over the libcurl transport (group_member.h; the request and the answer's
 * handling are in group_member.c, so a device with its own transport needs only those). */
#include "group_fetch_http.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int group_member_fetch(struct group_member *m, struct onboard_http *h, const char *supi,
                       int64_t now, long *status)
{
    char body[256];
    int rc = group_member_fetch_request(m, supi, now, body, sizeof(body));
    if (rc != IOTSEC_OK)
        return rc;
    char *answer = NULL;
    size_t len = 0;
    uint32_t retry = 0;
    *status = 0;
    rc = onboard_http_post(h, "/device/v1/group-keys", body, strlen(body), status, &retry, &answer,
                           &len);
    if (rc == IOTSEC_OK)
        rc = *status == 200 && answer != NULL ? group_member_fetch_apply(m, answer, len)
                                              : IOTSEC_ERR_AUTH;
    free(answer);
    return rc;
}
