/* The admin face's client: HTTPS (HTTP/2 by ALPN) to the instance's admin listener with the
 * instance's admin certificate, found through DIR/iotsec.yaml. */
#ifndef IOTSECCTL_ADMIN_CLIENT_H
#define IOTSECCTL_ADMIN_CLIENT_H

#include <stddef.h>

/* The instance directory given with `iotsecctl --dir DIR` (or $IOTSEC_DIR); NULL if none. */
void admin_set_dir(const char *dir);
/* That directory (or $IOTSEC_DIR), or NULL: for commands that read the instance's files. */
const char *admin_get_dir(void);

/* Sends one request and prints the answer: the JSON body on stdout when 2xx (exit 0), the
 * ProblemDetails' title and detail on stderr otherwise (exit 2 for 400/409/415, the client's
 * input; 1 for the rest). cmd names the command in messages. */
int admin_call(const char *cmd, const char *method, const char *path, const char *content_type,
               const void *body, size_t len);

/* The same without printing: *status gets the HTTP status and *answer the body (malloc'ed,
 * NUL-terminated, may be NULL; the caller frees it). Returns 0, or non-zero after printing
 * why no answer came. */
int admin_request(const char *cmd, const char *method, const char *path,
                  const char *content_type, const void *body, size_t len, long *status,
                  char **answer);
/* Prints an answer as admin_call does and returns its exit code. */
int admin_print_answer(const char *cmd, long status, const char *answer);

#endif
