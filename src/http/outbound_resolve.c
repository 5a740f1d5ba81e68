/* Name resolution with a bound: glibc's getaddrinfo_a, waited for at most timeout_ms. A
 * resolver that does not answer would otherwise hold the calling thread (a server's worker,
 * when an AF registers a notification destination) for its own timeouts and retries. A lookup
 * given up on finishes in the background; its completion callback frees what it holds. */
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "http/outbound.h"

struct lookup {
    struct gaicb cb;
    struct addrinfo hints;
    char host[256];
    atomic_int refs;   /* the caller and the completion callback */
    atomic_bool taken; /* the caller took cb.ar_result */
};

static void lookup_put(struct lookup *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    if (!atomic_load(&l->taken) && l->cb.ar_result)
        freeaddrinfo(l->cb.ar_result);
    free(l);
}

static void lookup_done(union sigval v)
{
    lookup_put(v.sival_ptr);
}

int outbound_resolve(const char *host, unsigned timeout_ms, struct addrinfo **out)
{
    *out = NULL;
    struct lookup *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return IOTSEC_ERR_NOMEM;
    if (snprintf(l->host, sizeof(l->host), "%s", host) >= (int)sizeof(l->host)) {
        free(l);
        return IOTSEC_ERR_INVALID;
    }
    l->hints.ai_family = AF_UNSPEC;
    l->hints.ai_socktype = SOCK_STREAM;
    l->cb.ar_name = l->host;
    l->cb.ar_request = &l->hints;
    atomic_init(&l->refs, 2);
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD,
                          .sigev_notify_function = lookup_done,
                          .sigev_value.sival_ptr = l};
    struct gaicb *list[1] = {&l->cb};
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, &ev) != 0) {
        free(l); /* not started: no callback will come */
        return IOTSEC_ERR_NOTFOUND;
    }
    struct timespec deadline, now;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    const struct gaicb *const wait[1] = {&l->cb};
    int rc;
    while ((rc = gai_error(&l->cb)) == EAI_INPROGRESS) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms = (long)(deadline.tv_sec - now.tv_sec) * 1000 +
                       (deadline.tv_nsec - now.tv_nsec) / 1000000L;
        if (left_ms <= 0)
            break;
        struct timespec left = {left_ms / 1000, (left_ms % 1000) * 1000000L};
        gai_suspend(wait, 1, &left); /* returns early on completion or a signal */
    }
    int result = IOTSEC_ERR_NOTFOUND;
    if (rc == 0 && l->cb.ar_result) {
        *out = l->cb.ar_result;
        atomic_store(&l->taken, true);
        result = IOTSEC_OK;
    } else if (rc == EAI_INPROGRESS) {
        gai_cancel(&l->cb); /* may not stop it: the callback then frees it */
        result = IOTSEC_ERR_BUSY;
    }
    lookup_put(l);
    return result;
}
