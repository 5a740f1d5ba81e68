/* The simulator's bound on a silent daemon: every answer from it (admin API, device face,
 * SBI) is noted; a thread ends the run when none came for sim_timeout_s, so that a dead or
 * hung daemon costs at most that long instead of every request's timeouts and retries in
 * turn (minutes, for a fleet). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

unsigned sim_timeout_s = 30;
static _Atomic double last_heard;
static const char *watched;

void sim_heard(void)
{
    atomic_store(&last_heard, sim_now());
}

static void *watch(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (sim_now() - atomic_load(&last_heard) > (double)sim_timeout_s) {
            fprintf(stderr,
                    "iotsec-sim: no answer from iotsecd at %s for %u s: is it running (and not "
                    "stopped)? Giving up (--timeout)\n",
                    watched, sim_timeout_s);
            fflush(stderr);
            _exit(2); /* the workers may be blocked in a request: no orderly return */
        }
    }
    return NULL;
}

int sim_watchdog_start(const char *what)
{
    watched = what;
    sim_heard(); /* the clock starts now */
    pthread_t t;
    if (pthread_create(&t, NULL, watch, NULL) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}
