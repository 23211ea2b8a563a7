/*
 * timefmt.h -- the time formats of the protocol.
 *
 * Internally a time is `int64_t` ticks of 100 ns since the Unix epoch (UTC), the resolution Azure
 * uses for snapshot and version ids.  TICKS_PER_SEC converts.
 */
#ifndef COBALT_TIMEFMT_H
#define COBALT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TICKS_PER_SEC 10000000LL

/* Now, as ticks: the real clock, plus the test clock's offset when a harness runs one (clock.h). */
int64_t ticks_now(void);

/* "Mon, 01 Jan 2024 00:00:00 GMT" (29 chars); out must hold 30 bytes. */
void fmt_rfc1123(int64_t ticks, char out[30]);
/* "2024-01-01T00:00:00.1234567Z" (28 chars); out must hold 29 bytes. */
void fmt_iso8601_7(int64_t ticks, char out[29]);

/*
 * Parses an RFC 1123 date ("Mon, 01 Jan 2024 00:00:00 GMT"; also accepts RFC 850 and asctime as
 * HTTP requires).  Returns 0 and sets *ticks, or -1.
 */
int parse_http_date(const char *s, int64_t *ticks);
/*
 * Parses the ISO 8601 UTC forms SAS and snapshot ids use: "YYYY-MM-DD", "YYYY-MM-DDThh:mmZ",
 * "YYYY-MM-DDThh:mm:ssZ", "YYYY-MM-DDThh:mm:ss.fffffffZ" (1-7 fraction digits).  0 or -1.
 */
int parse_iso8601(const char *s, int64_t *ticks);
/*
 * The ISO 8601 forms data carries (Query Blob Contents' timestamp[ms] output): parse_iso8601's,
 * and also a space for the 'T', fraction digits past the seventh (truncated), and a zone: "Z",
 * "+hh:mm", "-hhmm", or none for UTC.  0 or -1.
 */
int parse_iso8601_data(const char *s, int64_t *ticks);

#endif
