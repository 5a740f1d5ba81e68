/* JSON log lines on stderr, one object per line:
 *   {"ts":"2026-11-23T05:30:00.123Z","level":"info","req":"9f3c...","msg":"..."}
 * Messages are fixed text plus identifiers; never keys, never request bodies. Thread-safe. */
#ifndef IOTSEC_BASE_LOG_H
#define IOTSEC_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);

/* req_id may be NULL. */
void log_msg(enum log_level level, const char *req_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

#endif
