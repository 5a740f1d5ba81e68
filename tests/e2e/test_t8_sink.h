/* A notification sink for the T8 e2e tests: an HTTP/1.1 server on a loopback port, in a
 * thread, that answers 204 and keeps every body it receives; or, in hang mode, accepts and
 * never answers (the destination that hangs). Plain http, or https with a given certificate
 * (sink_start_tls). */
#ifndef IOTSEC_TEST_T8_SINK_H
#define IOTSEC_TEST_T8_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SINK_MAX 256

struct sink {
    int fd;
    uint16_t port;
    bool hang;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t mu;
    char *bodies[SINK_MAX];
    int n;
    int held[64]; /* hang mode: connections kept open */
    int n_held;
    char url[64];
    void *tls; /* SSL_CTX *: https */
};

int sink_start(struct sink *s, bool hang);
/* The same over TLS with cert/key (PEM files): url is https://127.0.0.1:port/notify. */
int sink_start_tls(struct sink *s, const char *cert, const char *key);
void sink_stop(struct sink *s);
/* Waits up to ms for more than `have` bodies; returns the count. */
int sink_wait(struct sink *s, int have, int ms);
/* A copy of body i (malloc'd) or NULL. */
char *sink_body(struct sink *s, int i);

#endif
