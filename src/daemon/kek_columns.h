/* The columns sealed directly under the KEK, across capabilities (kek_columns.c). */
#ifndef IOTSEC_DAEMON_KEK_COLUMNS_H
#define IOTSEC_DAEMON_KEK_COLUMNS_H

#include <stddef.h>

#include "keys/kek.h"

const struct kek_column *daemon_kek_columns(size_t *count);

#endif
