/* The per-thread message that says what the database said.
 * The message is per thread because the failing call and the log line that reports it are on
 * the same thread (a job's done callback: the writer thread). */
#include <stdarg.h>
#include <stdio.h>

#include "base/err.h"
#include "store/store_internal.h"

static _Thread_local char last_errmsg[512];

const char *store_errmsg(void)
{
    return last_errmsg;
}

void store_set_errmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_errmsg, sizeof(last_errmsg), fmt, ap);
    va_end(ap);
}
