/* Error codes shared by every layer. Functions return IOTSEC_OK (0) or a negative code;
 * iotsec_strerror() gives a fixed English phrase for logs and CLI messages (never data). */
#ifndef IOTSEC_BASE_ERR_H
#define IOTSEC_BASE_ERR_H

enum iotsec_err {
    IOTSEC_OK = 0,
    IOTSEC_ERR_INVALID = -1,     /* malformed input: wrong length, bad encoding, out of range */
    IOTSEC_ERR_AUTH = -2,        /* a MAC or tag did not verify */
    IOTSEC_ERR_SYNC = -3,        /* SQN outside the acceptable range (resynchronise) */
    IOTSEC_ERR_CRYPTO = -4,      /* the crypto library failed (not the caller's fault) */
    IOTSEC_ERR_NOMEM = -5,       /* allocation failed */
    IOTSEC_ERR_UNSUPPORTED = -6, /* well-formed but not supported (scheme, profile, type) */
    IOTSEC_ERR_NOTFOUND = -7,    /* a referenced item (key id, record) does not exist */
    IOTSEC_ERR_BUSY = -8,        /* a queue, pool or table is at its limit: retry later */
    IOTSEC_ERR_CONFLICT = -9,    /* the item exists already, or its state forbids the change */
    IOTSEC_ERR_IO = -10,         /* the operating system or the database failed */
    IOTSEC_ERR_STATE = -11,      /* the operation is not allowed in the current state */
    IOTSEC_ERR_ADDRINUSE = -12,  /* a listening address is bound by another socket/process */
    IOTSEC_ERR_FULL = -13,       /* storage is full (disk, database quota): retry much later */
};

/* Returns a static string; never NULL. */
const char *iotsec_strerror(int err);

#endif
