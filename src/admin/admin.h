/*
 * admin.h -- operator tools run by the command line, never inside a request: `cobalt fsck` of a
 * data directory (the local engine's check, engine/local_maint.h) or of a RADOS cluster's pools,
 * and `cobalt gc` of a RADOS cluster (engine/rados_maint.h).
 */
#ifndef COBALT_ADMIN_H
#define COBALT_ADMIN_H

/* `cobalt fsck [--repair] [--quiet] DATA_DIR`.  Returns the process exit code: 0 clean, 1
 * problems found (and, with --repair, dropped), 2 usage or the data directory cannot be opened. */
int fsck_main(int argc, char **argv);

/* The pools of a RADOS cluster, as `cobalt serve --backend rados` names them (borrowed). */
struct rados_target {
    const char *conf, *user, *pool_index, *pool_data;
};

/* `cobalt fsck --backend rados [--repair] [--quiet]`: the exit code of rados_fsck() (0 clean, 1
 * problems found, 2 the cluster cannot be reached or read). */
int rados_fsck_main(const struct rados_target *t, int repair, int quiet);
/* `cobalt gc --backend rados`: works the purge and GC lists to their end now and prints what it
 * reclaimed.  0, 1 (some entries could not be worked: the log says why), 2 (no cluster). */
int rados_gc_main(const struct rados_target *t);

#endif
