#include "base/err.h"

const char *iotsec_strerror(int err)
{
    switch (err) {
    case IOTSEC_OK:
        return "ok";
    case IOTSEC_ERR_INVALID:
        return "invalid input";
    case IOTSEC_ERR_AUTH:
        return "authentication failed (MAC did not verify)";
    case IOTSEC_ERR_SYNC:
        return "sequence number out of range";
    case IOTSEC_ERR_CRYPTO:
        return "cryptographic library failure";
    case IOTSEC_ERR_NOMEM:
        return "out of memory";
    case IOTSEC_ERR_UNSUPPORTED:
        return "unsupported";
    case IOTSEC_ERR_NOTFOUND:
        return "not found";
    case IOTSEC_ERR_BUSY:
        return "busy: a limit was reached, retry later";
    case IOTSEC_ERR_CONFLICT:
        return "conflict with an existing item";
    case IOTSEC_ERR_IO:
        return "input/output error";
    case IOTSEC_ERR_STATE:
        return "not allowed in the current state";
    case IOTSEC_ERR_ADDRINUSE:
        return "address in use";
    case IOTSEC_ERR_FULL:
        return "storage full";
    }
    return "unknown error";
}
