/*
 * admin.h -- operator tools run by the command line against a data directory: `cobalt fsck`, the
 * command line of the local engine's check (engine/local_maint.h).  Never run inside a request.
 */
#ifndef COBALT_ADMIN_H
#define COBALT_ADMIN_H

/* `cobalt fsck [--repair] [--quiet] DATA_DIR`.  Returns the process exit code: 0 clean, 1
 * problems found (and, with --repair, dropped), 2 usage or the data directory cannot be opened. */
int fsck_main(int argc, char **argv);

#endif
