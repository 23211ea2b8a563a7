/*
 * rados.c -- `cobalt fsck --backend rados` and `cobalt gc --backend rados`: the command lines of
 * the RADOS engine's maintenance (engine/rados_maint.h).  Each connects as one more gateway would,
 * runs the engine's pass and says what it did.
 */
#include "admin/admin.h"

#include <inttypes.h>
#include <stdio.h>

#include "engine/engine.h"
#include "engine/rados_maint.h"
#include "util/timefmt.h"

/* The engine over t's pools, or -1 (why is logged). */
static int
open_engine(const struct rados_target *t, struct engine *e)
{
    if (eng_rados_init(e, t->conf, t->user, t->pool_index, t->pool_data) == 0)
        return 0;
    fprintf(stderr,
            "cobalt: cannot reach the RADOS cluster (--ceph-conf %s, --pool-index %s, "
            "--pool-data %s)\n",
            t->conf, t->pool_index, t->pool_data);
    return -1;
}

int
rados_fsck_main(const struct rados_target *t, int repair, int quiet)
{
    struct engine e = {0};
    int rc;

    if (open_engine(t, &e) != 0)
        return 2;
    rc = rados_fsck(&e, repair, quiet);
    eng_fini(&e);
    return rc;
}

int
rados_gc_main(const struct rados_target *t)
{
    struct engine e = {0};
    struct rados_gc_stats st = {0};
    int rc;

    if (open_engine(t, &e) != 0)
        return 2;
    rc = rados_gc_run(&e, ticks_now(), &st);
    eng_fini(&e);
    printf("gc: records=%" PRIu64 " payloads=%" PRIu64 " containers=%" PRIu64 " left=%" PRIu64 "\n",
           st.records, st.payloads, st.containers, st.left);
    return rc == 0 && st.left == 0 ? 0 : 1;
}
