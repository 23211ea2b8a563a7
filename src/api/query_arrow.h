/*
 * query_arrow.h -- Arrow output of Query Blob Contents (docs/query.md): rows of SQL values written
 * as an Arrow IPC stream (a schema message, record batches, the end-of-stream marker), the columns
 * typed by the request's ArrowConfiguration.  Pure: no I/O; the caller hands the bytes on.
 *
 *     struct arrow_writer *w = arrow_new(fields, n);
 *     arrow_schema(w, &out);
 *     for each output row: arrow_row(w, values, n, &bad) -- a value that does not convert is null
 *     arrow_batch(w, &out) whenever the caller wants the rows so far sent (and at the end)
 *     arrow_eos(&out); arrow_free(w);
 *
 * The types are Azure's six: int64, bool, timestamp[ms], string, double, decimal (128-bit, with
 * the field's precision and scale).  Conversions: numbers and numeric text to int64 (exactly, when
 * integral), double and decimal (from the text, rounded half away from zero to the scale, exact
 * up to 38 digits even past the field's precision); "true"/"false" to bool; ISO 8601 text (a date, optionally a time, a fraction and a zone)
 * or an integer count of milliseconds to timestamp[ms] (UTC); anything to string, as CSV output
 * writes it.  NULL is null in every type.
 */
#ifndef COBALT_API_QUERY_ARROW_H
#define COBALT_API_QUERY_ARROW_H

#include <stddef.h>
#include <stdint.h>

#include "api/query_sql.h"
#include "util/buf.h"

enum arrow_type { AT_INT64, AT_BOOL, AT_TIMESTAMP_MS, AT_STRING, AT_DOUBLE, AT_DECIMAL };

#define ARROW_MAX_PRECISION 38 /* a 128-bit decimal's */

struct arrow_field {
    enum arrow_type type;
    const char *name; /* NULL: the caller names it before arrow_new */
    int precision, scale;
};

/* Azure's type name ("int64", "timestamp[ms]", ...; any case) into *out: 0, or -1 when unknown. */
int arrow_type_parse(const char *s, enum arrow_type *out);
const char *arrow_type_name(enum arrow_type t);

/* A writer for n fields (copied, names included), or NULL out of memory. */
struct arrow_writer *arrow_new(const struct arrow_field *f, size_t n);
void arrow_free(struct arrow_writer *w);
/* Field i, as the writer keeps it (its name the writer's copy). */
const struct arrow_field *arrow_field(const struct arrow_writer *w, size_t i);

/* Appends the schema message to out. */
void arrow_schema(const struct arrow_writer *w, struct buf *out);

/*
 * Adds a row: v[i] goes to field i; fields past n are null, values past the schema's fields are
 * ignored.  Returns 0, -1 out of memory (the row is not added), or 1 + the index of the first
 * value that does not convert to its field's type (the row is added, that value null).
 */
int arrow_row(struct arrow_writer *w, const struct sql_value *v, size_t n);

/* Rows added since the last batch, and the bytes they hold. */
size_t arrow_pending_rows(const struct arrow_writer *w);
size_t arrow_pending_bytes(const struct arrow_writer *w);

/* Appends a record batch of the rows added since the last one (nothing when there are none). */
void arrow_batch(struct arrow_writer *w, struct buf *out);

/* Appends the end-of-stream marker. */
void arrow_eos(struct buf *out);

/* The conversions, for the tests: 0, or -1 when the value does not convert. */
int arrow_to_decimal(const char *s, size_t n, int precision, int scale, __int128 *out);
int arrow_to_timestamp_ms(const char *s, size_t n, int64_t *out);

#endif
