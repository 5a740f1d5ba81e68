#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static volatile enum log_level min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
    min_level = level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (name != NULL && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return IOTSEC_OK;
        }
    }
    return IOTSEC_ERR_INVALID;
}

/* Appends s to out as the inside of a JSON string (quotes, backslashes, controls escaped). */
static size_t json_escape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

void log_msg(enum log_level level, const char *req_id, const char *fmt, ...)
{
    if (level < min_level || (unsigned)level > LOG_ERROR)
        return;
    char msg[1024], esc[2048], req[80] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_escape(msg, esc, sizeof(esc));
    if (req_id != NULL) {
        char req_esc[64];
        json_escape(req_id, req_esc, sizeof(req_esc));
        snprintf(req, sizeof(req), ",\"req\":\"%s\"", req_esc);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    /* One fprintf per line: stdio locks the stream, so lines never interleave. */
    fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\"%s,\"msg\":\"%s\"}\n", when,
            ts.tv_nsec / 1000000, level_names[level], req, esc);
}
