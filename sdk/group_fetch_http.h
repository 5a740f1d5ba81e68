/* A sleepy member's catch-up over HTTPS (libcurl): one POST /device/v1/group-keys. */
#ifndef IOTSEC_SDK_GROUP_FETCH_HTTP_H
#define IOTSEC_SDK_GROUP_FETCH_HTTP_H

#include "group_member.h"
#include "onboard_http.h"

/* Fetches and applies the member's current path keys. *status: the HTTP status (0 when none
 * came). IOTSEC_ERR_AUTH for a refusal (403: not authenticated, or not a member any more). */
int group_member_fetch(struct group_member *m, struct onboard_http *h, const char *supi,
                       int64_t now, long *status);

#endif
