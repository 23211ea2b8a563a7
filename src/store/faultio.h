/*
 * faultio.h -- a fault-injecting, power-loss-simulating I/O seam for the crash and fault tests.
 *
 * Built only with -DCOBALT_FAULT_INJECTION=ON: `cobalt serve` then reads COBALT_IO_FAULTS and puts
 * this table in place of io_posix.  The spec syntax and the crash model are described at the top
 * of faultio.c; tests/crash/ drives it.
 */
#ifndef COBALT_STORE_FAULTIO_H
#define COBALT_STORE_FAULTIO_H

#include "store/io.h"

/*
 * Parses `spec` (see faultio.c) and returns the fault-injecting table, which wraps io_posix.  The
 * state is process-global: call it once, before any I/O.  NULL when the spec does not parse (a
 * message says why on stderr).  The returned table is static: never freed.
 */
const struct io_ops *faultio_setup(const char *spec);

#endif
