#include "crypto/rand.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"

/* 1 KiB serves 64 RANDs per DRBG call; large requests bypass the buffer. */
#define RAND_BATCH 1024

struct rand_pool {
    uint8_t bytes[RAND_BATCH];
    size_t left;        /* unread bytes at the end of `bytes` */
    unsigned fork_gen;  /* fork generation the bytes were drawn in */
};

static _Thread_local struct rand_pool pool;
static volatile unsigned fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a forked child every buffered byte is also in the parent: drop them. */
static void on_fork_child(void)
{
    fork_generation++;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static int refill(void)
{
    if (RAND_bytes(pool.bytes, sizeof(pool.bytes)) != 1) {
        secure_wipe(pool.bytes, sizeof(pool.bytes));
        pool.left = 0;
        return IOTSEC_ERR_CRYPTO;
    }
    pool.left = sizeof(pool.bytes);
    pool.fork_gen = fork_generation;
    return IOTSEC_OK;
}

int crypto_random(void *buf, size_t n)
{
    pthread_once(&atfork_once, register_atfork);
    if (n > RAND_BATCH / 4) {
        if (n > INT32_MAX || RAND_bytes(buf, (int)n) != 1) {
            memset(buf, 0, n);
            return IOTSEC_ERR_CRYPTO;
        }
        return IOTSEC_OK;
    }
    if (pool.fork_gen != fork_generation) {
        secure_wipe(pool.bytes, sizeof(pool.bytes));
        pool.left = 0;
    }
    if (pool.left < n && refill() != IOTSEC_OK) {
        memset(buf, 0, n);
        return IOTSEC_ERR_CRYPTO;
    }
    uint8_t *src = pool.bytes + sizeof(pool.bytes) - pool.left;
    memcpy(buf, src, n);
    secure_wipe(src, n);
    pool.left -= n;
    return IOTSEC_OK;
}

void crypto_random_thread_cleanup(void)
{
    secure_wipe(&pool, sizeof(pool));
}
