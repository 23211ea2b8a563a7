/*
 * log.h -- logging to stderr, one line per event, with a level threshold set once at start-up.
 * Never log secrets (keys, signatures, Authorization headers).
 */
#ifndef COBALT_LOG_H
#define COBALT_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_threshold;

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses "debug|info|warn|error"; -1 when unknown. */
int log_level_parse(const char *s);

#define log_debug(...) (log_threshold <= LOG_DEBUG ? log_msg(LOG_DEBUG, __VA_ARGS__) : (void)0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
