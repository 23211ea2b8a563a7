/*
 * bench.h -- `cobalt bench`, a load generator for any Azure Blob endpoint (Cobalt, Azurite, Azure).
 */
#ifndef COBALT_BENCH_H
#define COBALT_BENCH_H

/*
 * Runs `cobalt bench WORKLOAD [options]` (argv[0] is "bench").  Prints the report on stdout, a
 * progress line per second on stderr.  Returns the process exit status: 0 when every request
 * succeeded and every byte read back was the byte written, 1 when any failed, 2 on a usage error.
 */
int bench_main(int argc, char **argv);

#endif
