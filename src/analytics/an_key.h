/* The sealed pseudonym key file (analytics_key.c); internal to the capability. */
#ifndef IOTSEC_ANALYTICS_KEY_H
#define IOTSEC_ANALYTICS_KEY_H

#include <stdint.h>

struct seal_kek;

#define AN_KEY_LEN 32

struct an_key {
    uint8_t key[AN_KEY_LEN];
    uint64_t epoch;  /* 1, 2, ...: one per rotation */
    int64_t created; /* unix seconds */
};

/* IOTSEC_ERR_NOTFOUND (no file), IOTSEC_ERR_STATE (group/other may read it),
 * IOTSEC_ERR_INVALID (malformed), IOTSEC_ERR_AUTH (does not open under this KEK). */
int an_key_load(const char *path, const struct seal_kek *kek, struct an_key *k);
/* Seals k into path (0600, written aside and renamed). */
int an_key_write(const char *path, const struct seal_kek *kek, const struct an_key *k);
int an_key_new(struct an_key *k, uint64_t epoch, int64_t now);
void an_key_wipe(struct an_key *k);

#endif
