/*
 * scrub.h -- background integrity scrub inside `cobalt serve`.
 *
 * A thread that, once per interval, walks every needle that a record references (one consistent
 * pass, compact_each_needle) and verifies it end to end (store_verify), at most `rate` bytes per
 * second so it never competes with clients for the disk.  Every damaged needle is logged with the
 * record that names it; each pass ends with one summary line, the scrub's metric:
 *   scrub: pass done: needles=N bytes=N damaged=N seconds=N
 * Reads of a damaged needle already fail cleanly (checksums are verified on every read); the scrub
 * finds rot in data nobody reads, while other copies (backups, replicas) can still repair it.
 */
#ifndef COBALT_SCRUB_H
#define COBALT_SCRUB_H

#include <stdint.h>

struct meta;
struct store;
struct scrubber;

/* rate: bytes per second (> 0); interval: seconds between the starts of passes (the first one
 * starts after min(interval, 60) seconds, or when a test harness kicks it: util/clock.h). */
struct scrubber *scrubber_start(struct meta *m, struct store *s, uint64_t rate, unsigned interval);
void scrubber_stop(struct scrubber *c);

#endif
